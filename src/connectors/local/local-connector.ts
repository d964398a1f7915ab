/**
 * The embedded default: objects as files under a root directory, each written to a staging file,
 * fsync'd and renamed into place (`link(2)` for `ifAbsent`, which fails if the name exists).
 * Layout and crash-safety are described in docs/storage-layout.md.
 */
import { randomUUID } from 'node:crypto';
import { type Stats, constants, stat as statCallback } from 'node:fs';
import { type FileHandle, link, mkdir, open, readdir, rename, rm, rmdir, stat, unlink } from 'node:fs/promises';
import { dirname, join, resolve, sep } from 'node:path';
import { StorageError, StoreFullError } from '../../errors.js';
import { isProcessAlive, mapLimited } from '../../storage/concurrency.js';
import { Connector, type ObjectInfo, type PutOptions, checkRange } from '../../storage/connector.js';
import { isFileSystemFull, storeFullError } from '../store-full.js';

/** Options of the local filesystem connector. */
export interface LocalConnectorOptions {
  /** Root directory of the store; created if missing. */
  readonly root: string;
  /** fsync files and directories (default true). Turn off only for throwaway data. */
  readonly fsync?: boolean;
  /**
   * Bytes kept allocated in `<root>/.reserve` (default 1 MiB; 0 = none). When the volume is full,
   * a delete's tombstone (a put with `freesSpace`) releases them so it can still be written; the
   * reserve is allocated again once space has been freed.
   */
  readonly reserveBytes?: number;
}

const STAGING = '.staging';
/** Left by Hangar 0.1, which moved deleted frames here; emptied at open. */
const TRASH = '.trash';
const RESERVE = '.reserve';
const DEFAULT_RESERVE_BYTES = 1024 * 1024;
/** Attempts of a rename/link whose directory a concurrent delete removed meanwhile. */
const PLACE_ATTEMPTS = 5;

function errorCode(error: unknown): string | undefined {
  return (error as NodeJS.ErrnoException | undefined)?.code;
}

/** A missing file, or a path through something that is not a directory. */
function isMissing(error: unknown): boolean {
  const code = errorCode(error);
  return code === 'ENOENT' || code === 'ENOTDIR';
}

/**
 * `stat(2)` of a path, undefined if nothing is there. Through the callback API: fs.promises' stat
 * captures a second stack trace for every missing file, and every read of a cached manifest stats
 * the next version, which is missing (half of a small get's cost went to the two stats).
 */
function statIfPresent(path: string): Promise<Stats | undefined> {
  return new Promise((resolve, reject) => {
    statCallback(path, (error, info) => {
      if (!error) resolve(info);
      else if (isMissing(error)) resolve(undefined);
      else reject(error);
    });
  });
}

/** Writes all of `bytes` (or each run of them, in order) at the handle's position. */
async function writeAll(handle: FileHandle, bytes: Uint8Array | readonly Uint8Array[]): Promise<void> {
  // Runs (a segment file's page headers and the views of its values) leave in one writev: one
  // thread-pool round trip instead of one per run (libuv writes them all, IOV_MAX at a time).
  let runs = bytes instanceof Uint8Array ? [bytes] : bytes.filter((run) => run.byteLength > 0);
  if (runs.length > 1) {
    let total = 0;
    for (const run of runs) total += run.byteLength;
    let { bytesWritten } = await handle.writev(runs as Uint8Array[]);
    if (bytesWritten === total) return;
    // A short write (not seen in practice): go on from where it stopped, run by run.
    const rest: Uint8Array[] = [];
    for (const run of runs) {
      if (bytesWritten >= run.byteLength) bytesWritten -= run.byteLength;
      else {
        rest.push(run.subarray(bytesWritten));
        bytesWritten = 0;
      }
    }
    runs = rest;
  }
  for (const run of runs) {
    let offset = 0;
    while (offset < run.byteLength) {
      const { bytesWritten } = await handle.write(run, offset, run.byteLength - offset);
      offset += bytesWritten;
    }
  }
}

/**
 * Reads a file with as few system calls as its size allows (fs.promises.readFile reads in 512 KiB
 * chunks, one thread-pool round trip each, which cost a third of the main thread on large gets).
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

/** Bytes `[offset, offset + length)` of a file (fewer past its end), in one positioned read. */
async function readFileRange(path: string, offset: number, length: number): Promise<Buffer> {
  const handle = await open(path, constants.O_RDONLY);
  try {
    const buffer = Buffer.allocUnsafe(length);
    let read = 0;
    while (read < length) {
      const { bytesRead } = await handle.read(buffer, read, length - read, offset + read);
      if (bytesRead === 0) break;
      read += bytesRead;
    }
    return read === length ? buffer : buffer.subarray(0, read);
  } finally {
    await handle.close();
  }
}

/** A plain put waiting in staging for the next `ifAbsent` put. */
interface PendingObject {
  readonly path: string;
  /** Settles (to the sync's error, if any) once the file is synced and its handle closed. */
  readonly synced: Promise<unknown>;
}

/**
 * Stores each object as the file `<root>/<key>`. Ranges are positioned reads, so a range read
 * fetches only the row groups it needs and a projection only its column chunks.
 */
export class LocalConnector extends Connector {
  /** @inheritdoc */
  readonly name = 'file';
  private readonly root: string;
  private readonly fsync: boolean;
  /** This instance's staging directory (per process, so other processes' writes are never touched). */
  private readonly staging: string;
  private readonly reserveBytes: number;
  /** Whether this instance knows the reserve file to be in place (another process may use it up meanwhile). */
  private reserved = false;
  /** Directories that gained a name by a plain put since the last `ifAbsent` put synced them. */
  private readonly unsyncedDirs = new Set<string>();
  /**
   * Plain puts not yet published: their files wait in this instance's staging directory, fsynced in
   * the background, and reads of the key find them there. The next `ifAbsent` put (a commit) moves
   * them into place first, so a put pipeline receives and encodes while the disk syncs, and a crash
   * before the commit leaves them only in staging, which the next start removes.
   */
  private readonly pending = new Map<string, PendingObject>();
  /** The publication running or last run (see {@link publishPending}). */
  private publishing: Promise<void> = Promise.resolve();

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
   * left in staging. A full volume does not stop it (reads must keep working).
   */
  override async open(): Promise<void> {
    await this.io('open the store', async () => {
      await mkdir(this.root, { recursive: true });
      await mkdir(this.staging, { recursive: true }).catch((error: unknown) => {
        if (!isFileSystemFull(error)) throw error;
      });
      for (const entry of await readdir(join(this.root, STAGING)).catch(() => [])) {
        if (!isProcessAlive(Number.parseInt(entry, 10))) await rm(join(this.root, STAGING, entry), { recursive: true, force: true });
      }
      await rm(join(this.root, TRASH), { recursive: true, force: true });
    });
    await this.refillReserve();
  }

  /** Publishes pending puts (they were acknowledged), then removes this instance's staging directory. */
  override async close(): Promise<void> {
    await this.publishPending().catch(() => undefined);
    await rm(this.staging, { recursive: true, force: true });
  }

  /** Where a key's bytes are now: its staging file while pending, else its place. */
  private fileOf(key: string): string {
    return this.pending.get(key)?.path ?? this.path(key);
  }

  /** The file of a key (the root for the empty key), refusing anything that would escape the root. */
  private path(key: string): string {
    const full = resolve(this.root, key);
    if (full !== this.root && !full.startsWith(this.root + sep)) throw new StorageError(this.name, `refusing a key outside the store: ${key}`);
    return full;
  }

  private async io<T>(what: string, action: () => Promise<T>): Promise<T> {
    try {
      return await action();
    } catch (error) {
      if (error instanceof StorageError || error instanceof StoreFullError) throw error;
      if (isFileSystemFull(error)) throw storeFullError(this.name, what, (error as Error).message, error);
      throw new StorageError(this.name, `could not ${what}`, error);
    }
  }

  /** @inheritdoc */
  async get(key: string): Promise<Uint8Array | undefined> {
    return this.io(`read ${key}`, () => readWholeFile(this.fileOf(key)).catch((error: unknown) => {
      if (isMissing(error) || errorCode(error) === 'EISDIR') return undefined;
      throw error;
    }));
  }

  /** One positioned read of the range. */
  override async getRange(key: string, offset: number, length: number): Promise<Uint8Array | undefined> {
    checkRange(offset, length);
    return this.io(`read ${key}`, () => readFileRange(this.fileOf(key), offset, length).catch((error: unknown) => {
      if (isMissing(error) || errorCode(error) === 'EISDIR') return undefined;
      throw error;
    }));
  }

  /** One `stat`. */
  override async head(key: string): Promise<ObjectInfo | undefined> {
    return this.io(`stat ${key}`, async () => {
      const info = await statIfPresent(this.fileOf(key));
      return info?.isFile() ? { key, size: info.size, modifiedAt: info.mtime } : undefined;
    });
  }

  /**
   * Writes a staging file and renames it into place, syncing it in the background — or, with
   * `ifAbsent`, fsyncs it and links it (which fails if the name exists) after waiting for every
   * earlier plain put's sync and syncing the directories they wrote into, so a committed manifest
   * never names a segment a crash could lose. A put that fails removes what it wrote.
   */
  async put(key: string, data: Uint8Array, options?: PutOptions): Promise<boolean> {
    const target = this.path(key);
    if (!options?.ifAbsent) return this.putPending(key, data);
    return this.io(`write ${key}`, async () => {
      try {
        return await this.place(target, data);
      } catch (error) {
        // A delete's tombstone on a full volume: spend the reserve, so space can then be freed.
        if (!(options?.freesSpace && isFileSystemFull(error) && (await this.releaseReserve()))) throw error;
        return this.place(target, data);
      }
    });
  }

  /**
   * A plain put of an object arriving in runs: they are written one after another into the staging
   * file, never joined in memory (a spliced segment's copied chunks are views of its source).
   */
  override async putStream(key: string, chunks: AsyncIterable<Uint8Array>, options?: PutOptions): Promise<boolean> {
    if (options?.ifAbsent) return super.putStream(key, chunks, options);
    const runs: Uint8Array[] = [];
    for await (const chunk of chunks) runs.push(chunk);
    return this.putPending(key, runs);
  }

  /** A plain put: staged now, synced in the background, published by the next `ifAbsent` put. */
  private putPending(key: string, data: Uint8Array | readonly Uint8Array[]): Promise<boolean> {
    return this.io(`write ${key}`, async () => {
      const { path, synced } = await this.stage(data, false);
      const replaced = this.pending.get(key);
      this.pending.set(key, { path, synced: synced.then(() => undefined, (error: unknown) => error) });
      if (replaced) void replaced.synced.then(() => unlink(replaced.path)).catch(() => undefined);
      return true;
    });
  }

  /**
   * An `ifAbsent` put: publish what is pending while the new file is written and synced in staging
   * (the two wait on different fsyncs), then link it into place, and sync its directory while the
   * staging name is removed.
   */
  private async place(target: string, data: Uint8Array): Promise<boolean> {
    const [staging, published] = await Promise.allSettled([this.stage(data, true), this.publishPending()]);
    if (staging.status === 'rejected') throw staging.reason;
    const staged = staging.value.path;
    let unlinked: Promise<void> | undefined;
    try {
      if (published.status === 'rejected') throw published.reason;
      const linked = await this.move(staged, target, 'link');
      unlinked = unlink(staged).catch(() => undefined);
      if (linked) await this.syncDir(dirname(target));
      return linked;
    } finally {
      await (unlinked ?? unlink(staged).catch(() => undefined));
    }
  }

  /**
   * Links or renames a staging file to its place, making the directory (again, if a concurrent
   * delete pruned it meanwhile). False if a link found the name taken.
   */
  private async move(staged: string, target: string, how: 'link' | 'rename'): Promise<boolean> {
    // The directory usually exists: it is made only when the first attempt finds it missing.
    for (let attempt = 1; ; attempt++) {
      try {
        // mkdir -p itself fails with ENOENT when a delete prunes a parent it has just made.
        if (attempt > 1) await this.makeDirectory(dirname(target));
        await (how === 'link' ? link(staged, target) : rename(staged, target));
        return true;
      } catch (error) {
        if (how === 'link' && errorCode(error) === 'EEXIST') return false;
        if (errorCode(error) !== 'ENOENT' || attempt === PLACE_ATTEMPTS + 1) throw error;
      }
    }
  }

  /**
   * Moves every pending plain put into place once its sync is done, then syncs the directories
   * they went into. A failed sync fails this call (the caller's commit); its object stays pending.
   * Publications run one at a time (two commits must not move the same staging file).
   */
  private publishPending(): Promise<void> {
    const run = this.publishing.catch(() => undefined).then(() => this.publishOnce());
    this.publishing = run;
    return run;
  }

  private async publishOnce(): Promise<void> {
    for (const [key, entry] of [...this.pending]) {
      const failure = await entry.synced;
      if (failure !== undefined) throw failure;
      if (this.pending.get(key) !== entry) continue; // deleted or replaced meanwhile
      try {
        await this.move(entry.path, this.path(key), 'rename');
      } catch (error) {
        if (this.pending.get(key) !== entry) continue; // deleted or replaced while moving: its file went with it
        throw error;
      }
      if (this.pending.get(key) === entry) this.pending.delete(key);
      if (this.fsync) this.unsyncedDirs.add(dirname(this.path(key)));
    }
    await this.syncUnsyncedDirs();
  }

  /** Creates a directory and its missing parents, remembering the new names for the next sync. */
  private async makeDirectory(dir: string): Promise<void> {
    const first = await mkdir(dir, { recursive: true });
    if (first === undefined || !this.fsync) return;
    for (let created = dir; created.length >= first.length && created !== this.root; created = dirname(created)) {
      this.unsyncedDirs.add(dirname(created));
    }
  }

  /**
   * Writes bytes to a fresh staging file; a failed write removes the file. With `syncNow` the file
   * is fsynced before this returns; otherwise `synced` settles once the background fsync is done
   * (and the handle closed).
   */
  private async stage(bytes: Uint8Array | readonly Uint8Array[], syncNow: boolean): Promise<{ readonly path: string; readonly synced: Promise<void> }> {
    const path = join(this.staging, randomUUID());
    const create = () => open(path, constants.O_CREAT | constants.O_EXCL | constants.O_WRONLY, 0o644);
    const handle = await create().catch(async (error: unknown) => {
      // The staging directory could not be made at open (a full volume then): make it now.
      if (!isMissing(error)) throw error;
      await mkdir(this.staging, { recursive: true });
      return create();
    });
    try {
      await writeAll(handle, bytes);
      if (this.fsync && syncNow) await handle.sync();
    } catch (error) {
      await handle.close();
      await unlink(path).catch(() => undefined);
      throw error;
    }
    if (syncNow || !this.fsync) {
      await handle.close();
      return { path, synced: Promise.resolve() };
    }
    const synced = handle.sync().finally(() => handle.close());
    synced.catch(() => undefined); // observed by the next ifAbsent put
    return { path, synced };
  }

  private async syncUnsyncedDirs(): Promise<void> {
    const dirs = [...this.unsyncedDirs];
    this.unsyncedDirs.clear();
    try {
      await Promise.all(dirs.map((dir) => this.syncDir(dir).catch((error: unknown) => {
        if (!isMissing(error)) throw error; // pruned since: nothing in it to lose
      })));
    } catch (error) {
      for (const dir of dirs) this.unsyncedDirs.add(dir);
      throw error;
    }
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

  /** Unlinks the files, then removes directories left empty (up to the root). */
  async delete(keys: readonly string[]): Promise<void> {
    if (keys.length === 0) return;
    const dirs = new Set<string>();
    await this.io(`delete ${keys.length} object(s)`, async () => {
      await Promise.all(keys.map(async (key) => {
        const pending = this.pending.get(key);
        if (pending) {
          this.pending.delete(key);
          await pending.synced;
          await unlink(pending.path).catch(() => undefined);
        }
        const file = this.path(key);
        await unlink(file).then(
          () => dirs.add(dirname(file)),
          (error: unknown) => {
            if (!isMissing(error) && errorCode(error) !== 'EISDIR') throw error;
          },
        );
      }));
    });
    for (const dir of dirs) await this.pruneEmpty(dir);
    await this.refillReserve();
  }

  private async pruneEmpty(dir: string): Promise<void> {
    for (let current = dir; current !== this.root && current.startsWith(this.root + sep); current = dirname(current)) {
      if (!(await rmdir(current).then(() => true, () => false))) return;
    }
  }

  /** Walks the directory the prefix lies in; the root's dot-entries (staging, reserve) are not objects. */
  async *list(prefix: string): AsyncIterable<ObjectInfo> {
    const slash = prefix.lastIndexOf('/');
    const base = prefix.slice(0, slash + 1);
    for await (const info of this.walk(base, prefix)) if (!this.pending.has(info.key)) yield info;
    for (const key of [...this.pending.keys()]) {
      if (!key.startsWith(prefix)) continue;
      const info = await this.head(key);
      if (info) yield info;
    }
  }

  private async *walk(dirKey: string, prefix: string): AsyncGenerator<ObjectInfo> {
    let entries;
    try {
      entries = await readdir(this.path(dirKey), { withFileTypes: true });
    } catch (error) {
      if (isMissing(error)) return;
      throw new StorageError(this.name, `could not list ${dirKey || 'the store'}`, error);
    }
    const files: string[] = [];
    for (const entry of entries) {
      if (dirKey === '' && entry.name.startsWith('.')) continue;
      const key = `${dirKey}${entry.name}`;
      if (entry.isDirectory()) {
        if (`${key}/`.startsWith(prefix) || prefix.startsWith(`${key}/`)) yield* this.walk(`${key}/`, prefix);
      } else if (key.startsWith(prefix)) {
        files.push(key);
      }
    }
    // One stat per file, a directory's worth in flight at once (a vacuum lists every segment of a frame).
    for (const info of await mapLimited(files, 64, (key) => this.head(key))) if (info) yield info;
  }

  /** One readdir. */
  override async listChildren(prefix: string): Promise<string[]> {
    return this.io(`list ${prefix || 'the store'}`, async () => {
      const names = await readdir(this.path(prefix)).catch((error: unknown) => {
        if (isMissing(error)) return [];
        throw error;
      });
      const children = new Set(prefix === '' ? names.filter((name) => !name.startsWith('.')) : names);
      for (const key of this.pending.keys()) {
        if (key.startsWith(prefix)) children.add(key.slice(prefix.length).split('/', 1)[0]!);
      }
      return [...children];
    });
  }

  /** The object's file (the root directory for the empty key). */
  override localPath(key: string): string {
    return key === '' ? this.root : this.fileOf(key);
  }

  /**
   * Allocates the reserve file if it is missing: written whole in staging, then renamed into place,
   * so it is either complete or absent. Best effort: on a full volume it stays missing until a
   * later removal frees space.
   */
  private async refillReserve(): Promise<void> {
    if (this.reserveBytes === 0 || this.reserved) return;
    const path = join(this.root, RESERVE);
    if ((await stat(path).then((info) => info.size, () => -1)) === this.reserveBytes) {
      this.reserved = true;
      return;
    }
    try {
      // Real zeros, not a sparse file: the blocks must be allocated to be worth anything later.
      await rename((await this.stage(new Uint8Array(this.reserveBytes), true)).path, path);
      this.reserved = true;
    } catch {
      // Stays missing; the next delete tries again.
    }
  }

  /** Frees the reserve file's space; false if there was none to free. */
  private async releaseReserve(): Promise<boolean> {
    if (this.reserveBytes === 0) return false;
    this.reserved = false;
    return unlink(join(this.root, RESERVE)).then(() => true, () => false);
  }
}
