/**
 * The DuckDB instance SQL runs in, locked down with DuckDB's own guards: external access off except
 * for reading the store's segment files, no extension installs or loads, and the configuration
 * locked so a query cannot loosen any of it. Statement types are checked by the SQL engine.
 */
import { DuckDBInstance } from '@duckdb/node-api';

/** Limits of the SQL engine. */
export interface SqlSandboxOptions {
  /** Directories DuckDB may read (the store's segment files and the SQL segment cache). */
  readonly readableDirectories: readonly string[];
  /** DuckDB's memory limit for all queries together, e.g. `"2GB"` (the SQL engine always gives one, see sql-limits.ts). */
  readonly memoryLimit?: string;
  /** Worker threads (default: DuckDB's, one per core). */
  readonly threads?: number;
}

/** Quotes a string as a SQL literal. */
export function sqlString(value: string): string {
  return `'${value.replaceAll("'", "''")}'`;
}

/** Quotes a name as a SQL identifier (so any frame or bucket name works). */
export function sqlIdentifier(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

/** Opens the sandboxed in-memory instance. */
export async function openSqlSandbox(options: SqlSandboxOptions): Promise<DuckDBInstance> {
  const instance = await DuckDBInstance.create(':memory:', {
    ...(options.threads ? { threads: String(options.threads) } : {}),
    ...(options.memoryLimit ? { memory_limit: options.memoryLimit } : {}),
    // The allocator's background thread returns freed pages to the OS within ~2 s: without it, the
    // memory of a query that failed at the memory limit stayed resident (measured in docs/sql.md).
    allocator_background_threads: 'true',
  });
  const connection = await instance.connect();
  try {
    const directories = options.readableDirectories.map((dir) => sqlString(dir.endsWith('/') ? dir : `${dir}/`));
    await connection.run(
      [
        "SET TimeZone = 'UTC'",
        // Segment files are immutable, so their Parquet footers can be cached across queries.
        'SET parquet_metadata_cache = true',
        // DuckDB's external file cache (on by default since 1.3) keeps the bytes it read of every
        // file, keyed by path, in its buffer pool until the memory limit forces them out. Segments
        // are local files (the OS page cache already holds them) and each put writes new ones, so
        // it only grew: ~10 KiB per segment ever queried, vacuumed ones included (bench/soak).
        'SET enable_external_file_cache = false',
        // No spilling to disk: a query over the memory limit fails instead.
        "SET temp_directory = ''",
        'SET autoinstall_known_extensions = false',
        'SET autoload_known_extensions = false',
        'SET allow_community_extensions = false',
        `SET allowed_directories = [${directories.join(', ')}]`,
        'SET enable_external_access = false',
        'SET lock_configuration = true',
      ].join('; '),
    );
  } finally {
    connection.closeSync();
  }
  return instance;
}
