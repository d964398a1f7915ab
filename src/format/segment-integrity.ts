/**
 * What a read checks of a segment before it serves it: the checksums its manifest entry records
 * (see docs/storage-layout.md#checksums), and the DataLossError that names what is damaged.
 */
import { crc32, formatCrc32, parseCrc32 } from './crc32.js';
import { DataLossError } from '../errors.js';
import type { SegmentEntry } from './manifest.js';
import type { FrameRef } from '../names.js';
import type { SegmentVerification } from './parquet/parquet-codec.js';

/**
 * The checks a decode of the segment's bytes makes, or undefined for a segment written before
 * checksums (read unverified, as before).
 * @param partial - only the footer and some column chunks were fetched
 */
export function segmentVerification(segment: SegmentEntry, partial: boolean): SegmentVerification | undefined {
  const whole = parseCrc32(segment.crc32);
  const footer = parseCrc32(segment.footerCrc32);
  if (whole === undefined && footer === undefined) return undefined;
  return {
    ...(whole === undefined ? {} : { crc32: whole }),
    ...(footer === undefined ? {} : { footerCrc32: footer }),
    ...(segment.pageCrcs === true ? { pageCrcs: true } : {}),
    partial,
  };
}

/** Whether a ranged fetch of the segment can be verified: its footer CRC is known and its pages carry CRCs. */
export function rangedReadVerifiable(segment: SegmentEntry): boolean {
  return segment.crc32 === undefined || (segment.pageCrcs === true && segment.footerCrc32 !== undefined);
}

/**
 * The error a read answers damage with: it names the bucket, frame, version and stored object,
 * says nothing of it was served, and what to do.
 */
export function damagedSegmentError(ref: FrameRef, version: number | undefined, objectId: string, why: string, cause?: unknown): DataLossError {
  const at = version === undefined ? '' : ` (read at version ${version})`;
  return new DataLossError(
    `segment ${objectId} of frame '${ref.name}' in bucket '${ref.bucket}'${at} is damaged: ${why}. Nothing of it was served. ` +
      `Run \`hangar verify --bucket ${ref.bucket}\` to find the intact versions of the frame, then ` +
      `\`hangar verify --bucket ${ref.bucket} --repair-from VERSION\` (or the restore action) to make one current again`,
    cause,
  );
}

/**
 * Checks a segment's dictionary sidecar against its recorded CRC-32 (none recorded: unchecked).
 * @throws DataLossError on a mismatch
 */
export function verifyDictionarySidecar(ref: FrameRef, version: number | undefined, segment: SegmentEntry, bytes: Uint8Array): void {
  const expected = parseCrc32(segment.dictionariesCrc32);
  if (expected === undefined || !segment.dictionaries) return;
  const actual = crc32(bytes);
  if (actual !== expected) {
    throw damagedSegmentError(ref, version, segment.dictionaries, `its ${bytes.byteLength} bytes have CRC-32 ${formatCrc32(actual)}, the manifest records ${formatCrc32(expected)}`);
  }
}
