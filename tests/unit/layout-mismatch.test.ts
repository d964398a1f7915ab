// A store served with the other version log than it was written in: a frame stored in the manifest
// layout is refused by a Delta-log server with a message naming `hangar migrate` (not shown as
// absent, so a put cannot silently start a second history), and served once migrated; a Delta-only
// frame is refused by a manifest-layout server, naming HANGAR_LAYOUT=delta.
import { afterAll, describe, expect, it } from 'vitest';
import { MemoryConnector } from '../../src/connectors/memory/memory-connector.js';
import { HangarEngine } from '../../src/core/engine.js';
import { FailedPreconditionError } from '../../src/errors.js';
import { ParquetCodec } from '../../src/format/parquet/parquet-codec.js';
import { migrateToDeltaLog } from '../../src/storage/delta-migration.js';
import { ObjectLayout } from '../../src/storage/object-layout.js';
import { collect, messagesOf, ref, sampleTable } from '../../src/testing/fixtures.js';

const codec = new ParquetCodec(1);
afterAll(() => codec.close());

async function engineOn(connector: MemoryConnector, log: 'hangar' | 'delta'): Promise<HangarEngine> {
  const layout = new ObjectLayout(connector, { log });
  await layout.open();
  return new HangarEngine(layout, codec, { compactThreshold: 0 });
}

describe('a store served with the other version log', () => {
  it('refuses a manifest-layout frame under the Delta log until it is migrated', async () => {
    const connector = new MemoryConnector();
    const manifests = await engineOn(connector, 'hangar');
    await manifests.put(ref('old'), 'error', messagesOf(sampleTable(100)));
    const delta = await engineOn(connector, 'delta');
    await expect(delta.stat(ref('old'))).rejects.toThrow(FailedPreconditionError);
    await expect(delta.stat(ref('old'))).rejects.toThrow(/manifest layout.*hangar migrate/);
    await expect(delta.put(ref('old'), 'replace', messagesOf(sampleTable(10)))).rejects.toThrow(/hangar migrate/);
    // A frame that exists in neither log is simply absent.
    await expect(delta.stat(ref('new'))).rejects.toMatchObject({ code: 'NOT_FOUND' });
    await migrateToDeltaLog(connector);
    const migrated = await engineOn(connector, 'delta');
    expect((await collect((await migrated.read(ref('old'))).messages)).numRows).toBe(100);
    expect((await migrated.stat(ref('old'))).rows).toBe(100);
  });

  it('refuses a Delta-only frame under the manifest layout, naming HANGAR_LAYOUT=delta', async () => {
    const connector = new MemoryConnector();
    const delta = await engineOn(connector, 'delta');
    await delta.put(ref('lake'), 'error', messagesOf(sampleTable(50)));
    const manifests = await engineOn(connector, 'hangar');
    await expect(manifests.stat(ref('lake'))).rejects.toThrow(/Delta table.*HANGAR_LAYOUT=delta/);
  });
});
