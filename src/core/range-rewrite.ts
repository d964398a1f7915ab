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
 * Whether the value at row `i` of a time column lies in the bounds (null times never do), for one
 * chunk of the column. 64-bit times are compared by their 32-bit halves, as numbers: reading a
 * BigInt64Array makes a BigInt per row, and an update compares ~100,000 rows.
 */
function boundsTest(data: Data, bounds: ColumnBounds): (i: number) => boolean {
  const valid = (i: number): boolean => data.nullCount === 0 || data.getValid(i);
  const values = data.values as BigInt64Array | Int32Array;
  if (values instanceof Int32Array) {
    const lower = bounds.lower === undefined ? -Infinity : Number(bounds.lower);
    const upper = bounds.upper === undefined ? Infinity : Number(bounds.upper);
    return (i) => {
      const value = values[data.offset + i]!;
      return value >= lower && value < upper && valid(i);
    };
  }
  const words = new Int32Array(values.buffer, values.byteOffset, values.length * 2);
  const lower = bounds.lower === undefined ? undefined : halves(bounds.lower);
  const upper = bounds.upper === undefined ? undefined : halves(bounds.upper);
  return (i) => {
    const at = 2 * (data.offset + i);
    const high = words[at + 1]!;
    const low = words[at]! >>> 0;
    const atLeastLower = !lower || high > lower.high || (high === lower.high && low >= lower.low);
    const belowUpper = !upper || high < upper.high || (high === upper.high && low < upper.low);
    return atLeastLower && belowUpper && valid(i);
  };
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
 */
export function keptRows(batches: readonly RecordBatch[], column: string, bounds: ColumnBounds): KeptRows {
  const before: RecordBatch[] = [];
  const after: RecordBatch[] = [];
  let removed = 0;
  for (const batch of batches) {
    const vector = batch.getChild(column);
    if (!vector) throw new Error(`a decoded segment has no time column '${column}'`);
    let offset = 0;
    for (const data of vector.data) {
      let runStart = -1;
      const flush = (end: number): void => {
        if (runStart < 0) return;
        (removed === 0 ? before : after).push(batch.slice(offset + runStart, offset + end));
        runStart = -1;
      };
      const inBounds = boundsTest(data, bounds);
      for (let i = 0; i < data.length; i++) {
        if (inBounds(i)) {
          flush(i);
          removed++;
        } else if (runStart < 0) runStart = i;
      }
      flush(data.length);
      offset += data.length;
    }
  }
  return { before, after, removed };
}

/** Record batches as the IPC messages a segment writer takes: Schema, dictionaries, batches. */
export async function* batchMessages(schema: Schema, batches: readonly RecordBatch[]): AsyncGenerator<IpcMessage> {
  yield* splitIpcStream(tableToIPC(new Table(schema, [...batches]), 'stream'));
}
