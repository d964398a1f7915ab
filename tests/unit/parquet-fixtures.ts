// Shared by the plain Parquet writer and reader tests: a table of every covered type, the two
// writers (plain, parquet-wasm) and parquet-wasm's decode, and an exact table comparison.
import { createRequire } from 'node:module';
import {
  Binary,
  Bool,
  DateDay,
  Field,
  Float32,
  Float64,
  Int16,
  Int32,
  Int64,
  Int8,
  LargeUtf8,
  Table,
  TimestampMicrosecond,
  TimestampMillisecond,
  TimestampNanosecond,
  Uint16,
  Uint32,
  Uint64,
  Uint8,
  Utf8,
  tableFromIPC,
  tableToIPC,
  vectorFromArray,
} from 'apache-arrow';
import { expect } from 'vitest';
import { encapsulateMessage, splitIpcStream } from '../../src/format/ipc-message.js';
import { writePlainParquet } from '../../src/format/parquet/plain-parquet-writer.js';

const require = createRequire(import.meta.url);
/** parquet-wasm, the reference reader and writer. */
export const pq = require('parquet-wasm/node') as typeof import('parquet-wasm/node');

/** Null patterns every covered-type test runs: name, and a null every n rows (0: none). */
export const NULL_PATTERNS: readonly (readonly [string, number])[] = [
  ['no nulls', 0],
  ['nulls every 5th row', 5],
  ['nulls every 2nd row', 2],
];

/** A deterministic pseudo-random generator, so failures reproduce. */
export function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state * 1664525 + 1013904223) >>> 0;
    return state / 2 ** 32;
  };
}

/** One column of every covered type; `nullEvery` puts a null every n rows (0: none). */
export function coveredTable(rows: number, nullEvery: number, seed = 1): Table {
  const next = random(seed);
  const nullable = <T>(make: (i: number) => T) => Array.from({ length: rows }, (_, i) => (nullEvery && i % nullEvery === 3 ? null : make(i)));
  const column = <T>(type: ConstructorParameters<typeof Field>[1], make: (i: number) => T) => vectorFromArray(nullable(make), type);
  const base = Date.UTC(2024, 0, 1);
  return new Table({
    i8: column(new Int8(), () => Math.floor(next() * 256) - 128),
    i16: column(new Int16(), () => Math.floor(next() * 65536) - 32768),
    i32: column(new Int32(), () => Math.floor(next() * 2 ** 32) - 2 ** 31),
    i64: column(new Int64(), () => BigInt(Math.floor(next() * 2 ** 53)) * (next() < 0.5 ? -1n : 1n)),
    u8: column(new Uint8(), () => Math.floor(next() * 256)),
    u16: column(new Uint16(), () => Math.floor(next() * 65536)),
    u32: column(new Uint32(), () => Math.floor(next() * 2 ** 32)),
    u64: column(new Uint64(), () => BigInt(Math.floor(next() * 2 ** 53)) * 1024n),
    f32: column(new Float32(), () => Math.fround(next() * 1000 - 500)),
    f64: column(new Float64(), () => next() * 1e6 - 5e5),
    flag: column(new Bool(), () => next() < 0.5),
    day: column(new DateDay(), (i) => new Date(base + i * 86_400_000)),
    ms: column(new TimestampMillisecond(), (i) => base + i * 1000),
    us_utc: column(new TimestampMicrosecond('UTC'), (i) => base + i),
    ns_ny: column(new TimestampNanosecond('America/New_York'), (i) => base + i * 7),
    text: column(new Utf8(), (i) => (i % 11 === 0 ? '' : `value-${Math.floor(next() * 1e6)}-${'é'.repeat(i % 5)}-${'x'.repeat(i % 40)}`)),
    large: column(new LargeUtf8(), (i) => `L${i}`),
    blob: column(new Binary(), (i) => Uint8Array.from({ length: i % 9 }, (_, k) => (i + k) & 0xff)),
  });
}

export function ipcOf(table: Table): Uint8Array {
  return tableToIPC(table, 'stream');
}

export function plain(table: Table, options: { rowGroupRows?: number; statisticsColumns?: string[] } = {}): Uint8Array {
  const ipc = ipcOf(table);
  // Through IPC, as the codec sees segments: the table read from the stream, the schema message embedded.
  return writePlainParquet(tableFromIPC(ipc), {
    rowGroupRows: options.rowGroupRows ?? 1 << 20,
    statisticsColumns: options.statisticsColumns ?? [],
    arrowSchemaMessage: encapsulateMessage(splitIpcStream(ipc)[0]!),
  });
}

export function wasm(table: Table): Uint8Array {
  const props = new pq.WriterPropertiesBuilder().setCompression(pq.Compression.UNCOMPRESSED).setDictionaryEnabled(false).build();
  return pq.writeParquet(pq.Table.fromIPCStream(ipcOf(table)), props);
}

/** What parquet-wasm decodes from a file, as a table. */
export function decodeWithWasm(parquet: Uint8Array): Table {
  return tableFromIPC(pq.readParquet(parquet).intoIPCStream());
}

/** Column values as comparable JSON (BigInts and typed arrays made plain). */
export function rowsOf(table: Table): unknown[] {
  return table.toArray().map((row) =>
    JSON.parse(JSON.stringify(row.toJSON(), (_key, value: unknown) => (typeof value === 'bigint' ? value.toString() : value instanceof Uint8Array ? Array.from(value) : value))),
  );
}

export function expectSameTable(actual: Table, expected: Table): void {
  expect(actual.schema.fields.map((f) => `${f.name}:${f.type}:${f.nullable}`)).toEqual(expected.schema.fields.map((f) => `${f.name}:${f.type}:${f.nullable}`));
  expect(actual.numRows).toBe(expected.numRows);
  expect(rowsOf(actual)).toEqual(rowsOf(expected));
}

