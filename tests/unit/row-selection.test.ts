import {
  Bool,
  DateDay,
  Dictionary,
  Field,
  Float64,
  Int32,
  List,
  Message,
  Table,
  TimestampNanosecond,
  Utf8,
  Vector,
  makeData,
  makeVector,
  tableFromIPC,
  tableToIPC,
  vectorFromArray,
} from 'apache-arrow';
import { describe, expect, it } from 'vitest';
import { joinIpcStream } from '../../src/format/ipc-message.js';
import { selectRows } from '../../src/core/row-selection.js';
import { columnBounds } from '../../src/format/time-range.js';

const ROWS = 1_000;

/** Rows i = 0..ROWS-1 with time[i] = order(i) ns (every 10th null) and columns of several layouts. */
function table(order: (i: number) => number, withList = false): Table {
  const time = new BigInt64Array(ROWS);
  const valid = new Uint8Array(ROWS / 8);
  for (let i = 0; i < ROWS; i++) {
    time[i] = BigInt(order(i));
    if (i % 10 !== 3) valid[i >> 3]! |= 1 << (i & 7);
  }
  const columns = {
    n: vectorFromArray(Array.from({ length: ROWS }, (_, i) => i), new Int32()),
    x: vectorFromArray(Array.from({ length: ROWS }, (_, i) => (i % 6 === 0 ? null : i / 4)), new Float64()),
    flag: vectorFromArray(Array.from({ length: ROWS }, (_, i) => (i % 5 === 0 ? null : i % 3 === 0)), new Bool()),
    day: vectorFromArray(Array.from({ length: ROWS }, (_, i) => new Date(Date.UTC(2024, 0, 1 + i))), new DateDay()),
    s: vectorFromArray(Array.from({ length: ROWS }, (_, i) => (i % 7 === 0 ? null : `v${i}`)), new Utf8()),
    d: vectorFromArray(Array.from({ length: ROWS }, (_, i) => ['x', 'y', 'z'][i % 3]!), new Dictionary(new Utf8(), new Int32())),
    ...(withList ? { l: vectorFromArray(Array.from({ length: ROWS }, (_, i) => (i % 4 ? [i, i + 1] : [])), new List(new Field('item', new Int32(), true))) } : {}),
    time: makeVector(makeData({ type: new TimestampNanosecond(), length: ROWS, nullCount: ROWS / 10, nullBitmap: valid, data: time })),
  };
  return new Table(columns);
}

/** A row with list values as arrays, so rows compare by value (not by vector layout). */
function plain(row: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(row).map(([key, value]) => [key, value instanceof Vector ? [...value] : value]));
}

/** The rows of the source that should survive, by the same rule, as plain objects. */
function expectedRows(source: Table, lower: number, upper: number, limit = Infinity, drop?: string): unknown[] {
  const rows = source.toArray().filter((row) => row.time !== null && Number(source.getChild('time')!.data[0]!.values[row.n]) >= lower && Number(source.getChild('time')!.data[0]!.values[row.n]) < upper);
  return rows.slice(0, limit).map((row) => {
    const json = plain(row.toJSON());
    if (drop) delete json[drop];
    return json;
  });
}

function run(source: Table, lower: number, upper: number, options: { maxRows?: number; dropLastColumn?: boolean } = {}) {
  const ipc = tableToIPC(new Table(source.schema, source.batches.flatMap((batch) => [batch.slice(0, 500), batch.slice(500)])), 'stream');
  const selected = selectRows(ipc, {
    bounds: { column: 'time', range: columnBounds(new TimestampNanosecond(), BigInt(lower), BigInt(upper)) },
    dropLastColumn: options.dropLastColumn ?? false,
    maxRows: options.maxRows ?? Infinity,
  });
  const back = tableFromIPC(joinIpcStream([selected.schema, ...selected.messages]));
  const batchMessages = selected.messages.filter((m) => Message.decode(m.header).isRecordBatch()).length;
  return { selected, back, batchMessages, rows: back.toArray().map((row) => plain(row.toJSON())) };
}

describe('selectRows', () => {
  it('slices sorted data: one record batch per input batch that matches', () => {
    const source = table((i) => i * 10);
    const { selected, rows, batchMessages } = run(source, 4_000, 6_000);
    expect(rows).toEqual(expectedRows(source, 4_000, 6_000));
    expect(selected.rows).toBe(rows.length);
    expect(batchMessages).toBe(2); // rows 400..599 span both input batches, one run in each
  });

  it('gathers scattered matches into one batch per input batch, every flat type intact', () => {
    const source = table((i) => ((i * 389) % ROWS) * 10);
    const { rows, batchMessages } = run(source, 2_000, 5_000);
    const want = expectedRows(source, 2_000, 5_000);
    expect(want.length).toBeGreaterThan(200);
    expect(rows).toEqual(want);
    expect(batchMessages).toBe(2);
  });

  it('falls back to slices for a nested column, with the same rows', () => {
    const source = table((i) => ((i * 389) % ROWS) * 10, true);
    const { rows, batchMessages } = run(source, 2_000, 5_000);
    expect(rows).toEqual(expectedRows(source, 2_000, 5_000));
    expect(batchMessages).toBeGreaterThan(2);
  });

  it('stops at maxRows and drops a column decoded only to filter', () => {
    const source = table((i) => ((i * 389) % ROWS) * 10);
    const { back, rows } = run(source, 2_000, 5_000, { maxRows: 37, dropLastColumn: true });
    expect(back.schema.fields.map((f) => f.name)).toEqual(['n', 'x', 'flag', 'day', 's', 'd']);
    expect(rows).toEqual(expectedRows(source, 2_000, 5_000, 37, 'time'));
  });

  it('keeps the dictionary batches of the decoded stream in place', () => {
    const source = table((i) => i * 10);
    const { selected, back } = run(source, 0, 100);
    const kinds = selected.messages.map((m) => (Message.decode(m.header).isDictionaryBatch() ? 'dictionary' : 'batch'));
    expect(kinds[0]).toBe('dictionary');
    expect([...back.getChild('d')!]).toEqual(['x', 'y', 'z', 'y', 'z', 'x', 'y', 'z', 'x']);
  });
});
