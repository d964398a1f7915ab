/** Formats Arrow column values as text for CSV output and table previews (null → undefined). */
import { type DataType, DateUnit, TimeUnit, Type, type Vector } from 'apache-arrow';

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

/**
 * Builds a formatter for a single-chunk column (as a RecordBatch's children are). Timestamps are
 * read from their raw int64 values, because `get` rounds them to milliseconds.
 */
export function cellFormatter(column: Vector): CellFormatter {
  const type = column.type as DataType;
  const data = column.data[0];
  if (data && type.typeId === Type.Timestamp) {
    const values = data.values as unknown as BigInt64Array;
    const unit = (type as DataType & { unit: TimeUnit }).unit;
    const zoned = Boolean((type as DataType & { timezone?: string | null }).timezone);
    return (row) => (column.isValid(row) ? formatTimestamp(values[data.offset + row]!, unit, zoned) : undefined);
  }
  const valueType = type.typeId === Type.Dictionary ? (type as DataType & { dictionary: DataType }).dictionary : type;
  return (row) => {
    if (!column.isValid(row)) return undefined;
    const value: unknown = column.get(row);
    return value === null || value === undefined ? undefined : formatValue(value, valueType);
  };
}
