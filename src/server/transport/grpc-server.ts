/**
 * A gRPC server on `node:http2`, written from the gRPC-over-HTTP/2 specification. Hangar serves
 * Flight with it instead of grpc-js: replies go to the socket from where their bytes lie (grpc-js
 * copies every message into a frame first), requests are reassembled with one copy at most, and
 * the HTTP/2 windows are large enough for bulk puts. docs/design/performance-log.md, "Own gRPC transport".
 *
 * It answers each call by running the handler registered for its path: the handler's return ends
 * the call with OK, a throw with the status `toStatus` makes of the error. Around that it keeps the
 * connections healthy: deadlines (`grpc-timeout`), a cap on concurrent calls per connection,
 * keepalive pings, idle connections closed, and a shutdown that lets running calls finish.
 * docs/grpc-transport.md lists what of the specification it meets, and where.
 */
import type { Socket } from 'node:net';
import { createSecureServer, createServer, constants, type Http2SecureServer, type Http2Server, type Http2Session, type IncomingHttpHeaders, type ServerHttp2Stream } from 'node:http2';
import { EventEmitter } from 'node:events';
import { DeadlineExceededError, UnimplementedError } from '../../errors.js';
import { setLongTimeout } from '../../grpc/long-timer.js';
import { CallMetadata, parseGrpcTimeout } from '../../grpc/metadata.js';
import { GrpcStatus, type CallStatus } from '../../grpc/status.js';
import { ServerCall } from './server-call.js';

/** Runs one call; resolving ends it with OK, rejecting with the error's status. */
export type CallHandler = (call: ServerCall) => Promise<void>;

/** TLS settings: PEM contents. */
export interface GrpcTlsOptions {
  /** The server's certificate chain. */
  readonly cert: Buffer;
  /** The server's private key. */
  readonly key: Buffer;
  /** CA certificates client certificates must chain to; given, clients must present one. */
  readonly clientCa?: Buffer;
}

/** What a {@link GrpcServer} serves and how. */
export interface GrpcServerOptions {
  /** Handlers by path, `/package.Service/Method`. */
  readonly handlers: ReadonlyMap<string, CallHandler>;
  /** The status a handler's error ends its call with. */
  readonly toStatus: (error: unknown, call: ServerCall) => CallStatus;
  /** Longest request message accepted. */
  readonly maxMessageBytes: number;
  /** A connection with no call for this long is closed. */
  readonly idleTimeoutMs: number;
  /**
   * Most calls one connection may run at once (HTTP/2 SETTINGS_MAX_CONCURRENT_STREAMS, default
   * {@link DEFAULT_MAX_CONCURRENT_STREAMS}). A client that opens more has the extra streams refused
   * with RST_STREAM(REFUSED_STREAM), which gRPC clients retry; the connection is unharmed.
   */
  readonly maxConcurrentStreams?: number;
  /** Serve over TLS. */
  readonly tls?: GrpcTlsOptions;
}

/** Concurrent calls per connection unless configured: what gRPC servers commonly advertise. */
export const DEFAULT_MAX_CONCURRENT_STREAMS = 100;

/** Keepalive: ping a connection this often, and drop it when a ping goes unanswered this long. */
const KEEPALIVE_MS = 60_000;
const KEEPALIVE_TIMEOUT_MS = 20_000;
/**
 * HTTP/2 flow control. A stream may have 16 MiB in flight, a connection 64 MiB: enough that a
 * client on a fast link never waits for a window update, while a paused stream (its handler not
 * reading) holds back its client after that much. Frames up to 1 MiB mean fewer of them.
 */
const STREAM_WINDOW_BYTES = 16 * 1024 * 1024;
const CONNECTION_WINDOW_BYTES = 64 * 1024 * 1024;
const MAX_FRAME_BYTES = 1024 * 1024;
/** nghttp2's memory bound per connection, in MiB: room for the windows above. */
const MAX_SESSION_MEMORY_MB = 256;

/** A listening gRPC server. */
export class GrpcServer {
  private readonly sessions = new Set<Http2Session>();
  private running = 0;
  private readonly idle = new EventEmitter();
  private closing = false;

  private constructor(
    private readonly http2: Http2Server | Http2SecureServer,
    private readonly options: GrpcServerOptions,
    /** The port it listens on. */
    readonly port: number,
  ) {}

  /** Binds `host:port` (0: any free port) and starts serving. */
  static async listen(host: string, port: number, options: GrpcServerOptions): Promise<GrpcServer> {
    const settings = {
      initialWindowSize: STREAM_WINDOW_BYTES,
      maxFrameSize: MAX_FRAME_BYTES,
      maxConcurrentStreams: options.maxConcurrentStreams ?? DEFAULT_MAX_CONCURRENT_STREAMS,
    };
    const common = { settings, maxSessionMemory: MAX_SESSION_MEMORY_MB };
    const http2 = options.tls
      ? createSecureServer({
          ...common,
          cert: options.tls.cert,
          key: options.tls.key,
          ALPNProtocols: ['h2'],
          ...(options.tls.clientCa ? { ca: options.tls.clientCa, requestCert: true, rejectUnauthorized: true } : {}),
        })
      : createServer(common);
    await new Promise<void>((resolve, reject) => {
      http2.once('error', reject);
      http2.listen(port, host, () => {
        http2.off('error', reject);
        resolve();
      });
    });
    const address = http2.address();
    const server = new GrpcServer(http2, options, typeof address === 'object' && address ? address.port : port);
    // Small replies (a stream tail's entries, acks) go out at once: with Nagle's algorithm a write
    // waits for the peer's delayed ACK (up to 40 ms on Linux): a follow-tail's p50 was 20 ms.
    http2.on('connection', (socket: Socket) => socket.setNoDelay(true));
    http2.on('session', (session) => server.accept(session));
    http2.on('stream', (stream, headers) => server.dispatch(stream, headers));
    // Errors of one connection (a bad TLS handshake, a reset socket) must not take the server down.
    http2.on('sessionError', () => undefined);
    http2.on('tlsClientError', () => undefined);
    return server;
  }

  /** Calls currently running. */
  get runningCalls(): number {
    return this.running;
  }

  /** Resolves when no call is running. */
  whenIdle(): Promise<void> {
    if (this.running === 0) return Promise.resolve();
    return new Promise((resolve) => this.idle.once('idle', resolve));
  }

  /**
   * Stops accepting connections and calls; connections close (GOAWAY) once their running calls
   * end. Resolves when every connection has closed.
   */
  async shutdown(): Promise<void> {
    this.closing = true;
    const closed = new Promise<void>((resolve) => this.http2.close(() => resolve()));
    for (const session of this.sessions) session.close();
    await closed;
  }

  /** Closes every connection now, cancelling the calls still running. */
  forceShutdown(): void {
    this.closing = true;
    for (const session of this.sessions) session.destroy();
  }

  private accept(session: Http2Session): void {
    if (this.closing) {
      session.destroy();
      return;
    }
    this.sessions.add(session);
    session.on('error', () => undefined);
    session.once('connect', () => session.setLocalWindowSize(CONNECTION_WINDOW_BYTES));
    if (!session.connecting) session.setLocalWindowSize(CONNECTION_WINDOW_BYTES);

    // Keepalive: a dead peer that never closes its socket would otherwise hold calls forever.
    const keepalive = setInterval(() => {
      const timeout = setTimeout(() => session.destroy(), KEEPALIVE_TIMEOUT_MS);
      timeout.unref();
      if (!session.ping(() => clearTimeout(timeout))) clearTimeout(timeout);
    }, KEEPALIVE_MS);
    keepalive.unref();

    // Idle connections: closed gracefully once no call has run for idleTimeoutMs.
    let open = 0;
    let idleTimer: NodeJS.Timeout | undefined;
    const armIdle = (): void => {
      idleTimer = setTimeout(() => session.close(), this.options.idleTimeoutMs);
      idleTimer.unref();
    };
    armIdle();
    session.on('stream', (stream: ServerHttp2Stream) => {
      open++;
      clearTimeout(idleTimer);
      stream.once('close', () => {
        if (--open === 0 && !session.closed) armIdle();
      });
    });
    session.once('close', () => {
      clearInterval(keepalive);
      clearTimeout(idleTimer);
      this.sessions.delete(session);
    });
  }

  private dispatch(stream: ServerHttp2Stream, headers: IncomingHttpHeaders): void {
    stream.on('error', () => undefined);
    // Not gRPC at all: answer in HTTP, as the specification asks.
    const contentType = String(headers['content-type'] ?? '');
    if (headers[':method'] !== 'POST' || !/^application\/grpc(?:[+;]|$)/.test(contentType)) {
      stream.respond({ ':status': headers[':method'] === 'POST' ? constants.HTTP_STATUS_UNSUPPORTED_MEDIA_TYPE : constants.HTTP_STATUS_METHOD_NOT_ALLOWED }, { endStream: true });
      return;
    }
    const call = new ServerCall(stream, new CallMetadata(headers), this.options.maxMessageBytes);
    const path = String(headers[':path'] ?? '');
    const handler = this.options.handlers.get(path);
    if (this.closing) {
      call.finish({ code: GrpcStatus.UNAVAILABLE, message: 'the server is shutting down; retry on another server or later' });
      return;
    }
    if (!handler) {
      call.finish(this.options.toStatus(new UnimplementedError(`this server does not implement ${path}`), call));
      return;
    }
    let timeoutMs: number | undefined;
    try {
      timeoutMs = parseGrpcTimeout(call.metadata.get('grpc-timeout'));
    } catch (error) {
      // A deadline the client meant but we cannot read: running without one would be worse.
      call.finish(this.options.toStatus(error, call));
      return;
    }
    this.run(call, handler, timeoutMs);
  }

  private run(call: ServerCall, handler: CallHandler, timeoutMs: number | undefined): void {
    this.running++;
    // Deadlines may lie past setTimeout's 24.8-day range (grpc-go's default is 30 days).
    const deadline =
      timeoutMs === undefined
        ? undefined
        : setLongTimeout(() => {
            const error = new DeadlineExceededError(`the call's deadline of ${timeoutMs} ms passed before it finished`);
            call.cancel(this.options.toStatus(error, call), error);
          }, timeoutMs);
    const settle = (error?: unknown): void => {
      deadline?.clear();
      // After a cancellation or a deadline the status has gone out (or nobody is left to read it).
      call.finish(error === undefined ? { code: GrpcStatus.OK, message: '' } : this.options.toStatus(error, call));
      if (--this.running === 0) this.idle.emit('idle');
    };
    let promise: Promise<void>;
    try {
      promise = handler(call);
    } catch (error) {
      promise = Promise.reject(error);
    }
    promise.then(() => settle(), (error: unknown) => settle(error ?? new Error('the handler failed')));
  }
}
