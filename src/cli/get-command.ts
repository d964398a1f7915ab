/**
 * `hangar get NAME`: writes a frame to a file (format by extension), previews it on a terminal,
 * or streams it as CSV into a pipe.
 */
import { open, rename, rm, writeFile } from 'node:fs/promises';
import { finished } from 'node:stream/promises';
import type { Command } from 'commander';
import { type RecordBatch, Table } from 'apache-arrow';
import type { GetOptions, HangarClient } from '../client/hangar-client.js';
import { InvalidArgumentError } from '../core/errors.js';
import { type ServerOptions, withClient, withServerOption, writeTo } from './client-session.js';
import { csvHeader, csvRows } from './csv-writer.js';
import { startProgress } from './progress.js';
import { encodeTable, formatOf } from './table-files.js';
import { renderPreview } from './table-preview.js';

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
  /** File to write; its extension names the format. */
  readonly output?: string;
}

const PREVIEW_ROWS = 20;

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
  };
}

/** A command-line time bound: a plain number is epoch seconds, anything else goes as ISO-8601 text. */
function timeBound(text: string): string | number {
  return /^-?\d+(\.\d+)?$/.test(text.trim()) ? Number(text) : text;
}

/** A command-line row limit. @throws InvalidArgumentError unless a non-negative integer */
function rowLimit(text: string): number {
  if (!/^\d+$/.test(text.trim())) throw new InvalidArgumentError(`--limit must be a non-negative integer, got '${text}'`);
  return Number(text);
}

/** Whether a get returns only some rows (a time range or a limit), so the frame's row count is not its size. */
function selectsRows(options: GetOptions): boolean {
  return options.start !== undefined || options.end !== undefined || options.limit !== undefined;
}

/** Writes the frame to a file, streaming CSV and collecting the other formats (they need the whole table). */
async function getToFile(client: HangarClient, name: string, path: string, options: GetOptions): Promise<void> {
  const format = formatOf(path);
  const progress = startProgress(`get ${name}`);
  const selecting = selectsRows(options);
  if (process.stderr.isTTY && !selecting) {
    // The total only feeds the progress bar, so it is asked for only when there is one (and it is
    // the frame's, so not for a range).
    void client.stat(name, options).then((info) => progress.setTotal(info.rows), () => undefined);
  }
  const stream = client.getStream(name, options);
  let rows = 0;
  try {
    if (format === 'csv') {
      // Written under a temporary name, so a failed download never leaves a truncated CSV behind.
      const partial = `${path}.partial`;
      // Opening first reports a bad directory at once instead of as a stream error later.
      const file = (await open(partial, 'w')).createWriteStream();
      const closed = finished(file);
      closed.catch(() => undefined); // awaited below; this only keeps an early failure handled
      try {
        await writeTo(file, csvHeader(await stream.schema()));
        for await (const batch of stream) {
          await writeTo(file, csvRows(batch));
          progress.update((rows += batch.numRows));
        }
        file.end();
        await closed;
        await rename(partial, path);
      } catch (error) {
        file.destroy();
        await closed.catch(() => undefined);
        await rm(partial, { force: true });
        throw error;
      }
    } else {
      const batches: RecordBatch[] = [];
      for await (const batch of stream) {
        batches.push(batch);
        progress.update((rows += batch.numRows));
      }
      await writeFile(path, await encodeTable(new Table(await stream.schema(), batches), format));
    }
  } finally {
    progress.finish();
  }
}

/**
 * Prints the first rows and the frame's size, fetching only the rows shown. With a range or limit
 * the size is that of the selection, so the whole selection is streamed to count it.
 */
async function preview(client: HangarClient, name: string, options: GetOptions): Promise<void> {
  const selecting = selectsRows(options);
  const [info, { head, rows }] = await Promise.all([
    selecting ? undefined : client.stat(name, options),
    (async () => {
      const stream = client.getStream(name, options);
      const batches: RecordBatch[] = [];
      let rows = 0;
      for await (const batch of stream) {
        if (rows < PREVIEW_ROWS) batches.push(batch);
        rows += batch.numRows;
        if (rows >= PREVIEW_ROWS && !selecting) break; // leaving the loop cancels the call
      }
      return { head: new Table(await stream.schema(), batches), rows };
    })(),
  ]);
  const total = info?.rows ?? rows;
  process.stdout.write(renderPreview(head, total, { rows: PREVIEW_ROWS, ...(process.stdout.columns ? { width: process.stdout.columns } : {}) }));
}

/** Streams the frame to stdout as CSV; a reader that stops early (`| head`) ends it quietly. */
async function streamCsv(client: HangarClient, name: string, options: GetOptions): Promise<void> {
  const stream = client.getStream(name, options);
  let readerGone = false;
  const onError = (error: NodeJS.ErrnoException): void => {
    if (error.code !== 'EPIPE') return;
    readerGone = true;
    stream.cancel();
  };
  process.stdout.on('error', onError);
  try {
    await writeTo(process.stdout, csvHeader(await stream.schema()));
    for await (const batch of stream) {
      if (readerGone) break;
      await writeTo(process.stdout, csvRows(batch));
    }
  } catch (error) {
    if (!readerGone) throw error;
  } finally {
    process.stdout.off('error', onError);
  }
}

/** Runs `hangar get`. */
export async function getFrame(name: string, options: GetCommandOptions): Promise<void> {
  if (options.output) formatOf(options.output); // refuse an unknown extension before downloading
  const get = getOptions(options);
  await withClient(options, async (client) => {
    if (options.output) await getToFile(client, name, options.output, get);
    else if (process.stdout.isTTY) await preview(client, name, get);
    else await streamCsv(client, name, get);
  });
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
      .option('-o, --output <file>', 'write to FILE (.parquet, .csv, .arrow, .feather, .arrows)'),
  ).action(async (name: string, options: GetCommandOptions) => getFrame(name, options));
}
