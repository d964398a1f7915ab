/**
 * Incremental reads for client caches: the segments a frame gained after an earlier version, when
 * its history since then only appended rows. The check compares segment lists (no segment is
 * fetched or decoded): the version read must begin with exactly the earlier version's segments.
 */
import type { FrameStore } from '../storage/frame-store.js';
import { FailedPreconditionError } from './errors.js';
import type { FrameManifest, SegmentEntry } from './manifest.js';
import { type FrameRef, describeFrame } from './names.js';

/** The version a client already holds, as a ticket's `since_version` / `since_committed_at` name it. */
export interface SinceVersion {
  /** The version the client holds. */
  readonly sinceVersion?: number;
  /** Its commit time, which tells one history from another after a purge or a bucket delete. */
  readonly sinceCommittedAt?: Date;
}

/** Detail type of the refusal: the frame did not only grow since that version. */
export const NOT_APPEND_ONLY = 'NotAppendOnlyError';

/**
 * The segments `current` holds after version `since.sinceVersion`, in row order (none when it is
 * that version).
 * @throws FailedPreconditionError (detail type `NotAppendOnlyError`) when `current` is not that
 *   version plus appended rows: it was replaced, compacted or restored to other data since, the
 *   version is no longer kept or was a deletion, its commit time differs (another history), or the
 *   store keeps no versions. The client then reads the frame whole.
 */
export async function segmentsAppendedSince(
  store: FrameStore,
  ref: FrameRef,
  current: FrameManifest,
  since: Required<Pick<SinceVersion, 'sinceVersion'>> & SinceVersion,
): Promise<readonly SegmentEntry[]> {
  const { sinceVersion, sinceCommittedAt } = since;
  const refuse = (why: string): never => {
    throw new FailedPreconditionError(
      `version ${current.version} of ${describeFrame(ref)} is not version ${sinceVersion} plus appended rows (${why}); read the frame whole`,
      { type: NOT_APPEND_ONLY },
    );
  };
  if (sinceVersion > current.version) refuse(`the frame's version ${current.version} is older than ${sinceVersion}`);
  const earlier =
    sinceVersion === current.version
      ? current
      : store.capabilities.versions
        ? await store.getManifestVersion(ref, sinceVersion)
        : refuse('the store keeps no old versions');
  if (!earlier) return refuse(`version ${sinceVersion} is no longer kept`);
  if (earlier.deleted) refuse(`version ${sinceVersion} is a deletion`);
  if (sinceCommittedAt !== undefined && Date.parse(earlier.committedAt) !== sinceCommittedAt.getTime()) {
    refuse(`version ${sinceVersion} was committed at ${earlier.committedAt}, not ${sinceCommittedAt.toISOString()}: the frame's history was started anew`);
  }
  const held = earlier.segments;
  if (held.length > current.segments.length || held.some((segment, i) => current.segments[i]!.id !== segment.id)) {
    refuse('it was replaced, compacted or restored to other data since');
  }
  return current.segments.slice(held.length);
}
