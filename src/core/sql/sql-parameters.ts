/**
 * Values bound to a query's `?` / `$n` parameters (Flight SQL prepared statements send them as an
 * Arrow batch), and binding them to a DuckDB prepared statement by their kind.
 */
import { DuckDBDateValue, type DuckDBPreparedStatement, DuckDBTimestampValue } from '@duckdb/node-api';
import { InvalidArgumentError } from '../../errors.js';

/**
 * One parameter value: SQL NULL, a boolean, an integer (bigint), a floating-point number, text,
 * bytes, a timestamp (microseconds since the epoch, UTC) or a date (days since the epoch).
 */
export type SqlParameter =
  | null
  | boolean
  | bigint
  | number
  | string
  | Uint8Array
  | { readonly timestampMicros: bigint }
  | { readonly dateDays: number };

/**
 * Binds `values` to the statement's parameters in order, after clearing earlier bindings (a pooled
 * statement is reused across queries).
 * @throws InvalidArgumentError when the count differs from the statement's parameters
 */
export function bindSqlParameters(prepared: DuckDBPreparedStatement, values: readonly SqlParameter[]): void {
  if (values.length !== prepared.parameterCount) {
    throw new InvalidArgumentError(
      `the query has ${prepared.parameterCount} parameter(s) but ${values.length} value(s) were bound; bind one value per parameter`,
    );
  }
  prepared.clearBindings();
  values.forEach((value, i) => {
    const index = i + 1;
    if (value === null) prepared.bindNull(index);
    else if (typeof value === 'boolean') prepared.bindBoolean(index, value);
    else if (typeof value === 'bigint') prepared.bindBigInt(index, value);
    else if (typeof value === 'number') prepared.bindDouble(index, value);
    else if (typeof value === 'string') prepared.bindVarchar(index, value);
    else if (value instanceof Uint8Array) prepared.bindBlob(index, value);
    else if ('timestampMicros' in value) prepared.bindTimestamp(index, new DuckDBTimestampValue(value.timestampMicros));
    else prepared.bindDate(index, new DuckDBDateValue(value.dateDays));
  });
}
