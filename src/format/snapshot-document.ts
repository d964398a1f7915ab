/**
 * The snapshot document: a named, immutable record of which version of each frame of a bucket a
 * snapshot holds. Stored as UTF-8 JSON ending with its own CRC-32, as manifests are.
 */
import { crc32, formatCrc32, parseCrc32 } from './crc32.js';
import { DataLossError } from '../errors.js';

/** A snapshot of (some of) a bucket's frames. */
export interface SnapshotDocument {
  /** Layout version of this document. */
  readonly format: 1;
  /** The snapshot's name (a frame-name-like identifier, unique within its bucket). */
  readonly name: string;
  /** The bucket whose frames it holds. */
  readonly bucket: string;
  /** ISO-8601 time the snapshot was taken. */
  readonly createdAt: string;
  /** Frame name → the version it holds (always a version that is not a deletion). */
  readonly frames: Readonly<Record<string, number>>;
}

const CHECKSUM_MEMBER = /,"crc32":"([0-9a-f]{8})"\}$/;

/** Serialises a snapshot as JSON whose last member is the CRC-32 of the document without it. */
export function encodeSnapshot(snapshot: SnapshotDocument): Uint8Array {
  const body = Buffer.from(
    JSON.stringify({ format: snapshot.format, name: snapshot.name, bucket: snapshot.bucket, createdAt: snapshot.createdAt, frames: snapshot.frames }),
    'utf8',
  );
  return Buffer.concat([body.subarray(0, body.byteLength - 1), Buffer.from(`,"crc32":"${formatCrc32(crc32(body))}"}`, 'utf8')]);
}

/**
 * Parses a snapshot document, checking its CRC-32 and shape.
 * @param where - the object's key or URL, for messages
 * @throws DataLossError if the bytes are not an intact snapshot document
 */
export function decodeSnapshot(bytes: Uint8Array, where: string): SnapshotDocument {
  const text = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8');
  const damaged = (why: string): DataLossError =>
    new DataLossError(`the snapshot document ${where} is damaged: ${why}; delete the snapshot (delete_snapshot) and take it again`);
  const member = CHECKSUM_MEMBER.exec(text);
  if (!member) throw damaged('it has no checksum member');
  const body = `${text.slice(0, member.index)}}`;
  const actual = crc32(Buffer.from(body, 'utf8'));
  if (actual !== parseCrc32(member[1])) throw damaged(`its CRC-32 is ${formatCrc32(actual)}, it records ${member[1]}`);
  let parsed: Partial<SnapshotDocument>;
  try {
    parsed = JSON.parse(body) as Partial<SnapshotDocument>;
  } catch (error) {
    throw damaged(`it is not valid JSON (${(error as Error).message})`);
  }
  const frames = parsed.frames;
  if (
    parsed.format !== 1 ||
    typeof parsed.name !== 'string' ||
    typeof parsed.bucket !== 'string' ||
    typeof parsed.createdAt !== 'string' ||
    typeof frames !== 'object' ||
    frames === null ||
    Object.values(frames).some((version) => !Number.isSafeInteger(version))
  ) {
    throw damaged('it is not a Hangar snapshot document (format 1)');
  }
  return parsed as SnapshotDocument;
}
