/**
 * DuckDB's errors as Hangar errors. DuckDB prefixes each message with its kind ("Binder Error:
 * …"); the kind decides the status. SQL mistakes carry the detail type `DataFusionError`, the type
 * the shoots client turns into its SQL exception.
 */
import {
  CancelledError,
  DeadlineExceededError,
  type HangarError,
  InvalidArgumentError,
  PermissionDeniedError,
  ResourceExhaustedError,
  StorageError,
} from '../../errors.js';

/** Marks the error a value guard raises (value-guards.ts imports it from here). */
export const GENERATED_VALUE_MARKER = 'hangar:generated-value-limit';

/** The detail type of SQL errors (shoots' client maps it to its SQL exception). */
export const SQL_ERROR_TYPE = 'DataFusionError';

/** What was going on when DuckDB failed, to word the error. */
export interface SqlFailureContext {
  /** The query was interrupted because it ran past its timeout (milliseconds). */
  readonly timedOutAfterMs?: number;
  /** The query was interrupted because the client went away. */
  readonly cancelled?: boolean;
}

/** Converts an error thrown by DuckDB. */
export function sqlError(error: unknown, context: SqlFailureContext = {}): HangarError {
  const message = error instanceof Error ? error.message : String(error);
  const kind = /^([A-Za-z ]+?) Error:/.exec(message)?.[1]?.toLowerCase() ?? '';
  if (kind === 'interrupt') {
    if (context.timedOutAfterMs !== undefined) {
      return new DeadlineExceededError(
        `the query ran longer than the server's SQL timeout of ${context.timedOutAfterMs} ms and was stopped; ` +
          'narrow it (filter, aggregate, LIMIT) or ask the operator for a longer --sql-timeout',
        { type: SQL_ERROR_TYPE, cause: error },
      );
    }
    return new CancelledError('the query was cancelled');
  }
  if (kind === 'permission') {
    return new PermissionDeniedError(`${message} (queries may read only the store's frames)`, { type: SQL_ERROR_TYPE, cause: error });
  }
  if (kind === 'out of memory') {
    return new ResourceExhaustedError(
      `${message} (the server's SQL memory limit, shared by all running queries, was reached: reduce the query's working set ` +
        '(filter first, aggregate, fewer columns) or ask the operator for a larger --sql-memory-limit)',
      { type: SQL_ERROR_TYPE, cause: error },
    );
  }
  // A value guard (value-guards.ts) refused to build an oversized value.
  if (message.includes(GENERATED_VALUE_MARKER)) {
    return new ResourceExhaustedError(message.replace(/^[A-Za-z ]+ Error: /, '').replace(`${GENERATED_VALUE_MARKER}: `, ''), { type: SQL_ERROR_TYPE, cause: error });
  }
  if (kind === 'io' || kind === 'internal' || kind === 'fatal' || kind === '') {
    return new StorageError('sql', 'the query failed inside the engine', error);
  }
  return new InvalidArgumentError(message, { type: SQL_ERROR_TYPE, cause: error });
}
