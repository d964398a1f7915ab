/**
 * gRPC metadata on HTTP/2 headers: reading received metadata (binary values arrive base64-encoded
 * under names ending in `-bin`), writing metadata to send, the `grpc-timeout` header and
 * `grpc-message`'s percent-encoding. All from the gRPC-over-HTTP/2 specification.
 */
import type { IncomingHttpHeaders, OutgoingHttpHeaders } from 'node:http2';
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

  /** The bytes of a binary (`-bin`) header, or undefined. Padded and unpadded base64 are both accepted. */
  getBinary(name: string): Buffer | undefined {
    const value = this.get(name);
    return value === undefined ? undefined : Buffer.from(value, 'base64');
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

/**
 * The deadline a `grpc-timeout` header sets, in milliseconds from now: up to 8 digits and a unit
 * (H, M, S, m, u, n). Undefined when absent; a malformed value is ignored as gRPC servers do.
 */
export function parseGrpcTimeout(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const match = /^(\d{1,8})([HMSmun])$/.exec(value);
  if (!match) return undefined;
  return Number(match[1]) * TIMEOUT_UNITS_MS[match[2]!]!;
}

/** The `grpc-timeout` value for a deadline `ms` from now (whole milliseconds, at least 1). */
export function grpcTimeoutHeader(ms: number): string {
  return `${Math.min(99_999_999, Math.max(1, Math.ceil(ms)))}m`;
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
