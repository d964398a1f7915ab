/**
 * The per-query result-size limit: the DuckDB→Arrow bridge charges every byte before it copies or
 * allocates it, so a result over the limit fails before its bytes exist in JavaScript.
 */
import { ResourceExhaustedError } from '../../errors.js';
import { formatBytes } from './sql-limits.js';
import { SQL_ERROR_TYPE } from './sql-errors.js';

/** Counts the Arrow bytes one query's result has produced against its limit. */
export class ResultBudget {
  /** Bytes charged so far. */
  used = 0;

  /** @param limit - largest total of Arrow bytes the result may have */
  constructor(readonly limit: number) {}

  /**
   * Records `bytes` more of the result.
   * @throws ResourceExhaustedError (detail type DataFusionError) once the total passes the limit
   */
  charge(bytes: number): void {
    this.used += bytes;
    if (this.used > this.limit) {
      throw new ResourceExhaustedError(
        `the query's result is larger than the server's limit of ${formatBytes(this.limit)} per query (--sql-max-result-bytes); ` +
          'it was stopped before sending more. Narrow the query (filter, aggregate, fewer columns, LIMIT), ' +
          'read the frame with a plain get, or ask the operator to raise --sql-max-result-bytes',
        { type: SQL_ERROR_TYPE },
      );
    }
  }
}
