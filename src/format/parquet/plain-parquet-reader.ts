/**
 * A reader for flat Parquet files of PLAIN-encoded, uncompressed v1 data pages: what the plain
 * writer (plain-parquet-writer.ts) produces, and what other writers produce with dictionaries and
 * compression off. PLAIN values are little-endian like Arrow's, so values without nulls are copied
 * as they lie, against several passes inside parquet-wasm. Written from the Parquet format
 * specification (parquet.thrift, Encodings.md) and the Arrow IPC format.
 *
 * A row group is read in two passes: the first walks its page headers and definition levels (and
 * the lengths of variable-length values), which fixes every buffer's size; the second copies the
 * values straight into the record batch bodies of one preallocated IPC stream. Each value is
 * copied once.
 *
 * It restores exact types from the embedded Arrow schema (`ARROW:schema`) and covers the column
 * types the writer covers ({@link plainParquetLayout}), once each column's Parquet annotations
 * (repetition, logical and converted type) agree with that Arrow type (parquet-type-check.ts). Anything else (no Arrow schema, nested
 * columns, dictionary or compressed pages, v2 pages, another encoding) throws
 * {@link PlainParquetUnsupported}, and the codec decodes the file with parquet-wasm instead.
 */
import { DataType, Field, Message, Schema, TimeUnit, Timestamp } from 'apache-arrow';
import { BufferRegion, FieldNode, RecordBatch as RecordBatchHeader } from 'apache-arrow/ipc/metadata/message';
import { crc32, formatCrc32 } from '../crc32.js';
import { decodeEncapsulatedSchema, encodeSchemaHeader, framedLength, pad8, writeEndOfStream, writeFramedHeader } from '../ipc-message.js';
import { CompactReader, type ParquetColumnChunk, readParquetFooter } from './parquet-footer.js';
import { PlainParquetUnsupported, type PlainColumnLayout, plainParquetLayout } from './plain-parquet-writer.js';
import { stringDictionary } from '../dictionary-layout.js';
import { annotationDisagreement } from './parquet-type-check.js';
import { ThriftType } from './thrift-compact-types.js';

/** What to decode. */
export interface PlainReadOptions {
  /** Row groups, in output order. */
  readonly rowGroups: readonly number[];
  /** Rows per record batch (batches never span row groups). */
  readonly batchRows: number;
  /** Top-level columns, in output order; all when absent. */
  readonly columns?: readonly string[];
  /**
   * Check every page read against the CRC-32 in its header (PageHeader.crc): a page without one
   * is declined ({@link PlainParquetUnsupported}), a mismatch throws {@link PageChecksumMismatch}
   * before anything is returned. Pages of fixed-width values are checked while their values are
   * copied out (CRC, then copy, of each {@link CHECK_STRETCH_BYTES} stretch while it is in cache),
   * so checking costs no pass of its own over memory; other pages are checked as they are scanned.
   */
  readonly verifyPageCrcs?: boolean;
  /** Decline ({@link PlainParquetUnsupported}) unless `rowGroups` lists every row group of the file. */
  readonly everyRowGroup?: boolean;
  /**
   * Leave out the first rows of the groups read, in output order (a tail read needs only the last
   * rows of a group); their pages are still checked with `verifyPageCrcs`. Callers count the rows
   * they get: a decoder that does not take this option returns them all.
   */
  readonly skipRows?: number;
  /**
   * Return string dictionary columns (Hangar's dictionary-encoded Parquet strings) as their codes,
   * typed as the Arrow dictionary's indices: the caller holds the dictionaries (Hangar's kept
   * dictionary batches). Without it such columns are declined.
   */
  readonly dictionaryCodes?: boolean;
  /** Write the stream into a SharedArrayBuffer (for a reader handing its batches to another thread). */
  readonly sharedMemory?: boolean;
}

/**
 * Bytes a page check reads before copying the same bytes: small enough to be still in the core's
 * cache when copied, large enough that a call per stretch costs nothing measurable.
 */
const CHECK_STRETCH_BYTES = 128 * 1024;

/** A page's bytes do not match the CRC-32 its header records: the file is damaged. */
export class PageChecksumMismatch extends Error {
  override readonly name = 'PageChecksumMismatch';
}

// parquet.thrift facts.
const PAGE_DATA = 0;
const PAGE_DICTIONARY = 2;
const ENCODING_PLAIN = 0;
const ENCODING_PLAIN_DICTIONARY = 2;
const ENCODING_RLE = 3;
const ENCODING_RLE_DICTIONARY = 8;
const CODEC_UNCOMPRESSED = 0;

/**
 * Decodes row groups of a Parquet file into one Arrow IPC stream (schema, record batches, end).
 * @throws PlainParquetUnsupported when the file is not of the form this reader covers; a
 *   ParquetFooterError when its metadata is malformed
 */
export function readPlainParquet(file: Uint8Array, options: PlainReadOptions): Uint8Array {
  const { metadata, stored, layouts, indices, schema } = openPlainFile(file, options.columns, options.dictionaryCodes === true);
  const batchRows = Math.max(1, options.batchRows);
  if (options.everyRowGroup && (options.rowGroups.length !== metadata.rowGroups.length || new Set(options.rowGroups).size !== metadata.rowGroups.length)) {
    throw new PlainParquetUnsupported(`row groups ${options.rowGroups.join(',')} are not all ${metadata.rowGroups.length} of the file`);
  }
  const batches: PlannedBatch[] = [];
  const scanned: ScannedChunk[] = [];
  let skip = Math.max(0, options.skipRows ?? 0);
  for (const groupIndex of options.rowGroups) {
    const group = metadata.rowGroups[groupIndex];
    if (!group) throw new PlainParquetUnsupported(`the file has no row group ${groupIndex}`);
    if (group.columns.length !== layouts.length) throw new PlainParquetUnsupported(`row group ${groupIndex} does not hold one chunk per column`);
    const chunks = indices.map((i) => scanColumnChunk(file, group.columns[i]!, layouts[i]!, stored.fields[i]!.type, group.rows, options.verifyPageCrcs === true));
    scanned.push(...chunks);
    const first = Math.min(group.rows, skip);
    skip -= first;
    for (let start = first; start < group.rows; start += batchRows) batches.push(planBatch(chunks, start, Math.min(group.rows, start + batchRows)));
  }
  const stream = writeStream(file, encodeSchemaHeader(schema), batches, options.sharedMemory === true);
  for (const chunk of scanned) for (const page of chunk.pages) if (page.check) finishPageCheck(file, page.check);
  return stream;
}

/** A page whose CRC is computed while its values are copied (see {@link copyChecked}). */
interface PageCheck {
  /** Where the header that records the CRC begins (for the message), and `where` it is. */
  readonly position: number;
  readonly where: string;
  /** The page's bytes after its header, which the CRC covers. */
  readonly stop: number;
  readonly expected: number;
  /** The CRC of the page's bytes before `at`. */
  crc: number;
  at: number;
}

/** Copies `file[from, to)` (bytes of the checked page) to `out` at `into`, adding them to the page's CRC on the way. */
function copyChecked(file: Uint8Array, check: PageCheck | undefined, from: number, to: number, out: Uint8Array, into: number): void {
  if (!check || to <= check.at) {
    out.set(file.subarray(from, to), into);
    return;
  }
  // Bytes of the page before this run (its definition levels) are added as they are.
  if (from > check.at) {
    check.crc = crc32(file.subarray(check.at, from), check.crc);
    check.at = from;
  }
  if (from < check.at) {
    out.set(file.subarray(from, check.at), into);
    into += check.at - from;
    from = check.at;
  }
  while (from < to) {
    const stop = Math.min(to, from + CHECK_STRETCH_BYTES);
    const stretch = file.subarray(from, stop);
    check.crc = crc32(stretch, check.crc);
    out.set(stretch, into);
    into += stop - from;
    from = stop;
  }
  check.at = to;
}

/** Adds what no copy read of a checked page and compares its CRC with the header's. */
function finishPageCheck(file: Uint8Array, check: PageCheck): void {
  if (check.at < check.stop) check.crc = crc32(file.subarray(check.at, check.stop), check.crc);
  check.at = check.stop;
  if (check.crc !== check.expected) {
    throw new PageChecksumMismatch(`${check.where}: the page at byte ${check.position} has CRC-32 ${formatCrc32(check.crc)}, its header records ${formatCrc32(check.expected)}`);
  }
}

/** A plain file's footer, its Arrow schema and layouts, and the requested columns' indices and schema. */
function openPlainFile(file: Uint8Array, columns: readonly string[] | undefined, dictionaryCodes: boolean) {
  const metadata = readParquetFooter(file);
  const encodedSchema = metadata.keyValues.get('ARROW:schema');
  if (encodedSchema === undefined) throw new PlainParquetUnsupported('the file embeds no Arrow schema');
  const stored = decodeEncapsulatedSchema(Buffer.from(encodedSchema, 'base64'));
  const layouts = plainParquetLayout(stored);
  if (!layouts) throw new PlainParquetUnsupported('a column type is not covered by the plain reader');
  const names = stored.fields.map((field) => field.name);
  if (metadata.columnNames.length !== names.length || metadata.columnNames.some((name, i) => name !== names[i])) {
    throw new PlainParquetUnsupported('the Parquet schema does not match the embedded Arrow schema');
  }
  // The embedded Arrow schema is a hint: the Parquet types say what the values are.
  stored.fields.forEach((field, i) => {
    // Nanoseconds the writer stored as whole microseconds are read back as nanoseconds.
    const micros = microsecondField(field, metadata.columns[i]!.logicalType);
    if (micros) layouts[i] = { ...layouts[i]!, nanosAsMicros: true };
    const disagreement = annotationDisagreement(metadata.columns[i]!, micros ?? field, layouts[i]!);
    if (disagreement) throw new PlainParquetUnsupported(`column '${field.name}': ${disagreement}`);
  });
  const wanted = columns ? [...new Set(columns)] : names;
  const indices = wanted.map((name) => {
    const index = names.indexOf(name);
    if (index < 0) throw new PlainParquetUnsupported(`the file has no column '${name}'`);
    return index;
  });
  // String dictionaries come out as their codes (the caller holds the values); any other
  // dictionary in the embedded schema is not what Hangar writes.
  const fields = indices.map((i) => {
    const field = stored.fields[i]!;
    if (!DataType.isDictionary(field.type)) return field;
    if (!dictionaryCodes || !stringDictionary(field.type)) throw new PlainParquetUnsupported(`column '${field.name}' is an Arrow dictionary`);
    return new Field(field.name, field.type.indices, field.nullable, field.metadata);
  });
  const schema = new Schema(fields, stored.metadata);
  return { metadata, stored, layouts, indices, schema };
}

/**
 * For an Arrow nanosecond timestamp whose Parquet column is TIMESTAMP(MICROS) of the same time zone
 * flag (what the plain writer makes of whole microseconds), the field as microseconds; otherwise undefined.
 */
function microsecondField(field: Field, logicalType: string | undefined): Field | undefined {
  const type = field.type as DataType;
  if (!DataType.isTimestamp(type) || type.unit !== TimeUnit.NANOSECOND) return undefined;
  const utc = type.timezone !== null && type.timezone !== undefined;
  if (logicalType !== `TIMESTAMP(MICROS,${utc ? 'utc' : 'local'})`) return undefined;
  return new Field(field.name, new Timestamp(TimeUnit.MICROSECOND, type.timezone ?? null), field.nullable, field.metadata);
}

/**
 * Multiplies `count` little-endian int64 values at `at` in `out` by 1000 in place (microseconds
 * back to nanoseconds), exactly: the low word's product is below 1000 × 2^32 (exact in a double),
 * its carry goes to the high word, and the high word wraps as int64 arithmetic does.
 */
function microsToNanos(out: Uint8Array, at: number, count: number): void {
  const words = new Int32Array(out.buffer, out.byteOffset + at, count * 2);
  for (let i = 0; i < 2 * count; i += 2) {
    const low = (words[i]! >>> 0) * 1000;
    const carry = Math.floor(low * 2.3283064365386963e-10); // 2^-32: exact
    words[i] = (low - carry * 4294967296) | 0;
    words[i + 1] = (words[i + 1]! * 1000 + carry) | 0;
  }
}

/** A data page's header fields this reader uses. */
interface DataPageHeader {
  readonly type: number;
  /** Where the page's data begins (after the header) and its length. */
  readonly dataStart: number;
  readonly dataBytes: number;
  readonly uncompressedBytes: number;
  /** DataPageHeader fields (absent for other page types). */
  readonly values?: number;
  readonly encoding?: number;
  readonly definitionEncoding?: number;
  /** PageHeader.crc, as an unsigned 32-bit number, when written. */
  readonly crc?: number;
}

function pageHeader(file: Uint8Array, at: number): DataPageHeader {
  const reader = new CompactReader(file, at);
  let type = -1;
  let dataBytes = -1;
  let uncompressedBytes = -1;
  let crc: number | undefined;
  const data: { values?: number; encoding?: number; definitionEncoding?: number } = {};
  reader.struct((id, kind) => {
    if (id === 1 && kind === ThriftType.I32) type = reader.signed();
    else if (id === 2 && kind === ThriftType.I32) uncompressedBytes = reader.size();
    else if (id === 3 && kind === ThriftType.I32) dataBytes = reader.size();
    else if (id === 4 && kind === ThriftType.I32) crc = reader.signed() >>> 0;
    else if (id === 5 && kind === ThriftType.STRUCT) {
      reader.struct((field, fieldKind) => {
        if (field === 1 && fieldKind === ThriftType.I32) data.values = reader.size();
        else if (field === 2 && fieldKind === ThriftType.I32) data.encoding = reader.signed();
        else if (field === 3 && fieldKind === ThriftType.I32) data.definitionEncoding = reader.signed();
        else return false;
        return true;
      }, 1);
    } else return false;
    return true;
  });
  if (type < 0 || dataBytes < 0) throw new PlainParquetUnsupported(`the page header at byte ${at} lacks its type or size`);
  return { type, dataStart: reader.offset, dataBytes, uncompressedBytes, ...data, ...(crc === undefined ? {} : { crc }) };
}

/** One data page of a chunk: its rows, where its values lie, and which are present. */
interface ScannedPage {
  /** First row (within the row group) and row count. */
  readonly row: number;
  readonly count: number;
  /** Where the page's PLAIN values begin in the file. */
  readonly values: number;
  /** One flag per row (1 = present); absent when every value is. */
  readonly present?: Uint8Array;
  /** The page's CRC, checked as its values are copied (pages of fixed-width values). */
  readonly check?: PageCheck;
}

/** What the first pass learns of a column chunk. */
interface ScannedChunk {
  readonly layout: PlainColumnLayout;
  readonly type: DataType;
  readonly pages: readonly ScannedPage[];
  /** Some value is null: every batch of the chunk gets a validity bitmap. */
  readonly hasNulls: boolean;
  /** Variable-length columns: where each row's bytes lie in the file, and their cumulative lengths (`ends[0]` = 0). */
  readonly starts?: Float64Array;
  readonly ends?: Float64Array;
}

/** Walks a column chunk's pages: headers, definition levels, and the lengths of variable-length values. */
function scanColumnChunk(file: Uint8Array, chunk: ParquetColumnChunk, layout: PlainColumnLayout, type: DataType, rows: number, verifyCrcs: boolean): ScannedChunk {
  const where = `column '${layout.name}'`;
  if (chunk.path.length !== 1 || chunk.path[0] !== layout.name) throw new PlainParquetUnsupported(`${where}: its chunk is for '${chunk.path.join('.')}'`);
  if (chunk.codec !== CODEC_UNCOMPRESSED) throw new PlainParquetUnsupported(`${where}: pages are compressed`);
  const spec = layout.values;
  const dictionaryPage = chunk.dictionaryPageOffset !== undefined && chunk.dictionaryPageOffset > 0;
  if (dictionaryPage !== (spec.kind === 'dictionary')) throw new PlainParquetUnsupported(`${where}: ${dictionaryPage ? 'dictionary-encoded pages' : 'no dictionary page'}`);
  if (chunk.physicalType !== layout.physicalType) throw new PlainParquetUnsupported(`${where}: physical type ${chunk.physicalType} does not match its Arrow type`);
  const first = dictionaryPage ? chunk.dictionaryPageOffset! : chunk.dataPageOffset;
  const end = first + chunk.totalCompressedSize;
  if (end > file.byteLength) throw new PlainParquetUnsupported(`${where}: its pages run past the end of the file`);
  const variable = layout.values.kind === 'bytes';
  const starts = variable ? new Float64Array(rows) : undefined;
  const ends = variable ? new Float64Array(rows + 1) : undefined;
  const view = new DataView(file.buffer, file.byteOffset, file.byteLength);
  const pages: ScannedPage[] = [];
  let hasNulls = false;
  let position = first;
  let row = 0;
  const copied = spec.kind === 'fixed' || spec.kind === 'dictionary';
  while (position < end) {
    const page = pageHeader(file, position);
    const stop = page.dataStart + page.dataBytes;
    if (stop > end) throw new PlainParquetUnsupported(`${where}: a page runs past its chunk`);
    let check: PageCheck | undefined;
    if (verifyCrcs) {
      if (page.crc === undefined) throw new PlainParquetUnsupported(`${where}: the page at byte ${position} has no CRC`);
      check = { position, where, stop, expected: page.crc, crc: 0, at: page.dataStart };
      // Values not copied as runs of the page's bytes (and a dictionary page, not read): check them now.
      if (!copied || page.type === PAGE_DICTIONARY) finishPageCheck(file, check);
    }
    const dictionary = position === first && dictionaryPage;
    position = stop;
    if (dictionary) {
      // The codes index the caller's dictionary, the same values in the same order: not decoded.
      if (page.type !== PAGE_DICTIONARY) throw new PlainParquetUnsupported(`${where}: the chunk does not start with its dictionary page`);
      if (page.uncompressedBytes !== page.dataBytes) throw new PlainParquetUnsupported(`${where}: a compressed page`);
      continue;
    }
    if (page.type === PAGE_DICTIONARY) throw new PlainParquetUnsupported(`${where}: dictionary-encoded pages`);
    if (page.type !== PAGE_DATA) throw new PlainParquetUnsupported(`${where}: page type ${page.type}`);
    const dictionaryEncoded = page.encoding === ENCODING_RLE_DICTIONARY || page.encoding === ENCODING_PLAIN_DICTIONARY;
    if (spec.kind === 'dictionary' ? !dictionaryEncoded : page.encoding !== ENCODING_PLAIN) throw new PlainParquetUnsupported(`${where}: encoding ${page.encoding}`);
    if (page.uncompressedBytes !== page.dataBytes) throw new PlainParquetUnsupported(`${where}: a compressed page`);
    const count = page.values ?? -1;
    if (count < 0 || row + count > rows) throw new PlainParquetUnsupported(`${where}: a page holds more values than its row group`);
    let at = page.dataStart;
    let present: Uint8Array | undefined;
    let valid = count;
    if (layout.nullable) {
      if (page.definitionEncoding !== ENCODING_RLE) throw new PlainParquetUnsupported(`${where}: definition levels encoded as ${page.definitionEncoding}`);
      if (at + 4 > stop) throw new PlainParquetUnsupported(`${where}: a page ends inside its definition levels`);
      const length = view.getUint32(at, true);
      if (at + 4 + length > stop) throw new PlainParquetUnsupported(`${where}: definition levels run past their page`);
      const levels = definitionFlags(file, at + 4, at + 4 + length, count);
      present = levels.flags;
      valid = levels.present;
      at += 4 + length;
    }
    if (spec.kind === 'dictionary' && valid > 0) at = codesStart(file, at, stop, spec.width, valid, where);
    if (starts && ends) {
      let source = at;
      for (let i = 0; i < count; i++) {
        let length = 0;
        if (!present || present[i]) {
          if (source + 4 > stop) throw new PlainParquetUnsupported(`${where}: a page holds fewer values than it declares`);
          length = view.getUint32(source, true);
          source += 4;
          starts[row + i] = source;
          source += length;
        }
        ends[row + i + 1] = ends[row + i]! + length;
      }
      if (source > stop) throw new PlainParquetUnsupported(`${where}: a page holds fewer values than it declares`);
    } else if (at + storedBytes(layout, valid) > stop) {
      throw new PlainParquetUnsupported(`${where}: a page holds fewer values than it declares`);
    }
    hasNulls ||= present !== undefined;
    pages.push({ row, count, values: at, ...(present ? { present } : {}), ...(check && copied ? { check } : {}) });
    row += count;
  }
  if (row !== rows) throw new PlainParquetUnsupported(`${where}: ${row} values in a row group of ${rows} rows`);
  return { layout, type, pages, hasNulls, ...(starts && ends ? { starts, ends } : {}) };
}

/**
 * Where the codes of a dictionary-encoded data page begin (`at` is just past its definition
 * levels): only the writer's form is read, a bit width of 8 × the index width and one bit-packed
 * run holding every code, which is a byte copy of the little-endian indices.
 * @throws PlainParquetUnsupported for any other form (parquet-wasm decodes those)
 */
function codesStart(file: Uint8Array, at: number, stop: number, width: 1 | 2 | 4, valid: number, where: string): number {
  if (at >= stop || file[at] !== width * 8) throw new PlainParquetUnsupported(`${where}: codes of bit width ${file[at]} for ${width}-byte indices`);
  const [header, next] = readVarint(file, at + 1, stop);
  if (header % 2 !== 1 || ((header - 1) / 2) * 8 < valid) throw new PlainParquetUnsupported(`${where}: codes not in one bit-packed run`);
  return next;
}

/** Bytes of `values` PLAIN values of a fixed-size layout (codes, for a dictionary). */
function storedBytes(layout: PlainColumnLayout, values: number): number {
  const spec = layout.values;
  return spec.kind === 'fixed' || spec.kind === 'dictionary' ? values * spec.width : spec.kind === 'widened' ? values * 4 : spec.kind === 'boolean' ? Math.ceil(values / 8) : 0;
}

/** An unsigned LEB128 varint at `at`, and where the next byte is. */
function readVarint(bytes: Uint8Array, at: number, end: number): [value: number, next: number] {
  let value = 0;
  let scale = 1;
  for (let i = at; i < end; i++) {
    const b = bytes[i]!;
    value += (b & 0x7f) * scale;
    if ((b & 0x80) === 0) return [value, i + 1];
    scale *= 128;
  }
  throw new PlainParquetUnsupported('definition levels end early');
}

/**
 * Definition levels of an optional flat column (max level 1, so bit width 1) in the RLE/bit-packing
 * hybrid: one flag per value (1 = present) and how many are present. The flags are made only once
 * a null or a bit-packed run appears, so a page without nulls (one run of 1s) allocates nothing.
 */
function definitionFlags(bytes: Uint8Array, start: number, end: number, count: number): { flags?: Uint8Array; present: number } {
  let flags: Uint8Array | undefined;
  let filled = 0;
  let present = 0;
  let at = start;
  const flagsSoFar = (): Uint8Array => {
    if (!flags) {
      flags = new Uint8Array(count);
      flags.fill(1, 0, filled);
    }
    return flags;
  };
  while (filled < count) {
    const [header, next] = readVarint(bytes, at, end);
    at = next;
    if (header % 2 === 1) {
      // Bit-packed: groups of 8 one-bit values, a byte per group, least significant bit first.
      const groups = (header - 1) / 2;
      if (at + groups > end) throw new PlainParquetUnsupported('definition levels end early');
      const take = Math.min(groups * 8, count - filled);
      const into = flagsSoFar();
      for (let k = 0; k < take; k++) {
        const flag = (bytes[at + (k >> 3)]! >> (k & 7)) & 1;
        into[filled + k] = flag;
        present += flag;
      }
      at += groups;
      filled += take;
    } else {
      // A run of one value, stored in one byte.
      if (at >= end) throw new PlainParquetUnsupported('definition levels end early');
      const flag = bytes[at++]! & 1;
      const take = Math.min(header / 2, count - filled);
      if (take === 0) throw new PlainParquetUnsupported('an empty run in the definition levels');
      if (flag === 0 || flags) flagsSoFar().fill(flag, filled, filled + take);
      present += flag * take;
      filled += take;
    }
  }
  return present === count ? { present } : { flags: flagsSoFar(), present };
}

/** One column's part of a record batch: its field node and where its buffers go in the body. */
interface PlannedColumn {
  readonly chunk: ScannedChunk;
  readonly nulls: number;
  /** Buffers in IPC order (validity first), as offsets and lengths within the body. */
  readonly buffers: readonly BufferRegion[];
}

/** A record batch of rows `[start, end)` of a row group, laid out but not yet written. */
interface PlannedBatch {
  readonly start: number;
  readonly end: number;
  readonly columns: readonly PlannedColumn[];
  readonly header: Uint8Array;
  readonly bodyLength: number;
}

/** Lays out the body of the batch of rows `[start, end)` and encodes its header. */
function planBatch(chunks: readonly ScannedChunk[], start: number, end: number): PlannedBatch {
  const rows = end - start;
  let offset = 0;
  const region = (length: number): BufferRegion => {
    const buffer = new BufferRegion(offset, length);
    offset += pad8(length);
    return buffer;
  };
  const columns = chunks.map((chunk): PlannedColumn => {
    const nulls = chunk.hasNulls ? nullsIn(chunk, start, end) : 0;
    const validity = region(nulls > 0 ? Math.ceil(rows / 8) : 0);
    const spec = chunk.layout.values;
    let buffers: BufferRegion[];
    if (spec.kind === 'bytes') {
      const offsets = region((rows + 1) * (spec.wideOffsets ? 8 : 4));
      buffers = [validity, offsets, region(chunk.ends![end]! - chunk.ends![start]!)];
    } else {
      const width = spec.kind === 'fixed' || spec.kind === 'dictionary' ? spec.width : spec.kind === 'widened' ? (chunk.type as DataType & { ArrayType: { BYTES_PER_ELEMENT: number } }).ArrayType.BYTES_PER_ELEMENT : 0;
      buffers = [validity, region(spec.kind === 'boolean' ? Math.ceil(rows / 8) : rows * width)];
    }
    return { chunk, nulls, buffers };
  });
  const nodes = columns.map((column) => new FieldNode(rows, column.nulls));
  const header = Message.encode(Message.from(new RecordBatchHeader(rows, nodes, columns.flatMap((column) => column.buffers), null), offset));
  return { start, end, columns, header, bodyLength: offset };
}

/** Nulls among rows `[start, end)` of a chunk. */
function nullsIn(chunk: ScannedChunk, start: number, end: number): number {
  let nulls = 0;
  for (const { page, from, to } of overlapping(chunk, start, end)) {
    if (page.present) for (let i = from; i < to; i++) nulls += 1 - page.present[i]!;
  }
  return nulls;
}

/** Writes the stream: the schema message, each planned batch with its values copied in place, the end marker. */
function writeStream(file: Uint8Array, schemaHeader: Uint8Array, batches: readonly PlannedBatch[], sharedMemory: boolean): Uint8Array {
  let total = framedLength(schemaHeader.byteLength, 0) + 8;
  for (const batch of batches) total += framedLength(batch.header.byteLength, batch.bodyLength);
  // Zero-filled: null slots and unset validity bits must read as zeros.
  const out = new Uint8Array(sharedMemory ? new SharedArrayBuffer(total) : new ArrayBuffer(total));
  let offset = writeFramedHeader(out, 0, schemaHeader);
  for (const batch of batches) {
    offset = writeFramedHeader(out, offset, batch.header);
    for (const column of batch.columns) {
      const [validity, ...values] = column.buffers;
      if (column.nulls > 0) writeValidity(column.chunk, batch.start, batch.end, out.subarray(offset + Number(validity!.offset)));
      writeValues(file, column.chunk, batch.start, batch.end, out, offset, values);
    }
    offset += batch.bodyLength;
  }
  writeEndOfStream(out, offset);
  return out;
}

/** The pages of a chunk overlapping rows `[start, end)`, each with the overlap as page-relative indices `[from, to)`. */
function* overlapping(chunk: ScannedChunk, start: number, end: number): Generator<{ page: ScannedPage; from: number; to: number }> {
  for (const page of chunk.pages) {
    if (page.row >= end || page.row + page.count <= start) continue;
    yield { page, from: Math.max(start, page.row) - page.row, to: Math.min(end, page.row + page.count) - page.row };
  }
}

/** Sets the validity bits of rows `[start, end)` (bit 0 = row `start`) in a zeroed bitmap. */
function writeValidity(chunk: ScannedChunk, start: number, end: number, bits: Uint8Array): void {
  for (const { page, from, to } of overlapping(chunk, start, end)) {
    const base = page.row - start;
    for (let i = from; i < to; i++) {
      if (page.present && !page.present[i]) continue;
      const bit = base + i;
      bits[bit >> 3]! |= 1 << (bit & 7);
    }
  }
}

/** The ordinal among a page's stored (present) values of its row `index`. */
function storedIndex(page: ScannedPage, index: number): number {
  if (!page.present) return index;
  let n = 0;
  for (let i = 0; i < index; i++) n += page.present[i]!;
  return n;
}

/** Copies the fixed-width values of rows `[start, end)` to `target` in `out`, null slots left zero. */
function copyRows(file: Uint8Array, chunk: ScannedChunk, start: number, end: number, out: Uint8Array, target: number, width: number): void {
  for (const { page, from, to } of overlapping(chunk, start, end)) {
    let source = page.values + storedIndex(page, from) * width;
    const base = target + (page.row - start) * width;
    if (!page.present) {
      copyChecked(file, page.check, source, source + (to - from) * width, out, base + from * width);
      continue;
    }
    // Runs of present values are copied whole; null slots stay zero.
    let i = from;
    while (i < to) {
      if (!page.present[i]) {
        i++;
        continue;
      }
      const first = i;
      while (i < to && page.present[i]) i++;
      const bytes = (i - first) * width;
      copyChecked(file, page.check, source, source + bytes, out, base + first * width);
      source += bytes;
    }
  }
}

/** Copies the values of rows `[start, end)` into the batch's value buffers (body at `body` in `out`). */
function writeValues(file: Uint8Array, chunk: ScannedChunk, start: number, end: number, out: Uint8Array, body: number, buffers: readonly BufferRegion[]): void {
  const spec = chunk.layout.values;
  const target = body + Number(buffers[0]!.offset);
  switch (spec.kind) {
    case 'fixed':
    case 'dictionary':
      copyRows(file, chunk, start, end, out, target, spec.width);
      // Nanoseconds stored as microseconds: multiplied back where they were copied.
      if (chunk.layout.nanosAsMicros) microsToNanos(out, target, end - start);
      return;
    case 'widened': {
      const ArrayType = (chunk.type as DataType & { ArrayType: new (buffer: ArrayBuffer, offset: number, length: number) => Int8Array | Int16Array | Uint8Array | Uint16Array }).ArrayType;
      const values = new ArrayType(out.buffer, out.byteOffset + target, end - start);
      const view = new DataView(file.buffer, file.byteOffset, file.byteLength);
      for (const { page, from, to } of overlapping(chunk, start, end)) {
        let source = page.values + storedIndex(page, from) * 4;
        const base = page.row - start;
        for (let i = from; i < to; i++) {
          if (page.present && !page.present[i]) continue;
          values[base + i] = view.getInt32(source, true);
          source += 4;
        }
      }
      return;
    }
    case 'boolean': {
      for (const { page, from, to } of overlapping(chunk, start, end)) {
        let j = storedIndex(page, from);
        const base = page.row - start;
        for (let i = from; i < to; i++) {
          if (page.present && !page.present[i]) continue;
          if ((file[page.values + (j >> 3)]! >> (j & 7)) & 1) {
            const bit = base + i;
            out[target + (bit >> 3)]! |= 1 << (bit & 7);
          }
          j++;
        }
      }
      return;
    }
    case 'bytes': {
      const starts = chunk.starts!;
      const ends = chunk.ends!;
      const first = ends[start]!;
      const rows = end - start;
      if (spec.wideOffsets) {
        const offsets = new BigInt64Array(out.buffer, out.byteOffset + target, rows + 1);
        for (let i = 0; i <= rows; i++) offsets[i] = BigInt(ends[start + i]! - first);
      } else {
        const offsets = new Int32Array(out.buffer, out.byteOffset + target, rows + 1);
        if (ends[end]! - first > 0x7fffffff) throw new PlainParquetUnsupported(`column '${chunk.layout.name}' holds over 2 GiB of values in one batch`);
        for (let i = 0; i <= rows; i++) offsets[i] = ends[start + i]! - first;
      }
      let data = body + Number(buffers[1]!.offset);
      for (let row = start; row < end; row++) {
        const length = ends[row + 1]! - ends[row]!;
        if (length === 0) continue;
        const from = starts[row]!;
        if (length > 32) out.set(file.subarray(from, from + length), data);
        else for (let k = 0; k < length; k++) out[data + k] = file[from + k]!;
        data += length;
      }
      return;
    }
  }
}
