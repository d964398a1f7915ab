/**
 * HangarServer: binds the Flight service on a host and port over a chosen store. Programmatic
 * entry point (`await HangarServer.start(options)`) used by the CLI and the tests.
 */
import 'reflect-metadata';
import { Server, ServerCredentials } from '@grpc/grpc-js';
import type { Connector } from '../connectors/connector.js';
import { defaultConnectorRegistry } from '../connectors/registry.js';
import type { EngineOptions, HangarEngine } from '../core/engine.js';
import type { ParquetCodec } from '../core/parquet/parquet-codec.js';
import { CallTracker } from './call-tracker.js';
import { TOKENS, createContainer } from './container.js';
import { FLIGHT_SERVICE } from '../flight/flight-service.js';
import { doActionHandler, listActionsHandler } from './handlers/action-handlers.js';
import { doGetHandler, doPutHandler } from './handlers/data-handlers.js';
import { getFlightInfoHandler, getSchemaHandler, listFlightsHandler } from './handlers/info-handlers.js';
import { handshakeHandler, unimplementedStream, unimplementedUnary } from './handlers/session-handlers.js';

/** Options of {@link HangarServer.start}. */
export interface HangarServerOptions {
  /** Interface to bind (default 127.0.0.1). */
  readonly host?: string;
  /** Port to bind; 0 picks a free one (default 8815). */
  readonly port?: number;
  /** Store location: a directory, `file:///dir`, `memory:` or `s3://bucket/prefix?…` (default ./hangar-data). Ignored if `connector` is given. */
  readonly data?: string;
  /** A ready connector instance (e.g. a custom one); opened by the server. */
  readonly connector?: Connector;
  /** Engine tuning. */
  readonly engine?: EngineOptions;
  /** Largest message a client may send, in bytes (default 2 GiB − 1, as pyarrow may send that). */
  readonly maxMessageBytes?: number;
}

const MAX_INT32 = 2 ** 31 - 1;
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
  private readonly closedPromise: Promise<void>;
  private resolveClosed!: () => void;

  private constructor(
    private readonly grpcServer: Server,
    private readonly calls: CallTracker,
    private readonly engine: HangarEngine,
    private readonly codec: ParquetCodec,
    /** The store this server serves. */
    readonly connector: Connector,
    /** The interface it listens on. */
    readonly host: string,
    /** The port it listens on. */
    readonly port: number,
  ) {
    this.closedPromise = new Promise((resolve) => (this.resolveClosed = resolve));
  }

  /** Opens the store, binds the port and starts serving. */
  static async start(options: HangarServerOptions = {}): Promise<HangarServer> {
    const host = options.host ?? '127.0.0.1';
    const connector = options.connector ?? (await defaultConnectorRegistry().create(options.data ?? './hangar-data'));
    await connector.open();
    const container = createContainer(connector, options.engine);
    const engine = container.resolve<HangarEngine>(TOKENS.Engine);
    const codec = container.resolve<ParquetCodec>(TOKENS.Codec);
    const maxMessageBytes = options.maxMessageBytes ?? MAX_INT32;
    const grpcServer = new Server({
      'grpc.max_receive_message_length': maxMessageBytes,
      'grpc.max_send_message_length': MAX_INT32,
    });
    let server: HangarServer | undefined;
    const context = { engine, requestShutdown: () => setImmediate(() => void server?.close()) };
    const calls = new CallTracker();
    grpcServer.addService(FLIGHT_SERVICE, calls.track({
      Handshake: handshakeHandler(),
      ListFlights: listFlightsHandler(engine),
      GetFlightInfo: getFlightInfoHandler(engine),
      PollFlightInfo: unimplementedUnary('PollFlightInfo'),
      GetSchema: getSchemaHandler(engine),
      DoGet: doGetHandler(engine),
      DoPut: doPutHandler(engine),
      DoExchange: unimplementedStream('DoExchange'),
      DoAction: doActionHandler(context),
      ListActions: listActionsHandler(context),
    } as never));
    const address = host.includes(':') ? `[${host}]:${options.port ?? 8815}` : `${host}:${options.port ?? 8815}`;
    const port = await new Promise<number>((resolve, reject) =>
      grpcServer.bindAsync(address, ServerCredentials.createInsecure(), (error, bound) => (error ? reject(error) : resolve(bound))),
    ).catch(async (error: unknown) => {
      await codec.close();
      await connector.close();
      throw error;
    });
    server = new HangarServer(grpcServer, calls, engine, codec, connector, host, port);
    return server;
  }

  /** The URI clients connect to, e.g. `grpc://127.0.0.1:8815`. */
  get location(): string {
    const host = this.host.includes(':') ? `[${this.host}]` : this.host;
    return `grpc://${host}:${this.port}`;
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
      const shutDown = new Promise<void>((resolve) => this.grpcServer.tryShutdown(() => resolve()));
      await within(this.calls.whenIdle(), graceMs);
      // Give the last replies a moment to leave before idle connections are cut.
      await within(shutDown, SESSION_DRAIN_MS);
      this.grpcServer.forceShutdown();
      await this.engine.close();
      await this.codec.close();
      await this.connector.close();
      this.resolveClosed();
    })();
    return this.closing;
  }
}
