/**
 * The manifest: the small document that says what a frame is at one version. Segments are
 * immutable; a commit swaps in a new manifest atomically, so readers see one version or the next.
 */
import type { FrameMetadata } from './frame-metadata.js';

/** One immutable Parquet segment of a frame. */
export interface SegmentEntry {
  /** Unique id; the segment's object name (e.g. `<uuid>.parquet`). */
  readonly id: string;
  /** Rows in the segment. */
  readonly rows: number;
  /** Arrow IPC body bytes of the segment's data (its in-memory size). */
  readonly bytes: number;
  /** Stored (Parquet) size in bytes. */
  readonly storedBytes: number;
  /** Number of Parquet row groups. */
  readonly rowGroups: number;
  /** Id of the stored dictionary batches of this segment, if its dictionaries are kept apart. */
  readonly dictionaries?: string;
  /**
   * Min and max of the frame's time column over the segment's non-null values, as decimal integer
   * strings in the column's own unit (int64-safe). Absent when the segment has no non-null time
   * values, or when no statistics were recorded (older manifests): reads then open the segment.
   */
  readonly timeRange?: { readonly min: string; readonly max: string };
  /** Rows of the segment whose time is null; absent when no statistics were recorded. */
  readonly timeNulls?: number;
}

/** The state of one frame at one version. */
export interface FrameManifest {
  /** Layout version of this document. */
  readonly format: 1;
  /** Monotonic version number, starting at 1. */
  readonly version: number;
  /** ISO-8601 commit time. */
  readonly committedAt: string;
  /** Base64 of the bare IPC Schema message header. */
  readonly schema: string;
  /** Total rows. */
  readonly rows: number;
  /** Total Arrow bytes. */
  readonly bytes: number;
  /** Segments in row order. */
  readonly segments: readonly SegmentEntry[];
  /**
   * The time column range reads filter on and segment statistics describe (see time-column.ts).
   * Absent in older manifests (then derived from the schema) and for frames without one.
   */
  readonly timeColumn?: string;
  /** The frame's user metadata (see frame-metadata.ts); absent when none was ever given. */
  readonly metadata?: FrameMetadata;
  /** What made this version (absent in manifests written before versions were recorded). */
  readonly operation?: FrameOperation;
  /** For `restore`: the version whose state this one repeats. */
  readonly restoredFrom?: number;
  /**
   * A tombstone: the frame was deleted at this version. It has no segments; reads treat the frame
   * as absent, while older versions stay readable until vacuum removes them.
   */
  readonly deleted?: true;
}

/** The operations that commit a version. */
export type FrameOperation = 'put' | 'append' | 'replace' | 'delete' | 'restore' | 'compact';

/** The manifest if it describes a frame that exists (not a tombstone), else undefined. */
export function liveManifest(manifest: FrameManifest | undefined): FrameManifest | undefined {
  return manifest?.deleted ? undefined : manifest;
}

/** Every stored object the segments reference: Parquet files and their dictionary sidecars. */
export function segmentObjectIds(segments: readonly SegmentEntry[]): string[] {
  return segments.flatMap((segment) => (segment.dictionaries ? [segment.id, segment.dictionaries] : [segment.id]));
}

/** Serialises a manifest as UTF-8 JSON. */
export function encodeManifest(manifest: FrameManifest): Uint8Array {
  return Buffer.from(JSON.stringify(manifest), 'utf8');
}

/** Parses a manifest; throws if the document is not one. */
export function decodeManifest(bytes: Uint8Array, where: string): FrameManifest {
  const parsed = JSON.parse(Buffer.from(bytes).toString('utf8')) as Partial<FrameManifest>;
  if (parsed.format !== 1 || typeof parsed.version !== 'number' || !Array.isArray(parsed.segments)) {
    throw new Error(`${where} is not a Hangar manifest (format 1)`);
  }
  return parsed as FrameManifest;
}
