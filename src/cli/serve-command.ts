/** `hangar serve`: runs the server until SIGINT/SIGTERM or the shutdown action. */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { signJwt } from '../server/auth/jwt.js';
import { UsersFile } from '../server/auth/users-file.js';
import { InvalidArgumentError } from '../errors.js';
import { DEFAULT_RETENTION, type RetentionPolicy } from '../core/retention.js';
import type { SegmentCompression } from '../format/parquet/parquet-codec.js';
import type { SqlOptions } from '../core/sql/sql-engine.js';
import { HangarServer, type TlsOptions, isLoopbackHost } from '../server/hangar-server.js';
import { createMountedStore } from '../connectors/store-mounts.js';
import { registryWithPlugins } from './plugin-option.js';
import { type SecretOptions, readSecret } from './security-commands.js';

/** Options of `hangar serve`, after defaults from the environment. */
export interface ServeCommandOptions {
  /** Interface to bind. */
  readonly host: string;
  /** Port; 0 picks a free one. */
  readonly port: number;
  /** Store location. */
  readonly data: string;
  /** Connector plugin modules to load before `data` is resolved (paths or package names). */
  readonly plugins?: readonly string[];
  /** Buckets mounted on stores of their own: bucket name → location (config file, or `--mount` for Delta tables). */
  readonly buckets?: Readonly<Record<string, string>>;
  /** SQL: per-query time limit in milliseconds. */
  readonly sqlTimeout?: number;
  /** SQL: DuckDB's memory limit, e.g. `4GB`. */
  readonly sqlMemoryLimit?: string;
  /** SQL: largest result one query may send, in bytes. */
  readonly sqlMaxResultBytes?: number;
  /** SQL: queries one caller may run at once. */
  readonly sqlMaxConcurrentPerToken?: number;
  /** SQL: DuckDB worker threads. */
  readonly sqlThreads?: number;
  /** SQL: the segment cache directory. */
  readonly sqlCacheDir?: string;
  /** SQL: the segment cache's size bound in bytes. */
  readonly sqlCacheSize?: number;
  /** SQL: Arrow bytes of frames kept hot as DuckDB tables (0 = off). */
  readonly sqlHotSize?: number;
  /** PEM certificate chain: serve over TLS (env HANGAR_TLS_CERT). */
  readonly tlsCert?: string;
  /** PEM private key of the certificate (env HANGAR_TLS_KEY). */
  readonly tlsKey?: string;
  /** PEM CA that client certificates must chain to: mutual TLS (env HANGAR_TLS_CLIENT_CA). */
  readonly tlsClientCa?: string;
  /** The users file: Basic login on Handshake (env HANGAR_USERS). */
  readonly users?: string;
  /** Serve without authentication on a non-loopback address. */
  readonly insecure?: boolean;
  /** Largest gRPC message a client may send. */
  readonly maxMessageBytes?: number;
  /** Largest total one put may send. */
  readonly maxPutBytes?: number;
  /** Idle limit of puts and connections, in milliseconds. */
  readonly idleTimeout?: number;
  /** Most concurrent calls per client connection. */
  readonly maxConcurrentStreams?: number;
  /** Also serve the HTTP API, console and /metrics on this port (off when absent). */
  readonly httpPort?: number;
  /** Comma-separated origins allowed to call the HTTP API from their pages (CORS). */
  readonly httpCorsOrigin?: string;
  /** Open the web console in a browser once listening. */
  readonly open?: boolean;
  /** Bytes of decoded segments cached for repeated reads (0: off). */
  readonly readCacheSize?: number;
  /** Retention: most versions kept per frame. */
  readonly keepVersions?: number;
  /** Retention: keep versions superseded less than this many milliseconds ago. */
  readonly keepFor?: number;
  /** Vacuum's grace period in milliseconds. */
  readonly vacuumGrace?: number;
  /** Milliseconds between scheduled vacuums (0: never). */
  readonly vacuumEvery?: number;
  /** Milliseconds between timed rolls of live streams (0: only on reads and at 8 MiB; docs/streams.md). */
  readonly streamRollInterval?: number;
  /** Small segments that trigger a background compaction (0: never). */
  readonly compactThreshold?: number;
  /** Compression of new segment files. */
  readonly segmentCompression?: SegmentCompression;
}

const HOUR_MS = 3_600_000;

/** The engine's retention policy from the serve options (7 days when not given). */
function retentionPolicy(options: ServeCommandOptions): RetentionPolicy {
  return {
    ...(options.keepVersions === undefined ? {} : { keepVersions: options.keepVersions }),
    keepForMs: options.keepFor ?? DEFAULT_RETENTION.keepForMs!,
    graceMs: options.vacuumGrace ?? DEFAULT_RETENTION.graceMs,
  };
}

/** The TLS options from the certificate files, or undefined without them. */
function tlsOptions(options: ServeCommandOptions): TlsOptions | undefined {
  if (options.tlsCert === undefined && options.tlsKey === undefined) {
    if (options.tlsClientCa !== undefined) throw new InvalidArgumentError('--tls-client-ca needs --tls-cert and --tls-key');
    return undefined;
  }
  if (options.tlsCert === undefined || options.tlsKey === undefined) throw new InvalidArgumentError('give both --tls-cert and --tls-key');
  return {
    cert: readFileSync(options.tlsCert),
    key: readFileSync(options.tlsKey),
    ...(options.tlsClientCa !== undefined ? { clientCa: readFileSync(options.tlsClientCa) } : {}),
  };
}

/** Lifetime of the admin token printed at start-up (as shoots: one year). */
const ADMIN_TOKEN_TTL_SECONDS = 365 * 86400;

/** Opens the console in the desktop's browser (xdg-open, open, start); says so when it cannot. */
function openConsole(url: string | undefined): void {
  if (url === undefined) {
    process.stderr.write('hangar: --open needs --http-port: the console is served by the HTTP listener\n');
    return;
  }
  const [command, ...args] = process.platform === 'darwin' ? ['open', url] : process.platform === 'win32' ? ['cmd', '/c', 'start', '', url] : ['xdg-open', url];
  const child = spawn(command!, args, { detached: true, stdio: 'ignore' });
  child.on('error', () => process.stderr.write(`hangar: could not start a browser (${command}); open ${url} yourself\n`));
  child.unref();
}

/** Starts the server, prints its location, and shuts down gracefully on signals. */
export async function serve(options: ServeCommandOptions & SecretOptions): Promise<void> {
  const sql: SqlOptions = {
    ...(options.sqlTimeout ? { timeoutMs: options.sqlTimeout } : {}),
    ...(options.sqlMemoryLimit ? { memoryLimit: options.sqlMemoryLimit } : {}),
    ...(options.sqlMaxResultBytes ? { maxResultBytes: options.sqlMaxResultBytes } : {}),
    ...(options.sqlMaxConcurrentPerToken ? { maxConcurrentPerCaller: options.sqlMaxConcurrentPerToken } : {}),
    ...(options.sqlThreads ? { threads: options.sqlThreads } : {}),
    ...(options.sqlCacheDir ? { cacheDirectory: options.sqlCacheDir } : {}),
    ...(options.sqlCacheSize ? { cacheBytes: options.sqlCacheSize } : {}),
    ...(options.sqlHotSize !== undefined ? { hotBytes: options.sqlHotSize } : {}),
  };
  const secret = readSecret(options);
  const users = options.users === undefined ? undefined : await UsersFile.load(options.users);
  const tls = tlsOptions(options);
  const authenticated = secret !== undefined || users !== undefined;
  if (!authenticated && !isLoopbackHost(options.host) && options.insecure) {
    process.stderr.write(
      `\n*** WARNING: hangar serves ${options.host} WITHOUT AUTHENTICATION (--insecure). Anyone who can reach ` +
        `port ${options.port} can read, overwrite and delete every frame and shut the server down. ***\n\n`,
    );
  }
  const registry = await registryWithPlugins(options.plugins ?? []);
  const server = await HangarServer.start({
    host: options.host,
    port: options.port,
    connector: await createMountedStore(registry, options.data, options.buckets),
    engine: {
      sql,
      retention: retentionPolicy(options),
      vacuumIntervalMs: options.vacuumEvery ?? HOUR_MS,
      ...(options.readCacheSize === undefined ? {} : { readCacheBytes: options.readCacheSize }),
      ...(options.compactThreshold === undefined ? {} : { compactThreshold: options.compactThreshold }),
      ...(options.segmentCompression === undefined ? {} : { segmentCompression: options.segmentCompression }),
    },
    ...(tls ? { tls } : {}),
    ...(authenticated ? { auth: { ...(secret !== undefined ? { secret } : {}), ...(users ? { users } : {}) } } : {}),
    ...(options.insecure ? { insecure: true } : {}),
    ...(options.maxMessageBytes ? { maxMessageBytes: options.maxMessageBytes } : {}),
    ...(options.maxPutBytes ? { maxPutBytes: options.maxPutBytes } : {}),
    ...(options.idleTimeout ? { idleTimeoutMs: options.idleTimeout } : {}),
    ...(options.maxConcurrentStreams ? { maxConcurrentStreams: options.maxConcurrentStreams } : {}),
    ...(options.streamRollInterval === undefined ? {} : { streams: { rollIntervalMs: options.streamRollInterval } }),
    ...(options.httpPort === undefined ? {} : { http: { port: options.httpPort, ...(options.httpCorsOrigin ? { corsOrigins: options.httpCorsOrigin.split(',').map((origin) => origin.trim()) } : {}) } }),
  });
  const stop = (signal: string): void => {
    process.stderr.write(`hangar: ${signal} received, shutting down\n`);
    void server.close();
  };
  // Handlers go in before the listening line: whoever reads that line may signal at once.
  process.once('SIGINT', () => stop('SIGINT'));
  process.once('SIGTERM', () => stop('SIGTERM'));
  process.stdout.write(`hangar listening on ${server.location}\n`);
  if (server.httpUrl !== undefined) process.stdout.write(`http listening on ${server.httpUrl}\n`);
  if (options.open) openConsole(server.httpUrl);
  if (secret !== undefined) {
    // As shoots does: an admin token (claim type=admin, which shoots' client flow expects) to start with.
    const now = Math.floor(Date.now() / 1000);
    const token = signJwt({ sub: 'admin', scope: 'admin', type: 'admin', server: server.location, iat: now, exp: now + ADMIN_TOKEN_TTL_SECONDS }, secret);
    process.stdout.write(`hangar admin token (valid 365 days): ${token}\n`);
  }
  await server.closed;
  // Everything is closed; a worker or socket still winding down must not keep the process alive.
  process.exit(0);
}
