/**
 * The embedded default: frames as Parquet segments plus JSON manifests in a directory tree.
 * Layout and crash-safety are described in docs/storage-layout.md.
 */
import { randomUUID } from 'node:crypto';
import { constants } from 'node:fs';
import { type FileHandle, link, mkdir, open, readFile, readdir, rename, rm, rmdir, stat, unlink } from 'node:fs/promises';
import { join, resolve, sep } from 'node:path';
import { ConflictError, DataLossError, NotFoundError, StorageError } from '../../core/errors.js';
import { type FrameManifest, decodeManifest, encodeManifest, segmentObjectIds } from '../../core/manifest.js';
import type { FrameRef } from '../../core/names.js';
import { type ByteRange, FrameStore, type FrameStoreCapabilities, type StoredObject, checkRanges } from '../../storage/frame-store.js';
import { isProcessAlive } from '../concurrency.js';
import { ManifestCache } from '../../storage/manifest-cache.js';
import { isFileSystemFull, storeFullError } from '../store-full.js';

/** Options of the local filesystem connector. */
export interface LocalConnectorOptions {
  /** Root directory of the store; created if missing. */
  readonly root: string;
  /** fsync files and directories on commit (default true). Turn off only for throwaway data. */
  readonly fsync?: boolean;
  /**
   * Bytes kept allocated in `<root>/.reserve` (default 1 MiB; 0 = none). When the volume is full,
   * a delete releases them so its tombstone can still be committed; the reserve is allocated again
   * once space has been freed. It must hold the largest tombstone (a manifest with the frame's schema).
   */
  readonly reserveBytes?: number;
}

const MANIFEST_DIGITS = 12;
const STAGING = '.staging';
/** Decoded manifests kept for reuse (a few hundred bytes to a few KiB each). */
const MANIFEST_CACHE_ENTRIES = 10_000;
const TRASH = '.trash';
/** The space kept back for deletes on a full volume (see `reserveBytes`). */
const RESERVE = '.reserve';
const DEFAULT_RESERVE_BYTES = 1024 * 1024;

/**
 * Reads a file with as few system calls as its size allows. fs.promises.readFile reads in 512 KiB
 * chunks, one thread-pool round trip each, which cost a third of the main thread on large gets.
 */
async function readWholeFile(path: string): Promise<Buffer> {
  const handle = await open(path, constants.O_RDONLY);
  try {
    const { size } = await handle.stat();
    const buffer = Buffer.allocUnsafe(size);
    let offset = 0;
    while (offset < size) {
      const { bytesRead } = await handle.read(buffer, offset, size - offset, offset);
      if (bytesRead === 0) break;
      offset += bytesRead;
    }
    return offset === size ? buffer : buffer.subarray(0, offset);
  } finally {
    await handle.close();
  }
}

/**
 * A segment written to the staging directory. Its fsync runs in the background, so the put
 * pipeline goes on receiving and encoding while the disk catches up; a commit waits for it.
 */
interface StagedFile {
  readonly path: string;
  /** Settles once the file is synced (when fsync is on) and its handle closed. */
  readonly durable: Promise<void>;
}

/** Waits for a staged file's sync without caring whether it failed (the file is going away). */
async function settled(file: StagedFile | undefined): Promise<void> {
  await file?.durable.catch(() => undefined);
}

function isNotFound(error: unknown): boolean {
  return (error as NodeJS.ErrnoException)?.code === 'ENOENT';
}

/** Writes all of `bytes` at the handle's position. */
async function writeAll(handle: FileHandle, bytes: Uint8Array): Promise<void> {
  let offset = 0;
  while (offset < bytes.byteLength) {
    const { bytesWritten } = await handle.write(bytes, offset, bytes.byteLength - offset);
    offset += bytesWritten;
  }
}

/** Stores each frame as `<root>/<bucket>/<frame>/{segments,manifests}/`. */
export class LocalConnector extends FrameStore {
  /** @inheritdoc */
  readonly name = 'file';
  /** @inheritdoc */
  override readonly capabilities: FrameStoreCapabilities = { persistent: true, crossProcessCommits: true, versions: true };
  private readonly root: string;
  private readonly fsync: boolean;
  /** This instance's staging directory (per process, so other processes' puts are never touched). */
  private readonly staging: string;
  /** Decoded current manifests by frame, with the identity of the file they came from. */
  private readonly manifests = new ManifestCache(MANIFEST_CACHE_ENTRIES);
  /** Uncommitted segments of this instance: `bucket/frame/id` → staged file. */
  private readonly staged = new Map<string, StagedFile>();
  private readonly reserveBytes: number;
  /** Whether this instance knows the reserve file to be in place (another process may use it up meanwhile). */
  private reserved = false;

  /** @param options - the root directory and durability switch */
  constructor(options: LocalConnectorOptions) {
    super();
    this.root = resolve(options.root);
    this.fsync = options.fsync ?? true;
    this.reserveBytes = options.reserveBytes ?? DEFAULT_RESERVE_BYTES;
    this.staging = join(this.root, STAGING, `${process.pid}-${randomUUID().slice(0, 8)}`);
  }

  /**
   * Creates the root and this instance's staging directory, and removes what crashed processes
   * left: their staging directories (uncommitted segments) and the trash. A full volume does not
   * stop it (reads must keep working): the directories are then made when space allows.
   */
  override async open(): Promise<void> {
    await this.io('open the store', async () => {
      await mkdir(this.root, { recursive: true });
      for (const dir of [this.staging, join(this.root, TRASH)]) {
        await mkdir(dir, { recursive: true }).catch((error: unknown) => {
          if (!isFileSystemFull(error)) throw error;
        });
      }
      for (const entry of await readdir(join(this.root, STAGING)).catch(() => [])) {
        const pid = Number.parseInt(entry, 10);
        if (!isProcessAlive(pid)) await rm(join(this.root, STAGING, entry), { recursive: true, force: true });
      }
      for (const entry of await readdir(join(this.root, TRASH)).catch(() => [])) {
        await rm(join(this.root, TRASH, entry), { recursive: true, force: true });
      }
    });
    await this.refillReserve();
  }

  /**
   * Allocates the reserve file if it is missing: written whole in staging, then renamed into place,
   * so it is either complete or absent. Best effort: on a full volume it stays missing until a
   * later removal frees space.
   */
  private async refillReserve(): Promise<void> {
    if (this.reserveBytes === 0 || this.reserved) return;
    const path = join(this.root, RESERVE);
    const size = await stat(path).then((info) => info.size, () => -1);
    if (size === this.reserveBytes) {
      this.reserved = true;
      return;
    }
    const partial = join(this.staging, `reserve-${randomUUID()}`);
    try {
      const handle = await open(partial, constants.O_CREAT | constants.O_EXCL | constants.O_WRONLY, 0o644);
      try {
        // Real zeros, not a sparse file: the blocks must be allocated to be worth anything later.
        const chunk = new Uint8Array(Math.min(this.reserveBytes, 64 * 1024));
        for (let left = this.reserveBytes; left > 0; left -= chunk.byteLength) await writeAll(handle, chunk.subarray(0, Math.min(left, chunk.byteLength)));
        if (this.fsync) await handle.sync();
      } finally {
        await handle.close();
      }
      await rename(partial, path);
      this.reserved = true;
    } catch {
      await unlink(partial).catch(() => undefined);
    }
  }

  /** Frees the reserve file's space; false if there was none to free. */
  private async releaseReserve(): Promise<boolean> {
    if (this.reserveBytes === 0) return false;
    this.reserved = false;
    return unlink(join(this.root, RESERVE)).then(() => true, () => false);
  }

  /** Removes this instance's uncommitted segments. */
  override async close(): Promise<void> {
    const staged = [...this.staged.values()];
    this.staged.clear();
    await Promise.all(staged.map(settled));
    await rm(this.staging, { recursive: true, force: true });
  }

  /** Joins path segments under the root, refusing anything that would escape it. */
  private path(...segments: string[]): string {
    const full = resolve(this.root, ...segments);
    if (full !== this.root && !full.startsWith(this.root + sep)) {
      throw new StorageError(this.name, `refusing path outside the store: ${segments.join('/')}`);
    }
    return full;
  }

  private frameDir(ref: FrameRef): string {
    return this.path(ref.bucket, ref.name);
  }

  private async io<T>(what: string, action: () => Promise<T>): Promise<T> {
    try {
      return await action();
    } catch (error) {
      if (error instanceof ConflictError || error instanceof NotFoundError || error instanceof StorageError || error instanceof DataLossError) throw error;
      if (isFileSystemFull(error)) throw storeFullError(this.name, what, (error as Error).message, error);
      throw new StorageError(this.name, `could not ${what}`, error);
    }
  }

  /**
   * Writes bytes to a fresh staging file and starts syncing it; the sync is awaited by
   * `publishSegments`, before the file is moved into a frame. A write that fails (a full volume)
   * removes what it wrote, so no partial file stays behind in staging.
   */
  private async stage(bytes: Uint8Array): Promise<StagedFile> {
    const path = join(this.staging, randomUUID());
    const create = () => open(path, constants.O_CREAT | constants.O_EXCL | constants.O_WRONLY, 0o644);
    const handle = await create().catch(async (error: unknown) => {
      // The staging directory could not be made at open (a full volume then): make it now.
      if (!isNotFound(error)) throw error;
      await mkdir(this.staging, { recursive: true });
      return create();
    });
    try {
      await writeAll(handle, bytes);
    } catch (error) {
      await handle.close();
      await unlink(path).catch(() => undefined);
      throw error;
    }
    const durable = (async () => {
      try {
        if (this.fsync) await handle.sync();
      } finally {
        await handle.close();
      }
    })();
    // Observed here so a segment that is never committed cannot raise an unhandled rejection;
    // a commit awaits `durable` itself and sees the error.
    durable.catch(() => undefined);
    return { path, durable };
  }

  private async syncDir(dir: string): Promise<void> {
    if (!this.fsync) return;
    const handle = await open(dir, constants.O_RDONLY);
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
  }

  private segmentKey(ref: FrameRef, id: string): string {
    return `${ref.bucket}/${ref.name}/${id}`;
  }

  /** The committed segment's file (segments are immutable, so SQL reads them in place). */
  override segmentFile(ref: FrameRef, id: string): string {
    return join(this.frameDir(ref), 'segments', id);
  }

  /** The store's root directory. */
  override fileRoots(): readonly string[] {
    return [this.root];
  }

  /**
   * Writes the segment into this instance's staging directory; `commitManifest` moves it into the
   * frame. So an uncommitted put never creates a bucket or frame directory, and a crash leaves its
   * segments only where the next start-up removes them.
   */
  async putSegment(ref: FrameRef, id: string, bytes: Uint8Array): Promise<void> {
    await this.io(`write segment ${id} of '${ref.name}'`, async () => {
      this.staged.set(this.segmentKey(ref, id), await this.stage(bytes));
    });
  }

  /** @inheritdoc */
  async getSegment(ref: FrameRef, id: string): Promise<Uint8Array> {
    const file = this.staged.get(this.segmentKey(ref, id))?.path ?? this.segmentFile(ref, id);
    try {
      return await readWholeFile(file);
    } catch (error) {
      if (isNotFound(error)) throw new NotFoundError(`segment ${id} of frame '${ref.name}' no longer exists`);
      throw new StorageError(this.name, `could not read segment ${id} of '${ref.name}'`, error);
    }
  }

  /**
   * Reads the ranges with positioned reads of one open file. The engine does not use it: the
   * connector does not declare `rangedReads`, as reading a local segment whole is cheap (whether
   * ranges would pay here is not measured yet); the conformance suite tests it.
   */
  override async getSegmentRanges(ref: FrameRef, id: string, ranges: readonly ByteRange[]): Promise<Uint8Array[]> {
    checkRanges(ranges);
    const file = this.staged.get(this.segmentKey(ref, id))?.path ?? this.segmentFile(ref, id);
    let handle: FileHandle | undefined;
    try {
      handle = await open(file, 'r');
      const size = (await handle.stat()).size;
      const opened = handle;
      return await Promise.all(
        ranges.map(async ({ start, end }) => {
          const buffer = new Uint8Array(Math.max(0, Math.min(end, size) - start));
          let filled = 0;
          while (filled < buffer.byteLength) {
            const { bytesRead } = await opened.read(buffer, filled, buffer.byteLength - filled, start + filled);
            if (bytesRead === 0) return buffer.subarray(0, filled);
            filled += bytesRead;
          }
          return buffer;
        }),
      );
    } catch (error) {
      if (isNotFound(error)) throw new NotFoundError(`segment ${id} of frame '${ref.name}' no longer exists`);
      throw new StorageError(this.name, `could not read ranges of segment ${id} of '${ref.name}'`, error);
    } finally {
      await handle?.close();
    }
  }

  /** @inheritdoc */
  async deleteSegments(ref: FrameRef, ids: readonly string[]): Promise<void> {
    await this.io(`delete segments of '${ref.name}'`, async () => {
      await Promise.all(ids.map(async (id) => {
        const key = this.segmentKey(ref, id);
        const staged = this.staged.get(key);
        this.staged.delete(key);
        await settled(staged);
        for (const file of [staged?.path, this.segmentFile(ref, id)]) {
          if (file) await unlink(file).catch((error) => {
            if (!isNotFound(error)) throw error;
          });
        }
      }));
    });
    await this.refillReserve();
  }

  /**
   * Moves every staged object the manifest references into the frame's segments directory, durably,
   * recording each in `published` (with its staged file) so a failed commit can move it back.
   */
  private async publishSegments(ref: FrameRef, manifest: FrameManifest, published: Map<string, StagedFile>): Promise<void> {
    const pending = segmentObjectIds(manifest.segments).filter((id) => this.staged.has(this.segmentKey(ref, id)));
    if (pending.length === 0) return;
    const dir = join(this.frameDir(ref), 'segments');
    await Promise.all(pending.map((id) => this.staged.get(this.segmentKey(ref, id))!.durable));
    await mkdir(dir, { recursive: true });
    for (const id of pending) {
      const key = this.segmentKey(ref, id);
      const file = this.staged.get(key)!;
      await rename(file.path, this.segmentFile(ref, id));
      this.staged.delete(key);
      published.set(id, file);
    }
    await this.syncDir(dir);
  }

  /**
   * Moves the segments a failed commit published back to staging, so they are again uncommitted
   * (the caller's `deleteSegments` or a retried commit finds them there). One that cannot be moved
   * stays in `segments/`, where `deleteSegments` removes it too.
   */
  private async unpublishSegments(ref: FrameRef, published: ReadonlyMap<string, StagedFile>): Promise<void> {
    for (const [id, file] of published) {
      await rename(this.segmentFile(ref, id), file.path).then(
        () => this.staged.set(this.segmentKey(ref, id), file),
        () => undefined,
      );
    }
  }

  private manifestFile(ref: FrameRef, version: number): string {
    return join(this.frameDir(ref), 'manifests', `${String(version).padStart(MANIFEST_DIGITS, '0')}.json`);
  }

  /** The version numbers of the frame's manifest files, ascending. */
  private async manifestVersions(ref: FrameRef): Promise<number[]> {
    let entries: string[];
    try {
      entries = await readdir(join(this.frameDir(ref), 'manifests'));
    } catch (error) {
      if (isNotFound(error)) return [];
      throw error;
    }
    const versions: number[] = [];
    for (const entry of entries) {
      if (!entry.endsWith('.json')) continue;
      const version = Number.parseInt(entry, 10);
      if (Number.isSafeInteger(version)) versions.push(version);
    }
    return versions.sort((a, b) => a - b);
  }

  /** Reads one manifest file; undefined if it does not exist. */
  private async readManifestFile(ref: FrameRef, version: number): Promise<FrameManifest | undefined> {
    const file = this.manifestFile(ref, version);
    try {
      return decodeManifest(await readFile(file), file, { ref, version });
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw error;
    }
  }

  /** @inheritdoc */
  async getManifest(ref: FrameRef): Promise<FrameManifest | undefined> {
    return this.io(`read the manifest of '${ref.name}'`, async () => {
      // A concurrent delete may remove the file between listing and reading: retry once.
      for (let attempt = 0; attempt < 2; attempt++) {
        const latest = (await this.manifestVersions(ref)).at(-1);
        if (latest === undefined) return undefined;
        const manifest = await this.readCurrentManifest(ref, latest);
        if (manifest) return manifest;
      }
      return undefined;
    });
  }

  /**
   * Reads the current manifest file, or reuses the one decoded last time if the file is the same:
   * same version, inode, modification time and size (a version file is never rewritten; only a
   * delete and re-creation of the frame could bring back its name, and this instance forgets its
   * cache when it deletes; another process would have to re-create the same version number on a
   * reused inode within the clock's resolution, with the same size). That turns
   * open, fstat, read and close into one stat on the hot path of small gets.
   */
  private async readCurrentManifest(ref: FrameRef, version: number): Promise<FrameManifest | undefined> {
    const key = `${ref.bucket}/${ref.name}/`;
    const file = this.manifestFile(ref, version);
    const identity = await stat(file).then(
      (info) => `${version}:${info.ino}:${info.mtimeMs}:${info.size}`,
      (error: unknown) => {
        if (isNotFound(error)) return undefined;
        throw error;
      },
    );
    if (identity === undefined) return undefined;
    const cached = this.manifests.get(key, identity);
    if (cached) return cached;
    const manifest = await this.readManifestFile(ref, version);
    if (manifest) this.manifests.set(key, identity, manifest);
    return manifest;
  }

  /** @inheritdoc */
  override async listVersions(ref: FrameRef): Promise<number[]> {
    return this.io(`list the versions of '${ref.name}'`, () => this.manifestVersions(ref));
  }

  /** @inheritdoc */
  override async getManifestVersion(ref: FrameRef, version: number): Promise<FrameManifest | undefined> {
    return this.io(`read version ${version} of '${ref.name}'`, () => this.readManifestFile(ref, version));
  }

  /** @inheritdoc */
  override async deleteManifests(ref: FrameRef, versions: readonly number[]): Promise<void> {
    await this.io(`delete old versions of '${ref.name}'`, async () => {
      for (const version of versions) {
        await unlink(this.manifestFile(ref, version)).catch((error) => {
          if (!isNotFound(error)) throw error;
        });
      }
      if (versions.length > 0) await this.syncDir(join(this.frameDir(ref), 'manifests')).catch(() => undefined);
    });
    await this.refillReserve();
  }

  /** @inheritdoc */
  override async listSegmentObjects(ref: FrameRef): Promise<StoredObject[]> {
    return this.io(`list the segments of '${ref.name}'`, async () => {
      const dir = join(this.frameDir(ref), 'segments');
      let entries: string[];
      try {
        entries = await readdir(dir);
      } catch (error) {
        if (isNotFound(error)) return [];
        throw error;
      }
      const objects = await Promise.all(
        entries.map(async (id) => {
          try {
            return { id, modifiedAt: (await stat(join(dir, id))).mtimeMs };
          } catch (error) {
            if (isNotFound(error)) return undefined;
            throw error;
          }
        }),
      );
      return objects.filter((object): object is StoredObject => object !== undefined);
    });
  }

  /**
   * Commits by hard-linking a fully written manifest into place: `link` fails if the version file
   * exists, which makes the compare-and-swap atomic across processes. Old manifests are kept so a
   * stale writer can never reuse a version number.
   */
  async commitManifest(ref: FrameRef, manifest: FrameManifest): Promise<void> {
    const bucketExisted = manifest.version === 1 && (await stat(this.path(ref.bucket)).then(() => true, () => false));
    const published = new Map<string, StagedFile>();
    await this.io(`commit version ${manifest.version} of '${ref.name}'`, async () => {
      try {
        try {
          await this.linkManifest(ref, manifest, published);
        } catch (error) {
          // A delete on a full volume: free the reserve so the tombstone fits, then space can be freed.
          if (!(manifest.deleted === true && isFileSystemFull(error) && (await this.releaseReserve()))) throw error;
          await this.linkManifest(ref, manifest, published);
        }
      } catch (error) {
        await this.unpublishSegments(ref, published);
        if (manifest.version === 1 && !(error instanceof ConflictError)) await this.removeEmptyFrame(ref, bucketExisted);
        throw error;
      }
    });
  }

  /**
   * After a failed first commit: removes the frame's (and a bucket made for it) directories if they
   * are empty, so the failed put leaves nothing a listing could show.
   */
  private async removeEmptyFrame(ref: FrameRef, bucketExisted: boolean): Promise<void> {
    const frame = this.frameDir(ref);
    const dirs = [join(frame, 'segments'), join(frame, 'manifests'), frame, ...(bucketExisted ? [] : [this.path(ref.bucket)])];
    for (const dir of dirs) await rmdir(dir).catch(() => undefined);
  }

  /** One attempt of {@link commitManifest}: check the version, publish the segments, link the manifest. */
  private async linkManifest(ref: FrameRef, manifest: FrameManifest, published: Map<string, StagedFile>): Promise<void> {
    const dir = join(this.frameDir(ref), 'manifests');
    await mkdir(dir, { recursive: true });
    const current = (await this.manifestVersions(ref)).at(-1) ?? 0;
    if (current !== manifest.version - 1) {
      throw new ConflictError(`frame '${ref.name}' is at version ${current}, not ${manifest.version - 1}; retry the write`);
    }
    await this.publishSegments(ref, manifest, published);
    const staged = await this.stage(encodeManifest(manifest));
    try {
      await staged.durable;
      await link(staged.path, this.manifestFile(ref, manifest.version));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'EEXIST') {
        throw new ConflictError(`another writer committed version ${manifest.version} of '${ref.name}' first; retry`);
      }
      throw error;
    } finally {
      await unlink(staged.path).catch(() => undefined);
    }
    await this.syncDir(dir);
  }

  /**
   * Moves a directory into the trash atomically, then removes it. If the volume is too full even
   * for the trash entry, it is removed in place: every frame's manifests oldest first, so a frame
   * shows its current version until it disappears, never an older one; then the rest.
   */
  private async discard(dir: string): Promise<void> {
    const trashed = this.path(TRASH, randomUUID());
    try {
      await rename(dir, trashed);
    } catch (error) {
      if (isNotFound(error)) return;
      if (!isFileSystemFull(error)) throw error;
      await this.removeInPlace(dir);
      await this.refillReserve();
      return;
    }
    await rm(trashed, { recursive: true, force: true });
    await this.refillReserve();
  }

  /** {@link discard}'s fallback: a frame's or bucket's directory removed where it is. */
  private async removeInPlace(dir: string): Promise<void> {
    const frames = (await readdir(join(dir, 'manifests')).then(() => [dir], () => undefined)) ??
      (await readdir(dir).catch(() => [])).map((name) => join(dir, name));
    for (const frame of frames) {
      const manifests = join(frame, 'manifests');
      for (const file of (await readdir(manifests).catch(() => [])).sort()) await unlink(join(manifests, file)).catch(() => undefined);
    }
    await rm(dir, { recursive: true, force: true });
  }

  /** @inheritdoc */
  async deleteFrame(ref: FrameRef): Promise<void> {
    const prefix = `${ref.bucket}/${ref.name}/`;
    for (const [key, file] of this.staged) {
      if (key.startsWith(prefix)) {
        this.staged.delete(key);
        await settled(file);
        await unlink(file.path).catch(() => undefined);
      }
    }
    this.manifests.forget(`${ref.bucket}/${ref.name}/`);
    await this.io(`delete '${ref.name}'`, () => this.discard(this.frameDir(ref)));
  }

  /** @inheritdoc */
  async listFrames(bucket: string): Promise<string[]> {
    return this.io(`list bucket '${bucket}'`, async () => {
      let entries: string[];
      try {
        entries = await readdir(this.path(bucket));
      } catch (error) {
        if (isNotFound(error)) return [];
        throw error;
      }
      const names: string[] = [];
      await Promise.all(
        entries.map(async (name) => {
          if ((await this.manifestVersions({ bucket, name })).length > 0) names.push(name);
        }),
      );
      return names;
    });
  }

  /** @inheritdoc */
  async listBuckets(): Promise<string[]> {
    return this.io('list buckets', async () => {
      const entries = await readdir(this.root, { withFileTypes: true });
      return entries.filter((entry) => entry.isDirectory() && !entry.name.startsWith('.')).map((entry) => entry.name);
    });
  }

  /** @inheritdoc */
  async createBucket(bucket: string): Promise<void> {
    await this.io(`create bucket '${bucket}'`, () => mkdir(this.path(bucket), { recursive: true }).then(() => undefined));
  }

  /** @inheritdoc */
  async deleteBucket(bucket: string): Promise<void> {
    this.manifests.forget(`${bucket}/`);
    await this.io(`delete bucket '${bucket}'`, () => this.discard(this.path(bucket)));
  }
}
