/**
 * Decoded manifests by object key and ETag. A manifest object is written once and never changed,
 * and a listing returns every object's ETag, so a listed (key, ETag) found here needs no GET: a
 * warm listing of many frames costs only its listing pages.
 */
import type { FrameManifest } from '../../core/manifest.js';

/** A bounded map from (key, ETag) to manifest; the oldest entries go first when full. */
export class ManifestCache {
  private readonly entries = new Map<string, { readonly etag: string; readonly manifest: FrameManifest }>();

  /** @param capacity - most manifests kept (default 100,000: a few hundred bytes each for small frames) */
  constructor(private readonly capacity = 100_000) {}

  /** The manifest stored under `key` with this ETag, if cached. */
  get(key: string, etag: string | undefined): FrameManifest | undefined {
    if (etag === undefined) return undefined;
    const entry = this.entries.get(key);
    return entry?.etag === etag ? entry.manifest : undefined;
  }

  /** Remembers a manifest read from or written to `key`. */
  set(key: string, etag: string | undefined, manifest: FrameManifest): void {
    if (etag === undefined) return;
    this.entries.delete(key);
    this.entries.set(key, { etag, manifest });
    if (this.entries.size > this.capacity) this.entries.delete(this.entries.keys().next().value!);
  }

  /** Forgets every key starting with `prefix` (a deleted frame or bucket). */
  forget(prefix: string): void {
    for (const key of this.entries.keys()) if (key.startsWith(prefix)) this.entries.delete(key);
  }
}
