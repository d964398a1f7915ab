/**
 * The catalog database of the SQLite connector: prepared statements over the tables of
 * catalog-schema.ts, each method one statement or one transaction. better-sqlite3 is synchronous,
 * so nothing here awaits; the connector does the asynchronous work against its store around it.
 */
import type BetterSqlite3 from 'better-sqlite3';
import type { FrameManifest } from '../../format/manifest.js';
import { migrateCatalog } from './catalog-schema.js';

type SqliteModule = typeof import('better-sqlite3');

/** How the catalog database is opened. */
export interface CatalogDatabaseOptions {
  /** `synchronous=FULL` (true) or `NORMAL` (false, which may lose the last transactions on power loss). */
  readonly fsync: boolean;
  /** How long a statement waits for another process's write lock, in milliseconds. */
  readonly busyTimeoutMs: number;
}

/** A stored manifest: its row id (never reused) and its JSON text. */
export interface StoredManifest {
  readonly id: number;
  readonly text: string;
}

/** A bucket's frames in name order: names and the row ids of their current manifests, index by index. */
export interface FrameListing {
  readonly names: readonly string[];
  readonly manifests: readonly number[];
  /** The delete epoch the listing was read at. */
  readonly epoch: number;
}

/** A commit whose store write may have happened without the catalog recording it. */
export interface CommitIntent {
  readonly id: number;
  readonly bucket: string;
  readonly name: string;
  readonly version: number;
  readonly pid: number;
  readonly owner: string;
}

/** A manifest to record, with the exact text to keep (the store's JSON). */
export interface ManifestRecord {
  readonly manifest: FrameManifest;
  readonly text: string;
}

/** Segment-table row of the current version, as the catalog keeps it. */
interface SegmentRow {
  readonly id: string;
  readonly position: number;
}

/** A 64-bit time bound for SQLite, or null when absent or not an int64. */
function timeBound(value: string | undefined): bigint | null {
  if (value === undefined) return null;
  try {
    const bound = BigInt(value);
    return bound >= -(1n << 63n) && bound < 1n << 63n ? bound : null;
  } catch {
    return null;
  }
}

const DELETE_EPOCH = `SELECT value FROM catalog_state WHERE key = 'delete_epoch'`;
/** A bucket's frames with their current manifests' row ids, in name order (from the frames_listing index). */
const BUCKET_FRAMES = `SELECT name, manifest FROM frames WHERE bucket = ? ORDER BY name`;

/** The catalog of one connector instance: one connection, prepared statements. */
export class CatalogDatabase {
  private readonly statements;

  private constructor(private readonly db: BetterSqlite3.Database) {
    const prepare = <P extends unknown[] = unknown[], R = unknown>(sql: string) => db.prepare<P, R>(sql);
    this.statements = {
      dataVersion: prepare<[], number>(`PRAGMA data_version`).pluck(),
      totalChanges: prepare<[], number>(`SELECT total_changes()`).pluck(),
      epoch: prepare<[], number>(DELETE_EPOCH).pluck(),
      filled: prepare<[], number>(`SELECT value FROM catalog_state WHERE key = 'filled'`).pluck(),
      setFilled: prepare(`UPDATE catalog_state SET value = 1 WHERE key = 'filled'`),
      bumpEpoch: prepare(`UPDATE catalog_state SET value = value + 1 WHERE key = 'delete_epoch'`),
      addBucket: prepare<[string]>(`INSERT OR IGNORE INTO buckets (name) VALUES (?)`),
      removeBucket: prepare<[string]>(`DELETE FROM buckets WHERE name = ?`),
      buckets: prepare<[], string>(`SELECT name FROM buckets ORDER BY name`).pluck(),
      frameId: prepare<[string, string], number>(`SELECT id FROM frames WHERE bucket = ? AND name = ?`).pluck(),
      addFrame: prepare<[string, string], number>(`INSERT INTO frames (bucket, name, version) VALUES (?, ?, 0) RETURNING id`).pluck(),
      removeFrame: prepare<[string, string]>(`DELETE FROM frames WHERE bucket = ? AND name = ?`),
      removeFrameById: prepare<[number]>(`DELETE FROM frames WHERE id = ?`),
      setCurrent: prepare<[number, number, number, number]>(`UPDATE frames SET version = ?, deleted = ?, manifest = ? WHERE id = ?`),
      frameNames: prepare<[string], string>(`SELECT name FROM frames WHERE bucket = ? ORDER BY name`).pluck(),
      allFrames: prepare<[], { bucket: string; name: string }>(`SELECT bucket, name FROM frames ORDER BY bucket, name`),
      addVersion: prepare<[number, number, string, string | null, number, number, number, string]>(
        `INSERT INTO versions (frame, version, committed_at, operation, rows, bytes, deleted, manifest) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
      ),
      versionText: prepare<[number, number], string>(`SELECT manifest FROM versions WHERE frame = ? AND version = ?`).pluck(),
      removeVersion: prepare<[number, number]>(`DELETE FROM versions WHERE frame = ? AND version = ?`),
      latestVersion: prepare<[number], { id: number; version: number; deleted: number; manifest: string }>(
        `SELECT id, version, deleted, manifest FROM versions WHERE frame = ? ORDER BY version DESC LIMIT 1`,
      ),
      versionNumbers: prepare<[string, string], number>(
        `SELECT v.version FROM frames f JOIN versions v ON v.frame = f.id WHERE f.bucket = ? AND f.name = ? ORDER BY v.version`,
      ).pluck(),
      currentId: prepare<[string, string], number>(`SELECT manifest FROM frames WHERE bucket = ? AND name = ?`).pluck(),
      manifestText: prepare<[number], string>(`SELECT manifest FROM versions WHERE id = ?`).pluck(),
      version: prepare<[string, string, number], StoredManifest>(
        `SELECT v.id, v.manifest AS text FROM frames f JOIN versions v ON v.frame = f.id
         WHERE f.bucket = ? AND f.name = ? AND v.version = ?`,
      ),
      // Two JSON arrays built in SQLite cost a fraction of 100,000 row objects (see docs/performance.md);
      // the ORDER BY is served by the frames_listing index, so both statements list in one order.
      listing: prepare<[string], [string, string, number]>(
        `SELECT json_group_array(name), json_group_array(manifest), (${DELETE_EPOCH}) FROM (${BUCKET_FRAMES})`,
      ).raw(),
      listingIds: prepare<[string], [string, number]>(`SELECT json_group_array(manifest), (${DELETE_EPOCH}) FROM (${BUCKET_FRAMES})`).raw(),
      segmentRows: prepare<[number], SegmentRow>(`SELECT id, position FROM segments WHERE frame = ?`),
      removeSegment: prepare<[number, string]>(`DELETE FROM segments WHERE frame = ? AND id = ?`),
      upsertSegment: prepare<[number, string, number, number, number, number, number, string | null, bigint | null, bigint | null, number | null]>(
        `INSERT OR REPLACE INTO segments (frame, id, position, version, rows, bytes, stored_bytes, dictionaries, time_min, time_max, time_nulls)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      ),
      overlapping: prepare<[number, bigint, bigint], string>(
        `SELECT id FROM segments WHERE frame = ? AND (time_min IS NULL OR (time_min <= ? AND time_max >= ?)) ORDER BY position`,
      ).pluck(),
      addIntent: prepare<[string, string, number, number, string, string], number>(
        `INSERT INTO pending (bucket, name, version, pid, owner, started_at) VALUES (?, ?, ?, ?, ?, ?) RETURNING id`,
      ).pluck(),
      removeIntent: prepare<[number]>(`DELETE FROM pending WHERE id = ?`),
      intents: prepare<[], CommitIntent>(`SELECT id, bucket, name, version, pid, owner FROM pending ORDER BY id`),
    };
  }

  /**
   * Opens (creating if needed) the catalog at `path`: WAL journal, busy timeout, foreign keys,
   * then the schema migrations.
   */
  static open(sqlite: SqliteModule, path: string, options: CatalogDatabaseOptions): CatalogDatabase {
    const db = new sqlite(path);
    try {
      db.pragma(`busy_timeout = ${Math.max(0, Math.floor(options.busyTimeoutMs))}`);
      db.pragma('journal_mode = WAL');
      db.pragma(`synchronous = ${options.fsync ? 'FULL' : 'NORMAL'}`);
      db.pragma('foreign_keys = ON');
      migrateCatalog(db);
      return new CatalogDatabase(db);
    } catch (error) {
      db.close();
      throw error;
    }
  }

  /** Closes the connection. */
  close(): void {
    if (this.db.open) this.db.close();
  }

  /**
   * The delete epoch: it grows whenever a frame or bucket is removed from the catalog (resyncs and
   * listings rely on it; see {@link listing}).
   */
  deleteEpoch(): number {
    return this.statements.epoch.get() ?? 0;
  }

  /** Whether the catalog has been filled from its store once (false for a catalog just created). */
  isFilled(): boolean {
    return this.statements.filled.get() === 1;
  }

  /** Records that the catalog has been filled from its store. */
  markFilled(): void {
    this.statements.setFilled.run();
  }

  /** Records a commit about to reach the store; returns the intent's id. */
  addIntent(bucket: string, name: string, version: number, owner: string): number {
    return this.statements.addIntent.get(bucket, name, version, process.pid, owner, new Date().toISOString())!;
  }

  /** Forgets an intent (its commit is recorded, or failed and the frame was re-synced). */
  removeIntent(id: number): void {
    this.statements.removeIntent.run(id);
  }

  /** Every intent in the log, oldest first. */
  intents(): CommitIntent[] {
    return this.statements.intents.all();
  }

  /**
   * Applies what the store holds for one frame, in one transaction: records `upserts`, removes the
   * versions in `removals`, makes the highest remaining version current (refreshing the segment
   * rows) or removes the frame when none remains, and forgets the intent `intentId` if given.
   * With `expectEpoch`, nothing happens (and false is returned) if a removal has happened since.
   */
  applyFrame(
    bucket: string,
    name: string,
    change: { readonly upserts: readonly ManifestRecord[]; readonly removals?: readonly number[]; readonly intentId?: number; readonly expectEpoch?: number },
  ): boolean {
    return this.transaction(() => {
      if (change.expectEpoch !== undefined && this.deleteEpoch() !== change.expectEpoch) return false;
      let frame = this.statements.frameId.get(bucket, name);
      if (frame === undefined && change.upserts.length > 0) {
        this.statements.addBucket.run(bucket);
        frame = this.statements.addFrame.get(bucket, name)!;
      }
      if (frame !== undefined) {
        for (const { manifest, text } of change.upserts) {
          const existing = this.statements.versionText.get(frame, manifest.version);
          if (existing === text) continue;
          // A changed row gets a new id, so no decoded copy of the old text is ever served for it.
          if (existing !== undefined) this.statements.removeVersion.run(frame, manifest.version);
          this.statements.addVersion.run(
            frame, manifest.version, manifest.committedAt, manifest.operation ?? null, manifest.rows, manifest.bytes, manifest.deleted ? 1 : 0, text,
          );
        }
        for (const version of change.removals ?? []) this.statements.removeVersion.run(frame, version);
        this.refreshCurrent(frame);
      }
      if (change.intentId !== undefined) this.statements.removeIntent.run(change.intentId);
      return true;
    });
  }

  /** Points the frame at its highest version and brings its segment rows in step (or removes it). */
  private refreshCurrent(frame: number): void {
    const latest = this.statements.latestVersion.get(frame);
    if (!latest) {
      this.statements.removeFrameById.run(frame);
      this.statements.bumpEpoch.run();
      return;
    }
    this.statements.setCurrent.run(latest.version, latest.deleted, latest.id, frame);
    const manifest = JSON.parse(latest.manifest) as FrameManifest;
    const existing = new Map(this.statements.segmentRows.all(frame).map((row) => [row.id, row.position] as const));
    const wanted = new Set<string>();
    manifest.segments.forEach((segment, position) => {
      wanted.add(segment.id);
      // An append leaves every existing row as it is and adds the new segments only.
      if (existing.get(segment.id) === position) return;
      this.statements.upsertSegment.run(
        frame, segment.id, position, manifest.version, segment.rows, segment.bytes, segment.storedBytes, segment.dictionaries ?? null,
        timeBound(segment.timeRange?.min), timeBound(segment.timeRange?.max), segment.timeNulls ?? null,
      );
    });
    for (const id of existing.keys()) if (!wanted.has(id)) this.statements.removeSegment.run(frame, id);
  }

  /** Removes a frame and all its versions. */
  removeFrame(bucket: string, name: string): void {
    this.transaction(() => {
      this.statements.removeFrame.run(bucket, name);
      this.statements.bumpEpoch.run();
    });
  }

  /** Removes a bucket with its frames. */
  removeBucket(bucket: string): void {
    this.transaction(() => {
      this.statements.removeBucket.run(bucket);
      this.statements.bumpEpoch.run();
    });
  }

  /** Adds a bucket; an existing one is fine. */
  addBucket(bucket: string): void {
    this.statements.addBucket.run(bucket);
  }

  /** Bucket names, sorted. */
  buckets(): string[] {
    return this.statements.buckets.all();
  }

  /** Whether the catalog holds frame `name` of the bucket. */
  hasFrame(bucket: string, name: string): boolean {
    return this.statements.frameId.get(bucket, name) !== undefined;
  }

  /** Names of a bucket's frames, sorted. */
  frameNames(bucket: string): string[] {
    return this.statements.frameNames.all(bucket);
  }

  /** Every frame of every bucket. */
  allFrames(): { bucket: string; name: string }[] {
    return this.statements.allFrames.all();
  }

  /** The kept version numbers of a frame, ascending. */
  versionNumbers(bucket: string, name: string): number[] {
    return this.statements.versionNumbers.all(bucket, name);
  }

  /** The row id of the frame's current manifest (cheap: no JSON leaves SQLite). */
  currentId(bucket: string, name: string): number | undefined {
    return this.statements.currentId.get(bucket, name);
  }

  /** The JSON text of the manifest row `id`. */
  manifestText(id: number): string | undefined {
    return this.statements.manifestText.get(id);
  }

  /** One version's manifest row. */
  version(bucket: string, name: string, version: number): StoredManifest | undefined {
    return this.statements.version.get(bucket, name, version);
  }

  /**
   * A value that changes whenever the catalog may have changed: SQLite's `data_version` (moves
   * when another connection, in any process, commits) and this connection's `total_changes()`
   * (moves with every row it writes). Two microseconds; equal stamps mean nothing was written.
   */
  changeStamp(): string {
    return `${this.statements.dataVersion.get()}/${this.statements.totalChanges.get()}`;
  }

  /**
   * The frames of a bucket with the row ids of their current manifests, in one query. Given an
   * earlier listing of the bucket, the names are not read again if no frame left the catalog since
   * (same delete epoch) and the count is the same, so none was added either: at 100,000 frames,
   * parsing the names was most of a listing's time and garbage.
   */
  listing(bucket: string, earlier?: FrameListing): FrameListing {
    if (earlier) {
      const [manifests, epoch] = this.statements.listingIds.get(bucket)!;
      const ids = JSON.parse(manifests) as number[];
      if (epoch === earlier.epoch && ids.length === earlier.names.length) return { names: earlier.names, manifests: ids, epoch };
    }
    const [names, manifests, epoch] = this.statements.listing.get(bucket)!;
    return { names: JSON.parse(names) as string[], manifests: JSON.parse(manifests) as number[], epoch };
  }

  /**
   * Ids of the current version's segments that may hold times in [min, max] (segments without
   * statistics always may), in row order.
   */
  segmentsOverlapping(bucket: string, name: string, min: bigint, max: bigint): string[] {
    const frame = this.statements.frameId.get(bucket, name);
    return frame === undefined ? [] : this.statements.overlapping.all(frame, max, min);
  }

  /** Empties every table but the intent log (for a rebuild). */
  clear(): void {
    this.transaction(() => {
      this.db.exec('DELETE FROM segments; DELETE FROM versions; DELETE FROM frames; DELETE FROM buckets;');
      this.statements.bumpEpoch.run();
    });
  }

  /** Runs `action` in one IMMEDIATE transaction (takes the write lock up front, so it never deadlocks on upgrade). */
  private transaction<T>(action: () => T): T {
    return this.db.transaction(action).immediate();
  }
}
