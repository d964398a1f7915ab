/**
 * The cap on queries one caller runs at once, so no single token can occupy every DuckDB thread
 * and the memory limit shared by all queries.
 */
import { ResourceExhaustedError } from '../../errors.js';
import { SQL_ERROR_TYPE } from './sql-errors.js';

/** Counts running queries per caller and refuses one over the cap. */
export class QuerySlots {
  private readonly running = new Map<string, number>();

  /** @param maxPerCaller - queries one caller may run at once */
  constructor(readonly maxPerCaller: number) {}

  /**
   * Takes a slot for `caller`; the returned function gives it back (calling it again does nothing).
   * @throws ResourceExhaustedError (detail type DataFusionError) naming the cap when the caller has none left
   */
  take(caller: string): () => void {
    const count = this.running.get(caller) ?? 0;
    if (count >= this.maxPerCaller) {
      throw new ResourceExhaustedError(
        `caller '${caller}' already runs ${count} SQL queries, the server's cap per caller (--sql-max-concurrent-per-token ${this.maxPerCaller}); ` +
          'wait for one to finish (read its result to the end or cancel it) and try again',
        { type: SQL_ERROR_TYPE },
      );
    }
    this.running.set(caller, count + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const left = (this.running.get(caller) ?? 1) - 1;
      if (left > 0) this.running.set(caller, left);
      else this.running.delete(caller);
    };
  }

  /** Queries `caller` runs now. */
  runningFor(caller: string): number {
    return this.running.get(caller) ?? 0;
  }
}
