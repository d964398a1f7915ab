/**
 * One gRPC call on an HTTP/2 stream, as a handler sees it: the request's metadata and messages
 * (with backpressure: the stream is paused while unread messages pile up, so HTTP/2 flow control
 * holds the client back), replies written without copying, and an end with a status in trailers.
 */
import { constants, type ServerHttp2Stream } from 'node:http2';
import { CancelledError, InvalidArgumentError } from '../../errors.js';
import { CallMetadata, encodeGrpcMessage, metadataHeaders } from '../../grpc/metadata.js';
import { GrpcStatus, type CallStatus, type OutgoingMetadata } from '../../grpc/status.js';
import { ACCEPTED_ENCODINGS, type DeframedMessage, MessageDeframer, type MessagePlacement, writeMessage } from '../../grpc/message-framing.js';

/** Unread request messages past which the stream is paused. */
const MAX_QUEUED_MESSAGES = 4;

/**
 * Reply bytes a call may have written and not yet sent (held back by the client's flow-control
 * window, or waiting for the socket) before {@link ServerCall.write} waits for them to drain: about
 * four 64Ki-row batches of a get, so a get hands the stream several messages at once instead of
 * waiting for each to leave; a client that reads slower than the server writes still holds the
 * server back past this much. What waits are often views of what the server holds anyway (cached
 * decoded segments), but not always (a cache miss, a SQL result), so at most {@link CALLS_AHEAD_MAX}
 * calls run ahead at once. 16 MiB saved no more server CPU than 8 and cost the pyarrow client more (it buffers
 * what arrives ahead of its reads); docs/design/performance-log.md.
 */
export const WRITE_BUDGET_BYTES = 8 * 1024 * 1024;

/**
 * Calls that may run ahead of their clients at once, each by up to {@link WRITE_BUDGET_BYTES}: the
 * server-wide bound (64 MiB) on reply bytes written and not yet sent beyond one message per call,
 * whatever the number of slow clients. Any other call waits for each message to leave, as every
 * call did before the budget.
 */
export const CALLS_AHEAD_MAX = 8;

/** Calls now running ahead of their clients (see {@link CALLS_AHEAD_MAX}). */
let callsAhead = 0;

const RESPONSE_HEADERS = {
  ':status': 200,
  'content-type': 'application/grpc',
  'grpc-accept-encoding': ACCEPTED_ENCODINGS.join(','),
};

/** A call in progress. Handlers read, write and return; the server ends the call from their outcome. */
export class ServerCall {
  /** The request's metadata. */
  readonly metadata: CallMetadata;
  private readonly aborter = new AbortController();
  private readonly deframer: MessageDeframer | undefined;
  private readonly queue: DeframedMessage[] = [];
  private readError: unknown;
  private requestEnded = false;
  /** Holds one of the {@link CALLS_AHEAD_MAX} places (see runAhead). */
  private ahead = false;
  private wakeReader: (() => void) | undefined;
  private headersSent = false;
  private finished = false;
  private statusTrailers: Record<string, string> | undefined;
  private extraTrailers: OutgoingMetadata | undefined;

  /**
   * @param stream - the call's HTTP/2 stream
   * @param metadata - its request metadata
   * @param maxMessageBytes - longest request message accepted
   */
  constructor(
    private readonly stream: ServerHttp2Stream,
    metadata: CallMetadata,
    maxMessageBytes: number,
  ) {
    this.metadata = metadata;
    try {
      this.deframer = new MessageDeframer(maxMessageBytes, metadata.get('grpc-encoding') ?? 'identity');
    } catch (error) {
      this.readError = error;
    }
    stream.on('data', (chunk: Buffer) => this.receive(chunk));
    stream.on('end', () => {
      if (this.deframer?.partial) this.readError ??= new InvalidArgumentError('the request ended inside a message');
      this.requestEnded = true;
      this.wake();
    });
    stream.on('wantTrailers', () => {
      stream.sendTrailers(this.statusTrailers ?? { 'grpc-status': String(GrpcStatus.OK) });
      this.closeRequestSide();
    });
    // A stream closed before the call ended was reset by the client, or its connection went away.
    // One closed before the request ended leaves nothing more to read either way.
    stream.on('close', () => {
      if (!this.finished) this.abort(new CancelledError('the client cancelled the call'));
      if (!this.requestEnded) {
        this.readError ??= new CancelledError('the call ended before its request did');
        this.wake();
      }
    });
    stream.on('error', () => undefined);
  }

  /** Aborts when the client cancels, disconnects or the deadline passes; pass it to long work. */
  get signal(): AbortSignal {
    return this.aborter.signal;
  }

  /**
   * Places the large request messages reassembled from here on so that a part of each lands 8-byte
   * aligned in a buffer of its own (see MessagePlacement): DoPut's IPC bodies, which the codec
   * worker can then read where they lie.
   */
  placeMessages(placement: MessagePlacement): void {
    if (this.deframer) this.deframer.placement = placement;
  }

  /** Whether the call was cancelled (by the client, a deadline or the server shutting down). */
  get cancelled(): boolean {
    return this.aborter.signal.aborted;
  }

  /**
   * The request's messages, until the client half-closes.
   * @throws CancelledError if the call is cancelled first (so a cut-off stream never looks complete)
   */
  async *messages(): AsyncGenerator<Buffer, void, undefined> {
    for (;;) {
      const message = this.queue.shift();
      if (message !== undefined) {
        if (this.queue.length < MAX_QUEUED_MESSAGES && this.stream.isPaused() && this.readError === undefined) this.stream.resume();
        // A compressed message is still inflating (off the event loop); its place in line is kept.
        yield message instanceof Buffer ? message : await message;
        continue;
      }
      if (this.readError !== undefined) throw this.readError;
      if (this.cancelled) throw this.aborter.signal.reason as Error;
      if (this.requestEnded) return;
      await new Promise<void>((resolve) => (this.wakeReader = resolve));
    }
  }

  /**
   * The one request message of a unary or server-streaming call.
   * @throws InvalidArgumentError unless exactly one message came
   */
  async request(): Promise<Buffer> {
    const messages = this.messages();
    const first = await messages.next();
    if (first.done) throw new InvalidArgumentError('the call carries no request message');
    if (!(await messages.next()).done) throw new InvalidArgumentError('this call takes exactly one request message');
    return first.value;
  }

  /** Sends the response headers with `metadata`, once; writing a message sends them too. */
  sendHeaders(metadata?: OutgoingMetadata): void {
    if (this.headersSent || this.finished || this.stream.closed) return;
    this.headersSent = true;
    this.stream.respond({ ...RESPONSE_HEADERS, ...metadataHeaders(metadata) }, { waitForTrailers: true });
  }

  /**
   * Writes one message, given whole or as pieces in order, without copying it: the pieces must not
   * change until the call ends. Returns at once while less than {@link WRITE_BUDGET_BYTES} wait to
   * be sent and the call holds one of the {@link CALLS_AHEAD_MAX} places; otherwise waits until they
   * have gone (the client reads slower than the server writes).
   * (Corking a burst of writes into one saved a little more server CPU, but the pyarrow client spent
   * 3-5 ms more per 44 MB get on the larger bursts and the get's wall time was no better:
   * docs/design/performance-log.md.)
   * @throws CancelledError if the call was cancelled
   */
  async write(message: Uint8Array | readonly Uint8Array[]): Promise<void> {
    if (this.cancelled || this.finished) throw new CancelledError('the call has ended; nothing more can be sent');
    this.sendHeaders();
    const { stream } = this;
    if (writeMessage(stream, message) || (stream.writableLength < WRITE_BUDGET_BYTES && this.runAhead())) return;
    // A stream reset meanwhile never drains, and has already said 'close'.
    if (stream.closed || stream.destroyed) throw new CancelledError('the client cancelled the call');
    await new Promise<void>((resolve, reject) => {
      const onDrain = (): void => {
        cleanup();
        resolve();
      };
      const onClose = (): void => {
        cleanup();
        reject(new CancelledError('the client cancelled the call'));
      };
      const cleanup = (): void => {
        stream.off('drain', onDrain);
        stream.off('close', onClose);
      };
      stream.on('drain', onDrain);
      stream.on('close', onClose);
    });
  }

  /**
   * Whether this call may go on writing while its earlier messages wait to be sent: it holds one of
   * the {@link CALLS_AHEAD_MAX} places until its stream has drained or closed.
   */
  private runAhead(): boolean {
    if (this.ahead) return true;
    if (callsAhead >= CALLS_AHEAD_MAX) return false;
    this.ahead = true;
    callsAhead++;
    const { stream } = this;
    const release = (): void => {
      stream.off('drain', release);
      stream.off('close', release);
      if (!this.ahead) return;
      this.ahead = false;
      callsAhead--;
    };
    stream.on('drain', release);
    stream.on('close', release);
    return true;
  }

  /** Adds trailers to send with the status, whatever it will be. */
  setTrailers(metadata: OutgoingMetadata): void {
    this.extraTrailers = { ...this.extraTrailers, ...metadata };
  }

  /**
   * Ends the call with `status`: after the messages written, in trailers; with none written, in
   * the headers alone (a trailers-only response). Later calls do nothing.
   */
  finish(status: CallStatus): void {
    if (this.finished) return;
    this.finished = true;
    if (this.stream.closed || this.stream.destroyed) return;
    const trailers: Record<string, string> = {
      'grpc-status': String(status.code),
      ...(status.message ? { 'grpc-message': encodeGrpcMessage(status.message) } : {}),
      ...(metadataHeaders({ ...this.extraTrailers, ...status.trailers }) as Record<string, string>),
    };
    if (!this.headersSent) {
      this.headersSent = true;
      this.stream.respond({ ...RESPONSE_HEADERS, ...trailers }, { endStream: true });
      this.closeRequestSide();
      return;
    }
    this.statusTrailers = trailers;
    this.stream.end();
  }

  /**
   * Ends the call as cancelled: with DEADLINE_EXCEEDED (or the status given) to the client if it
   * is still there, and the signal aborted so the handler stops.
   */
  cancel(status: CallStatus, reason: Error): void {
    this.finish(status);
    this.abort(reason);
  }

  private abort(reason: Error): void {
    if (this.cancelled) return;
    this.aborter.abort(reason);
    this.wake();
  }

  private receive(chunk: Buffer): void {
    if (this.readError !== undefined || this.finished || !this.deframer) return;
    try {
      this.deframer.push(chunk, (message) => this.queue.push(message));
    } catch (error) {
      this.readError = error;
    }
    if (this.queue.length >= MAX_QUEUED_MESSAGES || this.readError !== undefined) this.stream.pause();
    this.wake();
  }

  private wake(): void {
    const wake = this.wakeReader;
    this.wakeReader = undefined;
    wake?.();
  }

  /**
   * After the status went out while the client was still sending, tells it to stop with
   * RST_STREAM(NO_ERROR), as gRPC servers do, instead of reading the rest for nothing.
   */
  private closeRequestSide(): void {
    // What still arrives is dropped; a paused stream would never end, and so never be freed.
    this.queue.length = 0;
    this.stream.resume();
    if (this.requestEnded) return;
    setImmediate(() => {
      if (!this.stream.closed) this.stream.close(constants.NGHTTP2_NO_ERROR);
    });
  }
}
