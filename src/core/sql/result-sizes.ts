/**
 * Which queries run materialized. DuckDB streams a result as the chunks its operators produce, and
 * a filter's chunks are small: `WHERE f0 > 2.326` over 1M rows (~1 % kept) came back as 489 chunks
 * of ~20 rows, each fetched by its own native call through libuv's thread pool (bench/compare.py
 * W7 S2). A materialized result is gathered into full chunks, read synchronously. But it holds the
 * whole result in memory until it is sent, so only a query known to be small runs that way: a
 * statement kept for reuse (session-pool.ts: same text, same views) whose last complete result had
 * at most {@link MATERIALIZE_MAX_BYTES} of Arrow data. Its views are unchanged since then, so it
 * reads the same rows; statements with parameters are excluded (other values, another size).
 */
import type { DuckDBPreparedStatement } from '@duckdb/node-api';

/** Largest last result (Arrow bytes) of a statement that then runs materialized. */
export const MATERIALIZE_MAX_BYTES = 16 * 1024 * 1024;

/** The last complete result size of each kept statement. One per SQL engine. */
export class ResultSizes {
  private readonly bytes = new WeakMap<DuckDBPreparedStatement, number>();

  /** @param maxBytes - results up to this many Arrow bytes are materialized when repeated */
  constructor(private readonly maxBytes: number = MATERIALIZE_MAX_BYTES) {}

  /** Whether the statement's next run should be materialized. */
  materialize(prepared: DuckDBPreparedStatement): boolean {
    if (prepared.parameterCount > 0) return false;
    const last = this.bytes.get(prepared);
    return last !== undefined && last <= this.maxBytes;
  }

  /** Records a complete result of the statement (Arrow bytes, as the result budget counted them). */
  record(prepared: DuckDBPreparedStatement, bytes: number): void {
    if (prepared.parameterCount > 0) return;
    this.bytes.set(prepared, bytes);
  }
}
