/**
 * The stream requests of Hangar's Flight protocol (docs/streams.md): a DoPut descriptor with
 * `"stream": true` (and optional retention), and a DoGet ticket with `after`/`follow`/`count`.
 * Unknown fields are refused, as everywhere in the protocol.
 */
import { InvalidArgumentError } from '../../errors.js';
import { type FrameRef, frameRef } from '../../names.js';
import { parseDuration } from '../../core/retention.js';
import type { StreamRetention } from '../../core/streams/live-stream.js';
import { type TailStart, parseTailStart } from '../../core/streams/stream-tail.js';
import { DescriptorType, type FlightDescriptor } from '../../flight/flight-messages.js';
import { parseJsonObject, rejectUnknownFields } from '../dataframe-protocol.js';

/** Fields of a stream push's CMD descriptor. */
export const STREAM_PUT_FIELDS = ['name', 'bucket', 'stream', 'max_len', 'max_age'] as const;
/** Fields of a stream tail's ticket. */
export const STREAM_TICKET_FIELDS = ['name', 'bucket', 'after', 'follow', 'count', 'timeout_ms'] as const;

/** A push to a stream. */
export interface StreamPutRequest extends FrameRef {
  /** A retention to set, when the descriptor gives one. */
  readonly retention?: StreamRetention;
}

/** A tail of a stream. */
export interface StreamTailRequest extends FrameRef {
  readonly after: TailStart;
  readonly follow: boolean;
  readonly count?: number;
  readonly timeoutMs?: number;
}

/** Whether a DoPut descriptor asks for a stream push (a CMD with `"stream": true`). */
export function isStreamDescriptor(descriptor: FlightDescriptor | undefined): boolean {
  if (descriptor?.type !== DescriptorType.Cmd || !descriptor.cmd) return false;
  try {
    return parseJsonObject(descriptor.cmd, 'the descriptor command').stream === true;
  } catch {
    return false;
  }
}

/** Reads a retention: `max_len` (entries) and `max_age` (seconds, or a duration such as `7d`). */
export function parseRetention(maxLen: unknown, maxAge: unknown): StreamRetention | undefined {
  if ((maxLen === undefined || maxLen === null) && (maxAge === undefined || maxAge === null)) return undefined;
  if (maxLen !== undefined && maxLen !== null && (typeof maxLen !== 'number' || !Number.isSafeInteger(maxLen) || maxLen < 0)) {
    throw new InvalidArgumentError(`"max_len" must be a non-negative number of entries, got ${JSON.stringify(maxLen)}`);
  }
  let maxAgeMs: number | undefined;
  if (typeof maxAge === 'number' && Number.isFinite(maxAge) && maxAge > 0) maxAgeMs = Math.round(maxAge * 1000);
  else if (typeof maxAge === 'string') maxAgeMs = parseDuration(maxAge, '"max_age"');
  else if (maxAge !== undefined && maxAge !== null) throw new InvalidArgumentError(`"max_age" must be seconds or a duration such as 15m, 12h, 7d, got ${JSON.stringify(maxAge)}`);
  return { ...(typeof maxLen === 'number' ? { maxLen } : {}), ...(maxAgeMs === undefined ? {} : { maxAgeMs }) };
}

/** Parses a stream push's descriptor. @throws InvalidArgumentError */
export function parseStreamPutDescriptor(descriptor: FlightDescriptor): StreamPutRequest {
  const cmd = parseJsonObject(descriptor.cmd ?? new Uint8Array(0), 'the descriptor command');
  rejectUnknownFields(cmd, STREAM_PUT_FIELDS, 'the stream DoPut descriptor');
  const retention = parseRetention(cmd.max_len, cmd.max_age);
  return { ...frameRef(cmd.name, cmd.bucket), ...(retention ? { retention } : {}) };
}

/** Whether a ticket asks for a stream tail (it has `after`, `follow` or `count`). */
export function isStreamTicket(body: Record<string, unknown>): boolean {
  return 'after' in body || 'follow' in body || 'count' in body || 'timeout_ms' in body;
}

/** Parses a stream tail's ticket. @throws InvalidArgumentError */
export function parseStreamTicket(body: Record<string, unknown>): StreamTailRequest {
  rejectUnknownFields(body, STREAM_TICKET_FIELDS, 'the stream ticket');
  const follow = body.follow ?? false;
  if (typeof follow !== 'boolean') throw new InvalidArgumentError('"follow" must be true or false');
  const after = body.after === undefined || body.after === null ? (follow ? '$' : parseTailStart('0')) : parseTailStart(body.after);
  const count = body.count;
  if (count !== undefined && count !== null && (typeof count !== 'number' || !Number.isSafeInteger(count) || count < 1)) {
    throw new InvalidArgumentError(`"count" must be a positive number of entries, got ${JSON.stringify(count)}`);
  }
  const timeout = body.timeout_ms;
  if (timeout !== undefined && timeout !== null && (typeof timeout !== 'number' || !Number.isFinite(timeout) || timeout < 0)) {
    throw new InvalidArgumentError(`"timeout_ms" must be a non-negative number of milliseconds, got ${JSON.stringify(timeout)}`);
  }
  return {
    ...frameRef(body.name, body.bucket),
    after,
    follow,
    ...(typeof count === 'number' ? { count } : {}),
    ...(typeof timeout === 'number' ? { timeoutMs: timeout } : {}),
  };
}
