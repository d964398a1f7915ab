/**
 * The contract of a stream's write-ahead log, whatever holds it (a local file, an object store):
 * records appended in order and durable when `append` resolves, replayed at open, released once
 * rolled into segments. Each record carries the newest entry ID it holds, so the log can tell which
 * of its files or objects a roll has made redundant.
 */
import type { StreamId } from './stream-id.js';

/** One record of the log. */
export interface WalRecord {
  /** The newest entry ID in the record. */
  readonly lastId: StreamId;
  /** The record's bytes (the stream's encoded entries). */
  readonly payload: Uint8Array;
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

/** Prefixes a payload with its last ID (u64 ms as two u32 halves is not needed: ms fits a double). */
export function encodeWalRecord(record: WalRecord): Uint8Array {
  const out = Buffer.allocUnsafe(ID_BYTES + record.payload.byteLength);
  out.writeDoubleLE(record.lastId.ms, 0);
  out.writeUInt32LE(record.lastId.seq, 8);
  out.set(record.payload, ID_BYTES);
  return out;
}

/** Splits a stored record into its last ID and payload. */
export function decodeWalRecord(bytes: Uint8Array): WalRecord {
  const view = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return { lastId: { ms: view.readDoubleLE(0), seq: view.readUInt32LE(8) }, payload: view.subarray(ID_BYTES) };
}
