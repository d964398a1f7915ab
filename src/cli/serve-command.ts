/** `hangar serve`: runs the server until SIGINT/SIGTERM or the shutdown action. */
import type { SqlOptions } from '../core/sql/sql-engine.js';
import { HangarServer } from '../server/hangar-server.js';

/** Options of `hangar serve`, after defaults from the environment. */
export interface ServeCommandOptions {
  /** Interface to bind. */
  readonly host: string;
  /** Port; 0 picks a free one. */
  readonly port: number;
  /** Store location. */
  readonly data: string;
  /** SQL: per-query time limit in milliseconds. */
  readonly sqlTimeout?: number;
  /** SQL: DuckDB's memory limit, e.g. `4GB`. */
  readonly sqlMemoryLimit?: string;
  /** SQL: DuckDB worker threads. */
  readonly sqlThreads?: number;
  /** SQL: the segment cache directory. */
  readonly sqlCacheDir?: string;
  /** SQL: the segment cache's size bound in bytes. */
  readonly sqlCacheSize?: number;
}

/** Starts the server, prints its location, and shuts down gracefully on signals. */
export async function serve(options: ServeCommandOptions): Promise<void> {
  const sql: SqlOptions = {
    ...(options.sqlTimeout ? { timeoutMs: options.sqlTimeout } : {}),
    ...(options.sqlMemoryLimit ? { memoryLimit: options.sqlMemoryLimit } : {}),
    ...(options.sqlThreads ? { threads: options.sqlThreads } : {}),
    ...(options.sqlCacheDir ? { cacheDirectory: options.sqlCacheDir } : {}),
    ...(options.sqlCacheSize ? { cacheBytes: options.sqlCacheSize } : {}),
  };
  const server = await HangarServer.start({ host: options.host, port: options.port, data: options.data, engine: { sql } });
  const stop = (signal: string): void => {
    process.stderr.write(`hangar: ${signal} received, shutting down\n`);
    void server.close();
  };
  // Handlers go in before the listening line: whoever reads that line may signal at once.
  process.once('SIGINT', () => stop('SIGINT'));
  process.once('SIGTERM', () => stop('SIGTERM'));
  process.stdout.write(`hangar listening on ${server.location}\n`);
  await server.closed;
  // Everything is closed; grpc-js may still hold a timer for a client that has not hung up yet,
  // which would keep the process alive for seconds.
  process.exit(0);
}
