/**
 * DuckDB results as Arrow record batches: chunks of 2048 rows are gathered column by column into
 * batches of about `batchBytes`, so a client receives a few large messages, not thousands of small
 * ones, and memory stays bounded by one batch per query. A result budget (result-budget.ts) stops
 * a result over the size limit before its bytes are copied.
 */
import duckdb from '@duckdb/node-bindings';
import { type DuckDBDataChunk, DuckDBMaterializedResult, type DuckDBResult, type DuckDBType, DuckDBTypeId } from '@duckdb/node-api';
import { Field, RecordBatch, Schema, Struct, makeData } from 'apache-arrow';
import { type ColumnAccumulator, columnAccumulator } from './arrow-columns.js';
import type { ResultBudget } from './result-budget.js';

/** Assembles record batches from DuckDB data chunks of one result. */
export class ArrowBatchBuilder {
  /** The Arrow schema of the result. */
  readonly schema: Schema;
  /** Rows per batch, from the columns' estimated widths. */
  readonly batchRows: number;
  private readonly columns: ColumnAccumulator[];
  /** Rows appended since the last batch. */
  rows = 0;

  /**
   * @param names result column names
   * @param types result column types
   * @param batchBytes target Arrow bytes per batch
   * @param budget charged with the result's bytes before they are copied
   */
  constructor(names: readonly string[], types: readonly DuckDBType[], batchBytes: number, budget?: ResultBudget) {
    const rowBytes = Math.max(1, types.reduce((sum, type) => sum + estimatedWidth(type), 0));
    this.batchRows = Math.max(2048, Math.floor(batchBytes / rowBytes / 2048) * 2048);
    const ids = { next: 0 };
    this.columns = types.map((type) => columnAccumulator(type, ids, this.batchRows, budget));
    this.schema = new Schema(this.columns.map((column, i) => new Field(names[i]!, column.type, true)));
  }

  /** Appends a chunk's rows. */
  append(chunk: DuckDBDataChunk): void {
    const count = chunk.rowCount;
    if (count === 0) return;
    this.columns.forEach((column, i) => column.append(duckdb.data_chunk_get_vector(chunk.chunk, i), 0, count));
    this.rows += count;
  }

  /** The batch of the rows appended so far; the builder starts over. */
  take(): RecordBatch {
    const length = this.rows;
    this.rows = 0;
    const children = this.columns.map((column) => column.take());
    return new RecordBatch(this.schema, makeData({ type: new Struct(this.schema.fields), length, nullCount: 0, children }));
  }
}

/** A rough Arrow width of a value, for sizing batches. */
function estimatedWidth(type: DuckDBType): number {
  switch (type.typeId) {
    case DuckDBTypeId.BOOLEAN:
    case DuckDBTypeId.TINYINT:
    case DuckDBTypeId.UTINYINT:
    case DuckDBTypeId.ENUM:
      return 1;
    case DuckDBTypeId.SMALLINT:
    case DuckDBTypeId.USMALLINT:
      return 2;
    case DuckDBTypeId.INTEGER:
    case DuckDBTypeId.UINTEGER:
    case DuckDBTypeId.FLOAT:
    case DuckDBTypeId.DATE:
      return 4;
    case DuckDBTypeId.DECIMAL:
    case DuckDBTypeId.HUGEINT:
      return 16;
    case DuckDBTypeId.VARCHAR:
    case DuckDBTypeId.BLOB:
      return 24;
    case DuckDBTypeId.LIST:
    case DuckDBTypeId.MAP:
    case DuckDBTypeId.STRUCT:
    case DuckDBTypeId.ARRAY:
      return 64;
    default:
      return 8;
  }
}

/**
 * Streams a DuckDB result as record batches of about `batchBytes`, charging `budget` (when given)
 * as chunks are converted: a result over its limit throws ResourceExhaustedError. Yields at least one batch
 * (possibly empty) so the schema always reaches the client. (Cancellation interrupts the query,
 * which ends the result with an error.)
 *
 * A streamed result's next chunk is fetched while the current one is converted: DuckDB produces it
 * on its own thread, so the two overlap on a multi-core machine. A materialized result's chunks are
 * read synchronously, with no native call through libuv's thread pool per chunk (result-sizes.ts).
 */
export async function* resultBatches(result: DuckDBResult, batchBytes: number, budget?: ResultBudget): AsyncGenerator<RecordBatch> {
  const builder = new ArrowBatchBuilder(result.columnNames(), result.columnTypes(), batchBytes, budget);
  let sent = false;
  if (result instanceof DuckDBMaterializedResult) {
    const chunks = result.chunkCount;
    for (let i = 0; i < chunks; i++) {
      builder.append(result.getChunk(i));
      if (builder.rows >= builder.batchRows) {
        yield builder.take();
        sent = true;
      }
    }
    if (builder.rows > 0 || !sent) yield builder.take();
    return;
  }
  let next: Promise<DuckDBDataChunk | null> | undefined = result.fetchChunk();
  try {
    for (;;) {
      const chunk = await next;
      next = undefined;
      if (!chunk || chunk.rowCount === 0) break;
      next = result.fetchChunk();
      builder.append(chunk);
      if (builder.rows >= builder.batchRows) {
        yield builder.take();
        sent = true;
      }
    }
  } finally {
    // A consumer that stops early leaves one fetch in flight: its outcome no longer matters.
    next?.catch(() => undefined);
  }
  if (builder.rows > 0 || !sent) yield builder.take();
}
