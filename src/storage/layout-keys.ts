/**
 * Where the object layout keeps things in a byte store: one place for every key Hangar writes.
 *
 * - `~buckets/<bucket>` — an empty marker per bucket (`~` is not a name character, so no bucket
 *   or frame can collide with it)
 * - `<bucket>/<frame>/manifests/<version, 12 digits>.json` — one manifest per version
 * - `<bucket>/<frame>/segments/<id>` — immutable segment objects (Parquet, dictionary sidecars)
 */
import type { FrameRef } from '../names.js';

/** Prefix of the bucket markers. */
export const BUCKET_MARKERS = '~buckets/';
/** Digits of a manifest's zero-padded version (sorts as text up to 10^12 - 1 versions). */
const MANIFEST_DIGITS = 12;
const MANIFEST_NAME = /^(\d+)\.json$/;

/** The marker key of a bucket. */
export function bucketMarkerKey(bucket: string): string {
  return `${BUCKET_MARKERS}${bucket}`;
}

/** The prefix of everything stored for a bucket's frames. */
export function bucketPrefix(bucket: string): string {
  return `${bucket}/`;
}

/** The prefix of everything stored for one frame. */
export function framePrefix(ref: FrameRef): string {
  return `${ref.bucket}/${ref.name}/`;
}

/** The prefix of a frame's manifests. */
export function manifestsPrefix(ref: FrameRef): string {
  return `${framePrefix(ref)}manifests/`;
}

/** The prefix of a frame's segment objects. */
export function segmentsPrefix(ref: FrameRef): string {
  return `${framePrefix(ref)}segments/`;
}

/** The key of one version's manifest. */
export function manifestKey(ref: FrameRef, version: number): string {
  return `${manifestsPrefix(ref)}${String(version).padStart(MANIFEST_DIGITS, '0')}.json`;
}

/** The key of a segment object. */
export function segmentKey(ref: FrameRef, id: string): string {
  return `${segmentsPrefix(ref)}${id}`;
}

/** The version a manifest file name (the part after `manifests/`) stands for, if it is one. */
export function versionOfManifestName(name: string): number | undefined {
  const match = MANIFEST_NAME.exec(name);
  if (!match) return undefined;
  const version = Number.parseInt(match[1]!, 10);
  return Number.isSafeInteger(version) ? version : undefined;
}

/**
 * For a key under a bucket's prefix that is a manifest, the frame it belongs to and its version:
 * `<frame>/manifests/<version>.json` after the prefix.
 */
export function manifestOfKey(key: string, prefix: string): { readonly frame: string; readonly version: number } | undefined {
  const rest = key.slice(prefix.length);
  const slash = rest.indexOf('/');
  if (slash <= 0 || !rest.startsWith('manifests/', slash + 1)) return undefined;
  const name = rest.slice(slash + 1 + 'manifests/'.length);
  if (name.includes('/')) return undefined;
  const version = versionOfManifestName(name);
  return version === undefined ? undefined : { frame: rest.slice(0, slash), version };
}
