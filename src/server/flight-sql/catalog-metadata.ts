/**
 * Flight SQL's catalog commands over Hangar's store: one catalog (`hangar`), each bucket a database
 * schema, each frame a table of type TABLE; primary and foreign keys are always empty; type info
 * lists the SQL types results can have. Listings go through the caller's authorised engine, so a
 * token sees only the buckets it may read.
 */
import { Binary, Bool, Int32, List, Field, Uint8, Utf8, type Table } from 'apache-arrow';
import type { HangarEngine } from '../../core/engine.js';
import { describedTableSchema } from './column-metadata.js';
import { likeMatcher } from './like-pattern.js';
import { type ColumnSpec, encapsulatedSchema, tableOfRows } from './result-tables.js';

/** The one catalog Hangar reports; it names nothing in SQL (tables are `bucket.frame`). */
export const HANGAR_CATALOG = 'hangar';

/** The one table type: a frame. */
export const FRAME_TABLE_TYPE = 'TABLE';

const text = new Utf8();

/** Result columns of CommandGetCatalogs. */
export const CATALOGS_COLUMNS: readonly ColumnSpec[] = [['catalog_name', text, false]];

/** Result columns of CommandGetDbSchemas. */
export const DB_SCHEMAS_COLUMNS: readonly ColumnSpec[] = [
  ['catalog_name', text, true],
  ['db_schema_name', text, false],
];

/** Result columns of CommandGetTables; `table_schema` only with include_schema. */
export function tablesColumns(includeSchema: boolean): ColumnSpec[] {
  return [
    ['catalog_name', text, true],
    ['db_schema_name', text, true],
    ['table_name', text, false],
    ['table_type', text, false],
    ...(includeSchema ? [['table_schema', new Binary(), false] as ColumnSpec] : []),
  ];
}

/** Result columns of CommandGetTableTypes. */
export const TABLE_TYPES_COLUMNS: readonly ColumnSpec[] = [['table_type', text, false]];

/** Result columns of CommandGetPrimaryKeys. */
export const PRIMARY_KEYS_COLUMNS: readonly ColumnSpec[] = [
  ['catalog_name', text, true],
  ['db_schema_name', text, true],
  ['table_name', text, false],
  ['column_name', text, false],
  ['key_name', text, true],
  ['key_sequence', new Int32(), false],
];

/** Result columns of CommandGetExportedKeys, CommandGetImportedKeys and CommandGetCrossReference. */
export const FOREIGN_KEYS_COLUMNS: readonly ColumnSpec[] = [
  ['pk_catalog_name', text, true],
  ['pk_db_schema_name', text, true],
  ['pk_table_name', text, false],
  ['pk_column_name', text, false],
  ['fk_catalog_name', text, true],
  ['fk_db_schema_name', text, true],
  ['fk_table_name', text, false],
  ['fk_column_name', text, false],
  ['key_sequence', new Int32(), false],
  ['fk_key_name', text, true],
  ['pk_key_name', text, true],
  ['update_rule', new Uint8(), false],
  ['delete_rule', new Uint8(), false],
];

/** Result columns of CommandGetXdbcTypeInfo. */
export const XDBC_TYPE_INFO_COLUMNS: readonly ColumnSpec[] = [
  ['type_name', text, false],
  ['data_type', new Int32(), false],
  ['column_size', new Int32(), true],
  ['literal_prefix', text, true],
  ['literal_suffix', text, true],
  ['create_params', new List(new Field('item', text, false)), true],
  ['nullable', new Int32(), false],
  ['case_sensitive', new Bool(), false],
  ['searchable', new Int32(), false],
  ['unsigned_attribute', new Bool(), true],
  ['fixed_prec_scale', new Bool(), false],
  ['auto_increment', new Bool(), true],
  ['local_type_name', text, true],
  ['minimum_scale', new Int32(), true],
  ['maximum_scale', new Int32(), true],
  ['sql_data_type', new Int32(), false],
  ['datetime_subcode', new Int32(), true],
  ['num_prec_radix', new Int32(), true],
  ['interval_precision', new Int32(), true],
];

/** Whether a catalog filter (absent: any; empty: "no catalog", which no table has) admits Hangar's catalog. */
function catalogMatches(catalog: string | undefined): boolean {
  return catalog === undefined || catalog === HANGAR_CATALOG;
}

/** CommandGetCatalogs: the one catalog. */
export function catalogsTable(): Table {
  return tableOfRows(CATALOGS_COLUMNS, [{ catalog_name: HANGAR_CATALOG }]);
}

/** CommandGetDbSchemas: the readable buckets matching the LIKE pattern, by name. */
export async function dbSchemasTable(engine: HangarEngine, catalog: string | undefined, pattern: string | undefined): Promise<Table> {
  const matches = likeMatcher(pattern);
  const buckets = catalogMatches(catalog) ? (await engine.buckets()).filter(matches).sort() : [];
  return tableOfRows(DB_SCHEMAS_COLUMNS, buckets.map((bucket) => ({ catalog_name: HANGAR_CATALOG, db_schema_name: bucket })));
}

/** What CommandGetTables asks. */
export interface TablesQuery {
  /** Catalog filter. */
  readonly catalog?: string;
  /** LIKE pattern on bucket names. */
  readonly dbSchemaFilterPattern?: string;
  /** LIKE pattern on frame names. */
  readonly tableNameFilterPattern?: string;
  /** Table types to include (empty: all). */
  readonly tableTypes: readonly string[];
  /** Whether to add each frame's Arrow schema. */
  readonly includeSchema: boolean;
}

/** CommandGetTables: the frames of the readable buckets matching the patterns, ordered by bucket and name. */
export async function tablesTable(engine: HangarEngine, query: TablesQuery): Promise<Table> {
  const columns = tablesColumns(query.includeSchema);
  const typeWanted = query.tableTypes.length === 0 || query.tableTypes.some((type) => type.toUpperCase() === FRAME_TABLE_TYPE);
  if (!catalogMatches(query.catalog) || !typeWanted) return tableOfRows(columns, []);
  const bucketMatches = likeMatcher(query.dbSchemaFilterPattern);
  const nameMatches = likeMatcher(query.tableNameFilterPattern);
  const rows: Record<string, unknown>[] = [];
  for (const bucket of (await engine.buckets()).filter(bucketMatches).sort()) {
    const frames = (await engine.list(bucket)).filter((info) => nameMatches(info.name)).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const info of frames) {
      rows.push({
        catalog_name: HANGAR_CATALOG,
        db_schema_name: bucket,
        table_name: info.name,
        table_type: FRAME_TABLE_TYPE,
        ...(query.includeSchema ? { table_schema: encapsulatedSchema(describedTableSchema(info.schema, HANGAR_CATALOG, bucket, info.name)) } : {}),
      });
    }
  }
  return tableOfRows(columns, rows);
}

/** CommandGetTableTypes: frames are tables. */
export function tableTypesTable(): Table {
  return tableOfRows(TABLE_TYPES_COLUMNS, [{ table_type: FRAME_TABLE_TYPE }]);
}

/** CommandGetPrimaryKeys: frames have no keys. */
export function primaryKeysTable(): Table {
  return tableOfRows(PRIMARY_KEYS_COLUMNS, []);
}

/** CommandGetExportedKeys / ImportedKeys / CrossReference: frames have no keys. */
export function foreignKeysTable(): Table {
  return tableOfRows(FOREIGN_KEYS_COLUMNS, []);
}

/** XDBC codes (FlightSql.proto XdbcDataType) and datetime subcodes of the types results can have. */
const XDBC_TYPES: readonly { name: string; code: number; size?: number; prefix?: string; suffix?: string; params?: string[]; caseSensitive?: boolean; fixed?: boolean; unsigned?: boolean; radix?: number; scale?: [number, number]; sqlType?: number; subcode?: number }[] = [
  { name: 'BOOLEAN', code: -7, size: 1 },
  { name: 'TINYINT', code: -6, size: 3, unsigned: false, radix: 10, scale: [0, 0] },
  { name: 'BIGINT', code: -5, size: 19, unsigned: false, radix: 10, scale: [0, 0] },
  { name: 'BLOB', code: -3, prefix: "'", suffix: "'::BLOB" },
  { name: 'VARCHAR', code: 12, prefix: "'", suffix: "'", caseSensitive: true },
  { name: 'DECIMAL', code: 3, size: 38, params: ['precision', 'scale'], fixed: true, unsigned: false, radix: 10, scale: [0, 38] },
  { name: 'INTEGER', code: 4, size: 10, unsigned: false, radix: 10, scale: [0, 0] },
  { name: 'SMALLINT', code: 5, size: 5, unsigned: false, radix: 10, scale: [0, 0] },
  { name: 'FLOAT', code: 6, size: 24, unsigned: false, radix: 2 },
  { name: 'REAL', code: 7, size: 24, unsigned: false, radix: 2 },
  { name: 'DOUBLE', code: 8, size: 53, unsigned: false, radix: 2 },
  { name: 'DATE', code: 91, size: 10, prefix: "DATE '", suffix: "'", sqlType: 9, subcode: 1 },
  { name: 'TIME', code: 92, size: 15, prefix: "TIME '", suffix: "'", sqlType: 9, subcode: 2 },
  { name: 'TIMESTAMP', code: 93, size: 26, prefix: "TIMESTAMP '", suffix: "'", sqlType: 9, subcode: 3 },
];

/** CommandGetXdbcTypeInfo: the SQL types (all, or those of one XDBC code), ordered by code then name. */
export function xdbcTypeInfoTable(dataType: number | undefined): Table {
  const rows = XDBC_TYPES.filter((type) => dataType === undefined || type.code === dataType)
    .slice()
    .sort((a, b) => a.code - b.code || (a.name < b.name ? -1 : 1))
    .map((type) => ({
      type_name: type.name,
      data_type: type.code,
      column_size: type.size ?? null,
      literal_prefix: type.prefix ?? null,
      literal_suffix: type.suffix ?? null,
      create_params: type.params ?? null,
      nullable: 1,
      case_sensitive: type.caseSensitive ?? false,
      searchable: 3,
      unsigned_attribute: type.unsigned ?? null,
      fixed_prec_scale: type.fixed ?? false,
      auto_increment: type.radix === 10 && type.scale?.[1] === 0 ? false : null,
      local_type_name: type.name,
      minimum_scale: type.scale?.[0] ?? null,
      maximum_scale: type.scale?.[1] ?? null,
      sql_data_type: type.sqlType ?? type.code,
      datetime_subcode: type.subcode ?? null,
      num_prec_radix: type.radix ?? null,
      interval_precision: null,
    }));
  return tableOfRows(XDBC_TYPE_INFO_COLUMNS, rows);
}
