/**
 * What a read answers when an object its version lists is missing from the store: damage
 * (DATA_LOSS) only when the store still lists the object in a kept version; otherwise the read
 * raced a removal (a purge, a bucket delete, a vacuum by another process, the frame made again
 * meanwhile) and answers NOT_FOUND asking to read again. One rule for gets, range and tail reads,
 * Flight, HTTP and SQL (see docs/reliability.md#reads-racing-removals).
 */
import { isAbsolute, relative, sep } from 'node:path';
import { HangarError, NotFoundError, toHangarError } from '../errors.js';
import { type FrameManifest, segmentObjectIds } from '../format/manifest.js';
import { damagedSegmentError } from '../format/segment-integrity.js';
import { type FrameRef, describeFrame } from '../names.js';
import type { FrameStore } from '../storage/frame-store.js';

/**
 * The error of a read whose version (or frame) was removed while it ran: NOT_FOUND (detail type
 * `FileNotFoundError`, as for any missing frame, so clients raise their usual exception).
 */
export function removedWhileReading(ref: FrameRef, version: number | undefined, cause?: unknown): NotFoundError {
  const which = version === undefined ? 'the version it was reading' : `version ${version}`;
  return new NotFoundError(
    `${describeFrame(ref)} was deleted or replaced while being read: ${which} is no longer stored ` +
      '(the frame or its bucket was deleted, purged or vacuumed meanwhile); read it again',
    { cause },
  );
}

/**
 * The error for an object of the frame that a read found missing (`cause`, a NotFoundError):
 * DataLossError naming it when the manifest of `version` (or, without one, the current manifest)
 * still lists it; otherwise the NOT_FOUND of {@link removedWhileReading}. Removals delete a
 * version's manifest before its segments (and vacuum in this process waits for the readers), so a
 * listed object that is missing was lost, not removed — unless `removedMeanwhile` (a purge or
 * bucket delete of this process ran during the read; segment-leases.ts), which a store that drops
 * its catalog rows after the files (SQLite) would otherwise misreport.
 */
export async function missingObjectError(
  store: FrameStore,
  ref: FrameRef,
  version: number | undefined,
  objectId: string,
  cause: unknown,
  removedMeanwhile = false,
): Promise<HangarError> {
  // A purge or bucket delete of this process ran while the object was read: it took the object.
  if (removedMeanwhile) return removedWhileReading(ref, version, cause);
  let manifest: FrameManifest | undefined;
  try {
    manifest = version === undefined ? await store.getManifest(ref) : await store.getManifestVersion(ref, version);
  } catch (error) {
    // The manifest cannot be read either: that is the error to report (it names what is wrong).
    if (error instanceof NotFoundError) manifest = undefined;
    else return toHangarError(error);
  }
  if (manifest && !manifest.deleted && segmentObjectIds(manifest.segments).includes(objectId)) {
    return damagedSegmentError(ref, version, objectId, 'it is missing from the store although the manifest lists it', cause);
  }
  return removedWhileReading(ref, version, cause);
}

/** The segment file a path names, when it is one of the store's files (for DuckDB's errors). */
export function segmentOfFile(store: FrameStore, path: string): { ref: FrameRef; id: string } | undefined {
  for (const root of store.fileRoots()) {
    const rest = relative(root, path);
    if (rest === '' || rest.startsWith('..') || isAbsolute(rest)) continue;
    const parts = rest.split(sep);
    if (parts.length < 3) continue;
    // Checked against the store's own answer, so no layout is assumed beyond bucket/frame/…/id.
    const ref = { bucket: parts[0]!, name: parts[1]! };
    const id = parts[parts.length - 1]!;
    if (store.segmentFile(ref, id) === path) return { ref, id };
  }
  return undefined;
}

/** A missing file named in an error's message (Node's ENOENT, DuckDB's "Cannot open file" / "No files found"). */
const MISSING_FILE = [
  /ENOENT: no such file or directory, \w+ '([^']+)'/,
  /No files found that match the pattern "([^"]+)"/,
  /Cannot open file "([^"]+)": No such file or directory/,
];

/**
 * A SQL query's failure as a read race or as damage, when it failed because a segment file of a
 * frame it read was missing: NOT_FOUND when no kept version of that frame lists the file any more
 * (or `removedMeanwhile`, as for {@link missingObjectError}), DATA_LOSS naming it when one does.
 * Any other error is returned unchanged.
 */
export async function sqlMissingFileError(store: FrameStore, error: unknown, removedMeanwhile = false): Promise<unknown> {
  if (!(error instanceof HangarError) || error.code !== 'INTERNAL') return error;
  const path = MISSING_FILE.map((pattern) => pattern.exec(error.message)?.[1]).find((match) => match !== undefined);
  if (path === undefined) return error;
  const owner = segmentOfFile(store, path);
  if (!owner) return error;
  if (removedMeanwhile) return removedWhileReading(owner.ref, undefined, error);
  let listing: FrameManifest | undefined;
  try {
    for (const version of await store.listVersions(owner.ref)) {
      const manifest = await store.getManifestVersion(owner.ref, version);
      if (manifest && !manifest.deleted && segmentObjectIds(manifest.segments).includes(owner.id)) listing = manifest;
    }
  } catch {
    return error;
  }
  if (listing) return damagedSegmentError(owner.ref, listing.version, owner.id, 'it is missing from the store although the manifest lists it', error);
  return removedWhileReading(owner.ref, undefined, error);
}
