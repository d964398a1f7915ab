/** The command tree of `hangar`, built with commander. */
import { Command, InvalidArgumentError as CommanderArgumentError } from 'commander';
import { registerCatalogCommands } from './catalog-commands.js';
import { registerGetCommand } from './get-command.js';
import { registerPutCommand } from './put-command.js';
import { type ServeCommandOptions, serve } from './serve-command.js';
import { registerSqlCommand } from './sql-command.js';

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

/** Builds the `hangar` program. */
export function buildProgram(): Command {
  const program = new Command('hangar').description('A dataframe store that speaks Apache Arrow Flight').showHelpAfterError();
  program
    .command('serve')
    .description('run the Flight server')
    .option('--host <host>', 'interface to bind (env HANGAR_HOST)', process.env.HANGAR_HOST ?? '127.0.0.1')
    .option('--port <port>', 'port to bind, 0 for any free port (env HANGAR_PORT)', parsePort, parsePort(process.env.HANGAR_PORT ?? '8815'))
    .option('--data <location>', 'store: a directory, file:///dir, memory: or s3://bucket/prefix?endpoint=… (env HANGAR_DATA)', process.env.HANGAR_DATA ?? './hangar-data')
    .option('--sql-timeout <ms>', 'time limit of one SQL query in milliseconds (default 60000)', parsePositiveInteger)
    .option('--sql-memory-limit <size>', "DuckDB's memory limit for all queries, e.g. 4GB (default: 80% of RAM)")
    .option('--sql-threads <n>', 'DuckDB worker threads (default: one per core)', parsePositiveInteger)
    .option('--sql-cache-dir <dir>', 'where segments of non-file stores are cached for SQL (default: in the OS temp dir)')
    .option('--sql-cache-size <bytes>', 'size bound of that cache in bytes (default 2 GiB)', parsePositiveInteger)
    .action(async (options: ServeCommandOptions) => serve(options));
  registerPutCommand(program);
  registerGetCommand(program);
  registerSqlCommand(program);
  registerCatalogCommands(program);
  return program;
}
