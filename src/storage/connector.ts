/**
 * The contract a storage backend implements: a byte store of `/`-separated keys with one
 * compare-and-swap (`put` with `ifAbsent`). Everything about frames — segments, manifests, versions,
 * buckets, compaction, vacuum — is written once above it, in the object layout (src/storage).
 */
import { InvalidArgumentError } from '../errors.js';

/** One stored object, as a listing sees it. */
export interface ObjectInfo {
  /** The object's full key (it starts with the prefix that was listed). */
  readonly key: string;
  /** Its size in bytes. */
  readonly size: number;
  /** When it was last written. */
  readonly modifiedAt: Date;
}

/** Options of {@link Connector.put}. */
export interface PutOptions {
  /**
   * Store the object only if no object has the key; `put` then returns `false` and changes
   * nothing. This compare-and-swap is the only concurrency primitive Hangar needs: two writers
   * that race for one key must never both get `true` (unless the store declares
   * `consistency: 'single-process'`, see {@link Connector.consistency}).
   */
  readonly ifAbsent?: boolean;
  /**
   * The write is part of freeing space (a delete's small tombstone). A store that holds space back
   * for a full volume (the local store's reserve file) may spend it on such a write. Others ignore it.
   */
  readonly freesSpace?: boolean;
}

/**
 * What {@link Connector.put} with `ifAbsent` guarantees:
 * - `atomic`: across every process and machine using the store (a conditional write, `link(2)`,
 *   `If-None-Match: *`). Several Hangar servers may write one store.
 * - `single-process`: only within one process (the store checks, then writes). Hangar then
 *   serialises writes in the process and refuses to open the store for writing while another live
 *   server holds its writer lease.
 */
export type WriteConsistency = 'atomic' | 'single-process';

/**
 * Base class of every storage backend: extend it, implement the five abstract members, and the
 * whole feature set — put modes, versions, time travel, restore, compaction, vacuum, SQL — works on
 * the new store (docs/custom-connectors.md).
 *
 * Contract, which `runConnectorConformance` (`hangar/testing`) checks:
 * - Keys are non-empty `/`-separated strings of name characters, `~`, `.`, `-` and `_`; Hangar
 *   chooses them, so a connector may map them to paths or object names directly, but must never
 *   resolve one outside its root.
 * - `put` is atomic: a reader sees the old object, the new one, or none, never a part; so does a
 *   crash. `ifAbsent` is a compare-and-swap (see {@link PutOptions.ifAbsent}).
 * - Durability: once a `put` with `ifAbsent` has returned `true`, it and every `put` that returned
 *   before it are durable. A store may defer syncing plain puts until then; a crash before it may
 *   then lose such an object or leave it cut short. Hangar commits a version by an `ifAbsent` put
 *   after writing the version's segments, so no committed version names an object a crash cut.
 * - `get`/`getRange` return buffers the caller owns (they may be transferred to a worker).
 * - Missing objects are `undefined` (or skipped), not errors. Failures of the backend are thrown as
 *   `StorageError` (keep the original as `cause`), a full store as `StoreFullError`.
 * - A listing shows every object whose `put` finished before the listing began.
 */
export abstract class Connector {
  /** The store's URL scheme (`memory`, `file`, `s3`, …), also used in messages. */
  abstract readonly name: string;

  /** What `put` with `ifAbsent` guarantees; see {@link WriteConsistency}. */
  readonly consistency: WriteConsistency = 'atomic';

  /** Prepares the backend (create directories, check credentials). Called once before use. */
  async open(): Promise<void> {}

  /** Releases resources. No method is called after this. */
  async close(): Promise<void> {}

  /** The object's bytes, or `undefined` if there is no object under the key. */
  abstract get(key: string): Promise<Uint8Array | undefined>;

  /**
   * Stores `data` under `key`, atomically, replacing any object there unless `ifAbsent` is set.
   * @returns `false` if `ifAbsent` was set and the key exists (nothing changed), else `true`
   * @throws StorageError when the backend fails; StoreFullError when it is out of space
   */
  abstract put(key: string, data: Uint8Array, options?: PutOptions): Promise<boolean>;

  /** Deletes objects; keys that do not exist are fine. */
  abstract delete(keys: readonly string[]): Promise<void>;

  /** Every object whose key starts with `prefix` (a plain string prefix, not a directory), in any order. */
  abstract list(prefix: string): AsyncIterable<ObjectInfo>;

  /**
   * `length` bytes of the object from `offset` (fewer if it ends sooner; empty if `offset` is at or
   * past its end), or `undefined` if there is no object. The default reads the whole object; a
   * store that can fetch ranges (HTTP Range, positioned reads) overrides it, and Hangar then reads
   * only the column chunks a projection needs from large segments.
   * @throws InvalidArgumentError for a negative or non-integer offset or length
   */
  async getRange(key: string, offset: number, length: number): Promise<Uint8Array | undefined> {
    checkRange(offset, length);
    const bytes = await this.get(key);
    return bytes?.slice(Math.min(offset, bytes.byteLength), Math.min(offset + length, bytes.byteLength));
  }

  /** Whether this store fetches ranges natively (it overrides {@link getRange}). */
  get readsRanges(): boolean {
    return this.getRange !== Connector.prototype.getRange;
  }

  /**
   * Facts about one object, or `undefined` if there is none. The default lists the key as a prefix;
   * override when the store can ask directly (a stat, a HEAD request).
   */
  async head(key: string): Promise<ObjectInfo | undefined> {
    for await (const info of this.list(key)) if (info.key === key) return info;
    return undefined;
  }

  /**
   * The distinct next path components of the keys under `prefix`, which ends with `/`: for keys
   * `a/b/c` and `a/d` under `a/`, `b` and `d`. The default walks {@link list}. Override it when the
   * store lists one directory level cheaply (a filesystem's readdir): Hangar then finds frames and
   * versions by directory listings instead of one listing of every object under a bucket, which
   * suits object stores (1,000 keys a request), whose listings are flat.
   */
  async listChildren(prefix: string): Promise<string[]> {
    const names = new Set<string>();
    for await (const { key } of this.list(prefix)) {
      const end = key.indexOf('/', prefix.length);
      names.add(end < 0 ? key.slice(prefix.length) : key.slice(prefix.length, end));
    }
    return [...names];
  }

  /** Whether this store lists directory levels natively (it overrides {@link listChildren}). */
  get listsChildren(): boolean {
    return this.listChildren !== Connector.prototype.listChildren;
  }

  /**
   * Stores an object arriving in chunks. The default gathers the chunks and calls {@link put};
   * a store with streaming uploads may override it.
   */
  async putStream(key: string, chunks: AsyncIterable<Uint8Array>, options?: PutOptions): Promise<boolean> {
    const parts: Uint8Array[] = [];
    for await (const chunk of chunks) parts.push(chunk);
    return this.put(key, joinRuns(parts), options);
  }

  /**
   * The local file holding the object, for stores that keep objects as files: SQL then reads
   * segments in place instead of copying them. The empty key names the store's root directory (the
   * SQL sandbox may read only under it). The default, `undefined`, means "not on the local disk".
   * A file returned must stay unchanged while it exists (Hangar never rewrites a segment's key).
   */
  localPath(_key: string): string | undefined {
    return undefined;
  }
}

/**
 * Runs of bytes joined into one plain Uint8Array (not a Buffer: a Buffer's `slice` is a view, so
 * a connector keeping `data.slice()` would share its memory with the caller).
 */
export function joinRuns(runs: readonly Uint8Array[]): Uint8Array {
  const joined = new Uint8Array(runs.reduce((sum, run) => sum + run.byteLength, 0));
  let at = 0;
  for (const run of runs) {
    joined.set(run, at);
    at += run.byteLength;
  }
  return joined;
}

/**
 * Checks an offset and length given to {@link Connector.getRange}, for connectors that override it.
 * @throws InvalidArgumentError for a negative or non-integer value
 */
export function checkRange(offset: number, length: number): void {
  if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(length) || offset < 0 || length < 0) {
    throw new InvalidArgumentError(`invalid byte range: offset ${offset}, length ${length}`);
  }
}
