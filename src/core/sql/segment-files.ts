/**
 * Local files of segments, for DuckDB to read. Connectors that keep segments as files hand out
 * their paths (read in place, never copied); for the others, segments are copied once into a
 * size-bounded cache directory. Cached segments are immutable (ids are never reused), so the cache
 * is never stale; the least recently used files that no current view needs are evicted. Each file
 * is checked against the CRC-32 its manifest records before DuckDB first reads it (DuckDB does not
 * check checksums itself); segments are immutable, so once is enough while the check is remembered
 * (the last 4,096–8,192 files checked).
 */
import { randomUUID } from 'node:crypto';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { FrameStore } from '../../storage/frame-store.js';
import { crc32, formatCrc32, parseCrc32 } from '../../format/crc32.js';
import type { SegmentEntry } from '../../format/manifest.js';
import type { FrameRef } from '../../names.js';
import { damagedSegmentError } from '../../format/segment-integrity.js';
import { NotFoundError } from '../../errors.js';
import { missingObjectError } from '../read-races.js';

/** Checked files remembered per generation (two generations are kept). */
const VERIFIED_GENERATION = 4096;

interface CachedFile {
  readonly bytes: number;
  pins: number;
  lastUsed: number;
}

/** Resolves segments to local files. */
export class SegmentFiles {
  private readonly cached = new Map<string, CachedFile>();
  private cachedBytes = 0;
  private clock = 0;
  /**
   * Files checked against their CRC-32 (`path|crc`), in two generations of at most
   * {@link VERIFIED_GENERATION} each: every segment file ever queried used to stay here for the
   * life of the process (vacuumed ones too), so the set grew with every put that SQL read. A file
   * forgotten is checked again on its next query.
   */
  private verified = new Set<string>();
  private verifiedBefore = new Set<string>();

  /**
   * @param connector - the store
   * @param cacheDirectory - this process's cache directory (created by {@link open}, removed by {@link close})
   * @param cacheBytes - the cache's size bound; pinned files may exceed it
   */
  constructor(
    private readonly connector: FrameStore,
    readonly cacheDirectory: string,
    private readonly cacheBytes: number,
  ) {}

  /** Directories the returned paths lie under. */
  get directories(): string[] {
    return [...this.connector.fileRoots(), this.cacheDirectory];
  }

  /** Creates the cache directory. */
  async open(): Promise<void> {
    await mkdir(this.cacheDirectory, { recursive: true });
  }

  /** Removes the cache directory. */
  async close(): Promise<void> {
    await rm(this.cacheDirectory, { recursive: true, force: true });
  }

  /**
   * The local path of a segment object, copying it into the cache if needed; the path stays
   * valid until {@link unpin} is called for it as often as it was returned. With `check`, the
   * bytes are verified against the segment's recorded CRC-32 first (once per process).
   * @throws DataLossError when they do not match
   */
  async pin(ref: FrameRef, id: string, check?: { readonly segment: SegmentEntry; readonly version: number }): Promise<string> {
    const expected = check ? parseCrc32(check.segment.crc32) : undefined;
    const verify = (path: string, bytes: Uint8Array): void => {
      if (expected === undefined) return;
      const actual = crc32(bytes);
      if (actual !== expected) {
        throw damagedSegmentError(ref, check!.version, id, `its ${bytes.byteLength} bytes have CRC-32 ${formatCrc32(actual)}, the manifest records ${formatCrc32(expected)}`);
      }
      this.rememberVerified(`${path}|${expected}`);
    };
    const inPlace = this.connector.segmentFile(ref, id);
    if (inPlace !== undefined) {
      if (expected !== undefined && !this.wasVerified(`${inPlace}|${expected}`)) verify(inPlace, await readFile(inPlace));
      return inPlace;
    }
    const path = join(this.cacheDirectory, encodeURIComponent(ref.bucket), encodeURIComponent(ref.name), id);
    let entry = this.cached.get(path);
    if (!entry) {
      // Gone: a read race (NOT_FOUND) unless the version still lists it (DATA_LOSS), read-races.ts.
      const bytes = await this.connector.getSegment(ref, id).catch(async (error: unknown) => {
        throw error instanceof NotFoundError ? await missingObjectError(this.connector, ref, check?.version, id, error) : error;
      });
      verify(path, bytes);
      entry = this.cached.get(path); // another caller may have fetched it meanwhile
      if (!entry) {
        await mkdir(join(path, '..'), { recursive: true });
        const partial = `${path}.${randomUUID()}.partial`;
        await writeFile(partial, bytes);
        await rename(partial, path);
        entry = { bytes: bytes.byteLength, pins: 0, lastUsed: 0 };
        this.cached.set(path, entry);
        this.cachedBytes += entry.bytes;
      }
    }
    entry.pins++;
    entry.lastUsed = ++this.clock;
    await this.evict();
    return path;
  }

  /** Whether the file was checked (recently enough to be remembered); a hit is kept a generation more. */
  private wasVerified(key: string): boolean {
    if (this.verified.has(key)) return true;
    if (!this.verifiedBefore.has(key)) return false;
    this.rememberVerified(key);
    return true;
  }

  /** Remembers a checked file; a full generation becomes the older one, and the older one is dropped. */
  private rememberVerified(key: string): void {
    if (this.verified.size >= VERIFIED_GENERATION) {
      this.verifiedBefore = this.verified;
      this.verified = new Set();
    }
    this.verified.add(key);
  }

  /** Releases a path returned by {@link pin}. */
  unpin(path: string): void {
    const entry = this.cached.get(path);
    if (entry) entry.pins--;
  }

  /** Deletes least recently used unpinned files while the cache is over its bound. */
  private async evict(): Promise<void> {
    if (this.cachedBytes <= this.cacheBytes) return;
    const candidates = [...this.cached].filter(([, entry]) => entry.pins === 0).sort((a, b) => a[1].lastUsed - b[1].lastUsed);
    for (const [path, entry] of candidates) {
      if (this.cachedBytes <= this.cacheBytes) break;
      this.cached.delete(path);
      this.cachedBytes -= entry.bytes;
      await rm(path, { force: true });
    }
  }
}
