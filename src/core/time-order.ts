/**
 * The time order of a frame's segments: the span of their time statistics, and the rule that an
 * append must not go back in time (issue 22: an append before the stored maximum is usually a bug).
 */
import { DataType, DateUnit, type Schema, type Timestamp } from 'apache-arrow';
import { FailedPreconditionError } from '../errors.js';
import type { SegmentEntry } from '../format/manifest.js';
import { formatTimestamp } from '../format/value-format.js';
import { nanosPerUnit } from '../format/time-range.js';
import { type FrameRef, describeFrame } from '../names.js';

/** Min and max of the time column over segments, in the column's unit, from their statistics. */
export interface TimeSpan {
  readonly min: bigint;
  readonly max: bigint;
}

/**
 * The span of the segments' time statistics; undefined when none has statistics. `complete` is
 * false when a segment with rows lacks them (older manifests), so the span may be too narrow.
 */
export function timeSpan(segments: readonly SegmentEntry[]): { span: TimeSpan | undefined; complete: boolean } {
  let span: TimeSpan | undefined;
  let complete = true;
  for (const segment of segments) {
    if (!segment.timeRange) {
      // Without statistics: all rows null (then timeNulls says so) or unknown.
      if (segment.rows > 0 && segment.timeNulls !== segment.rows) complete = false;
      continue;
    }
    const min = BigInt(segment.timeRange.min);
    const max = BigInt(segment.timeRange.max);
    span = span ? { min: min < span.min ? min : span.min, max: max > span.max ? max : span.max } : { min, max };
  }
  return { span, complete };
}

/**
 * Whether a frame's rows are known to be in time order with no null times, from its segments'
 * statistics alone: every segment flagged `timeSorted` with no null times, each starting at or after
 * the end of the one before. False when anything is unknown (older segments, splices that record no
 * flag): the caller then checks the rows themselves.
 */
export function frameTimeSorted(segments: readonly SegmentEntry[]): boolean {
  let previousMax: bigint | undefined;
  for (const segment of segments) {
    if (segment.rows === 0) continue;
    if (segment.timeSorted !== true || segment.timeNulls !== 0 || !segment.timeRange) return false;
    const min = BigInt(segment.timeRange.min);
    if (previousMax !== undefined && min < previousMax) return false;
    previousMax = BigInt(segment.timeRange.max);
  }
  return true;
}

/** A raw value of a time column as ISO-8601 text (dates as `YYYY-MM-DD`). */
export function formatColumnTime(raw: bigint, type: DataType): string {
  if (DataType.isTimestamp(type)) return formatTimestamp(raw, (type as Timestamp).unit, Boolean((type as Timestamp).timezone));
  const millis = Number((raw * nanosPerUnit(type)) / 1_000_000n);
  return new Date(millis).toISOString().slice(0, DataType.isDate(type) && type.unit === DateUnit.DAY ? 10 : 23);
}

/** The detail type of a refused out-of-order append, for clients that branch on it. */
export const UNORDERED_APPEND = 'UnorderedAppendError';

/**
 * Refuses an append whose first time is before the frame's stored maximum. Only statistics are
 * read: the stored maximum from the manifest's segments, the incoming minimum from the segments
 * just written. Frames or segments without statistics are not checked.
 * @throws FailedPreconditionError naming both times
 */
export function assertOrderedAppend(ref: FrameRef, schema: Schema, timeColumn: string, stored: readonly SegmentEntry[], incoming: readonly SegmentEntry[]): void {
  const field = schema.fields.find((candidate) => candidate.name === timeColumn);
  if (!field) return;
  const before = timeSpan(stored).span;
  const after = timeSpan(incoming).span;
  if (!before || !after || after.min >= before.max) return;
  throw new FailedPreconditionError(
    `the append to ${describeFrame(ref)} starts at ${formatColumnTime(after.min, field.type)} in its time column '${timeColumn}', ` +
      `before the frame's last time ${formatColumnTime(before.max, field.type)}; nothing was stored. Append later rows, use ` +
      `mode "update" to replace a time range, or send "allow_unordered": true to store them anyway`,
    { type: UNORDERED_APPEND },
  );
}
