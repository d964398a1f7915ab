/**
 * Range-read bounds: parses the `start`/`end` values a client sends (ISO-8601 strings or epoch
 * seconds) to exact epoch nanoseconds, and turns them into bounds in a time column's own unit.
 * Kept in BigInt end to end so nanosecond timestamps never pass through a lossy JS number.
 */
import { DataType, DateUnit, TimeUnit, type Timestamp } from 'apache-arrow';
import { InvalidArgumentError } from '../errors.js';

const NS_PER_SECOND = 1_000_000_000n;
const NS_PER_DAY = 86_400n * NS_PER_SECOND;

/** What `start` and `end` accept, for error messages. */
export const ACCEPTED_TIME_VALUES =
  'an ISO-8601 date or date-time string (e.g. "2024-05-01", "2024-05-01T09:30:00.123456789Z", ' +
  '"2024-05-01 09:30+02:00") or a number of seconds since the Unix epoch';

// Date, then optionally a time (T or space) with optional seconds, fraction (≤ 9 digits) and offset.
const ISO_PATTERN =
  /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?(Z|[+-]\d{2}:\d{2})?)?$/;

/** Days from 1970-01-01 to a proleptic Gregorian civil date (month 1–12). */
function daysFromCivil(year: number, month: number, day: number): number {
  const y = month <= 2 ? year - 1 : year;
  const era = Math.floor(y / 400);
  const yearOfEra = y - era * 400;
  const dayOfYear = Math.floor((153 * (month + (month > 2 ? -3 : 9)) + 2) / 5) + day - 1;
  const dayOfEra = yearOfEra * 365 + Math.floor(yearOfEra / 4) - Math.floor(yearOfEra / 100) + dayOfYear;
  return era * 146_097 + dayOfEra - 719_468;
}

function daysInMonth(year: number, month: number): number {
  if (month === 2) return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0 ? 29 : 28;
  return [4, 6, 9, 11].includes(month) ? 30 : 31;
}

function invalid(what: string, value: unknown, why: string): InvalidArgumentError {
  return new InvalidArgumentError(`"${what}" ${JSON.stringify(value)} is not valid (${why}); it must be ${ACCEPTED_TIME_VALUES}`);
}

/**
 * Parses an ISO-8601 date (`YYYY-MM-DD`) or date-time (`YYYY-MM-DDTHH:MM[:SS[.fraction]]`, `T` or
 * a space between, fraction up to 9 digits, optional `Z` or `±HH:MM` offset) to epoch nanoseconds.
 * A value without an offset is read as UTC.
 * @param what - the option's name, for the error message
 * @throws InvalidArgumentError for anything else, or an impossible date or time
 */
export function parseIsoTime(text: string, what: string): bigint {
  const match = ISO_PATTERN.exec(text);
  if (!match) throw invalid(what, text, 'not an ISO-8601 date or date-time');
  const [, y, mo, d, h = '0', mi = '0', s = '0', fraction = '', offset] = match;
  const year = Number(y);
  const month = Number(mo);
  const day = Number(d);
  if (month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month)) throw invalid(what, text, 'no such date');
  if (Number(h) > 23 || Number(mi) > 59 || Number(s) > 59) throw invalid(what, text, 'no such time of day');
  let offsetMinutes = 0;
  if (offset && offset !== 'Z') {
    const [oh, om] = offset.slice(1).split(':').map(Number) as [number, number];
    if (oh > 23 || om > 59) throw invalid(what, text, 'no such UTC offset');
    offsetMinutes = (offset[0] === '-' ? -1 : 1) * (oh * 60 + om);
  }
  const seconds = BigInt(daysFromCivil(year, month, day)) * 86_400n + BigInt(Number(h) * 3600 + Number(mi) * 60 + Number(s) - offsetMinutes * 60);
  return seconds * NS_PER_SECOND + BigInt(fraction.padEnd(9, '0') || '0');
}

/**
 * Converts a number of seconds since the Unix epoch (possibly fractional) to epoch nanoseconds.
 * The number's shortest decimal form is converted exactly, so `1700000000.123456` is
 * …123456000 ns; digits below a nanosecond are floored.
 * @throws InvalidArgumentError for NaN or an infinite number
 */
export function epochSecondsToNanos(seconds: number, what: string): bigint {
  if (!Number.isFinite(seconds)) throw invalid(what, String(seconds), 'not a finite number');
  const [mantissa = '0', exponentText = '0'] = String(Math.abs(seconds)).split('e');
  const [whole = '0', fraction = ''] = mantissa.split('.');
  // value = digits × 10^(exponent − fraction digits); scaled by 10^9 for nanoseconds.
  const digits = BigInt(whole + fraction);
  const scale = Number(exponentText) - fraction.length + 9;
  const nanos = scale >= 0 ? digits * 10n ** BigInt(scale) : digits / 10n ** BigInt(-scale);
  if (seconds >= 0) return nanos;
  // Negative: floor, so a sub-nanosecond remainder moves the instant earlier.
  const exact = scale >= 0 || digits % 10n ** BigInt(-scale) === 0n;
  return exact ? -nanos : -nanos - 1n;
}

/**
 * Parses a `start`/`end` value from a request: a string is ISO-8601, a number is epoch seconds;
 * `null` and `undefined` mean no bound.
 * @throws InvalidArgumentError for any other value
 */
export function parseTimeBound(value: unknown, what: string): bigint | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value === 'string') return parseIsoTime(value.trim(), what);
  if (typeof value === 'number') return epochSecondsToNanos(value, what);
  throw invalid(what, value, `a ${typeof value}`);
}

/**
 * Rows to keep, in the time column's own unit: `lower <= value < upper`. An absent side is
 * unbounded. `empty` when no value of the column's type can match.
 */
export interface ColumnBounds {
  /** Inclusive lower bound, if any. */
  readonly lower?: bigint;
  /** Exclusive upper bound, if any. */
  readonly upper?: bigint;
  /** No value can match (e.g. `end <= start`). */
  readonly empty: boolean;
}

/** Nanoseconds per unit of a time column's values (timestamp, date32 days or date64 ms). */
export function nanosPerUnit(type: DataType): bigint {
  if (DataType.isTimestamp(type)) {
    const unit = (type as Timestamp).unit;
    return unit === TimeUnit.SECOND ? NS_PER_SECOND : unit === TimeUnit.MILLISECOND ? 1_000_000n : unit === TimeUnit.MICROSECOND ? 1_000n : 1n;
  }
  if (DataType.isDate(type)) return type.unit === DateUnit.DAY ? NS_PER_DAY : 1_000_000n;
  throw new InvalidArgumentError(`${String(type)} is not a time column type`);
}

/** Ceiling of a / b for b > 0 (BigInt division truncates towards zero). */
function ceilDiv(a: bigint, b: bigint): bigint {
  const q = a / b;
  return a % b > 0n ? q + 1n : q;
}

/**
 * Converts half-open epoch-nanosecond bounds [start, end) to bounds on a column's raw values.
 * A value v stands for v × unit ns, so v × unit ≥ start ⟺ v ≥ ⌈start / unit⌉ and
 * v × unit < end ⟺ v < ⌈end / unit⌉. Bounds past the column's value range become unbounded sides
 * (or `empty`), so they always fit the column's integer width.
 */
export function columnBounds(type: DataType, start: bigint | undefined, end: bigint | undefined): ColumnBounds {
  const unit = nanosPerUnit(type);
  const bits = DataType.isDate(type) && type.unit === DateUnit.DAY ? 32n : 64n;
  const min = -(1n << (bits - 1n));
  const max = (1n << (bits - 1n)) - 1n;
  let lower = start === undefined ? undefined : ceilDiv(start, unit);
  let upper = end === undefined ? undefined : ceilDiv(end, unit);
  if ((lower !== undefined && lower > max) || (upper !== undefined && upper <= min) || (lower !== undefined && upper !== undefined && upper <= lower)) {
    return { empty: true };
  }
  if (lower !== undefined && lower <= min) lower = undefined;
  if (upper !== undefined && upper > max) upper = undefined;
  return { ...(lower === undefined ? {} : { lower }), ...(upper === undefined ? {} : { upper }), empty: false };
}
