// QueryInterrupter's promises: an interrupt sent while a query's start is pending is repeated until
// the start settles (DuckDB forgets one sent before the query begins executing), and none reaches
// the connection once the start has settled or the connection was released. The connection here
// only counts calls; tests/e2e/sql-shutdown.test.ts runs the same path against real DuckDB queries.
import type { DuckDBConnection } from '@duckdb/node-api';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { INTERRUPT_REPEAT_MS, QueryInterrupter } from '../../src/core/sql/query-interrupter.js';

function countingConnection(): { connection: DuckDBConnection; interrupts: () => number } {
  let count = 0;
  return { connection: { interrupt: () => void count++ } as unknown as DuckDBConnection, interrupts: () => count };
}

function deferred(): { promise: Promise<string>; resolve: (value: string) => void; reject: (error: Error) => void } {
  let resolve!: (value: string) => void;
  let reject!: (error: Error) => void;
  const promise = new Promise<string>((res, rej) => ((resolve = res), (reject = rej)));
  return { promise, resolve, reject };
}

describe('QueryInterrupter', () => {
  afterEach(() => vi.useRealTimers());

  it('repeats an interrupt while the start is pending and stops when it settles', async () => {
    vi.useFakeTimers();
    const { connection, interrupts } = countingConnection();
    const interrupter = new QueryInterrupter(connection);
    const start = deferred();
    const started = interrupter.start(() => start.promise);
    interrupter.interrupt();
    expect(interrupts()).toBe(1);
    await vi.advanceTimersByTimeAsync(INTERRUPT_REPEAT_MS * 5);
    expect(interrupts()).toBe(6);
    start.resolve('begun');
    await expect(started).resolves.toBe('begun');
    expect(interrupter.starting).toBeUndefined();
    await vi.advanceTimersByTimeAsync(INTERRUPT_REPEAT_MS * 5);
    expect(interrupts()).toBe(6);
    expect(interrupter.wasInterrupted).toBe(true);
  });

  it('repeats an interrupt that came before the start, and stops on a failed start', async () => {
    vi.useFakeTimers();
    const { connection, interrupts } = countingConnection();
    const interrupter = new QueryInterrupter(connection);
    interrupter.interrupt();
    const start = deferred();
    const started = interrupter.start(() => start.promise);
    await vi.advanceTimersByTimeAsync(INTERRUPT_REPEAT_MS * 3);
    expect(interrupts()).toBe(4);
    start.reject(new Error('INTERRUPT Error: Interrupted!'));
    await expect(started).rejects.toThrow('Interrupted');
    await vi.advanceTimersByTimeAsync(INTERRUPT_REPEAT_MS * 3);
    expect(interrupts()).toBe(4);
  });

  it('sends nothing after release, even while a start is pending', async () => {
    vi.useFakeTimers();
    const { connection, interrupts } = countingConnection();
    const interrupter = new QueryInterrupter(connection);
    const start = deferred();
    const started = interrupter.start(() => start.promise);
    interrupter.interrupt();
    interrupter.release();
    interrupter.interrupt();
    await vi.advanceTimersByTimeAsync(INTERRUPT_REPEAT_MS * 5);
    expect(interrupts()).toBe(1);
    start.resolve('done');
    await started;
  });

  it('does not repeat when nothing asked for an interrupt', async () => {
    vi.useFakeTimers();
    const { connection, interrupts } = countingConnection();
    const interrupter = new QueryInterrupter(connection);
    const start = deferred();
    const started = interrupter.start(() => start.promise);
    await vi.advanceTimersByTimeAsync(INTERRUPT_REPEAT_MS * 5);
    start.resolve('done');
    await started;
    expect(interrupts()).toBe(0);
    expect(interrupter.wasInterrupted).toBe(false);
  });
});
