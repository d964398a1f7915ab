// The engine's commit retry: two engines (as two server processes) on separate connectors over one
// store append concurrently; the loser of each compare-and-swap re-commits on top, so no row is lost.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { tableFromArrays, tableToIPC } from 'apache-arrow';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { LocalConnector } from '../../src/connectors/local/local-connector.js';
import { ObjectLayout } from '../../src/storage/object-layout.js';
import { HangarEngine } from '../../src/core/engine.js';
import { splitIpcStream } from '../../src/format/ipc-message.js';
import { ParquetCodec } from '../../src/format/parquet/parquet-codec.js';

let codec: ParquetCodec;
let root: string;
beforeAll(async () => {
  codec = new ParquetCodec(1);
  root = await mkdtemp(join(tmpdir(), 'hangar-commit-retry-'));
});
afterAll(async () => {
  await codec.close();
  await rm(root, { recursive: true, force: true });
});

async function* rows(values: number[]) {
  yield* splitIpcStream(tableToIPC(tableFromArrays({ x: Int32Array.from(values) }), 'stream'));
}

it('two engines over one local store append concurrently without losing rows', async () => {
  const connectors = [new ObjectLayout(new LocalConnector({ root, fsync: false })), new ObjectLayout(new LocalConnector({ root, fsync: false }))];
  for (const connector of connectors) await connector.open();
  const engines = connectors.map((connector) => new HangarEngine(connector, codec, {}));
  const ref = { bucket: 'default', name: 'shared' };
  await engines[0]!.put(ref, 'error', rows([-1]));
  await Promise.all(engines.flatMap((engine, e) => Array.from({ length: 8 }, (_, i) => engine.put(ref, 'append', rows([e * 100 + i])))));
  const stat = await engines[1]!.stat(ref);
  expect(stat.rows).toBe(17);
  expect(stat.version).toBe(17);
  for (const connector of connectors) await connector.close();
});
