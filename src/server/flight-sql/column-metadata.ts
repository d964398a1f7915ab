/**
 * The `ARROW:FLIGHT:SQL:*` field metadata the Flight SQL specification defines for table and query
 * schemas: which catalog, schema and table a column belongs to and its SQL type name, precision and
 * flags, so JDBC's getColumns and result metadata (and DBeaver) show SQL types rather than Arrow ones.
 */
import { DataType, Field, type Schema, Schema as ArrowSchema, TimeUnit } from 'apache-arrow';

const KEY = 'ARROW:FLIGHT:SQL:';

/** The SQL (DuckDB) name of an Arrow type as Hangar's SQL engine sees a stored column. */
export function sqlTypeName(type: DataType): string {
  if (DataType.isDictionary(type)) return sqlTypeName(type.dictionary);
  if (DataType.isBool(type)) return 'BOOLEAN';
  if (DataType.isInt(type)) {
    const name = ({ 8: 'TINYINT', 16: 'SMALLINT', 32: 'INTEGER', 64: 'BIGINT' } as const)[type.bitWidth];
    return type.isSigned ? name : `U${name}`;
  }
  if (DataType.isFloat(type)) return type.precision === 2 ? 'DOUBLE' : 'FLOAT';
  if (DataType.isDecimal(type)) return `DECIMAL(${type.precision},${type.scale})`;
  if (DataType.isUtf8(type) || DataType.isLargeUtf8(type)) return 'VARCHAR';
  if (DataType.isBinary(type) || DataType.isLargeBinary(type) || DataType.isFixedSizeBinary(type)) return 'BLOB';
  if (DataType.isDate(type)) return 'DATE';
  if (DataType.isTime(type)) return 'TIME';
  if (DataType.isTimestamp(type)) {
    if (type.timezone) return 'TIMESTAMP WITH TIME ZONE';
    return type.unit === TimeUnit.NANOSECOND ? 'TIMESTAMP_NS' : 'TIMESTAMP';
  }
  if (DataType.isInterval(type) || DataType.isDuration(type)) return 'INTERVAL';
  if (DataType.isList(type) || DataType.isFixedSizeList(type)) return `${sqlTypeName(type.children[0]!.type)}[]`;
  if (DataType.isStruct(type)) return 'STRUCT';
  if (DataType.isMap(type)) return 'MAP';
  return String(type).toUpperCase();
}

/** The digits a column can hold, where that means something (JDBC COLUMN_SIZE). */
function precisionOf(type: DataType): number | undefined {
  if (DataType.isDictionary(type)) return precisionOf(type.dictionary);
  if (DataType.isDecimal(type)) return type.precision;
  if (DataType.isInt(type)) return ({ 8: 3, 16: 5, 32: 10, 64: 19 } as const)[type.bitWidth];
  if (DataType.isFloat(type)) return type.precision === 2 ? 15 : 7;
  return undefined;
}

/** Where a table's columns live, for {@link describedSchema}. */
export interface ColumnOrigin {
  /** The catalog (`hangar`). */
  readonly catalog: string;
  /** The bucket. */
  readonly bucket: string;
  /** The frame. */
  readonly frame: string;
}

/** A frame's schema with each field described for SQL clients (catalog, bucket, frame, SQL type, flags). */
export function describedTableSchema(schema: Schema, catalog: string, bucket: string, frame: string): Schema {
  return describedSchema(schema, { catalog, bucket, frame });
}

/**
 * A schema with each field's SQL type and flags in the spec's field metadata; with `origin`, also
 * where the columns live (a query's result columns come from anywhere, so it has none).
 */
export function describedSchema(schema: Schema, origin?: ColumnOrigin): Schema {
  const fields = schema.fields.map((field) => {
    const metadata = new Map(field.metadata);
    const text = DataType.isUtf8(field.type) || DataType.isLargeUtf8(field.type) || (DataType.isDictionary(field.type) && DataType.isUtf8(field.type.dictionary));
    const precision = precisionOf(field.type);
    if (origin) {
      metadata.set(`${KEY}CATALOG_NAME`, origin.catalog);
      metadata.set(`${KEY}DB_SCHEMA_NAME`, origin.bucket);
      metadata.set(`${KEY}TABLE_NAME`, origin.frame);
    }
    metadata.set(`${KEY}TYPE_NAME`, sqlTypeName(field.type));
    if (precision !== undefined) metadata.set(`${KEY}PRECISION`, String(precision));
    if (DataType.isDecimal(field.type)) metadata.set(`${KEY}SCALE`, String(field.type.scale));
    metadata.set(`${KEY}IS_AUTO_INCREMENT`, '0');
    metadata.set(`${KEY}IS_CASE_SENSITIVE`, text ? '1' : '0');
    // SQL cannot change a frame: every column is read-only, and every column can be filtered on.
    metadata.set(`${KEY}IS_READ_ONLY`, '1');
    metadata.set(`${KEY}IS_SEARCHABLE`, '1');
    return new Field(field.name, field.type, field.nullable, metadata);
  });
  return new ArrowSchema(fields, schema.metadata);
}
