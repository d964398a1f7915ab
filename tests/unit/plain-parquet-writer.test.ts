// The plain Parquet writer against two independent readers: parquet-wasm (what the store decodes
// segments with) must give back the very table written, and DuckDB (what SQL reads) must see the
// same schema, values and statistics as in the file parquet-wasm itself writes for that table.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import {
  Decimal,
  Field,
  Float64,
  Int32,
  RecordBatch,
  Schema,
  Struct,
  Table,
  TimestampMicrosecond,
  TimestampSecond,
  makeData,
  vectorFromArray,
} from 'apache-arrow';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PlainParquetUnsupported, plainParquetLayout } from '../../src/format/parquet/plain-parquet-writer.js';
import { NULL_PATTERNS, coveredTable, decodeWithWasm, expectSameTable, plain, wasm } from './parquet-fixtures.js';

describe('plain Parquet writer read back by parquet-wasm', () => {
  it.each(NULL_PATTERNS)('covered types, %s, round-trip exactly', (_name, nullEvery) => {
    const table = coveredTable(1000, nullEvery);
    expectSameTable(decodeWithWasm(plain(table)), table);
  });

  it('several batches, row groups cutting through them, and slices at odd offsets', () => {
    const whole = coveredTable(3000, 7, 2);
    // Batches of 1000 rows, then re-sliced at offsets that are not multiples of 8.
    const batches: RecordBatch[] = [];
    for (const [start, end] of [[0, 13], [13, 1021], [1021, 2990], [2990, 3000]] as const) batches.push(...whole.slice(start, end).batches);
    const sliced = new Table(batches);
    const parquet = plain(sliced, { rowGroupRows: 700 });
    expectSameTable(decodeWithWasm(parquet), whole);
  });

  it('an empty table keeps its schema', () => {
    const empty = coveredTable(0, 0);
    const decoded = decodeWithWasm(plain(empty));
    expect(decoded.numRows).toBe(0);
    expect(decoded.schema.fields.map((f) => String(f.type))).toEqual(empty.schema.fields.map((f) => String(f.type)));
  });

  it('non-nullable columns are REQUIRED and keep their nullability', () => {
    const schema = new Schema([new Field('x', new Float64(), false), new Field('t', new TimestampMicrosecond(), false)]);
    const children = [vectorFromArray(Float64Array.from([1, 2, 3])).data[0]!, vectorFromArray([1, 2, 3].map((i) => new Date(i)), new TimestampMicrosecond()).data[0]!];
    const table = new Table([new RecordBatch(schema, makeData({ type: new Struct(schema.fields), length: 3, nullCount: 0, children }))]);
    expectSameTable(decodeWithWasm(plain(table)), table);
  });

  it('keeps the schema metadata (pandas index metadata lives there)', () => {
    const table = coveredTable(10, 0);
    const schema = new Schema(table.schema.fields, new Map([['pandas', '{"index_columns": []}']]));
    const withMetadata = new Table(table.batches.map((batch) => new RecordBatch(schema, batch.data)));
    const decoded = decodeWithWasm(plain(withMetadata));
    expect(decoded.schema.metadata.get('pandas')).toBe('{"index_columns": []}');
  });
});

describe('plain Parquet writer read by DuckDB, against parquet-wasm’s file of the same table', () => {
  let directory: string;
  let instance: DuckDBInstance;
  let connection: DuckDBConnection;
  beforeAll(async () => {
    directory = await mkdtemp(join(tmpdir(), 'hangar-plain-parquet-'));
    instance = await DuckDBInstance.create(':memory:');
    connection = await instance.connect();
  });
  afterAll(async () => {
    connection.closeSync();
    instance.closeSync();
    await rm(directory, { recursive: true, force: true });
  });

  async function rows(sql: string): Promise<unknown[]> {
    return (await connection.runAndReadAll(sql)).getRowObjectsJson();
  }

  it('sees the same column types, values and time statistics', async () => {
    const table = coveredTable(2000, 6, 3);
    const ours = join(directory, 'plain.parquet');
    const theirs = join(directory, 'wasm.parquet');
    await writeFile(ours, plain(table, { rowGroupRows: 512, statisticsColumns: ['ms', 'i32', 'day'] }));
    await writeFile(theirs, wasm(table));
    const types = (file: string) => rows(`SELECT column_name, column_type FROM (DESCRIBE SELECT * FROM read_parquet('${file}'))`);
    expect(await types(ours)).toEqual(await types(theirs));
    const all = (file: string) => rows(`SELECT COLUMNS(*)::VARCHAR FROM read_parquet('${file}')`);
    expect(await all(ours)).toEqual(await all(theirs));
    // Row-group statistics of the time column, exactly what the data holds.
    const stats = await rows(
      `SELECT row_group_id, stats_min_value, stats_max_value, stats_null_count FROM parquet_metadata('${ours}') WHERE path_in_schema = 'ms' ORDER BY row_group_id`,
    );
    const expected = await rows(
      `SELECT (rn // 512)::BIGINT AS row_group_id, strftime(min(ms), '%Y-%m-%d %H:%M:%S') AS lo, strftime(max(ms), '%Y-%m-%d %H:%M:%S') AS hi, count(*) FILTER (WHERE ms IS NULL) AS nulls
       FROM (SELECT ms, row_number() OVER () - 1 AS rn FROM read_parquet('${theirs}')) GROUP BY ALL ORDER BY 1`,
    );
    type Row = Record<string, unknown>;
    expect((stats as Row[]).map((s) => [Number(s.row_group_id), String(s.stats_min_value).slice(0, 19), String(s.stats_max_value).slice(0, 19), Number(s.stats_null_count)])).toEqual(
      (expected as Row[]).map((e) => [Number(e.row_group_id), e.lo, e.hi, Number(e.nulls)]),
    );
    // DuckDB prunes row groups with them: a range inside one row group reads one.
    const pruned = await rows(`SELECT count(*) AS n FROM read_parquet('${ours}') WHERE ms BETWEEN TIMESTAMP '2024-01-01 00:00:10' AND TIMESTAMP '2024-01-01 00:00:20'`);
    expect(Number((pruned[0] as { n: string }).n)).toBe(11 - [10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20].filter((i) => i % 6 === 3).length);
  });
});

describe('plain Parquet layout', () => {
  it('declines what it does not cover, so the codec falls back to parquet-wasm', () => {
    for (const type of [new Decimal(2, 10, 128), new TimestampSecond()]) {
      expect(plainParquetLayout(new Schema([new Field('x', type)]))).toBeUndefined();
    }
    expect(plainParquetLayout(new Schema([new Field('x', new Int32()), new Field('x', new Int32())]))).toBeUndefined();
    expect(plainParquetLayout(coveredTable(1, 0).schema)).toHaveLength(18);
  });

  it('refuses nulls in a non-nullable column instead of writing a wrong file', () => {
    const schema = new Schema([new Field('x', new Int32(), false)]);
    const data = vectorFromArray([1, null, 3], new Int32()).data[0]!;
    const table = new Table([new RecordBatch(schema, makeData({ type: new Struct(schema.fields), length: 3, nullCount: 0, children: [data] }))]);
    expect(() => plain(table)).toThrow(PlainParquetUnsupported);
  });
});
