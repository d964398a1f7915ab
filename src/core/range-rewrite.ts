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

/** Whether the value at row `i` of a time column lies in the bounds (null times never do). */
function inBounds(data: Data, i: number, bounds: ColumnBounds): boolean {
  if (data.nullCount > 0 && !data.getValid(i)) return false;
  const raw = (data.values as BigInt64Array | Int32Array)[data.offset + i]!;
  const value = typeof raw === 'bigint' ? raw : BigInt(raw);
  return (bounds.lower === undefined || value >= bounds.lower) && (bounds.upper === undefined || value < bounds.upper);
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
      for (let i = 0; i < data.length; i++) {
        if (inBounds(data, i, bounds)) {
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
