/**
 * Gives memory back after a large query. DuckDB's result chunks are freed by finalizers of their
 * small JavaScript wrappers, and V8 does not know how much native memory those hold: after a
 * large result and no further JavaScript work, nothing would collect them and the process would
 * keep the memory. So a full collection is run once such a query has ended.
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

/** V8's `gc()`, exposed on first use (null where that is not possible). */
let collectGarbage: (() => void) | null | undefined;
let pending: NodeJS.Timeout | undefined;

function collector(): (() => void) | null {
  if (collectGarbage === undefined) {
    try {
      // A context created after the flag is set gets the `gc` global; the main context is unchanged.
      setFlagsFromString('--expose-gc');
      const gc: unknown = runInNewContext('gc');
      collectGarbage = typeof gc === 'function' ? (gc as () => void) : null;
    } catch {
      collectGarbage = null;
    }
  }
  return collectGarbage;
}

/**
 * Schedules one full garbage collection shortly (calls while one is pending share it), so the
 * finalizers of a finished query's DuckDB chunks run and DuckDB frees their memory.
 */
export function releaseMemorySoon(delayMs = 50): void {
  if (pending) return;
  pending = setTimeout(() => {
    pending = undefined;
    collector()?.();
  }, delayMs);
  pending.unref();
}
