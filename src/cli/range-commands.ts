/**
 * `hangar update FILE NAME` and `hangar delete-range NAME --start --end`: correct or drop a time
 * range of a frame, rewriting only the segments that overlap it.
 */
import type { Command } from 'commander';
import { InvalidArgumentError } from '../errors.js';
import { type ServerOptions, withClient, withServerOption } from './client-session.js';
import { timeBound } from './get-command.js';
import { readTableFile } from './table-files.js';

/** Options of the range commands. */
interface RangeCommandOptions extends ServerOptions {
  readonly bucket?: string;
  /** Inclusive start of the range (ISO-8601 or epoch seconds). */
  readonly start?: string;
  /** Exclusive end of the range. */
  readonly end?: string;
}

/** Registers `update` and `delete-range` on the program. */
export function registerRangeCommands(program: Command): void {
  withServerOption(
    program
      .command('update')
      .description("replace the rows of a time range of a frame with a file's rows (default range: the file's first to last time)")
      .argument('<file>', '.parquet, .csv or .arrow/.feather file with the frame\'s columns and time column, sorted')
      .argument('<name>', 'frame name')
      .option('--bucket <bucket>', 'bucket of the frame (default: the default bucket)')
      .option('--start <time>', 'replace from this time (inclusive; ISO-8601 or epoch seconds); needs --end')
      .option('--end <time>', 'replace up to this time (exclusive); needs --start'),
  ).action(async (file: string, name: string, options: RangeCommandOptions) => {
    if ((options.start === undefined) !== (options.end === undefined)) throw new InvalidArgumentError('give both --start and --end, or neither');
    const table = await readTableFile(file);
    await withClient(options, async (client) => {
      const summary = await client.put(name, table, {
        mode: 'update',
        ...(options.bucket ? { bucket: options.bucket } : {}),
        ...(options.start !== undefined && options.end !== undefined ? { range: [timeBound(options.start), timeBound(options.end)] as const } : {}),
      });
      const { rowsRemoved, segmentsRewritten } = summary;
      process.stdout.write(
        `updated ${summary.bucket}/${summary.name}: ${rowsRemoved ?? 0} rows replaced by ${summary.rowsWritten}, ` +
          `${segmentsRewritten ?? 0} segment(s) rewritten (version ${summary.version}, ${summary.rows} rows in total)\n`,
      );
    });
  });

  withServerOption(
    program
      .command('delete-range')
      .description('remove the rows of a frame whose time lies in [--start, --end), as a new version')
      .argument('<name>', 'frame name')
      .requiredOption('--start <time>', 'from this time (inclusive; ISO-8601 or epoch seconds)')
      .requiredOption('--end <time>', 'up to this time (exclusive)')
      .option('--bucket <bucket>', 'bucket of the frame (default: the default bucket)'),
  ).action(async (name: string, options: RangeCommandOptions) =>
    withClient(options, async (client) => {
      const result = await client.deleteRange(name, timeBound(options.start!), timeBound(options.end!), options.bucket ? { bucket: options.bucket } : {});
      process.stdout.write(
        `removed ${result.rowsRemoved} rows from ${options.bucket ?? 'default'}/${name} (${result.segmentsRewritten} segment(s) rewritten; ` +
          `version ${result.version}, ${result.rows} rows left)\n`,
      );
    }),
  );
}
