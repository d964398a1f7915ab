/** DuckDB's own parse of a statement (`json_serialize_sql`), and a walker over it. */
import type { DuckDBConnection } from '@duckdb/node-api';
import { sqlString } from './sql-sandbox.js';

/** The serialised parse tree; `error` is set when DuckDB could not serialise the statement. */
export interface SerializedSql {
  readonly error?: boolean;
  readonly error_type?: string;
  readonly error_message?: string;
}

/** Parses `sql` with DuckDB (nothing runs) and returns its serialised tree. */
export async function serializeSql(connection: DuckDBConnection, sql: string): Promise<SerializedSql> {
  const reader = await connection.runAndReadAll(`SELECT json_serialize_sql(${sqlString(sql)})`);
  return JSON.parse(String(reader.getRows()[0]?.[0])) as SerializedSql;
}

/** Calls `visit` on every object node of a serialised SQL tree, parents before children. */
export function forEachSqlNode(tree: unknown, visit: (node: Record<string, unknown>) => void): void {
  if (Array.isArray(tree)) {
    for (const item of tree) forEachSqlNode(item, visit);
    return;
  }
  if (tree === null || typeof tree !== 'object') return;
  const node = tree as Record<string, unknown>;
  visit(node);
  for (const value of Object.values(node)) forEachSqlNode(value, visit);
}
