/**
 * Rewriting a time range of a frame (`delete_range`, put mode `update`): which segments overlap
 * the range, and which rows of an overlapping segment are kept, before and after the range's
 * first row. Only overlapping segments are ever read; the others are kept as they are.
 */
import { type Data, type RecordBatch, type Schema, Table, tableToIPC } from 'apache-arrow';
import type { ColumnBounds } from '../format/time-range.js';
import { type IpcMessage, splitIpcStream } from '../format/ipc-message.js';
import type { SegmentEntry } from '../format/manifest.js';

/**
 * Whether a segment may hold rows whose time lies in `bounds`, from its statistics. A segment
 * without statistics overlaps unless its statistics say every time is null.
 */
export function segmentOverlaps(segment: SegmentEntry, bounds: ColumnBounds): boolean {
  if (bounds.empty || segment.rows === 0) return false;
  if (!segment.timeRange) return segment.timeNulls !== segment.rows;
  const min = BigInt(segment.timeRange.min);
  const max = BigInt(segment.timeRange.max);
  return (bounds.lower === undefined || max >= bounds.lower) && (bounds.upper === undefined || min < bounds.upper);
}

/** A 64-bit bound as its high (signed) and low (unsigned) 32-bit halves, which compare as numbers. */
function halves(value: bigint): { readonly high: number; readonly low: number } {
  return { high: Number(BigInt.asIntN(64, value) >> 32n), low: Number(BigInt.asUintN(32, value)) };
}

/**
 * The rows of one chunk of a time column where it switches between rows kept and rows whose time
 * lies in the bounds (null times never do), starting with kept: for time-sorted rows at most two.
 * One tight loop with no call per row: an update runs it once on ~100,000 rows, mostly before V8
 * has optimised it (a closure per row took ~15 ms so; this ~1 ms). 64-bit times are compared by
 * their 32-bit halves, as numbers: reading a BigInt64Array makes a BigInt per row. A sliced
 * chunk's values start at its first row (Arrow slices them); its validity bits at its offset.
 */
function boundsFlips(data: Data, bounds: ColumnBounds, sorted: boolean): number[] {
  const values = data.values as BigInt64Array | Int32Array;
  if (sorted && data.nullCount === 0) return sortedBoundsFlips(values, data.length, bounds);
  const flips: number[] = [];
  const rows = data.length;
  const offset = data.offset;
  const bitmap = data.nullCount > 0 ? data.nullBitmap : undefined;
  let removing = false;
  if (values instanceof Int32Array) {
    const lower = bounds.lower === undefined ? -Infinity : Number(bounds.lower);
    const upper = bounds.upper === undefined ? Infinity : Number(bounds.upper);
    for (let i = 0; i < rows; i++) {
      const value = values[i]!;
      let inside = value >= lower && value < upper;
      if (inside && bitmap) inside = ((bitmap[(offset + i) >> 3]! >> ((offset + i) & 7)) & 1) === 1;
      if (inside !== removing) {
        flips.push(i);
        removing = inside;
      }
    }
    return flips;
  }
  const words = new Int32Array(values.buffer, values.byteOffset, values.length * 2);
  // An absent bound is a high half every value passes.
  const lower = bounds.lower === undefined ? { high: -Infinity, low: 0 } : halves(bounds.lower);
  const upper = bounds.upper === undefined ? { high: Infinity, low: 0 } : halves(bounds.upper);
  const [lowerHigh, lowerLow, upperHigh, upperLow] = [lower.high, lower.low, upper.high, upper.low];
  for (let i = 0; i < rows; i++) {
    const at = 2 * i;
    const high = words[at + 1]!;
    const low = words[at]! >>> 0;
    let inside = (high > lowerHigh || (high === lowerHigh && low >= lowerLow)) && (high < upperHigh || (high === upperHigh && low < upperLow));
    if (inside && bitmap) inside = ((bitmap[(offset + i) >> 3]! >> ((offset + i) & 7)) & 1) === 1;
    if (inside !== removing) {
      flips.push(i);
      removing = inside;
    }
  }
  return flips;
}

/**
 * {@link boundsFlips} of time-sorted values without nulls, by two binary searches: the first row at
 * or after the lower bound and the first at or after the upper one. An update's linear scan of
 * ~100,000 rows ran once per update, mostly in V8's interpreter (the major collections between
 * operations drop its compiled code): 3-20 ms; this is ~40 steps.
 */
function sortedBoundsFlips(values: BigInt64Array | Int32Array, rows: number, bounds: ColumnBounds): number[] {
  const firstAtOrAfter = (bound: bigint | undefined, absent: number): number => {
    if (bound === undefined) return absent;
    let low = 0;
    let high = rows;
    if (values instanceof Int32Array) {
      const limit = Number(bound);
      while (low < high) {
        const middle = (low + high) >>> 1;
        if (values[middle]! < limit) low = middle + 1;
        else high = middle;
      }
      return low;
    }
    while (low < high) {
      const middle = (low + high) >>> 1;
      if (values[middle]! < bound) low = middle + 1;
      else high = middle;
    }
    return low;
  };
  const start = firstAtOrAfter(bounds.lower, 0);
  const end = Math.max(start, firstAtOrAfter(bounds.upper, rows));
  if (start === end) return [];
  return end === rows ? [start] : [start, end];
}

/** The rows an overlapping segment keeps: those before its first removed row, and those after. */
export interface KeptRows {
  readonly before: RecordBatch[];
  readonly after: RecordBatch[];
  /** Rows removed (their time lies in the range). */
  readonly removed: number;
}

/**
 * Splits decoded batches into the rows kept (time outside the bounds, or null) before and after
 * the first row removed, as slices in stored order.
 * @param sorted - the rows are sorted by time (the segment's `timeSorted`): chunks without nulls are binary-searched
 */
export function keptRows(batches: readonly RecordBatch[], column: string, bounds: ColumnBounds, sorted = false): KeptRows {
  const before: RecordBatch[] = [];
  const after: RecordBatch[] = [];
  let removed = 0;
  for (const batch of batches) {
    const vector = batch.getChild(column);
    if (!vector) throw new Error(`a decoded segment has no time column '${column}'`);
    let offset = 0;
    for (const data of vector.data) {
      // Kept runs are [0, f0), [f1, f2), ...; removed ones [f0, f1), [f2, f3), ...
      const flips = boundsFlips(data, bounds, sorted);
      const edges = [0, ...flips, data.length];
      for (let k = 0; k + 1 < edges.length; k++) {
        const [from, to] = [edges[k]!, edges[k + 1]!];
        if (to === from) continue;
        if (k % 2 === 1) removed += to - from;
        else (removed === 0 ? before : after).push(batch.slice(offset + from, offset + to));
      }
      offset += data.length;
    }
  }
  return { before, after, removed };
}

/** Record batches as the IPC messages a segment writer takes: Schema, dictionaries, batches. */
export async function* batchMessages(schema: Schema, batches: readonly RecordBatch[]): AsyncGenerator<IpcMessage> {
  yield* splitIpcStream(tableToIPC(new Table(schema, [...batches]), 'stream'));
}
