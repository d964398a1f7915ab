/**
 * Worker thread for Parquet encode/decode, so the event loop never runs the codec. Encoding uses
 * the plain writer (plain-parquet-writer.ts) for the column types it covers and parquet-wasm for
 * the rest; decoding uses the plain reader (plain-parquet-reader.ts) for the files it covers and
 * parquet-wasm for the rest. Messages are described by {@link CodecRequest} and {@link CodecReply}.
 * Checksums are computed and verified here too (see docs/storage-layout.md#checksums), off the
 * event loop: an encode reports the file's CRC-32s, a decode checks the ones it is given.
 */
import { createRequire } from 'node:module';
import { parentPort } from 'node:worker_threads';
import { DataType, Field, RecordBatch, Schema, Struct, Table, makeData, tableFromIPC, tableToIPC } from 'apache-arrow';
import { encapsulateMessage, encodeSchemaHeader, inspectMessage, splitIpcStream } from '../ipc-message.js';
import { crc32, formatCrc32 } from '../crc32.js';
import { EXACT_DICTIONARIES_KEY, holdsDictionary, recordDictionaries, restoreDictionaries } from './exact-dictionaries.js';
import { PARQUET_TRAILER_BYTES, footerLength, readParquetFooter } from './parquet-footer.js';
import { PageChecksumMismatch, readPlainParquet } from './plain-parquet-reader.js';
import { PlainParquetUnsupported, encodePlainParquetParts, plainFileSchema, plainParquetLayout } from './plain-parquet-writer.js';

const pq = createRequire(import.meta.url)('parquet-wasm/node') as typeof import('parquet-wasm/node');
type WriterProperties = InstanceType<typeof pq.WriterPropertiesBuilder>;

/** An encode request: an IPC stream to write as one Parquet file. */
export interface EncodeRequest {
  readonly op: 'encode';
  readonly id: number;
  readonly ipc: ArrayBuffer;
  readonly rowGroupRows: number;
  readonly dictionaryColumns: readonly string[];
  readonly statisticsColumns: readonly string[];
  readonly compression: SegmentCompression;
  /**
   * The stream holds the stored schema and the segment's dictionary batches, which Hangar keeps
   * beside the file (dictionary-layout.ts): the plain writer stores string dictionary columns as
   * dictionary-encoded Parquet strings in the dictionary's own order; any other writer stores the
   * dictionary columns' codes.
   */
  readonly keptDictionaries?: boolean;
  /**
   * Reply with the file as runs ({@link CodecReply}'s `runs`) where the plain writer wrote it: its
   * fixed-width values stay where they lie in `ipc` (handed back), so they are never copied here.
   */
  readonly asRuns?: boolean;
  /**
   * The stream in pieces, each three numbers: buffer (0: `ipc`, 1 + k: `moreInputs[k]`), offset,
   * length. Received batch bodies stay in the buffers they arrived in; aligned, Arrow reads their
   * columns there. Absent: `ipc` is the whole stream.
   */
  readonly pieces?: readonly number[];
  /** The other buffers `pieces` refers to, transferred and handed back (reply `moreInputs`). */
  readonly moreInputs?: readonly ArrayBuffer[];
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
  /** Return dictionary columns as their codes (the caller holds the kept dictionaries). */
  readonly dictionaryCodes?: boolean;
  /** Leave out the first rows (the plain reader only; see PlainReadOptions.skipRows). */
  readonly skipRows?: number;
  /** Checksums to verify first; absent for segments written before checksums. */
  readonly verify?: SegmentVerification;
  /** Return the stream in a SharedArrayBuffer (not transferred: both threads then see it). */
  readonly sharedMemory?: boolean;
}

/** What the pool posts to a worker. */
export type CodecRequest = EncodeRequest | DecodeRequest;

/** The checksums of an encoded segment file. */
export interface SegmentChecksums {
  /** CRC-32 of the whole file. */
  readonly crc32: number;
  /** CRC-32 of its footer (FileMetaData and the 8-byte trailer). */
  readonly footerCrc32: number;
  /** Every data page header carries its page's CRC-32 (the plain writer's files). */
  readonly pageCrcs: boolean;
  /** String dictionary columns are Parquet strings in the file (not their codes). */
  readonly stringCategories?: boolean;
  /** Nanosecond timestamp columns the file stores as microseconds (every value a whole microsecond). */
  readonly microsecondColumns?: readonly string[];
}

/**
 * What a decode checks before it decodes. Whole files are checked against `crc32`; partial ones (a
 * ranged fetch) against `footerCrc32` and their pages' own CRCs, and are declined when those are
 * missing (the caller then fetches the file whole).
 */
export interface SegmentVerification {
  readonly crc32?: number;
  readonly footerCrc32?: number;
  /**
   * The file's data pages carry CRCs (Hangar's plain writer). A whole file is then checked by its
   * footer CRC and its pages' CRCs, computed while the plain reader copies the values out (no pass
   * of its own over the bytes); `crc32` is the fallback when the plain reader declines the request.
   */
  readonly pageCrcs?: boolean;
  /** Only the footer and some column chunks were fetched (zeros elsewhere). */
  readonly partial: boolean;
}

/**
 * What a worker posts back: the result bytes (transferred) and, for an encode, the file's
 * checksums; or why it failed, with `damaged` when the bytes failed verification. `input` is the
 * request's transferred input (an encode's IPC stream, a handed-over decode's file), handed back
 * so the pool's thread frees it.
 */
export type CodecReply = (
  | {
      readonly id: number;
      readonly ok: true;
      /** A SharedArrayBuffer for a decode asking `sharedMemory`. */
      readonly bytes: ArrayBuffer | SharedArrayBuffer;
      readonly checksums?: SegmentChecksums;
      /**
       * An encode asked `asRuns` that the plain writer wrote: the file is these runs in order, each
       * three numbers — source (0: the handed-back `input`, 1: `bytes`, 2 + k: `pages[k]`,
       * -1 - k: `moreInputs[k]`), offset, length.
       */
      readonly runs?: readonly number[];
      /** Large parts the plain writer built in buffers of their own (byte-array pages), transferred as they are. */
      readonly pages?: readonly ArrayBuffer[];
    }
  | { readonly id: number; readonly ok: false; readonly message: string; readonly damaged?: boolean }
) & {
  readonly input?: ArrayBuffer;
  /** An encode's other input buffers (its `moreInputs`), handed back likewise. */
  readonly moreInputs?: readonly ArrayBuffer[];
};

/** Stored bytes do not match their recorded checksum. */
class ChecksumMismatch extends Error {
  override readonly name = 'ChecksumMismatch';
}

/** The CRC-32s of a file written by parquet-wasm (its pages carry none). */
function checksumsOf(file: Uint8Array): SegmentChecksums {
  const footerStart = file.byteLength - PARQUET_TRAILER_BYTES - footerLength(file);
  return { crc32: crc32(file), footerCrc32: crc32(file.subarray(footerStart)), pageCrcs: false };
}

/** An encode request's stream: one buffer, or its pieces (views of the transferred buffers). */
function streamOf(request: EncodeRequest): { whole?: Uint8Array; pieces: Uint8Array[]; byteLength: number } {
  if (!request.pieces) {
    const whole = new Uint8Array(request.ipc);
    return { whole, pieces: [whole], byteLength: whole.byteLength };
  }
  const buffers = [request.ipc, ...(request.moreInputs ?? [])];
  const pieces: Uint8Array[] = [];
  let byteLength = 0;
  for (let at = 0; at < request.pieces.length; at += 3) {
    const piece = new Uint8Array(buffers[request.pieces[at]!]!, request.pieces[at + 1]!, request.pieces[at + 2]!);
    pieces.push(piece);
    byteLength += piece.byteLength;
  }
  return { pieces, byteLength };
}

/** The first message of a stream (its schema), read from the stream's first piece. */
function schemaMessageOf(first: Uint8Array): { header: Uint8Array; body: Uint8Array } {
  const view = new DataView(first.buffer, first.byteOffset, first.byteLength);
  const at = view.getUint32(0, true) === 0xffffffff ? 4 : 0;
  return splitIpcStream(first.subarray(0, at + 4 + view.getInt32(at, true)))[0]!;
}

function encode(request: EncodeRequest): { file: Uint8Array; runs?: number[]; pages?: ArrayBuffer[]; checksums: SegmentChecksums } {
  const stream = streamOf(request);
  // Joined only where a path below needs the stream in one buffer (parquet-wasm).
  let ipc: Uint8Array | undefined = stream.whole;
  const whole = (): Uint8Array => (ipc ??= joinParts(stream.pieces, stream.byteLength));
  const kept = request.keptDictionaries === true;
  let table: Table | undefined;
  if (request.compression === 'none' || kept) {
    // Pieces are read where they lie: an aligned body's columns become views of it, not copies.
    table = tableFromIPC(stream.whole ?? stream.pieces);
    if (request.compression === 'none' && plainParquetLayout(table.schema)) {
      try {
        const fileSchema = plainFileSchema(table.schema);
        const schemaMessage = fileSchema === table.schema ? schemaMessageOf(stream.pieces[0]!) : { header: encodeSchemaHeader(fileSchema), body: new Uint8Array(0) };
        const { parts, byteLength, crc32: whole, footerCrc32, microsecondColumns } = encodePlainParquetParts(table, {
          rowGroupRows: request.rowGroupRows,
          statisticsColumns: request.statisticsColumns,
          arrowSchemaMessage: encapsulateMessage(schemaMessage),
        });
        const stringCategories = kept && fileSchema.fields.some((field) => DataType.isDictionary(field.type));
        const micros = microsecondColumns.length > 0 ? { microsecondColumns } : {};
        const checksums = { crc32: whole, footerCrc32, pageCrcs: true, ...(stringCategories ? { stringCategories } : {}), ...micros };
        return { ...(request.asRuns ? runsOf(parts, request.ipc, request.moreInputs ?? []) : { file: joinParts(parts, byteLength) }), checksums };
      } catch (error) {
        // Data the plain writer declines (nulls in a non-nullable column): parquet-wasm decides.
        if (!(error instanceof PlainParquetUnsupported)) throw error;
      }
    }
    // parquet-wasm would re-encode kept dictionaries in its own order: it stores their codes.
    if (kept) ipc = tableToIPC(asCodes(table), 'stream');
  }
  ipc = whole();
  let builder = new pq.WriterPropertiesBuilder()
    .setCompression(request.compression === 'lz4' ? pq.Compression.LZ4_RAW : pq.Compression.UNCOMPRESSED)
    // Dictionary-encoding high-cardinality numeric columns triples write time for no gain;
    // keep it where it pays: strings, binaries and Arrow dictionary columns.
    .setDictionaryEnabled(false)
    .setStatisticsEnabled(pq.EnabledStatistics.None)
    .setMaxRowGroupSize(request.rowGroupRows)
    .setCreatedBy('hangar');
  for (const column of request.dictionaryColumns) builder = builder.setColumnDictionaryEnabled(column, true);
  if (!kept) builder = withExactDictionaries(builder, ipc, table, request.dictionaryColumns);
  for (const column of request.statisticsColumns) builder = builder.setColumnStatisticsEnabled(column, pq.EnabledStatistics.Chunk);
  const file = pq.writeParquet(pq.Table.fromIPCStream(ipc), builder.build());
  return { file, checksums: checksumsOf(file) };
}

/** Parts at least this large that fill a buffer of their own are transferred, not copied into `file`. */
const OWN_PAGE_BYTES = 64 * 1024;

/**
 * A file's parts as runs: views of `input` stay there (source 0); large parts filling a plain
 * ArrayBuffer of their own (a byte-array page the writer built) go back as they are (source 2 + k,
 * `pages[k]`: copying them was a second pass over every string or binary byte); the rest are copied
 * one after another into one buffer (source 1, returned as `file`), adjacent ones into one run.
 */
function runsOf(parts: readonly Uint8Array[], input: ArrayBuffer, moreInputs: readonly ArrayBuffer[]): { file: Uint8Array; runs: number[]; pages: ArrayBuffer[] } {
  const pages: ArrayBuffer[] = [];
  /** 0 for `input`, 1 + k for `moreInputs[k]`, -1 for a buffer that is neither. */
  const inputAt = (part: Uint8Array): number => {
    if (part.buffer === input) return 0;
    const k = moreInputs.length === 0 ? -1 : moreInputs.indexOf(part.buffer as ArrayBuffer);
    return k < 0 ? -1 : k + 1;
  };
  const own = (part: Uint8Array): boolean =>
    inputAt(part) < 0 && part.buffer instanceof ArrayBuffer && part.byteLength >= OWN_PAGE_BYTES &&
    part.byteOffset === 0 && part.byteLength === part.buffer.byteLength;
  let copied = 0;
  for (const part of parts) if (inputAt(part) < 0 && !own(part)) copied += part.byteLength;
  const file = new Uint8Array(Buffer.allocUnsafeSlow(copied).buffer, 0, copied);
  const runs: number[] = [];
  let at = 0;
  for (const part of parts) {
    if (part.byteLength === 0) continue;
    const source = inputAt(part);
    if (source >= 0) {
      runs.push(source === 0 ? 0 : -source, part.byteOffset, part.byteLength);
      continue;
    }
    if (own(part)) {
      // A buffer is transferred once; should a part repeat, its runs point at the same page.
      let index = pages.indexOf(part.buffer as ArrayBuffer);
      if (index < 0) index = pages.push(part.buffer as ArrayBuffer) - 1;
      runs.push(2 + index, 0, part.byteLength);
      continue;
    }
    file.set(part, at);
    const last = runs.length - 3;
    if (last >= 0 && runs[last] === 1 && runs[last + 1]! + runs[last + 2]! === at) runs[last + 2]! += part.byteLength;
    else runs.push(1, at, part.byteLength);
    at += part.byteLength;
  }
  return { file, runs, pages };
}

/** The parts joined into one file of `byteLength` bytes. */
function joinParts(parts: readonly Uint8Array[], byteLength: number): Uint8Array {
  // Not zero-filled: the parts cover every byte of the file.
  const file = new Uint8Array(Buffer.allocUnsafeSlow(byteLength).buffer, 0, byteLength);
  let at = 0;
  for (const part of parts) {
    file.set(part, at);
    at += part.byteLength;
  }
  return file;
}

/**
 * Checks a file against its recorded checksums. A partial one is decoded here by the plain reader,
 * checking each page it reads; so is a whole one whose pages carry CRCs when the request decodes
 * every row group (the footer CRC and every page CRC then cover every byte the reader interprets
 * except page headers, which it checks structurally); any other whole one is checked against its
 * whole-file CRC and decoded as usual afterwards.
 * @returns the decoded file, or undefined when it was checked whole (decode it as usual)
 * @throws ChecksumMismatch or PageChecksumMismatch on damage; PlainParquetUnsupported for partial
 *   bytes that cannot be verified (no footer CRC, pages without CRCs, a form the plain reader declines)
 */
function verify(request: DecodeRequest, check: SegmentVerification): Uint8Array | undefined {
  const file = request.parquet;
  if (!check.partial) {
    if (check.crc32 === undefined) return undefined;
    if (check.pageCrcs && check.footerCrc32 !== undefined) {
      const decoded = decodeCheckingPages(request, check.footerCrc32);
      if (decoded) return decoded;
    }
    const actual = crc32(file);
    if (actual !== check.crc32) throw new ChecksumMismatch(`its ${file.byteLength} bytes have CRC-32 ${formatCrc32(actual)}, the manifest records ${formatCrc32(check.crc32)}`);
    return undefined;
  }
  if (check.footerCrc32 === undefined) throw new PlainParquetUnsupported('a partial fetch cannot be verified without a footer CRC');
  let footerStart: number;
  try {
    footerStart = file.byteLength - PARQUET_TRAILER_BYTES - footerLength(file);
  } catch (error) {
    throw new ChecksumMismatch(`its trailer is unreadable (${(error as Error).message})`);
  }
  const actual = footerStart >= 0 ? crc32(file.subarray(footerStart)) : undefined;
  if (actual !== check.footerCrc32) {
    throw new ChecksumMismatch(`its footer has CRC-32 ${actual === undefined ? 'unknown (bad length)' : formatCrc32(actual)}, the manifest records ${formatCrc32(check.footerCrc32)}`);
  }
  return readPlainParquet(file, { ...request, verifyPageCrcs: true });
}

/**
 * A whole file decoded by the plain reader with its footer and page CRCs checked on the way, or
 * undefined when the plain reader declines it (the caller then checks the whole-file CRC).
 * @throws ChecksumMismatch or PageChecksumMismatch on damage
 */
function decodeCheckingPages(request: DecodeRequest, footerCrc32: number): Uint8Array | undefined {
  const file = request.parquet;
  let footerStart: number;
  try {
    footerStart = file.byteLength - PARQUET_TRAILER_BYTES - footerLength(file);
  } catch {
    return undefined;
  }
  if (footerStart < 0 || crc32(file.subarray(footerStart)) !== footerCrc32) return undefined;
  try {
    return readPlainParquet(file, { ...request, verifyPageCrcs: true, everyRowGroup: true });
  } catch (error) {
    if (error instanceof PageChecksumMismatch) throw error;
    return undefined;
  }
}

/**
 * The table with each dictionary column replaced by its codes (typed as its indices), sharing the
 * buffers: what parquet-wasm is given for a segment whose dictionaries Hangar keeps apart, since it
 * would re-encode them in its own order.
 */
function asCodes(table: Table): Table {
  if (!table.schema.fields.some((field) => DataType.isDictionary(field.type))) return table;
  const fields = table.schema.fields.map((field) => (DataType.isDictionary(field.type) ? new Field(field.name, field.type.indices, field.nullable, field.metadata) : field));
  const schema = new Schema(fields, table.schema.metadata);
  const batches = table.batches.map((batch) => {
    const children = batch.data.children.map((data, i) =>
      DataType.isDictionary(data.type)
        ? makeData({ type: fields[i]!.type, offset: data.offset, length: data.length, nullCount: data.nullCount, nullBitmap: data.nullBitmap, data: data.values } as never)
        : data,
    );
    return new RecordBatch(schema, makeData({ type: new Struct(fields), length: batch.numRows, nullCount: 0, children }));
  });
  return new Table(schema, batches);
}

async function decode(request: DecodeRequest): Promise<Uint8Array> {
  const decoded = await decodeAny(request);
  if (request.dictionaryCodes) assertNoDictionaries(decoded);
  else if (schemaOf(decoded)?.fields.some((field) => holdsDictionary(field.type))) {
    // Dictionaries Hangar does not keep apart (nested ones): put back the file's recorded order.
    const recorded = readParquetFooter(request.parquet).keyValues.get(EXACT_DICTIONARIES_KEY);
    if (recorded !== undefined) return restoreDictionaries(decoded, recorded);
  }
  return decoded;
}

function schemaOf(ipc: Uint8Array): Schema | undefined {
  const first = splitIpcStream(ipc)[0];
  const info = first && inspectMessage(first);
  return info && info.kind === 'schema' ? info.schema : undefined;
}

/**
 * The writer's properties for a stream whose dictionaries parquet-wasm stores as values (a schema
 * with a dictionary nested in a list or struct): each dictionary, in its own order, is recorded in
 * the file's key-value metadata so a read gives the exact codes back (exact-dictionaries.ts), and
 * the values are dictionary-encoded for other engines. parquet-wasm names columns by top-level name
 * only, so dictionary encoding is turned on for the file and off again for top-level columns that
 * are neither strings nor dictionaries.
 */
function withExactDictionaries(builder: WriterProperties, ipc: Uint8Array, table: Table | undefined, dictionaryColumns: readonly string[]): WriterProperties {
  const schema = table?.schema ?? schemaOf(ipc);
  if (!schema?.fields.some((field) => holdsDictionary(field.type))) return builder;
  const recorded = recordDictionaries(table ?? tableFromIPC(ipc));
  if (recorded === undefined) return builder;
  let withDictionaries = builder.setKeyValueMetadata(new Map([[EXACT_DICTIONARIES_KEY, recorded]])).setDictionaryEnabled(true);
  for (const field of schema.fields) {
    if (!dictionaryColumns.includes(field.name) && !field.type.children?.length) withDictionaries = withDictionaries.setColumnDictionaryEnabled(field.name, false);
  }
  return withDictionaries;
}

/**
 * Checks that a decode for a caller holding the dictionaries gave codes, not dictionaries:
 * parquet-wasm rebuilds a file's string dictionaries in its own order, so their codes are not
 * Hangar's. Hangar's plain reader reads every such file Hangar writes; one it declines is damaged.
 * @throws Error naming the column
 */
export function assertNoDictionaries(ipc: Uint8Array): void {
  const first = splitIpcStream(ipc)[0];
  const info = first && inspectMessage(first);
  const column = info && info.kind === 'schema' ? info.schema.fields.find((field) => DataType.isDictionary(field.type)) : undefined;
  if (column) throw new Error(`column '${column.name}' holds Parquet strings the plain reader could not read as Hangar's dictionary codes; the segment may be damaged (run \`hangar verify\`)`);
}

async function decodeAny(request: DecodeRequest): Promise<Uint8Array> {
  if (request.verify) {
    const checked = verify(request, request.verify);
    if (checked) return checked;
  }
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
    const file = await pq.ParquetFile.fromFile(new Blob([request.parquet as Uint8Array<ArrayBuffer>]));
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
  // A transferred input goes back with the reply, so the pool's thread (which collects often) frees
  // it: this thread allocates little JavaScript, so its collector runs rarely and kept every input
  // it was given alive until then (decodes: ~400 MB per 440 MB get; encodes: every put's batches).
  const input = request.op === 'encode' ? request.ipc : request.returnInput ? (request.parquet.buffer as ArrayBuffer) : undefined;
  const moreInputs = request.op === 'encode' ? (request.moreInputs ?? []) : [];
  const handBack = input ? { input, ...(moreInputs.length > 0 ? { moreInputs } : {}) } : {};
  const inputs = input ? [input, ...moreInputs] : [];
  try {
    const encoded = request.op === 'encode' ? encode(request) : undefined;
    const result = encoded ? encoded.file : await decode(request as DecodeRequest);
    if (request.op === 'decode' && request.sharedMemory) {
      // The plain reader writes straight into shared memory; anything else is copied there once.
      const whole = result.buffer instanceof SharedArrayBuffer && result.byteOffset === 0 && result.byteLength === result.buffer.byteLength;
      const bytes = whole ? (result.buffer as SharedArrayBuffer) : new SharedArrayBuffer(result.byteLength);
      if (!whole) new Uint8Array(bytes).set(result);
      const reply: CodecReply = { id: request.id, ok: true, bytes, ...handBack };
      parentPort!.postMessage(reply, input ? [input] : []);
      return;
    }
    // Results are fresh buffers (copied out of wasm memory, or assembled here): transfer them.
    const out = result.byteOffset === 0 && result.byteLength === result.buffer.byteLength && result.buffer !== input ? result : result.slice();
    const runs = encoded?.runs ? { runs: encoded.runs, pages: encoded.pages ?? [] } : {};
    const reply: CodecReply = { id: request.id, ok: true, bytes: out.buffer as ArrayBuffer, ...(encoded ? { checksums: encoded.checksums } : {}), ...runs, ...handBack };
    const transfers = [out.buffer as ArrayBuffer, ...inputs, ...(encoded?.pages ?? [])];
    parentPort!.postMessage(reply, transfers);
  } catch (error) {
    const damaged = error instanceof ChecksumMismatch || error instanceof PageChecksumMismatch;
    const reply: CodecReply = { id: request.id, ok: false, message: error instanceof Error ? error.message : String(error), ...(damaged ? { damaged } : {}), ...handBack };
    parentPort!.postMessage(reply, inputs);
  }
});
