/**
 * A gRPC client on `node:http2`, the counterpart of the server's transport (src/server/transport),
 * written from the gRPC-over-HTTP/2 specification. One HTTP/2 connection per channel, opened on the
 * first call and again after it closes; requests are written without copying their bodies, replies
 * are reassembled with at most one copy, and the windows are large enough for bulk transfers.
 * Failures get the status the specification maps them to; a call the server refused unprocessed is
 * retried once on a fresh stream; optional keepalive pings find dead connections.
 * docs/grpc-transport.md lists what of the specification it meets, and where.
 */
import { type ClientHttp2Session, type ClientHttp2Stream, type IncomingHttpHeaders, connect, constants } from 'node:http2';
import { ResourceExhaustedError } from '../../errors.js';
import { type LongTimer, setLongTimeout } from '../../grpc/long-timer.js';
import { type DeframedMessage, MessageDeframer, writeMessage } from '../../grpc/message-framing.js';
import { CallMetadata, decodeGrpcMessage, grpcTimeoutHeader } from '../../grpc/metadata.js';
import { GRPC_STATUS_NAMES, GrpcStatus } from '../../grpc/status.js';

/** TLS settings of a channel (PEM contents). */
export interface ChannelTls {
  /** Root certificates the server's must chain to (default: the system's). */
  readonly ca?: Buffer;
  /** Client certificate chain, for mutual TLS. */
  readonly cert?: Buffer;
  /** Private key of {@link cert}. */
  readonly key?: Buffer;
  /** The name the server's certificate must carry (and the SNI sent), if not the host. */
  readonly servername?: string;
}

/** A call that ended with a status other than OK, or never got one. */
export class GrpcCallFailure extends Error {
  /**
   * @param code - the gRPC status code
   * @param details - the status message
   * @param trailers - the trailers (or trailers-only headers) it came with
   */
  constructor(
    readonly code: number,
    readonly details: string,
    readonly trailers?: CallMetadata,
    options?: { cause?: unknown },
  ) {
    super(`${code} ${GRPC_STATUS_NAMES[code] ?? 'UNKNOWN'}: ${details}`, options);
  }
}

/** Connection settings of a channel. */
export interface ChannelOptions {
  /**
   * Send an HTTP/2 PING this often (ms) to find a dead connection; off when absent or 0, as in gRPC
   * clients. Servers other than Hangar may answer pings more often than every 5 minutes with
   * GOAWAY(ENHANCE_YOUR_CALM), so keep it at least that long against them.
   */
  readonly keepaliveIntervalMs?: number;
  /** Close the connection when a keepalive PING is unanswered this long (ms, default 20 s). */
  readonly keepaliveTimeoutMs?: number;
}

/** Per-call settings. */
export interface CallSettings {
  /** Request metadata (text values; names ending in `-bin` are sent as given). */
  readonly headers: Readonly<Record<string, string>>;
  /** Fails the call with DEADLINE_EXCEEDED after this long (any length: days, years). */
  readonly timeoutMs?: number;
  /** Cancels the call when it aborts. */
  readonly signal?: AbortSignal;
  /** Turns a failure into the error callers see. */
  readonly mapError: (failure: GrpcCallFailure) => Error;
}

const STREAM_WINDOW_BYTES = 16 * 1024 * 1024;
const CONNECTION_WINDOW_BYTES = 64 * 1024 * 1024;
const MAX_FRAME_BYTES = 1024 * 1024;
const MAX_SESSION_MEMORY_MB = 256;
const MAX_MESSAGE_BYTES = 2 ** 31 - 1;
/** Unread reply messages past which the stream is paused, so flow control slows the server. */
const MAX_QUEUED_MESSAGES = 8;
/**
 * Request bytes a call keeps (as references, not copies) so it can be sent again on a fresh stream
 * if the server refuses it unprocessed; a call that has sent more is not retried.
 */
const RETRY_BUFFER_BYTES = 1024 * 1024;
const DEFAULT_KEEPALIVE_TIMEOUT_MS = 20_000;
const USER_AGENT = 'hangar-js (node:http2)';

/** How gRPC maps an HTTP status without a gRPC status to a code (from the gRPC specification). */
export function codeOfHttpStatus(status: number): number {
  if (status === 401) return GrpcStatus.UNAUTHENTICATED;
  if (status === 403) return GrpcStatus.PERMISSION_DENIED;
  if (status === 404) return GrpcStatus.UNIMPLEMENTED;
  if (status === 429 || status === 502 || status === 503 || status === 504) return GrpcStatus.UNAVAILABLE;
  if (status === 400) return GrpcStatus.INTERNAL;
  return GrpcStatus.UNKNOWN;
}

/**
 * The status of a stream the server reset (RST_STREAM) before sending a status, as the
 * specification's HTTP/2 transport mapping gives it. NO_ERROR, too, means the status never came.
 */
export function codeOfResetStream(rstCode: number): number {
  switch (rstCode) {
    case constants.NGHTTP2_REFUSED_STREAM:
      return GrpcStatus.UNAVAILABLE;
    case constants.NGHTTP2_CANCEL:
      return GrpcStatus.CANCELLED;
    case constants.NGHTTP2_ENHANCE_YOUR_CALM:
      return GrpcStatus.RESOURCE_EXHAUSTED;
    case constants.NGHTTP2_INADEQUATE_SECURITY:
      return GrpcStatus.PERMISSION_DENIED;
    default:
      // NO_ERROR, PROTOCOL_ERROR, INTERNAL_ERROR, FLOW_CONTROL_ERROR, SETTINGS_TIMEOUT,
      // STREAM_CLOSED, FRAME_SIZE_ERROR, COMPRESSION_ERROR, CONNECT_ERROR and unknown codes.
      return GrpcStatus.INTERNAL;
  }
}

const RST_NAMES: Readonly<Record<number, string>> = {
  0: 'NO_ERROR',
  1: 'PROTOCOL_ERROR',
  2: 'INTERNAL_ERROR',
  3: 'FLOW_CONTROL_ERROR',
  4: 'SETTINGS_TIMEOUT',
  5: 'STREAM_CLOSED',
  6: 'FRAME_SIZE_ERROR',
  7: 'REFUSED_STREAM',
  8: 'CANCEL',
  9: 'COMPRESSION_ERROR',
  10: 'CONNECT_ERROR',
  11: 'ENHANCE_YOUR_CALM',
  12: 'INADEQUATE_SECURITY',
  13: 'HTTP_1_1_REQUIRED',
};

/** The status of a reply the deframer refused: too big for us is RESOURCE_EXHAUSTED, anything malformed INTERNAL. */
function codeOfFramingError(error: unknown): number {
  return error instanceof ResourceExhaustedError ? GrpcStatus.RESOURCE_EXHAUSTED : GrpcStatus.INTERNAL;
}

/** A connection to one server, shared by the calls made through it. */
export class GrpcChannel {
  private current: ClientHttp2Session | undefined;
  private active = 0;
  private closed = false;

  /**
   * @param authority - `host:port` (IPv6 hosts in brackets)
   * @param tls - TLS settings; without them the channel speaks cleartext HTTP/2
   * @param options - keepalive
   */
  constructor(
    private readonly authority: string,
    private readonly tls: ChannelTls | undefined,
    private readonly options: ChannelOptions = {},
  ) {}

  /** The open connection, or a new one. */
  private session(): ClientHttp2Session {
    const open = this.current;
    if (open && !open.closed && !open.destroyed) return open;
    const session = connect(`${this.tls ? 'https' : 'http'}://${this.authority}`, {
      settings: { initialWindowSize: STREAM_WINDOW_BYTES, maxFrameSize: MAX_FRAME_BYTES, enablePush: false },
      maxSessionMemory: MAX_SESSION_MEMORY_MB,
      ...(this.tls
        ? {
            ALPNProtocols: ['h2'],
            ...(this.tls.ca ? { ca: this.tls.ca } : {}),
            ...(this.tls.cert ? { cert: this.tls.cert } : {}),
            ...(this.tls.key ? { key: this.tls.key } : {}),
            ...(this.tls.servername ? { servername: this.tls.servername } : {}),
          }
        : {}),
    });
    // Its calls see a failed connection as the end of their streams.
    session.on('error', () => undefined);
    session.once('connect', () => session.setLocalWindowSize(CONNECTION_WINDOW_BYTES));
    const forget = (): void => {
      if (this.current === session) this.current = undefined;
    };
    session.once('goaway', forget);
    session.once('close', forget);
    this.keepAlive(session);
    if (this.active === 0) session.unref();
    this.current = session;
    return session;
  }

  /**
   * Pings the connection every keepaliveIntervalMs, one ping at a time; one unanswered for
   * keepaliveTimeoutMs means the peer or the path is gone: the connection is destroyed (its calls
   * fail with UNAVAILABLE) and the next call opens a new one.
   */
  private keepAlive(session: ClientHttp2Session): void {
    const interval = this.options.keepaliveIntervalMs;
    if (!interval || interval <= 0) return;
    const timeoutMs = this.options.keepaliveTimeoutMs ?? DEFAULT_KEEPALIVE_TIMEOUT_MS;
    let pending: NodeJS.Timeout | undefined;
    const pinger = setInterval(() => {
      if (pending || session.connecting || session.closed || session.destroyed) return;
      const timer = setTimeout(() => {
        session.destroy(new Error(`the connection to ${this.authority} answered no keepalive ping for ${timeoutMs} ms`));
      }, timeoutMs);
      timer.unref();
      pending = timer;
      const sent = session.ping(() => {
        clearTimeout(timer);
        pending = undefined;
      });
      if (!sent) {
        clearTimeout(timer);
        pending = undefined;
      }
    }, interval);
    pinger.unref();
    session.once('close', () => {
      clearInterval(pinger);
      clearTimeout(pending);
    });
  }

  /** Starts a call of `path` (`/package.Service/Method`); write its request, then read its replies. */
  start(path: string, settings: CallSettings): ClientCall {
    const headers = {
      ':method': 'POST',
      ':path': path,
      'content-type': 'application/grpc',
      te: 'trailers',
      'user-agent': USER_AGENT,
      ...(settings.timeoutMs === undefined ? {} : { 'grpc-timeout': grpcTimeoutHeader(settings.timeoutMs) }),
      ...settings.headers,
    };
    const open = (): ClientHttp2Stream => {
      let session = this.session();
      let stream: ClientHttp2Stream;
      try {
        stream = session.request(headers);
      } catch {
        // The connection began closing since it was picked (e.g. a GOAWAY just came): use a new one.
        this.current = undefined;
        session = this.session();
        stream = session.request(headers);
      }
      // A retry after close() still runs, on a connection that closes once it is done.
      if (this.closed) {
        session.close();
        this.current = undefined;
      }
      // A connection with calls in flight keeps the process alive; an idle one does not.
      if (this.active++ === 0) session.ref();
      stream.once('close', () => {
        if (--this.active === 0 && !session.destroyed) session.unref();
      });
      return stream;
    };
    return new ClientCall(open, settings);
  }

  /** Closes the connection once its calls have finished. Start no calls afterwards. */
  close(): void {
    this.closed = true;
    this.current?.close();
    this.current = undefined;
  }
}

/**
 * One call: its request side (`write`, `end`), its replies as an async iterator (consumed once;
 * leaving the loop early cancels the call) and its status.
 */
export class ClientCall implements AsyncIterableIterator<Buffer> {
  private stream: ClientHttp2Stream;
  /** The connection of {@link stream} (a stream forgets its session once closed). */
  private session: ClientHttp2Session | undefined;
  private deframer = new MessageDeframer(MAX_MESSAGE_BYTES);
  private readonly queue: DeframedMessage[] = [];
  private responseHeaders: CallMetadata | undefined;
  private statusFields: CallMetadata | undefined;
  private streamError: Error | undefined;
  private failure: Error | undefined;
  private succeeded = false;
  private wakeReader: (() => void) | undefined;
  private wakeWriter: (() => void) | undefined;
  /** Resolves when the call has its outcome. */
  private readonly settled: Promise<void>;
  private settle!: () => void;
  private readonly deadline: LongTimer | undefined;
  private readonly replies: AsyncGenerator<Buffer>;
  /** What was written, kept for a transparent retry until the server answers or it grows too big. */
  private sent: Array<Uint8Array | readonly Uint8Array[]> | undefined = [];
  private sentBytes = 0;
  private requestEnded = false;
  private retried = false;

  /**
   * @param open - opens a stream for the call (again, for a transparent retry)
   * @param settings - the call's settings
   */
  constructor(
    private readonly open: () => ClientHttp2Stream,
    private readonly settings: CallSettings,
  ) {
    this.settled = new Promise((resolve) => (this.settle = resolve));
    this.stream = open();
    this.attach(this.stream);
    if (settings.timeoutMs !== undefined) {
      // Deadlines may lie past setTimeout's 24.8-day range.
      this.deadline = setLongTimeout(() => this.abandon(GrpcStatus.DEADLINE_EXCEEDED, `the call's deadline of ${settings.timeoutMs} ms passed`), settings.timeoutMs);
    }
    const { signal } = settings;
    if (signal) {
      if (signal.aborted) this.cancel();
      else {
        const onAbort = (): void => this.cancel();
        signal.addEventListener('abort', onAbort, { once: true });
        void this.settled.then(() => signal.removeEventListener('abort', onAbort));
      }
    }
    this.replies = this.iterate();
  }

  /** Listens to `stream`; events of a stream the call has moved off (after a retry) are ignored. */
  private attach(stream: ClientHttp2Stream): void {
    this.session = stream.session as ClientHttp2Session | undefined;
    const current = (): boolean => stream === this.stream;
    stream.on('response', (headers) => current() && this.onHeaders(headers));
    stream.on('data', (chunk: Buffer) => current() && this.receive(chunk));
    stream.on('trailers', (trailers) => current() && this.onStatus(trailers));
    stream.on('error', (error) => {
      if (current()) this.streamError ??= error;
    });
    stream.on('close', () => current() && this.onClose());
  }

  /** The error the call failed with, as soon as it failed, whether its replies were read or not. */
  get error(): Error | undefined {
    return this.failure;
  }

  /** The reply headers, once they arrived. */
  get replyHeaders(): CallMetadata | undefined {
    return this.responseHeaders;
  }

  /** The trailers, once the status arrived (for a trailers-only reply, its headers). */
  get trailers(): CallMetadata | undefined {
    return this.statusFields;
  }

  /**
   * Sends one request message, given whole or as pieces in order (not copied: they must not change
   * until the call has its reply headers, as a refused call sends them again). Waits while the
   * server reads slower than the client writes.
   * @throws the call's error if it has failed
   */
  async write(message: Uint8Array | readonly Uint8Array[]): Promise<void> {
    if (this.failure) throw this.failure;
    this.remember(message);
    const { stream } = this;
    if (stream.closed || stream.destroyed || writeMessage(stream, message)) return;
    let onDrain!: () => void;
    await Promise.race([
      new Promise<void>((resolve) => {
        stream.once('drain', (onDrain = resolve));
        this.wakeWriter = resolve;
      }),
      this.settled,
    ]);
    stream.off('drain', onDrain);
    this.wakeWriter = undefined;
    if (this.failure) throw this.failure;
  }

  /** Ends the request side. */
  end(): void {
    this.requestEnded = true;
    if (!this.stream.closed && !this.stream.destroyed) this.stream.end();
  }

  /** Cancels the call (a no-op once it has finished). */
  cancel(): void {
    this.abandon(GrpcStatus.CANCELLED, 'the call was cancelled');
  }

  /** The reply messages, then the end; throws the call's error instead of ending if it failed. */
  next(): Promise<IteratorResult<Buffer>> {
    return this.replies.next();
  }

  /** Stops reading: cancels the call unless it has finished. */
  return(): Promise<IteratorResult<Buffer>> {
    return this.replies.return(undefined);
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  private async *iterate(): AsyncGenerator<Buffer> {
    let finished = false;
    try {
      for (;;) {
        const message = this.queue.shift();
        if (message !== undefined) {
          if (this.queue.length < MAX_QUEUED_MESSAGES / 2 && this.stream.isPaused()) this.stream.resume();
          if (message instanceof Buffer) yield message;
          else {
            let inflated: Buffer;
            try {
              inflated = await message;
            } catch (error) {
              this.abandon(codeOfFramingError(error), (error as Error).message);
              throw this.failure ?? error;
            }
            yield inflated;
          }
          continue;
        }
        if (this.failure) throw this.failure;
        if (this.succeeded) {
          finished = true;
          return;
        }
        await new Promise<void>((resolve) => (this.wakeReader = resolve));
      }
    } finally {
      if (!finished && !this.failure) this.cancel();
    }
  }

  /** Keeps a written message for a retry, while the retry buffer has room. */
  private remember(message: Uint8Array | readonly Uint8Array[]): void {
    if (!this.sent) return;
    let bytes = 0;
    for (const piece of message instanceof Uint8Array ? [message] : message) bytes += piece.byteLength;
    this.sentBytes += bytes;
    if (this.sentBytes > RETRY_BUFFER_BYTES) this.sent = undefined;
    else this.sent.push(message);
  }

  private onHeaders(headers: IncomingHttpHeaders): void {
    this.responseHeaders = new CallMetadata(headers);
    // The server has the call: it can no longer be retried, and its request need not be kept.
    this.sent = undefined;
    const status = Number(headers[':status']);
    if (status !== 200) {
      this.fail(new GrpcCallFailure(codeOfHttpStatus(status), `the server answered HTTP ${status}, not gRPC`, this.responseHeaders));
      return;
    }
    const contentType = String(headers['content-type'] ?? '');
    if (!/^application\/grpc(?:[+;]|$)/.test(contentType)) {
      this.abandon(GrpcStatus.UNKNOWN, `the server answered with content-type '${contentType}', not gRPC`);
      return;
    }
    // A trailers-only reply: the status is in the headers.
    if (headers['grpc-status'] !== undefined) {
      this.onStatus(headers);
      return;
    }
    const encoding = this.responseHeaders.get('grpc-encoding');
    if (encoding !== undefined && encoding !== 'identity') {
      try {
        this.deframer = new MessageDeframer(MAX_MESSAGE_BYTES, encoding);
      } catch (error) {
        this.abandon(GrpcStatus.INTERNAL, `the server compressed its reply with '${encoding}', which this client cannot read: ${(error as Error).message}`);
      }
    }
  }

  private onStatus(fields: IncomingHttpHeaders): void {
    const trailers = new CallMetadata(fields);
    this.statusFields = trailers;
    if (this.deframer.partial) {
      this.fail(new GrpcCallFailure(GrpcStatus.INTERNAL, 'the reply ended inside a message (malformed framing)', trailers));
      return;
    }
    const code = Number(trailers.get('grpc-status') ?? GrpcStatus.UNKNOWN);
    const message = decodeGrpcMessage(trailers.get('grpc-message') ?? '');
    if (code === GrpcStatus.OK) {
      this.succeeded = true;
      this.finish();
    } else this.fail(new GrpcCallFailure(Number.isInteger(code) && code >= 0 && code <= 16 ? code : GrpcStatus.UNKNOWN, message, trailers));
  }

  private onClose(): void {
    if (this.succeeded || this.failure) return;
    const rstCode = this.stream.rstCode;
    const connectionLost = this.session === undefined || this.session.destroyed;
    if (!this.responseHeaders && this.retryable(rstCode)) {
      this.retry();
      return;
    }
    if (connectionLost) {
      // The connection failed (refused, TLS, gone) or was lost, before or after the server answered.
      const cause = this.streamError?.cause instanceof Error ? this.streamError.cause : this.streamError;
      const when = this.responseHeaders ? 'the connection to the server was lost during the call' : 'the connection to the server failed before it answered';
      this.fail(new GrpcCallFailure(GrpcStatus.UNAVAILABLE, cause?.message ? `${when}: ${cause.message}` : when, undefined, { cause }));
      return;
    }
    const code = rstCode ?? constants.NGHTTP2_NO_ERROR;
    const name = RST_NAMES[code] ?? `error code ${code}`;
    const reason =
      code === constants.NGHTTP2_NO_ERROR ? 'the server ended the call without a status' : `the server reset the call with RST_STREAM(${name})`;
    this.fail(new GrpcCallFailure(codeOfResetStream(code), reason));
  }

  /**
   * Whether the call may be sent again: once, when the server refused the stream unprocessed
   * (RST_STREAM(REFUSED_STREAM), also what a GOAWAY whose last stream id is below ours becomes)
   * and its request is still at hand.
   */
  private retryable(rstCode: number | undefined): boolean {
    if (this.retried || !this.sent || this.settings.signal?.aborted) return false;
    return rstCode === constants.NGHTTP2_REFUSED_STREAM;
  }

  private retry(): void {
    this.retried = true;
    const sent = this.sent ?? [];
    this.streamError = undefined;
    this.stream = this.open();
    this.attach(this.stream);
    for (const message of sent) writeMessage(this.stream, message);
    if (this.requestEnded) this.stream.end();
    // A writer waiting for the old stream to drain goes on with the new one.
    const wake = this.wakeWriter;
    this.wakeWriter = undefined;
    wake?.();
  }

  private receive(chunk: Buffer): void {
    try {
      this.deframer.push(chunk, (message) => this.queue.push(message));
    } catch (error) {
      this.abandon(codeOfFramingError(error), (error as Error).message);
      return;
    }
    if (this.queue.length >= MAX_QUEUED_MESSAGES) this.stream.pause();
    this.wake();
  }

  /** Fails the call locally and resets its stream. */
  private abandon(code: number, message: string): void {
    if (this.succeeded || this.failure) return;
    this.fail(new GrpcCallFailure(code, message));
    if (!this.stream.closed) this.stream.close(constants.NGHTTP2_CANCEL);
  }

  private fail(failure: GrpcCallFailure): void {
    if (this.succeeded || this.failure) return;
    this.failure = this.settings.mapError(failure);
    this.finish();
  }

  private finish(): void {
    this.deadline?.clear();
    this.sent = undefined;
    this.settle();
    this.wake();
  }

  private wake(): void {
    const wake = this.wakeReader;
    this.wakeReader = undefined;
    wake?.();
  }
}
