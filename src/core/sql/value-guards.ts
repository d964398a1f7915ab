/**
 * Bounds on the SQL functions that build one value from a size argument (`repeat`, `lpad`,
 * `rpad`, `range`, `generate_series`, `list_resize`, `array_resize`). DuckDB builds such values
 * outside its memory accounting, 2048 rows at a time: `SELECT repeat('x', 3000000000)` made a
 * 3 GB string whatever the memory limit, and `SELECT list(range(0, 1000000000))` grew the
 * process past 24 GB. Each connection gets TEMP macros of the same names, which shadow the
 * built-ins, check the size first and call the built-in (`system.main.…`) only when it fits;
 * {@link assertNoGuardBypass} refuses queries that name the built-ins directly, or that run SQL
 * text built at run time (`query()`), which could.
 */
import { forEachSqlNode, serializeSql } from './sql-tree.js';
import type { DuckDBConnection } from '@duckdb/node-api';
import { PermissionDeniedError, ResourceExhaustedError } from '../../errors.js';
import { GENERATED_VALUE_MARKER, SQL_ERROR_TYPE } from './sql-errors.js';
import { formatBytes } from './sql-limits.js';
import { sqlString } from './sql-sandbox.js';

/** Functions shadowed by a guard (lower case). */
const GUARDED = ['repeat', 'lpad', 'rpad', 'range', 'generate_series', 'list_resize', 'array_resize'] as const;

/** A guarded function called after a dot (qualified, or chained as `column.repeat(n)`). */
const QUALIFIED_CALL = new RegExp(`\\.\\s*"?(${GUARDED.join('|')})"?\\s*\\(`, 'i');
/** Table functions that run SQL given as a value, which no check of the query's text could see into. */
const DYNAMIC_SQL = ['query', 'query_table', 'json_execute_serialized_sql'] as const;
const DYNAMIC_SQL_CALL = new RegExp(`\\b(${DYNAMIC_SQL.join('|')})"?\\s*\\(`, 'i');
/** A cheap first look: could the text name `system`, run dynamic SQL, or call a guarded function after a dot? */
const MAY_BYPASS = new RegExp(`system|query|json_execute|${QUALIFIED_CALL.source}`, 'i');

/**
 * The statements creating the guards on one connection, for values of at most `maxBytes`.
 * Sizes are upper estimates: 8 bytes per range element, 16 per resized-list element, 4 per
 * padded character, and the text length of a repeated value (its bytes, or more for lists and blobs).
 */
export function valueGuardStatements(maxBytes: number): string[] {
  const refuse = (what: string): string =>
    `error(${sqlString(`${GENERATED_VALUE_MARKER}: ${what} would build a value over the server's limit of ${formatBytes(maxBytes)} per generated value (the SQL memory limit / 2048, as DuckDB builds 2048 rows at once outside its memory accounting); use a smaller size, or ask the operator for a larger --sql-memory-limit`)})`;
  const guard = (over: string, what: string, call: string): string => `CASE WHEN ${over} > ${maxBytes} THEN ${refuse(what)} ELSE ${call} END`;
  // Numbers and times alike: whichever reading of the arguments parses gives the element count.
  const steps =
    '(coalesce((try_cast(CAST(b AS VARCHAR) AS DOUBLE) - try_cast(CAST(a AS VARCHAR) AS DOUBLE)) / nullif(try_cast(CAST(c AS VARCHAR) AS DOUBLE), 0), ' +
    '(epoch(try_cast(CAST(b AS VARCHAR) AS TIMESTAMPTZ)) - epoch(try_cast(CAST(a AS VARCHAR) AS TIMESTAMPTZ))) / nullif(epoch(try_cast(CAST(c AS VARCHAR) AS INTERVAL)), 0)))';
  const series = (name: string): string =>
    `CREATE OR REPLACE TEMP MACRO ${name}(a) AS ${guard('greatest(a, 0)::HUGEINT * 8', `${name}()`, `system.main.${name}(a)`)}, ` +
    `(a, b) AS ${guard('(b - a)::HUGEINT * 8', `${name}()`, `system.main.${name}(a, b)`)}, ` +
    `(a, b, c) AS ${guard(`abs(${steps}) * 8`, `${name}()`, `system.main.${name}(a, b, c)`)}`;
  const resize = (name: string): string =>
    `CREATE OR REPLACE TEMP MACRO ${name}(l, n) AS ${guard('greatest(n, 0)::HUGEINT * 16', `${name}()`, `system.main.${name}(l, n)`)}, ` +
    `(l, n, v) AS ${guard('greatest(n, 0)::HUGEINT * 16', `${name}()`, `system.main.${name}(l, n, v)`)}`;
  const pad = (name: string): string =>
    `CREATE OR REPLACE TEMP MACRO ${name}(s, n, p) AS ${guard('greatest(n, 0)::HUGEINT * 4', `${name}()`, `system.main.${name}(s, n, p)`)}`;
  return [
    `CREATE OR REPLACE TEMP MACRO repeat(s, n) AS ${guard('strlen(CAST(s AS VARCHAR)) * greatest(n, 0)::HUGEINT', 'repeat()', 'system.main.repeat(s, n)')}`,
    pad('lpad'),
    pad('rpad'),
    series('range'),
    series('generate_series'),
    resize('list_resize'),
    resize('array_resize'),
  ];
}

/** Creates the guards on a new connection. */
export async function installValueGuards(connection: DuckDBConnection, maxBytes: number): Promise<void> {
  await connection.run(valueGuardStatements(maxBytes).join('; '));
}

/**
 * Refuses a query that calls a guarded function by a qualified name (`system.main.repeat(…)`),
 * which would reach the unguarded built-in, or that runs SQL from a value (`query('…')`). Only
 * texts that could do either are parsed.
 * @throws ResourceExhaustedError for a qualified call, PermissionDeniedError for dynamic SQL
 *   (detail type DataFusionError)
 */
export async function assertNoGuardBypass(connection: DuckDBConnection, sql: string): Promise<void> {
  if (!MAY_BYPASS.test(sql)) return;
  const tree = await serializeSql(connection, sql);
  const refuse = (name: string): never => {
    throw new ResourceExhaustedError(`call ${name}() by its plain name: the server bounds the size of the values it builds, and a qualified name would bypass that`, {
      type: SQL_ERROR_TYPE,
    });
  };
  const refuseDynamic = (name: string): never => {
    throw new PermissionDeniedError(`${name}() runs SQL text made at run time, which the server cannot check; write the query itself instead`, {
      type: SQL_ERROR_TYPE,
    });
  };
  if (tree.error) {
    // Not a plain SELECT (EXPLAIN ANALYZE runs its query too): judge by the text alone.
    const qualified = QUALIFIED_CALL.exec(sql);
    if (qualified) refuse(qualified[1]!.toLowerCase());
    const dynamic = DYNAMIC_SQL_CALL.exec(sql);
    if (dynamic) refuseDynamic(dynamic[1]!.toLowerCase());
    return;
  }
  const guarded = new Set<string>(GUARDED);
  const dynamicSql = new Set<string>(DYNAMIC_SQL);
  forEachSqlNode(tree, (record) => {
    const name = typeof record.function_name === 'string' ? record.function_name.toLowerCase() : undefined;
    if (record.class === 'FUNCTION' && name !== undefined) {
      if (guarded.has(name) && (record.catalog || record.schema)) refuse(name);
      if (dynamicSql.has(name)) refuseDynamic(name);
    }
  });
}
