// Gets decode stored segments on the codec workers: the plain reader for the plain writer's files,
// parquet-wasm for LZ4 ones, group by group for segments of several row groups (where only the last
// group's decode hands the fetched bytes over). Every form must give back the very rows put.
import { Bool, Dictionary, Float64, Int32, Table, TimestampMillisecond, Utf8, tableFromIPC, tableToIPC, vectorFromArray } from 'apache-arrow';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MemoryConnector } from '../../src/connectors/memory/memory-connector.js';
import { ObjectLayout } from '../../src/storage/object-layout.js';
import { type EngineOptions, HangarEngine } from '../../src/core/engine.js';
import { type IpcMessage, joinIpcStream, splitIpcStream } from '../../src/format/ipc-message.js';
import { ParquetCodec } from '../../src/format/parquet/parquet-codec.js';

const rows = 30_000;
const table = new Table({
  ts: vectorFromArray(Array.from({ length: rows }, (_, i) => new Date(Date.UTC(2024, 0, 1) + i * 1000)), new TimestampMillisecond()),
  x: vectorFromArray(Array.from({ length: rows }, (_, i) => (i % 7 === 3 ? null : i / 8)), new Float64()),
  flag: vectorFromArray(Array.from({ length: rows }, (_, i) => (i % 5 === 0 ? null : i % 3 === 0)), new Bool()),
  label: vectorFromArray(Array.from({ length: rows }, (_, i) => (i % 11 === 0 ? null : `label-${i % 97}`)), new Utf8()),
  category: vectorFromArray(Array.from({ length: rows }, (_, i) => `c${i % 5}`), new Dictionary(new Utf8(), new Int32())),
});

/** The table as one IPC stream: a single batch, so segments split it into row groups. */
async function* oneBatch(): AsyncGenerator<IpcMessage> {
  yield* splitIpcStream(tableToIPC(table, 'stream'));
}

async function get(engine: HangarEngine, columns?: string[]): Promise<Table> {
  const all: IpcMessage[] = [];
  for await (const message of (await engine.read({ bucket: 'default', name: 'f' }, columns ? { columns } : {})).messages) all.push(message);
  return tableFromIPC(joinIpcStream(all));
}

function values(t: Table, column: string): unknown[] {
  return [...t.getChild(column)!].map((value) => (value instanceof Date ? value.getTime() : value));
}

describe('segment decoding on the codec workers', () => {
  let codec: ParquetCodec;
  beforeAll(() => {
    codec = new ParquetCodec(2);
  });
  afterAll(() => codec.close());

  it.each<[string, EngineOptions]>([
    ['plain segments of one row group', {}],
    ['plain segments of several row groups', { rowGroupBytes: 64 * 1024 }],
    ['LZ4 segments of several row groups (parquet-wasm)', { rowGroupBytes: 64 * 1024, segmentCompression: 'lz4' }],
  ])('%s give back the rows put, whole and projected', async (_name, options) => {
    const engine = new HangarEngine(new ObjectLayout(new MemoryConnector()), codec, { readCacheBytes: 0, ...options });
    try {
      await engine.put({ bucket: 'default', name: 'f' }, 'error', oneBatch());
      const manifest = await engine.connector.getManifest({ bucket: 'default', name: 'f' });
      const groups = manifest!.segments.reduce((sum, segment) => sum + segment.rowGroups, 0);
      if (options.rowGroupBytes) expect(groups).toBeGreaterThan(manifest!.segments.length);
      const whole = await get(engine);
      expect(whole.numRows).toBe(rows);
      for (const column of ['ts', 'x', 'flag', 'label', 'category']) expect(values(whole, column)).toEqual(values(table, column));
      expect(String(whole.schema.fields[4]!.type)).toBe(String(table.schema.fields[4]!.type));
      const projected = await get(engine, ['label', 'x']);
      expect(projected.schema.fields.map((field) => field.name)).toEqual(['label', 'x']);
      expect(values(projected, 'label')).toEqual(values(table, 'label'));
      expect(values(projected, 'x')).toEqual(values(table, 'x'));
      // Twice: the hand-over must not have emptied anything a later read needs.
      expect(values(await get(engine), 'x')).toEqual(values(table, 'x'));
    } finally {
      await engine.close();
    }
  });
});
