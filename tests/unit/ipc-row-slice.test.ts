import { DateDay, Dictionary, Float64, Int16, Int32, Message, Table, TimestampMicrosecond, Utf8, makeData, makeVector, tableFromIPC, tableToIPC, vectorFromArray } from 'apache-arrow';
import { describe, expect, it } from 'vitest';
import { joinIpcStream } from '../../src/format/ipc-message.js';
import { selectRows } from '../../src/core/row-selection.js';
import { columnBounds } from '../../src/format/time-range.js';

// The byte-slicing fast path of selectRows (src/core/ipc-row-slice.ts): fixed-width columns, no nulls.
const ROWS = 1_000;
const BASE = 1_704_067_200_000_000n;
const DAY_NS = 86_400_000_000_000n; // 2024-01-01 in µs: values above 2^32, so both words matter

/** Fixed-width columns only, no nulls: n (int32), x (float64), h (int16), d (dictionary), ts (µs, `order(i)` seconds after BASE). */
function fixedTable(order: (i: number) => number): Table {
  const ts = new BigInt64Array(ROWS);
  for (let i = 0; i < ROWS; i++) ts[i] = BASE + BigInt(order(i)) * 1_000_000n;
  return new Table({
    n: vectorFromArray(Array.from({ length: ROWS }, (_, i) => i), new Int32()),
    x: vectorFromArray(Array.from({ length: ROWS }, (_, i) => i / 4), new Float64()),
    h: vectorFromArray(Array.from({ length: ROWS }, (_, i) => i % 300), new Int16()),
    d: vectorFromArray(Array.from({ length: ROWS }, (_, i) => ['x', 'y', 'z'][i % 3]!), new Dictionary(new Utf8(), new Int32())),
    ts: makeVector(makeData({ type: new TimestampMicrosecond(), length: ROWS, nullCount: 0, data: ts })),
  });
}

/** The stream as the reader sees a decoded chunk: the table in batches of 300, 300 and 400 rows. */
function chunkIpc(source: Table): Uint8Array {
  const batch = source.batches[0]!;
  return tableToIPC(new Table(source.schema, [batch.slice(0, 300), batch.slice(300, 600), batch.slice(600)]), 'stream');
}

function select(source: Table, lowerSeconds: number, upperSeconds: number, options: { maxRows?: number; dropLastColumn?: boolean; skipRows?: number } = {}) {
  const ipc = chunkIpc(source);
  const lower = BASE + BigInt(lowerSeconds) * 1_000_000n;
  const upper = BASE + BigInt(upperSeconds) * 1_000_000n;
  const selected = selectRows(ipc, {
    bounds: { column: 'ts', range: columnBounds(new TimestampMicrosecond(), lower * 1_000n, upper * 1_000n) }, // bounds in ns
    dropLastColumn: options.dropLastColumn ?? false,
    maxRows: options.maxRows ?? Infinity,
    ...(options.skipRows ? { skipRows: options.skipRows } : {}),
  });
  const back = tableFromIPC(joinIpcStream([selected.schema, ...selected.messages]));
  const batches = selected.messages.filter((m) => Message.decode(m.header).isRecordBatch());
  // A message passed through unchanged is a view of the input's bytes; a slice is a new buffer.
  const passedThrough = batches.filter((m) => m.body.buffer === ipc.buffer).length;
  return { selected, back, batches: batches.length, passedThrough };
}

/** The expected values of column n (the row numbers) for rows whose time lies in the bounds. */
function expectedRowNumbers(order: (i: number) => number, lower: number, upper: number): number[] {
  return Array.from({ length: ROWS }, (_, i) => i).filter((i) => order(i) >= lower && order(i) < upper);
}

describe('selectRows on fixed-width columns without nulls (byte slices)', () => {
  const sorted = (i: number): number => i;

  it('cuts sorted rows at unaligned starts, every column and value intact', () => {
    const source = fixedTable(sorted);
    const { back, selected, batches, passedThrough } = select(source, 123, 457);
    expect([...back.getChild('n')!]).toEqual(expectedRowNumbers(sorted, 123, 457));
    expect([...back.getChild('x')!]).toEqual(expectedRowNumbers(sorted, 123, 457).map((i) => i / 4));
    expect([...back.getChild('h')!]).toEqual(expectedRowNumbers(sorted, 123, 457).map((i) => i % 300));
    expect([...back.getChild('d')!]).toEqual(expectedRowNumbers(sorted, 123, 457).map((i) => ['x', 'y', 'z'][i % 3]));
    // apache-arrow reads timestamps back in milliseconds
    expect([...back.getChild('ts')!].map(BigInt)).toEqual(expectedRowNumbers(sorted, 123, 457).map((i) => (BASE + BigInt(i) * 1_000_000n) / 1_000n));
    expect(selected.rows).toBe(457 - 123);
    expect(batches).toBe(2);
    expect(passedThrough).toBe(0);
  });

  it('sends a batch the range covers wholly as it is', () => {
    const { back, batches, passedThrough } = select(fixedTable(sorted), 250, 700);
    expect([...back.getChild('n')!]).toEqual(expectedRowNumbers(sorted, 250, 700));
    expect(batches).toBe(3);
    expect(passedThrough).toBe(1); // rows 300..599
  });

  it('keeps scattered matches of unsorted data (few runs sliced, many gathered by the general path)', () => {
    const blocks = (i: number): number => (Math.floor(i / 100) % 2 === 0 ? i : 5_000 + i); // runs of 100
    const few = select(fixedTable(blocks), 0, 1_000);
    expect([...few.back.getChild('n')!]).toEqual(expectedRowNumbers(blocks, 0, 1_000));
    const scattered = (i: number): number => (i * 389) % ROWS;
    const many = select(fixedTable(scattered), 200, 500);
    expect([...many.back.getChild('n')!]).toEqual(expectedRowNumbers(scattered, 200, 500));
  });

  it('stops at maxRows, skips leading rows and drops a column decoded only to filter', () => {
    const limited = select(fixedTable(sorted), 100, 900, { maxRows: 250, dropLastColumn: true });
    expect(limited.back.schema.fields.map((f) => f.name)).toEqual(['n', 'x', 'h', 'd']);
    expect([...limited.back.getChild('n')!]).toEqual(expectedRowNumbers(sorted, 100, 350));
    expect([...limited.back.getChild('d')!]).toEqual(expectedRowNumbers(sorted, 100, 350).map((i) => ['x', 'y', 'z'][i % 3]));
    const skipped = select(fixedTable(sorted), 0, 1_000, { skipRows: 450 });
    expect([...skipped.back.getChild('n')!]).toEqual(expectedRowNumbers(sorted, 450, 1_000));
  });

  it('selects nothing outside the data, and filters a day-typed time column', () => {
    const { back, selected } = select(fixedTable(sorted), 5_000, 6_000);
    expect(selected.rows).toBe(0);
    expect(back.numRows).toBe(0);
    const days = new Table({
      n: vectorFromArray(Array.from({ length: ROWS }, (_, i) => i), new Int32()),
      day: vectorFromArray(Array.from({ length: ROWS }, (_, i) => new Date(Date.UTC(2024, 0, 1 + i))), new DateDay()),
    });
    const first = Date.UTC(2024, 0, 1) / 86_400_000;
    const chosen = selectRows(chunkIpc(days), {
      bounds: { column: 'day', range: columnBounds(new DateDay(), BigInt(first + 10) * DAY_NS, BigInt(first + 20) * DAY_NS) },
      dropLastColumn: false,
      maxRows: Infinity,
    });
    expect([...tableFromIPC(joinIpcStream([chosen.schema, ...chosen.messages])).getChild('n')!]).toEqual(Array.from({ length: 10 }, (_, i) => 10 + i));
  });
});
