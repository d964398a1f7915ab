// Nanosecond timestamps of whole microseconds in the plain Parquet writer and reader: stored as
// TIMESTAMP(MICROS) (what Delta engines and Spark read), with microsecond statistics, and read back
// by Hangar as the exact nanoseconds put — negatives, nulls over garbage and int64's extremes
// included; a single value that is not a whole microsecond keeps the column in nanoseconds.
import { Table, TimestampNanosecond, makeData, makeVector, tableFromIPC } from 'apache-arrow';
import { describe, expect, it } from 'vitest';
import { readParquetFooter } from '../../src/format/parquet/parquet-footer.js';
import { readPlainParquet } from '../../src/format/parquet/plain-parquet-reader.js';
import { encodePlainParquet } from '../../src/format/parquet/plain-parquet-writer.js';
import { encapsulateMessage, splitIpcStream } from '../../src/format/ipc-message.js';
import { tableToIPC } from 'apache-arrow';
import { decodeWithWasm } from './parquet-fixtures.js';

const MAX_MICROS_IN_NANOS = (2n ** 63n - 1n) / 1000n * 1000n;
const MIN_MICROS_IN_NANOS = -(2n ** 63n) / 1000n * 1000n;

/** A nanosecond column; `nulls` rows are null with a value that is not a whole microsecond beneath. */
function column(values: bigint[], timezone: string | null, nulls: number[] = []) {
  const bitmap = new Uint8Array(Math.ceil(values.length / 8)).fill(0xff);
  for (const row of nulls) bitmap[row >> 3]! &= ~(1 << (row & 7));
  const data = BigInt64Array.from(values.map((value, row) => (nulls.includes(row) ? 7n : value)));
  return makeVector(makeData({ type: new TimestampNanosecond(timezone), length: values.length, nullCount: nulls.length, nullBitmap: nulls.length ? bitmap : null, data }));
}

function encode(table: Table, rowGroupRows = 1 << 20) {
  const ipc = tableToIPC(table, 'stream');
  return encodePlainParquet(tableFromIPC(ipc), { rowGroupRows, statisticsColumns: table.schema.fields.map((field) => field.name), arrowSchemaMessage: encapsulateMessage(splitIpcStream(ipc)[0]!) });
}

/** A column's stored int64 values across its chunks, null where not valid. */
function valuesOf(table: Table, name: string): (bigint | null)[] {
  const vector = table.getChild(name)!;
  return vector.data.flatMap((data) =>
    Array.from({ length: data.length }, (_, i) => {
      const row = data.offset + i;
      const valid = !data.nullBitmap || data.nullCount === 0 || ((data.nullBitmap[row >> 3]! >> (row & 7)) & 1) === 1;
      return valid ? (data.values as BigInt64Array)[i]! : null;
    }),
  );
}

const le64 = (bytes: Uint8Array | undefined): bigint => new DataView(bytes!.buffer, bytes!.byteOffset, 8).getBigInt64(0, true);

describe('nanosecond timestamps of whole microseconds', () => {
  const values = [1_700_000_000_123_456_000n, -86_400_000_001_000n, 0n, MAX_MICROS_IN_NANOS, MIN_MICROS_IN_NANOS, -1000n, 999_000n, 1_700_000_000_000_000_000n];
  const table = new Table({ naive: column(values, null, [2]), utc: column(values, 'UTC'), exact: column([...values.slice(0, 7), 1_700_000_000_000_000_001n], null) });

  it('are stored as TIMESTAMP(MICROS) with microsecond statistics; a column needing nanoseconds is not', () => {
    const { file, microsecondColumns } = encode(table, 3);
    expect(microsecondColumns).toEqual(['naive', 'utc']);
    const footer = readParquetFooter(file);
    expect(footer.columns.map((c) => c.logicalType)).toEqual(['TIMESTAMP(MICROS,local)', 'TIMESTAMP(MICROS,utc)', 'TIMESTAMP(NANOS,local)']);
    const group = footer.rowGroups[0]!.columns[1]!;
    expect(le64(group.statistics?.min)).toBe(-86_400_000_001n);
    expect(le64(group.statistics?.max)).toBe(1_700_000_000_123_456n);
    // Another engine reads microseconds: the same instants.
    const foreign = decodeWithWasm(file);
    expect(String(foreign.getChild('utc')!.type)).toMatch(/MICROSECOND/);
    expect(valuesOf(foreign, 'utc')).toEqual(values.map((value) => value / 1000n));
  });

  it('are read back by Hangar as the exact nanoseconds put, page CRCs checked', () => {
    const { file } = encode(table, 3);
    for (const verifyPageCrcs of [false, true]) {
      const decoded = tableFromIPC(readPlainParquet(file, { rowGroups: [0, 1, 2], batchRows: 2, verifyPageCrcs }));
      expect(decoded.schema.fields.map((field) => String(field.type))).toEqual(table.schema.fields.map((field) => String(field.type)));
      for (const name of ['naive', 'utc', 'exact'] as const) expect(valuesOf(decoded, name), name).toEqual(valuesOf(table, name));
      expect(valuesOf(decoded, 'naive')[2]).toBeNull();
      expect(valuesOf(decoded, 'utc')[3]).toBe(MAX_MICROS_IN_NANOS);
    }
  });

  it('divides and multiplies exactly across the 32-bit halves (high words that are negative multiples of 1000, random values)', () => {
    let seed = 12345n;
    const next = (): bigint => {
      seed = (seed * 6364136223846793005n + 1442695040888963407n) & ((1n << 64n) - 1n);
      return seed;
    };
    const edges = [-1000n << 32n, (-1000n << 32n) + 1000n, (-1000n << 32n) - 1000n, 1000n << 32n, (1000n << 32n) - 1000n, -(1n << 32n) * 1000n * 3n, -1000n * (1n << 31n)];
    const random = Array.from({ length: 4000 }, () => (BigInt.asIntN(64, next()) / 1000n) * 1000n);
    const values = [...edges, ...random];
    const many = new Table({ t: column(values, null) });
    const { file, microsecondColumns } = encode(many, 1000);
    expect(microsecondColumns).toEqual(['t']);
    expect(valuesOf(decodeWithWasm(file), 't')).toEqual(values.map((value) => value / 1000n));
    const back = tableFromIPC(readPlainParquet(file, { rowGroups: [0, 1, 2, 3, 4], batchRows: 999, verifyPageCrcs: true }));
    expect(valuesOf(back, 't')).toEqual(values);
  });

  it('an empty table keeps nanoseconds', () => {
    expect(encode(table.slice(0, 0)).microsecondColumns).toEqual([]);
  });
});
