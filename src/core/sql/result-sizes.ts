/**
 * Which queries run materialized. DuckDB streams a result as the chunks its operators produce, and
 * a filter's chunks are small: `WHERE f0 > 2.326` over 1M rows (~1 % kept) came back as 489 chunks
 * of ~20 rows, each fetched by its own native call through libuv's thread pool (bench/compare.py
 * W7 S2). A materialized result is gathered into full chunks, read synchronously. But DuckDB gathers
 * the whole result before the result budget sees a byte of it, so only a query whose result is known
 * to be small runs that way: one whose text ran before, in the same bucket, over the same versions
 * of the same frames, to a complete result of at most {@link MATERIALIZE_MAX_BYTES} of Arrow data
 * (and at most a quarter of the engine's result limit). Any commit to a frame it reads makes its next
 * run stream again, since a result may grow far faster than its input (rows since a mark after an
 * append, a filter after a replace); that run records the new size. Statements with parameters
 * always stream (other values, another size).
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
  /** The frames the query read then, with their versions (FrameViews.versionsOf). */
  readonly inputs: string;
}

/** The last complete result size of recent query texts. One per SQL engine. */
export class ResultSizes {
  private readonly last = new Map<string, LastResult>();

  private readonly maxBytes: number;

  /**
   * @param resultLimit - the engine's limit on a result's Arrow bytes; results of at most a quarter
   *   of it (and of {@link MATERIALIZE_MAX_BYTES}) are materialized
   */
  constructor(resultLimit: number = Number.POSITIVE_INFINITY) {
    this.maxBytes = Math.min(MATERIALIZE_MAX_BYTES, resultLimit / 4);
  }

  /**
   * Whether the query should run materialized.
   * @param key - the query's bucket and text
   * @param parameters - how many parameters the statement has
   * @param inputs - the frames it reads now, with their versions
   */
  materialize(key: string, parameters: number, inputs: string): boolean {
    if (parameters > 0) return false;
    const last = this.last.get(key);
    return last !== undefined && last.inputs === inputs && last.bytes <= this.maxBytes;
  }

  /** Records a complete result (its Arrow bytes) of the query, as {@link materialize} takes it. */
  record(key: string, parameters: number, inputs: string, bytes: number): void {
    if (parameters > 0 || key.length > MAX_TEXT_LENGTH) return;
    this.last.delete(key);
    if (this.last.size >= MAX_KEPT) this.last.delete(this.last.keys().next().value!);
    this.last.set(key, { bytes, inputs });
  }
}
