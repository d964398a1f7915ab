/**
 * The frame-level store the engine works against: immutable segment objects and versioned manifests
 * with a compare-and-swap commit. The object layout (src/storage/object-layout.ts) implements it once
 * over any byte-level `Connector`; the SQLite catalog wraps one as an index.
 */
import type { FrameManifest } from '../format/manifest.js';
import type { SnapshotDocument } from '../format/snapshot-document.js';
import { InvalidArgumentError } from '../errors.js';
import type { FrameRef } from '../names.js';
import { joinRuns } from './connector.js';

/** What a store does beyond the contract's minimum. */
export interface FrameStoreCapabilities {
  /** `commitManifest` is atomic across processes (not just within this one). */
  readonly crossProcessCommits: boolean;
  /**
   * {@link FrameStore.getSegmentRanges} fetches only the bytes asked for, so reading a few column
   * chunks of a large segment costs less than {@link FrameStore.getSegment}. A projected read then
   * fetches the segment's footer and the projected columns' chunks, not the whole object. Without
   * it the method still works (the default reads the segment whole), but the engine never calls it.
   */
  readonly rangedReads: boolean;
}

/** A byte range of a stored object: from `start` (inclusive) to `end` (exclusive). */
export interface ByteRange {
  readonly start: number;
  readonly end: number;
}

/** A stored segment object of a frame, as vacuum sees it. */
export interface StoredObject {
  /** The object's id, as given to `putSegment`. */
  readonly id: string;
  /** When it was written, in epoch milliseconds (objects younger than vacuum's grace are kept). */
  readonly modifiedAt: number;
}

/** Capabilities of a store that declares none. */
export const DEFAULT_STORE_CAPABILITIES: FrameStoreCapabilities = Object.freeze({ crossProcessCommits: false, rangedReads: false });

/**
 * Base class of every storage backend.
 *
 * Contract, which the conformance suite (`hangar/testing`) checks:
 * - Names reaching a connector are already validated by the core (see `validateName`), so they are
 *   safe as path segments; connectors must still never resolve them outside their root.
 * - Segments are immutable: `putSegment` of an id that exists may overwrite or fail, never corrupt;
 *   it is atomic (a crash leaves no partial segment visible under its id). A segment becomes
 *   durable once a committed manifest references it; unreferenced segments may be discarded when
 *   the connector closes or restarts.
 * - `commitManifest` is the only way a frame changes, and it is atomic and exclusive: it succeeds
 *   only if the frame's current version is `manifest.version - 1` (0 = no frame), else it throws
 *   `ConflictError` and changes nothing.
 * - Errors of the backend itself are thrown as `StorageError` (keep the original as `cause`);
 *   missing things are `undefined`/empty results, not errors, unless documented otherwise.
 */
export abstract class FrameStore {
  /** Stable identifier, also the configuration key/URL scheme (`memory`, `file`, `s3`, …). */
  abstract readonly name: string;

  /** What this connector supports; override to declare more. */
  readonly capabilities: FrameStoreCapabilities = DEFAULT_STORE_CAPABILITIES;

  /** Prepares the backend (create directories, check credentials). Called once before use. */
  async open(): Promise<void> {}

  /** Releases resources. No method is called after this. */
  async close(): Promise<void> {}

  /**
   * Stores a segment's bytes under `id` for the frame, atomically.
   * @throws StorageError when the backend fails
   */
  abstract putSegment(ref: FrameRef, id: string, bytes: Uint8Array): Promise<void>;

  /**
   * Stores a segment given as runs of bytes, in order (a spliced file's copied chunks are views of
   * its source), as {@link putSegment} would store them joined. The default joins them; a store
   * that can write the runs one after another overrides it and never holds a joined copy.
   * @throws StorageError when the backend fails
   */
  async putSegmentParts(ref: FrameRef, id: string, parts: readonly Uint8Array[]): Promise<void> {
    await this.putSegment(ref, id, parts.length === 1 ? parts[0]! : joinRuns(parts));
  }

  /**
   * Returns a segment's bytes in a buffer the caller owns (it may be transferred to a worker, so
   * never return memory the connector keeps using).
   * @throws NotFoundError if the segment does not exist (e.g. deleted by a concurrent replace)
   */
  abstract getSegment(ref: FrameRef, id: string): Promise<Uint8Array>;

  /**
   * Returns byte ranges of a segment object, one buffer per range in the order asked, each owned by
   * the caller. Callers know the object's size from the manifest (`storedBytes`) and ask for ranges
   * within it; a range reaching past the end returns the bytes up to the end (an empty buffer if it
   * starts there or later). Ranges may overlap and come in any order.
   *
   * The default reads the whole segment and copies the ranges out, so every connector supports the
   * method; connectors that can fetch ranges natively override it and declare the `rangedReads`
   * capability.
   * @example
   * const [head, tail] = await connector.getSegmentRanges(ref, id, [{ start: 0, end: 4 }, { start: size - 8, end: size }]);
   * @throws NotFoundError if the segment does not exist; InvalidArgumentError for a range with
   *   `start < 0` or `end < start`
   */
  async getSegmentRanges(ref: FrameRef, id: string, ranges: readonly ByteRange[]): Promise<Uint8Array[]> {
    checkRanges(ranges);
    const bytes = await this.getSegment(ref, id);
    return ranges.map((range) => bytes.slice(Math.min(range.start, bytes.byteLength), Math.min(range.end, bytes.byteLength)));
  }

  /** Deletes segments; ids that do not exist are ignored. */
  abstract deleteSegments(ref: FrameRef, ids: readonly string[]): Promise<void>;

  /** Returns the frame's current manifest, or `undefined` if the frame does not exist. */
  abstract getManifest(ref: FrameRef): Promise<FrameManifest | undefined>;

  /**
   * Makes `manifest` the frame's current state if the current version is `manifest.version - 1`.
   * Creates the bucket if needed.
   * @throws ConflictError if another commit got there first; nothing changes then
   */
  abstract commitManifest(ref: FrameRef, manifest: FrameManifest): Promise<void>;

  /** Versions of the frame that still have a manifest, ascending (empty if none). */
  abstract listVersions(ref: FrameRef): Promise<number[]>;

  /** The manifest of one version, or `undefined` if it was never committed or has been deleted. */
  abstract getManifestVersion(ref: FrameRef, version: number): Promise<FrameManifest | undefined>;

  /**
   * Deletes old manifests (vacuum calls this for versions past retention; never for the current
   * one). Missing versions are ignored.
   */
  abstract deleteManifests(ref: FrameRef, versions: readonly number[]): Promise<void>;

  /**
   * Every segment object stored for the frame — committed ones, strays left by crashes, and
   * uncommitted ones if they are stored in place — so vacuum can find those no kept version
   * references (it leaves any younger than its grace period).
   */
  abstract listSegmentObjects(ref: FrameRef): Promise<StoredObject[]>;

  /** Removes a frame: its manifests and segments. A missing frame is not an error. */
  abstract deleteFrame(ref: FrameRef): Promise<void>;

  /** Names of the frames in a bucket that have a manifest, in any order; empty if the bucket is missing. */
  abstract listFrames(bucket: string): Promise<string[]>;

  /**
   * Which of `names` are frames of the bucket (have a manifest). SQL asks this for every
   * identifier of a query. The default lists the bucket; override when single names can be looked
   * up faster than a large bucket can be listed.
   */
  async existingFrames(bucket: string, names: readonly string[]): Promise<Set<string>> {
    const frames = new Set(await this.listFrames(bucket));
    return new Set(names.filter((name) => frames.has(name)));
  }

  /** Names of every bucket, in any order. */
  abstract listBuckets(): Promise<string[]>;

  /**
   * Stores a snapshot document of a bucket (see core/snapshots.ts), only if the bucket has no
   * snapshot of that name: the create is a compare-and-swap, as a commit is.
   * @returns false if a snapshot of that name exists (nothing changed)
   */
  abstract putSnapshot(snapshot: SnapshotDocument): Promise<boolean>;

  /** A bucket's snapshot by name, or `undefined`. @throws DataLossError for a damaged document */
  abstract getSnapshot(bucket: string, name: string): Promise<SnapshotDocument | undefined>;

  /** Names of a bucket's snapshots, in any order (empty for a missing bucket). */
  abstract listSnapshots(bucket: string): Promise<string[]>;

  /** Deletes a snapshot document. @returns false if there was none */
  abstract deleteSnapshot(bucket: string, name: string): Promise<boolean>;

  /** Creates an empty bucket; an existing bucket is not an error. */
  abstract createBucket(bucket: string): Promise<void>;

  /** Removes a bucket and everything in it. A missing bucket is not an error. */
  abstract deleteBucket(bucket: string): Promise<void>;

  /**
   * The local file holding a stored segment object, for connectors that keep segments as files.
   * Query engines then read the file in place; otherwise (the default, `undefined`) the engine
   * copies the segment into its local cache first. The file must stay unchanged while it exists.
   */
  segmentFile(_ref: FrameRef, _id: string): string | undefined {
    return undefined;
  }

  /** Directories under which {@link segmentFile} paths lie (the SQL sandbox may read only these). */
  fileRoots(): readonly string[] {
    return [];
  }

  /**
   * The current manifests of a bucket's frames whose names pass `select` (all when absent),
   * tombstones included. The default lists the frames, then calls {@link getManifests}; override
   * when an index answers both at once. An implementation may hand the same map to several callers
   * while the listing is unchanged, but must never change a map it has returned (return a new one
   * instead): the engine reuses what it built for a map it has seen.
   */
  async listManifests(bucket: string, select?: (name: string) => boolean): Promise<ReadonlyMap<string, FrameManifest>> {
    const names = await this.listFrames(bucket);
    return this.getManifests(bucket, select ? names.filter(select) : names);
  }

  /**
   * Returns the current manifests of several frames of one bucket (missing ones are skipped). The
   * default calls {@link getManifest} for each; override when the backend can batch.
   */
  async getManifests(bucket: string, names: readonly string[]): Promise<Map<string, FrameManifest>> {
    const result = new Map<string, FrameManifest>();
    await Promise.all(
      names.map(async (name) => {
        const manifest = await this.getManifest({ bucket, name });
        if (manifest) result.set(name, manifest);
      }),
    );
    return result;
  }
}

/**
 * Checks ranges given to {@link FrameStore.getSegmentRanges}, for connectors that override it.
 * @throws InvalidArgumentError for a negative start, an end before its start, or non-integers
 */
export function checkRanges(ranges: readonly ByteRange[]): void {
  for (const { start, end } of ranges) {
    if (!Number.isSafeInteger(start) || !Number.isSafeInteger(end) || start < 0 || end < start) {
      throw new InvalidArgumentError(`invalid byte range ${start}-${end} of a segment`);
    }
  }
}
