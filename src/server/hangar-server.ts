/**
 * HangarServer: binds the Flight service on a host and port over a chosen store. Programmatic
 * entry point (`await HangarServer.start(options)`) used by the CLI and the tests.
 */
import type { Connector } from '../storage/connector.js';
import type { FrameStore } from '../storage/frame-store.js';
import { asFrameStore } from '../storage/object-layout.js';
import { defaultConnectorRegistry } from '../connectors/registry.js';
import type { EngineOptions, HangarEngine } from '../core/engine.js';
import type { ParquetCodec } from '../format/parquet/parquet-codec.js';
import { TOKENS, createContainer } from './container.js';
import { FLIGHT_SERVICE_NAME } from '../flight/flight-service.js';
import { doActionHandler, listActionsHandler } from './handlers/action-handlers.js';
import { doGetHandler, doPutHandler } from './handlers/data-handlers.js';
import { getFlightInfoHandler, getSchemaHandler, listFlightsHandler } from './handlers/info-handlers.js';
import { unimplemented } from './handlers/call-shapes.js';
import { FlightSqlService } from './flight-sql/flight-sql-service.js';
import { routeFlightSql } from './flight-sql/flight-sql-router.js';
import { type AuthOptions, Authenticator } from './auth/authenticator.js';
import { authorizedEngine, currentPrincipal, guardCalls } from './auth/call-guard.js';
import { SERVER, authorize } from './auth/scopes.js';
import { FailedPreconditionError } from '../errors.js';
import { toCallStatus } from './status-mapping.js';
import { GrpcServer, type GrpcTlsOptions } from './transport/grpc-server.js';
import { HttpListener, type HttpListenerOptions } from './http/http-listener.js';
import { HangarMetrics } from './metrics/hangar-metrics.js';
import { meterCalls, meterQueries } from './metrics/metered-calls.js';
import { meterStore } from './metrics/metered-store.js';
import type { LiveStreamOptions } from '../core/streams/live-stream.js';
import { StreamService } from '../core/streams/stream-service.js';
import { streamAwareEngine } from '../core/streams/stream-aware-engine.js';
import { StreamAccess } from './streams/stream-access.js';
import { streamStorageFor } from './streams/stream-storage-choice.js';

/** TLS settings of {@link HangarServer.start}: PEM contents, not paths; a `clientCa` asks for mutual TLS. */
export type TlsOptions = GrpcTlsOptions;

/** Options of {@link HangarServer.start}. */
export interface HangarServerOptions {
  /** Interface to bind (default 127.0.0.1). */
  readonly host?: string;
  /** Port to bind; 0 picks a free one (default 8815). */
  readonly port?: number;
  /** Store location: a directory, `file:///dir`, `memory:` or `s3://bucket/prefix?…` (default ./hangar-data). Ignored if `connector` is given. */
  readonly data?: string;
  /** A ready connector instance (e.g. a custom one); opened by the server. */
  readonly connector?: Connector | FrameStore;
  /** Engine tuning. */
  readonly engine?: EngineOptions;
  /** Largest message a client may send, in bytes (default 2 GiB − 1, as pyarrow may send that). */
  readonly maxMessageBytes?: number;
  /** Largest total of FlightData bytes one DoPut may send (default: no limit). */
  readonly maxPutBytes?: number;
  /**
   * Against slow or stuck clients: a put that sends nothing for this long fails, and a connection
   * with no call for this long is closed (default 5 minutes).
   */
  readonly idleTimeoutMs?: number;
  /** Most calls one client connection may run at once (HTTP/2 SETTINGS_MAX_CONCURRENT_STREAMS, default 100). */
  readonly maxConcurrentStreams?: number;
  /** Serve over TLS (`grpc+tls://`). */
  readonly tls?: TlsOptions;
  /** Authentication: on when it has a secret or users (docs/security.md). */
  readonly auth?: AuthOptions;
  /**
   * Allow serving without authentication on an address other than loopback. Without it, such a
   * start is refused: anyone who can reach the port could read, change and delete everything.
   */
  readonly insecure?: boolean;
  /** Also serve the HTTP API, console and /metrics on this port (off when absent; docs/http-api.md). */
  readonly http?: HttpListenerOptions;
  /** Tuning of live streams: roll interval, memory kept for tailers, commit window (docs/streams.md). */
  readonly streams?: LiveStreamOptions;
}

/** Whether a host name or address only accepts connections from this machine. */
export function isLoopbackHost(host: string): boolean {
  return host === 'localhost' || host === '::1' || host === '[::1]' || /^127\.\d+\.\d+\.\d+$/.test(host);
}

const MAX_INT32 = 2 ** 31 - 1;
const DEFAULT_IDLE_TIMEOUT_MS = 5 * 60_000;
/** How long shutdown lets finished calls' replies drain before closing idle connections. */
const SESSION_DRAIN_MS = 200;

/** Resolves when `promise` does or after `ms`, whichever comes first. */
async function within(promise: Promise<void>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([promise, new Promise<void>((resolve) => (timer = setTimeout(resolve, ms)))]);
  clearTimeout(timer);
}

/** A running Hangar Flight server. */
export class HangarServer {
  private closing: Promise<void> | undefined;
  private httpListener: HttpListener | undefined;
  private streamService: StreamService | undefined;
  private readonly closedPromise: Promise<void>;
  private resolveClosed!: () => void;

  private constructor(
    private readonly grpcServer: GrpcServer,
    private readonly engine: HangarEngine,
    private readonly codec: ParquetCodec,
    /** The store this server serves. */
    readonly connector: FrameStore,
    /** The interface it listens on. */
    readonly host: string,
    /** The port it listens on. */
    readonly port: number,
    /** Whether it serves over TLS. */
    readonly tls: boolean,
    /** Checks credentials and issues tokens (e.g. the admin token printed at start-up). */
    readonly authenticator: Authenticator,
  ) {
    this.closedPromise = new Promise((resolve) => (this.resolveClosed = resolve));
  }

  /** Opens the store, binds the port and starts serving. */
  static async start(options: HangarServerOptions = {}): Promise<HangarServer> {
    const host = options.host ?? '127.0.0.1';
    const authenticator = new Authenticator(options.auth, options.idleTimeoutMs ?? DEFAULT_IDLE_TIMEOUT_MS);
    if (!authenticator.enabled && !isLoopbackHost(host) && !options.insecure) {
      throw new FailedPreconditionError(
        `refusing to serve ${host} without authentication: anyone reaching it could read and delete every frame. ` +
          'Give a secret or users file, bind 127.0.0.1, or pass --insecure to accept the risk',
      );
    }
    const connector = options.connector ? asFrameStore(options.connector) : await defaultConnectorRegistry().create(options.data ?? './hangar-data');
    await connector.open();
    const metrics = new HangarMetrics();
    // The engine stores through the metered view: every store operation and commit is counted.
    const container = createContainer(meterStore(connector, metrics), options.engine);
    const engine = container.resolve<HangarEngine>(TOKENS.Engine);
    const codec = container.resolve<ParquetCodec>(TOKENS.Codec);
    // Live streams (docs/streams.md): logs replayed before serving; reads through the engine roll them first.
    const streamService = new StreamService(engine, streamStorageFor(connector), options.streams);
    await streamService.open();
    const streams = new StreamAccess(streamService);
    const streamEngine = streamAwareEngine(engine, streamService);
    const maxMessageBytes = options.maxMessageBytes ?? MAX_INT32;
    const idleTimeoutMs = options.idleTimeoutMs ?? DEFAULT_IDLE_TIMEOUT_MS;
    let server: HangarServer | undefined;
    // Handlers only ever hold the authorised view of the engine; guardCalls supplies the principal.
    metrics.watch(engine);
    const guarded = meterQueries(authorizedEngine(streamEngine), metrics, 'flight');
    const context = {
      engine: guarded,
      requestShutdown: () => {
        authorize(currentPrincipal(), 'admin', [SERVER], 'shut down the server');
        setImmediate(() => void server?.close());
      },
    };
    const handlers = meterCalls(
      guardCalls(
        routeFlightSql({
          ListFlights: listFlightsHandler(guarded),
          GetFlightInfo: getFlightInfoHandler(guarded),
          PollFlightInfo: unimplemented('PollFlightInfo'),
          GetSchema: getSchemaHandler(guarded),
          DoGet: doGetHandler(guarded, streams),
          DoPut: doPutHandler(guarded, { idleTimeoutMs, ...(options.maxPutBytes !== undefined ? { maxPutBytes: options.maxPutBytes } : {}) }, streams),
          DoExchange: unimplemented('DoExchange'),
          DoAction: doActionHandler(context),
          ListActions: listActionsHandler(context),
        }, new FlightSqlService(guarded, { putLimits: { idleTimeoutMs, ...(options.maxPutBytes !== undefined ? { maxPutBytes: options.maxPutBytes } : {}) } })),
        authenticator,
      ),
      metrics,
    );
    const grpcServer = await GrpcServer.listen(host.replace(/^\[(.*)\]$/, '$1'), options.port ?? 8815, {
      handlers: new Map(Object.entries(handlers).map(([name, handler]) => [`/${FLIGHT_SERVICE_NAME}/${name}`, handler])),
      toStatus: (error, call) => toCallStatus(error, call.metadata),
      maxMessageBytes,
      idleTimeoutMs,
      ...(options.maxConcurrentStreams !== undefined ? { maxConcurrentStreams: options.maxConcurrentStreams } : {}),
      ...(options.tls ? { tls: options.tls } : {}),
    }).catch(async (error: unknown) => {
      await streamService.close();
      await codec.close();
      await connector.close();
      throw error;
    });
    server = new HangarServer(grpcServer, engine, codec, connector, host, grpcServer.port, options.tls !== undefined, authenticator);
    server.streamService = streamService;
    if (options.http) {
      const limits = { idleTimeoutMs, maxMessageBytes, ...(options.maxPutBytes !== undefined ? { maxPutBytes: options.maxPutBytes } : {}) };
      const parts = { engine: meterQueries(authorizedEngine(streamEngine), metrics, 'http'), rawEngine: engine, streams, authenticator, metrics, limits, ...(options.tls ? { tls: options.tls } : {}) };
      server.httpListener = await HttpListener.listen(options.http, host, parts).catch(async (error: unknown) => {
        await server!.close(0);
        throw error;
      });
    }
    return server;
  }

  /** The HTTP listener's base URL (e.g. `http://127.0.0.1:8080`), when it serves HTTP. */
  get httpUrl(): string | undefined {
    return this.httpListener?.url;
  }

  /** The URI clients connect to, e.g. `grpc://127.0.0.1:8815` (`grpc+tls://` over TLS). */
  get location(): string {
    const host = this.host.includes(':') ? `[${this.host}]` : this.host;
    return `${this.tls ? 'grpc+tls' : 'grpc'}://${host}:${this.port}`;
  }

  /** Resolves once the server has shut down (by {@link close} or the `shutdown` action). */
  get closed(): Promise<void> {
    return this.closedPromise;
  }

  /**
   * Stops accepting calls, lets running ones finish for up to `graceMs`, then cancels the rest,
   * closes idle connections and releases the store.
   */
  close(graceMs = 5000): Promise<void> {
    this.closing ??= (async () => {
      // Following tails would keep their calls open through the whole grace period: end them first.
      this.streamService?.endTails();
      const httpClosed = this.httpListener?.close(graceMs);
      const shutDown = this.grpcServer.shutdown();
      await within(this.grpcServer.whenIdle(), graceMs);
      // Give the last replies a moment to leave before idle connections are cut.
      await within(shutDown, SESSION_DRAIN_MS);
      this.grpcServer.forceShutdown();
      await httpClosed;
      await this.streamService?.close();
      await this.engine.close();
      await this.codec.close();
      await this.connector.close();
      this.resolveClosed();
    })();
    return this.closing;
  }
}
