/**
 * The catalog database's tables and their migrations. The schema version is SQLite's
 * `PRAGMA user_version`; docs/storage-layout.md describes every table.
 */
import type BetterSqlite3 from 'better-sqlite3';

/** The schema version this code writes. */
export const CATALOG_SCHEMA_VERSION = 1;

/** Migrations by the version they produce; each runs in the transaction that sets user_version. */
const MIGRATIONS: Record<number, string> = {
  1: `
    CREATE TABLE buckets (
      name TEXT PRIMARY KEY
    ) WITHOUT ROWID;

    -- One row per frame that has at least one kept version; version is the current (highest) one,
    -- manifest its row in versions. frames_listing covers listings and stats: no table or join visited.
    CREATE TABLE frames (
      id INTEGER PRIMARY KEY,
      bucket TEXT NOT NULL REFERENCES buckets(name) ON DELETE CASCADE,
      name TEXT NOT NULL,
      version INTEGER NOT NULL,
      deleted INTEGER NOT NULL DEFAULT 0,
      manifest INTEGER,
      UNIQUE (bucket, name)
    );
    CREATE INDEX frames_listing ON frames (bucket, name, manifest);

    -- Every kept manifest. id is never reused (AUTOINCREMENT), so it keys the decoded-manifest cache.
    CREATE TABLE versions (
      id INTEGER PRIMARY KEY AUTOINCREMENT,
      frame INTEGER NOT NULL REFERENCES frames(id) ON DELETE CASCADE,
      version INTEGER NOT NULL,
      committed_at TEXT NOT NULL,
      operation TEXT,
      rows INTEGER NOT NULL,
      bytes INTEGER NOT NULL,
      deleted INTEGER NOT NULL DEFAULT 0,
      manifest TEXT NOT NULL,
      UNIQUE (frame, version)
    );

    -- The segments of each frame's current version, in row order. version is the one that added the
    -- segment; time_min/time_max are the manifest's timeRange as 64-bit integers (NULL when absent).
    CREATE TABLE segments (
      frame INTEGER NOT NULL REFERENCES frames(id) ON DELETE CASCADE,
      id TEXT NOT NULL,
      position INTEGER NOT NULL,
      version INTEGER NOT NULL,
      rows INTEGER NOT NULL,
      bytes INTEGER NOT NULL,
      stored_bytes INTEGER NOT NULL,
      dictionaries TEXT,
      time_min INTEGER,
      time_max INTEGER,
      time_nulls INTEGER,
      PRIMARY KEY (frame, id)
    ) WITHOUT ROWID;
    CREATE INDEX segments_by_time ON segments (frame, time_min, time_max);

    -- Intent log: a commit in flight between the store and the catalog. A row left by a process
    -- that is gone means its store commit may have happened without the catalog hearing of it.
    CREATE TABLE pending (
      id INTEGER PRIMARY KEY,
      bucket TEXT NOT NULL,
      name TEXT NOT NULL,
      version INTEGER NOT NULL,
      pid INTEGER NOT NULL,
      owner TEXT NOT NULL,
      started_at TEXT NOT NULL
    );

    -- delete_epoch grows with every frame or bucket removal (resync checks it, see catalog-database.ts);
    -- filled is 0 until the catalog has been filled from its store once (a rebuild that failed is redone at open).
    CREATE TABLE catalog_state (
      key TEXT PRIMARY KEY,
      value INTEGER NOT NULL
    ) WITHOUT ROWID;
    INSERT INTO catalog_state (key, value) VALUES ('delete_epoch', 0), ('filled', 0);
  `,
};

/**
 * Brings the database's schema to {@link CATALOG_SCHEMA_VERSION}.
 * @throws Error if the catalog was written by a newer Hangar
 */
export function migrateCatalog(db: BetterSqlite3.Database): void {
  const migrate = db.transaction((): void => {
    const current = db.pragma('user_version', { simple: true }) as number;
    if (current > CATALOG_SCHEMA_VERSION) {
      throw new Error(`the catalog has schema version ${current}, newer than this Hangar's ${CATALOG_SCHEMA_VERSION}`);
    }
    for (let version = current + 1; version <= CATALOG_SCHEMA_VERSION; version++) {
      db.exec(MIGRATIONS[version]!);
      db.pragma(`user_version = ${version}`);
    }
  });
  migrate.immediate();
}
