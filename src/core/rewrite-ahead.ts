/**
 * An update's range rewrite started ahead of its commit: once the update's input has ended (its
 * time span known), the segments the range overlaps are read, spliced and stored while the
 * update's own rows are still being encoded and stored. The commit adopts the result if the frame
 * is still at the version it was computed from, with the same bounds; otherwise it is discarded
 * and the rewrite is done again under the commit lock.
 */
import type { SegmentEntry } from '../format/manifest.js';
import type { TimeStatistics } from '../format/ipc-time-statistics.js';
import type { ColumnBounds } from '../format/time-range.js';

/** The stored segments with the rows in a range removed, and where the range's new rows go. */
export interface RangeRewrite {
  /** The frame's segments without those rows (rewritten ones replaced by their new segments). */
  readonly segments: SegmentEntry[];
  /** Index in `segments` where rows inserted for the range belong. */
  readonly insertAt: number;
  /** Stored segments the range overlapped, now replaced. */
  readonly segmentsRewritten: number;
  /** Rows in the range removed from them. */
  readonly rowsRemoved: number;
}

/** A rewrite done ahead, and what it was computed from. */
export interface AheadResult {
  /** The frame version it rewrote. */
  readonly version: number;
  /** The time column the range is on. */
  readonly column: string;
  /** The range it removed. */
  readonly bounds: ColumnBounds;
  /** The segments it produced. */
  readonly rewrite: RangeRewrite;
}

/** A rewrite running (or done) ahead of its commit. */
export interface RewriteAhead {
  /** Segments it stored, uncommitted: the commit's if adopted, else to discard. */
  readonly written: SegmentEntry[];
  /** Its result; undefined when it failed or had nothing to do (it never rejects). */
  readonly result: Promise<AheadResult | undefined>;
  /** Set by the commit that takes its segments over. */
  adopted: boolean;
}

/** The segments of a range rewrite with `insert` placed where the range's rows were. */
export function placeInsert(rewrite: RangeRewrite, insert: readonly SegmentEntry[]): RangeRewrite {
  if (insert.length === 0) return rewrite;
  const { segments, insertAt } = rewrite;
  return { ...rewrite, segments: [...segments.slice(0, insertAt), ...insert, ...segments.slice(insertAt)] };
}

/**
 * The bounds an update without an explicit range replaces: from the least to just past the greatest
 * time of its rows (the same as from their segments' statistics); empty when none has a time.
 */
export function incomingBounds(times: readonly (TimeStatistics | undefined)[]): ColumnBounds {
  let min: bigint | undefined;
  let max: bigint | undefined;
  for (const time of times) {
    if (time?.min === undefined || time.max === undefined) continue;
    if (min === undefined || time.min < min) min = time.min;
    if (max === undefined || time.max > max) max = time.max;
  }
  return min === undefined || max === undefined ? { empty: true } : { lower: min, upper: max + 1n, empty: false };
}

/** Whether two bounds are the same. */
export function sameBounds(a: ColumnBounds, b: ColumnBounds): boolean {
  return a.empty === b.empty && a.lower === b.lower && a.upper === b.upper;
}
