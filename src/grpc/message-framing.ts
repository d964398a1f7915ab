/**
 * gRPC's message framing: each message is preceded by a 5-byte prefix, a compressed flag and its
 * length (big-endian uint32). The deframer reassembles messages from HTTP/2 DATA chunks, copying
 * only messages that span chunks, refuses lengths over the receiver's limit before buffering,
 * reserves memory only as a message's bytes arrive, and inflates compressed messages off the
 * event loop.
 * Shared by Hangar's server and client transports.
 */
import type { Writable } from 'node:stream';
import { gunzip, inflate as inflate_ } from 'node:zlib';
import { InvalidArgumentError, ResourceExhaustedError, UnimplementedError } from '../errors.js';
import { takePooledBuffer } from '../format/buffer-pool.js';

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

/**
 * A message out of the deframer: its bytes, or for a compressed message the promise of them (it is
 * inflated off the event loop). Consumers queue these in arrival order and await each in turn, so
 * messages keep their order whatever their compression.
 */
export type DeframedMessage = Buffer | Promise<Buffer>;

/**
 * Output chunk of asynchronous inflation: larger than zlib's 16 KiB default so a big message
 * takes fewer callbacks on the event loop.
 */
const INFLATE_CHUNK_BYTES = 256 * 1024;

/**
 * Where a reassembled message should lie: given its first bytes (at least the first half of it, up
 * to {@link PLACEMENT_LEAD_BYTES}), the number of bytes (0-7) to leave before it in its buffer, so
 * that a part of it lands 8-byte aligned (a FlightData's IPC body, which Arrow then reads in
 * place). Return 0 when unsure.
 */
export type MessagePlacement = (lead: Uint8Array) => number;

/** How many of a message's first bytes a {@link MessagePlacement} is shown at most. */
export const PLACEMENT_LEAD_BYTES = 64 * 1024;

/** Messages at least this long are placed in a buffer of their own (smaller ones come from Node's pool). */
const OWN_BUFFER_BYTES = 64 * 1024;

/** ArrayBuffers the deframer allocated to hold exactly one message (and its placement's padding). */
const ownBuffers = new WeakSet<ArrayBuffer>();

/**
 * Whether `message` (or a view into it) lies in an ArrayBuffer the deframer allocated for that one
 * message alone: its consumer may then give the whole buffer away (transfer it to a worker).
 */
export function holdsBufferAlone(message: Uint8Array): boolean {
  return message.buffer instanceof ArrayBuffer && ownBuffers.has(message.buffer);
}

/** Splits a request body into messages. */
export class MessageDeframer {
  /** Where reassembled messages should lie in their buffers (see {@link MessagePlacement}); unset: at offset 0. */
  placement: MessagePlacement | undefined;
  private readonly prefix = Buffer.alloc(PREFIX_LENGTH);
  private prefixFilled = 0;
  private compressed = false;
  /** The announced length of the message being reassembled. */
  private length = 0;
  /**
   * Its bytes so far, while fewer than half have come: views of the received chunks, not copies.
   * The length prefix is untrusted, so nothing is reserved for it until the bytes show it is real.
   */
  private pieces: Buffer[] = [];
  /** Its buffer, allocated once at least half of it has arrived; the rest is copied in as it comes. */
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

  /** Bytes held for the message being reassembled (for tests and diagnostics). */
  get bufferedBytes(): number {
    return this.message ? this.message.byteLength : this.messageFilled;
  }

  /**
   * Feeds one chunk; calls `onMessage` for each message it completes, in order. A message that lies
   * whole inside the chunk is handed out as a view of it, without copying. A compressed message is
   * handed out as a promise, which rejects with ResourceExhaustedError past the limit once
   * inflated, or InvalidArgumentError if it does not inflate.
   * @throws ResourceExhaustedError for a message over the limit, InvalidArgumentError for a bad flag
   */
  push(chunk: Buffer, onMessage: (message: DeframedMessage) => void): void {
    let at = 0;
    while (at < chunk.byteLength) {
      if (this.prefixFilled < PREFIX_LENGTH) {
        // The common case, a whole message inside the chunk, needs no copy at all.
        if (this.prefixFilled === 0 && chunk.byteLength - at >= PREFIX_LENGTH) {
          const length = this.begin(chunk[at]!, chunk.readUInt32BE(at + 1));
          at += PREFIX_LENGTH;
          if (chunk.byteLength - at >= length) {
            this.prefixFilled = 0;
            onMessage(this.decompress(chunk.subarray(at, at + length)));
            at += length;
            continue;
          }
          this.prefixFilled = PREFIX_LENGTH;
          continue;
        }
        const take = Math.min(PREFIX_LENGTH - this.prefixFilled, chunk.byteLength - at);
        chunk.copy(this.prefix, this.prefixFilled, at, at + take);
        this.prefixFilled += take;
        at += take;
        if (this.prefixFilled < PREFIX_LENGTH) return;
        this.begin(this.prefix[0]!, this.prefix.readUInt32BE(1));
        if (this.length === 0) {
          this.prefixFilled = 0;
          onMessage(this.decompress(Buffer.alloc(0)));
        }
        continue;
      }
      const take = Math.min(this.length - this.messageFilled, chunk.byteLength - at);
      this.take(chunk.subarray(at, at + take));
      at += take;
      if (this.messageFilled === this.length) {
        const message = this.message ?? (this.pieces.length === 1 ? this.pieces[0]! : this.gatherPieces());
        this.prefixFilled = 0;
        this.message = undefined;
        this.pieces = [];
        onMessage(this.decompress(message));
      }
    }
  }

  /** Keeps `piece` of the current message: as a view until half has come, then copied into its buffer. */
  private take(piece: Buffer): void {
    if (this.message) {
      piece.copy(this.message, this.messageFilled);
      this.messageFilled += piece.byteLength;
      return;
    }
    this.pieces.push(piece);
    this.messageFilled += piece.byteLength;
    // At most twice what has actually arrived is ever reserved; a message whose bytes have all come
    // is joined by the caller in one copy.
    if (this.messageFilled * 2 >= this.length && this.messageFilled < this.length) this.message = this.gatherPieces();
  }

  /** The message's buffer with the pieces held so far copied to its start; no piece is held after. */
  private gatherPieces(): Buffer {
    const message = this.allocate();
    let offset = 0;
    for (const held of this.pieces) offset += held.copy(message, offset);
    this.pieces = [];
    return message;
  }

  /**
   * A buffer for the current message, from the pieces held so far: a large one gets an ArrayBuffer
   * of its own, placed where {@link placement} asks (the placement sees the first bytes held).
   */
  private allocate(): Buffer {
    if (this.length < OWN_BUFFER_BYTES) return Buffer.allocUnsafe(this.length);
    let pad = 0;
    if (this.placement) {
      const first = this.pieces[0]!;
      const lead = first.byteLength >= Math.min(this.messageFilled, PLACEMENT_LEAD_BYTES)
        ? first
        : Buffer.concat(this.pieces, Math.min(this.messageFilled, PLACEMENT_LEAD_BYTES));
      pad = this.placement(lead.subarray(0, PLACEMENT_LEAD_BYTES));
      if (!Number.isInteger(pad) || pad < 0 || pad > 7) pad = 0;
    }
    // Not zero-filled: every byte of the message is copied in; the padding is never read. A buffer
    // an earlier put's segment gave back is reused (fresh memory costs page faults and collections).
    const buffer = takePooledBuffer(this.length + pad) ?? Buffer.allocUnsafeSlow(this.length + pad).buffer;
    ownBuffers.add(buffer);
    return Buffer.from(buffer, pad, this.length);
  }

  /** Checks a prefix's flag and length and starts the message. */
  private begin(flag: number, length: number): number {
    if (flag > 1) throw new InvalidArgumentError(`malformed gRPC message prefix (flag ${flag}); is this a gRPC peer?`);
    if (flag === 1 && this.encoding === 'identity') throw new InvalidArgumentError('a message is marked compressed but the call names no grpc-encoding');
    if (length > this.maxMessageBytes) {
      throw new ResourceExhaustedError(`a message of ${length} bytes exceeds the limit of ${this.maxMessageBytes} bytes; send smaller record batches`);
    }
    this.compressed = flag === 1;
    this.length = length;
    this.messageFilled = 0;
    return length;
  }

  private decompress(message: Buffer): DeframedMessage {
    if (!this.compressed) return message;
    const options = { maxOutputLength: Math.max(1, this.maxMessageBytes), chunkSize: INFLATE_CHUNK_BYTES };
    const inflate = this.encoding === 'gzip' ? gunzip : inflate_;
    const { encoding, maxMessageBytes } = this;
    const inflated = new Promise<Buffer>((resolve, reject) => {
      inflate(message, options, (error, result) => {
        if (!error) {
          resolve(result);
          return;
        }
        if ((error as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE') {
          reject(new ResourceExhaustedError(`a decompressed message exceeds the limit of ${maxMessageBytes} bytes`));
        } else reject(new InvalidArgumentError(`a ${encoding} message does not decompress: ${error.message}`));
      });
    });
    // Its consumer may drop it unread (a call that ended); that must not be an unhandled rejection.
    inflated.catch(() => undefined);
    return inflated;
  }
}
