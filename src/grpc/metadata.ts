/**
 * gRPC metadata on HTTP/2 headers: reading received metadata (binary values arrive base64-encoded
 * under names ending in `-bin`), writing metadata to send, the `grpc-timeout` header and
 * `grpc-message`'s percent-encoding. All from the gRPC-over-HTTP/2 specification.
 */
import type { IncomingHttpHeaders, OutgoingHttpHeaders } from 'node:http2';
import { InvalidArgumentError } from '../errors.js';
import type { OutgoingMetadata } from './status.js';

/** Received metadata (a request's, or a reply's headers or trailers), read the way gRPC defines them. */
export class CallMetadata {
  /** @param headers - HTTP/2 headers as node:http2 gives them (names lower-case) */
  constructor(private readonly headers: IncomingHttpHeaders) {}

  /** The first value of a text header, or undefined. */
  get(name: string): string | undefined {
    const value = this.headers[name];
    return Array.isArray(value) ? value[0] : value;
  }

  /**
   * The bytes of a binary (`-bin`) header, or undefined: its first value when it was sent more
   * than once (see {@link getBinaryValues}).
   */
  getBinary(name: string): Buffer | undefined {
    return this.getBinaryValues(name)[0];
  }

  /**
   * Every value of a binary (`-bin`) header, decoded. The specification lets a sender join repeated
   * values into one header with commas (`a, b`), so each value is split out before base64 decoding;
   * padded and unpadded base64 are both accepted.
   */
  getBinaryValues(name: string): Buffer[] {
    const value = this.headers[name];
    if (value === undefined) return [];
    const joined = Array.isArray(value) ? value : [value];
    return joined.flatMap((line) => line.split(',')).map((part) => Buffer.from(part.trim(), 'base64'));
  }
}

/** Metadata as HTTP/2 headers: bytes go as unpadded base64, as the specification asks senders to. */
export function metadataHeaders(metadata: OutgoingMetadata | undefined): OutgoingHttpHeaders {
  const headers: OutgoingHttpHeaders = {};
  if (!metadata) return headers;
  for (const [name, value] of Object.entries(metadata)) {
    headers[name] = typeof value === 'string' ? value : Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('base64').replace(/=+$/, '');
  }
  return headers;
}

const TIMEOUT_UNITS_MS: Readonly<Record<string, number>> = { H: 3_600_000, M: 60_000, S: 1000, m: 1, u: 1e-3, n: 1e-6 };
/** The specification's TimeoutValue is at most 8 ASCII digits. */
const MAX_TIMEOUT_VALUE = 99_999_999;

/**
 * The deadline a `grpc-timeout` header sets, in milliseconds from now, or undefined when the header
 * is absent. The specification's form only: 1 to 8 ASCII digits, then one unit of H (hours),
 * M (minutes), S (seconds), m (milliseconds), u (microseconds), n (nanoseconds). The result may
 * lie beyond setTimeout's 24.8-day range (up to 99,999,999 hours); wait it out with setLongTimeout.
 * @throws InvalidArgumentError for any other value (signs, spaces, a 9th digit, no or another unit)
 */
export function parseGrpcTimeout(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const match = /^([0-9]{1,8})([HMSmun])$/.exec(value);
  if (!match) {
    const shown = value.length > 40 ? `${value.slice(0, 40)}…` : value;
    throw new InvalidArgumentError(`malformed grpc-timeout '${shown}': expected 1 to 8 ASCII digits and one unit of H, M, S, m, u, n (e.g. 30S)`);
  }
  return Number(match[1]) * TIMEOUT_UNITS_MS[match[2]!]!;
}

/**
 * The `grpc-timeout` value for a deadline `ms` from now: whole milliseconds (at least 1) while
 * they fit in the 8 digits allowed, else the finest of seconds, minutes or hours that fits,
 * rounded up so the server never ends the call before the client would.
 */
export function grpcTimeoutHeader(ms: number): string {
  const millis = Math.max(1, Math.ceil(ms));
  if (millis <= MAX_TIMEOUT_VALUE) return `${millis}m`;
  for (const unit of ['S', 'M', 'H'] as const) {
    const value = Math.ceil(millis / TIMEOUT_UNITS_MS[unit]!);
    if (value <= MAX_TIMEOUT_VALUE) return `${value}${unit}`;
  }
  return `${MAX_TIMEOUT_VALUE}H`;
}

/**
 * `grpc-message`'s encoding: printable ASCII except `%` as is, every other UTF-8 byte as `%XX`.
 */
export function encodeGrpcMessage(message: string): string {
  let out = '';
  for (const byte of Buffer.from(message, 'utf8')) {
    out += byte >= 0x20 && byte <= 0x7e && byte !== 0x25 ? String.fromCharCode(byte) : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

/** Decodes `grpc-message`; malformed escapes are kept as they are. */
export function decodeGrpcMessage(value: string): string {
  try {
    return decodeURIComponent(value);
  } catch {
    return value;
  }
}
