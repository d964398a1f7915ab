/**
 * CommandGetSqlInfo: what Hangar tells SQL clients about itself (server name and version, read-only
 * SQL, bulk ingest, no transactions, identifier quoting and case, supported SQL), as the spec's
 * table of `info_name: uint32` and a dense union of value kinds.
 */
import {
  Bool,
  type Data,
  DenseUnion,
  Field,
  Int32,
  Int64,
  List,
  Map_,
  Struct,
  type Table,
  Uint32,
  Utf8,
  makeData,
} from 'apache-arrow';
import { PREPARED_STATEMENT_IDLE_MS } from './prepared-statements.js';
import { type ColumnSpec, columnData, schemaOf, tableOf } from './result-tables.js';

/** SqlInfo ids (FlightSql.proto enum SqlInfo) Hangar answers. */
export const SqlInfoId = {
  FLIGHT_SQL_SERVER_NAME: 0,
  FLIGHT_SQL_SERVER_VERSION: 1,
  FLIGHT_SQL_SERVER_ARROW_VERSION: 2,
  FLIGHT_SQL_SERVER_READ_ONLY: 3,
  FLIGHT_SQL_SERVER_SQL: 4,
  FLIGHT_SQL_SERVER_SUBSTRAIT: 5,
  FLIGHT_SQL_SERVER_TRANSACTION: 8,
  FLIGHT_SQL_SERVER_CANCEL: 9,
  FLIGHT_SQL_SERVER_BULK_INGESTION: 10,
  FLIGHT_SQL_SERVER_INGEST_TRANSACTIONS_SUPPORTED: 11,
  FLIGHT_SQL_SERVER_STATEMENT_TIMEOUT: 100,
  FLIGHT_SQL_SERVER_TRANSACTION_TIMEOUT: 101,
  SQL_DDL_CATALOG: 500,
  SQL_DDL_SCHEMA: 501,
  SQL_DDL_TABLE: 502,
  SQL_IDENTIFIER_CASE: 503,
  SQL_IDENTIFIER_QUOTE_CHAR: 504,
  SQL_QUOTED_IDENTIFIER_CASE: 505,
  SQL_ALL_TABLES_ARE_SELECTABLE: 506,
  SQL_NULL_ORDERING: 507,
  SQL_KEYWORDS: 508,
  SQL_NUMERIC_FUNCTIONS: 509,
  SQL_STRING_FUNCTIONS: 510,
  SQL_SYSTEM_FUNCTIONS: 511,
  SQL_DATETIME_FUNCTIONS: 512,
  SQL_SEARCH_STRING_ESCAPE: 513,
  SQL_EXTRA_NAME_CHARACTERS: 514,
  SQL_SUPPORTS_COLUMN_ALIASING: 515,
  SQL_NULL_PLUS_NULL_IS_NULL: 516,
  SQL_SUPPORTS_CONVERT: 517,
  SQL_SUPPORTS_TABLE_CORRELATION_NAMES: 518,
  SQL_SUPPORTS_DIFFERENT_TABLE_CORRELATION_NAMES: 519,
  SQL_SUPPORTS_EXPRESSIONS_IN_ORDER_BY: 520,
  SQL_SUPPORTS_ORDER_BY_UNRELATED: 521,
  SQL_SUPPORTED_GROUP_BY: 522,
  SQL_SUPPORTS_LIKE_ESCAPE_CLAUSE: 523,
  SQL_SUPPORTS_NON_NULLABLE_COLUMNS: 524,
  SQL_SUPPORTED_GRAMMAR: 525,
  SQL_ANSI92_SUPPORTED_LEVEL: 526,
  SQL_SUPPORTS_INTEGRITY_ENHANCEMENT_FACILITY: 527,
  SQL_OUTER_JOINS_SUPPORT_LEVEL: 528,
  SQL_SCHEMA_TERM: 529,
  SQL_PROCEDURE_TERM: 530,
  SQL_CATALOG_TERM: 531,
  SQL_CATALOG_AT_START: 532,
  SQL_SCHEMAS_SUPPORTED_ACTIONS: 533,
  SQL_CATALOGS_SUPPORTED_ACTIONS: 534,
  SQL_SUPPORTED_POSITIONED_COMMANDS: 535,
  SQL_SELECT_FOR_UPDATE_SUPPORTED: 536,
  SQL_STORED_PROCEDURES_SUPPORTED: 537,
  SQL_SUPPORTED_SUBQUERIES: 538,
  SQL_CORRELATED_SUBQUERIES_SUPPORTED: 539,
  SQL_SUPPORTED_UNIONS: 540,
  SQL_DEFAULT_TRANSACTION_ISOLATION: 562,
  SQL_TRANSACTIONS_SUPPORTED: 563,
  SQL_SUPPORTED_TRANSACTIONS_ISOLATION_LEVELS: 564,
  SQL_DATA_DEFINITION_CAUSES_TRANSACTION_COMMIT: 565,
  SQL_DATA_DEFINITIONS_IN_TRANSACTIONS_IGNORED: 566,
  SQL_SUPPORTED_RESULT_SET_TYPES: 567,
  SQL_SUPPORTED_CONCURRENCIES_FOR_RESULT_SET_UNSPECIFIED: 568,
  SQL_SUPPORTED_CONCURRENCIES_FOR_RESULT_SET_FORWARD_ONLY: 569,
  SQL_SUPPORTED_CONCURRENCIES_FOR_RESULT_SET_SCROLL_SENSITIVE: 570,
  SQL_SUPPORTED_CONCURRENCIES_FOR_RESULT_SET_SCROLL_INSENSITIVE: 571,
  SQL_BATCH_UPDATES_SUPPORTED: 572,
  SQL_SAVEPOINTS_SUPPORTED: 573,
  SQL_NAMED_PARAMETERS_SUPPORTED: 574,
  SQL_LOCATORS_UPDATE_COPY: 575,
  SQL_STORED_FUNCTIONS_USING_CALL_SYNTAX_SUPPORTED: 576,
} as const;

/** One SqlInfo value: the union member it goes in is chosen by its kind. */
export type SqlInfoValue =
  | { readonly string: string }
  | { readonly bool: boolean }
  | { readonly bigint: bigint }
  | { readonly bitmask: number }
  | { readonly list: readonly string[] }
  | { readonly map: ReadonlyMap<number, readonly number[]> };

/** Union type codes, in the spec's order. */
const STRING = 0;
const BOOL = 1;
const BIGINT = 2;
const BITMASK = 3;
const LIST = 4;
const MAP = 5;

const stringList = new List(new Field('item', new Utf8(), true));
const int32List = new List(new Field('item', new Int32(), true));
const int32ToInt32List = new Map_(
  new Field('entries', new Struct<{ key: Int32; value: List<Int32> }>([new Field('key', new Int32(), false), new Field('value', int32List, true)]), false),
);
const valueUnion = new DenseUnion(
  [STRING, BOOL, BIGINT, BITMASK, LIST, MAP],
  [
    new Field('string_value', new Utf8(), true),
    new Field('bool_value', new Bool(), true),
    new Field('bigint_value', new Int64(), true),
    new Field('int32_bitmask', new Int32(), true),
    new Field('string_list', stringList, true),
    new Field('int32_to_int32_list_map', int32ToInt32List, true),
  ],
);

/** The result columns of CommandGetSqlInfo. */
export const SQL_INFO_COLUMNS: readonly ColumnSpec[] = [
  ['info_name', new Uint32(), false],
  ['value', valueUnion, false],
];

/** What Hangar says about itself, by SqlInfo id. */
export function hangarSqlInfo(serverVersion: string): Map<number, SqlInfoValue> {
  const yes = { bool: true };
  const no = { bool: false };
  const none = { bitmask: 0 };
  const unlimited = { bigint: 0n };
  const id = SqlInfoId;
  return new Map<number, SqlInfoValue>([
    [id.FLIGHT_SQL_SERVER_NAME, { string: 'Hangar' }],
    [id.FLIGHT_SQL_SERVER_VERSION, { string: serverVersion }],
    [id.FLIGHT_SQL_SERVER_ARROW_VERSION, { string: '21.2.0' }],
    // SQL statements cannot change data (bulk ingest, below, can).
    [id.FLIGHT_SQL_SERVER_READ_ONLY, yes],
    [id.FLIGHT_SQL_SERVER_SQL, yes],
    [id.FLIGHT_SQL_SERVER_SUBSTRAIT, no],
    [id.FLIGHT_SQL_SERVER_TRANSACTION, { bitmask: 0 }],
    [id.FLIGHT_SQL_SERVER_CANCEL, no],
    [id.FLIGHT_SQL_SERVER_BULK_INGESTION, yes],
    [id.FLIGHT_SQL_SERVER_INGEST_TRANSACTIONS_SUPPORTED, no],
    // Prepared statement handles close after this long unused (prepared-statements.ts); an int32.
    [id.FLIGHT_SQL_SERVER_STATEMENT_TIMEOUT, { bitmask: PREPARED_STATEMENT_IDLE_MS }],
    [id.FLIGHT_SQL_SERVER_TRANSACTION_TIMEOUT, { bitmask: 0 }],
    [id.SQL_DDL_CATALOG, no],
    [id.SQL_DDL_SCHEMA, no],
    [id.SQL_DDL_TABLE, no],
    // DuckDB resolves identifiers case-insensitively, quoted or not (SqlSupportedCaseSensitivity 1).
    [id.SQL_IDENTIFIER_CASE, { bitmask: 1 }],
    [id.SQL_IDENTIFIER_QUOTE_CHAR, { string: '"' }],
    [id.SQL_QUOTED_IDENTIFIER_CASE, { bitmask: 1 }],
    [id.SQL_ALL_TABLES_ARE_SELECTABLE, yes],
    // DuckDB sorts NULLs last in ascending order (SqlNullOrdering SQL_NULLS_SORTED_AT_END).
    [id.SQL_NULL_ORDERING, { bitmask: 3 }],
    [id.SQL_KEYWORDS, { list: ['ASOF', 'ILIKE', 'PIVOT', 'QUALIFY', 'SAMPLE', 'UNPIVOT'] }],
    [id.SQL_NUMERIC_FUNCTIONS, { list: ['abs', 'ceil', 'floor', 'round', 'sqrt', 'ln', 'log10', 'pow', 'exp', 'sign'] }],
    [id.SQL_STRING_FUNCTIONS, { list: ['concat', 'length', 'lower', 'upper', 'trim', 'substring', 'replace', 'strpos', 'regexp_matches'] }],
    [id.SQL_SYSTEM_FUNCTIONS, { list: ['coalesce', 'ifnull', 'nullif', 'typeof'] }],
    [id.SQL_DATETIME_FUNCTIONS, { list: ['now', 'date_trunc', 'date_part', 'time_bucket', 'strftime', 'epoch_ms', 'make_timestamp'] }],
    [id.SQL_SEARCH_STRING_ESCAPE, { string: '\\' }],
    [id.SQL_EXTRA_NAME_CHARACTERS, { string: '' }],
    [id.SQL_SUPPORTS_COLUMN_ALIASING, yes],
    [id.SQL_NULL_PLUS_NULL_IS_NULL, yes],
    [id.SQL_SUPPORTS_CONVERT, { map: new Map() }],
    [id.SQL_SUPPORTS_TABLE_CORRELATION_NAMES, yes],
    [id.SQL_SUPPORTS_DIFFERENT_TABLE_CORRELATION_NAMES, no],
    [id.SQL_SUPPORTS_EXPRESSIONS_IN_ORDER_BY, yes],
    [id.SQL_SUPPORTS_ORDER_BY_UNRELATED, yes],
    // Bit 0 SQL_GROUP_BY_UNRELATED, bit 1 SQL_GROUP_BY_BEYOND_SELECT.
    [id.SQL_SUPPORTED_GROUP_BY, { bitmask: 0b11 }],
    [id.SQL_SUPPORTS_LIKE_ESCAPE_CLAUSE, yes],
    [id.SQL_SUPPORTS_NON_NULLABLE_COLUMNS, yes],
    // Minimum, core and extended grammar; ANSI-92 entry and intermediate.
    [id.SQL_SUPPORTED_GRAMMAR, { bitmask: 0b111 }],
    [id.SQL_ANSI92_SUPPORTED_LEVEL, { bitmask: 0b11 }],
    [id.SQL_SUPPORTS_INTEGRITY_ENHANCEMENT_FACILITY, no],
    // SqlOuterJoinsSupportLevel SQL_FULL_OUTER_JOINS.
    [id.SQL_OUTER_JOINS_SUPPORT_LEVEL, { bitmask: 2 }],
    [id.SQL_SCHEMA_TERM, { string: 'bucket' }],
    [id.SQL_PROCEDURE_TERM, { string: 'procedure' }],
    [id.SQL_CATALOG_TERM, { string: 'catalog' }],
    [id.SQL_CATALOG_AT_START, yes],
    [id.SQL_SCHEMAS_SUPPORTED_ACTIONS, none],
    [id.SQL_CATALOGS_SUPPORTED_ACTIONS, none],
    [id.SQL_SUPPORTED_POSITIONED_COMMANDS, none],
    [id.SQL_SELECT_FOR_UPDATE_SUPPORTED, no],
    [id.SQL_STORED_PROCEDURES_SUPPORTED, no],
    // Subqueries in comparisons, EXISTS, IN and quantified comparisons.
    [id.SQL_SUPPORTED_SUBQUERIES, { bitmask: 0b1111 }],
    [id.SQL_CORRELATED_SUBQUERIES_SUPPORTED, yes],
    [id.SQL_SUPPORTED_UNIONS, { bitmask: 0b11 }],
    ...[541, 542, 543, 544, 545, 546, 547, 548, 549, 550, 551, 552, 553, 554, 555, 557, 558, 559, 560, 561].map(
      (limit) => [limit, unlimited] as [number, SqlInfoValue],
    ),
    [556, no],
    [id.SQL_DEFAULT_TRANSACTION_ISOLATION, { bitmask: 0 }],
    [id.SQL_TRANSACTIONS_SUPPORTED, no],
    [id.SQL_SUPPORTED_TRANSACTIONS_ISOLATION_LEVELS, none],
    [id.SQL_DATA_DEFINITION_CAUSES_TRANSACTION_COMMIT, no],
    [id.SQL_DATA_DEFINITIONS_IN_TRANSACTIONS_IGNORED, no],
    // Forward-only result sets (bit 1), read-only (bit 1 of the concurrencies).
    [id.SQL_SUPPORTED_RESULT_SET_TYPES, { bitmask: 0b10 }],
    [id.SQL_SUPPORTED_CONCURRENCIES_FOR_RESULT_SET_UNSPECIFIED, none],
    [id.SQL_SUPPORTED_CONCURRENCIES_FOR_RESULT_SET_FORWARD_ONLY, { bitmask: 0b10 }],
    [id.SQL_SUPPORTED_CONCURRENCIES_FOR_RESULT_SET_SCROLL_SENSITIVE, none],
    [id.SQL_SUPPORTED_CONCURRENCIES_FOR_RESULT_SET_SCROLL_INSENSITIVE, none],
    [id.SQL_BATCH_UPDATES_SUPPORTED, no],
    [id.SQL_SAVEPOINTS_SUPPORTED, no],
    [id.SQL_NAMED_PARAMETERS_SUPPORTED, no],
    [id.SQL_LOCATORS_UPDATE_COPY, no],
    [id.SQL_STORED_FUNCTIONS_USING_CALL_SYNTAX_SUPPORTED, no],
  ]);
}

function kindOf(value: SqlInfoValue): number {
  if ('string' in value) return STRING;
  if ('bool' in value) return BOOL;
  if ('bigint' in value) return BIGINT;
  if ('bitmask' in value) return BITMASK;
  if ('list' in value) return LIST;
  return MAP;
}

/**
 * The CommandGetSqlInfo result for the ids asked (all when none are), in the order asked; ids
 * Hangar has no value for are left out.
 */
export function sqlInfoTable(info: ReadonlyMap<number, SqlInfoValue>, requested: readonly number[]): Table {
  const ids = requested.length === 0 ? [...info.keys()].sort((a, b) => a - b) : requested.filter((id) => info.has(id));
  const members: unknown[][] = [[], [], [], [], [], []];
  const typeIds = new Int8Array(ids.length);
  const offsets = new Int32Array(ids.length);
  ids.forEach((id, row) => {
    const value = info.get(id)!;
    const kind = kindOf(value);
    typeIds[row] = kind;
    offsets[row] = members[kind]!.length;
    const plain =
      'string' in value
        ? value.string
        : 'bool' in value
          ? value.bool
          : 'bigint' in value
            ? value.bigint
            : 'bitmask' in value
              ? value.bitmask
              : 'list' in value
                ? [...value.list]
                : new Map([...value.map].map(([key, list]) => [key, [...list]]));
    members[kind]!.push(plain);
  });
  const children: Data[] = valueUnion.children.map((field, kind) => columnData(field.type, members[kind]!));
  const union = makeData({ type: valueUnion, length: ids.length, nullCount: 0, typeIds, valueOffsets: offsets, children });
  const schema = schemaOf(SQL_INFO_COLUMNS);
  return tableOf(schema, [columnData(new Uint32(), ids), union], ids.length);
}

/** The type code of the union member `kind` holds (exported for tests). */
export const SQL_INFO_UNION_CODES = { STRING, BOOL, BIGINT, BITMASK, LIST, MAP } as const;
