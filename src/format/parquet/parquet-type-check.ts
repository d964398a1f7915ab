/**
 * Whether a Parquet column's own type annotations (repetition, physical type, logical and converted
 * type) agree with the Arrow type the plain reader would give it from the embedded Arrow schema.
 * The plain reader copies values as they lie, so any disagreement — a `timestamp[ns]` field whose
 * Parquet column holds microseconds, an int8 field over an INTEGER(16) column, a string over a
 * DECIMAL — would return different values; the reader then declines and parquet-wasm, which
 * converts, decodes the file. Written from parquet.thrift and LogicalTypes.md.
 */
import { type DataType, DateUnit, type Dictionary, type Field, TimeUnit, Type } from 'apache-arrow';
import type { ParquetSchemaColumn } from './parquet-footer.js';
import type { PlainColumnLayout } from './plain-parquet-writer.js';
import { stringDictionary } from '../dictionary-layout.js';

// parquet.thrift ConvertedType values (the legacy annotations).
const CONVERTED = {
  UTF8: 0,
  DATE: 6,
  TIMESTAMP_MILLIS: 9,
  TIMESTAMP_MICROS: 10,
  UINT_8: 11,
  UINT_16: 12,
  UINT_32: 13,
  UINT_64: 14,
  INT_8: 15,
  INT_16: 16,
  INT_32: 17,
  INT_64: 18,
} as const;
const REQUIRED = 0;
const OPTIONAL = 1;

/** What the Parquet column must say for the Arrow type: its logical type, and the converted types that mean the same. */
interface ExpectedAnnotation {
  /** The logical type (canonical text, as {@link ParquetSchemaColumn.logicalType}); undefined: none. */
  readonly logical: string | undefined;
  /** Converted types that agree with it. */
  readonly converted: readonly number[];
  /** A column with neither annotation means this Arrow type too (plain INT32/INT64, FLOAT, …). */
  readonly bareAgrees: boolean;
  /** A converted type alone (no logical type) agrees only when it is one of these. */
  readonly convertedAlone?: readonly number[];
}

const UNITS: Partial<Record<TimeUnit, string>> = { [TimeUnit.MILLISECOND]: 'MILLIS', [TimeUnit.MICROSECOND]: 'MICROS', [TimeUnit.NANOSECOND]: 'NANOS' };

/** The annotations a Parquet column of this Arrow type carries; undefined for types the plain reader does not cover. */
function expectedAnnotation(type: DataType): ExpectedAnnotation | undefined {
  switch (type.typeId) {
    case Type.Int: {
      const { bitWidth, isSigned } = type as DataType<Type.Int> & { bitWidth: 8 | 16 | 32 | 64; isSigned: boolean };
      const converted = isSigned
        ? { 8: CONVERTED.INT_8, 16: CONVERTED.INT_16, 32: CONVERTED.INT_32, 64: CONVERTED.INT_64 }[bitWidth]
        : { 8: CONVERTED.UINT_8, 16: CONVERTED.UINT_16, 32: CONVERTED.UINT_32, 64: CONVERTED.UINT_64 }[bitWidth];
      return { logical: `INTEGER(${bitWidth},${isSigned ? 'signed' : 'unsigned'})`, converted: [converted], bareAgrees: isSigned && bitWidth >= 32, convertedAlone: [converted] };
    }
    case Type.Float:
    case Type.Bool:
    case Type.Binary:
    case Type.LargeBinary:
      return { logical: undefined, converted: [], bareAgrees: true };
    case Type.Date:
      return (type as DataType<Type.Date> & { unit: DateUnit }).unit === DateUnit.DAY ? { logical: 'DATE', converted: [CONVERTED.DATE], bareAgrees: false, convertedAlone: [CONVERTED.DATE] } : undefined;
    case Type.Timestamp: {
      const { unit, timezone } = type as DataType<Type.Timestamp> & { unit: TimeUnit; timezone?: string | null };
      const name = UNITS[unit];
      if (!name) return undefined;
      const utc = timezone !== null && timezone !== undefined;
      // Writers add the legacy annotation of the same unit beside the logical type, for either flag.
      const converted = unit === TimeUnit.MILLISECOND ? [CONVERTED.TIMESTAMP_MILLIS] : unit === TimeUnit.MICROSECOND ? [CONVERTED.TIMESTAMP_MICROS] : [];
      // Alone, the legacy annotations mean "adjusted to UTC" (LogicalTypes.md).
      return { logical: `TIMESTAMP(${name},${utc ? 'utc' : 'local'})`, converted, bareAgrees: false, convertedAlone: utc ? converted : [] };
    }
    case Type.Utf8:
    case Type.LargeUtf8:
      return { logical: 'STRING', converted: [CONVERTED.UTF8], bareAgrees: false, convertedAlone: [CONVERTED.UTF8] };
    case Type.Dictionary:
      // Hangar writes string dictionaries as dictionary-encoded Parquet strings.
      return stringDictionary(type) ? expectedAnnotation((type as Dictionary).dictionary) : undefined;
    default:
      return undefined;
  }
}

/** A column's annotations as a message names them. */
function describeColumn(column: ParquetSchemaColumn): string {
  const parts = [`physical type ${column.physicalType ?? 'none'}`];
  if (column.logicalType !== undefined) parts.push(`logical type ${column.logicalType}`);
  if (column.convertedType !== undefined) parts.push(`converted type ${column.convertedType}`);
  return parts.join(', ');
}

/**
 * Why the Parquet column disagrees with the Arrow field the plain reader would produce from it
 * (with `layout`, the plain layout of that field), or undefined when they agree.
 */
export function annotationDisagreement(column: ParquetSchemaColumn, field: Field, layout: PlainColumnLayout): string | undefined {
  const arrow = `the Arrow schema's ${String(field.type)}${field.nullable ? '' : ' not null'}`;
  if (column.children !== 0) return `it is a group of ${column.children} fields, not the flat column of ${arrow}`;
  if (column.physicalType !== layout.physicalType) return `${describeColumn(column)} does not match ${arrow}`;
  const repetition = field.nullable ? OPTIONAL : REQUIRED;
  if (column.repetition !== repetition) return `repetition ${column.repetition ?? 'none'} does not match ${arrow} (expected ${repetition})`;
  const expected = expectedAnnotation(field.type);
  if (!expected) return `${arrow} is not read by the plain reader`;
  const { logicalType, convertedType } = column;
  let agrees: boolean;
  if (logicalType !== undefined) {
    agrees = logicalType === expected.logical && (convertedType === undefined || expected.converted.includes(convertedType));
  } else if (convertedType !== undefined) {
    agrees = (expected.convertedAlone ?? []).includes(convertedType);
  } else {
    agrees = expected.bareAgrees;
  }
  return agrees ? undefined : `${describeColumn(column)} does not match ${arrow}`;
}
