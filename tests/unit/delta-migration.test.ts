/** `hangar migrate` (src/storage/delta-migration.ts): a store written in the manifest layout gets its Delta logs, idempotently and resumably. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MemoryConnector } from '../../src/connectors/memory/memory-connector.js';
import { type PutOptions } from '../../src/storage/connector.js';
import { HangarEngine } from '../../src/core/engine.js';
import { ParquetCodec } from '../../src/format/parquet/parquet-codec.js';
import { migrateToDeltaLog } from '../../src/storage/delta-migration.js';
import { ObjectLayout } from '../../src/storage/object-layout.js';
import { collect, messagesOf, ref, sampleTable } from '../../src/testing/fixtures.js';
import type { FrameRef } from '../../src/names.js';

/** A memory store whose Delta commits fail after `budget` of them: a migration stopped half-way. */
class InterruptedConnector extends MemoryConnector {
  budget = Number.POSITIVE_INFINITY;
  override async put(key: string, data: Uint8Array, options?: PutOptions): Promise<boolean> {
    if (key.includes('/_delta_log/') && this.budget-- <= 0) throw new Error('interrupted');
    return super.put(key, data, options);
  }
}

const frames: FrameRef[] = [ref('a'), ref('b'), ref('c', 'other')];

async function snapshot(engine: HangarEngine, frame: FrameRef): Promise<unknown[]> {
  const versions = await engine.versions(frame);
  const states: unknown[] = [];
  for (const version of versions) {
    const rows = version.deleted ? 'deleted' : (await collect((await engine.read(frame, { version: version.version })).messages)).getChild('id')?.toArray();
    states.push({ version: version.version, operation: version.operation, rows: version.rows, data: rows === 'deleted' ? rows : [...(rows as Int32Array)] });
  }
  return states;
}

describe('migrating a manifest-layout store to the Delta log layout', () => {
  let codec: ParquetCodec;
  const connector = new InterruptedConnector();
  let before: Map<string, unknown[]>;
  beforeAll(async () => {
    codec = new ParquetCodec(1);
    const layout = new ObjectLayout(connector, { log: 'hangar' });
    await layout.open();
    const engine = new HangarEngine(layout, codec, { compactThreshold: 0, retention: { keepVersions: 3, graceMs: 0 } });
    await engine.put(ref('a'), 'error', messagesOf(sampleTable(10)));
    await engine.put(ref('a'), 'append', messagesOf(sampleTable(5, 10)));
    await engine.put(ref('b'), 'error', messagesOf(sampleTable(3)));
    for (let i = 0; i < 4; i++) await engine.put(ref('b'), 'replace', messagesOf(sampleTable(4 + i, i)));
    await engine.delete(ref('b'));
    await engine.put(ref('c', 'other'), 'error', messagesOf(sampleTable(7)));
    await engine.vacuum({ name: 'b' }); // b keeps versions 4-6: 1-3 are gone
    before = new Map(await Promise.all(frames.map(async (frame) => [`${frame.bucket}/${frame.name}`, await snapshot(engine, frame)] as const)));
    expect(before.get('default/b')!.map((state) => (state as { version: number }).version)).toEqual([4, 5, 6]);
  });
  afterAll(async () => {
    await codec.close();
  });

  it('is resumable: a run stopped half-way is finished by the next, and a third changes nothing', async () => {
    connector.budget = 4;
    await expect(migrateToDeltaLog(connector)).rejects.toThrow('interrupted');
    connector.budget = Number.POSITIVE_INFINITY;
    const finished = await migrateToDeltaLog(connector);
    expect(finished.commitsSkipped).toBe(4);
    expect(finished.commitsSkipped + finished.commitsWritten).toBe(2 + 6 + 1);
    // a's 2 commits and b's placeholders for versions 1 and 2 were written before the stop.
    expect(finished.placeholders).toBe(1);
    const again = await migrateToDeltaLog(connector);
    expect(again).toEqual({ frames: 3, commitsWritten: 0, commitsSkipped: 9, placeholders: 0 });
  });

  it('serves every kept version as before through the Delta log, with a log contiguous from Delta version 0', async () => {
    const delta = new ObjectLayout(connector, { log: 'delta' });
    const engine = new HangarEngine(delta, codec, { compactThreshold: 0 });
    for (const frame of frames) expect(await snapshot(engine, frame)).toEqual(before.get(`${frame.bucket}/${frame.name}`));
    const commits: string[] = [];
    for await (const { key } of connector.list('default/b/_delta_log/')) commits.push(key.slice('default/b/_delta_log/'.length));
    expect(commits.sort()).toEqual([0, 1, 2, 3, 4, 5].map((version) => `${String(version).padStart(20, '0')}.json`));
    // New commits continue the log.
    await engine.put(ref('a'), 'append', messagesOf(sampleTable(1, 15)));
    expect((await engine.versions(ref('a'))).at(-1)).toMatchObject({ version: 3, operation: 'append', rows: 16 });
  });
});
