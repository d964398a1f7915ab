/**
 * Splits a frame's segments into UNION ALL branches bounded by the manifest's per-segment time
 * ranges (`WHERE ts BETWEEN <min> AND <max>`), so that DuckDB's optimizer, combining a query's
 * pushed-down time filter with a branch's constant bounds, finds the branch unsatisfiable and drops
 * it before any of its files beyond the first is opened. Bounds only ever widen what a branch
 * holds: a segment whose statistics are missing, has null times, or whose range cannot be written
 * as a literal of the column's SQL type goes in an unbounded branch.
 */
import { DataType, DateUnit, type Field, TimeUnit } from 'apache-arrow';
import type { SegmentEntry } from '../../format/manifest.js';

/** Consecutive segments read together, with the SQL bounds of their time column if every one has them. */
export interface TimeBranch {
  /** The segments, in manifest order. */
  readonly segments: readonly SegmentEntry[];
  /** Inclusive SQL literals bounding the time column over these segments; absent: unbounded. */
  readonly bounds?: { readonly lower: string; readonly upper: string };
}

/** The most branches a view is split into, so 1,000-segment frames do not make huge plans. */
export const MAX_TIME_BRANCHES = 32;

/**
 * How many branches a view over this many segments is split into. Each branch costs about a
 * quarter of a millisecond of planning per query, and each segment a selective query opens costs a
 * few hundredths of one (footers cached), so the sweet spot grows like the square root.
 */
export function timeBranchCount(segments: number): number {
  return Math.max(1, Math.min(MAX_TIME_BRANCHES, Math.ceil(Math.sqrt(segments) / 2)));
}

/**
 * The branches of a view: consecutive runs of about `segments / count` segments in manifest order
 * (so rows keep their stored order), bounded when every segment of the run has statistics and no
 * null times. One branch, unbounded, when the time column cannot be bounded at all.
 * @param timeField - the frame's time column, if it has one
 */
export function timeBranches(segments: readonly SegmentEntry[], timeField: Field | undefined, count = timeBranchCount(segments.length)): TimeBranch[] {
  if (!timeField || count <= 1 || !boundableTimeType(timeField.type)) return [{ segments }];
  const size = Math.ceil(segments.length / count);
  const branches: TimeBranch[] = [];
  for (let start = 0; start < segments.length; start += size) {
    const run = segments.slice(start, start + size);
    const bounds = runBounds(run, timeField.type);
    branches.push(bounds ? { segments: run, bounds } : { segments: run });
  }
  return branches.some((branch) => branch.bounds) ? branches : [{ segments }];
}

/**
 * Whether views can bound a time column of this type with literals DuckDB compares directly with
 * the column: timestamps stored with a Parquet unit annotation (ms, µs, ns) and day dates. Second
 * timestamps and millisecond dates are converted from raw integers in the view, so a query's filter
 * is on an expression the bounds would not combine with.
 */
function boundableTimeType(type: DataType): boolean {
  return (DataType.isTimestamp(type) && type.unit !== TimeUnit.SECOND) || (DataType.isDate(type) && type.unit === DateUnit.DAY);
}

function runBounds(run: readonly SegmentEntry[], type: DataType): TimeBranch['bounds'] {
  let min: bigint | undefined;
  let max: bigint | undefined;
  for (const segment of run) {
    // A null time never satisfies BETWEEN: such segments must stay in an unbounded branch.
    if (!segment.timeRange || segment.timeNulls !== 0) return undefined;
    const low = BigInt(segment.timeRange.min);
    const high = BigInt(segment.timeRange.max);
    if (min === undefined || low < min) min = low;
    if (max === undefined || high > max) max = high;
  }
  if (min === undefined || max === undefined) return undefined;
  const lower = timeLiteral(type, min, 'lower');
  const upper = timeLiteral(type, max, 'upper');
  return lower && upper ? { lower, upper } : undefined;
}

const MICROS_PER_DAY = 86_400_000_000n;
const NANOS_PER_DAY = 86_400_000_000_000n;
const INT64_LIMIT = 2n ** 63n - 1n;

/**
 * A SQL literal of the type DuckDB reads this column as, at or beyond `value` (a stored value in
 * the column's unit) on the given side: one unit of the SQL type wider than the value, so rounding
 * in DuckDB's own conversion can never put a row outside its branch. Undefined for instants outside
 * years 1–9999, which the literal syntax below does not cover, or outside DuckDB's range of the type.
 */
export function timeLiteral(type: DataType, value: bigint, side: 'lower' | 'upper'): string | undefined {
  const widen = side === 'lower' ? -1n : 1n;
  if (DataType.isDate(type)) {
    const date = civilDate(value + widen);
    return date && `DATE '${date}'`;
  }
  if (!DataType.isTimestamp(type)) return undefined;
  if (type.unit === TimeUnit.NANOSECOND && !type.timezone) {
    // tz-naive nanoseconds stay nanoseconds in DuckDB (TIMESTAMP_NS), whose range is int64's less
    // the values it reserves for ±infinity.
    const bounded = value + widen;
    if (bounded <= -INT64_LIMIT || bounded >= INT64_LIMIT - 1n) return undefined;
    const text = civilDateTime(bounded, NANOS_PER_DAY, 9);
    return text && `TIMESTAMP_NS '${text}'`;
  }
  const micros = toMicros(value, type.unit, side) + widen;
  const text = civilDateTime(micros, MICROS_PER_DAY, 6);
  if (!text) return undefined;
  // With an explicit offset the literal is the same instant whatever the session's TimeZone.
  return type.timezone ? `TIMESTAMPTZ '${text}+00'` : `TIMESTAMP '${text}'`;
}

/** A timestamp value in microseconds, rounded away from the range's inside when nanoseconds are cut. */
function toMicros(value: bigint, unit: TimeUnit, side: 'lower' | 'upper'): bigint {
  switch (unit) {
    case TimeUnit.SECOND:
      return value * 1_000_000n;
    case TimeUnit.MILLISECOND:
      return value * 1_000n;
    case TimeUnit.MICROSECOND:
      return value;
    default:
      return side === 'lower' ? floorDiv(value, 1_000n) : -floorDiv(-value, 1_000n);
  }
}

function floorDiv(a: bigint, b: bigint): bigint {
  const q = a / b;
  return a % b !== 0n && a < 0n !== b < 0n ? q - 1n : q;
}

/** `YYYY-MM-DD HH:MM:SS.fraction` of a count of `perDay`-per-day units since the epoch. */
function civilDateTime(value: bigint, perDay: bigint, fractionDigits: number): string | undefined {
  const days = floorDiv(value, perDay);
  const date = civilDate(days);
  if (!date) return undefined;
  const perSecond = perDay / 86_400n;
  const within = value - days * perDay;
  const seconds = Number(within / perSecond);
  const fraction = (within % perSecond).toString().padStart(fractionDigits, '0');
  const hh = String(Math.floor(seconds / 3600)).padStart(2, '0');
  const mm = String(Math.floor((seconds % 3600) / 60)).padStart(2, '0');
  const ss = String(seconds % 60).padStart(2, '0');
  return `${date} ${hh}:${mm}:${ss}.${fraction}`;
}

/** `YYYY-MM-DD` of a day number since 1970-01-01 (proleptic Gregorian), years 1–9999 only. */
function civilDate(daysSinceEpoch: bigint): string | undefined {
  // Days from 0001-01-01 to 1970-01-01 is 719,162; 9999-12-31 is day 2,932,896 since the epoch.
  if (daysSinceEpoch < -719_162n || daysSinceEpoch > 2_932_896n) return undefined;
  const z = Number(daysSinceEpoch) + 719_468;
  const era = Math.floor(z / 146_097);
  const dayOfEra = z - era * 146_097;
  const yearOfEra = Math.floor((dayOfEra - Math.floor(dayOfEra / 1460) + Math.floor(dayOfEra / 36_524) - Math.floor(dayOfEra / 146_096)) / 365);
  const dayOfYear = dayOfEra - (365 * yearOfEra + Math.floor(yearOfEra / 4) - Math.floor(yearOfEra / 100));
  const monthIndex = Math.floor((5 * dayOfYear + 2) / 153);
  const day = dayOfYear - Math.floor((153 * monthIndex + 2) / 5) + 1;
  const month = monthIndex < 10 ? monthIndex + 3 : monthIndex - 9;
  const year = yearOfEra + era * 400 + (month <= 2 ? 1 : 0);
  return `${String(year).padStart(4, '0')}-${String(month).padStart(2, '0')}-${String(day).padStart(2, '0')}`;
}
