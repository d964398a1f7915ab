/**
 * The TypeScript client's local frame cache on disk: each frame one version, whole, as Arrow IPC
 * stream files (the first fetch, then one chunk per incremental sync), shared by the processes of a node.
 *
 * Layout: `<dir>/ts-v1/<bucket>/<name>/` holds `entry.json` (version, commit time, rows, chunk files in
 * row order) and the chunks (`<uuid>.arrows`). Every file is written under a temporary name and
 * renamed into place, `entry.json` last, so a reader sees the old entry or the new one, whole. A
 * process updating an entry holds its lock (proper-lockfile: a lock directory, refreshed while held,
 * taken over when its holder died); readers take none. `maxBytes` bounds the cache: after each write
 * the least recently read entries go first.
 */
import { randomUUID } from 'node:crypto';
import { mkdir, readFile, readdir, rename, rm, stat, unlink, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type RecordBatch, Table, tableFromIPC, tableToIPC } from 'apache-arrow';
import lockfile from 'proper-lockfile';
import { validateName } from '../names.js';

/** Options of a client's cache (`new HangarClient({ cache: { dir } })`). */
export interface CacheOptions {
  /** The cache directory; created when missing. Processes sharing it share its entries. */
  readonly dir: string;
  /** Bound on the chunk files' total size; the least recently read entries are removed first. */
  readonly maxBytes?: number;
  /** Never ask the server: serve reads from the cache, and fail with CacheMissError for what it lacks. */
  readonly offline?: boolean;
}

/** One chunk file of an entry. */
export interface CacheChunk {
  readonly file: string;
  readonly rows: number;
  readonly bytes: number;
}

/** A frame as the cache holds it: one version, whole. */
export interface CacheEntry {
  readonly bucket: string;
  readonly name: string;
  readonly version: number;
  /** The version's commit time as `stat` reports it (tells histories apart after a purge). */
  readonly committedAt: string;
  readonly rows: number;
  readonly chunks: readonly CacheChunk[];
}

/** A chunk file vanished between reading an entry and opening it: another process replaced it. */
export class StaleEntryError extends Error {}

const LAYOUT = 'ts-v1';
const ENTRY = 'entry.json';
const USED = '.used';
/** Past this many chunk files an entry is rewritten as one (each sync adds one). */
const MAX_CHUNKS = 32;

/** Bytes of an entry's chunk files. */
export function entryBytes(entry: CacheEntry): number {
  return entry.chunks.reduce((sum, chunk) => sum + chunk.bytes, 0);
}

function isMissing(error: unknown): boolean {
  return (error as NodeJS.ErrnoException | undefined)?.code === 'ENOENT';
}

/** Frames on local disk for a HangarClient (see the module header). */
export class FrameCache {
  /** The directory given. */
  readonly dir: string;
  readonly maxBytes: number | undefined;
  private readonly root: string;
  /**
   * Chunks this process has read, per frame: a chunk file never changes (each write makes a new
   * one), so a repeated read of an entry reads only chunks it has not seen yet. Only the chunks of
   * the entry read last are kept.
   */
  private readonly loaded = new Map<string, Map<string, Table>>();

  /** @param options - the directory and size bound (`offline` is the client's concern) */
  constructor(options: CacheOptions) {
    this.dir = options.dir;
    this.maxBytes = options.maxBytes;
    this.root = join(options.dir, LAYOUT);
  }

  /** The entry's directory. @throws InvalidArgumentError for a name that is not a Hangar name (it becomes a path) */
  private entryDir(bucket: string, name: string): string {
    return join(this.root, validateName('bucket', bucket), validateName('frame', name));
  }

  /** The entry held for a frame, if any. */
  async entry(bucket: string, name: string): Promise<CacheEntry | undefined> {
    const dir = this.entryDir(bucket, name);
    try {
      const raw = JSON.parse(await readFile(join(dir, ENTRY), 'utf8')) as Omit<CacheEntry, 'bucket' | 'name'>;
      if (typeof raw.version !== 'number' || !Array.isArray(raw.chunks)) return undefined;
      return { bucket, name, version: raw.version, committedAt: raw.committedAt, rows: raw.rows, chunks: raw.chunks };
    } catch {
      return undefined;
    }
  }

  /** Every entry the cache holds. */
  async entries(): Promise<CacheEntry[]> {
    const found: CacheEntry[] = [];
    for (const bucket of await readdir(this.root).catch(() => [] as string[])) {
      for (const name of await readdir(join(this.root, bucket)).catch(() => [] as string[])) {
        const entry = await this.entry(bucket, name).catch(() => undefined); // a stray directory is no entry
        if (entry) found.push(entry);
      }
    }
    return found;
  }

  /** Total bytes of the entries' chunk files. */
  async sizeBytes(): Promise<number> {
    return (await this.entries()).reduce((sum, entry) => sum + entryBytes(entry), 0);
  }

  /** The entry's frame as one Table. @throws StaleEntryError when another process replaced a chunk meanwhile */
  async load(entry: CacheEntry): Promise<Table> {
    const dir = this.entryDir(entry.bucket, entry.name);
    const key = `${entry.bucket}/${entry.name}`;
    const known = this.loaded.get(key);
    const tables: Table[] = [];
    for (const chunk of entry.chunks) {
      const seen = known?.get(chunk.file);
      if (seen) {
        tables.push(seen);
        continue;
      }
      try {
        tables.push(tableFromIPC(await readFile(join(dir, chunk.file))));
      } catch (error) {
        if (isMissing(error)) throw new StaleEntryError(`cache chunk ${chunk.file} of ${entry.bucket}/${entry.name} was replaced`);
        throw error;
      }
    }
    this.loaded.set(key, new Map(entry.chunks.map((chunk, i) => [chunk.file, tables[i]!])));
    await markUsed(dir);
    if (tables.length === 1) return tables[0]!;
    const batches: RecordBatch[] = tables.flatMap((table) => table.batches);
    return new Table(tables[0]!.schema, batches);
  }

  /** Runs `work` holding the entry's lock (other processes updating the entry wait). */
  async withLock<T>(bucket: string, name: string, work: () => Promise<T>): Promise<T> {
    const dir = this.entryDir(bucket, name);
    await mkdir(dir, { recursive: true });
    const release = await lockfile.lock(dir, {
      lockfilePath: join(dir, '.lock'),
      realpath: false,
      stale: 30_000,
      retries: { retries: 600, factor: 1.2, minTimeout: 10, maxTimeout: 200 },
    });
    try {
      return await work();
    } finally {
      await release();
    }
  }

  private async writeChunk(dir: string, table: Table): Promise<CacheChunk> {
    const file = `${randomUUID()}.arrows`;
    const temporary = join(dir, `.${file}.tmp`);
    const bytes = tableToIPC(table, 'stream');
    await writeFile(temporary, bytes);
    await rename(temporary, join(dir, file));
    return { file, rows: table.numRows, bytes: bytes.byteLength };
  }

  /**
   * Writes a frame's version: `table` whole, or (with `extending`) the rows appended to that entry.
   * Call it holding {@link FrameCache.withLock}. Chunk files no longer listed are removed.
   */
  async store(bucket: string, name: string, table: Table, version: { version: number; committedAt: string }, extending?: CacheEntry): Promise<CacheEntry> {
    const dir = this.entryDir(bucket, name);
    await mkdir(dir, { recursive: true });
    let chunks = [...(extending?.chunks ?? []), await this.writeChunk(dir, table)];
    const rows = (extending?.rows ?? 0) + table.numRows;
    if (chunks.length > MAX_CHUNKS) {
      const whole = await this.load({ bucket, name, ...version, rows, chunks });
      chunks = [await this.writeChunk(dir, whole)];
    }
    const entry: CacheEntry = { bucket, name, version: version.version, committedAt: version.committedAt, rows, chunks };
    const temporary = join(dir, `.${ENTRY}.${randomUUID()}.tmp`);
    await writeFile(temporary, JSON.stringify({ version: entry.version, committedAt: entry.committedAt, rows, chunks }));
    await rename(temporary, join(dir, ENTRY));
    await markUsed(dir);
    const keep = new Set(chunks.map((chunk) => chunk.file));
    for (const file of await readdir(dir)) {
      if (file.endsWith('.arrows') && !keep.has(file)) await unlink(join(dir, file)).catch(() => undefined);
    }
    await this.evict(new Set([`${bucket}/${name}`]));
    return entry;
  }

  /** Forgets a frame (e.g. deleted on the server). */
  async drop(bucket: string, name: string): Promise<void> {
    this.loaded.delete(`${bucket}/${name}`);
    const dir = this.entryDir(bucket, name);
    const exists = await stat(dir).then(
      () => true,
      () => false,
    );
    if (!exists) return;
    await this.withLock(bucket, name, () => removeEntryFiles(dir));
  }

  /** Removes every entry. */
  async clear(): Promise<void> {
    for (const entry of await this.entries()) await this.drop(entry.bucket, entry.name);
    await rm(this.root, { recursive: true, force: true });
  }

  /**
   * Removes the least recently read entries until the cache fits `maxBytes`; resolves with how many.
   * Entries in `keep` (being written by the caller) and entries locked by another process are skipped.
   */
  async evict(keep: ReadonlySet<string> = new Set()): Promise<number> {
    if (this.maxBytes === undefined) return 0;
    const entries = await this.entries();
    let total = entries.reduce((sum, entry) => sum + entryBytes(entry), 0);
    if (total <= this.maxBytes) return 0;
    const used = await Promise.all(
      entries.map((entry) =>
        stat(join(this.entryDir(entry.bucket, entry.name), USED)).then(
          (s) => s.mtimeMs,
          () => 0,
        ),
      ),
    );
    const order = entries.map((entry, i) => ({ entry, used: used[i]! })).sort((a, b) => a.used - b.used);
    let removed = 0;
    for (const { entry } of order) {
      if (total <= this.maxBytes) break;
      if (keep.has(`${entry.bucket}/${entry.name}`)) continue;
      const dir = this.entryDir(entry.bucket, entry.name);
      let release: (() => Promise<void>) | undefined;
      try {
        release = await lockfile.lock(dir, { lockfilePath: join(dir, '.lock'), realpath: false, stale: 30_000 });
      } catch {
        continue; // another process is updating it
      }
      try {
        const current = await this.entry(entry.bucket, entry.name);
        if (!current) continue;
        this.loaded.delete(`${entry.bucket}/${entry.name}`);
        await removeEntryFiles(dir);
        total -= entryBytes(current);
        removed++;
      } finally {
        await release();
      }
    }
    return removed;
  }
}

/** Removes an entry's `entry.json` (first: readers then see no entry) and its chunk files. */
async function removeEntryFiles(dir: string): Promise<void> {
  await unlink(join(dir, ENTRY)).catch(() => undefined);
  for (const file of await readdir(dir).catch(() => [] as string[])) {
    if (file.endsWith('.arrows')) await unlink(join(dir, file)).catch(() => undefined);
  }
}

/** Records a read of the entry for LRU eviction (the `.used` file's modification time). */
async function markUsed(dir: string): Promise<void> {
  const path = join(dir, USED);
  const now = new Date();
  await utimes(path, now, now).catch(async (error: unknown) => {
    if (isMissing(error)) await writeFile(path, '').catch(() => undefined);
  });
}
