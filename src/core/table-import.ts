/**
 * Reads CSV and Parquet files as IPC messages through DuckDB's `read_csv` (type sniffing incl.
 * dates and timestamps, any delimiter, quoting) and `read_parquet`, streamed a record batch at a
 * time: a file is never held whole in memory. Used by the HTTP upload and the CLI's `put`.
 */
import { DuckDBInstance, type DuckDBResult } from '@duckdb/node-api';
import { type DataType, type Schema, TimeUnit, Type } from 'apache-arrow';
import { InvalidArgumentError } from '../errors.js';
import { encodeIpcMessages } from '../format/ipc-encoder.js';
import type { IpcMessage } from '../format/ipc-message.js';
import { resultBatches } from './sql/result-batches.js';

/** The file formats {@link importTableFile} reads. */
export type ImportFormat = 'csv' | 'parquet';

/** Options of {@link importTableFile}. */
export interface ImportOptions {
  /** Arrow bytes per record batch (default 3 MiB). */
  readonly batchBytes?: number;
  /** CSV: the delimiter (default: sniffed). */
  readonly delimiter?: string;
  /** CSV: whether the first line names the columns (default: sniffed). */
  readonly header?: boolean;
  /**
   * CSV: the schema the rows are meant for (an append's frame): its columns are read as its types
   * instead of the sniffed ones, so `7` appends to an int32 column as an int32.
   */
  readonly targetSchema?: Schema;
  /** What error messages call the file instead of its path (e.g. "the body" for an upload spooled to a temporary file). */
  readonly displayName?: string;
}

const MiB = 1024 * 1024;

/**
 * The table in a CSV or Parquet file as IPC messages (Schema first). The file is read by an
 * in-memory DuckDB of its own, closed when the messages end or the consumer stops.
 * @throws InvalidArgumentError (when iterated) if DuckDB cannot read the file as that format
 */
export async function* importTableFile(path: string, format: ImportFormat, options: ImportOptions = {}): AsyncGenerator<IpcMessage> {
  const instance = await DuckDBInstance.create(':memory:', { threads: '1' });
  const connection = await instance.connect();
  try {
    const named = (message: string): string => (options.displayName === undefined ? message : message.replaceAll(`"${path}"`, options.displayName).replaceAll(path, options.displayName));
    // A quoted empty field is an empty string, an unquoted one null (RFC 4180, and what the CSV
    // writer writes), so CSV round-trips.
    const csvSource = (delimiter: string | undefined): string =>
      `read_csv(${[
        sqlString(path),
        'allow_quoted_nulls = false',
        ...(delimiter === undefined ? [] : [`delim = ${sqlString(delimiter)}`]),
        ...(options.header === undefined ? [] : [`header = ${options.header}`]),
        ...columnTypesOption(options.targetSchema),
      ].join(', ')})`;
    const open = async (source: string): Promise<DuckDBResult> => {
      try {
        return await connection.stream(`SELECT * FROM ${source}`);
      } catch (error) {
        throw new InvalidArgumentError(`cannot read the ${format === 'csv' ? 'CSV' : 'Parquet'} data: ${named(duckDbMessage(error))}`, { cause: error });
      }
    };
    let result = await open(format === 'csv' ? csvSource(options.delimiter) : `read_parquet(${sqlString(path)})`);
    // When rows disagree on their field count, the sniffer settles for no delimiter at all and
    // reads one column named like "a,b": read it again with the comma to get DuckDB's own error.
    const names = result.columnNames();
    if (format === 'csv' && options.delimiter === undefined && names.length === 1 && names[0]!.includes(',')) {
      result = await open(csvSource(','));
    }
    try {
      for await (const message of encodeIpcMessages(resultBatches(result, options.batchBytes ?? 3 * MiB), Number.POSITIVE_INFINITY)) {
        const body = message.bodyParts.length === 1 ? message.bodyParts[0]! : Buffer.concat(message.bodyParts);
        yield { header: message.header, body };
      }
    } catch (error) {
      if (error instanceof InvalidArgumentError) throw error;
      throw new InvalidArgumentError(`cannot read the ${format === 'csv' ? 'CSV' : 'Parquet'} data: ${named(duckDbMessage(error))}`, { cause: error });
    }
  } finally {
    connection.closeSync();
    instance.closeSync();
  }
}

/** The `types = {…}` option of read_csv naming the DuckDB type of each column the schema has one for. */
function columnTypesOption(schema: Schema | undefined): string[] {
  const entries = (schema?.fields ?? []).flatMap((field) => {
    const type = duckDbTypeOf(field.type);
    return type ? [`${sqlString(field.name)}: ${sqlString(type)}`] : [];
  });
  return entries.length > 0 ? [`types = {${entries.join(', ')}}`] : [];
}

/** The DuckDB type that reads back as this Arrow type (plain types only). */
function duckDbTypeOf(type: DataType): string | undefined {
  const { typeId } = type;
  if (typeId === Type.Int) {
    const { bitWidth, isSigned } = type as DataType & { bitWidth: number; isSigned: boolean };
    const name = { 8: 'TINYINT', 16: 'SMALLINT', 32: 'INTEGER', 64: 'BIGINT' }[bitWidth];
    return name && (isSigned ? name : `U${name}`);
  }
  if (typeId === Type.Float) return (type as DataType & { precision: number }).precision === 1 ? 'FLOAT' : 'DOUBLE';
  if (typeId === Type.Utf8 || typeId === Type.LargeUtf8) return 'VARCHAR';
  if (typeId === Type.Bool) return 'BOOLEAN';
  if (typeId === Type.Date) return 'DATE';
  if (typeId === Type.Timestamp) {
    const { unit, timezone } = type as DataType & { unit: TimeUnit; timezone?: string | null };
    if (timezone) return 'TIMESTAMPTZ';
    return { [TimeUnit.SECOND]: 'TIMESTAMP_S', [TimeUnit.MILLISECOND]: 'TIMESTAMP_MS', [TimeUnit.MICROSECOND]: 'TIMESTAMP', [TimeUnit.NANOSECOND]: 'TIMESTAMP_NS' }[unit];
  }
  return undefined;
}

function sqlString(text: string): string {
  return `'${text.replaceAll("'", "''")}'`;
}

/** DuckDB's message without its error-class prefix, its list of options to try and the query. */
function duckDbMessage(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  const cut = message.search(/\n(The search space used|Possible fixes|LINE \d+:)/);
  return (cut < 0 ? message : message.slice(0, cut)).replace(/^[A-Za-z ]+ Error: /, '').trim().replace(/\s*\n\s*/g, ' ');
}
