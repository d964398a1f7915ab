/**
 * SQL through the engine, on real DuckDB and real stores: views over stored segments (local files
 * read in place; memory segments through the cache), joins and cross-bucket queries, dictionary
 * round trips, the bridge's type coverage, the sandbox, timeouts and cancellation.
 */
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DataType, Dictionary, Float64, Int32, type Schema, Table, TimeUnit, Timestamp, Utf8, tableFromIPC, tableToIPC, vectorFromArray } from 'apache-arrow';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FrameStore } from '../../src/storage/frame-store.js';
import { LocalConnector } from '../../src/connectors/local/local-connector.js';
import { MemoryConnector } from '../../src/connectors/memory/memory-connector.js';
import { ObjectLayout } from '../../src/storage/object-layout.js';
import { HangarEngine } from '../../src/core/engine.js';
import { CancelledError, DeadlineExceededError, HangarError } from '../../src/errors.js';
import { joinIpcStream, splitIpcStream } from '../../src/format/ipc-message.js';
import { ParquetCodec } from '../../src/format/parquet/parquet-codec.js';

const codec = new ParquetCodec(2);
afterAll(() => codec.close());

async function* messagesOf(table: Table) {
  yield* splitIpcStream(tableToIPC(table, 'stream'));
}

async function put(engine: HangarEngine, name: string, table: Table, bucket = 'default', mode: 'error' | 'replace' | 'append' = 'error') {
  await engine.put({ bucket, name }, mode, messagesOf(table));
}

async function query(engine: HangarEngine, sql: string, bucket = 'default', signal?: AbortSignal): Promise<Table> {
  const stream = await engine.query(sql, { bucket, ...(signal ? { signal } : {}) });
  const messages = [];
  for await (const message of stream.messages) messages.push(message);
  return tableFromIPC(joinIpcStream(messages));
}

async function failure(promise: Promise<unknown>): Promise<HangarError> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(HangarError);
    return error as HangarError;
  }
  throw new Error('expected the query to fail');
}

const rows = 5000;
const sensors = new Table({
  ts: vectorFromArray(
    Array.from({ length: rows }, (_, i) => Date.UTC(2024, 0, 1) + i * 1000),
    new Timestamp(TimeUnit.MILLISECOND),
  ),
  value: vectorFromArray(Array.from({ length: rows }, (_, i) => i * 0.5), new Float64()),
  site: vectorFromArray(Array.from({ length: rows }, (_, i) => ['north', 'south', 'east'][i % 3]!), new Dictionary(new Utf8(), new Int32())),
  note: vectorFromArray(Array.from({ length: rows }, (_, i) => (i % 10 === 0 ? null : `reading number ${i} of the series`)), new Utf8()),
});
const sites = new Table({
  site: vectorFromArray(['north', 'south', 'east'], new Utf8()),
  region: vectorFromArray(['N', 'S', 'E'], new Utf8()),
});

for (const [label, makeConnector] of [
  ['local', async () => new ObjectLayout(new LocalConnector({ root: await mkdtemp(join(tmpdir(), 'hangar-sql-')), fsync: false }))],
  ['memory (segment cache)', async () => new ObjectLayout(new MemoryConnector())],
] as const) {
  describe(`SQL over ${label} frames`, () => {
    let connector: FrameStore;
    let engine: HangarEngine;

    beforeAll(async () => {
      connector = await makeConnector();
      await connector.open();
      // Small segments: each frame spans several files and several dictionary groups.
      engine = new HangarEngine(connector, codec, { segmentBytes: 32 * 1024 });
      await put(engine, 'sensors', sensors);
      await put(engine, 'sites', sites, 'reference');
    });
    afterAll(async () => {
      await engine.close();
      const root = connector.fileRoots()[0];
      await connector.close();
      if (root) await rm(root, { recursive: true, force: true });
    });

    it('aggregates a frame by its name', async () => {
      const result = await query(engine, 'SELECT site, count(*) AS n, sum(value) AS total FROM sensors GROUP BY site ORDER BY site::VARCHAR');
      expect(result.toArray().map((row) => row.toJSON())).toEqual([
        { site: 'east', n: 1666n, total: sumWhere((i) => i % 3 === 2) },
        { site: 'north', n: 1667n, total: sumWhere((i) => i % 3 === 0) },
        { site: 'south', n: 1667n, total: sumWhere((i) => i % 3 === 1) },
      ]);
    });

    it('returns a stored dictionary column as a dictionary, with its values', async () => {
      const result = await query(engine, 'SELECT site, note FROM sensors ORDER BY ts LIMIT 4');
      expect(DataType.isDictionary(result.schema.fields[0]!.type)).toBe(true);
      expect(result.getChild('site')!.toArray()).toEqual(['north', 'south', 'east', 'north']);
      expect(result.getChild('note')!.toArray()).toEqual([null, 'reading number 1 of the series', 'reading number 2 of the series', 'reading number 3 of the series']);
    });

    it('streams every row of a multi-segment frame unchanged', async () => {
      const result = await query(engine, 'SELECT * FROM sensors ORDER BY ts');
      expect(result.numRows).toBe(rows);
      expect(result.getChild('value')!.toArray()).toEqual(sensors.getChild('value')!.toArray());
      expect([...result.getChild('note')!]).toEqual([...sensors.getChild('note')!]);
      expect([...result.getChild('ts')!].map(Number)).toEqual([...sensors.getChild('ts')!].map(Number));
    });

    it('joins across buckets and filters on time', async () => {
      const result = await query(
        engine,
        `SELECT r.region, count(*) AS n FROM sensors s JOIN reference.sites r ON s.site = r.site
         WHERE s.ts >= TIMESTAMP '2024-01-01 00:00:00' AND s.ts < TIMESTAMP '2024-01-01 00:00:30' GROUP BY r.region ORDER BY r.region`,
      );
      expect(result.toArray().map((row) => row.toJSON())).toEqual([
        { region: 'E', n: 10n },
        { region: 'N', n: 10n },
        { region: 'S', n: 10n },
      ]);
    });

    it('runs in the bucket it is given', async () => {
      const result = await query(engine, 'SELECT count(*) AS n FROM sites', 'reference');
      expect(result.getChild('n')!.get(0)).toBe(3n);
    });

    it('follows replaces, appends and deletes of a frame', async () => {
      await put(engine, 'moving', sites);
      expect((await query(engine, 'SELECT count(*) AS n FROM moving')).getChild('n')!.get(0)).toBe(3n);
      await put(engine, 'moving', sites, 'default', 'append');
      expect((await query(engine, 'SELECT count(*) AS n FROM moving')).getChild('n')!.get(0)).toBe(6n);
      await put(engine, 'moving', new Table({ solo: vectorFromArray([1, 2], new Int32()) }), 'default', 'replace');
      expect((await query(engine, 'SELECT sum(solo)::BIGINT AS s FROM moving')).getChild('s')!.get(0)).toBe(3n);
      await engine.delete({ bucket: 'default', name: 'moving' });
      const error = await failure(query(engine, 'SELECT * FROM moving'));
      expect(error.code).toBe('INVALID_ARGUMENT');
      expect(error.message).toMatch(/moving/);
    });

    it('answers an empty frame with its schema', async () => {
      await put(engine, 'empty', new Table({ a: vectorFromArray([], new Int32()), b: vectorFromArray([], new Utf8()) }));
      const result = await query(engine, 'SELECT * FROM empty');
      expect(result.numRows).toBe(0);
      expect(result.schema.fields.map((field) => `${field.name}:${field.type}`)).toEqual(['a:Int32', 'b:Utf8']);
    });

    it('gives the schema of a query without running it', async () => {
      const schema: Schema = await engine.querySchema('SELECT site, avg(value) AS mean FROM sensors GROUP BY site', { bucket: 'default' });
      expect(schema.fields.map((field) => field.name)).toEqual(['site', 'mean']);
      expect(DataType.isFloat(schema.fields[1]!.type)).toBe(true);
    });
  });
}

function sumWhere(pick: (i: number) => boolean): number {
  let total = 0;
  for (let i = 0; i < rows; i++) if (pick(i)) total += i * 0.5;
  return total;
}

describe('SQL results as Arrow (the bridge)', () => {
  let engine: HangarEngine;
  beforeAll(() => {
    engine = new HangarEngine(new ObjectLayout(new MemoryConnector()), codec);
  });
  afterAll(() => engine.close());

  it('maps every DuckDB type to its Arrow type and value', async () => {
    const result = await query(
      engine,
      `SELECT true AS b, -5::TINYINT AS i8, -300::SMALLINT AS i16, 70000::INTEGER AS i32, 9007199254740993::BIGINT AS i64,
              200::UTINYINT AS u8, 60000::USMALLINT AS u16, 4000000000::UINTEGER AS u32, 18446744073709551615::UBIGINT AS u64,
              1.5::FLOAT AS f32, 2.25::DOUBLE AS f64, 12.34::DECIMAL(4,2) AS d4, -1234567.891::DECIMAL(15,3) AS d15,
              12345678901234567890.12::DECIMAL(30,2) AS d30, DATE '2024-02-29' AS day, TIME '13:14:15.123456' AS t,
              TIMESTAMP '2024-01-02 03:04:05.678901' AS ts, TIMESTAMPTZ '2024-01-02 03:04:05+02' AS tstz,
              TIMESTAMP_NS '2024-01-02 03:04:05.123456789' AS tsns, 'héllo wörld, a longer string' AS s, 'short' AS s2,
              '\\xAA\\xBB'::BLOB AS bin, 'b'::ENUM('a', 'b') AS e, [1, 2, NULL] AS list, {'x': 1, 'y': 'z'} AS struct,
              [1.5, 2.5]::DOUBLE[2] AS arr, MAP {'k': 1} AS m, NULL AS nothing, '8c5b4c1e-6f3c-4b8a-9d2e-3f1a2b3c4d5e'::UUID AS id,
              INTERVAL 3 DAY AS iv`,
    );
    const row = result.get(0)!.toJSON() as Record<string, unknown>;
    const types = Object.fromEntries(result.schema.fields.map((field) => [field.name, field.type]));
    expect(row.b).toBe(true);
    const typeNames = Object.fromEntries(result.schema.fields.map((field) => [field.name, String(field.type)]));
    expect(typeNames.i8).toBe('Int8');
    expect(row.i8).toBe(-5);
    expect(typeNames.i16).toBe('Int16');
    expect(row.i16).toBe(-300);
    expect(row.i32).toBe(70000);
    expect(typeNames.i64).toBe('Int64');
    expect(row.i64).toBe(9007199254740993n);
    expect(typeNames.u8).toBe('Uint8');
    expect(row.u8).toBe(200);
    expect(typeNames.u16).toBe('Uint16');
    expect(row.u16).toBe(60000);
    expect(row.u32).toBe(4000000000);
    expect(row.u64).toBe(18446744073709551615n);
    expect(row.f32).toBe(1.5);
    expect(row.f64).toBe(2.25);
    expect(String(types.d4)).toBe('Decimal[4e+2]');
    expect(decimalString(result, 'd4')).toBe('1234');
    expect(decimalString(result, 'd15')).toBe('-1234567891');
    expect(decimalString(result, 'd30')).toBe('1234567890123456789012');
    expect(typeNames.day).toBe('Date32<DAY>');
    expect(new Date(row.day as number).toISOString()).toBe('2024-02-29T00:00:00.000Z');
    expect(row.t).toBe(47655123456n);
    expect((types.ts as Timestamp).unit).toBe(TimeUnit.MICROSECOND);
    expect(result.getChild('ts')!.data[0]!.values[0]).toBe(BigInt(Date.UTC(2024, 0, 2, 3, 4, 5, 678)) * 1000n + 901n);
    expect((types.tstz as Timestamp).timezone).toBe('UTC');
    expect(result.getChild('tstz')!.data[0]!.values[0]).toBe(BigInt(Date.UTC(2024, 0, 2, 1, 4, 5)) * 1000n);
    expect((types.tsns as Timestamp).unit).toBe(TimeUnit.NANOSECOND);
    expect(result.getChild('tsns')!.data[0]!.values[0]).toBe(BigInt(Date.UTC(2024, 0, 2, 3, 4, 5)) * 1_000_000n + 123456789n);
    expect(row.s).toBe('héllo wörld, a longer string');
    expect(row.s2).toBe('short');
    expect([...(row.bin as Uint8Array)]).toEqual([0xaa, 0xbb]);
    expect(DataType.isDictionary(types.e!)).toBe(true);
    expect(row.e).toBe('b');
    expect([...(row.list as Iterable<unknown>)]).toEqual([1, 2, null]);
    expect((row.struct as { toJSON(): unknown }).toJSON()).toEqual({ x: 1, y: 'z' });
    expect([...(row.arr as Iterable<unknown>)]).toEqual([1.5, 2.5]);
    expect(DataType.isMap(types.m!)).toBe(true);
    expect(row.nothing).toBe(null);
    expect(row.id).toBe('8c5b4c1e-6f3c-4b8a-9d2e-3f1a2b3c4d5e');
    expect(typeof row.iv).toBe('string');
    expect(typeNames.b).toBe('Bool');
  });

  it('keeps nulls in every kind of column across chunk boundaries', async () => {
    const result = await query(
      engine,
      `SELECT CASE WHEN i % 3 = 0 THEN NULL ELSE i END AS n,
              CASE WHEN i % 5 = 0 THEN NULL ELSE 'value-' || i || '-with-some-length' END AS s,
              CASE WHEN i % 7 = 0 THEN NULL ELSE i % 2 = 0 END AS flag,
              CASE WHEN i % 4 = 0 THEN NULL ELSE [i, i + 1] END AS l,
              CASE WHEN i % 6 = 0 THEN NULL ELSE {'a': i} END AS st
       FROM range(10000) t(i) ORDER BY i`,
    );
    expect(result.numRows).toBe(10000);
    for (const i of [0, 1, 2047, 2048, 2049, 4095, 9999]) {
      const row = result.get(i)!.toJSON() as Record<string, unknown>;
      expect(row.n).toBe(i % 3 === 0 ? null : BigInt(i));
      expect(row.s).toBe(i % 5 === 0 ? null : `value-${i}-with-some-length`);
      expect(row.flag).toBe(i % 7 === 0 ? null : i % 2 === 0);
      expect(row.l === null ? null : [...(row.l as Iterable<bigint>)]).toEqual(i % 4 === 0 ? null : [BigInt(i), BigInt(i + 1)]);
      expect(row.st === null ? null : (row.st as { toJSON(): unknown }).toJSON()).toEqual(i % 6 === 0 ? null : { a: BigInt(i) });
    }
  });

  it('sends a schema for an empty result', async () => {
    const result = await query(engine, 'SELECT 1 AS x WHERE false');
    expect(result.numRows).toBe(0);
    expect(String(result.schema.fields[0]!.type)).toBe('Int32');
  });

  it('splits large results into batches of a few MiB', async () => {
    const stream = await engine.query("SELECT i, 'row ' || i AS label FROM range(1000000) t(i)", { bucket: 'default' });
    const batches = tableFromIPC(joinIpcStream(await collect(stream.messages))).batches;
    expect(batches.length).toBeGreaterThan(3);
    expect(batches.reduce((sum, batch) => sum + batch.numRows, 0)).toBe(1_000_000);
  });
});

async function collect<T>(items: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of items) out.push(item);
  return out;
}

function decimalString(table: Table, column: string): string {
  const words = table.getChild(column)!.data[0]!.values as Uint32Array;
  let value = 0n;
  for (let i = 3; i >= 0; i--) value = (value << 32n) | BigInt(words[i]!);
  if (value >= 1n << 127n) value -= 1n << 128n;
  return value.toString();
}

describe('the SQL sandbox', () => {
  let root: string;
  let engine: HangarEngine;
  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'hangar-sandbox-'));
    const connector = new ObjectLayout(new LocalConnector({ root, fsync: false }));
    await connector.open();
    engine = new HangarEngine(connector, codec, { sql: { timeoutMs: 300 }, retention: { keepVersions: 1, graceMs: 0 } });
    await put(engine, 'f', sites);
  });
  afterAll(async () => {
    await engine.close();
    await rm(root, { recursive: true, force: true });
  });

  const refused: [string, string, RegExp][] = [
    ["SELECT * FROM read_csv('/etc/passwd')", 'PERMISSION_DENIED', /Cannot access file/],
    ["SELECT * FROM read_text('/etc/hostname')", 'PERMISSION_DENIED', /Cannot access file/],
    ["SELECT * FROM glob('/*')", 'PERMISSION_DENIED', /Cannot access/],
    ["SELECT * FROM read_parquet('/usr/lib/x.parquet')", 'PERMISSION_DENIED', /Cannot access file/],
    ["COPY (SELECT 1) TO '/tmp/hangar-escape.csv'", 'PERMISSION_DENIED', /Cannot access file/],
    ['COPY f TO STDOUT', 'PERMISSION_DENIED', /Cannot access file/],
    ["ATTACH '/tmp/hangar-escape.db'", 'PERMISSION_DENIED', /only read-only queries/],
    ['INSTALL httpfs', 'PERMISSION_DENIED', /only read-only queries/],
    ['LOAD httpfs', 'PERMISSION_DENIED', /only read-only queries/],
    ['SET enable_external_access = true', 'PERMISSION_DENIED', /only read-only queries/],
    ['PRAGMA enable_profiling', 'PERMISSION_DENIED', /only read-only queries/],
    ['CREATE TABLE t AS SELECT 1', 'PERMISSION_DENIED', /only read-only queries/],
    ['DROP VIEW f', 'PERMISSION_DENIED', /only read-only queries/],
    ["EXPORT DATABASE '/tmp/hangar-export'", 'PERMISSION_DENIED', /Cannot access directory/],
    ['SELECT 1; DROP VIEW f', 'INVALID_ARGUMENT', /multiple statements/],
    ['SELEC 1', 'INVALID_ARGUMENT', /syntax error/],
    ['SELECT nope FROM f', 'INVALID_ARGUMENT', /nope/],
  ];
  it.each(refused)('refuses %s', async (sql, code, message) => {
    const error = await failure(query(engine, sql));
    expect(error.code).toBe(code);
    expect(error.message).toMatch(message);
    expect(error.type).toBe('DataFusionError');
    // Nothing changed: the frame is still there and readable.
    expect((await query(engine, 'SELECT count(*) AS n FROM f')).getChild('n')!.get(0)).toBe(3n);
  });

  it('stops a query at the timeout, then keeps serving', async () => {
    const error = await failure(query(engine, 'SELECT count(*) FROM range(100000000000) a(i) WHERE i % 7 = 3'));
    expect(error).toBeInstanceOf(DeadlineExceededError);
    expect(error.message).toMatch(/timeout of 300 ms/);
    expect((await query(engine, 'SELECT 42 AS x')).getChild('x')!.get(0)).toBe(42);
  });

  it('releases a result nobody reads once the timeout passes', async () => {
    await put(engine, 'leased', sites);
    const stream = await engine.query('SELECT * FROM leased', { bucket: 'default' });
    await new Promise((resolve) => setTimeout(resolve, 450));
    // The lease is gone: vacuum deletes the replaced version's segments at once.
    const before = (await readdir(join(root, 'default', 'leased', 'segments'))).length;
    await put(engine, 'leased', sites, 'default', 'replace');
    await engine.vacuum({ name: 'leased' });
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect((await readdir(join(root, 'default', 'leased', 'segments'))).length).toBe(before);
    const error = await failure(collect(stream.messages));
    expect(error).toBeInstanceOf(DeadlineExceededError);
  });

  it('interrupts a query whose client goes away', async () => {
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 50);
    const error = await failure(query(engine, 'SELECT count(*) FROM range(100000000000) a(i) WHERE i % 7 = 3', 'default', controller.signal));
    expect(error).toBeInstanceOf(CancelledError);
    expect((await query(engine, 'SELECT 1 AS x')).getChild('x')!.get(0)).toBe(1);
  });
});

describe('pooled connections and reused statements', () => {
  let engine: HangarEngine;
  beforeAll(() => {
    engine = new HangarEngine(new ObjectLayout(new MemoryConnector()), codec);
  });
  afterAll(() => engine.close());

  const numbers = (from: number) => new Table({ n: vectorFromArray(Int32Array.from({ length: 10 }, (_, i) => from + i)) });
  const total = async (bucket = 'default') => Number((await query(engine, 'SELECT sum(n) AS s FROM pooled', bucket)).get(0)!.toJSON().s);

  it('answers a repeated query from the frame’s current data after every change to it', async () => {
    await put(engine, 'pooled', numbers(0));
    expect(await total()).toBe(45);
    expect(await total()).toBe(45);
    await put(engine, 'pooled', numbers(100), 'default', 'replace');
    expect(await total()).toBe(1045);
    await put(engine, 'pooled', numbers(1000), 'default', 'append');
    expect(await total()).toBe(1045 + 10045);
    await engine.delete({ bucket: 'default', name: 'pooled' });
    expect((await failure(query(engine, 'SELECT sum(n) AS s FROM pooled'))).message).toMatch(/pooled/);
  });

  it('resolves the same text in each bucket against that bucket’s frames', async () => {
    await put(engine, 'pooled', numbers(0), 'left');
    await put(engine, 'pooled', numbers(10), 'right');
    for (let round = 0; round < 3; round++) {
      expect(await total('left')).toBe(45);
      expect(await total('right')).toBe(145);
    }
  });

  it('serves queries after failed, abandoned and concurrent ones', async () => {
    await put(engine, 'pooled', numbers(0), 'again');
    await failure(query(engine, 'SELECT nope FROM pooled', 'again'));
    // A result abandoned after its first message: its connection is not reused.
    const stream = await engine.query('SELECT n FROM pooled', { bucket: 'again' });
    for await (const _message of stream.messages) break;
    const answers = await Promise.all(Array.from({ length: 12 }, () => total('again')));
    expect(answers).toEqual(Array.from({ length: 12 }, () => 45));
  });
});
