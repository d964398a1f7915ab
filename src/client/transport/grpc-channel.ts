/**
 * A gRPC client on `node:http2`, the counterpart of the server's transport (src/server/transport),
 * written from the gRPC-over-HTTP/2 specification. One HTTP/2 connection per channel, opened on the
 * first call and again after it closes; requests are written without copying their bodies, replies
 * are reassembled with at most one copy, and the windows are large enough for bulk transfers.
 */
import { type ClientHttp2Session, type ClientHttp2Stream, type IncomingHttpHeaders, connect, constants } from 'node:http2';
import { MessageDeframer, writeMessage } from '../../grpc/message-framing.js';
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

/** Per-call settings. */
export interface CallSettings {
  /** Request metadata (text values; names ending in `-bin` are sent as given). */
  readonly headers: Readonly<Record<string, string>>;
  /** Fails the call with DEADLINE_EXCEEDED after this long. */
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
const USER_AGENT = 'hangar-js (node:http2)';

/** How gRPC maps an HTTP status without a gRPC status to a code (from the gRPC specification). */
function codeOfHttpStatus(status: number): number {
  if (status === 401) return GrpcStatus.UNAUTHENTICATED;
  if (status === 403) return GrpcStatus.PERMISSION_DENIED;
  if (status === 404) return GrpcStatus.UNIMPLEMENTED;
  if (status === 429 || status === 502 || status === 503 || status === 504) return GrpcStatus.UNAVAILABLE;
  if (status === 400) return GrpcStatus.INTERNAL;
  return GrpcStatus.UNKNOWN;
}

/** A connection to one server, shared by the calls made through it. */
export class GrpcChannel {
  private current: ClientHttp2Session | undefined;
  private active = 0;

  /**
   * @param authority - `host:port` (IPv6 hosts in brackets)
   * @param tls - TLS settings; without them the channel speaks cleartext HTTP/2
   */
  constructor(
    private readonly authority: string,
    private readonly tls: ChannelTls | undefined,
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
    if (this.active === 0) session.unref();
    this.current = session;
    return session;
  }

  /** Starts a call of `path` (`/package.Service/Method`); write its request, then read its replies. */
  start(path: string, settings: CallSettings): ClientCall {
    const session = this.session();
    const stream = session.request({
      ':method': 'POST',
      ':path': path,
      'content-type': 'application/grpc',
      te: 'trailers',
      'user-agent': USER_AGENT,
      ...(settings.timeoutMs === undefined ? {} : { 'grpc-timeout': grpcTimeoutHeader(settings.timeoutMs) }),
      ...settings.headers,
    });
    // A connection with calls in flight keeps the process alive; an idle one does not.
    if (this.active++ === 0) session.ref();
    stream.once('close', () => {
      if (--this.active === 0 && !session.destroyed) session.unref();
    });
    return new ClientCall(stream, settings);
  }

  /** Closes the connection once its calls have finished. Start no calls afterwards. */
  close(): void {
    this.current?.close();
    this.current = undefined;
  }
}

/**
 * One call: its request side (`write`, `end`), its replies as an async iterator (consumed once;
 * leaving the loop early cancels the call) and its status.
 */
export class ClientCall implements AsyncIterableIterator<Buffer> {
  private readonly deframer = new MessageDeframer(MAX_MESSAGE_BYTES);
  private readonly queue: Buffer[] = [];
  private responseHeaders: CallMetadata | undefined;
  private statusFields: CallMetadata | undefined;
  private streamError: Error | undefined;
  private failure: Error | undefined;
  private succeeded = false;
  private wakeReader: (() => void) | undefined;
  /** Resolves when the call has its outcome. */
  private readonly settled: Promise<void>;
  private settle!: () => void;
  private deadline: NodeJS.Timeout | undefined;
  private readonly replies: AsyncGenerator<Buffer>;

  constructor(
    private readonly stream: ClientHttp2Stream,
    private readonly settings: CallSettings,
  ) {
    this.settled = new Promise((resolve) => (this.settle = resolve));
    stream.on('response', (headers) => this.onHeaders(headers));
    stream.on('data', (chunk: Buffer) => this.receive(chunk));
    stream.on('trailers', (trailers) => this.onStatus(trailers));
    stream.on('error', (error) => (this.streamError ??= error));
    stream.on('close', () => this.onClose());
    if (settings.timeoutMs !== undefined) {
      this.deadline = setTimeout(() => this.abandon(GrpcStatus.DEADLINE_EXCEEDED, `the call's deadline of ${settings.timeoutMs} ms passed`), settings.timeoutMs);
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
   * until sent). Waits while the server reads slower than the client writes.
   * @throws the call's error if it has failed
   */
  async write(message: Uint8Array | readonly Uint8Array[]): Promise<void> {
    if (this.failure) throw this.failure;
    const { stream } = this;
    if (stream.closed || stream.destroyed || writeMessage(stream, message)) return;
    let onDrain!: () => void;
    await Promise.race([new Promise<void>((resolve) => stream.once('drain', (onDrain = resolve))), this.settled]);
    stream.off('drain', onDrain);
    if (this.failure) throw this.failure;
  }

  /** Ends the request side. */
  end(): void {
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
          yield message;
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

  private onHeaders(headers: IncomingHttpHeaders): void {
    this.responseHeaders = new CallMetadata(headers);
    const status = Number(headers[':status']);
    if (status !== 200) {
      this.fail(new GrpcCallFailure(codeOfHttpStatus(status), `the server answered HTTP ${status}, not gRPC`, this.responseHeaders));
      return;
    }
    // A trailers-only reply: the status is in the headers.
    if (headers['grpc-status'] !== undefined) this.onStatus(headers);
  }

  private onStatus(fields: IncomingHttpHeaders): void {
    const trailers = new CallMetadata(fields);
    this.statusFields = trailers;
    const code = Number(trailers.get('grpc-status') ?? GrpcStatus.UNKNOWN);
    const message = decodeGrpcMessage(trailers.get('grpc-message') ?? '');
    if (code === GrpcStatus.OK) {
      this.succeeded = true;
      this.finish();
    } else this.fail(new GrpcCallFailure(Number.isInteger(code) ? code : GrpcStatus.UNKNOWN, message, trailers));
  }

  private onClose(): void {
    if (this.succeeded || this.failure) return;
    if (!this.responseHeaders) {
      // Never answered: the connection failed (refused, TLS, gone) or the stream was refused.
      const cause = this.streamError?.cause instanceof Error ? this.streamError.cause : this.streamError;
      this.fail(new GrpcCallFailure(GrpcStatus.UNAVAILABLE, cause?.message ?? 'the connection closed before the server answered', undefined, { cause }));
      return;
    }
    const code = this.stream.rstCode;
    const reason = code !== undefined && code !== constants.NGHTTP2_NO_ERROR ? `the server reset the call (HTTP/2 error ${code})` : 'the server ended the call without a status';
    this.fail(new GrpcCallFailure(GrpcStatus.INTERNAL, reason));
  }

  private receive(chunk: Buffer): void {
    try {
      this.deframer.push(chunk, (message) => this.queue.push(message));
    } catch (error) {
      this.abandon(GrpcStatus.RESOURCE_EXHAUSTED, (error as Error).message);
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
    clearTimeout(this.deadline);
    this.settle();
    this.wake();
  }

  private wake(): void {
    const wake = this.wakeReader;
    this.wakeReader = undefined;
    wake?.();
  }
}
