/**
 * Resample's split pass (resample-split.ts) gives bit for bit what one thread gives: the bins cut at
 * a bin edge near the middle row, the second half reduced on the resample worker over the same
 * shared buffers, for every aggregation of the pass (ohlc, first and last across the cut), with bins
 * straddling batch edges and the cut falling inside a batch; columns with nulls or outside shared
 * memory stay on one thread. The fused reduction of several columns (resample-bins.ts) equals one
 * column at a time. Through the engine, a frame of more than 2^20 rows in several segments (bins
 * straddling segment edges, a gap of empty bins) takes the split and matches a reference reduction.
 */
import { Table, TimestampMicrosecond, makeData, makeVector, tableFromIPC, tableToIPC } from 'apache-arrow';
import { afterAll, describe, expect, it } from 'vitest';
import { MemoryConnector } from '../../src/connectors/memory/memory-connector.js';
import { HangarEngine } from '../../src/core/engine.js';
import { parseResampleRequest, resample } from '../../src/core/resample.js';
import { type Aggregated, type BinRuns, type PassAggregation, type Piece, aggregateColumn, aggregateColumns, binsOf } from '../../src/core/resample-bins.js';
import { SPLIT_MIN_ROWS, splitBinnedPass, splitPass, splitPassesAnswered } from '../../src/core/resample-split.js';
import { type IpcMessage, joinIpcStream, splitIpcStream } from '../../src/format/ipc-message.js';
import { ParquetCodec } from '../../src/format/parquet/parquet-codec.js';
import { ObjectLayout } from '../../src/storage/object-layout.js';
import { selectManifest } from '../../src/core/version-selection.js';

const AGGREGATIONS: PassAggregation[] = ['mean', 'sum', 'min', 'max', 'first', 'last', 'count', 'ohlc'];

/** A column of `rows` values in shared (or plain) memory, cut into pieces of `batch` rows. */
function column(rows: number, batch: number, value: (i: number) => number, options: { shared?: boolean; float32?: boolean } = {}): Piece[] {
  const bytes = rows * (options.float32 ? 4 : 8);
  const buffer = options.shared === false ? new ArrayBuffer(bytes) : new SharedArrayBuffer(bytes);
  const all = options.float32 ? new Float32Array(buffer) : new Float64Array(buffer);
  for (let i = 0; i < rows; i++) all[i] = value(i);
  const pieces: Piece[] = [];
  for (let start = 0; start < rows; start += batch) {
    const values = all.subarray(start, Math.min(rows, start + batch));
    pieces.push({ values, valid: undefined, offset: 0, rows: values.length });
  }
  return pieces;
}

/** The first `rows` rows of pieces. */
function piecesUpTo(pieces: readonly Piece[], rows: number): Piece[] {
  const out: Piece[] = [];
  for (let row = 0, p = 0; row < rows; p++) {
    const piece = pieces[p]!;
    const take = Math.min(piece.rows, rows - row);
    out.push({ ...piece, values: piece.values.subarray(0, take), rows: take });
    row += take;
  }
  return out;
}

/** Bins of irregular lengths (1 to 97 rows) covering `rows`. */
function irregularBins(rows: number): BinRuns {
  const starts: number[] = [];
  for (let at = 0, i = 0; at < rows; i++) {
    starts.push(at);
    at += 1 + ((i * 37) % 97);
  }
  starts.push(rows);
  return { count: starts.length - 1, starts: Int32Array.from(starts) };
}

/** Each result's values and presence, NaN and -0 kept apart (Object.is). */
function expectSame(actual: readonly (readonly Aggregated[])[], expected: readonly (readonly Aggregated[])[]): void {
  expect(actual.length).toBe(expected.length);
  actual.forEach((parts, c) => {
    expect(parts.length).toBe(expected[c]!.length);
    parts.forEach((part, k) => {
      const want = expected[c]![k]!;
      expect(Array.from(part.present)).toEqual(Array.from(want.present));
      const differing = Array.from(part.values).findIndex((v, i) => !Object.is(v, want.values[i]));
      expect(differing, `column ${c} result ${k} first differs at bin ${differing}`).toBe(-1);
      expect(part.values.length).toBe(want.values.length);
    });
  });
}

describe('split pass', () => {
  const ROWS = 50_000;
  // Batches of 4,099 rows: bins straddle batch edges, and the cut falls inside a batch.
  const BATCH = 4_099;
  const columns = [
    column(ROWS, BATCH, (i) => Math.sin(i) * 1e6 + (i % 7 === 0 ? 1e-9 : 0)),
    // NaN and infinities: NaN wins a max, loses a min unless alone.
    column(ROWS, BATCH, (i) => (i % 13 === 0 ? Number.NaN : i % 29 === 0 ? -Infinity : i % 31 === 0 ? Infinity : Math.cos(i) * 3)),
    column(ROWS, BATCH, (i) => Math.sin(i * 0.5) * 100, { float32: true }),
    column(ROWS, BATCH, (i) => (i % 2 === 0 ? -0 : 0.1 * i)),
    column(ROWS, BATCH, (i) => i * 1e-3),
  ];
  const bins = irregularBins(ROWS);

  for (const aggregation of AGGREGATIONS) {
    it(`gives one thread's results bit for bit (${aggregation})`, async () => {
      const before = splitPassesAnswered();
      const split = await splitPass(columns, bins, aggregation, 1);
      expect(split).toBeDefined();
      expect(splitPassesAnswered()).toBe(before + 1);
      expectSame(split!, columns.map((pieces) => aggregateColumn(pieces, bins, aggregation)));
    });
  }

  it('keeps ohlc, first and last right when a bin ends exactly at the cut and when it straddles a batch edge there', async () => {
    // Two bins of equal rows: the cut is the second bin's first row, in the middle of a batch.
    const two: BinRuns = { count: 2, starts: Int32Array.from([0, 6_000, 12_000]) };
    const pieces = [column(12_000, 5_000, (i) => (i * 7919) % 1_000)];
    for (const aggregation of ['ohlc', 'first', 'last'] as const) {
      const split = await splitPass(pieces, two, aggregation, 1);
      expectSame(split!, [aggregateColumn(pieces[0]!, two, aggregation)]);
      if (aggregation === 'ohlc') {
        expect(Array.from(split![0]!.map((part) => part.values[1]!))).toEqual([(6_000 * 7919) % 1_000, 999, 0, (11_999 * 7919) % 1_000]);
      }
    }
  });

  it('leaves columns with nulls, columns outside shared memory, small frames and a single bin to one thread', async () => {
    const valid = new Uint8Array(Math.ceil(ROWS / 8)).fill(0xff);
    const withNulls = columns[0]!.map((piece) => ({ ...piece, valid }));
    expect(await splitPass([withNulls], bins, 'mean', 1)).toBeUndefined();
    expect(await splitPass([column(ROWS, BATCH, (i) => i, { shared: false })], bins, 'sum', 1)).toBeUndefined();
    expect(await splitPass(columns, bins, 'mean')).toBeUndefined();
    expect(ROWS).toBeLessThan(SPLIT_MIN_ROWS);
    expect(await splitPass(columns, { count: 1, starts: Int32Array.from([0, ROWS]) }, 'mean', 1)).toBeUndefined();
  });

  it('reduces sums, means and ohlc of several columns side by side exactly as one column at a time (groups of four and a remainder)', () => {
    for (const aggregation of ['sum', 'mean', 'ohlc'] as const) {
      expectSame(aggregateColumns(columns, bins, aggregation), columns.map((pieces) => aggregateColumn(pieces, bins, aggregation)));
    }
    // Columns cut into different batches are reduced one at a time.
    const mixed = [columns[0]!, column(ROWS, 1_000, (i) => i)];
    expectSame(aggregateColumns(mixed, bins, 'sum'), mixed.map((pieces) => aggregateColumn(pieces, bins, 'sum')));
    // A bin straddling pieces continues its open, high and low; one-row bins open and close on one row.
    const oneRow: BinRuns = { count: 5, starts: Int32Array.from([0, 1, 4_098, 4_099, 4_100, 9_000]) };
    const trimmed = columns.map((pieces) => piecesUpTo(pieces, 9_000));
    expectSame(aggregateColumns(trimmed, oneRow, 'ohlc'), trimmed.map((pieces) => aggregateColumn(pieces, oneRow, 'ohlc')));
  });
});

/** A time column (µs, or the unit given by `scale`) in shared memory as batches of int64 word pairs. */
function timeColumn(values: readonly number[], batch: number): Int32Array[] {
  const all = new BigInt64Array(new SharedArrayBuffer(values.length * 8));
  values.forEach((value, i) => (all[i] = BigInt(value)));
  const words = new Int32Array(all.buffer);
  const batches: Int32Array[] = [];
  for (let start = 0; start < values.length; start += batch) batches.push(words.subarray(2 * start, 2 * Math.min(values.length, start + batch)));
  return batches;
}

describe('split pass finding the bins on both threads', () => {
  const ROWS = 40_000;
  const BATCH = 4_099;
  const STEP = 60_000_000;
  // 1-3 s apart, two gaps of empty bins (one near the middle), from a minute that is not midnight.
  const times: number[] = [];
  for (let i = 0, t = 1_704_067_237_000_000; i < ROWS; i++) {
    t += (1 + (i % 3)) * 1_000_000 + (i === 19_990 || i === 31_000 ? 3 * 3_600_000_000 : 0);
    times.push(t);
  }
  const time = timeColumn(times, BATCH);
  const values = [
    column(ROWS, BATCH, (i) => Math.sin(i) * 1e6),
    column(ROWS, BATCH, (i) => (i % 13 === 0 ? Number.NaN : Math.cos(i))),
    column(ROWS, BATCH, (i) => i / 7, { float32: true }),
  ];
  const clock = { scale: 1, phase: 0, step: STEP };

  for (const aggregation of AGGREGATIONS) {
    it(`finds one thread's bins and gives its results bit for bit (${aggregation})`, async () => {
      const before = splitPassesAnswered();
      const outcome = await splitBinnedPass(time, values, clock, aggregation, 1);
      expect(outcome).toBeTruthy();
      expect(splitPassesAnswered()).toBe(before + 1);
      const bins = binsOf(time, 1, 0, STEP, true)!;
      expect(outcome!.bins.count).toBe(bins.count);
      expect(Array.from(outcome!.bins.edges)).toEqual(Array.from(bins.edges.subarray(0, bins.count)));
      expectSame(outcome!.results, values.map((pieces) => aggregateColumn(pieces, bins, aggregation)));
    });
  }

  it('leaves a frame whose middle bin runs to the end to the other paths, and reports times past 2^53 µs', async () => {
    const flat = timeColumn(Array.from({ length: 10_000 }, (_, i) => (i < 4_000 ? i * 1_000_000 : 5_000_000_000)), 1_000);
    expect(await splitBinnedPass(flat, [column(10_000, 1_000, (i) => i)], clock, 'mean', 1)).toBeUndefined();
    // Milliseconds whose µs pass 2^53, in the worker's half only.
    const late = timeColumn(Array.from({ length: 10_000 }, (_, i) => (i < 6_000 ? 1_000 * i : 9_100_000_000_000 + 1_000 * i)), 1_000);
    expect(await splitBinnedPass(late, [column(10_000, 1_000, (i) => i)], { scale: 1_000, phase: 0, step: STEP }, 'mean', 1)).toBeNull();
    expect(binsOf(late, 1_000, 0, STEP, true)).toBeUndefined();
  });
});

describe('split pass through the engine', () => {
  const codec = new ParquetCodec(2);
  // Segments of ~4 MiB: bins straddle segment edges.
  const store = new ObjectLayout(new MemoryConnector());
  const engine = new HangarEngine(store, codec, { segmentBytes: 4 * 1024 * 1024 });
  afterAll(async () => {
    await engine.close();
    await codec.close();
  });

  const ROWS = SPLIT_MIN_ROWS + 51_423;
  const T0 = 1_704_067_200_000_000n;
  // 1-3 s apart, with a two-hour gap (empty bins, absent from the result) in the second half.
  const micros: bigint[] = [];
  for (let i = 0, t = T0; i < ROWS; i++) {
    t += BigInt(1 + (i % 3)) * 1_000_000n + (i === 700_000 ? 7_200_000_000n : 0n);
    micros.push(t);
  }
  const a = Float64Array.from({ length: ROWS }, (_, i) => Math.sin(i) * 1e3 + 1e-7 * i);
  const b = Float64Array.from({ length: ROWS }, (_, i) => Math.cos(i * 0.3) * 7);
  const c = Float32Array.from({ length: ROWS }, (_, i) => (i % 1_000) / 8);

  /** One thread's reduction in row order, bin by bin (the minute of each time). */
  function reference(aggregation: 'mean' | 'ohlc'): { labels: bigint[]; values: number[][] } {
    const labels: bigint[] = [];
    const values: number[][] = [];
    let i = 0;
    while (i < ROWS) {
      const label = micros[i]! - (micros[i]! % 60_000_000n);
      let end = i;
      while (end < ROWS && micros[end]! < label + 60_000_000n) end++;
      const row: number[] = [];
      for (const col of [a, b, c]) {
        if (aggregation === 'mean') {
          let sum = 0;
          for (let k = i; k < end; k++) sum += col[k]!;
          row.push(sum / (end - i));
        } else {
          let high = col[i]!;
          let low = col[i]!;
          for (let k = i; k < end; k++) {
            if (col[k]! > high) high = col[k]!;
            if (col[k]! < low) low = col[k]!;
          }
          row.push(col[i]!, high, low, col[end - 1]!);
        }
      }
      labels.push(label);
      values.push(row);
      i = end;
    }
    return { labels, values };
  }

  it('stores a frame of more than 2^20 rows in several segments', async () => {
    const table = new Table({
      ts: makeVector(makeData({ type: new TimestampMicrosecond(), length: ROWS, data: BigInt64Array.from(micros) })),
      a: makeVector(a),
      b: makeVector(b),
      c: makeVector(c),
    });
    const batches = Array.from({ length: Math.ceil(ROWS / 65_536) }, (_, i) => table.slice(i * 65_536, (i + 1) * 65_536).batches).flat();
    await engine.put({ bucket: 'default', name: 'big' }, 'replace', (async function* () { yield* splitIpcStream(tableToIPC(new Table(batches), 'stream')); })());
    const segments = (await selectManifest(store, { bucket: 'default', name: 'big' })).segments;
    expect(segments.length).toBeGreaterThan(2);
    expect(segments.every((segment) => segment.timeSorted === true)).toBe(true);
  });

  for (const aggregation of ['mean', 'ohlc'] as const) {
    it(`takes the split and gives one thread's ${aggregation} bit for bit, empty bins absent`, async () => {
      const before = splitPassesAnswered();
      const request = parseResampleRequest({ source: 'big', target: `big_${aggregation}`, mode: 'replace', rule: '1min', time_col: 'ts', aggregation_func: aggregation });
      const result = await resample(engine, request);
      expect(splitPassesAnswered()).toBe(before + 1);
      const expected = reference(aggregation);
      expect(result.target_rows).toBe(expected.labels.length);
      const stream = await engine.read({ bucket: 'default', name: `big_${aggregation}` });
      const messages: IpcMessage[] = [];
      for await (const message of stream.messages) messages.push(message);
      const table = tableFromIPC(joinIpcStream(messages));
      const labels = table.getChild('ts')!.toArray() as BigInt64Array;
      expect(labels[0]).toBe(expected.labels[0]);
      expect(Array.from(labels, String)).toEqual(expected.labels.map(String));
      const outputs = table.schema.fields.slice(1).map((field) => table.getChild(field.name)!.toArray() as Float64Array | Float32Array);
      expect(outputs.length).toBe(expected.values[0]!.length);
      // A float32 column's ohlc stays float32 (its values are float32 already); its mean is a double.
      const mismatch = expected.values.findIndex((row, r) => row.some((v, k) => !Object.is(outputs[k]![r], outputs[k] instanceof Float32Array ? Math.fround(v) : v)));
      expect(mismatch).toBe(-1);
    });
  }
});
