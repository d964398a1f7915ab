/**
 * gRPC's message framing: each message is preceded by a 5-byte prefix, a compressed flag and its
 * length (big-endian uint32). The deframer reassembles messages from HTTP/2 DATA chunks, copying
 * only messages that span chunks, and refuses lengths over the receiver's limit before buffering.
 * Shared by Hangar's server and client transports.
 */
import type { Writable } from 'node:stream';
import { gunzipSync, inflateSync } from 'node:zlib';
import { InvalidArgumentError, ResourceExhaustedError, UnimplementedError } from '../core/errors.js';

/** Length of gRPC's message prefix. */
export const PREFIX_LENGTH = 5;

/** Writes the prefix of an uncompressed message of `length` bytes at `offset` of `out`. */
export function writeMessagePrefix(out: Uint8Array, offset: number, length: number): void {
  out[offset] = 0;
  out[offset + 1] = length >>> 24;
  out[offset + 2] = (length >>> 16) & 0xff;
  out[offset + 3] = (length >>> 8) & 0xff;
  out[offset + 4] = length & 0xff;
}

/**
 * Writes one uncompressed message, given whole or as pieces in order, to an HTTP/2 stream: its
 * prefix, then the pieces as they lie (corked, so they leave in one `writev`).
 * @returns false when the stream's buffer is full (wait for 'drain')
 */
export function writeMessage(stream: Writable, message: Uint8Array | readonly Uint8Array[]): boolean {
  const pieces = message instanceof Uint8Array ? [message] : message;
  let length = 0;
  for (const piece of pieces) length += piece.byteLength;
  const prefix = Buffer.allocUnsafe(PREFIX_LENGTH);
  writeMessagePrefix(prefix, 0, length);
  stream.cork();
  let flowing = stream.write(prefix);
  for (const piece of pieces) flowing = stream.write(piece);
  stream.uncork();
  return flowing;
}

/** The message encodings (`grpc-encoding`) the deframer can decompress. */
export const ACCEPTED_ENCODINGS = ['identity', 'gzip', 'deflate'] as const;

/** Splits a request body into messages. */
export class MessageDeframer {
  private readonly prefix = Buffer.alloc(PREFIX_LENGTH);
  private prefixFilled = 0;
  private compressed = false;
  private message: Buffer | undefined;
  private messageFilled = 0;

  /**
   * @param maxMessageBytes - longest message accepted (after decompression too)
   * @param encoding - the request's `grpc-encoding` (default identity)
   */
  constructor(
    private readonly maxMessageBytes: number,
    private readonly encoding = 'identity',
  ) {
    if (!(ACCEPTED_ENCODINGS as readonly string[]).includes(encoding)) {
      throw new UnimplementedError(`messages encoded with '${encoding}' are not supported; send ${ACCEPTED_ENCODINGS.join(', ')}`);
    }
  }

  /** Whether a message has begun and not ended (the body must not end here). */
  get partial(): boolean {
    return this.prefixFilled > 0;
  }

  /**
   * Feeds one chunk; calls `onMessage` for each message it completes.
   * @throws ResourceExhaustedError for a message over the limit, InvalidArgumentError for a bad flag
   */
  push(chunk: Buffer, onMessage: (message: Buffer) => void): void {
    let at = 0;
    while (at < chunk.byteLength) {
      if (this.prefixFilled < PREFIX_LENGTH) {
        // The common case, a whole message inside the chunk, needs no copy at all.
        if (this.prefixFilled === 0 && chunk.byteLength - at >= PREFIX_LENGTH) {
          const length = this.begin(chunk[at]!, chunk.readUInt32BE(at + 1));
          at += PREFIX_LENGTH;
          if (chunk.byteLength - at >= length) {
            this.reset();
            onMessage(this.decompress(chunk.subarray(at, at + length)));
            at += length;
            continue;
          }
          this.prefixFilled = PREFIX_LENGTH;
          this.message = Buffer.allocUnsafe(length);
          continue;
        }
        const take = Math.min(PREFIX_LENGTH - this.prefixFilled, chunk.byteLength - at);
        chunk.copy(this.prefix, this.prefixFilled, at, at + take);
        this.prefixFilled += take;
        at += take;
        if (this.prefixFilled < PREFIX_LENGTH) return;
        this.message = Buffer.allocUnsafe(this.begin(this.prefix[0]!, this.prefix.readUInt32BE(1)));
      }
      const message = this.message!;
      const take = Math.min(message.byteLength - this.messageFilled, chunk.byteLength - at);
      chunk.copy(message, this.messageFilled, at, at + take);
      this.messageFilled += take;
      at += take;
      if (this.messageFilled === message.byteLength) {
        this.reset();
        onMessage(this.decompress(message));
      }
    }
  }

  /** Checks a prefix's flag and length; returns the length. */
  private begin(flag: number, length: number): number {
    if (flag > 1) throw new InvalidArgumentError(`malformed gRPC message prefix (flag ${flag}); is this a gRPC client?`);
    if (flag === 1 && this.encoding === 'identity') throw new InvalidArgumentError('a message is marked compressed but the request names no grpc-encoding');
    if (length > this.maxMessageBytes) {
      throw new ResourceExhaustedError(`a message of ${length} bytes exceeds the limit of ${this.maxMessageBytes} bytes; send smaller record batches`);
    }
    this.compressed = flag === 1;
    this.messageFilled = 0;
    return length;
  }

  private reset(): void {
    this.prefixFilled = 0;
    this.message = undefined;
  }

  private decompress(message: Buffer): Buffer {
    if (!this.compressed) return message;
    const options = { maxOutputLength: Math.max(1, this.maxMessageBytes) };
    try {
      return this.encoding === 'gzip' ? gunzipSync(message, options) : inflateSync(message, options);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'ERR_BUFFER_TOO_LARGE') throw new ResourceExhaustedError(`a decompressed message exceeds the limit of ${this.maxMessageBytes} bytes`);
      throw new InvalidArgumentError(`a ${this.encoding} message does not decompress: ${(error as Error).message}`);
    }
  }
}
