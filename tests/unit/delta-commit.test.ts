/** The Delta log layout's commit files: which actions each Hangar operation writes (docs/open-format.md). */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Dictionary, Field, Int16, Int64, Int8, List, Schema, Struct, Table, TimestampNanosecond, Uint64, Utf8, makeData, makeVector } from 'apache-arrow';
import type { SegmentEntry } from '../../src/format/manifest.js';
import { MemoryConnector } from '../../src/connectors/memory/memory-connector.js';
import { HangarEngine } from '../../src/core/engine.js';
import { ParquetCodec } from '../../src/format/parquet/parquet-codec.js';
import { deltaSchemaOf } from '../../src/format/delta-commit.js';
import { ObjectLayout } from '../../src/storage/object-layout.js';
import { messagesOf, ref, sampleTable } from '../../src/testing/fixtures.js';

type Action = Record<string, Record<string, unknown>>;

async function actionsOf(connector: MemoryConnector, frame: string, deltaVersion: number): Promise<Action[]> {
  const bytes = await connector.get(`default/${frame}/_delta_log/${String(deltaVersion).padStart(20, '0')}.json`);
  expect(bytes, `commit ${deltaVersion} of ${frame}`).toBeDefined();
  return Buffer.from(bytes!).toString('utf8').trimEnd().split('\n').map((line) => JSON.parse(line) as Action);
}

const paths = (actions: Action[], kind: 'add' | 'remove'): string[] => actions.flatMap((action) => (action[kind] ? [String(action[kind]['path'])] : [])).sort();

describe('the Delta log layout', () => {
  let codec: ParquetCodec;
  let connector: MemoryConnector;
  let engine: HangarEngine;
  beforeAll(async () => {
    codec = new ParquetCodec(1);
    connector = new MemoryConnector();
    const layout = new ObjectLayout(connector, { log: 'delta' });
    await layout.open();
    engine = new HangarEngine(layout, codec, { segmentBytes: 4096, rowGroupBytes: 2048, batchBytes: 1024, compactThreshold: 0 });
  });
  afterAll(async () => {
    await engine.close();
    await codec.close();
  });

  it('writes version n as Delta version n-1 with protocol, metaData, adds and a commitInfo carrying the operation', async () => {
    await engine.put(ref('f'), 'error', messagesOf(sampleTable(3000)));
    const first = await actionsOf(connector, 'f', 0);
    expect(first[0]!['commitInfo']).toMatchObject({ operation: 'CREATE OR REPLACE TABLE', engineInfo: expect.stringMatching(/^Hangar\//) });
    expect(first.find((action) => action['protocol'])!['protocol']).toEqual({ minReaderVersion: 1, minWriterVersion: 2 });
    const metaData = first.find((action) => action['metaData'])!['metaData']!;
    expect(JSON.parse(String(metaData['schemaString']))).toEqual({
      type: 'struct',
      fields: [
        { name: 'id', type: 'integer', nullable: false, metadata: {} },
        { name: 'value', type: 'double', nullable: false, metadata: {} },
        { name: 'symbol', type: 'string', nullable: true, metadata: {} }, // a categorical: Parquet strings
      ],
    });
    const adds = first.filter((action) => action['add']).map((action) => action['add']!);
    expect(adds.length).toBeGreaterThanOrEqual(1);
    expect(adds.reduce((rows, add) => rows + (JSON.parse(String(add['stats'])) as { numRecords: number }).numRecords, 0)).toBe(3000);
    expect(adds.every((add) => add['dataChange'] === true && String(add['path']).startsWith('segments/'))).toBe(true);
  });

  it('an append adds only its files; a replace removes every old file and adds the new ones', async () => {
    const before = paths(await actionsOf(connector, 'f', 0), 'add');
    await engine.put(ref('f'), 'append', messagesOf(sampleTable(10, 3000)));
    const append = await actionsOf(connector, 'f', 1);
    expect(paths(append, 'remove')).toEqual([]);
    expect(paths(append, 'add')).toHaveLength(1);
    await engine.put(ref('f'), 'replace', messagesOf(sampleTable(5)));
    const replace = await actionsOf(connector, 'f', 2);
    expect(paths(replace, 'remove')).toEqual([...before, ...paths(append, 'add')].sort());
    expect(paths(replace, 'add')).toHaveLength(1);
  });

  it('compaction is dataChange: false; a delete removes every file and keeps the history', async () => {
    const ids = (from: number): Table => new Table({ id: makeVector(Int32Array.from({ length: 10 }, (_, i) => from + i)) });
    await engine.put(ref('g'), 'error', messagesOf(ids(0)));
    for (let i = 1; i < 4; i++) await engine.put(ref('g'), 'append', messagesOf(ids(10 * i)));
    const report = await engine.compact(ref('g'));
    expect(report.compacted).toBe(true);
    const compact = await actionsOf(connector, 'g', 4);
    expect(compact[0]!['commitInfo']!['operation']).toBe('OPTIMIZE');
    expect(compact.filter((action) => action['add'] || action['remove']).every((action) => (action['add'] ?? action['remove'])!['dataChange'] === false)).toBe(true);
    const live = paths(compact, 'add');
    await engine.delete(ref('g'));
    const deleted = await actionsOf(connector, 'g', 5);
    expect(paths(deleted, 'remove')).toEqual(live);
    expect(paths(deleted, 'add')).toEqual([]);
    expect((await engine.versions(ref('g'))).map((version) => version.version)).toEqual([1, 2, 3, 4, 5, 6]);
  });

  it('vacuum leaves the log whole (Delta engines replay it) and hides expired versions from Hangar', async () => {
    const layout = new ObjectLayout(connector, { log: 'delta' });
    const strict = new HangarEngine(layout, codec, { retention: { keepVersions: 1, graceMs: 0 }, compactThreshold: 0 });
    await strict.put(ref('h'), 'error', messagesOf(sampleTable(10)));
    await strict.put(ref('h'), 'replace', messagesOf(sampleTable(20)));
    const report = await strict.vacuum({ name: 'h' });
    expect(report.versionsRemoved).toBe(1);
    expect((await strict.versions(ref('h'))).map((version) => version.version)).toEqual([2]);
    expect(await actionsOf(connector, 'h', 0)).toBeDefined();
    expect(await layout.getManifestVersion(ref('h'), 1)).toBeUndefined();
    const removed = paths(await actionsOf(connector, 'h', 1), 'remove');
    expect(await connector.get(`default/h/${removed[0]!}`)).toBeUndefined();
  });
});

describe('Arrow types in the Delta schema', () => {
  it('maps unsigned integers to the next wider type, uint64 to decimal(20,0), and timestamps by zone', () => {
    const table = new Table({
      u64: makeVector(new BigUint64Array([1n])),
      ts: makeVector(makeData({ type: new TimestampNanosecond(), length: 1, data: new BigInt64Array([0n]) })),
      tz: makeVector(makeData({ type: new TimestampNanosecond('UTC'), length: 1, data: new BigInt64Array([0n]) })),
    });
    expect(table.schema.fields[0]!.type).toBeInstanceOf(Uint64);
    const delta = deltaSchemaOf(table.schema);
    expect(delta.struct.fields.map((field) => field.type)).toEqual(['decimal(20,0)', 'timestamp_ntz', 'timestamp']);
    expect(delta.usesTimestampNtz).toBe(true);
  });

  it('gives string dictionaries as strings when every file holds strings, codes when none does, and leaves them out when files differ', () => {
    const schema = new Schema([
      new Field('cat', new Dictionary(new Utf8(), new Int16(), 0, true)),
      new Field('code', new Dictionary(new Int64(), new Int8(), 1)),
    ]);
    const segment = (stringCategories: boolean): SegmentEntry => ({ id: 'x.parquet', rows: 1, bytes: 1, storedBytes: 1, rowGroups: 1, dictionaries: 'x.dictionaries.arrows', ...(stringCategories ? { stringCategories: true as const } : {}) });
    const typesOf = (segments: SegmentEntry[]) => {
      const delta = deltaSchemaOf(schema, segments);
      return { types: delta.struct.fields.map((field) => `${field.name}:${String(field.type)}`), omitted: delta.omitted };
    };
    expect(typesOf([segment(true), segment(true)])).toEqual({ types: ['cat:string', 'code:byte'], omitted: [] });
    expect(typesOf([])).toEqual({ types: ['cat:string', 'code:byte'], omitted: [] });
    expect(typesOf([segment(false)])).toEqual({ types: ['cat:short', 'code:byte'], omitted: [] });
    expect(typesOf([segment(true), segment(false)])).toEqual({ types: ['code:byte'], omitted: ['cat'] });
  });

  it('gives every dictionary of a schema with one nested in a list or struct as its value type (parquet-wasm stores the values)', () => {
    const schema = new Schema([
      new Field('tags', new List(new Field('item', new Dictionary(new Utf8(), new Int8(), 0, true), true))),
      new Field('point', new Struct([new Field('colour', new Dictionary(new Utf8(), new Int16(), 1), true), new Field('code', new Dictionary(new Int64(), new Int8(), 2), true)])),
      new Field('cat', new Dictionary(new Utf8(), new Int16(), 3)),
    ]);
    const delta = deltaSchemaOf(schema, []);
    expect(delta.omitted).toEqual([]);
    expect(delta.struct.fields.map((field) => field.type)).toEqual([
      { type: 'array', elementType: 'string', containsNull: true },
      { type: 'struct', fields: [{ name: 'colour', type: 'string', nullable: true, metadata: {} }, { name: 'code', type: 'long', nullable: true, metadata: {} }] },
      'string',
    ]);
  });
});
