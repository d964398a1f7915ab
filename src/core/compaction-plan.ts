/** Which segments a compaction merges, and whether its result still fits the frame it was planned on. */
import type { SegmentEntry } from '../format/manifest.js';

/** Runs of at least two adjacent segments smaller than `smallBytes`, as [start, end) indices. */
export function smallSegmentRuns(segments: readonly SegmentEntry[], smallBytes: number): { start: number; end: number }[] {
  const runs: { start: number; end: number }[] = [];
  let start = -1;
  for (let i = 0; i <= segments.length; i++) {
    const small = i < segments.length && segments[i]!.bytes < smallBytes;
    if (small && start < 0) start = i;
    if (!small && start >= 0) {
      if (i - start >= 2) runs.push({ start, end: i });
      start = -1;
    }
  }
  return runs;
}

/** Whether `segments` begins with exactly `prefix` (the same stored objects in the same order). */
export function startsWith(segments: readonly SegmentEntry[], prefix: readonly SegmentEntry[]): boolean {
  return prefix.length <= segments.length && prefix.every((segment, i) => segments[i]!.id === segment.id);
}
