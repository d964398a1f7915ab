/**
 * Reads CSV and Parquet files as IPC messages through DuckDB's `read_csv` (type sniffing incl.
 * dates and timestamps, any delimiter, quoting) and `read_parquet`, streamed a record batch at a
 * time: a file is never held whole in memory. Used by the HTTP upload and the CLI's `put`.
 */
import { DuckDBInstance } from '@duckdb/node-api';
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
    const csvOptions = [
      ...(options.delimiter === undefined ? [] : [`delim = ${sqlString(options.delimiter)}`]),
      ...(options.header === undefined ? [] : [`header = ${options.header}`]),
      ...columnTypesOption(options.targetSchema),
    ];
    const source = format === 'csv' ? `read_csv(${[sqlString(path), ...csvOptions].join(', ')})` : `read_parquet(${sqlString(path)})`;
    let result;
    try {
      result = await connection.stream(`SELECT * FROM ${source}`);
    } catch (error) {
      throw new InvalidArgumentError(`cannot read the ${format === 'csv' ? 'CSV' : 'Parquet'} data: ${duckDbMessage(error)}`, { cause: error });
    }
    try {
      for await (const message of encodeIpcMessages(resultBatches(result, options.batchBytes ?? 3 * MiB), Number.POSITIVE_INFINITY)) {
        const body = message.bodyParts.length === 1 ? message.bodyParts[0]! : Buffer.concat(message.bodyParts);
        yield { header: message.header, body };
      }
    } catch (error) {
      if (error instanceof InvalidArgumentError) throw error;
      throw new InvalidArgumentError(`cannot read the ${format === 'csv' ? 'CSV' : 'Parquet'} data: ${duckDbMessage(error)}`, { cause: error });
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

/** DuckDB's message without its error-class prefix and the temporary file's path. */
function duckDbMessage(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return message.replace(/^[A-Za-z ]+ Error: /, '');
}
