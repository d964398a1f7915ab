/**
 * `hangar get NAME`: writes a frame to a file (format by extension), previews it on a terminal,
 * or streams it as CSV into a pipe.
 */
import type { Command } from 'commander';
import type { GetOptions } from '../client/hangar-client.js';
import { InvalidArgumentError } from '../errors.js';
import { type ServerOptions, withClient, withServerOption } from './client-session.js';
import { emitResult } from './result-output.js';

/** Options of `hangar get`. */
export interface GetCommandOptions extends ServerOptions {
  /** Bucket of the frame. */
  readonly bucket?: string;
  /** Comma-separated columns to fetch. */
  readonly columns?: string;
  /** Inclusive lower bound on the time column: ISO-8601, or epoch seconds. */
  readonly start?: string;
  /** Exclusive upper bound on the time column: ISO-8601, or epoch seconds. */
  readonly end?: string;
  /** At most this many rows. */
  readonly limit?: string;
  /** Read this version of the frame. */
  readonly version?: string;
  /** Read the version current at this time (ISO-8601 or epoch seconds). */
  readonly asOf?: string;
  /** Read the version this snapshot of the bucket holds. */
  readonly snapshot?: string;
  /** Only the last this many rows. */
  readonly tail?: string;
  /** File to write; its extension names the format. */
  readonly output?: string;
}

function getOptions(options: GetCommandOptions): GetOptions {
  const columns = options.columns
    ?.split(',')
    .map((column) => column.trim())
    .filter((column) => column.length > 0);
  return {
    ...(options.bucket ? { bucket: options.bucket } : {}),
    ...(columns?.length ? { columns } : {}),
    ...(options.start === undefined ? {} : { start: timeBound(options.start) }),
    ...(options.end === undefined ? {} : { end: timeBound(options.end) }),
    ...(options.limit === undefined ? {} : { limit: rowLimit(options.limit) }),
    ...(options.version === undefined ? {} : { version: versionNumber(options.version) }),
    ...(options.asOf === undefined ? {} : { asOf: timeBound(options.asOf) }),
    ...(options.snapshot === undefined ? {} : { snapshot: options.snapshot }),
    ...(options.tail === undefined ? {} : { tail: rowLimit(options.tail, '--tail') }),
  };
}

/** A command-line version number. @throws InvalidArgumentError unless a positive integer */
export function versionNumber(text: string): number {
  if (!/^\d+$/.test(text.trim()) || Number(text) < 1) throw new InvalidArgumentError(`a version is a positive integer, got '${text}'`);
  return Number(text);
}

/** A command-line time bound: a plain number is epoch seconds, anything else goes as ISO-8601 text. */
export function timeBound(text: string): string | number {
  return /^-?\d+(\.\d+)?$/.test(text.trim()) ? Number(text) : text;
}

/** A command-line row limit. @throws InvalidArgumentError unless a non-negative integer */
function rowLimit(text: string, option = '--limit'): number {
  if (!/^\d+$/.test(text.trim())) throw new InvalidArgumentError(`${option} must be a non-negative integer, got '${text}'`);
  return Number(text);
}

/** Whether a get returns only some rows (a time range or a limit), so the frame's row count is not its size. */
function selectsRows(options: GetOptions): boolean {
  return options.start !== undefined || options.end !== undefined || options.limit !== undefined || options.tail !== undefined;
}

/** Runs `hangar get`. */
export async function getFrame(name: string, options: GetCommandOptions): Promise<void> {
  const get = getOptions(options);
  await withClient(options, (client) =>
    emitResult(
      {
        label: `get ${name}`,
        open: () => client.getStream(name, get),
        // A frame's stat gives its size cheaply, but not that of a time range or a limited read.
        ...(selectsRows(get) ? {} : { totalRows: async () => (await client.stat(name, get)).rows }),
      },
      options.output,
    ),
  );
}

/** Registers `get` on the program. */
export function registerGetCommand(program: Command): void {
  withServerOption(
    program
      .command('get')
      .description('fetch a frame: to a file with -o, else a preview on a terminal or CSV into a pipe')
      .argument('<name>', 'frame name')
      .option('--bucket <bucket>', 'bucket of the frame (default: the default bucket)')
      .option('--columns <names>', 'comma-separated columns to fetch')
      .option('--start <time>', "only rows at or after this time (ISO-8601 or epoch seconds) on the frame's time column")
      .option('--end <time>', 'only rows before this time (exclusive)')
      .option('--limit <rows>', 'at most this many rows')
      .option('--version <n>', 'read this version of the frame (see `hangar versions`)')
      .option('--as-of <time>', 'read the frame as it was at this time (ISO-8601 or epoch seconds)')
      .option('--snapshot <name>', 'read the version this snapshot of the bucket holds (see `hangar snapshot list`)')
      .option('--tail <rows>', "only the frame's last this many rows (reads only the last segments; `hangar tail` follows live streams)")
      .option('-o, --output <file>', 'write to FILE (.parquet, .csv, .arrow, .feather, .arrows)'),
  ).action(async (name: string, options: GetCommandOptions) => getFrame(name, options));
}
