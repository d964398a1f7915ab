/**
 * Recognises statements that would change data by their first keyword, so Flight SQL clients are
 * told plainly that Hangar is read-only for SQL before DuckDB reports a binder error about views.
 * Only the message depends on this: the SQL engine refuses every statement that is not a query.
 */
import { PermissionDeniedError } from '../../errors.js';

const WRITE_KEYWORDS = new Set([
  'INSERT', 'UPDATE', 'DELETE', 'MERGE', 'UPSERT', 'TRUNCATE', 'CREATE', 'DROP', 'ALTER', 'COPY', 'ATTACH', 'DETACH',
  'INSTALL', 'LOAD', 'IMPORT', 'EXPORT', 'VACUUM', 'CHECKPOINT', 'BEGIN', 'COMMIT', 'ROLLBACK', 'SET', 'RESET', 'PRAGMA', 'CALL',
]);

/** The first keyword of a statement, past whitespace, comments and opening parentheses. */
function firstKeyword(sql: string): string {
  const text = sql.replace(/^(?:\s+|--[^\n]*(?:\n|$)|\/\*[\s\S]*?\*\/|\()*/u, '');
  return /^[A-Za-z]+/u.exec(text)?.[0]?.toUpperCase() ?? '';
}

/** @throws PermissionDeniedError naming the statement when it would change data or settings */
export function refuseWriteStatement(sql: string): void {
  const keyword = firstKeyword(sql);
  if (!WRITE_KEYWORDS.has(keyword)) return;
  throw new PermissionDeniedError(
    `Hangar is read-only for SQL (SqlInfo FLIGHT_SQL_SERVER_READ_ONLY): ${keyword} statements are refused. ` +
      'Write frames with bulk ingest (ADBC adbc_ingest, CommandStatementIngest) or Hangar\'s own DoPut',
  );
}
