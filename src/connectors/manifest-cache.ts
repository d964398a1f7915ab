/**
 * Decoded manifests by where they are stored and an identity of the stored object (an S3 ETag; a
 * local file's version, inode, modification time and size). A manifest object is written once and
 * never changed, so an entry whose identity still matches needs no read: a warm listing of many
 * S3 frames costs only its listing pages, and a local get only a `stat`.
 */
import type { FrameManifest } from '../core/manifest.js';

/** A bounded map from (key, identity) to manifest; the oldest entries go first when full. */
export class ManifestCache {
  private readonly entries = new Map<string, { readonly identity: string; readonly manifest: FrameManifest }>();

  /** @param capacity - most manifests kept (default 100,000: a few hundred bytes each for small frames) */
  constructor(private readonly capacity = 100_000) {}

  /** The manifest stored under `key` with this identity, if cached. */
  get(key: string, identity: string | undefined): FrameManifest | undefined {
    if (identity === undefined) return undefined;
    const entry = this.entries.get(key);
    return entry?.identity === identity ? entry.manifest : undefined;
  }

  /** Remembers a manifest read from or written to `key`. */
  set(key: string, identity: string | undefined, manifest: FrameManifest): void {
    if (identity === undefined) return;
    this.entries.delete(key);
    this.entries.set(key, { identity, manifest });
    if (this.entries.size > this.capacity) this.entries.delete(this.entries.keys().next().value!);
  }

  /** Forgets every key starting with `prefix` (a deleted frame or bucket). */
  forget(prefix: string): void {
    for (const key of this.entries.keys()) if (key.startsWith(prefix)) this.entries.delete(key);
  }
}
