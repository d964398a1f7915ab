/**
 * Where a command's record batches go: a file (format by extension), a preview on a terminal, or
 * CSV into a pipe. Shared by `hangar get` and `hangar sql`.
 */
import { open, rename, rm, writeFile } from 'node:fs/promises';
import { finished } from 'node:stream/promises';
import { type RecordBatch, Table } from 'apache-arrow';
import type { FlightRecordBatchStream } from '../client/record-batch-stream.js';
import { writeTo } from './client-session.js';
import { csvHeader, csvRows } from '../format/csv-writer.js';
import { startProgress } from './progress.js';
import { encodeTable, formatOf } from './table-files.js';
import { renderPreview } from './table-preview.js';

/** Rows a preview shows. */
const PREVIEW_ROWS = 20;

/** A result to print or save. */
export interface BatchResult {
  /** What the progress bar calls the transfer, e.g. `get prices`. */
  readonly label: string;
  /** Starts the call that streams the result; called once. */
  open(): FlightRecordBatchStream;
  /**
   * The result's row count, if the server can tell it without streaming the result (a whole
   * frame's `stat`). With it, a preview fetches only the rows it shows; without it, the preview
   * streams the whole result to count it.
   */
  readonly totalRows?: () => Promise<number>;
}

/**
 * Sends a result to `output` when given (format by its extension), else previews it on a terminal
 * or writes CSV into a pipe.
 * @throws InvalidArgumentError for an unknown extension, before anything is fetched
 */
export async function emitResult(result: BatchResult, output: string | undefined): Promise<void> {
  if (output) await saveResult(result, output);
  else if (process.stdout.isTTY) await previewResult(result);
  else await pipeCsv(result);
}

/** Writes the result to a file, streaming CSV and collecting the other formats (they need the whole table). */
async function saveResult(result: BatchResult, path: string): Promise<void> {
  const format = formatOf(path);
  const progress = startProgress(result.label);
  if (process.stderr.isTTY && result.totalRows) {
    // The total only feeds the progress bar, so it is asked for only when there is one.
    void result.totalRows().then((total) => progress.setTotal(total), () => undefined);
  }
  const stream = result.open();
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

/** Prints the first rows, the column types and the row count. */
async function previewResult(result: BatchResult): Promise<void> {
  const counted = result.totalRows;
  const [known, { head, rows }] = await Promise.all([
    counted?.(),
    (async () => {
      const stream = result.open();
      const batches: RecordBatch[] = [];
      let rows = 0;
      for await (const batch of stream) {
        if (rows < PREVIEW_ROWS) batches.push(batch);
        rows += batch.numRows;
        if (rows >= PREVIEW_ROWS && counted) break; // leaving the loop cancels the call
      }
      return { head: new Table(await stream.schema(), batches), rows };
    })(),
  ]);
  const width = process.stdout.columns ? { width: process.stdout.columns } : {};
  process.stdout.write(renderPreview(head, known ?? rows, { rows: PREVIEW_ROWS, ...width }));
}

/** Streams the result to stdout as CSV; a reader that stops early (`| head`) ends it quietly. */
async function pipeCsv(result: BatchResult): Promise<void> {
  const stream = result.open();
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
