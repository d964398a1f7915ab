/**
 * Incremental reads for client caches: the segments a frame gained after an earlier version, when
 * its history since then only appended rows. The check compares segment lists (no segment is
 * fetched or decoded): the version read must begin with exactly the earlier version's segments.
 */
import type { FrameStore } from '../storage/frame-store.js';
import { FailedPreconditionError } from '../errors.js';
import type { FrameManifest, SegmentEntry } from '../format/manifest.js';
import { type FrameRef, describeFrame } from '../names.js';

/** The version a client already holds, as a ticket's `since_version` / `since_committed_at` name it. */
export interface SinceVersion {
  /** The version the client holds. */
  readonly sinceVersion?: number;
  /** Its commit time, which tells one history from another after a purge or a bucket delete. */
  readonly sinceCommittedAt?: Date;
}

/** Detail type of the refusal: the frame did not only grow since that version. */
export const NOT_APPEND_ONLY = 'NotAppendOnlyError';

/** What an incremental read streams: segments of the version read, and rows of the first to leave out. */
export interface AppendedRows {
  /** The segments holding the rows appended since, in row order. */
  readonly segments: readonly SegmentEntry[];
  /** Rows at the start of the first segment the client holds already (a compaction merged them with new ones). */
  readonly skipRows: number;
}

/** At most this many versions are inspected to show that a history only appended and compacted. */
export const MAX_INSPECTED_VERSIONS = 256;

/**
 * The rows `current` holds after version `since.sinceVersion`: its segments after that version's
 * segments when it begins with exactly them (nothing is read), else — when every version since was
 * an append or a compaction, which keep the rows and their order — the segments from the one holding
 * the first new row on, and how many rows of that segment to leave out.
 * @throws FailedPreconditionError (detail type `NotAppendOnlyError`) when `current` is not that
 *   version plus appended rows: it was replaced or restored to other data since, the version is no
 *   longer kept or was a deletion, or its commit time differs (another history). The client then
 *   reads the frame whole.
 */
export async function rowsAppendedSince(
  store: FrameStore,
  ref: FrameRef,
  current: FrameManifest,
  since: Required<Pick<SinceVersion, 'sinceVersion'>> & SinceVersion,
): Promise<AppendedRows> {
  const { sinceVersion, sinceCommittedAt } = since;
  const refuse = (why: string): never => {
    throw new FailedPreconditionError(
      `version ${current.version} of ${describeFrame(ref)} is not version ${sinceVersion} plus appended rows (${why}); read the frame whole`,
      { type: NOT_APPEND_ONLY },
    );
  };
  if (sinceVersion > current.version) refuse(`the frame's version ${current.version} is older than ${sinceVersion}`);
  const earlier = sinceVersion === current.version ? current : await store.getManifestVersion(ref, sinceVersion);
  if (!earlier) return refuse(`version ${sinceVersion} is no longer kept`);
  if (earlier.deleted) refuse(`version ${sinceVersion} is a deletion`);
  if (sinceCommittedAt !== undefined && Date.parse(earlier.committedAt) !== sinceCommittedAt.getTime()) {
    refuse(`version ${sinceVersion} was committed at ${earlier.committedAt}, not ${sinceCommittedAt.toISOString()}: the frame's history was started anew`);
  }
  // A schema-evolving append changed the columns: rows held in the old schema would not match.
  if (earlier.schema !== current.schema) refuse(`its schema changed since version ${sinceVersion} (an append with "schema": "evolve")`);
  const held = earlier.segments;
  if (held.length <= current.segments.length && held.every((segment, i) => current.segments[i]!.id === segment.id)) {
    return { segments: current.segments.slice(held.length), skipRows: 0 };
  }
  // Not the same segments: still the same rows first if every version since appended or compacted.
  if (current.version - sinceVersion > MAX_INSPECTED_VERSIONS) refuse(`more than ${MAX_INSPECTED_VERSIONS} versions since, not all of them inspected`);
  for (let version = sinceVersion + 1; version < current.version; version++) {
    const between = await store.getManifestVersion(ref, version);
    if (!between) refuse(`version ${version} is no longer kept`);
    if (between!.operation !== 'append' && between!.operation !== 'compact') refuse(`version ${version} was a ${between!.operation ?? 'commit of unrecorded kind'}`);
  }
  if (current.operation !== 'append' && current.operation !== 'compact') {
    refuse(`it was ${current.operation === 'replace' ? 'replaced' : current.operation === 'restore' ? 'restored' : `made by ${current.operation ?? 'an unrecorded commit'}`} since`);
  }
  let first = 0;
  let segment = 0;
  while (segment < current.segments.length && first + current.segments[segment]!.rows <= earlier.rows) first += current.segments[segment++]!.rows;
  return { segments: current.segments.slice(segment), skipRows: earlier.rows - first };
}
