// The modules the in-process A/B benchmarks load from each build they compare (`<dir>/dist`), so a
// same-run A/B can put two checkouts side by side in one process.
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

/** Imports `dist/<path>` of the build at `dir`. */
export const importFromBuild = (dir, path) => import(pathToFileURL(join(dir, 'dist', path)).href);

/** The local store, engine, codec, layout and IPC splitter of the build at `dir`, and its importer. */
export async function buildModules(dir) {
  const at = (path) => importFromBuild(dir, path);
  const { LocalConnector } = await at('connectors/local/local-connector.js');
  const { HangarEngine } = await at('core/engine.js');
  const { ParquetCodec } = await at('format/parquet/parquet-codec.js');
  const { ObjectLayout } = await at('storage/object-layout.js');
  const { splitIpcStream } = await at('format/ipc-message.js');
  return { at, LocalConnector, HangarEngine, ParquetCodec, ObjectLayout, splitIpcStream };
}
