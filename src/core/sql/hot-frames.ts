/**
 * Frames queried often, kept as tables in DuckDB's own in-memory storage so that a query scans
 * DuckDB's columns instead of decoding Parquet segments. Which frames, and for how long: a frame's
 * current version becomes hot at its second query (see frame-views.ts, which points the frame's
 * views at the table); a commit makes a new version, whose views read Parquet again and whose
 * table is built anew if it is queried twice. The tables together stay within a byte budget
 * (counted in the frames' Arrow bytes); the least recently queried frames go cold to make room.
 */
import type { DuckDBConnection } from '@duckdb/node-api';
import { sqlIdentifier } from './sql-sandbox.js';

/** The in-memory catalog holding the hot tables. */
export const HOT_CATALOG = 'hangar:hot';

/** Queries of one version of a frame after which it is made hot. */
export const HOT_AFTER_QUERIES = 2;

/** One hot (or being built) table. */
interface HotEntry {
  readonly bytes: number;
  /** When it was last queried (a counter), for least-recently-used eviction. */
  used: number;
}

/** The budget and the tables: which to build, which to drop. One per SQL engine. */
export class HotFrames {
  private readonly entries = new Map<string, HotEntry>();
  private bytes = 0;
  private clock = 0;
  private tables = 0;
  private catalog: Promise<void> | undefined;

  /**
   * @param connect - opens a connection for building a table (not the one views are made on, so
   *   queries and view changes go on meanwhile)
   * @param maxBytes - the budget, in frames' Arrow bytes; 0 turns hot tables off
   */
  constructor(
    private readonly connect: () => Promise<DuckDBConnection>,
    readonly maxBytes: number,
  ) {}

  /** Arrow bytes of the hot tables (and those being built). */
  get usedBytes(): number {
    return this.bytes;
  }

  /** Marks a frame's table as just queried. */
  touch(key: string): void {
    const entry = this.entries.get(key);
    if (entry) entry.used = ++this.clock;
  }

  /**
   * Reserves room for a frame of `bytes`: undefined when it can never fit, else the keys of the
   * least recently queried tables to drop first (the caller makes them cold and calls
   * {@link release} for each).
   */
  reserve(key: string, bytes: number): string[] | undefined {
    if (bytes > this.maxBytes || this.entries.has(key)) return undefined;
    const evict: string[] = [];
    let free = this.maxBytes - this.bytes;
    const byAge = [...this.entries].sort((a, b) => a[1].used - b[1].used);
    for (const [other, entry] of byAge) {
      if (free >= bytes) break;
      evict.push(other);
      free += entry.bytes;
    }
    this.entries.set(key, { bytes, used: ++this.clock });
    this.bytes += bytes;
    return evict;
  }

  /** Gives a frame's room back (its table was dropped, or never built). */
  release(key: string): void {
    const entry = this.entries.get(key);
    if (!entry) return;
    this.entries.delete(key);
    this.bytes -= entry.bytes;
  }

  /**
   * Builds a table holding the rows of `select` (a frame's view definition), on its own
   * connection, and returns its qualified name.
   */
  async build(select: string): Promise<string> {
    const connection = await this.connect();
    try {
      this.catalog ??= connection.run(`ATTACH IF NOT EXISTS ':memory:' AS ${sqlIdentifier(HOT_CATALOG)}`).then(() => undefined);
      await this.catalog;
      const table = `${sqlIdentifier(HOT_CATALOG)}.main.${sqlIdentifier(`frame_${++this.tables}`)}`;
      await connection.run(`CREATE TABLE ${table} AS ${select}`);
      return table;
    } finally {
      connection.closeSync();
    }
  }

  /** Drops a table built by {@link build}; failures are ignored (the catalog goes with the process). */
  async drop(connection: DuckDBConnection, table: string): Promise<void> {
    await connection.run(`DROP TABLE IF EXISTS ${table}`).catch(() => undefined);
  }
}
