/** Reads and writes tables as files, choosing Parquet, CSV or Arrow IPC by the file extension. */
import { readFile, writeFile } from 'node:fs/promises';
import { basename, extname } from 'node:path';
import { type Table, tableFromIPC, tableToIPC } from 'apache-arrow';
import { InvalidArgumentError } from '../errors.js';
import { joinIpcStream } from '../format/ipc-message.js';
import { importTableFile } from '../core/table-import.js';
import { csvHeader, csvRows } from '../format/csv-writer.js';
import { unifyDictionaries } from './unify-dictionaries.js';

/** Loads parquet-wasm only when a Parquet file is involved: compiling it slows every command. */
const parquet = (): Promise<typeof import('parquet-wasm/node')> => import('parquet-wasm/node');

/** The file formats the CLI reads and writes. */
export type TableFormat = 'parquet' | 'csv' | 'arrow-file' | 'arrow-stream';

const FORMATS: Record<string, TableFormat> = {
  '.parquet': 'parquet',
  '.pq': 'parquet',
  '.csv': 'csv',
  '.arrow': 'arrow-file',
  '.feather': 'arrow-file',
  '.ipc': 'arrow-file',
  '.arrows': 'arrow-stream',
};

/** The format a path's extension names. @throws InvalidArgumentError for unknown extensions */
export function formatOf(path: string): TableFormat {
  const format = FORMATS[extname(path).toLowerCase()];
  if (!format) {
    throw new InvalidArgumentError(
      `cannot tell the format of ${JSON.stringify(path)}; use one of ${Object.keys(FORMATS).join(', ')}`,
    );
  }
  return format;
}

/** Reads a Parquet, CSV or Arrow IPC (file or stream) file into a Table. */
export async function readTableFile(path: string): Promise<Table> {
  const format = formatOf(path);
  const bytes = await readFile(path);
  try {
    switch (format) {
      case 'parquet':
        return tableFromIPC((await parquet()).readParquet(bytes).intoIPCStream());
      case 'csv':
        return await csvTable(path);
      case 'arrow-file':
      case 'arrow-stream':
        // tableFromIPC recognises both IPC layouts, so a mislabelled file still reads.
        return tableFromIPC(bytes);
    }
  } catch (error) {
    if (error instanceof InvalidArgumentError) throw new InvalidArgumentError(`${path}: ${error.message}`);
    throw new InvalidArgumentError(`cannot read ${path} as ${format}: ${error instanceof Error ? error.message : String(error)}`);
  }
}

/** A CSV file read by DuckDB's read_csv (types sniffed, dates and timestamps included). */
async function csvTable(path: string): Promise<Table> {
  const messages = [];
  for await (const message of importTableFile(path, 'csv', { displayName: basename(path) })) messages.push(message);
  return tableFromIPC(joinIpcStream(messages));
}

/** Encodes a table in a format (CSV as text, the others as bytes). */
export async function encodeTable(table: Table, format: TableFormat): Promise<Uint8Array | string> {
  switch (format) {
    case 'parquet': {
      const { Table: WasmTable, writeParquet } = await parquet();
      return writeParquet(WasmTable.fromIPCStream(tableToIPC(table, 'stream')));
    }
    case 'csv':
      return csvHeader(table.schema) + table.batches.map((batch) => csvRows(batch)).join('');
    case 'arrow-file':
      return tableToIPC(unifyDictionaries(table), 'file');
    case 'arrow-stream':
      return tableToIPC(table, 'stream');
  }
}

/** Writes a table to a file in the format its extension names. */
export async function writeTableFile(path: string, table: Table): Promise<void> {
  await writeFile(path, await encodeTable(table, formatOf(path)));
}
