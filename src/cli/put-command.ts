/** `hangar put FILE NAME`: stores a Parquet, CSV or Arrow file as a frame. */
import { type Command, Option } from 'commander';
import type { RecordBatch, Table } from 'apache-arrow';
import type { PutMode } from '../core/put-mode.js';
import { type ServerOptions, withClient, withServerOption } from './client-session.js';
import { startProgress } from './progress.js';
import { readTableFile } from './table-files.js';

/** Options of `hangar put`. */
export interface PutCommandOptions extends ServerOptions {
  /** Target bucket (default: the server's default bucket). */
  readonly bucket?: string;
  /** What to do if the frame exists. */
  readonly mode: PutMode;
  /** Let an append start before the frame's last time. */
  readonly allowUnordered?: boolean;
  /** `evolve`: an append may add or omit columns. */
  readonly schema?: 'strict' | 'evolve';
}

/** Rows per batch handed to the client: small enough for the progress bar to move smoothly. */
const ROWS_PER_STEP = 65_536;

/** Yields the table's batches in steps, reporting the rows handed over so far. */
function* steps(table: Table, onRows: (rows: number) => void): Generator<RecordBatch> {
  let rows = 0;
  for (const batch of table.batches) {
    for (let start = 0; start < batch.numRows; start += ROWS_PER_STEP) {
      const slice = batch.slice(start, Math.min(start + ROWS_PER_STEP, batch.numRows));
      yield slice;
      rows += slice.numRows;
      onRows(rows);
    }
  }
}

/** Reads the file and puts it; prints a one-line summary. */
export async function putFile(file: string, name: string, options: PutCommandOptions): Promise<void> {
  const table = await readTableFile(file);
  await withClient(options, async (client) => {
    const progress = startProgress(`put ${name}`, { total: table.numRows });
    try {
      // An empty table has no batch to stream, so send the Table itself: it carries the schema.
      const source = table.numRows === 0 ? table : steps(table, (rows) => progress.update(rows));
      const summary = await client.put(name, source, {
        mode: options.mode,
        ...(options.bucket ? { bucket: options.bucket } : {}),
        ...(options.allowUnordered ? { allowUnordered: true } : {}),
        ...(options.schema === 'evolve' ? { schema: 'evolve' as const } : {}),
      });
      progress.finish();
      process.stdout.write(
        `stored ${summary.rowsWritten} rows as ${summary.bucket}/${summary.name} (version ${summary.version}, ${summary.rows} rows in total)\n`,
      );
    } finally {
      progress.finish();
    }
  });
}

/** Registers `put` on the program. */
export function registerPutCommand(program: Command): void {
  withServerOption(
    program
      .command('put')
      .description('store a .parquet, .csv or .arrow/.feather file as a frame')
      .argument('<file>', 'file to upload; its extension names the format')
      .argument('<name>', 'frame name')
      .option('--bucket <bucket>', 'bucket to store the frame in (default: the default bucket)')
      .addOption(
        new Option('--mode <mode>', 'if the frame exists: fail, add the rows, replace it, or replace the rows of the file\'s time range')
          .choices(['error', 'append', 'replace', 'update'])
          .default('error'),
      )
      .option('--allow-unordered', 'let an append start before the frame\'s last time (refused by default)')
      .addOption(
        new Option('--schema <rule>', 'with --mode append: "evolve" lets the file add or omit columns (missing values read as null)').choices(['strict', 'evolve']),
      ),
  ).action(async (file: string, name: string, options: PutCommandOptions) => putFile(file, name, options));
}
