/**
 * The object layout: frames, versions and buckets written once over any byte-level `Connector`.
 * Keys are in layout-keys.ts; guarantees and crash behaviour in docs/storage-layout.md.
 */
import { createRequire } from 'node:module';
import { ConflictError, DataLossError, FailedPreconditionError, InvalidArgumentError, NotFoundError } from '../errors.js';
import { decodeDeltaCommit, encodeDeltaCommit } from '../format/delta-commit.js';
import { encodeDeltaCheckpoint } from '../format/delta-checkpoint.js';
import { applyDeltaCommitFile, newDeltaReplay } from '../format/delta-log-replay.js';
import { KeyedMutex } from './keyed-mutex.js';
import { currentCommitAuthor } from './commit-author.js';
import { type FrameManifest, decodeManifest, encodeManifest, segmentObjectIds } from '../format/manifest.js';
import { type FrameRef, validateName } from '../names.js';
import type { Connector, ObjectInfo } from './connector.js';
import { mapLimited } from './concurrency.js';
import { coalesceRanges } from './byte-ranges.js';
import { type ByteRange, FrameStore, type FrameStoreCapabilities, type StoredObject, checkRanges } from './frame-store.js';
import { GenerationalCache } from './generational-cache.js';
import {
  BUCKET_MARKERS,
  DELTA_LOG_DIR,
  LAYOUT_MARKER_KEY,
  MANIFESTS_DIR,
  bucketMarkerKey,
  bucketPrefix,
  deltaCheckpointKey,
  deltaCommitKey,
  deltaLastCheckpointKey,
  deltaLogPrefix,
  expiredVersionKey,
  expiredVersionsPrefix,
  framePrefix,
  manifestKey,
  manifestOfKey,
  manifestsPrefix,
  segmentKey,
  segmentsPrefix,
  versionOfDeltaCommitName,
  versionOfManifestName,
} from './layout-keys.js';
import { WriterLease } from './writer-lease.js';
import type { SnapshotDocument } from '../format/snapshot-document.js';
import { LayoutSnapshots } from './layout-snapshots.js';

/**
 * How far apart two byte ranges of a segment may be and still be fetched in one request: 128 KiB,
 * a few milliseconds of an object store's bandwidth, well under a request's latency. Segments are
 * written in row groups of at most 2 MiB, so a column chunk is often a few hundred KiB: a larger gap
 * (it was 1 MiB) merged a two-of-seven-column projection into one request for nearly the whole file.
 */
export const DEFAULT_RANGE_COALESCE_BYTES = 128 * 1024;

/** Tuning of the layout; every member has a default. */
export interface ObjectLayoutOptions {
  /** Requests in flight when reading many manifests or probing many frames (default 32). */
  readonly listConcurrency?: number;
  /** Ranged reads merge ranges at most this many bytes apart into one request (default {@link DEFAULT_RANGE_COALESCE_BYTES}). */
  readonly rangeCoalesceBytes?: number;
  /** Ranged requests of one segment in flight at once (default 8). */
  readonly rangeConcurrency?: number;
  /**
   * How versions are recorded: `delta` (each frame a Delta Lake table: docs/open-format.md) or
   * `hangar` (the manifest layout, manifests/). Default: the environment variable `HANGAR_LAYOUT`
   * (`delta` or `manifest`), else the store's own, decided by {@link ObjectLayout.open}: its
   * `~layout` marker, else the log its frames hold, else (a new store) `delta`.
   */
  readonly log?: VersionLogFormat;
  /** With the Delta log: a checkpoint every this many Delta versions, 0 for none (default 10, Delta's own). */
  readonly checkpointInterval?: number;
  /**
   * With the Delta log: how long a frame's listed expired-version markers are reused, in ms (default
   * {@link EXPIRED_MARKERS_REUSE_MS}; 0 lists them on every read). This server's own vacuums and
   * deletions are seen at once; another server's vacuum after at most this long.
   */
  readonly expiredMarkersReuseMs?: number;
}

/**
 * How long a frame's listing of expired-version markers is reused by default: 2 s, like a bucket
 * listing's. Markers are only ever added (until the frame is deleted), so a stale listing can only
 * miss a version another server's vacuum expired in that time — the read of such a version then
 * finds its segments gone (NOT_FOUND), as a read racing a vacuum can on any layout, and drops the
 * listing — or, after another server deleted and re-created the frame, hide its new versions for as
 * long (unless the new frame's newest version is not above the expired ones, which forces a listing).
 */
export const EXPIRED_MARKERS_REUSE_MS = 2000;

/** A frame's expired-version markers as last listed. */
interface ExpiredMarkers {
  readonly versions: ReadonlySet<number>;
  readonly listedAt: number;
}

/** How a store records versions: Hangar's manifests, or a Delta Lake log per frame. */
export type VersionLogFormat = 'hangar' | 'delta';

/** Where a store's layout was decided (see {@link ObjectLayout.layoutSource}). */
export type LayoutSource = 'option' | 'environment' | 'marker' | 'detected' | 'new';

/**
 * The layout named by the environment variable `HANGAR_LAYOUT` (`delta`, or `manifest`), if set.
 * @throws InvalidArgumentError for any other value
 */
export function layoutFromEnvironment(): VersionLogFormat | undefined {
  const value = process.env['HANGAR_LAYOUT']?.trim();
  if (value === undefined || value === '') return undefined;
  const log = layoutOfName(value);
  if (!log) throw new InvalidArgumentError(`HANGAR_LAYOUT=${JSON.stringify(value)} is not a layout: use delta or manifest, or unset it to serve each store in its own`);
  return log;
}

/** The log format a layout name stands for (`manifest` is Hangar's own log). */
function layoutOfName(name: string): VersionLogFormat | undefined {
  return name === 'delta' ? 'delta' : name === 'manifest' || name === 'hangar' ? 'hangar' : undefined;
}

/**
 * Writes the store's `~layout` marker naming a log (replacing any, unless `ifAbsent`): a store's first
 * commit marks it, and `hangar migrate` marks a migrated store as Delta.
 * @returns whether it was written
 */
export function writeLayoutMarker(connector: Connector, log: VersionLogFormat, options: { readonly ifAbsent?: boolean } = {}): Promise<boolean> {
  return connector.put(LAYOUT_MARKER_KEY, Buffer.from(`${JSON.stringify({ layout: layoutName(log) })}\n`), options);
}

/** The name a log format has in `HANGAR_LAYOUT` and in the store's layout marker. */
export function layoutName(log: VersionLogFormat): 'delta' | 'manifest' {
  return log === 'delta' ? 'delta' : 'manifest';
}

const ENGINE_INFO = `Hangar/${(createRequire(import.meta.url)('../../package.json') as { version: string }).version}`;

/** The current manifest of a frame as this instance last saw it. */
interface CurrentManifest {
  readonly version: number;
  readonly manifest: FrameManifest;
  /** The stored object's size and time when it was read or written (undefined: unknown, never reused). */
  readonly identity: string | undefined;
}

/** The newest manifest key of each frame of a bucket, from one flat listing. */
interface BucketListing {
  readonly bucket: string;
  readonly at: number;
  readonly latest: Map<string, { readonly version: number; readonly info: ObjectInfo }>;
}

/** Current manifests remembered (a few hundred bytes to a few KiB each, per generation). */
const CURRENT_MANIFESTS = 20_000;
/** How long getManifests may reuse the listing of the listFrames call that preceded it. */
const LISTING_REUSE_MS = 2000;

function identityOf(info: ObjectInfo): string {
  return `${info.size}:${info.modifiedAt.getTime()}`;
}

/**
 * A {@link FrameStore} over a byte store. A commit is one `put` of the next version's manifest with
 * `ifAbsent`, after checking that the current version is the one before it: of two writers that
 * read version n, the store lets exactly one create n+1. Old manifests stay until vacuum removes
 * them, so every backend has versions, time travel, restore, compaction and vacuum.
 */
export class ObjectLayout extends FrameStore {
  /** @inheritdoc */
  readonly name: string;
  /** @inheritdoc */
  override capabilities: FrameStoreCapabilities;
  private readonly listConcurrency: number;
  private readonly rangeCoalesceBytes: number;
  private readonly rangeConcurrency: number;
  /** How this store records versions (see {@link ObjectLayoutOptions.log}); settled by {@link open}. */
  get log(): VersionLogFormat {
    return this.logFormat;
  }
  /** Where {@link log} was decided: the options, `HANGAR_LAYOUT`, the store's marker, its frames, or a new store's default. */
  get layoutSource(): LayoutSource {
    return this.logSource;
  }
  private logFormat: VersionLogFormat;
  private logSource: LayoutSource;
  /** Whether the store's `~layout` marker is known to exist (read at open or written by a commit). */
  private layoutMarked = false;
  private readonly checkpointInterval: number;
  private readonly expiredMarkersReuseMs: number;
  /** Delta checkpoints written after their commits answered, by frame prefix (see {@link checkpointLater}). */
  private readonly pendingCheckpoints = new Map<string, Promise<void>>();
  /** Expired-version markers by frame prefix (Delta log; see {@link EXPIRED_MARKERS_REUSE_MS}). */
  private readonly expiredMarkers = new GenerationalCache<string, ExpiredMarkers>(CURRENT_MANIFESTS);
  /** Listings of expired markers in flight, by frame prefix: concurrent reads share one. */
  private readonly expiredListings = new Map<string, Promise<ReadonlySet<number>>>();
  /** Bumped when markers are written or a frame forgotten: a listing begun before then is not kept. */
  private expiredEpoch = 0;
  /** In-process serialisation of one frame's commits; across processes `ifAbsent` decides. */
  private readonly commits = new KeyedMutex();
  private readonly current = new GenerationalCache<string, CurrentManifest>(CURRENT_MANIFESTS);
  /** Probes of cached manifests not sent yet, by frame, version and identity (see {@link stillCurrent}). */
  private readonly unsentProbes = new Map<string, Promise<boolean>>();
  /** Buckets whose marker this instance wrote or saw, so a commit does not rewrite it. */
  private readonly knownBuckets = new Set<string>();
  /** Segment keys written by this instance and not yet referenced by a committed manifest. */
  private readonly uncommitted = new Set<string>();
  private recentListing: BucketListing | undefined;
  /** The writer lease of a store without atomic `ifAbsent`, taken by the first write. */
  private lease: Promise<WriterLease> | undefined;

  /**
   * @param connector - the byte store (opened and closed by this layout)
   * @param options - tuning
   */
  constructor(
    readonly connector: Connector,
    options: ObjectLayoutOptions = {},
  ) {
    super();
    this.name = connector.name;
    this.listConcurrency = options.listConcurrency ?? 32;
    this.rangeCoalesceBytes = options.rangeCoalesceBytes ?? DEFAULT_RANGE_COALESCE_BYTES;
    this.rangeConcurrency = options.rangeConcurrency ?? 8;
    const fromEnvironment = options.log === undefined ? layoutFromEnvironment() : undefined;
    // Until open() reads the store: a store used unopened is taken for a new one.
    this.logFormat = options.log ?? fromEnvironment ?? 'delta';
    this.logSource = options.log !== undefined ? 'option' : fromEnvironment !== undefined ? 'environment' : 'new';
    this.checkpointInterval = options.checkpointInterval ?? 10;
    this.expiredMarkersReuseMs = options.expiredMarkersReuseMs ?? EXPIRED_MARKERS_REUSE_MS;
    this.capabilities = { crossProcessCommits: connector.consistency === 'atomic', rangedReads: connector.readsRanges };
  }

  /**
   * Opens the store, and adds bucket markers to a directory store written before markers existed.
   * Capabilities are settled here: some stores learn their consistency only when they open.
   */
  override async open(): Promise<void> {
    await this.connector.open();
    this.capabilities = {
      ...this.capabilities,
      crossProcessCommits: this.connector.consistency === 'atomic',
      rangedReads: this.connector.readsRanges,
    };
    try {
      await this.markLegacyBuckets();
      await this.settleLayout();
    } catch (error) {
      await this.connector.close().catch(() => undefined);
      throw error;
    }
  }

  /**
   * Decides which log this store is served in. Named by the options or `HANGAR_LAYOUT`: that one (with
   * `HANGAR_LAYOUT`, a warning when the store's marker says otherwise; frames of the other log are then
   * refused one by one).
   * Else the store's own: its `~layout` marker; without one (stores written before 0.2), the log of
   * the first frame found that has one (a frame with a Delta log counts as Delta: `hangar migrate`
   * leaves the manifests beside it); a store with no frame is new and gets the Delta log. A store
   * served in the manifest layout this way gets a warning naming `hangar migrate`.
   */
  private async settleLayout(): Promise<void> {
    const marked = await this.readLayoutMarker();
    this.layoutMarked = marked !== undefined;
    if (this.logSource === 'option' || this.logSource === 'environment') {
      if (this.logSource === 'environment' && marked !== undefined && marked !== this.logFormat) {
        process.emitWarning(
          `the store ${this.connector.name} is marked as ${layoutName(marked)} layout (~layout) but is served as ${layoutName(this.logFormat)} ` +
            '(HANGAR_LAYOUT): frames of the other log are refused with FAILED_PRECONDITION',
          { code: 'HANGAR_LAYOUT_MISMATCH' },
        );
      }
      return;
    }
    const stored = marked ?? (await this.detectLog());
    this.logFormat = stored ?? 'delta';
    this.logSource = marked !== undefined ? 'marker' : stored !== undefined ? 'detected' : 'new';
    if (this.logFormat === 'hangar') {
      process.emitWarning(
        `the store ${this.connector.name} holds the manifest layout (manifests/) and is served in it. The Delta Lake log is the default ` +
          'layout for new stores: stop the servers writing to this store and run `hangar migrate --data <store>` once to move it ' +
          '(docs/open-format.md); HANGAR_LAYOUT=manifest silences this',
        { code: 'HANGAR_MANIFEST_LAYOUT' },
      );
    }
  }

  /** The layout the store's `~layout` marker names, if it has one. */
  private async readLayoutMarker(): Promise<VersionLogFormat | undefined> {
    const bytes = await this.connector.get(LAYOUT_MARKER_KEY);
    if (!bytes) return undefined;
    let name: unknown;
    try {
      name = (JSON.parse(Buffer.from(bytes).toString('utf8')) as { layout?: unknown }).layout;
    } catch {
      name = undefined;
    }
    const log = typeof name === 'string' ? layoutOfName(name) : undefined;
    if (!log) {
      throw new FailedPreconditionError(
        `the store's layout marker ${this.connector.name}:${LAYOUT_MARKER_KEY} is damaged (it should be {"layout":"delta"} or {"layout":"manifest"}): ` +
          'write the right one back, or serve the store with HANGAR_LAYOUT=delta or manifest',
      );
    }
    return log;
  }

  /**
   * The log of a store without a marker: that of the first frame found with a version file, a frame
   * with a Delta log counting as Delta. Stops at that frame, so a large store costs a few listings.
   */
  private async detectLog(): Promise<VersionLogFormat | undefined> {
    const logOf = async (ref: FrameRef): Promise<VersionLogFormat | undefined> => {
      if ((await this.namesUnder(deltaLogPrefix(ref))).some((name) => versionOfDeltaCommitName(name) !== undefined)) return 'delta';
      if ((await this.namesUnder(manifestsPrefix(ref))).some((name) => versionOfManifestName(name) !== undefined)) return 'hangar';
      return undefined;
    };
    for (const bucket of await this.listBuckets()) {
      const prefix = bucketPrefix(bucket);
      if (this.connector.listsChildren) {
        for (const name of await this.connector.listChildren(prefix)) {
          const log = isValidName(name) ? await logOf({ bucket, name }) : undefined;
          if (log) return log;
        }
        continue;
      }
      // A flat listing: the first key of a version file names a frame, whose two logs are then listed.
      for await (const { key } of this.connector.list(prefix)) {
        const found = manifestOfKey(key, prefix) ?? manifestOfKey(key, prefix, DELTA_LOG_DIR, versionOfDeltaCommitName);
        if (found) return logOf({ bucket, name: found.frame });
      }
    }
    return undefined;
  }

  /** Writes the store's layout marker once (a store's first commit), unless it has one. */
  private async markLayout(): Promise<void> {
    if (this.layoutMarked) return;
    await writeLayoutMarker(this.connector, this.logFormat, { ifAbsent: true });
    this.layoutMarked = true;
  }

  /**
   * Before the first write to a store without atomic `ifAbsent`: takes the writer lease, so a
   * second server refuses to write while this one does (readers need no lease).
   * @throws FailedPreconditionError while another live server holds the lease
   */
  private async writable(): Promise<void> {
    if (this.connector.consistency === 'atomic') return;
    this.lease ??= WriterLease.acquire(this.connector);
    try {
      await this.lease;
    } catch (error) {
      this.lease = undefined; // the other server may stop: try again on the next write
      throw error;
    }
  }

  /** Deletes the segments this instance wrote but never committed, then closes the store. */
  override async close(): Promise<void> {
    await this.checkpointsUnder('');
    const keys = [...this.uncommitted];
    this.uncommitted.clear();
    await this.connector.delete(keys).catch(() => undefined);
    await (await this.lease?.catch(() => undefined))?.release();
    await this.connector.close();
  }

  /**
   * Local stores of Hangar 0.1 had a directory per bucket and no markers: give each such directory
   * a marker once, so its buckets (empty ones too) stay listed.
   */
  private async markLegacyBuckets(): Promise<void> {
    if (!this.connector.listsChildren) return;
    if ((await this.connector.listChildren(BUCKET_MARKERS)).length > 0) return;
    for (const name of await this.connector.listChildren('')) {
      if (name.startsWith('~') || !isValidName(name)) continue;
      await this.connector.put(bucketMarkerKey(name), new Uint8Array(0));
    }
  }

  // ---- segments ---------------------------------------------------------------------------

  /** @inheritdoc */
  async putSegment(ref: FrameRef, id: string, bytes: Uint8Array): Promise<void> {
    await this.writable();
    const key = segmentKey(ref, id);
    this.uncommitted.add(key);
    await this.connector.put(key, bytes);
  }

  /** Stores the runs through the store's `putStream`, which a local store writes run by run (no joined copy). */
  override async putSegmentParts(ref: FrameRef, id: string, parts: readonly Uint8Array[]): Promise<void> {
    await this.writable();
    const key = segmentKey(ref, id);
    this.uncommitted.add(key);
    await this.connector.putStream(key, (async function* () {
      yield* parts;
    })());
  }

  /** @inheritdoc */
  async getSegment(ref: FrameRef, id: string): Promise<Uint8Array> {
    const bytes = await this.connector.get(segmentKey(ref, id));
    if (!bytes) throw this.segmentGone(ref, id);
    return bytes;
  }

  /**
   * Ranged reads through the store's `getRange`: ranges less than `rangeCoalesceBytes` apart share
   * one request, at most `rangeConcurrency` in flight.
   */
  override async getSegmentRanges(ref: FrameRef, id: string, ranges: readonly ByteRange[]): Promise<Uint8Array[]> {
    if (!this.connector.readsRanges) return super.getSegmentRanges(ref, id, ranges);
    checkRanges(ranges);
    const key = segmentKey(ref, id);
    const spans = coalesceRanges(ranges.filter((range) => range.end > range.start), this.rangeCoalesceBytes);
    const fetched = await mapLimited(spans, this.rangeConcurrency, (span) => this.connector.getRange(key, span.start, span.end - span.start));
    if (fetched.some((bytes) => bytes === undefined)) throw this.segmentGone(ref, id);
    return ranges.map((range) => {
      if (range.end <= range.start) return new Uint8Array(0);
      const index = spans.findIndex((span) => span.start <= range.start && range.end <= span.end);
      const bytes = fetched[index]!;
      const start = spans[index]!.start;
      // A span reaching past the end of the object comes back short; so does any range in it.
      return bytes.subarray(Math.min(range.start - start, bytes.byteLength), Math.min(range.end - start, bytes.byteLength));
    });
  }

  /**
   * The error of a read that found a segment gone: a vacuum removed it (possibly another server's,
   * whose expired markers a reused listing missed, so the frame's are listed again next time).
   */
  private segmentGone(ref: FrameRef, id: string): NotFoundError {
    this.forgetExpired(framePrefix(ref));
    return new NotFoundError(`segment ${id} of frame '${ref.name}' no longer exists`);
  }

  /** @inheritdoc */
  async deleteSegments(ref: FrameRef, ids: readonly string[]): Promise<void> {
    await this.writable();
    const keys = ids.map((id) => segmentKey(ref, id));
    for (const key of keys) this.uncommitted.delete(key);
    await this.connector.delete(keys);
  }

  /** @inheritdoc */
  override async listSegmentObjects(ref: FrameRef): Promise<StoredObject[]> {
    const prefix = segmentsPrefix(ref);
    const found: StoredObject[] = [];
    for await (const { key, modifiedAt } of this.connector.list(prefix)) {
      found.push({ id: key.slice(prefix.length), modifiedAt: modifiedAt.getTime() });
    }
    return found;
  }

  /** The segment's local file, when the store keeps objects as files. */
  override segmentFile(ref: FrameRef, id: string): string | undefined {
    return this.connector.localPath(segmentKey(ref, id));
  }

  /** The store's root directory, when it keeps objects as files. */
  override fileRoots(): readonly string[] {
    const root = this.connector.localPath('');
    return root === undefined ? [] : [root];
  }

  // ---- manifests --------------------------------------------------------------------------

  /** The folder holding a frame's version files. */
  private get logDir(): string {
    return this.log === 'delta' ? DELTA_LOG_DIR : MANIFESTS_DIR;
  }

  /** The prefix of a frame's version files. */
  private logPrefix(ref: FrameRef): string {
    return this.log === 'delta' ? deltaLogPrefix(ref) : manifestsPrefix(ref);
  }

  /** The key of one version's file: its manifest, or its Delta commit. */
  private logKey(ref: FrameRef, version: number): string {
    return this.log === 'delta' ? deltaCommitKey(ref, version) : manifestKey(ref, version);
  }

  /** The Hangar version a file name of the log stands for, if it is one. */
  private readonly versionOfLogName = (name: string): number | undefined =>
    this.log === 'delta' ? versionOfDeltaCommitName(name) : versionOfManifestName(name);

  /** Names of the files directly under a prefix. */
  private async namesUnder(prefix: string): Promise<string[]> {
    if (this.connector.listsChildren) return this.connector.listChildren(prefix);
    const names: string[] = [];
    for await (const { key } of this.connector.list(prefix)) names.push(key.slice(prefix.length));
    return names;
  }

  /**
   * The versions vacuum expired: the Delta log keeps its commit files, so markers say which. A listing
   * younger than `expiredMarkersReuseMs` is reused (see {@link EXPIRED_MARKERS_REUSE_MS}), unless `fresh`.
   */
  private async expiredVersions(ref: FrameRef, fresh = false): Promise<ReadonlySet<number>> {
    if (this.log !== 'delta') return new Set();
    const prefix = framePrefix(ref);
    const cached = fresh ? undefined : this.expiredMarkers.get(prefix);
    if (cached && Date.now() - cached.listedAt < this.expiredMarkersReuseMs) return cached.versions;
    const shared = fresh ? undefined : this.expiredListings.get(prefix);
    if (shared) return shared;
    const epoch = this.expiredEpoch;
    const listedAt = Date.now();
    const listing = (async () => {
      const expired = new Set<number>();
      for (const name of await this.namesUnder(expiredVersionsPrefix(ref))) {
        const version = /^\d+$/.test(name) ? Number.parseInt(name, 10) : undefined;
        if (version !== undefined) expired.add(version);
      }
      if (epoch === this.expiredEpoch && this.expiredMarkersReuseMs > 0) this.expiredMarkers.set(prefix, { versions: expired, listedAt });
      return expired;
    })();
    if (!fresh) this.expiredListings.set(prefix, listing);
    try {
      return await listing;
    } finally {
      if (this.expiredListings.get(prefix) === listing) this.expiredListings.delete(prefix);
    }
  }

  /** Forgets the expired markers listed under a prefix, and any listing now in flight there. */
  private forgetExpired(prefix: string): void {
    this.expiredEpoch++;
    this.expiredMarkers.deleteWhere((key) => key.startsWith(prefix));
    for (const key of [...this.expiredListings.keys()]) if (key.startsWith(prefix)) this.expiredListings.delete(key);
  }

  /** The versions that have a file in the log, ascending (expired ones of the Delta log included). */
  private async logVersions(ref: FrameRef): Promise<number[]> {
    const versions: number[] = [];
    for (const name of await this.namesUnder(this.logPrefix(ref))) {
      const version = this.versionOfLogName(name);
      if (version !== undefined) versions.push(version);
    }
    return versions.sort((a, b) => a - b);
  }

  /** Every version with a file in the log, ascending, expired ones included (for migration). */
  async listLogVersions(ref: FrameRef): Promise<number[]> {
    return this.logVersions(ref);
  }

  /** The versions that have a manifest, ascending (without expired ones). */
  private async manifestVersions(ref: FrameRef): Promise<number[]> {
    if (this.log !== 'delta') return this.logVersions(ref);
    const [versions, reused] = await Promise.all([this.logVersions(ref), this.expiredVersions(ref)]);
    // Vacuum never expires a live frame's newest version: a reused listing that reaches it may be of
    // a frame another server deleted and re-created since, so it is listed again.
    const newest = versions.at(-1);
    const expired = newest !== undefined && [...reused].some((version) => version >= newest) ? await this.expiredVersions(ref, true) : reused;
    return versions.filter((version) => !expired.has(version));
  }

  /**
   * Writes the marker that hides a version from Hangar before its Delta commit exists (migration
   * of versions vacuum already removed: their commits only keep the Delta log contiguous).
   */
  async markExpired(ref: FrameRef, version: number): Promise<void> {
    await this.writable();
    await this.connector.put(expiredVersionKey(ref, version), new Uint8Array(0), { ifAbsent: true });
    this.forgetExpired(framePrefix(ref));
  }

  /** Reads one version's manifest; undefined if it is not stored. */
  private async readVersion(ref: FrameRef, version: number): Promise<FrameManifest | undefined> {
    const key = this.logKey(ref, version);
    const bytes = await this.connector.get(key);
    if (!bytes) return undefined;
    const where = `${this.connector.name}:${key}`;
    return this.log === 'delta' ? decodeDeltaCommit(bytes, where, { ref, version }) : decodeManifest(bytes, where, { ref, version });
  }

  /**
   * The current manifest. When this instance has seen the frame before, two probes confirm it is
   * still current (no next version exists; the known one is the same object) and the decoded copy
   * is reused; otherwise the versions are listed and the newest read.
   */
  async getManifest(ref: FrameRef): Promise<FrameManifest | undefined> {
    const prefix = framePrefix(ref);
    const known = this.current.get(prefix);
    if (known && (await this.stillCurrent(ref, prefix, known))) return known.manifest;
    // A concurrent vacuum or delete may remove the newest file between listing and reading: once more.
    for (let attempt = 0; attempt < 2; attempt++) {
      const latest = (await this.manifestVersions(ref)).at(-1);
      if (latest === undefined) {
        if (known) this.current.deleteWhere((key) => key === prefix);
        await this.refuseOtherLog(ref);
        return undefined;
      }
      // The identity first: if the object changes between the two calls, the next lookup re-reads it.
      const info = await this.connector.head(this.logKey(ref, latest));
      const manifest = info && (await this.readVersion(ref, latest));
      if (manifest) {
        this.current.set(prefix, { version: latest, manifest, identity: identityOf(info) });
        return manifest;
      }
    }
    return undefined;
  }

  /**
   * A frame with no version in this store's log but versions in the other one (a store written in
   * the manifest layout served with the Delta log, or the reverse) is not absent: it is refused,
   * saying what to do, instead of looking missing (and being overwritten by a put).
   * @throws FailedPreconditionError naming `hangar migrate` or the layout to serve it with
   */
  private async refuseOtherLog(ref: FrameRef): Promise<void> {
    const other = this.log === 'delta' ? manifestsPrefix(ref) : deltaLogPrefix(ref);
    const versionOf = this.log === 'delta' ? versionOfManifestName : versionOfDeltaCommitName;
    if (!(await this.namesUnder(other)).some((name) => versionOf(name) !== undefined)) return;
    throw new FailedPreconditionError(
      this.log === 'delta'
        ? `frame ${JSON.stringify(ref.name)} of bucket ${JSON.stringify(ref.bucket)} is stored in the manifest layout (manifests/), which this server, ` +
            'serving the Delta log, does not read: stop the servers writing to the store, run `hangar migrate --data <store>` once, and serve it again ' +
            '(or serve it with HANGAR_LAYOUT=manifest)'
        : `frame ${JSON.stringify(ref.name)} of bucket ${JSON.stringify(ref.bucket)} is stored as a Delta table (_delta_log/), which this server, ` +
            'serving the manifest layout, does not read: serve the store with the Delta log (HANGAR_LAYOUT=delta)',
    );
  }

  /**
   * Whether a known version is still current: no next version exists and the known one is the same
   * object (two `head`s). The probe is sent on the next turn of the event loop, and every read of the
   * same version that asks before then shares it: each of them asked before its `head`s ran, so it
   * sees every commit that preceded it. Under many concurrent small gets this saves thread-pool round
   * trips; once sent, a later read starts a probe of its own.
   */
  private stillCurrent(ref: FrameRef, prefix: string, known: CurrentManifest): Promise<boolean> {
    const key = `${prefix}\u0000${known.version}\u0000${known.identity}`;
    let probe = this.unsentProbes.get(key);
    if (!probe) {
      probe = new Promise<void>((resolve) => setImmediate(resolve)).then(async () => {
        this.unsentProbes.delete(key);
        const [next, same] = await Promise.all([
          this.connector.head(this.logKey(ref, known.version + 1)),
          this.connector.head(this.logKey(ref, known.version)),
        ]);
        return !next && same !== undefined && known.identity === identityOf(same);
      });
      this.unsentProbes.set(key, probe);
    }
    return probe;
  }

  /** @inheritdoc */
  override async listVersions(ref: FrameRef): Promise<number[]> {
    return this.manifestVersions(ref);
  }

  /** @inheritdoc */
  override async getManifestVersion(ref: FrameRef, version: number): Promise<FrameManifest | undefined> {
    if (this.log === 'delta' && (await this.expiredVersions(ref)).has(version)) return undefined;
    return this.readVersion(ref, version);
  }

  /**
   * Removes versions. The Delta log keeps its commit files (Delta engines replay the log from
   * version 0 while no checkpoint exists): an expired version gets a marker, and only vacuum's
   * deletion of the segments no kept version references reaches the data, as Delta's VACUUM does.
   */
  override async deleteManifests(ref: FrameRef, versions: readonly number[]): Promise<void> {
    await this.writable();
    this.recentListing = undefined;
    if (this.log === 'delta') {
      // Created with ifAbsent, which the store makes durable before it answers (a plain put may be
      // published only with the next commit: the local store stages it, and a process killed before
      // then lost the markers while vacuum had deleted the versions' segments — listed versions
      // without data, found by the crash trials under HANGAR_LAYOUT=delta). An existing one is kept.
      await mapLimited(versions, this.listConcurrency, (version) => this.connector.put(expiredVersionKey(ref, version), new Uint8Array(0), { ifAbsent: true }))
        .finally(() => this.forgetExpired(framePrefix(ref)));
      return;
    }
    await this.connector.delete(versions.map((version) => manifestKey(ref, version)));
  }

  /** The bytes of a commit: the manifest, or the Delta commit carrying it (which needs the previous version). */
  private async encodeCommit(ref: FrameRef, manifest: FrameManifest): Promise<Uint8Array> {
    if (this.log !== 'delta') return encodeManifest(manifest);
    const known = this.current.get(framePrefix(ref));
    const previousVersion = manifest.version - 1;
    let previous: FrameManifest | undefined;
    if (previousVersion >= 1) {
      try {
        previous = known?.version === previousVersion ? known.manifest : await this.readVersion(ref, previousVersion);
      } catch (error) {
        // A damaged manifest (a repair commits on top of it): the removes come from the log's actions.
        if (!(error instanceof DataLossError)) throw error;
        previous = { ...manifest, version: previousVersion, segments: await this.liveSegmentsByReplay(ref, previousVersion).catch(() => Promise.reject(error)) };
      }
    }
    const user = currentCommitAuthor();
    return encodeDeltaCommit(manifest, { ref, previous, engineInfo: ENGINE_INFO, ...(user === undefined ? {} : { user }) });
  }

  /**
   * The segments live at a version as Delta engines see them: the frame's log replayed (adds and
   * removes; commitInfo lines, which carry the manifest and most of a commit's bytes, skipped). For a
   * commit on top of a version whose manifest is damaged, whose removes must still be exact.
   */
  private async liveSegmentsByReplay(ref: FrameRef, version: number): Promise<FrameManifest['segments']> {
    const state = newDeltaReplay();
    const table = `${ref.bucket}/${ref.name}`;
    for (let at = 1; at <= version; at++) {
      const bytes = await this.connector.get(deltaCommitKey(ref, at));
      if (!bytes) throw new DataLossError(`the Delta commit of version ${at} of frame '${ref.name}' in bucket '${ref.bucket}' is missing`);
      const actions = Buffer.from(bytes).toString('utf8').split('\n').filter((line) => !line.startsWith('{"commitInfo"'));
      applyDeltaCommitFile(state, actions.join('\n'), at - 1, table);
    }
    const prefix = 'segments/';
    return [...state.files.values()]
      .filter((file) => file.path.startsWith(prefix))
      .map((file) => ({ id: file.path.slice(prefix.length), rows: file.numRecords ?? 0, bytes: file.size, storedBytes: file.size, rowGroups: 0 }));
  }

  /**
   * Checks that the frame is at `manifest.version - 1`, then creates the manifest's key with
   * `ifAbsent`. A first commit into a bucket writes its marker first (and removes it again if the
   * commit fails for another reason than a conflict and the bucket has no frame).
   */
  async commitManifest(ref: FrameRef, manifest: FrameManifest): Promise<void> {
    this.recentListing = undefined;
    await this.writable();
    await this.commits.run(framePrefix(ref), async () => {
      await this.pendingCheckpoints.get(framePrefix(ref)); // the previous commit's, so checkpoints land in order
      const current = (await this.logVersions(ref)).at(-1) ?? 0;
      if (current !== manifest.version - 1) {
        throw new ConflictError(`frame '${ref.name}' is at version ${current}, not ${manifest.version - 1}; retry the write`);
      }
      await this.markLayout();
      const markedNow = await this.ensureBucketMarker(ref.bucket);
      let stored: boolean;
      try {
        stored = await this.connector.put(this.logKey(ref, manifest.version), await this.encodeCommit(ref, manifest), {
          ifAbsent: true,
          freesSpace: manifest.deleted === true,
        });
      } catch (error) {
        if (markedNow) await this.unmarkIfEmpty(ref.bucket);
        throw error;
      }
      if (!stored) throw new ConflictError(`another writer committed version ${manifest.version} of '${ref.name}' first; retry`);
      const info = await this.connector.head(this.logKey(ref, manifest.version)).catch(() => undefined);
      this.current.set(framePrefix(ref), { version: manifest.version, manifest, identity: info && identityOf(info) });
      for (const id of segmentObjectIds(manifest.segments)) this.uncommitted.delete(segmentKey(ref, id));
      this.checkpointLater(ref, manifest);
    }).finally(() => {
      this.recentListing = undefined; // a listing taken during the commit may predate it
    });
  }

  /**
   * Writes a due checkpoint after the commit has answered (on a later turn of the event loop): it
   * costs 10-50 ms of encoding and two writes (more for the first, which loads parquet-wasm), which
   * every tenth put waited for. The frame's next commit, its deletion and {@link close} wait for it,
   * so checkpoints land in version order and never outlive their frame; a process that stops first
   * leaves no checkpoint, which Delta readers do without (they replay the commits).
   */
  private checkpointLater(ref: FrameRef, manifest: FrameManifest): void {
    const deltaVersion = manifest.version - 1;
    if (this.log !== 'delta' || this.checkpointInterval <= 0 || deltaVersion === 0 || deltaVersion % this.checkpointInterval !== 0) return;
    const prefix = framePrefix(ref);
    const pending: Promise<void> = new Promise<void>((resolve) => setImmediate(resolve))
      .then(() => this.checkpoint(ref, manifest))
      .finally(() => {
        if (this.pendingCheckpoints.get(prefix) === pending) this.pendingCheckpoints.delete(prefix);
      });
    this.pendingCheckpoints.set(prefix, pending);
  }

  /** Waits for the checkpoints being written under a prefix (`''`: all of them). */
  private async checkpointsUnder(prefix: string): Promise<void> {
    await Promise.all([...this.pendingCheckpoints].filter(([key]) => key.startsWith(prefix)).map(([, pending]) => pending));
  }

  /**
   * With the Delta log, every `checkpointInterval` Delta versions: the checkpoint of the version
   * just committed, then `_last_checkpoint` naming it. Both only speed up Delta engines (Hangar reads
   * the newest commit), so a failure is a warning, never a failed commit.
   */
  private async checkpoint(ref: FrameRef, manifest: FrameManifest): Promise<void> {
    const deltaVersion = manifest.version - 1;
    if (this.log !== 'delta' || this.checkpointInterval <= 0 || deltaVersion === 0 || deltaVersion % this.checkpointInterval !== 0) return;
    try {
      const checkpoint = encodeDeltaCheckpoint(manifest, ref);
      await this.connector.put(deltaCheckpointKey(ref, manifest.version), checkpoint.parquet);
      await this.connector.put(deltaLastCheckpointKey(ref), checkpoint.lastCheckpoint);
    } catch (error) {
      process.emitWarning(`the Delta checkpoint of version ${manifest.version} of '${ref.name}' was not written: ${(error as Error).message}`);
    }
  }

  /** Writes the bucket's marker unless known to exist; true if it was written now. */
  private async ensureBucketMarker(bucket: string): Promise<boolean> {
    if (this.knownBuckets.has(bucket)) return false;
    const written = await this.connector.put(bucketMarkerKey(bucket), new Uint8Array(0), { ifAbsent: true });
    this.knownBuckets.add(bucket);
    return written;
  }

  private async unmarkIfEmpty(bucket: string): Promise<void> {
    if ((await this.listFrames(bucket).catch(() => ['?'])).length > 0) return;
    this.knownBuckets.delete(bucket);
    await this.connector.delete([bucketMarkerKey(bucket)]).catch(() => undefined);
  }

  // ---- frames and buckets -----------------------------------------------------------------

  /**
   * Deletes the frame's old manifests first, then the current one (the frame disappears at that
   * moment, never falling back to an older version), then its segments.
   */
  async deleteFrame(ref: FrameRef): Promise<void> {
    await this.writable();
    const prefix = framePrefix(ref);
    this.forget(prefix);
    await this.checkpointsUnder(prefix);
    await this.deleteInOrder(prefix);
  }

  /**
   * Deletes every key under a prefix: manifests oldest first, then everything else — except the
   * segments this instance stored and has not committed: a put racing the removal commits them
   * (deleted, its acknowledged version would have lost its rows) or discards them when it fails.
   */
  private async deleteInOrder(prefix: string): Promise<void> {
    const manifests: { key: string; version: number }[] = [];
    const others: string[] = [];
    for await (const { key } of this.connector.list(prefix)) {
      if (this.uncommitted.has(key)) continue;
      const slash = key.lastIndexOf('/');
      const version = key.slice(0, slash + 1).endsWith(`/${this.logDir}/`) ? this.versionOfLogName(key.slice(slash + 1)) : undefined;
      if (version === undefined) others.push(key);
      else manifests.push({ key, version });
    }
    manifests.sort((a, b) => a.version - b.version);
    const newest = manifests.pop();
    await this.connector.delete(manifests.map((m) => m.key));
    if (newest) await this.connector.delete([newest.key]);
    await this.connector.delete(others);
  }

  /** Drops what this instance remembers under a prefix (a deleted frame or bucket); uncommitted segments stay tracked. */
  private forget(prefix: string): void {
    this.recentListing = undefined;
    this.forgetExpired(prefix);
    this.current.deleteWhere((key) => key.startsWith(prefix));
  }

  /**
   * Frames of the bucket with at least one manifest (frames holding only segments are uncommitted
   * puts): by directory listings on stores that list children, else from one flat listing of the
   * bucket's keys, which the {@link getManifests} call that follows reuses.
   */
  async listFrames(bucket: string): Promise<string[]> {
    if (this.connector.listsChildren) {
      const names = await this.connector.listChildren(bucketPrefix(bucket));
      const committed = await mapLimited(names, this.listConcurrency, async (name) =>
        isValidName(name) && (await this.manifestVersions({ bucket, name })).length > 0,
      );
      return names.filter((_, index) => committed[index]);
    }
    const latest = await this.latestManifestsIn(bucket);
    this.recentListing = { bucket, at: Date.now(), latest };
    return [...latest.keys()];
  }

  /** The newest manifest object of every frame of a bucket, from one flat listing of its keys. */
  private async latestManifestsIn(bucket: string): Promise<BucketListing['latest']> {
    const prefix = bucketPrefix(bucket);
    const latest: BucketListing['latest'] = new Map();
    for await (const info of this.connector.list(prefix)) {
      const manifest = manifestOfKey(info.key, prefix, this.logDir, this.versionOfLogName);
      if (!manifest) continue;
      const best = latest.get(manifest.frame);
      if (!best || manifest.version > best.version) latest.set(manifest.frame, { version: manifest.version, info });
    }
    return latest;
  }

  /**
   * Reads several frames' current manifests, reusing the flat listing of a {@link listFrames} call
   * just before (once) to skip a listing per frame.
   */
  override async getManifests(bucket: string, names: readonly string[]): Promise<Map<string, FrameManifest>> {
    const recent = this.recentListing;
    this.recentListing = undefined;
    const listing = recent?.bucket === bucket && Date.now() - recent.at < LISTING_REUSE_MS ? recent.latest : undefined;
    const found = await mapLimited(names, this.listConcurrency, async (name) => {
      const ref = { bucket, name };
      const listed = listing?.get(name);
      const manifest = (listed && (await this.listedManifest(ref, listed.version, listed.info))) || (await this.getManifest(ref));
      return [name, manifest] as const;
    });
    return new Map(found.flatMap(([name, manifest]) => (manifest ? [[name, manifest] as const] : [])));
  }

  /** A manifest named by a listing: from memory when it is the same object, else read. */
  private async listedManifest(ref: FrameRef, version: number, info: ObjectInfo): Promise<FrameManifest | undefined> {
    const prefix = framePrefix(ref);
    const known = this.current.get(prefix);
    const identity = identityOf(info);
    if (known?.version === version && known.identity === identity) return known.manifest;
    const manifest = await this.readVersion(ref, version);
    if (manifest) this.current.set(prefix, { version, manifest, identity });
    return manifest;
  }

  // ---- snapshots (documents under `<bucket>/~snapshots/`, see layout-snapshots.ts) ----------

  private snapshotStore: LayoutSnapshots | undefined;

  private get snapshotDocuments(): LayoutSnapshots {
    return (this.snapshotStore ??= new LayoutSnapshots(this.connector, () => this.writable()));
  }

  /** @inheritdoc */
  override putSnapshot(snapshot: SnapshotDocument): Promise<boolean> {
    return this.snapshotDocuments.put(snapshot);
  }

  /** @inheritdoc */
  override getSnapshot(bucket: string, name: string): Promise<SnapshotDocument | undefined> {
    return this.snapshotDocuments.get(bucket, name);
  }

  /** @inheritdoc */
  override listSnapshots(bucket: string): Promise<string[]> {
    return this.snapshotDocuments.list(bucket);
  }

  /** @inheritdoc */
  override deleteSnapshot(bucket: string, name: string): Promise<boolean> {
    return this.snapshotDocuments.delete(bucket, name);
  }

  /** Buckets that have a marker: written by createBucket or by the first commit into the bucket. */
  async listBuckets(): Promise<string[]> {
    return (await this.connector.listChildren(BUCKET_MARKERS)).filter(isValidName);
  }

  /** @inheritdoc */
  async createBucket(bucket: string): Promise<void> {
    await this.writable();
    await this.connector.put(bucketMarkerKey(bucket), new Uint8Array(0));
    this.knownBuckets.add(bucket);
  }

  /**
   * Removes the marker first (the bucket leaves listings at once), then every frame's manifests,
   * then the rest. A frame a commit made meanwhile (one the removal did not list) stays, and with
   * it the bucket's marker: without it the bucket would be missing from listings and vacuum.
   */
  async deleteBucket(bucket: string): Promise<void> {
    await this.writable();
    this.knownBuckets.delete(bucket);
    await this.connector.delete([bucketMarkerKey(bucket)]);
    this.forget(bucketPrefix(bucket));
    await this.checkpointsUnder(bucketPrefix(bucket));
    await this.deleteInOrder(bucketPrefix(bucket));
    if ((await this.listFrames(bucket).catch(() => [])).length > 0) {
      await this.connector.put(bucketMarkerKey(bucket), new Uint8Array(0), { ifAbsent: true });
      this.knownBuckets.add(bucket);
    }
  }
}

function isValidName(name: string): boolean {
  try {
    validateName('bucket', name);
    return true;
  } catch {
    return false;
  }
}

/**
 * The frame store for a backend: a byte-level `Connector` gets the object layout; a `FrameStore`
 * (the layout itself, the SQLite catalog, a mounted store) is used as it is.
 */
export function asFrameStore(store: Connector | FrameStore): FrameStore {
  return store instanceof FrameStore ? store : new ObjectLayout(store);
}
