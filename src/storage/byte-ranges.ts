/** Merging byte ranges into fewer requests, for stores whose requests cost more than a gap's bytes. */
import type { ByteRange } from './frame-store.js';

/**
 * Merges ranges into the spans to request, sorted: a range starting at most `gap` bytes after the
 * previous span's end (or overlapping it) extends that span.
 */
export function coalesceRanges(ranges: readonly ByteRange[], gap: number): ByteRange[] {
  const sorted = [...ranges].sort((a, b) => a.start - b.start);
  const spans: { start: number; end: number }[] = [];
  for (const range of sorted) {
    const last = spans.at(-1);
    if (last && range.start - last.end <= gap) last.end = Math.max(last.end, range.end);
    else spans.push({ start: range.start, end: range.end });
  }
  return spans;
}
