/**
 * Which queries run materialized. DuckDB streams a result as the chunks its operators produce, and
 * a filter's chunks are small: `WHERE f0 > 2.326` over 1M rows (~1 % kept) came back as 489 chunks
 * of ~20 rows, each fetched by its own native call through libuv's thread pool (bench/compare.py
 * W7 S2). A materialized result is gathered into full chunks, read synchronously. But it holds the
 * whole result in memory until it is sent, so only a query expected to be small runs that way: one
 * whose text ran before, in the same bucket, to a complete result of at most
 * {@link MATERIALIZE_MAX_BYTES} of Arrow data, scaled by how much the frames it reads have grown
 * since (a dashboard's query on a frame that is appended to stays materialized; after a replace by a
 * frame ten times larger it streams). Statements with parameters always stream (other values,
 * another size).
 */

/** Largest expected result (Arrow bytes) of a query that then runs materialized. */
export const MATERIALIZE_MAX_BYTES = 16 * 1024 * 1024;

/** Query texts whose last result size is kept; the oldest goes first. */
const MAX_KEPT = 256;
/** Longer texts are not kept (so the kept texts stay within ~2 MiB). */
const MAX_TEXT_LENGTH = 8192;

/** A text's last complete result. */
interface LastResult {
  /** Arrow bytes of the result, as the result budget counted them. */
  readonly bytes: number;
  /** Arrow bytes of the frames the query read then. */
  readonly inputBytes: number;
}

/** The last complete result size of recent query texts. One per SQL engine. */
export class ResultSizes {
  private readonly last = new Map<string, LastResult>();

  /** @param maxBytes - results expected to be at most this many Arrow bytes are materialized */
  constructor(private readonly maxBytes: number = MATERIALIZE_MAX_BYTES) {}

  /**
   * Whether the query should run materialized.
   * @param key - the query's bucket and text
   * @param parameters - how many parameters the statement has
   * @param inputBytes - Arrow bytes of the frames it reads now
   */
  materialize(key: string, parameters: number, inputBytes: number): boolean {
    if (parameters > 0) return false;
    const last = this.last.get(key);
    if (last === undefined) return false;
    // A result is taken to grow with the frames it reads (never to shrink with them).
    const growth = last.inputBytes > 0 ? Math.max(1, inputBytes / last.inputBytes) : 1;
    return last.bytes * growth <= this.maxBytes;
  }

  /** Records a complete result (its Arrow bytes) of the query, as {@link materialize} takes it. */
  record(key: string, parameters: number, inputBytes: number, bytes: number): void {
    if (parameters > 0 || key.length > MAX_TEXT_LENGTH) return;
    this.last.delete(key);
    if (this.last.size >= MAX_KEPT) this.last.delete(this.last.keys().next().value!);
    this.last.set(key, { bytes, inputBytes });
  }
}
