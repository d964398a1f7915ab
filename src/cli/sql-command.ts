/**
 * `hangar sql "SELECT …"`: runs a query on the server and writes its result like `hangar get`
 * does: to a file (format by extension), as a preview on a terminal, or as CSV into a pipe.
 */
import type { Command } from 'commander';
import { type ServerOptions, withClient, withServerOption } from './client-session.js';
import { timeBound } from './get-command.js';
import { emitResult } from './result-output.js';

/** Options of `hangar sql`. */
export interface SqlCommandOptions extends ServerOptions {
  /** The bucket whose frames the query names without a bucket (default: the default bucket). */
  readonly bucket?: string;
  /** Query the frames as they were at this time (ISO-8601 or epoch seconds). */
  readonly asOf?: string;
  /** Query every frame of the bucket as this snapshot holds it. */
  readonly snapshot?: string;
  /** File to write; its extension names the format. */
  readonly output?: string;
}

/** Runs `hangar sql`. */
export async function runSql(sql: string, options: SqlCommandOptions): Promise<void> {
  const query = {
    ...(options.bucket ? { bucket: options.bucket } : {}),
    ...(options.asOf === undefined ? {} : { asOf: timeBound(options.asOf) }),
    ...(options.snapshot === undefined ? {} : { snapshot: options.snapshot }),
  };
  // A query's row count is known only by running it, so a preview streams the whole result.
  await withClient(options, (client) => emitResult({ label: 'sql', open: () => client.queryBatches(sql, query) }, options.output));
}

/** Registers `sql` on the program. */
export function registerSqlCommand(program: Command): void {
  withServerOption(
    program
      .command('sql')
      .description('run a read-only SQL query (DuckDB dialect): to a file with -o, else a preview on a terminal or CSV into a pipe')
      .argument('<query>', 'one SELECT statement; frames are tables, other buckets\' frames are bucket.frame')
      .option('--bucket <bucket>', 'bucket whose frames the query names without a bucket (default: the default bucket)')
      .option('--as-of <time>', 'query every frame as it was at this time (ISO-8601 or epoch seconds)')
      .option('--snapshot <name>', "query every frame of --bucket as this snapshot of it holds them")
      .option('-o, --output <file>', 'write to FILE (.parquet, .csv, .arrow, .feather, .arrows)'),
  ).action(async (sql: string, options: SqlCommandOptions) => runSql(sql, options));
}
