/**
 * Where the object layout keeps things in a byte store: one place for every key Hangar writes.
 *
 * - `~buckets/<bucket>` — an empty marker per bucket (`~` is not a name character, so no bucket
 *   or frame can collide with it)
 * - `~layout` — which log the store holds (`{"layout":"delta"}` or `"manifest"`), written by its first commit
 * - `<bucket>/<frame>/manifests/<version, 12 digits>.json` — one manifest per version
 * - `<bucket>/<frame>/segments/<id>` — immutable segment objects (Parquet, dictionary sidecars)
 * - with the Delta log (docs/open-format.md): `<bucket>/<frame>/_delta_log/<version - 1, 20 digits>.json`
 *   in place of the manifests, and `<bucket>/<frame>/_hangar/expired/<version, 12 digits>` markers
 */
import type { FrameRef } from '../names.js';

/** Prefix of the bucket markers. */
export const BUCKET_MARKERS = '~buckets/';
/** The store's layout marker: which log its frames keep (docs/storage-layout.md, "Which layout a store uses"). */
export const LAYOUT_MARKER_KEY = '~layout';
/** Digits of a manifest's zero-padded version (sorts as text up to 10^12 - 1 versions). */
const MANIFEST_DIGITS = 12;
const MANIFEST_NAME = /^(\d+)\.json$/;
/** Digits of a Delta commit file's zero-padded version (PROTOCOL.md: 20). */
const DELTA_DIGITS = 20;
const DELTA_COMMIT_NAME = /^(\d{20})\.json$/;
/** The folder of a frame's Delta log. */
export const DELTA_LOG_DIR = '_delta_log';
/** The folder of the manifests of the Hangar log. */
export const MANIFESTS_DIR = 'manifests';

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

/** The prefix of a frame's Delta log. */
export function deltaLogPrefix(ref: FrameRef): string {
  return `${framePrefix(ref)}${DELTA_LOG_DIR}/`;
}

/** The Delta commit file of a Hangar version: Delta versions start at 0, Hangar's at 1. */
export function deltaCommitKey(ref: FrameRef, version: number): string {
  return `${deltaLogPrefix(ref)}${String(version - 1).padStart(DELTA_DIGITS, '0')}.json`;
}

/** The Delta checkpoint of a Hangar version (Delta version `version - 1`). */
export function deltaCheckpointKey(ref: FrameRef, version: number): string {
  return `${deltaLogPrefix(ref)}${String(version - 1).padStart(DELTA_DIGITS, '0')}.checkpoint.parquet`;
}

/** The document naming a frame's newest Delta checkpoint. */
export function deltaLastCheckpointKey(ref: FrameRef): string {
  return `${deltaLogPrefix(ref)}_last_checkpoint`;
}

/** The Hangar version a Delta commit file name stands for (its Delta version + 1), if it is one. */
export function versionOfDeltaCommitName(name: string): number | undefined {
  const match = DELTA_COMMIT_NAME.exec(name);
  if (!match) return undefined;
  const version = Number.parseInt(match[1]!, 10) + 1;
  return Number.isSafeInteger(version) ? version : undefined;
}

/** The prefix of a frame's markers of expired versions (the Delta log keeps its commit files). */
export function expiredVersionsPrefix(ref: FrameRef): string {
  return `${framePrefix(ref)}_hangar/expired/`;
}

/** The marker saying that every version up to `version` has expired. */
export function expiredVersionKey(ref: FrameRef, version: number): string {
  return `${expiredVersionsPrefix(ref)}${String(version).padStart(MANIFEST_DIGITS, '0')}`;
}

/**
 * For a key under a bucket's prefix that is a version's file, the frame it belongs to and its version:
 * `<frame>/<dir>/<name>` after the prefix, with `versionOf` reading the name (default: the manifests).
 */
export function manifestOfKey(
  key: string,
  prefix: string,
  dir: string = MANIFESTS_DIR,
  versionOf: (name: string) => number | undefined = versionOfManifestName,
): { readonly frame: string; readonly version: number } | undefined {
  const rest = key.slice(prefix.length);
  const slash = rest.indexOf('/');
  if (slash <= 0 || !rest.startsWith(`${dir}/`, slash + 1)) return undefined;
  const name = rest.slice(slash + 1 + dir.length + 1);
  if (name.includes('/')) return undefined;
  const version = versionOf(name);
  return version === undefined ? undefined : { frame: rest.slice(0, slash), version };
}
