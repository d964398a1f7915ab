/**
 * `hangar push NAME [FILE]` and `hangar tail NAME`: push a CSV or Arrow IPC stream (a file or
 * standard input) to a live stream, printing the acknowledged IDs; and print a stream's entries as
 * CSV as they arrive (docs/streams.md).
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type RecordBatch, RecordBatchReader } from 'apache-arrow';
import type { Command } from 'commander';
import { InvalidArgumentError } from '../errors.js';
import { csvHeader, csvRows } from '../format/csv-writer.js';
import { type ServerOptions, withClient, withServerOption, writeTo } from './client-session.js';
import { formatOf, readTableFile } from './table-files.js';

/** Options of `hangar push`. */
export interface PushCommandOptions extends ServerOptions {
  readonly bucket?: string;
  /** Format of standard input: `csv` or `arrows` (default: told from its first bytes). */
  readonly format?: string;
  /** Rows per pushed batch for files read whole (CSV, Parquet, Arrow files). */
  readonly batchRows?: string;
  readonly maxLen?: string;
  readonly maxAge?: string;
}

/** Options of `hangar tail`. */
export interface TailCommandOptions extends ServerOptions {
  readonly bucket?: string;
  readonly after?: string;
  readonly count?: string;
  readonly follow: boolean;
}

function positive(text: string, option: string): number {
  if (!/^\d+$/.test(text.trim()) || Number(text) < 1) throw new InvalidArgumentError(`${option} must be a positive integer, got '${text}'`);
  return Number(text);
}

/** Standard input's first bytes, and an iterable over all of it (those bytes first). */
async function peekStdin(): Promise<{ head: Buffer; all: AsyncIterable<Uint8Array> }> {
  const iterator = (process.stdin as AsyncIterable<Buffer>)[Symbol.asyncIterator]();
  const first = await iterator.next();
  const head = first.done ? Buffer.alloc(0) : first.value;
  return {
    head,
    all: (async function* () {
      if (head.byteLength > 0) yield head;
      for (let next = await iterator.next(); !next.done; next = await iterator.next()) yield next.value;
    })(),
  };
}

/** Record batches of a table, at most `rows` each. */
function* sliced(batches: readonly RecordBatch[], rows: number): Generator<RecordBatch> {
  for (const batch of batches) for (let from = 0; from < batch.numRows; from += rows) yield batch.slice(from, Math.min(batch.numRows, from + rows));
}

/** The batches to push: an Arrow IPC stream batch by batch as it arrives; other formats read whole. */
async function pushSource(file: string | undefined, options: PushCommandOptions): Promise<{ batches: AsyncIterable<RecordBatch> | Iterable<RecordBatch>; cleanup: () => Promise<void> }> {
  const rows = options.batchRows === undefined ? 10_000 : positive(options.batchRows, '--batch-rows');
  if (file !== undefined && file !== '-') {
    if (formatOf(file) === 'arrow-stream') {
      const { createReadStream } = await import('node:fs');
      return { batches: await RecordBatchReader.from(createReadStream(file) as AsyncIterable<Uint8Array>), cleanup: async () => undefined };
    }
    return { batches: sliced((await readTableFile(file)).batches, rows), cleanup: async () => undefined };
  }
  const { head, all } = await peekStdin();
  const format = options.format ?? (head.byteLength >= 4 && head.readUInt32LE(0) === 0xffffffff ? 'arrows' : 'csv');
  if (format === 'arrows') return { batches: await RecordBatchReader.from(all), cleanup: async () => undefined };
  if (format !== 'csv') throw new InvalidArgumentError(`--format must be csv or arrows, got '${format}'`);
  // CSV types are sniffed from the whole input (DuckDB's read_csv), so it is read first.
  const directory = await mkdtemp(join(tmpdir(), 'hangar-push-'));
  const path = join(directory, 'stdin.csv');
  const chunks: Uint8Array[] = [];
  for await (const chunk of all) chunks.push(chunk);
  await writeFile(path, Buffer.concat(chunks));
  return { batches: sliced((await readTableFile(path)).batches, rows), cleanup: () => rm(directory, { recursive: true, force: true }) };
}

/** Runs `hangar push`. */
export async function pushEntries(name: string, file: string | undefined, options: PushCommandOptions): Promise<void> {
  const { batches, cleanup } = await pushSource(file, options);
  try {
    await withClient(options, async (client) => {
      const acks = await client.push(name, batches, {
        ...(options.bucket ? { bucket: options.bucket } : {}),
        ...(options.maxLen === undefined ? {} : { maxLen: Number(options.maxLen) }),
        ...(options.maxAge === undefined ? {} : { maxAge: options.maxAge }),
      });
      const ids = acks.flat();
      await writeTo(process.stdout, ids.length === 0 ? 'pushed 0 entries\n' : `pushed ${ids.length} entries: ${ids[0]} … ${ids.at(-1)}\n`);
    });
  } finally {
    await cleanup();
  }
}

/** Runs `hangar tail`: CSV (header once) as entries arrive. */
export async function tailEntries(name: string, options: TailCommandOptions): Promise<void> {
  await withClient(options, async (client) => {
    let header = false;
    const stop = new AbortController();
    process.once('SIGINT', () => stop.abort());
    try {
      for await (const batch of client.tail(name, {
        follow: options.follow,
        signal: stop.signal,
        ...(options.bucket ? { bucket: options.bucket } : {}),
        ...(options.after === undefined ? {} : { after: options.after }),
        ...(options.count === undefined ? {} : { count: positive(options.count, '--count') }),
      })) {
        if (!header) {
          await writeTo(process.stdout, csvHeader(batch.schema));
          header = true;
        }
        if (batch.numRows > 0) await writeTo(process.stdout, csvRows(batch));
      }
    } catch (error) {
      if (!stop.signal.aborted) throw error;
    }
  });
}

/** Registers `push` and `tail` on the program. */
export function registerStreamCommands(program: Command): void {
  withServerOption(
    program
      .command('push')
      .description('push entries to a live stream (created by the first push) from FILE or standard input (CSV or an Arrow IPC stream); prints the IDs acknowledged')
      .argument('<name>', 'stream name')
      .argument('[file]', 'a .csv, .parquet, .arrow or .arrows file (default: standard input)')
      .option('--bucket <bucket>', 'bucket of the stream (default: the default bucket)')
      .option('--format <format>', 'format of standard input: csv or arrows (default: told from its first bytes)')
      .option('--batch-rows <n>', 'entries per pushed batch for inputs read whole (default 10000)')
      .option('--max-len <n>', "keep at least this many newest entries (sets the stream's retention)")
      .option('--max-age <duration>', "keep entries this long, e.g. 15m, 7d (sets the stream's retention)"),
  ).action(async (name: string, file: string | undefined, options: PushCommandOptions) => pushEntries(name, file, options));
  withServerOption(
    program
      .command('tail')
      .description('print a live stream\'s entries as CSV as they arrive (Ctrl+C stops)')
      .argument('<name>', 'stream name')
      .option('--bucket <bucket>', 'bucket of the stream (default: the default bucket)')
      .option('--after <id>', 'entries after this ID; 0 for all; $ (default) only new ones')
      .option('--count <n>', 'stop after this many entries')
      .option('--no-follow', 'print what exists after --after and stop'),
  ).action(async (name: string, options: TailCommandOptions) => tailEntries(name, options));
}
