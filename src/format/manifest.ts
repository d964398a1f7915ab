/**
 * The manifest: the small document that says what a frame is at one version. Segments are
 * immutable; a commit swaps in a new manifest atomically, so readers see one version or the next.
 * A manifest records the CRC-32 of each segment object it references, and its own CRC-32 as its
 * last member (see docs/storage-layout.md#checksums); both are checked on every read.
 */
import { crc32, formatCrc32, parseCrc32 } from './crc32.js';
import { DataLossError } from '../errors.js';
import type { FrameMetadata } from './frame-metadata.js';
import type { FrameRef } from '../names.js';

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
  /**
   * The segment's non-null time values are in non-decreasing row order (found while its time
   * statistics were computed at put). Absent: not sorted, or not known (older segments, segments
   * written without the check); readers that need the order then check the rows.
   */
  readonly timeSorted?: true;
  /**
   * CRC-32 of the whole stored object (8 hex digits), checked on every read. Absent in segments
   * written before checksums, which are read unverified.
   */
  readonly crc32?: string;
  /** CRC-32 of the object's Parquet footer (FileMetaData and trailer), for ranged reads. */
  readonly footerCrc32?: string;
  /** Every data page header carries its page's CRC-32, so a ranged read verifies the pages it fetches. */
  readonly pageCrcs?: true;
  /**
   * The file stores its string dictionary columns as dictionary-encoded Parquet strings (the
   * dictionary page holding the kept dictionary's values in their order), not as their codes:
   * other engines read them as strings. Absent: codes (older segments, compressed ones).
   */
  readonly stringCategories?: true;
  /**
   * Nanosecond timestamp columns the file stores as Parquet TIMESTAMP(MICROS), every value being a
   * whole microsecond (what Delta engines read); their footer statistics are in microseconds.
   * Hangar's reader returns nanoseconds, exactly. Absent: every timestamp in its own unit.
   */
  readonly microsecondColumns?: readonly string[];
  /** CRC-32 of the dictionary sidecar (`dictionaries`), when there is one. */
  readonly dictionariesCrc32?: string;
  /**
   * Base64 of the bare IPC Schema header the segment was written with, when its columns differ
   * from the manifest's `schema` (written before a schema-evolving append): reads give its missing
   * columns as nulls (see core/schema-evolution.ts). Absent: the segment has the manifest's columns.
   */
  readonly schema?: string;
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
export type FrameOperation = 'put' | 'append' | 'replace' | 'delete' | 'restore' | 'compact' | 'set_metadata' | 'update' | 'delete_range';

/** The manifest if it describes a frame that exists (not a tombstone), else undefined. */
export function liveManifest(manifest: FrameManifest | undefined): FrameManifest | undefined {
  return manifest?.deleted ? undefined : manifest;
}

/** Every stored object the segments reference: Parquet files and their dictionary sidecars. */
export function segmentObjectIds(segments: readonly SegmentEntry[]): string[] {
  return segments.flatMap((segment) => (segment.dictionaries ? [segment.id, segment.dictionaries] : [segment.id]));
}

/** The member {@link encodeManifest} ends a manifest with: `,"crc32":"<8 hex digits>"}` (20 bytes). */
const CHECKSUM_MEMBER = /^,"crc32":"([0-9a-f]{8})"\}$/;
const CHECKSUM_MEMBER_BYTES = 20;
const CLOSING_BRACE = Uint8Array.of(0x7d);

/** Top-level members of manifests written before manifest checksums. */
const UNCHECKSUMMED_MEMBERS = new Set(['format', 'version', 'committedAt', 'schema', 'rows', 'bytes', 'segments', 'timeColumn', 'metadata', 'operation', 'restoredFrom', 'deleted']);

/**
 * Serialises a manifest as UTF-8 JSON whose last member is `"crc32"`: the CRC-32 of the document
 * without that member (the bytes before it, then `}`). Still plain JSON for any reader.
 */
export function encodeManifest(manifest: FrameManifest): Uint8Array {
  const { crc32: _stale, ...body } = manifest as FrameManifest & { crc32?: unknown };
  const json = Buffer.from(JSON.stringify(body), 'utf8');
  const member = Buffer.from(`,"crc32":"${formatCrc32(crc32(json))}"}`, 'utf8');
  return Buffer.concat([json.subarray(0, json.byteLength - 1), member]);
}

/** Which manifest a decode reads, for the message of a DataLossError. */
export interface ManifestLocation {
  readonly ref: FrameRef;
  readonly version: number;
}

/**
 * Parses a manifest, checking its CRC-32. Manifests written before manifest checksums have none
 * and are accepted, unless they carry a member no such manifest had (a damaged checksum member).
 * @param where - the object's path or URL, for messages
 * @param location - the frame and version, for messages
 * @throws DataLossError if the bytes are not an intact Hangar manifest
 */
export function decodeManifest(bytes: Uint8Array, where: string, location?: ManifestLocation): FrameManifest {
  const damaged = (why: string): DataLossError => {
    const which = location ? `version ${location.version} of frame '${location.ref.name}' in bucket '${location.ref.bucket}'` : 'a frame';
    const bucket = location ? ` --bucket ${location.ref.bucket}` : '';
    return new DataLossError(
      `the manifest of ${which} (${where}) is damaged: ${why}. It is not used; run \`hangar verify${bucket}\` to see what else is ` +
        `affected and \`hangar verify${bucket} --repair-from VERSION\` to restore the frame from an intact earlier version`,
    );
  };
  let parsed: Partial<FrameManifest> & { crc32?: unknown };
  try {
    parsed = JSON.parse(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8')) as typeof parsed;
  } catch (error) {
    throw damaged(`it is not valid JSON (${(error as Error).message})`);
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) throw damaged('it is not a JSON object');
  const tail = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).subarray(Math.max(0, bytes.byteLength - CHECKSUM_MEMBER_BYTES)).toString('latin1');
  const member = CHECKSUM_MEMBER.exec(tail);
  if (member) {
    const expected = parseCrc32(member[1])!;
    const actual = crc32(CLOSING_BRACE, crc32(bytes.subarray(0, bytes.byteLength - CHECKSUM_MEMBER_BYTES)));
    if (actual !== expected) throw damaged(`its CRC-32 is ${formatCrc32(actual)}, it records ${formatCrc32(expected)}`);
    delete parsed.crc32;
  } else {
    const unknown = Object.keys(parsed).filter((key) => !UNCHECKSUMMED_MEMBERS.has(key));
    if (unknown.length > 0) throw damaged(`it has no intact checksum and unknown member(s) ${unknown.map((key) => JSON.stringify(key)).join(', ')}`);
  }
  if (parsed.format !== 1 || typeof parsed.version !== 'number' || !Array.isArray(parsed.segments)) {
    throw damaged('it is not a Hangar manifest (format 1)');
  }
  if (location && parsed.version !== location.version) throw damaged(`it says version ${parsed.version}`);
  return parsed as FrameManifest;
}
