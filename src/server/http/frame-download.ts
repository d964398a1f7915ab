/**
 * Streams a frame or query result to an HTTP response as Arrow IPC, Parquet, CSV or JSON, one
 * record batch at a time with backpressure, so a download never holds more than a batch or two.
 */
import type { ServerResponse } from 'node:http';
import { type DataType, Precision, RecordBatchReader, type RecordBatch, Type, type Vector } from 'apache-arrow';
import { CancelledError, InvalidArgumentError } from '../../errors.js';
import { type IpcMessage, pad8, writeEndOfStream, writeFramedHeader } from '../../format/ipc-message.js';
import { csvHeader, csvRows } from '../../format/csv-writer.js';
import { cellFormatter, decimalText, decimalUnscaled } from '../../format/value-format.js';

/** The formats a download can take. */
export const DOWNLOAD_FORMATS = ['arrow', 'parquet', 'csv', 'json'] as const;

/** One of {@link DOWNLOAD_FORMATS}. */
export type DownloadFormat = (typeof DOWNLOAD_FORMATS)[number];

/** The media type of each format. */
export const DOWNLOAD_MEDIA_TYPES: Readonly<Record<DownloadFormat, string>> = {
  arrow: 'application/vnd.apache.arrow.stream',
  parquet: 'application/vnd.apache.parquet',
  csv: 'text/csv; charset=utf-8',
  json: 'application/json',
};

/**
 * The format of a download: the `format` parameter if given, else the first `Accept` media type
 * that names one, else Arrow.
 */
export function negotiateFormat(format: string | undefined, accept: string | undefined): DownloadFormat {
  if (format !== undefined) return format as DownloadFormat;
  for (const part of (accept ?? '').split(',')) {
    const type = part.split(';')[0]!.trim().toLowerCase();
    const found = DOWNLOAD_FORMATS.find((candidate) => DOWNLOAD_MEDIA_TYPES[candidate].split(';')[0] === type);
    if (found) return found;
    if (type === 'application/x-parquet' || type === 'application/parquet') return 'parquet';
  }
  return 'arrow';
}

/** Writes a chunk, waiting for the socket to drain when its buffer is full. */
async function send(reply: ServerResponse, chunk: Uint8Array | string): Promise<void> {
  if (reply.destroyed) throw new CancelledError('the client went away during the download');
  if (reply.write(chunk)) return;
  await new Promise<void>((resolve) => {
    const done = (): void => {
      reply.off('drain', done);
      reply.off('close', done);
      resolve();
    };
    reply.on('drain', done);
    reply.on('close', done);
  });
}

/** The messages as encapsulated IPC stream bytes (framing and header, then the body as it lies). */
async function* ipcStreamBytes(messages: AsyncIterable<IpcMessage>): AsyncGenerator<Uint8Array> {
  for await (const message of messages) {
    const framing = new Uint8Array(8 + pad8(message.header.byteLength));
    writeFramedHeader(framing, 0, message.header);
    yield framing;
    if (message.body.byteLength > 0) yield message.body;
  }
  const end = new Uint8Array(8);
  writeEndOfStream(end, 0);
  yield end;
}

/**
 * Streams `messages` (Schema first) to `reply` in `format`. The status and headers are sent here,
 * once the first message is ready, so an error before it can still become a problem response.
 */
export async function streamDownload(reply: ServerResponse, messages: AsyncIterable<IpcMessage>, format: DownloadFormat, filename: string): Promise<number> {
  const bytes = ipcStreamBytes(messages);
  const first = await bytes.next();
  const rest = (async function* () {
    if (!first.done) yield first.value;
    yield* bytes;
  })();
  reply.writeHead(200, {
    'content-type': DOWNLOAD_MEDIA_TYPES[format],
    'content-disposition': `attachment; filename="${filename.replace(/[^\w.-]/g, '_')}.${format === 'arrow' ? 'arrows' : format}"`,
  });
  let sent = 0;
  const out = async (chunk: Uint8Array | string): Promise<void> => {
    sent += typeof chunk === 'string' ? Buffer.byteLength(chunk) : chunk.byteLength;
    await send(reply, chunk);
  };
  if (format === 'arrow') {
    for await (const chunk of rest) await out(chunk);
  } else {
    const reader = await RecordBatchReader.from(rest);
    await reader.open();
    if (format === 'csv') await writeCsv(reader, out);
    else if (format === 'json') await writeJson(reader, out);
    else await writeParquet(reader, out);
  }
  reply.end();
  return sent;
}

type Out = (chunk: Uint8Array | string) => Promise<void>;

async function writeCsv(reader: AsyncIterable<RecordBatch> & { schema: RecordBatch['schema'] }, out: Out): Promise<void> {
  await out(csvHeader(reader.schema));
  for await (const batch of reader) await out(csvRows(batch));
}

/** A JSON array of row objects: numbers and booleans as JSON values, the rest as CSV writes them. */
async function writeJson(reader: AsyncIterable<RecordBatch>, out: Out): Promise<void> {
  await out('[');
  let firstRow = true;
  for await (const batch of reader) {
    const names = batch.schema.fields.map((field) => JSON.stringify(field.name));
    const cells = batch.schema.fields.map((_, i) => jsonCell(batch.getChildAt(i)!));
    // Sent a few thousand rows at a time, so no batch's worth of row strings is alive at once.
    for (let start = 0; start < batch.numRows; start += JSON_ROWS_PER_CHUNK) {
      const rows: string[] = [];
      for (let row = start; row < Math.min(batch.numRows, start + JSON_ROWS_PER_CHUNK); row++) {
        let text = '{';
        for (let i = 0; i < names.length; i++) text += `${i === 0 ? '' : ','}${names[i]}:${cells[i]!(row)}`;
        rows.push(`${text}}`);
      }
      await out(`${firstRow ? '' : ','}\n${rows.join(',\n')}`);
      firstRow = false;
    }
  }
  await out('\n]\n');
}

/** Rows of JSON text formatted before they are sent. */
const JSON_ROWS_PER_CHUNK = 4096;

/** Formats one column's cells as JSON text: numbers from their buffers, the rest as CSV writes them. */
function jsonCell(column: Vector): (row: number) => string {
  const type = column.type as DataType;
  const data = column.data[0];
  const plainNumbers = data && (type.typeId === Type.Int || (type.typeId === Type.Float && (type as DataType & { precision: Precision }).precision !== Precision.HALF));
  if (plainNumbers) {
    const values = data.values as unknown as ArrayLike<number | bigint>;
    const offset = data.offset;
    return (row) => {
      if (!column.isValid(row)) return 'null';
      const value = values[offset + row]!;
      if (typeof value === 'bigint') return value <= MAX_SAFE && value >= -MAX_SAFE ? value.toString() : `"${value}"`;
      return Number.isFinite(value) ? String(value) : `"${value}"`;
    };
  }
  if (data && type.typeId === Type.Decimal) {
    // Exact digits as a JSON number while a double holds them exactly, else as a string (like int64).
    const { scale, bitWidth } = type as DataType & { scale: number; bitWidth: number };
    const words = data.values as unknown as Uint32Array;
    const stride = bitWidth / 32;
    return (row) => {
      if (!column.isValid(row)) return 'null';
      const unscaled = decimalUnscaled(words, (data.offset + row) * stride, stride);
      const text = decimalText(unscaled, scale);
      return unscaled <= MAX_SAFE && unscaled >= -MAX_SAFE ? text : `"${text}"`;
    };
  }
  if (type.typeId === Type.Bool) {
    return (row) => {
      const value: unknown = column.get(row);
      return value === null || value === undefined ? 'null' : String(value);
    };
  }
  const text = cellFormatter(column);
  return (row) => {
    const value = text(row);
    return value === undefined ? 'null' : JSON.stringify(value);
  };
}

const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);

/** Loads parquet-wasm only for Parquet downloads: compiling it costs a moment. */
const parquetWasm = (): Promise<typeof import('parquet-wasm/node')> => import('parquet-wasm/node');

/** Parquet through parquet-wasm's streaming writer: one row group per record batch. */
async function writeParquet(reader: AsyncIterable<RecordBatch> & { schema: RecordBatch['schema'] }, out: Out): Promise<void> {
  const wasm = await parquetWasm();
  const { RecordBatchStreamWriter } = await import('apache-arrow');
  const iterator = reader[Symbol.asyncIterator]();
  const batches = new ReadableStream({
    async pull(controller) {
      const next = await iterator.next();
      if (next.done) {
        controller.close();
        return;
      }
      // Hand the batch to WebAssembly as a one-batch IPC stream (dictionaries included).
      const table = wasm.Table.fromIPCStream(RecordBatchStreamWriter.writeAll([next.value]).toUint8Array(true));
      for (const batch of table.recordBatches()) controller.enqueue(batch);
      table.free();
    },
  });
  const encoded = await wasm.transformParquetStream(batches);
  const chunks = encoded.getReader();
  for (let next = await chunks.read(); !next.done; next = await chunks.read()) {
    await out(next.value as Uint8Array);
  }
}

/** @throws InvalidArgumentError unless `format` is one of {@link DOWNLOAD_FORMATS} */
export function assertDownloadFormat(format: string): asserts format is DownloadFormat {
  if (!(DOWNLOAD_FORMATS as readonly string[]).includes(format)) {
    throw new InvalidArgumentError(`unknown format ${JSON.stringify(format)}; use one of ${DOWNLOAD_FORMATS.join(', ')}`);
  }
}
