/** The command tree of `hangar`, built with commander. */
import { createRequire } from 'node:module';
import { Command, InvalidArgumentError as CommanderArgumentError, Option } from 'commander';
import { registerCatalogCommands } from './catalog-commands.js';
import { registerCatalogMaintenanceCommands } from './catalog-maintenance-commands.js';
import { registerGetCommand } from './get-command.js';
import { registerMigrateCommand } from './migrate-command.js';
import { registerPutCommand } from './put-command.js';
import { registerRangeCommands } from './range-commands.js';
import { registerSnapshotCommands } from './snapshot-commands.js';
import { type ServeCommandOptions, serve } from './serve-command.js';
import { applyServeConfig, loadServeConfig } from './serve-config.js';
import { addPluginOption, pluginsFromEnvironment } from './plugin-option.js';
import { registerSecurityCommands } from './security-commands.js';
import { registerSqlCommand } from './sql-command.js';
import { registerStreamCommands } from './stream-commands.js';
import { registerVerifyCommand } from './verify-command.js';
import { registerVersionCommands } from './version-commands.js';
import { parseDuration } from '../core/retention.js';
import { DELTA_MOUNT } from '../connectors/store-mounts.js';

function parsePort(value: string): number {
  const port = Number(value);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new CommanderArgumentError('a port is an integer from 0 to 65535');
  return port;
}

function parsePositiveInteger(value: string): number {
  const number = Number(value);
  if (!Number.isSafeInteger(number) || number <= 0) throw new CommanderArgumentError('expected a positive integer');
  return number;
}

function parseDurationOption(value: string): number {
  try {
    return parseDuration(value, 'the duration');
  } catch (error) {
    throw new CommanderArgumentError((error as Error).message);
  }
}

/** The serve options: plugins from HANGAR_PLUGINS and the flags, laid over the config file if one is given. */
function serveOptions(options: ServeCommandOptions & { config?: string; plugin?: string[]; mount?: [string, string][] }, command: Command): ServeCommandOptions {
  const { config, plugin = [], mount = [], ...commandLine } = options;
  const withPlugins = {
    ...commandLine,
    plugins: [...pluginsFromEnvironment(), ...plugin],
  };
  const configured = config === undefined ? withPlugins : applyServeConfig(withPlugins, (key) => command.getOptionValueSource(key), loadServeConfig(config));
  if (mount.length === 0) return configured;
  // A --mount is the config file's "buckets": {"name": "delta+location"}, and wins over it.
  return { ...configured, buckets: { ...configured.buckets, ...Object.fromEntries(mount.map(([name, location]) => [name, location.startsWith(DELTA_MOUNT) ? location : `${DELTA_MOUNT}${location}`])) } };
}

/** Collects `--mount name=location` flags as [name, location] pairs. */
function parseMount(value: string, previous: [string, string][] = []): [string, string][] {
  const at = value.indexOf('=');
  const name = at < 0 ? '' : value.slice(0, at).trim();
  const location = at < 0 ? '' : value.slice(at + 1).trim();
  if (name === '' || location === '') throw new CommanderArgumentError('expected NAME=LOCATION, e.g. lake=/data/lake or lake=s3://bucket/tables');
  if (previous.some(([other]) => other === name)) throw new CommanderArgumentError(`bucket ${JSON.stringify(name)} is mounted twice`);
  return [...previous, [name, location]];
}

function parseNonNegativeInteger(value: string): number {
  const number = Number(value);
  if (!Number.isSafeInteger(number) || number < 0) throw new CommanderArgumentError('expected 0 or a positive integer');
  return number;
}

function parseMemorySize(value: string): string {
  if (!/^\d+(\.\d+)?\s*(B|KB|MB|GB|TB|KiB|MiB|GiB|TiB)$/i.test(value.trim())) {
    throw new CommanderArgumentError('a memory size is a number and a unit, e.g. 512MB, 4GB or 2GiB');
  }
  return value.trim();
}

/** The package's version, from its package.json (the same file from src/ and dist/). */
const PACKAGE_VERSION = (createRequire(import.meta.url)('../../package.json') as { version: string }).version;

/** Builds the `hangar` program. */
export function buildProgram(): Command {
  const program = new Command('hangar')
    .description('A dataframe store that speaks Apache Arrow Flight')
    .version(PACKAGE_VERSION, '-V, --version', "print hangar's version")
    // Root options only before the command: `hangar get NAME --version 3` is the frame's version.
    .enablePositionalOptions()
    // Usage errors reach main's handler, which exits with EXIT_CODES.usage (commands made after inherit this).
    .exitOverride()
    .showHelpAfterError();
  addPluginOption(program.command('serve'))
    .description('run the Flight server')
    // Environment variables via Option.env, so that they, like flags, win over the config file.
    .addOption(new Option('--config <file>', 'a JSON config file setting any of these options, and bucket mounts (docs/configuration.md); flags and env win over it').env('HANGAR_CONFIG'))
    .addOption(new Option('--host <host>', 'interface to bind').env('HANGAR_HOST').default('127.0.0.1'))
    .addOption(new Option('--port <port>', 'port to bind, 0 for any free port').env('HANGAR_PORT').argParser(parsePort).default(8815))
    .addOption(
      new Option('--data <location>', 'store: a directory, file:///dir, memory:, s3://bucket/prefix?endpoint=…, sqlite:///catalog.db?data=… or a plugin\'s scheme')
        .env('HANGAR_DATA')
        .default('./hangar-data'),
    )
    .option('--sql-timeout <ms>', 'time limit of one SQL query in milliseconds (default 60000)', parsePositiveInteger)
    .option('--sql-memory-limit <size>', "DuckDB's memory limit for all queries, e.g. 4GB (default: half of RAM, or of the cgroup limit when smaller)", parseMemorySize)
    .option('--sql-max-result-bytes <bytes>', 'largest Arrow result one query may send (default 1 GiB)', parsePositiveInteger)
    .option('--sql-max-concurrent-per-token <n>', 'SQL queries one token subject (or all anonymous callers) may run at once (default 8)', parsePositiveInteger)
    .option('--sql-threads <n>', 'DuckDB worker threads (default: one per core)', parsePositiveInteger)
    .option('--sql-cache-dir <dir>', 'where segments of non-file stores are cached for SQL (default: in the OS temp dir)')
    .option('--sql-cache-size <bytes>', 'size bound of that cache in bytes (default 2 GiB)', parsePositiveInteger)
    .option('--sql-hot-size <bytes>', 'Arrow bytes of frames kept hot as DuckDB in-memory tables (default: a quarter of the SQL memory limit; 0 = off)', parseNonNegativeInteger)
    .addOption(new Option('--tls-cert <file>', 'PEM certificate chain: serve grpc+tls://').env('HANGAR_TLS_CERT'))
    .addOption(new Option('--tls-key <file>', 'PEM private key of the certificate').env('HANGAR_TLS_KEY'))
    .addOption(new Option('--tls-client-ca <file>', 'PEM CA client certificates must chain to: require mutual TLS').env('HANGAR_TLS_CLIENT_CA'))
    .addOption(new Option('--secret <secret>', 'HS256 secret: require bearer tokens and print an admin token').env('HANGAR_SECRET'))
    .option('--secret-file <file>', 'a file holding the HS256 secret')
    .addOption(new Option('--users <file>', 'users file for password login, see `hangar user add`').env('HANGAR_USERS'))
    .option('--insecure', 'allow serving a non-loopback address without authentication')
    .option('--max-message-bytes <bytes>', 'largest gRPC message a client may send (default 2 GiB - 1)', parsePositiveInteger)
    .option('--max-put-bytes <bytes>', 'largest total a single put may send (default: no limit)', parsePositiveInteger)
    .option('--idle-timeout <ms>', 'fail puts that send nothing, and close connections without calls, after this long (default 300000)', parsePositiveInteger)
    .addOption(new Option('--http-port <port>', 'also serve the HTTP API, web console and /metrics on this port, 0 for any free port (off when absent)').env('HANGAR_HTTP_PORT').argParser(parsePort))
    .option('--open', 'open the web console in a browser once listening (needs --http-port)')
    .option('--http-cors-origin <origins>', 'comma-separated origins whose pages may call the HTTP API (CORS; default none)')
    .option('--max-concurrent-streams <n>', 'most calls one client connection may run at once; more wait in the client (default 100)', parsePositiveInteger)
    .option('--read-cache-size <bytes>', 'memory for decoded segments reused by repeated gets, 0 to turn off (default 512 MiB)', parseNonNegativeInteger)
    .option('--keep-versions <n>', 'vacuum keeps at most this many versions of each frame, the current one included (default: no count limit)', parsePositiveInteger)
    .option('--keep-for <duration>', 'vacuum keeps versions superseded less than this long ago, e.g. 12h, 7d, 0 for none (default 7d)', parseDurationOption)
    .option('--vacuum-grace <duration>', 'vacuum never removes a version superseded, or a stray segment written, less than this long ago (default 15m)', parseDurationOption)
    .option('--vacuum-every <duration>', 'run vacuum over every bucket this often, e.g. 30m, 0 for never (default 1h)', parseDurationOption)
    .option('--stream-roll-interval <duration>', "roll live streams' logged entries into segments this often, e.g. 1m, 0 for only on reads and every 8 MiB (default 10s)", parseDurationOption)
    .addOption(
      new Option('--segment-compression <codec>', 'compression of new segment files: none (fastest) or lz4 (smaller)').choices(['none', 'lz4']).default('none'),
    )
    .option('--compact-threshold <n>', 'compact a frame in the background once appends left it this many small segments, 0 for never (default 64)', parseNonNegativeInteger)
    .option('--mount <name=location>', 'serve the Delta tables under a location (a directory, s3://…, azure://…) read-only as bucket NAME; repeatable (docs/open-format.md)', parseMount)
    .action(async (options: ServeCommandOptions & { config?: string; plugin?: string[]; mount?: [string, string][] }, command: Command) => serve(serveOptions(options, command)));
  registerPutCommand(program);
  registerGetCommand(program);
  registerSqlCommand(program);
  registerStreamCommands(program);
  registerCatalogCommands(program);
  registerVersionCommands(program);
  registerRangeCommands(program);
  registerSnapshotCommands(program);
  registerCatalogMaintenanceCommands(program);
  registerVerifyCommand(program);
  registerMigrateCommand(program);
  registerSecurityCommands(program);
  return program;
}
