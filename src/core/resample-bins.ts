/**
 * The per-bin reductions of resample's single pass (resample-sorted.ts), over typed arrays only, so
 * that the main thread and the resample worker (resample-worker.ts) run the very same code on their
 * shares of a frame's bins: a bin is always reduced whole by one thread, in row order, so a split
 * pass gives bit for bit what one thread gives. Sums and means of several columns are reduced side by
 * side in one loop, each column still in row order.
 */

/** Bins as contiguous runs of rows: bin `b` holds rows `[starts[b], starts[b + 1])` of the pieces read in order. */
export interface BinRuns {
  /** Number of bins (none is empty). */
  readonly count: number;
  /** Row index where each bin starts; `starts[count]` = the rows covered. */
  readonly starts: Int32Array;
}

/**
 * Value columns without nulls lying in shared memory, packed for a worker: the distinct buffers once,
 * and each piece as five numbers (column, buffer index, byte offset, length, float bits) — a few
 * objects to post instead of one per batch and column.
 */
export interface PackedColumns {
  /** Number of columns. */
  readonly columns: number;
  /** The distinct buffers the pieces lie in. */
  readonly buffers: readonly SharedArrayBuffer[];
  /** Five numbers per piece, in row order within each column. */
  readonly runs: Float64Array;
}

/** Packs columns whose pieces' values lie in SharedArrayBuffers (see {@link PackedColumns}). */
export function packColumns(columns: readonly (readonly Piece[])[]): PackedColumns {
  const buffers: SharedArrayBuffer[] = [];
  const index = new Map<SharedArrayBuffer, number>();
  const runs = new Float64Array(5 * columns.reduce((total, pieces) => total + pieces.length, 0));
  let at = 0;
  columns.forEach((pieces, column) => {
    for (const { values } of pieces) {
      const buffer = values.buffer as SharedArrayBuffer;
      let slot = index.get(buffer);
      if (slot === undefined) {
        slot = buffers.push(buffer) - 1;
        index.set(buffer, slot);
      }
      runs[at++] = column;
      runs[at++] = slot;
      runs[at++] = values.byteOffset;
      runs[at++] = values.length;
      runs[at++] = values instanceof Float64Array ? 64 : 32;
    }
  });
  return { columns: columns.length, buffers, runs };
}

/** The columns of {@link packColumns} as pieces (views of the same shared memory). */
export function unpackColumns(packed: PackedColumns): Piece[][] {
  const columns: Piece[][] = Array.from({ length: packed.columns }, () => []);
  const runs = packed.runs;
  for (let at = 0; at < runs.length; at += 5) {
    const buffer = packed.buffers[runs[at + 1]!]!;
    const byteOffset = runs[at + 2]!;
    const length = runs[at + 3]!;
    const values = runs[at + 4] === 64 ? new Float64Array(buffer, byteOffset, length) : new Float32Array(buffer, byteOffset, length);
    columns[runs[at]!]!.push({ values, valid: undefined, offset: 0, rows: length });
  }
  return columns;
}

/** Bins of a sorted time column: the first row of each bin and its start (µs). */
export interface TimeBins extends BinRuns {
  /** Each bin's start in µs since the epoch. */
  readonly edges: Float64Array;
}

/** Value `i` of an int64 column given as int32 pairs (low word first), as a double (exact below 2^53). */
export function int64At(words: Int32Array, i: number): number {
  return words[2 * i + 1]! * 4_294_967_296 + (words[2 * i]! >>> 0);
}

/**
 * The last value of `words` (int64 pairs, `rows` of them) if they are in non-decreasing order and
 * none is below `previous`, else NaN: one compare per row, the only per-row work on the time
 * column when the manifest does not already say the rows are sorted.
 */
function sortedUpTo(words: Int32Array, rows: number, previous: number): number {
  let last = previous;
  const end = 2 * rows;
  for (let j = 0; j < end; j += 2) {
    const v = words[j + 1]! * 4_294_967_296 + (words[j]! >>> 0);
    if (v < last) return Number.NaN;
    last = v;
  }
  return last;
}

/**
 * The first row in `[from, rows)` whose time (in µs: the raw value times `scale`) is at least
 * `target`, on sorted rows: a galloping search from `from` (bins are short runs, so the bound is
 * found in a few probes), then a binary search inside the bound.
 */
export function firstAtOrAfter(words: Int32Array, from: number, rows: number, target: number, scale: number): number {
  let low = from;
  let high = from;
  let step = 1;
  while (high < rows && int64At(words, high) * scale < target) {
    low = high + 1;
    high = from + step;
    step *= 2;
  }
  if (high > rows) high = rows;
  while (low < high) {
    const middle = (low + high) >>> 1;
    if (int64At(words, middle) * scale < target) low = middle + 1;
    else high = middle;
  }
  return low;
}

/**
 * Cuts a sorted, non-null time column (its record batches' values as int64 word pairs) into bins of `step` µs with edges
 * at `phase` (mod step). Bins are contiguous runs of rows, so each bin's end is found by a search
 * for the next edge rather than by arithmetic on every row. Unless `knownSorted` (the manifest says
 * every segment is sorted and they follow each other in time), each batch is first checked in one
 * tight loop; undefined when the rows are not sorted, or times pass 2^53 µs.
 */
export function binsOf(batches: readonly Int32Array[], scale: number, phase: number, step: number, knownSorted: boolean): TimeBins | undefined {
  let capacity = 1024;
  let starts = new Int32Array(capacity + 1);
  let edges = new Float64Array(capacity);
  let count = 0;
  let next = -Infinity;
  let previous = -Infinity;
  let first = Number.NaN;
  let row = 0;
  let width = 0;
  for (const words of batches) {
    const rows = words.length >>> 1;
    if (rows === 0) continue;
    if (first !== first) first = int64At(words, 0);
    if (knownSorted) {
      previous = int64At(words, rows - 1);
    } else {
      previous = sortedUpTo(words, rows, previous);
      if (previous !== previous) return undefined;
    }
    // Rows continuing the previous batch's last bin.
    let i = int64At(words, 0) * scale < next ? firstAtOrAfter(words, 1, rows, next, scale) : 0;
    while (i < rows) {
      const v = int64At(words, i) * scale;
      // Usually the bin right after the previous one (exact integers: the same edge the modulo
      // gives); a double's `%` per bin cost more than the searches.
      let edge = next;
      if (!(v >= next && v < next + step)) {
        const offset = (v - phase) % step;
        edge = v - (offset < 0 ? offset + step : offset);
      }
      if (count === capacity) {
        capacity *= 2;
        const grownStarts = new Int32Array(capacity + 1);
        grownStarts.set(starts);
        starts = grownStarts;
        const grownEdges = new Float64Array(capacity);
        grownEdges.set(edges);
        edges = grownEdges;
      }
      starts[count] = row + i;
      edges[count++] = edge;
      next = edge + step;
      // Regular data: the bin is as long as the one before; two probes confirm it, else search.
      const guess = i + width;
      const end =
        guess < rows && guess > i + 1 && int64At(words, guess - 1) * scale < next && int64At(words, guess) * scale >= next
          ? guess
          : firstAtOrAfter(words, i + 1, rows, next, scale);
      width = end - i;
      i = end;
    }
    row += rows;
  }
  if (count > 0 && (!Number.isSafeInteger(previous * scale) || !Number.isSafeInteger(first * scale) || !Number.isSafeInteger(edges[0]!))) return undefined;
  starts[count] = row;
  return { count, starts, edges };
}

/** A time column's batches (int64 word pairs) lying in shared memory, packed for a worker: the distinct buffers, and three numbers per batch (buffer index, byte offset, words). */
export interface PackedWords {
  /** The distinct buffers the batches lie in. */
  readonly buffers: readonly SharedArrayBuffer[];
  /** Three numbers per batch, in row order. */
  readonly runs: Float64Array;
}

/** Packs batches of int64 word pairs lying in SharedArrayBuffers (see {@link PackedWords}). */
export function packWords(batches: readonly Int32Array[]): PackedWords {
  const buffers: SharedArrayBuffer[] = [];
  const index = new Map<SharedArrayBuffer, number>();
  const runs = new Float64Array(3 * batches.length);
  batches.forEach((words, at) => {
    const buffer = words.buffer as SharedArrayBuffer;
    let slot = index.get(buffer);
    if (slot === undefined) {
      slot = buffers.push(buffer) - 1;
      index.set(buffer, slot);
    }
    runs[3 * at] = slot;
    runs[3 * at + 1] = words.byteOffset;
    runs[3 * at + 2] = words.length;
  });
  return { buffers, runs };
}

/** The batches of {@link packWords} (views of the same shared memory). */
export function unpackWords(packed: PackedWords): Int32Array[] {
  const batches: Int32Array[] = [];
  for (let at = 0; at < packed.runs.length; at += 3) batches.push(new Int32Array(packed.buffers[packed.runs[at]!]!, packed.runs[at + 1]!, packed.runs[at + 2]!));
  return batches;
}

/** The aggregations the pass computes (ohlc is four results per column). */
export type PassAggregation = Reduction | 'ohlc';

/**
 * The per-bin results of every value column (see {@link aggregateColumn}). Sums, means and ohlc of
 * columns without nulls, batched alike, are reduced four columns at a time (see {@link sumsOfFour},
 * {@link ohlcOfFour}); the results are the same as one column at a time, bit for bit.
 */
export function aggregateColumns(columns: readonly (readonly Piece[])[], bins: BinRuns, aggregation: PassAggregation): Aggregated[][] {
  const fused = aggregation === 'sum' || aggregation === 'mean' || aggregation === 'ohlc';
  if (fused && columns.length > 1 && fusable(columns)) {
    const results: Aggregated[][] = [];
    for (let at = 0; at < columns.length; at += 4) {
      // A group of fewer than four repeats its first column (read again from cache; its results dropped).
      const group = [0, 1, 2, 3].map((k) => columns[at + k] ?? columns[at]!);
      const four = aggregation === 'ohlc' ? ohlcOfFour(group, bins) : sumsOfFour(group, bins, aggregation === 'mean').map((sum) => [sum]);
      for (let k = 0; k < 4 && at + k < columns.length; k++) results.push(four[k]!);
    }
    return results;
  }
  return columns.map((pieces) => aggregateColumn(pieces, bins, aggregation));
}

/** Whether the columns have no nulls and are cut into pieces of the same rows (as batches of one read are). */
function fusable(columns: readonly (readonly Piece[])[]): boolean {
  const first = columns[0]!;
  return columns.every((pieces) => pieces.length === first.length && pieces.every((piece, i) => piece.valid === undefined && piece.rows === first[i]!.rows));
}

/**
 * Per-bin sums (or means) of four columns in one loop over the rows. Each column keeps its own
 * running sum, adding its values in row order exactly as {@link sumRange} does, so each result is
 * bit for bit the column's sum alone; but one running sum waits on each add before the next (the
 * pass was bound by that chain, not by memory), and four independent ones overlap: about half the
 * time of four separate loops here (docs/design/performance-log.md).
 */
function sumsOfFour(columns: readonly (readonly Piece[])[], bins: BinRuns, mean: boolean): Aggregated[] {
  const count = bins.count;
  const starts = bins.starts;
  const out = [new Float64Array(count), new Float64Array(count), new Float64Array(count), new Float64Array(count)] as const;
  const [o0, o1, o2, o3] = out;
  const [c0, c1, c2, c3] = columns as readonly [readonly Piece[], readonly Piece[], readonly Piece[], readonly Piece[]];
  let bin = 0;
  let row = 0;
  for (let p = 0; p < c0.length; p++) {
    const v0 = c0[p]!.values;
    const v1 = c1[p]!.values;
    const v2 = c2[p]!.values;
    const v3 = c3[p]!.values;
    const rows = c0[p]!.rows;
    let i = 0;
    while (i < rows) {
      while (starts[bin + 1]! <= row + i) bin++;
      const end = Math.min(rows, starts[bin + 1]! - row);
      let a0 = o0[bin]!;
      let a1 = o1[bin]!;
      let a2 = o2[bin]!;
      let a3 = o3[bin]!;
      for (let k = i; k < end; k++) {
        a0 += v0[k]!;
        a1 += v1[k]!;
        a2 += v2[k]!;
        a3 += v3[k]!;
      }
      o0[bin] = a0;
      o1[bin] = a1;
      o2[bin] = a2;
      o3[bin] = a3;
      i = end;
    }
    row += rows;
  }
  const present = new Uint8Array(count).fill(1);
  if (mean) {
    for (let b = 0; b < count; b++) {
      const n = starts[b + 1]! - starts[b]!;
      o0[b] = o0[b]! / n;
      o1[b] = o1[b]! / n;
      o2[b] = o2[b]! / n;
      o3[b] = o3[b]! / n;
    }
  }
  return out.map((values) => ({ values, present }));
}

/**
 * Each bin's open, high, low and close of four columns without nulls in one loop over the rows, with
 * the comparisons of {@link ohlcOf} in the same order per column (so the same results bit for bit):
 * a bin's first row opens it, later rows move its high and low, its last row closes it. Four
 * columns' independent compares overlap; about two thirds of the time of four separate loops here.
 */
function ohlcOfFour(columns: readonly (readonly Piece[])[], bins: BinRuns): Aggregated[][] {
  const count = bins.count;
  const starts = bins.starts;
  const part = (): [Float64Array, Float64Array, Float64Array, Float64Array] => [new Float64Array(count), new Float64Array(count), new Float64Array(count), new Float64Array(count)];
  const [o0, o1, o2, o3] = part();
  const [h0, h1, h2, h3] = part();
  const [l0, l1, l2, l3] = part();
  const [x0, x1, x2, x3] = part();
  const [c0, c1, c2, c3] = columns as readonly [readonly Piece[], readonly Piece[], readonly Piece[], readonly Piece[]];
  let bin = 0;
  let row = 0;
  let opened = -1;
  for (let p = 0; p < c0.length; p++) {
    const v0 = c0[p]!.values;
    const v1 = c1[p]!.values;
    const v2 = c2[p]!.values;
    const v3 = c3[p]!.values;
    const rows = c0[p]!.rows;
    let i = 0;
    while (i < rows) {
      while (starts[bin + 1]! <= row + i) bin++;
      const end = Math.min(rows, starts[bin + 1]! - row);
      let k = i;
      let high0: number, high1: number, high2: number, high3: number;
      let low0: number, low1: number, low2: number, low3: number;
      if (opened !== bin) {
        // The bin's first row (bins are never empty).
        opened = bin;
        o0[bin] = high0 = low0 = v0[k]!;
        o1[bin] = high1 = low1 = v1[k]!;
        o2[bin] = high2 = low2 = v2[k]!;
        o3[bin] = high3 = low3 = v3[k]!;
        k++;
      } else {
        // The bin continues from the previous piece.
        high0 = h0[bin]!;
        high1 = h1[bin]!;
        high2 = h2[bin]!;
        high3 = h3[bin]!;
        low0 = l0[bin]!;
        low1 = l1[bin]!;
        low2 = l2[bin]!;
        low3 = l3[bin]!;
      }
      for (; k < end; k++) {
        const a = v0[k]!;
        const b = v1[k]!;
        const c = v2[k]!;
        const d = v3[k]!;
        if (a > high0 || a !== a) high0 = a;
        if (a < low0 || low0 !== low0) low0 = a;
        if (b > high1 || b !== b) high1 = b;
        if (b < low1 || low1 !== low1) low1 = b;
        if (c > high2 || c !== c) high2 = c;
        if (c < low2 || low2 !== low2) low2 = c;
        if (d > high3 || d !== d) high3 = d;
        if (d < low3 || low3 !== low3) low3 = d;
      }
      h0[bin] = high0;
      h1[bin] = high1;
      h2[bin] = high2;
      h3[bin] = high3;
      l0[bin] = low0;
      l1[bin] = low1;
      l2[bin] = low2;
      l3[bin] = low3;
      x0[bin] = v0[end - 1]!;
      x1[bin] = v1[end - 1]!;
      x2[bin] = v2[end - 1]!;
      x3[bin] = v3[end - 1]!;
      i = end;
    }
    row += rows;
  }
  const present = new Uint8Array(count).fill(1);
  const of = (values: Float64Array): Aggregated => ({ values, present });
  return [
    [of(o0), of(h0), of(l0), of(x0)],
    [of(o1), of(h1), of(l1), of(x1)],
    [of(o2), of(h2), of(l2), of(x2)],
    [of(o3), of(h3), of(l3), of(x3)],
  ];
}

/** The per-bin results of one column: one for most aggregations, open, high, low and close for ohlc. */
export function aggregateColumn(pieces: readonly Piece[], bins: BinRuns, aggregation: PassAggregation): Aggregated[] {
  if (aggregation !== 'ohlc') return [aggregate(pieces, bins, aggregation)];
  const { open, high, low, close } = ohlcOf(pieces, bins);
  return [open, high, low, close];
}

/** One batch of a value column: its values from the batch's first row, and its validity bits when it has nulls. */
export interface Piece {
  /** The values, from the batch's first row (a view; never written). */
  readonly values: Float64Array | Float32Array;
  /** The validity bits, undefined when the batch has no nulls. */
  readonly valid: Uint8Array | undefined;
  /** The batch's offset into `valid` (bits), which Arrow keeps at the data's offset. */
  readonly offset: number;
  /** Rows of the batch. */
  readonly rows: number;
}

/** One aggregate per bin: values and presence (0 = null). */
export interface Aggregated {
  /** One value per bin. */
  readonly values: Float64Array;
  /** One flag per bin: 0 where the aggregate is null. */
  readonly present: Uint8Array;
}

/** The kinds of per-bin reduction (ohlc is first, max, min and last). */
export type Reduction = 'sum' | 'mean' | 'min' | 'max' | 'first' | 'last' | 'count';

function isValid(valid: Uint8Array, at: number): boolean {
  return ((valid[at >> 3]! >> (at & 7)) & 1) === 1;
}

/**
 * Sum of `values[from, to)`, in row order (as DuckDB adds a bin's rows; four interleaved partial
 * sums measured slower in V8 here, see docs/design/performance-log.md).
 */
function sumRange(values: Float64Array | Float32Array, from: number, to: number, start: number): number {
  let acc = start;
  for (let k = from; k < to; k++) acc += values[k]!;
  return acc;
}

/**
 * Reduces the rows `[from, to)` of one piece into bin `bin` of `out`/`counts` (`counts` = non-null
 * rows seen so far). NaN orders above every number (as in DuckDB): it wins a max, and a min only
 * when nothing else is there.
 */
function reduceRange(kind: Reduction, piece: Piece, from: number, to: number, bin: number, out: Float64Array, counts: Float64Array): void {
  const { values, valid, offset } = piece;
  let acc = out[bin]!;
  let n = counts[bin]!;
  if (valid === undefined) {
    switch (kind) {
      case 'sum':
      case 'mean':
        acc = sumRange(values, from, to, acc);
        break;
      case 'min': {
        const m = minOf(values, from, to);
        if (n === 0 || m < acc || acc !== acc) acc = m;
        break;
      }
      case 'max': {
        const m = maxOf(values, from, to);
        if (n === 0 || m > acc || m !== m) acc = m;
        break;
      }
      case 'first':
        if (n === 0) acc = values[from]!;
        break;
      case 'last':
        acc = values[to - 1]!;
        break;
      case 'count':
        break;
    }
    out[bin] = acc;
    counts[bin] = n + (to - from);
    return;
  }
  switch (kind) {
    case 'first':
      if (n > 0) return;
      for (let k = from; k < to; k++) {
        if (isValid(valid, offset + k)) {
          out[bin] = values[k]!;
          counts[bin] = 1;
          return;
        }
      }
      return;
    case 'last':
      for (let k = to - 1; k >= from; k--) {
        if (isValid(valid, offset + k)) {
          out[bin] = values[k]!;
          counts[bin] = n + 1;
          return;
        }
      }
      return;
    default:
      for (let k = from; k < to; k++) {
        if (!isValid(valid, offset + k)) continue;
        const v = values[k]!;
        if (kind === 'sum' || kind === 'mean') acc += v;
        else if (kind === 'min') acc = n === 0 || v < acc || acc !== acc ? v : acc;
        else if (kind === 'max') acc = n === 0 || v > acc || v !== v ? v : acc;
        n++;
      }
      out[bin] = acc;
      counts[bin] = n;
  }
}

/** The minimum of `values[from, to)` (non-empty), NaN only when every value is NaN. */
function minOf(values: Float64Array | Float32Array, from: number, to: number): number {
  let acc = values[from]!;
  for (let k = from + 1; k < to; k++) {
    const v = values[k]!;
    if (v < acc || acc !== acc) acc = v;
  }
  return acc;
}

/** The maximum of `values[from, to)` (non-empty), NaN when any value is NaN. */
function maxOf(values: Float64Array | Float32Array, from: number, to: number): number {
  let acc = values[from]!;
  for (let k = from + 1; k < to; k++) {
    const v = values[k]!;
    if (v > acc || v !== v) acc = v;
  }
  return acc;
}

/** Aggregates one column bin by bin; null values are skipped, as SQL aggregates do. */
export function aggregate(pieces: readonly Piece[], bins: BinRuns, kind: Reduction): Aggregated {
  const out = new Float64Array(bins.count);
  const counts = new Float64Array(bins.count);
  const starts = bins.starts;
  let bin = 0;
  let row = 0;
  for (const piece of pieces) {
    const rows = piece.rows;
    let i = 0;
    while (i < rows) {
      while (starts[bin + 1]! <= row + i) bin++;
      const end = Math.min(rows, starts[bin + 1]! - row);
      reduceRange(kind, piece, i, end, bin, out, counts);
      i = end;
    }
    row += rows;
  }
  const present = new Uint8Array(bins.count);
  for (let b = 0; b < bins.count; b++) {
    const n = counts[b]!;
    if (kind === 'count') {
      out[b] = n;
      present[b] = 1;
    } else if (kind === 'sum') {
      // pandas (and the SQL form's coalesce) sum a bin of nulls to 0.
      present[b] = 1;
    } else if (kind === 'mean') {
      out[b] = n > 0 ? out[b]! / n : 0;
      present[b] = n > 0 ? 1 : 0;
    } else {
      present[b] = n > 0 ? 1 : 0;
    }
  }
  return { values: out, present };
}

/**
 * Each bin's open, high, low and close (first, maximum, minimum and last non-null value) in one loop
 * over its rows, while they are in cache: separate passes for the first and last values cost a
 * cache miss per bin each. NaN orders above every number, as in {@link reduceRange}.
 */
export function ohlcOf(pieces: readonly Piece[], bins: BinRuns): { open: Aggregated; high: Aggregated; low: Aggregated; close: Aggregated } {
  const opens = new Float64Array(bins.count);
  const highs = new Float64Array(bins.count);
  const lows = new Float64Array(bins.count);
  const closes = new Float64Array(bins.count);
  const counts = new Float64Array(bins.count);
  const starts = bins.starts;
  let bin = 0;
  let row = 0;
  for (const { values, valid, offset, rows } of pieces) {
    let i = 0;
    while (i < rows) {
      while (starts[bin + 1]! <= row + i) bin++;
      const end = Math.min(rows, starts[bin + 1]! - row);
      let high = highs[bin]!;
      let low = lows[bin]!;
      let close = closes[bin]!;
      let n = counts[bin]!;
      for (let k = i; k < end; k++) {
        if (valid !== undefined && !isValid(valid, offset + k)) continue;
        const v = values[k]!;
        if (n === 0) {
          opens[bin] = v;
          high = v;
          low = v;
        } else {
          if (v > high || v !== v) high = v;
          if (v < low || low !== low) low = v;
        }
        close = v;
        n++;
      }
      highs[bin] = high;
      lows[bin] = low;
      closes[bin] = close;
      counts[bin] = n;
      i = end;
    }
    row += rows;
  }
  const present = new Uint8Array(bins.count);
  for (let b = 0; b < bins.count; b++) present[b] = counts[b]! > 0 ? 1 : 0;
  return { open: { values: opens, present }, high: { values: highs, present }, low: { values: lows, present }, close: { values: closes, present } };
}
