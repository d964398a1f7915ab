/**
 * Stops one query's DuckDB connection, including the query whose start is still pending.
 * DuckDB clears a connection's interrupt flag when a query begins executing, and a query's start
 * (the first `stream()` call, which runs a blocking plan's whole pipeline) waits for a thread of
 * libuv's pool: an interrupt sent in that wait is forgotten, and the query (a cross join, say) runs
 * on for hours, holding a thread the process joins at exit. So while a start is pending, an
 * interrupt is repeated until the start settles. The repeats end synchronously when the start
 * settles or the connection is released, so none reaches a connection being closed.
 */
import type { DuckDBConnection } from '@duckdb/node-api';

/** How often an interrupt is repeated while the query it stops may not have begun executing. */
export const INTERRUPT_REPEAT_MS = 20;

/** The interrupts of one query on one connection. */
export class QueryInterrupter {
  private repeat: NodeJS.Timeout | undefined;
  private interrupted = false;
  private released = false;
  private pendingStart: Promise<unknown> | undefined;

  /** @param connection - the connection the query runs on, open until {@link release} */
  constructor(private readonly connection: DuckDBConnection) {}

  /** Whether {@link interrupt} was called. */
  get wasInterrupted(): boolean {
    return this.interrupted;
  }

  /** The start in progress, if any: it settles when DuckDB has begun (or refused) the query. */
  get starting(): Promise<unknown> | undefined {
    return this.pendingStart;
  }

  /**
   * Runs `start` (the query's first native call), interrupting it again and again while it is
   * pending if {@link interrupt} is called before or during it.
   */
  async start<T>(start: () => Promise<T>): Promise<T> {
    const started = start();
    this.pendingStart = started;
    if (this.interrupted) this.repeatWhileStarting();
    try {
      return await started;
    } finally {
      this.pendingStart = undefined;
      this.stopRepeating();
    }
  }

  /** Stops the query now, and keeps stopping it while its start is pending. No-op once released. */
  interrupt(): void {
    if (this.released) return;
    this.interrupted = true;
    this.connection.interrupt();
    if (this.pendingStart !== undefined) this.repeatWhileStarting();
  }

  /** The connection is about to be closed or pooled: no interrupt may reach it after this. */
  release(): void {
    this.released = true;
    this.stopRepeating();
  }

  private repeatWhileStarting(): void {
    this.repeat ??= setInterval(() => {
      if (!this.released && this.pendingStart !== undefined) this.connection.interrupt();
    }, INTERRUPT_REPEAT_MS);
  }

  private stopRepeating(): void {
    if (this.repeat !== undefined) clearInterval(this.repeat);
    this.repeat = undefined;
  }
}
