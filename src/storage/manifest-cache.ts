/**
 * Decoded manifests by where they are stored and an identity of the stored object (an S3 ETag; a
 * local file's version, inode, modification time and size). A manifest object is written once and
 * never changed, so an entry whose identity still matches needs no read: a warm listing of many
 * S3 frames costs only its listing pages, and a local get only a `stat`.
 */
import type { FrameManifest } from '../format/manifest.js';
import { GenerationalCache } from './generational-cache.js';

/** A cached manifest and the identity of the stored object it was decoded from. */
interface IdentifiedManifest {
  readonly identity: string;
  readonly manifest: FrameManifest;
}

/**
 * A bounded map from (key, identity) to manifest, roughly least-recently-used first out. Built on
 * GenerationalCache: a delete + set LRU on one Map degrades badly under churn (see there).
 */
export class ManifestCache {
  private readonly entries: GenerationalCache<string, IdentifiedManifest>;

  /** @param capacity - manifests kept per generation, so at most twice this (default 50,000: a few hundred bytes each for small frames) */
  constructor(capacity = 50_000) {
    this.entries = new GenerationalCache(capacity);
  }

  /** The manifest stored under `key` with this identity, if cached. */
  get(key: string, identity: string | undefined): FrameManifest | undefined {
    if (identity === undefined) return undefined;
    const entry = this.entries.get(key);
    return entry?.identity === identity ? entry.manifest : undefined;
  }

  /** Remembers a manifest read from or written to `key`. */
  set(key: string, identity: string | undefined, manifest: FrameManifest): void {
    if (identity !== undefined) this.entries.set(key, { identity, manifest });
  }

  /** Forgets every key starting with `prefix` (a deleted frame or bucket). */
  forget(prefix: string): void {
    this.entries.deleteWhere((key) => key.startsWith(prefix));
  }
}
