/** Formats Arrow column values as text for CSV output and table previews (null → undefined). */
import { type DataType, DateUnit, Precision, TimeUnit, Type, type Vector } from 'apache-arrow';

/** Formats the value at a row of one column; undefined means null. */
export type CellFormatter = (row: number) => string | undefined;

const NANOS_PER_UNIT: Record<TimeUnit, bigint> = {
  [TimeUnit.SECOND]: 1_000_000_000n,
  [TimeUnit.MILLISECOND]: 1_000_000n,
  [TimeUnit.MICROSECOND]: 1_000n,
  [TimeUnit.NANOSECOND]: 1n,
};
const FRACTION_DIGITS: Record<TimeUnit, number> = {
  [TimeUnit.SECOND]: 0,
  [TimeUnit.MILLISECOND]: 3,
  [TimeUnit.MICROSECOND]: 6,
  [TimeUnit.NANOSECOND]: 9,
};

/**
 * An ISO-8601 timestamp at the unit's full precision; `Z` only for zoned timestamps (shown in
 * UTC), since a naive timestamp names no instant.
 */
export function formatTimestamp(raw: bigint, unit: TimeUnit, zoned: boolean): string {
  const nanos = raw * NANOS_PER_UNIT[unit];
  let seconds = nanos / 1_000_000_000n;
  let fraction = nanos % 1_000_000_000n;
  if (fraction < 0n) {
    fraction += 1_000_000_000n;
    seconds -= 1n;
  }
  const base = new Date(Number(seconds) * 1000).toISOString().slice(0, 19);
  const digits = FRACTION_DIGITS[unit];
  const fractionText = digits === 0 ? '' : `.${fraction.toString().padStart(9, '0').slice(0, digits)}`;
  return `${base}${fractionText}${zoned ? 'Z' : ''}`;
}

function jsonReplacer(_key: string, value: unknown): unknown {
  if (typeof value === 'bigint') return value.toString();
  if (value instanceof Uint8Array) return Buffer.from(value).toString('base64');
  return value;
}

/** Text of one plain value by its Arrow type. */
function formatValue(value: unknown, type: DataType): string {
  switch (type.typeId) {
    case Type.Date:
    case Type.DateDay:
    case Type.DateMillisecond:
      return new Date(value as number).toISOString().slice(0, (type as DataType & { unit: DateUnit }).unit === DateUnit.DAY ? 10 : 23);
    case Type.Float: {
      // Integral floats keep a ".0" so the CSV reads back as a float column, as pandas writes them.
      const text = String(value);
      return Number.isInteger(value) && /^-?\d+$/.test(text) ? `${text}.0` : text;
    }
    case Type.Binary:
    case Type.LargeBinary:
    case Type.FixedSizeBinary:
      return Buffer.from(value as Uint8Array).toString('base64');
    default:
      break;
  }
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'bigint' || typeof value === 'boolean') return String(value);
  if (value instanceof Date) return value.toISOString();
  const json = (value as { toJSON?: () => unknown }).toJSON?.() ?? value;
  return JSON.stringify(json, jsonReplacer) ?? String(value);
}

/** Whether a row of a single-chunk column holds a value, read from the validity bitmap directly. */
function validity(column: Vector): (row: number) => boolean {
  const data = column.data[0];
  const bitmap = data?.nullBitmap;
  if (!data || data.nullCount === 0 || !bitmap || bitmap.length === 0) return () => true;
  const offset = data.offset;
  return (row) => {
    const index = offset + row;
    return (bitmap[index >> 3]! & (1 << (index & 7))) !== 0;
  };
}

/** "00" to "59". */
const TWO_DIGITS = Array.from({ length: 60 }, (_, i) => String(i).padStart(2, '0'));

/** Units of a timestamp per second. */
const UNITS_PER_SECOND: Record<TimeUnit, number> = {
  [TimeUnit.SECOND]: 1,
  [TimeUnit.MILLISECOND]: 1_000,
  [TimeUnit.MICROSECOND]: 1_000_000,
  [TimeUnit.NANOSECOND]: 1_000_000_000,
};

/**
 * A formatter of raw timestamps of one unit, as {@link formatTimestamp} writes them. Rows of a
 * column are mostly near each other in time, so the date-and-time part of the last second is kept:
 * most rows then cost a division and a padded fraction instead of a Date.
 */
function timestampFormatter(unit: TimeUnit, zoned: boolean): (raw: bigint) => string {
  const perSecond = UNITS_PER_SECOND[unit];
  const perSecondBig = BigInt(perSecond);
  const digits = FRACTION_DIGITS[unit];
  const suffix = zoned ? 'Z' : '';
  let lastSecond = Number.NaN;
  let base = '';
  let lastDay = Number.NaN;
  let dayText = '';
  return (raw) => {
    let seconds: number;
    let fraction: number;
    if (raw <= 9_007_199_254_740_991n && raw >= -9_007_199_254_740_991n) {
      const value = Number(raw);
      seconds = Math.floor(value / perSecond);
      fraction = value - seconds * perSecond;
    } else {
      // One BigInt division; the remainder is small enough for Number arithmetic.
      const whole = raw / perSecondBig;
      seconds = Number(whole);
      fraction = Number(raw - whole * perSecondBig);
      if (fraction < 0) {
        fraction += perSecond;
        seconds -= 1;
      }
    }
    if (seconds !== lastSecond) {
      lastSecond = seconds;
      const day = Math.floor(seconds / 86_400);
      if (day !== lastDay) {
        lastDay = day;
        dayText = new Date(day * 86_400_000).toISOString().slice(0, 11);
      }
      const time = seconds - day * 86_400;
      base = `${dayText}${TWO_DIGITS[Math.floor(time / 3600)]}:${TWO_DIGITS[Math.floor(time / 60) % 60]}:${TWO_DIGITS[time % 60]}`;
    }
    return digits === 0 ? base + suffix : `${base}.${String(fraction).padStart(digits, '0')}${suffix}`;
  };
}

/** A float as text, integral ones with a ".0" (as pandas writes them, so they read back as floats). */
function floatText(value: number): string {
  const text = String(value);
  return Number.isInteger(value) && text.indexOf('e') < 0 ? `${text}.0` : text;
}

/**
 * Builds a formatter for a single-chunk column (as a RecordBatch's children are). Timestamps are
 * read from their raw int64 values, because `get` rounds them to milliseconds; numbers and
 * timestamps are read from their value buffers directly (`get` costs more than the formatting).
 */
export function cellFormatter(column: Vector): CellFormatter {
  const type = column.type as DataType;
  const data = column.data[0];
  const valid = validity(column);
  if (data && type.typeId === Type.Timestamp) {
    const values = data.values as unknown as BigInt64Array;
    const offset = data.offset;
    const format = timestampFormatter((type as DataType & { unit: TimeUnit }).unit, Boolean((type as DataType & { timezone?: string | null }).timezone));
    return (row) => (valid(row) ? format(values[offset + row]!) : undefined);
  }
  // Half floats keep their raw 16 bits in `values`: they go the general way.
  if (data && type.typeId === Type.Float && (type as DataType & { precision: Precision }).precision !== Precision.HALF) {
    const values = data.values as unknown as Float64Array | Float32Array;
    const offset = data.offset;
    return (row) => (valid(row) ? floatText(values[offset + row]!) : undefined);
  }
  if (data && type.typeId === Type.Int) {
    const values = data.values as unknown as ArrayLike<number | bigint>;
    const offset = data.offset;
    return (row) => (valid(row) ? String(values[offset + row]) : undefined);
  }
  if (data && type.typeId === Type.Decimal) {
    const { scale, bitWidth } = type as DataType & { scale: number; bitWidth: number };
    const words = data.values as unknown as Uint32Array;
    const offset = data.offset;
    const stride = bitWidth / 32;
    return (row) => (valid(row) ? decimalText(decimalUnscaled(words, (offset + row) * stride, stride), scale) : undefined);
  }
  const valueType = type.typeId === Type.Dictionary ? (type as DataType & { dictionary: DataType }).dictionary : type;
  return (row) => {
    if (!valid(row)) return undefined;
    const value: unknown = column.get(row);
    return value === null || value === undefined ? undefined : formatValue(value, valueType);
  };
}

/** The unscaled value of the decimal whose little-endian two's-complement 32-bit words start at `at`. */
export function decimalUnscaled(words: Uint32Array, at: number, wordsPerValue: number): bigint {
  let value = 0n;
  for (let i = wordsPerValue - 1; i >= 0; i--) value = (value << 32n) | BigInt(words[at + i]!);
  const bits = BigInt(32 * wordsPerValue);
  return value >= 1n << (bits - 1n) ? value - (1n << bits) : value;
}

/** A decimal's text from its unscaled value and scale: `-12.345`, `10`, `0.05`. */
export function decimalText(unscaled: bigint, scale: number): string {
  if (scale <= 0) return (unscaled * 10n ** BigInt(-scale)).toString();
  const negative = unscaled < 0n;
  const digits = (negative ? -unscaled : unscaled).toString().padStart(scale + 1, '0');
  return `${negative ? '-' : ''}${digits.slice(0, -scale)}.${digits.slice(-scale)}`;
}
