/**
 * The contract of a stream's write-ahead log, whatever holds it (a local file, an object store):
 * records appended in order and durable when `append` resolves, replayed at open, released once
 * rolled into segments. Each record carries the newest entry ID it holds, so the log can tell which
 * of its files or objects a roll has made redundant.
 */
import { crc32 } from '../../format/crc32.js';
import type { StreamId } from './stream-id.js';
import { RECORD_HEADER_BYTES } from './wal-framing.js';

/** One record of the log. */
export interface WalRecord {
  /** The newest entry ID in the record. */
  readonly lastId: StreamId;
  /**
   * The record's bytes (the stream's encoded entries): one buffer, or pieces stored back to back
   * (an append's header and the entries' bytes where they arrived, so nothing is copied to log them).
   * Records read back at recovery are always one buffer.
   */
  readonly payload: Uint8Array | readonly Uint8Array[];
}

/** A stream's write-ahead log. Calls are never concurrent: the stream serialises them. */
export interface WriteAheadLog {
  /** The records in the log, oldest first (called once, before the first append). */
  recover(): Promise<WalRecord[]>;
  /** Appends records and makes them durable with one sync; resolves only after that sync. */
  append(records: readonly WalRecord[]): Promise<void>;
  /** Removes the files or objects holding only entries at or before `id` (they are in segments now). */
  release(id: StreamId): Promise<void>;
  /** Releases handles; the log stays. */
  close(): Promise<void>;
  /** Removes the log entirely (the stream was dropped). */
  destroy(): Promise<void>;
}

const ID_BYTES = 12;

/** A record's payload as a list of pieces. */
function pieces(record: WalRecord): readonly Uint8Array[] {
  return record.payload instanceof Uint8Array ? [record.payload] : record.payload;
}

/** Prefixes a payload with its last ID (u64 ms as two u32 halves is not needed: ms fits a double). */
export function encodeWalRecord(record: WalRecord): Uint8Array {
  const parts = pieces(record);
  let length = ID_BYTES;
  for (const part of parts) length += part.byteLength;
  const out = Buffer.allocUnsafe(length);
  out.writeDoubleLE(record.lastId.ms, 0);
  out.writeUInt32LE(record.lastId.seq, 8);
  let offset = ID_BYTES;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.byteLength;
  }
  return out;
}

/**
 * Records framed for the log (`[length][crc32][last ID][payload]` each, as `frameRecords` of
 * `encodeWalRecord` lays them out with the same `seed`) as a list of buffers to write with one
 * vectored write: the 20 header bytes of each record are new, the payload pieces are written from
 * where they lie. `seed` is the CRC each record's CRC continues from (the log file's; 0 by default).
 */
export function framedWalParts(records: readonly WalRecord[], seed = 0): Uint8Array[] {
  const headers = Buffer.allocUnsafe(records.length * (RECORD_HEADER_BYTES + ID_BYTES));
  const out: Uint8Array[] = [];
  for (let i = 0; i < records.length; i++) {
    const record = records[i]!;
    const at = i * (RECORD_HEADER_BYTES + ID_BYTES);
    const header = headers.subarray(at, at + RECORD_HEADER_BYTES + ID_BYTES);
    header.writeDoubleLE(record.lastId.ms, RECORD_HEADER_BYTES);
    header.writeUInt32LE(record.lastId.seq, RECORD_HEADER_BYTES + 8);
    let length = ID_BYTES;
    let crc = crc32(header.subarray(RECORD_HEADER_BYTES), seed);
    const parts = pieces(record);
    for (const part of parts) {
      length += part.byteLength;
      crc = crc32(part, crc);
    }
    header.writeUInt32LE(length, 0);
    header.writeUInt32LE(crc, 4);
    out.push(header);
    for (const part of parts) if (part.byteLength > 0) out.push(part);
  }
  return out;
}

/** Splits a stored record into its last ID and payload. */
export function decodeWalRecord(bytes: Uint8Array): WalRecord {
  const view = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return { lastId: { ms: view.readDoubleLE(0), seq: view.readUInt32LE(8) }, payload: view.subarray(ID_BYTES) };
}
