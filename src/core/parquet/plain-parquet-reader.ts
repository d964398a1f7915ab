/**
 * A reader for flat Parquet files of PLAIN-encoded, uncompressed v1 data pages: what the plain
 * writer (plain-parquet-writer.ts) produces, and what other writers produce with dictionaries and
 * compression off. PLAIN values are little-endian like Arrow's, so a page without nulls is copied
 * into its column as it lies; decoding a segment costs about two copies of its data (pages into
 * columns, columns into the IPC stream), against several passes inside parquet-wasm. Written from
 * the Parquet format specification (parquet.thrift, Encodings.md).
 *
 * It restores exact types from the embedded Arrow schema (`ARROW:schema`) and covers the column
 * types the writer covers ({@link plainParquetLayout}). Anything else (no Arrow schema, nested
 * columns, dictionary or compressed pages, v2 pages, another encoding) throws
 * {@link PlainParquetUnsupported}, and the codec decodes the file with parquet-wasm instead.
 */
import { type Data, type DataType, type Field, RecordBatch, Schema, Struct, Table, makeData, tableToIPC } from 'apache-arrow';
import { decodeEncapsulatedSchema } from '../ipc-message.js';
import { CompactReader, type ParquetColumnChunk, readParquetFooter } from './parquet-footer.js';
import { PlainParquetUnsupported, type PlainColumnLayout, plainParquetLayout } from './plain-parquet-writer.js';
import { ThriftType } from './thrift-compact-types.js';

/** What to decode. */
export interface PlainReadOptions {
  /** Row groups, in output order. */
  readonly rowGroups: readonly number[];
  /** Rows per record batch (batches never span row groups). */
  readonly batchRows: number;
  /** Top-level columns, in output order; all when absent. */
  readonly columns?: readonly string[];
}

// parquet.thrift facts.
const PAGE_DATA = 0;
const PAGE_DICTIONARY = 2;
const ENCODING_PLAIN = 0;
const ENCODING_RLE = 3;
const CODEC_UNCOMPRESSED = 0;

/**
 * Decodes row groups of a Parquet file into one Arrow IPC stream (schema, then record batches).
 * @throws PlainParquetUnsupported when the file is not of the form this reader covers; a
 *   ParquetFooterError when its metadata is malformed
 */
export function readPlainParquet(file: Uint8Array, options: PlainReadOptions): Uint8Array {
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
  const wanted = options.columns ? [...new Set(options.columns)] : names;
  const indices = wanted.map((name) => {
    const index = names.indexOf(name);
    if (index < 0) throw new PlainParquetUnsupported(`the file has no column '${name}'`);
    return index;
  });
  const schema = new Schema(
    indices.map((i) => stored.fields[i]!),
    stored.metadata,
  );
  const batchRows = Math.max(1, options.batchRows);
  const batches: RecordBatch[] = [];
  for (const groupIndex of options.rowGroups) {
    const group = metadata.rowGroups[groupIndex];
    if (!group) throw new PlainParquetUnsupported(`the file has no row group ${groupIndex}`);
    if (group.columns.length !== layouts.length) throw new PlainParquetUnsupported(`row group ${groupIndex} does not hold one chunk per column`);
    const columns = indices.map((i) => readColumnChunk(file, group.columns[i]!, layouts[i]!, stored.fields[i]!, group.rows));
    for (let start = 0; start < group.rows; start += batchRows) {
      const length = Math.min(batchRows, group.rows - start);
      const children = length === group.rows ? columns : columns.map((column) => column.slice(start, length));
      batches.push(new RecordBatch(schema, makeData({ type: new Struct(schema.fields), length, nullCount: 0, children })));
    }
  }
  return tableToIPC(new Table(schema, batches), 'stream');
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
}

function pageHeader(file: Uint8Array, at: number): DataPageHeader {
  const reader = new CompactReader(file, at);
  let type = -1;
  let dataBytes = -1;
  let uncompressedBytes = -1;
  const data: { values?: number; encoding?: number; definitionEncoding?: number } = {};
  reader.struct((id, kind) => {
    if (id === 1 && kind === ThriftType.I32) type = reader.signed();
    else if (id === 2 && kind === ThriftType.I32) uncompressedBytes = reader.size();
    else if (id === 3 && kind === ThriftType.I32) dataBytes = reader.size();
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
  return { type, dataStart: reader.offset, dataBytes, uncompressedBytes, ...data };
}

/** Reads one column chunk whole: `rows` values into an Arrow column of the field's type. */
function readColumnChunk(file: Uint8Array, chunk: ParquetColumnChunk, layout: PlainColumnLayout, field: Field, rows: number): Data {
  const where = `column '${layout.name}'`;
  if (chunk.path.length !== 1 || chunk.path[0] !== layout.name) throw new PlainParquetUnsupported(`${where}: its chunk is for '${chunk.path.join('.')}'`);
  if (chunk.codec !== CODEC_UNCOMPRESSED) throw new PlainParquetUnsupported(`${where}: pages are compressed`);
  if (chunk.dictionaryPageOffset !== undefined && chunk.dictionaryPageOffset > 0) throw new PlainParquetUnsupported(`${where}: dictionary-encoded pages`);
  if (chunk.physicalType !== layout.physicalType) throw new PlainParquetUnsupported(`${where}: physical type ${chunk.physicalType} does not match its Arrow type`);
  const end = chunk.dataPageOffset + chunk.totalCompressedSize;
  if (end > file.byteLength) throw new PlainParquetUnsupported(`${where}: its pages run past the end of the file`);
  const sink = columnSink(layout, field.type, rows, chunk.totalCompressedSize);
  const validity = new ValidityBuilder(rows);
  let position = chunk.dataPageOffset;
  let row = 0;
  while (position < end) {
    const page = pageHeader(file, position);
    const stop = page.dataStart + page.dataBytes;
    if (stop > end) throw new PlainParquetUnsupported(`${where}: a page runs past its chunk`);
    position = stop;
    if (page.type === PAGE_DICTIONARY) throw new PlainParquetUnsupported(`${where}: dictionary-encoded pages`);
    if (page.type !== PAGE_DATA) throw new PlainParquetUnsupported(`${where}: page type ${page.type}`);
    if (page.encoding !== ENCODING_PLAIN) throw new PlainParquetUnsupported(`${where}: encoding ${page.encoding}`);
    if (page.uncompressedBytes !== page.dataBytes) throw new PlainParquetUnsupported(`${where}: a compressed page`);
    const values = page.values ?? -1;
    if (values < 0 || row + values > rows) throw new PlainParquetUnsupported(`${where}: a page holds more values than its row group`);
    let at = page.dataStart;
    let present: Uint8Array | undefined;
    if (layout.nullable) {
      if (page.definitionEncoding !== ENCODING_RLE) throw new PlainParquetUnsupported(`${where}: definition levels encoded as ${page.definitionEncoding}`);
      if (at + 4 > stop) throw new PlainParquetUnsupported(`${where}: a page ends inside its definition levels`);
      const length = new DataView(file.buffer, file.byteOffset + at, 4).getUint32(0, true);
      if (at + 4 + length > stop) throw new PlainParquetUnsupported(`${where}: definition levels run past their page`);
      present = definitionFlags(file, at + 4, at + 4 + length, values);
      at += 4 + length;
    }
    validity.page(row, values, present);
    sink.page(file, at, stop, row, values, present);
    row += values;
  }
  if (row !== rows) throw new PlainParquetUnsupported(`${where}: ${row} values in a row group of ${rows} rows`);
  return sink.finish(field.type, validity);
}

/**
 * Definition levels of an optional flat column (max level 1, so bit width 1) in the RLE/bit-packing
 * hybrid: one flag per value (1 = present), or undefined when every value is present.
 */
function definitionFlags(bytes: Uint8Array, start: number, end: number, count: number): Uint8Array | undefined {
  const flags = new Uint8Array(count);
  let filled = 0;
  let present = 0;
  let at = start;
  while (filled < count) {
    let header = 0;
    let scale = 1;
    for (;;) {
      if (at >= end) throw new PlainParquetUnsupported('definition levels end early');
      const b = bytes[at++]!;
      header += (b & 0x7f) * scale;
      if ((b & 0x80) === 0) break;
      scale *= 128;
    }
    if (header % 2 === 1) {
      // Bit-packed: groups of 8 one-bit values, a byte per group, least significant bit first.
      const groups = (header - 1) / 2;
      if (at + groups > end) throw new PlainParquetUnsupported('definition levels end early');
      const take = Math.min(groups * 8, count - filled);
      for (let k = 0; k < take; k++) {
        const flag = (bytes[at + (k >> 3)]! >> (k & 7)) & 1;
        flags[filled + k] = flag;
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
      flags.fill(flag, filled, filled + take);
      present += flag * take;
      filled += take;
    }
  }
  return present === count ? undefined : flags;
}

/** Builds a column's validity bitmap; none at all while every value is present. */
class ValidityBuilder {
  private bits: Uint8Array | undefined;
  /** Nulls so far. */
  nulls = 0;

  constructor(private readonly rows: number) {}

  /** Records `count` values from `row` on (`present` as in {@link definitionFlags}). */
  page(row: number, count: number, present: Uint8Array | undefined): void {
    if (!present) {
      if (this.bits) setBits(this.bits, row, count);
      return;
    }
    if (!this.bits) {
      this.bits = new Uint8Array(Math.ceil(this.rows / 8));
      setBits(this.bits, 0, row);
    }
    const bits = this.bits;
    for (let i = 0; i < count; i++) {
      if (present[i]) {
        const r = row + i;
        bits[r >> 3]! |= 1 << (r & 7);
      } else {
        this.nulls++;
      }
    }
  }

  /** The bitmap, or undefined without nulls. */
  get bitmap(): Uint8Array | undefined {
    return this.nulls > 0 ? this.bits : undefined;
  }
}

/** Sets bits `[from, from + count)`. */
function setBits(bits: Uint8Array, from: number, count: number): void {
  let r = from;
  const end = from + count;
  for (; r < end && (r & 7) !== 0; r++) bits[r >> 3]! |= 1 << (r & 7);
  const wholeEnd = end & ~7;
  if (r < wholeEnd) {
    bits.fill(0xff, r >> 3, wholeEnd >> 3);
    r = wholeEnd;
  }
  for (; r < end; r++) bits[r >> 3]! |= 1 << (r & 7);
}

/** Collects one column's values page by page, then makes its Arrow data. */
interface ColumnSink {
  /** Takes a page's `count` values (`present` as in {@link definitionFlags}) from `bytes[at, stop)` for rows from `row`. */
  page(bytes: Uint8Array, at: number, stop: number, row: number, count: number, present: Uint8Array | undefined): void;
  finish(type: DataType, validity: ValidityBuilder): Data;
}

function valuesEnd(at: number, bytes: number, stop: number): number {
  if (at + bytes > stop) throw new PlainParquetUnsupported('a page holds fewer values than it declares');
  return at + bytes;
}

/** Calls `run(first, count)` for each run of consecutive present values of a page. */
function presentRuns(present: Uint8Array, run: (first: number, count: number) => void): void {
  let i = 0;
  while (i < present.length) {
    if (present[i] === 0) {
      i++;
      continue;
    }
    const first = i;
    while (i < present.length && present[i] === 1) i++;
    run(first, i - first);
  }
}

function presentCount(present: Uint8Array | undefined, count: number): number {
  if (!present) return count;
  let n = 0;
  for (let i = 0; i < present.length; i++) n += present[i]!;
  return n;
}

function columnSink(layout: PlainColumnLayout, type: DataType, rows: number, chunkBytes: number): ColumnSink {
  const spec = layout.values;
  const make = (validity: ValidityBuilder, parts: { data?: ArrayBufferView; valueOffsets?: ArrayBufferView }): Data => {
    const bitmap = validity.bitmap;
    return makeData({ type, length: rows, nullCount: validity.nulls, ...(bitmap ? { nullBitmap: bitmap } : {}), ...parts } as Parameters<typeof makeData>[0]);
  };
  switch (spec.kind) {
    case 'fixed': {
      const width = spec.width;
      const out = new Uint8Array(rows * width);
      return {
        page(bytes, at, stop, row, count, present) {
          const end = valuesEnd(at, presentCount(present, count) * width, stop);
          if (!present) {
            out.set(bytes.subarray(at, end), row * width);
            return;
          }
          let source = at;
          presentRuns(present, (first, n) => {
            out.set(bytes.subarray(source, source + n * width), (row + first) * width);
            source += n * width;
          });
        },
        finish: (arrowType, validity) => {
          const ArrayType = (arrowType as DataType & { ArrayType: new (buffer: ArrayBuffer, offset: number, length: number) => ArrayBufferView }).ArrayType;
          return make(validity, { data: new ArrayType(out.buffer, out.byteOffset, rows) });
        },
      };
    }
    case 'widened': {
      const ArrayType = (type as DataType & { ArrayType: new (length: number) => Int8Array | Int16Array | Uint8Array | Uint16Array }).ArrayType;
      const out = new ArrayType(rows);
      return {
        page(bytes, at, stop, row, count, present) {
          const valid = presentCount(present, count);
          const end = valuesEnd(at, valid * 4, stop);
          const words = int32View(bytes, at, end);
          if (!present) {
            out.set(words, row);
            return;
          }
          let j = 0;
          for (let i = 0; i < count; i++) if (present[i]) out[row + i] = words[j++]!;
        },
        finish: (_type, validity) => make(validity, { data: out }),
      };
    }
    case 'boolean': {
      const out = new Uint8Array(Math.ceil(rows / 8));
      return {
        page(bytes, at, stop, row, count, present) {
          const valid = presentCount(present, count);
          valuesEnd(at, Math.ceil(valid / 8), stop);
          let j = 0;
          for (let i = 0; i < count; i++) {
            if (present && !present[i]) continue;
            if ((bytes[at + (j >> 3)]! >> (j & 7)) & 1) out[(row + i) >> 3]! |= 1 << ((row + i) & 7);
            j++;
          }
        },
        finish: (_type, validity) => make(validity, { data: out }),
      };
    }
    case 'bytes': {
      // The values' bytes fit in the chunk's bytes; length prefixes make up the difference.
      const heap = new Uint8Array(chunkBytes);
      const ends = new Float64Array(rows + 1);
      let used = 0;
      return {
        page(bytes, at, stop, row, count, present) {
          let source = at;
          const view = new DataView(bytes.buffer, bytes.byteOffset);
          for (let i = 0; i < count; i++) {
            if (!present || present[i]) {
              valuesEnd(source, 4, stop);
              const length = view.getUint32(source, true);
              const end = valuesEnd(source + 4, length, stop);
              if (length > 32) heap.set(bytes.subarray(source + 4, end), used);
              else for (let k = 0; k < length; k++) heap[used + k] = bytes[source + 4 + k]!;
              used += length;
              source = end;
            }
            ends[row + i + 1] = used;
          }
        },
        finish: (_type, validity) => {
          let valueOffsets: Int32Array | BigInt64Array;
          if (spec.wideOffsets) {
            valueOffsets = new BigInt64Array(rows + 1);
            for (let i = 0; i <= rows; i++) valueOffsets[i] = BigInt(ends[i]!);
          } else {
            if (used > 0x7fffffff) throw new PlainParquetUnsupported(`column '${layout.name}' holds over 2 GiB of values`);
            valueOffsets = Int32Array.from(ends);
          }
          return make(validity, { data: heap.subarray(0, used), valueOffsets });
        },
      };
    }
  }
}

/** Little-endian int32 values of `bytes[at, end)`, copied only when not 4-byte aligned. */
function int32View(bytes: Uint8Array, at: number, end: number): Int32Array {
  const offset = bytes.byteOffset + at;
  if (offset % 4 === 0) return new Int32Array(bytes.buffer, offset, (end - at) >> 2);
  return new Int32Array(bytes.slice(at, end).buffer);
}
