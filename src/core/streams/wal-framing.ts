/**
 * The write-ahead log's record framing: `[u32 length][u32 crc32][payload]`, little-endian, in files
 * that are zero-filled in advance or recycled. A zero length ends the log; a record whose CRC does
 * not match is a torn write (never acknowledged, since acknowledgements wait for the sync) or a
 * record of the file's previous use, and ends it too. A recycled file's records are told from its
 * previous use's by a seed: the CRC of a nonce the file's header holds, which each record's CRC
 * continues from (seed 0: the CRC of the payload alone, the format of files without a header).
 */
import { crc32 } from '../../format/crc32.js';

/** Bytes of a record's header. */
export const RECORD_HEADER_BYTES = 8;

/** Frames payloads as consecutive records in one buffer (`seed`: see the module's note; 0 by default). */
export function frameRecords(payloads: readonly Uint8Array[], seed = 0): Buffer {
  let total = 0;
  for (const payload of payloads) total += RECORD_HEADER_BYTES + payload.byteLength;
  const out = Buffer.allocUnsafe(total);
  let offset = 0;
  for (const payload of payloads) {
    out.writeUInt32LE(payload.byteLength, offset);
    out.writeUInt32LE(crc32(payload, seed), offset + 4);
    out.set(payload, offset + RECORD_HEADER_BYTES);
    offset += RECORD_HEADER_BYTES + payload.byteLength;
  }
  return out;
}

/** The records found at the start of `bytes`, and where the valid log ends. */
export interface ScannedRecords {
  readonly payloads: Uint8Array[];
  /** Offset just after the last valid record: where the next record is written. */
  readonly end: number;
}

/**
 * Reads records from `start` of `bytes` until a zero length, a record whose CRC (continued from
 * `seed`) does not match, or the end.
 */
export function scanRecords(bytes: Uint8Array, start = 0, seed = 0): ScannedRecords {
  const view = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const payloads: Uint8Array[] = [];
  let offset = start;
  while (offset + RECORD_HEADER_BYTES <= view.byteLength) {
    const length = view.readUInt32LE(offset);
    if (length === 0 || offset + RECORD_HEADER_BYTES + length > view.byteLength) break;
    const payload = view.subarray(offset + RECORD_HEADER_BYTES, offset + RECORD_HEADER_BYTES + length);
    if (crc32(payload, seed) !== view.readUInt32LE(offset + 4)) break;
    payloads.push(payload);
    offset += RECORD_HEADER_BYTES + length;
  }
  return { payloads, end: offset };
}
