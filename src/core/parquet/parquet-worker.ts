/**
 * Worker thread for Parquet encode/decode, so the event loop never runs the codec. Encoding uses
 * the plain writer (plain-parquet-writer.ts) for the column types it covers and parquet-wasm for
 * the rest; decoding uses the plain reader (plain-parquet-reader.ts) for the files it covers and
 * parquet-wasm for the rest. Messages are described by {@link CodecRequest} and {@link CodecReply}.
 */
import { createRequire } from 'node:module';
import { parentPort } from 'node:worker_threads';
import { tableFromIPC, tableToIPC } from 'apache-arrow';
import { encapsulateMessage, splitIpcStream } from '../ipc-message.js';
import { readPlainParquet } from './plain-parquet-reader.js';
import { PlainParquetUnsupported, plainParquetLayout, writePlainParquet } from './plain-parquet-writer.js';

const pq = createRequire(import.meta.url)('parquet-wasm/node') as typeof import('parquet-wasm/node');

/** An encode request: an IPC stream to write as one Parquet file. */
export interface EncodeRequest {
  readonly op: 'encode';
  readonly id: number;
  readonly ipc: ArrayBuffer;
  readonly rowGroupRows: number;
  readonly dictionaryColumns: readonly string[];
  readonly statisticsColumns: readonly string[];
  readonly compression: SegmentCompression;
}

/**
 * How segment pages are compressed. `none`: uncompressed, written by the plain writer where it
 * covers the schema (several times faster); `lz4`: LZ4_RAW by parquet-wasm (smaller files).
 */
export type SegmentCompression = 'none' | 'lz4';

/** A decode request: row groups of a Parquet file to return as one IPC stream. */
export interface DecodeRequest {
  readonly op: 'decode';
  readonly id: number;
  readonly parquet: Uint8Array;
  /** `parquet`'s buffer was transferred: transfer it back with the reply. */
  readonly returnInput: boolean;
  readonly rowGroups: readonly number[];
  readonly batchRows: number;
  readonly columns?: readonly string[];
}

/** What the pool posts to a worker. */
export type CodecRequest = EncodeRequest | DecodeRequest;

/**
 * What a worker posts back: the result bytes (transferred), or why it failed; `input` is a decode's
 * transferred input, handed back so the pool's thread frees it.
 */
export type CodecReply = ({ readonly id: number; readonly ok: true; readonly bytes: ArrayBuffer } | { readonly id: number; readonly ok: false; readonly message: string }) & {
  readonly input?: ArrayBuffer;
};

function encode(request: EncodeRequest): Uint8Array {
  const ipc = new Uint8Array(request.ipc);
  if (request.compression === 'none') {
    const table = tableFromIPC(ipc);
    if (plainParquetLayout(table.schema)) {
      try {
        return writePlainParquet(table, {
          rowGroupRows: request.rowGroupRows,
          statisticsColumns: request.statisticsColumns,
          arrowSchemaMessage: encapsulateMessage(splitIpcStream(ipc)[0]!),
        });
      } catch (error) {
        // Data the plain writer declines (nulls in a non-nullable column): parquet-wasm decides.
        if (!(error instanceof PlainParquetUnsupported)) throw error;
      }
    }
  }
  let builder = new pq.WriterPropertiesBuilder()
    .setCompression(request.compression === 'lz4' ? pq.Compression.LZ4_RAW : pq.Compression.UNCOMPRESSED)
    // Dictionary-encoding high-cardinality numeric columns triples write time for no gain;
    // keep it where it pays: strings, binaries and Arrow dictionary columns.
    .setDictionaryEnabled(false)
    .setStatisticsEnabled(pq.EnabledStatistics.None)
    .setMaxRowGroupSize(request.rowGroupRows)
    .setCreatedBy('hangar');
  for (const column of request.dictionaryColumns) builder = builder.setColumnDictionaryEnabled(column, true);
  for (const column of request.statisticsColumns) builder = builder.setColumnStatisticsEnabled(column, pq.EnabledStatistics.Chunk);
  return pq.writeParquet(pq.Table.fromIPCStream(ipc), builder.build());
}

async function decode(request: DecodeRequest): Promise<Uint8Array> {
  try {
    return readPlainParquet(request.parquet, request);
  } catch {
    // Not a file the plain reader covers (or one it cannot make sense of): parquet-wasm decides,
    // and reports what is wrong with a malformed file.
  }
  const options = { batchSize: request.batchRows, rowGroups: [...request.rowGroups] };
  if (!request.columns) return pq.readParquet(request.parquet, options).intoIPCStream();
  const wanted = [...new Set(request.columns)];
  // parquet-wasm's synchronous reader ignores its `columns` option; its file reader honours it and
  // touches only the projected column chunks, which is what lets ranged reads leave the other
  // chunks unfetched (zeros). Should it fail, the synchronous reader decodes all and we project.
  let ipc: Uint8Array;
  try {
    const file = await pq.ParquetFile.fromFile(new Blob([request.parquet]));
    try {
      ipc = (await file.read({ ...options, columns: wanted })).intoIPCStream();
    } finally {
      file.free();
    }
  } catch {
    ipc = pq.readParquet(request.parquet, options).intoIPCStream();
  }
  // Table.select returns the columns in the requested order, which the engine's schema follows;
  // it also drops extra columns the reader matched by dotted name (a flat 'p.q' for a struct 'p').
  return tableToIPC(tableFromIPC(ipc).select(wanted), 'stream');
}

parentPort?.on('message', async (request: CodecRequest) => {
  const input = request.op === 'decode' && request.returnInput ? (request.parquet.buffer as ArrayBuffer) : undefined;
  const handBack = input ? { input } : {};
  try {
    const result = request.op === 'encode' ? encode(request) : await decode(request);
    // Results are fresh buffers (copied out of wasm memory, or assembled here): transfer them.
    const out = result.byteOffset === 0 && result.byteLength === result.buffer.byteLength ? result : result.slice();
    const reply: CodecReply = { id: request.id, ok: true, bytes: out.buffer as ArrayBuffer, ...handBack };
    parentPort!.postMessage(reply, input ? [out.buffer as ArrayBuffer, input] : [out.buffer as ArrayBuffer]);
  } catch (error) {
    const reply: CodecReply = { id: request.id, ok: false, message: error instanceof Error ? error.message : String(error), ...handBack };
    parentPort!.postMessage(reply, input ? [input] : []);
  }
});
