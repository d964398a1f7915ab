/**
 * A SQLite catalog over a storage connector: segments and manifest files stay in the local or S3
 * store (the source of truth), and a catalog database indexes every kept manifest so that list,
 * stat and search never read the store. Commit order, the intent log and crash recovery are in
 * docs/storage-layout.md. better-sqlite3 is imported lazily in {@link SqliteConnector.open}.
 */
import { randomUUID } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { HangarError, StorageError } from '../../errors.js';
import type { FrameManifest } from '../../format/manifest.js';
import type { SnapshotDocument } from '../../format/snapshot-document.js';
import type { FrameRef } from '../../names.js';
import { FrameStore, type FrameStoreCapabilities, type StoredObject } from '../../storage/frame-store.js';
import { CatalogDatabase, type CommitIntent, type FrameListing, type ManifestRecord, type StoredManifest } from './catalog-database.js';
import { type CatalogCheckReport, type CatalogRebuildSummary, type CheckOptions, checkCatalog, rebuildCatalog } from './catalog-maintenance.js';
import type { SqliteConnectorOptions } from './sqlite-config.js';
import { isProcessAlive, mapLimited } from '../../storage/concurrency.js';
import { GenerationalCache } from '../../storage/generational-cache.js';
import { asFrameStore } from '../../storage/object-layout.js';
import { storeFullError } from '../store-full.js';
import { ListedManifests } from '../listed-manifests.js';

/** Owners (connector instances) open in this process; intents of other owners with our pid are stale. */
const liveOwners = new Set<string>();
/** Attempts of a resync that keeps meeting concurrent deletes. */
const RESYNC_ATTEMPTS = 5;
/** Manifest reads in flight during a resync. */
const READ_CONCURRENCY = 8;

/** A bucket's full listing as of one catalog change stamp. */
interface BucketListing {
  readonly stamp: string;
  /** What the catalog listed: every frame, with its current manifest's row id. */
  readonly listed: FrameListing;
  /** The decoded manifests of `listed`, index by index (undefined where none could be read). */
  readonly decoded: readonly (FrameManifest | undefined)[];
  readonly manifests: ListedManifests;
}

/** What the maintenance functions (catalog-maintenance.ts) may use of an open connector. */
export interface CatalogAccess {
  readonly storage: FrameStore;
  readonly catalog: CatalogDatabase;
  /** Makes the catalog's rows of one frame equal to what the store holds (see {@link SqliteConnector.resyncFrame}). */
  resync(ref: FrameRef, full: boolean): Promise<void>;
}

/** Indexes frames in a SQLite catalog; stores segments and manifests through another connector. */
export class SqliteConnector extends FrameStore {
  /** @inheritdoc */
  readonly name = 'sqlite';
  /** Commits are as atomic across processes as the storage's (set at open). */
  override capabilities: FrameStoreCapabilities = { crossProcessCommits: false, rangedReads: false };
  /** Absolute path of the catalog database. */
  readonly catalogPath: string;
  /** The connector holding the segments and manifest files. */
  readonly storage: FrameStore;
  /** Stale intents re-synced by the last {@link open} (for tests and logs). */
  recoveredIntents = 0;
  private readonly fsync: boolean;
  private readonly busyTimeoutMs: number;
  /** This instance, as written in its intents: `<pid>-<uuid>`. */
  private readonly owner = `${process.pid}-${randomUUID()}`;
  private catalogDb: CatalogDatabase | undefined;
  /** Decoded manifests by catalog row id (never reused, so an entry is never stale). */
  private readonly decoded: GenerationalCache<number, FrameManifest>;
  /** The last full listing of each bucket, valid while the catalog's change stamp is the same. */
  private readonly listings = new Map<string, BucketListing>();

  /** @param options - the catalog file, the storage connector and tuning; see docs/connectors.md */
  constructor(options: SqliteConnectorOptions) {
    super();
    this.catalogPath = resolve(options.catalog);
    this.storage = asFrameStore(options.storage);
    this.fsync = options.fsync ?? true;
    this.busyTimeoutMs = options.busyTimeoutMs ?? 5000;
    this.decoded = new GenerationalCache(options.cachedManifests ?? 100_000);
  }

  /**
   * Opens the storage connector, then the catalog (WAL mode; schema created or migrated). A new
   * catalog is filled from the store's manifests (redone at the next open if that fails); then
   * every frame with a stale intent (a commit whose process died between the store and the
   * catalog) is re-synced from the store.
   * @throws StorageError if the catalog cannot be opened; whatever the storage connector's open throws
   */
  override async open(): Promise<void> {
    await this.storage.open();
    try {
      const { default: sqlite } = await import('better-sqlite3');
      await mkdir(dirname(this.catalogPath), { recursive: true });
      try {
        this.catalogDb = CatalogDatabase.open(sqlite, this.catalogPath, { fsync: this.fsync, busyTimeoutMs: this.busyTimeoutMs });
      } catch (error) {
        throw new StorageError(this.name, `could not open the catalog ${this.catalogPath}`, error);
      }
      liveOwners.add(this.owner);
      this.capabilities = { crossProcessCommits: this.storage.capabilities.crossProcessCommits, rangedReads: false };
      if (!this.catalogDb.isFilled()) {
        if ((await this.storage.listBuckets()).length > 0) await this.rebuildCatalog();
        this.catalogDb.markFilled();
      }
      await this.recoverIntents();
    } catch (error) {
      await this.close().catch(() => undefined);
      throw error;
    }
  }

  /** Closes the catalog, then the storage connector. Intents of commits still in flight stay for the next open. */
  override async close(): Promise<void> {
    liveOwners.delete(this.owner);
    this.catalogDb?.close();
    this.catalogDb = undefined;
    this.decoded.clear();
    this.listings.clear();
    await this.storage.close();
  }

  private get catalog(): CatalogDatabase {
    if (!this.catalogDb) throw new StorageError(this.name, `the catalog ${this.catalogPath} is not open`);
    return this.catalogDb;
  }

  /** Runs a catalog statement, wrapping SQLite's errors. */
  private sql<T>(what: string, action: (catalog: CatalogDatabase) => T): T {
    try {
      return action(this.catalog);
    } catch (error) {
      if (error instanceof HangarError) throw error;
      // The catalog's volume is full (SQLite's own code for ENOSPC and quota errors on its files).
      if ((error as { code?: string }).code === 'SQLITE_FULL') {
        throw storeFullError(this.name, `${what} in the catalog ${this.catalogPath}`, (error as Error).message, error);
      }
      throw new StorageError(this.name, `could not ${what} in the catalog ${this.catalogPath}`, error);
    }
  }

  /** Whether an intent's commit can no longer finish on its own (its process or instance is gone). */
  private isStale(intent: CommitIntent): boolean {
    if (intent.pid !== process.pid) return !isProcessAlive(intent.pid);
    return !liveOwners.has(intent.owner);
  }

  /** Re-syncs the frames of stale intents, then forgets those intents. */
  private async recoverIntents(): Promise<void> {
    const stale = this.sql('read the intent log', (catalog) => catalog.intents()).filter((intent) => this.isStale(intent));
    const byFrame = new Map<string, CommitIntent[]>();
    for (const intent of stale) {
      const key = `${intent.bucket}/${intent.name}`;
      byFrame.set(key, [...(byFrame.get(key) ?? []), intent]);
    }
    for (const intents of byFrame.values()) {
      const { bucket, name } = intents[0]!;
      await this.resyncFrame({ bucket, name });
      this.sql('clear the intent log', (catalog) => {
        for (const intent of intents) catalog.removeIntent(intent.id);
      });
    }
    this.recoveredIntents = stale.length;
  }

  /** The decoded manifest of a catalog row, from the cache or parsed from `text`. */
  private decode(id: number, text: () => string | undefined): FrameManifest | undefined {
    const cached = this.decoded.get(id);
    if (cached) return cached;
    const json = text();
    if (json === undefined) return undefined;
    const manifest = JSON.parse(json) as FrameManifest;
    this.decoded.set(id, manifest);
    return manifest;
  }

  private decodeRow(row: StoredManifest | undefined): FrameManifest | undefined {
    return row ? this.decode(row.id, () => row.text) : undefined;
  }

  /** @inheritdoc */
  async putSegment(ref: FrameRef, id: string, bytes: Uint8Array): Promise<void> {
    await this.storage.putSegment(ref, id, bytes);
  }

  /** @inheritdoc */
  async getSegment(ref: FrameRef, id: string): Promise<Uint8Array> {
    return this.storage.getSegment(ref, id);
  }

  /** @inheritdoc */
  async deleteSegments(ref: FrameRef, ids: readonly string[]): Promise<void> {
    await this.storage.deleteSegments(ref, ids);
  }

  /** The storage connector's file, when it keeps segments as files. */
  override segmentFile(ref: FrameRef, id: string): string | undefined {
    return this.storage.segmentFile(ref, id);
  }

  /** The storage connector's file roots. */
  override fileRoots(): readonly string[] {
    return this.storage.fileRoots();
  }

  /** @inheritdoc */
  override async listSegmentObjects(ref: FrameRef): Promise<StoredObject[]> {
    return this.storage.listSegmentObjects(ref);
  }

  /** The current manifest, from the catalog. @inheritdoc */
  async getManifest(ref: FrameRef): Promise<FrameManifest | undefined> {
    return this.sql(`read '${ref.name}'`, (catalog) => this.currentManifest(catalog, ref.bucket, ref.name));
  }

  private currentManifest(catalog: CatalogDatabase, bucket: string, name: string): FrameManifest | undefined {
    const id = catalog.currentId(bucket, name);
    return id === undefined ? undefined : this.manifestById(catalog, id);
  }

  /** From the catalog. @inheritdoc */
  override async getManifests(bucket: string, names: readonly string[]): Promise<Map<string, FrameManifest>> {
    return this.sql(`read frames of '${bucket}'`, (catalog) => {
      const found = new Map<string, FrameManifest>();
      for (const name of names) {
        const manifest = this.currentManifest(catalog, bucket, name);
        if (manifest) found.set(name, manifest);
      }
      return found;
    });
  }

  /**
   * From the catalog. A full listing is kept per bucket and answered again, as the same object,
   * until the catalog changes (any commit, by any process); a new one reuses the manifests of
   * frames whose current version did not change. A filtered listing filters the kept one, or, when
   * that is out of date, reads the names and decodes only the manifests selected.
   */
  override async listManifests(bucket: string, select?: (name: string) => boolean): Promise<ReadonlyMap<string, FrameManifest>> {
    return this.sql(`list bucket '${bucket}'`, (catalog) => {
      const stamp = catalog.changeStamp();
      const kept = this.listings.get(bucket);
      if (!select) return this.bucketListing(catalog, bucket, stamp, kept).manifests;
      const found = new Map<string, FrameManifest>();
      if (kept?.stamp === stamp) {
        kept.manifests.forEach((manifest, name) => {
          if (select(name)) found.set(name, manifest);
        });
        return found;
      }
      const { names, manifests: ids } = catalog.listing(bucket);
      for (let index = 0; index < names.length; index++) {
        const name = names[index]!;
        if (!select(name)) continue;
        const manifest = this.manifestById(catalog, ids[index]!);
        if (manifest) found.set(name, manifest);
      }
      return found;
    });
  }

  /** The bucket's full listing at `stamp`: `kept` if it is that one, else a new one (then kept). */
  private bucketListing(catalog: CatalogDatabase, bucket: string, stamp: string, kept: BucketListing | undefined): BucketListing {
    if (kept?.stamp === stamp) return kept;
    const listed = catalog.listing(bucket, kept?.listed);
    const sameNames = listed.names === kept?.listed.names;
    const decoded: (FrameManifest | undefined)[] = new Array(listed.names.length);
    const names: string[] = [];
    const manifests: FrameManifest[] = [];
    for (let index = 0; index < listed.names.length; index++) {
      const id = listed.manifests[index]!;
      // Most frames did not change since the last listing: same name, same manifest row id.
      const manifest = sameNames && kept.listed.manifests[index] === id ? kept.decoded[index] : this.manifestById(catalog, id);
      decoded[index] = manifest;
      if (!manifest) continue;
      names.push(listed.names[index]!);
      manifests.push(manifest);
    }
    const listing: BucketListing = { stamp, listed, decoded, manifests: new ListedManifests(names, manifests) };
    this.listings.set(bucket, listing);
    return listing;
  }

  /** The decoded manifest of catalog row `id`, read only if it is not cached. */
  private manifestById(catalog: CatalogDatabase, id: number): FrameManifest | undefined {
    return this.decode(id, () => catalog.manifestText(id));
  }

  /** From the catalog. @inheritdoc */
  override async listVersions(ref: FrameRef): Promise<number[]> {
    return this.sql(`list versions of '${ref.name}'`, (catalog) => catalog.versionNumbers(ref.bucket, ref.name));
  }

  /** From the catalog. @inheritdoc */
  override async getManifestVersion(ref: FrameRef, version: number): Promise<FrameManifest | undefined> {
    return this.sql(`read version ${version} of '${ref.name}'`, (catalog) => this.decodeRow(catalog.version(ref.bucket, ref.name, version)));
  }

  /** Deletes the manifests from the store, then from the catalog. */
  override async deleteManifests(ref: FrameRef, versions: readonly number[]): Promise<void> {
    await this.storage.deleteManifests(ref, versions);
    this.sql(`forget old versions of '${ref.name}'`, (catalog) => catalog.applyFrame(ref.bucket, ref.name, { upserts: [], removals: versions }));
  }

  /**
   * Ids of the current version's segment objects whose time statistics may overlap [min, max]
   * (in the time column's unit; segments without statistics are included), in row order, from the
   * catalog's time index.
   */
  async segmentsOverlapping(ref: FrameRef, min: bigint, max: bigint): Promise<string[]> {
    return this.sql(`search segments of '${ref.name}'`, (catalog) => catalog.segmentsOverlapping(ref.bucket, ref.name, min, max));
  }

  /**
   * Commits in three steps: (1) an intent row in the catalog, (2) the storage connector's
   * compare-and-swap, which decides, (3) one catalog transaction recording the version and
   * dropping the intent. A conflict at (2) re-syncs the frame from the store (another process
   * committed) before it is rethrown. A failure at (3) never fails the commit, which has happened:
   * the frame is re-synced, or failing that the intent stays for the next open to repair.
   */
  async commitManifest(ref: FrameRef, manifest: FrameManifest): Promise<void> {
    const intent = this.sql(`record the commit of '${ref.name}'`, (catalog) => catalog.addIntent(ref.bucket, ref.name, manifest.version, this.owner));
    try {
      await this.storage.commitManifest(ref, manifest);
    } catch (error) {
      // A conflict means another writer moved the frame; any other failure leaves the outcome unknown.
      await this.resyncAndForget(ref, intent);
      throw error;
    }
    this.afterStoreCommit(ref, manifest);
    try {
      this.catalog.applyFrame(ref.bucket, ref.name, { upserts: [{ manifest, text: JSON.stringify(manifest) }], intentId: intent });
    } catch (error) {
      if (!(await this.resyncAndForget(ref, intent))) {
        process.emitWarning(
          `the sqlite catalog ${this.catalogPath} could not record version ${manifest.version} of '${ref.name}' ` +
            `(${(error as Error).message}); it is committed in the store and the catalog will be repaired at the next start`,
          { code: 'HANGAR_SQLITE_CATALOG_BEHIND' },
        );
      }
    }
  }

  /**
   * Runs between the store's commit and the catalog's record of it: a test seam for the crash
   * window (a subclass that throws here behaves like a process killed at that moment).
   */
  protected afterStoreCommit(_ref: FrameRef, _manifest: FrameManifest): void {}

  /** Re-syncs a frame and forgets the intent; false (intent kept for the next open) if that failed. */
  private async resyncAndForget(ref: FrameRef, intent: number): Promise<boolean> {
    try {
      await this.resyncFrame(ref);
      this.catalog.removeIntent(intent);
      return true;
    } catch {
      return false;
    }
  }

  /**
   * Makes the catalog's rows of one frame equal to the store's manifests. Versions the store has
   * and the catalog lacks are read and recorded; versions the catalog had before the store was
   * listed and the store no longer has are removed (the catalog only ever learns a version after
   * the store has it, so this never undoes a concurrent commit). If the store's current version
   * differs from the catalog's row of that number (the frame was deleted and re-created through
   * another catalog), or with `full`, every version is read again. A frame or bucket removal
   * during the resync makes it start over. Idempotent.
   */
  async resyncFrame(ref: FrameRef, options: { readonly full?: boolean } = {}): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      const epoch = this.sql('read the catalog', (catalog) => catalog.deleteEpoch());
      const known = new Set(this.sql(`list versions of '${ref.name}'`, (catalog) => catalog.versionNumbers(ref.bucket, ref.name)));
      const stored = await this.storage.listVersions(ref);
      const reads = new Map<number, FrameManifest | undefined>();
      let full = options.full ?? false;
      const latest = stored.at(-1);
      if (!full && latest !== undefined && known.has(latest)) {
        const manifest = await this.storage.getManifestVersion(ref, latest);
        reads.set(latest, manifest);
        const row = this.sql('read the catalog', (catalog) => catalog.version(ref.bucket, ref.name, latest));
        full = manifest !== undefined && row !== undefined && JSON.stringify(manifest) !== row.text;
      }
      const wanted = full ? stored : stored.filter((version) => !known.has(version));
      await mapLimited(wanted.filter((version) => !reads.has(version)), READ_CONCURRENCY, async (version) => {
        reads.set(version, await this.storage.getManifestVersion(ref, version));
      });
      const upserts: ManifestRecord[] = wanted.flatMap((version) => {
        const manifest = reads.get(version);
        return manifest ? [{ manifest, text: JSON.stringify(manifest) }] : [];
      });
      const storedSet = new Set(stored);
      const removals = [...known].filter((version) => !storedSet.has(version));
      const applied = this.sql(`re-sync '${ref.name}'`, (catalog) =>
        catalog.applyFrame(ref.bucket, ref.name, { upserts, removals, ...(attempt < RESYNC_ATTEMPTS ? { expectEpoch: epoch } : {}) }),
      );
      if (applied) return;
    }
  }

  /** Removes the frame from the store, then from the catalog. */
  async deleteFrame(ref: FrameRef): Promise<void> {
    await this.storage.deleteFrame(ref);
    this.sql(`remove '${ref.name}'`, (catalog) => catalog.removeFrame(ref.bucket, ref.name));
  }

  /** From the catalog. @inheritdoc */
  async listFrames(bucket: string): Promise<string[]> {
    return this.sql(`list bucket '${bucket}'`, (catalog) => catalog.frameNames(bucket));
  }

  /** One indexed lookup per name, whatever the size of the bucket. @inheritdoc */
  override async existingFrames(bucket: string, names: readonly string[]): Promise<Set<string>> {
    return this.sql(`look up frames of '${bucket}'`, (catalog) => new Set(names.filter((name) => catalog.hasFrame(bucket, name))));
  }

  /** From the catalog. @inheritdoc */
  async listBuckets(): Promise<string[]> {
    return this.sql('list buckets', (catalog) => catalog.buckets());
  }

  /** Creates the bucket in the store, then in the catalog. */
  async createBucket(bucket: string): Promise<void> {
    await this.storage.createBucket(bucket);
    this.sql(`create bucket '${bucket}'`, (catalog) => catalog.addBucket(bucket));
  }

  /** Snapshot documents live in the store only (a bucket has few; no listing needs an index). @inheritdoc */
  putSnapshot(snapshot: SnapshotDocument): Promise<boolean> {
    return this.storage.putSnapshot(snapshot);
  }

  /** From the store. @inheritdoc */
  getSnapshot(bucket: string, name: string): Promise<SnapshotDocument | undefined> {
    return this.storage.getSnapshot(bucket, name);
  }

  /** From the store. @inheritdoc */
  listSnapshots(bucket: string): Promise<string[]> {
    return this.storage.listSnapshots(bucket);
  }

  /** In the store. @inheritdoc */
  deleteSnapshot(bucket: string, name: string): Promise<boolean> {
    return this.storage.deleteSnapshot(bucket, name);
  }

  /** Removes the bucket from the store, then from the catalog. */
  async deleteBucket(bucket: string): Promise<void> {
    await this.storage.deleteBucket(bucket);
    this.sql(`remove bucket '${bucket}'`, (catalog) => catalog.removeBucket(bucket));
  }

  private access(): CatalogAccess {
    return { storage: this.storage, catalog: this.catalog, resync: (ref, full) => this.resyncFrame(ref, { full }) };
  }

  /**
   * Re-creates the catalog from the store: empties it, then records every kept manifest of every
   * frame of every bucket. Run it with no server using the catalog (their readers would see frames
   * missing until it finishes).
   */
  async rebuildCatalog(): Promise<CatalogRebuildSummary> {
    return rebuildCatalog(this.access());
  }

  /**
   * Compares the catalog with the store (see {@link CatalogCheckReport}); deletes nothing. With
   * `fix`, re-syncs the catalog from the store where they differ (never touching the store).
   */
  async checkCatalog(options: CheckOptions = {}): Promise<CatalogCheckReport> {
    return checkCatalog(this.access(), options);
  }
}
