/**
 * A Parquet writer for flat tables of the common column types that costs little more than one
 * copy of the data: PLAIN-encoded, uncompressed pages, one page per record-batch slice of a row
 * group. Fixed-width values are copied as they lie in Arrow memory (PLAIN is little-endian, like
 * Arrow); validity bitmaps become bit-packed definition levels unchanged. Written from the Parquet
 * format specification (parquet.thrift, Encodings.md).
 *
 * It embeds the Arrow schema (`ARROW:schema`, the encapsulated IPC schema message, base64) as Arrow
 * writers do, so Arrow readers restore exact types (time zones, large strings, metadata). Every page
 * header carries the page's CRC-32 (PageHeader.crc), and {@link encodePlainParquet} also reports
 * the CRC-32 of the whole file and of its footer, combined from the page CRCs without a second pass.
 * {@link plainParquetLayout} says whether a schema is covered; the codec encodes the others with
 * parquet-wasm.
 */
import { type Data, DataType, DateUnit, type Dictionary, Field, Precision, Schema, type Table, TimeUnit, Timestamp, Type } from 'apache-arrow';
import { crc32, crc32Combine } from '../crc32.js';
import { stringDictionary } from '../dictionary-layout.js';
import { int32Range, int64Range } from '../value-range.js';
import { ThriftCompactWriter } from './thrift-compact-writer.js';

// parquet.thrift enums (facts of the format).
const enum PhysicalType {
  BOOLEAN = 0,
  INT32 = 1,
  INT64 = 2,
  FLOAT = 4,
  DOUBLE = 5,
  BYTE_ARRAY = 6,
}
const enum ConvertedType {
  UTF8 = 0,
  DATE = 6,
  TIMESTAMP_MILLIS = 9,
  TIMESTAMP_MICROS = 10,
  UINT_8 = 11,
  UINT_16 = 12,
  UINT_32 = 13,
  UINT_64 = 14,
  INT_8 = 15,
  INT_16 = 16,
}
const REQUIRED = 0;
const OPTIONAL = 1;
const ENCODING_PLAIN = 0;
const ENCODING_RLE = 3;
const ENCODING_RLE_DICTIONARY = 8;
const PAGE_DATA = 0;
const PAGE_DICTIONARY = 2;
const CODEC_UNCOMPRESSED = 0;

/** How one column's values are laid out in PLAIN pages. */
type ValueLayout =
  /** Arrow's value bytes as they are, `width` bytes per value. */
  | { readonly kind: 'fixed'; readonly width: 4 | 8 }
  /** 8- or 16-bit integers widened to INT32. */
  | { readonly kind: 'widened' }
  /** Bits, packed LSB first. */
  | { readonly kind: 'boolean' }
  /** Variable-length values: 4-byte length, then the bytes; `wideOffsets` for the Large types. */
  | { readonly kind: 'bytes'; readonly wideOffsets: boolean }
  /**
   * An Arrow dictionary of strings: a dictionary page holding the dictionary's values in its own
   * order (PLAIN BYTE_ARRAY), then RLE_DICTIONARY data pages whose codes are the Arrow indices,
   * bit width `width * 8` in one bit-packed run (a byte copy of the little-endian indices).
   */
  | { readonly kind: 'dictionary'; readonly width: 1 | 2 | 4; readonly wideOffsets: boolean };

/** The Parquet description of one top-level column. */
export interface PlainColumnLayout {
  readonly name: string;
  readonly nullable: boolean;
  readonly physicalType: number;
  readonly values: ValueLayout;
  readonly convertedType?: number;
  /** Writes the LogicalType union's one field. */
  readonly logicalType?: (writer: ThriftCompactWriter) => void;
  /** How min/max statistics are computed, for types whose Parquet order is signed. */
  readonly ordering?: 'int32' | 'int64';
  /**
   * Arrow nanosecond timestamps stored as a TIMESTAMP(MICROS) column: every value is a whole
   * microsecond, written divided by 1000 and read multiplied back, exactly.
   */
  readonly nanosAsMicros?: boolean;
}

/** What the writer needs besides the table. */
export interface PlainParquetOptions {
  /** Rows per row group. */
  readonly rowGroupRows: number;
  /** Columns that get min/max statistics (others get only their null count). */
  readonly statisticsColumns: readonly string[];
  /** The encapsulated IPC schema message, embedded as `ARROW:schema`. */
  readonly arrowSchemaMessage: Uint8Array;
}

const integer = (bitWidth: number, isSigned: boolean) => (writer: ThriftCompactWriter) =>
  writer.struct(10, (w) => w.i8(1, bitWidth).bool(2, isSigned));

function columnLayout(field: Field): PlainColumnLayout | undefined {
  const base = { name: field.name, nullable: field.nullable };
  const type: DataType = field.type;
  switch (type.typeId) {
    case Type.Int: {
      const { bitWidth, isSigned } = type as DataType<Type.Int> & { bitWidth: number; isSigned: boolean };
      if (bitWidth <= 16) {
        const convertedType = isSigned ? (bitWidth === 8 ? ConvertedType.INT_8 : ConvertedType.INT_16) : bitWidth === 8 ? ConvertedType.UINT_8 : ConvertedType.UINT_16;
        return { ...base, physicalType: PhysicalType.INT32, values: { kind: 'widened' }, convertedType, logicalType: integer(bitWidth, isSigned), ordering: 'int32' };
      }
      const width = bitWidth === 32 ? 4 : 8;
      const physicalType = width === 4 ? PhysicalType.INT32 : PhysicalType.INT64;
      if (isSigned) return { ...base, physicalType, values: { kind: 'fixed', width }, ordering: width === 4 ? 'int32' : 'int64' };
      // Unsigned order differs from the signed compare the statistics kernels do: no min/max.
      return { ...base, physicalType, values: { kind: 'fixed', width }, convertedType: width === 4 ? ConvertedType.UINT_32 : ConvertedType.UINT_64, logicalType: integer(bitWidth, false) };
    }
    case Type.Float: {
      const precision = (type as DataType<Type.Float> & { precision: Precision }).precision;
      if (precision === Precision.SINGLE) return { ...base, physicalType: PhysicalType.FLOAT, values: { kind: 'fixed', width: 4 } };
      if (precision === Precision.DOUBLE) return { ...base, physicalType: PhysicalType.DOUBLE, values: { kind: 'fixed', width: 8 } };
      return undefined;
    }
    case Type.Bool:
      return { ...base, physicalType: PhysicalType.BOOLEAN, values: { kind: 'boolean' } };
    case Type.Date: {
      if ((type as DataType<Type.Date> & { unit: DateUnit }).unit !== DateUnit.DAY) return undefined;
      return { ...base, physicalType: PhysicalType.INT32, values: { kind: 'fixed', width: 4 }, convertedType: ConvertedType.DATE, logicalType: (w) => w.struct(6, () => undefined), ordering: 'int32' };
    }
    case Type.Timestamp: {
      const { unit, timezone } = type as DataType<Type.Timestamp> & { unit: TimeUnit; timezone?: string | null };
      const unitField = unit === TimeUnit.MILLISECOND ? 1 : unit === TimeUnit.MICROSECOND ? 2 : unit === TimeUnit.NANOSECOND ? 3 : undefined;
      if (unitField === undefined) return undefined; // seconds have no Parquet unit
      const adjustedToUtc = timezone !== null && timezone !== undefined;
      // The legacy converted types mean "UTC-adjusted"; naive timestamps carry only the logical type.
      const convertedType = adjustedToUtc && unitField === 1 ? ConvertedType.TIMESTAMP_MILLIS : adjustedToUtc && unitField === 2 ? ConvertedType.TIMESTAMP_MICROS : undefined;
      return {
        ...base,
        physicalType: PhysicalType.INT64,
        values: { kind: 'fixed', width: 8 },
        ...(convertedType === undefined ? {} : { convertedType }),
        logicalType: (w) => w.struct(8, (t) => t.bool(1, adjustedToUtc).struct(2, (u) => u.struct(unitField, () => undefined))),
        ordering: 'int64',
      };
    }
    case Type.Utf8:
    case Type.LargeUtf8:
      return {
        ...base,
        physicalType: PhysicalType.BYTE_ARRAY,
        values: { kind: 'bytes', wideOffsets: type.typeId === Type.LargeUtf8 },
        convertedType: ConvertedType.UTF8,
        logicalType: (w) => w.struct(1, () => undefined),
      };
    case Type.Binary:
    case Type.LargeBinary:
      return { ...base, physicalType: PhysicalType.BYTE_ARRAY, values: { kind: 'bytes', wideOffsets: type.typeId === Type.LargeBinary } };
    case Type.Dictionary: {
      const { dictionary, indices } = type as Dictionary;
      if (stringDictionary(type)) {
        return {
          ...base,
          physicalType: PhysicalType.BYTE_ARRAY,
          values: { kind: 'dictionary', width: (indices.bitWidth >> 3) as 1 | 2 | 4, wideOffsets: dictionary.typeId === Type.LargeUtf8 },
          convertedType: ConvertedType.UTF8,
          logicalType: (w) => w.struct(1, () => undefined),
        };
      }
      // Other dictionaries are stored as their indices (the codes; Hangar keeps the values beside them).
      return columnLayout(new Field(field.name, indices, field.nullable, field.metadata));
    }
    default:
      return undefined;
  }
}

/**
 * The schema embedded as `ARROW:schema` for a table's file: string dictionaries keep their
 * dictionary type (with `ordered`), other dictionaries become their index type, as stored.
 */
export function plainFileSchema(schema: Schema): Schema {
  if (!schema.fields.some((field) => DataType.isDictionary(field.type) && !stringDictionary(field.type))) return schema;
  return new Schema(
    schema.fields.map((field) =>
      DataType.isDictionary(field.type) && !stringDictionary(field.type) ? new Field(field.name, field.type.indices, field.nullable, field.metadata) : field,
    ),
    schema.metadata,
  );
}

/**
 * The layout of every column, or `undefined` when some column is not covered (nested, dictionary,
 * decimal, half float, seconds timestamps, date64, time, duration, interval, …) or names repeat.
 */
export function plainParquetLayout(schema: Schema): PlainColumnLayout[] | undefined {
  if (new Set(schema.fields.map((field) => field.name)).size !== schema.fields.length) return undefined;
  const layouts: PlainColumnLayout[] = [];
  for (const field of schema.fields) {
    const layout = columnLayout(field);
    if (!layout) return undefined;
    layouts.push(layout);
  }
  return layouts;
}

/** One page's parts and facts. */
interface EncodedPage {
  readonly parts: Uint8Array[];
  readonly bytes: number;
  readonly rows: number;
  readonly nulls: number;
  readonly range?: { min: bigint; max: bigint };
}

/** Bytes of a typed array's whole view. */
function bytesOf(view: ArrayBufferView): Uint8Array {
  return new Uint8Array(view.buffer, view.byteOffset, view.byteLength);
}

/** An Int32Array over `bytes`, copying only when they are not 4-byte aligned. */
function int32Of(bytes: Uint8Array): Int32Array {
  if (bytes.byteOffset % 4 === 0) return new Int32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength >> 2);
  return new Int32Array(bytes.slice().buffer);
}

/** The validity bits of rows `[offset, offset + rows)` starting at bit 0, unused high bits cleared. */
function alignedBits(bitmap: Uint8Array, offset: number, rows: number): Uint8Array {
  const out = new Uint8Array(Math.ceil(rows / 8));
  const shift = offset & 7;
  const first = offset >> 3;
  if (shift === 0) {
    out.set(bitmap.subarray(first, first + out.byteLength));
  } else {
    for (let k = 0; k < out.byteLength; k++) out[k] = ((bitmap[first + k]! >> shift) | ((bitmap[first + k + 1] ?? 0) << (8 - shift))) & 0xff;
  }
  if (rows & 7) out[out.byteLength - 1]! &= (1 << (rows & 7)) - 1;
  return out;
}

/** An unsigned LEB128 varint. */
function varint(value: number): number[] {
  const out: number[] = [];
  let rest = value;
  while (rest >= 0x80) {
    out.push((rest % 0x80) | 0x80);
    rest = Math.floor(rest / 0x80);
  }
  out.push(rest);
  return out;
}

/**
 * Definition levels of an optional column (max level 1) in the RLE/bit-packing hybrid, with the
 * 4-byte length prefix of data page v1: one RLE run of 1s without nulls, else the validity bits as
 * one bit-packed run (bit width 1 packs exactly like an Arrow bitmap).
 */
function definitionLevels(rows: number, bits: Uint8Array | undefined): Uint8Array[] {
  const run = bits ? [...varint((bits.byteLength << 1) | 1)] : [...varint(rows << 1), 1];
  const prefix = new Uint8Array(4 + run.length);
  new DataView(prefix.buffer).setUint32(0, run.length + (bits?.byteLength ?? 0), true);
  prefix.set(run, 4);
  return bits ? [prefix, bits] : [prefix];
}

/** The non-null values of a fixed-width piece, `width` bytes each. */
function gatherFixed(values: Uint8Array, width: 4 | 8, rows: number, bits: Uint8Array, valid: number): Uint8Array {
  const words = width >> 2;
  const source = int32Of(values);
  const out = new Int32Array(valid * words);
  let j = 0;
  for (let i = 0; i < rows; i++) {
    if (((bits[i >> 3]! >> (i & 7)) & 1) === 0) continue;
    for (let w = 0; w < words; w++) out[j++] = source[i * words + w]!;
  }
  return bytesOf(out);
}

/**
 * Encodes the values (and levels) of one slice of a column. apache-arrow's convention: a slice's
 * `offset` indexes its validity bitmap and boolean bits, while value and offset buffers are already
 * cut to start at the slice's first row.
 */
function encodePage(layout: PlainColumnLayout, data: Data, withRange: boolean, convertedValues?: Int32Array): EncodedPage {
  const rows = data.length;
  const nulls = data.nullBitmap && data.nullBitmap.byteLength > 0 ? data.nullCount : 0;
  if (nulls > 0 && !layout.nullable) throw new PlainParquetUnsupported(`column '${layout.name}' is declared non-nullable but holds nulls`);
  const bits = nulls > 0 ? alignedBits(data.nullBitmap!, data.offset, rows) : undefined;
  const parts: Uint8Array[] = layout.nullable ? definitionLevels(rows, bits) : [];
  const valid = rows - nulls;
  let range: { min: bigint; max: bigint } | undefined;
  const spec = layout.values;
  switch (spec.kind) {
    case 'fixed': {
      // Nanoseconds stored as microseconds come already divided (see microsecondColumns).
      const all = convertedValues ? bytesOf(convertedValues) : bytesOf(data.values as ArrayBufferView).subarray(0, rows * spec.width);
      if (withRange && valid > 0) range = spec.width === 4 ? int32Range(int32Of(all), rows, bits) : int64Range(int32Of(all), rows, bits);
      parts.push(bits ? gatherFixed(all, spec.width, rows, bits, valid) : all);
      break;
    }
    case 'widened': {
      const source = (data.values as Int8Array | Int16Array | Uint8Array | Uint16Array).subarray(0, rows);
      if (withRange && valid > 0) range = int32Range(source, rows, bits);
      const out = new Int32Array(valid);
      if (bits) {
        let j = 0;
        for (let i = 0; i < rows; i++) if ((bits[i >> 3]! >> (i & 7)) & 1) out[j++] = source[i]!;
      } else {
        out.set(source);
      }
      parts.push(bytesOf(out));
      break;
    }
    case 'boolean': {
      const values = data.values as Uint8Array;
      if (!bits) {
        parts.push(alignedBits(values, data.offset, rows));
      } else {
        const out = new Uint8Array(Math.ceil(valid / 8));
        let j = 0;
        for (let i = 0; i < rows; i++) {
          if (((bits[i >> 3]! >> (i & 7)) & 1) === 0) continue;
          const row = data.offset + i;
          if ((values[row >> 3]! >> (row & 7)) & 1) out[j >> 3]! |= 1 << (j & 7);
          j++;
        }
        parts.push(out);
      }
      break;
    }
    case 'bytes':
      parts.push(plainByteArrays(data, rows, bits, valid, spec.wideOffsets));
      break;
    case 'dictionary':
      parts.push(...dictionaryCodes(data, spec.width, rows, bits, valid));
      break;
  }
  const bytes = parts.reduce((sum, part) => sum + part.byteLength, 0);
  return { parts, bytes, rows, nulls, ...(range ? { range } : {}) };
}

/**
 * Checks that every column of a record batch has the batch's row count and buffers long enough for
 * them. The lengths are the client's: unchecked, one flipped byte in a batch's length made a
 * 231-byte put store 922 million rows (found by the protocol fuzzer, seed 25, FlightData case 3176).
 * @throws Error naming the column, for a malformed batch
 */
function assertWellFormed(columns: readonly Data[], rows: number): void {
  columns.forEach((data, column) => {
    if (data.length !== rows) throw new Error(`column ${column} has ${data.length} rows but its record batch says ${rows}; the record batch is malformed`);
    // A column of no rows reads no buffer: writers may send them empty (no offsets at all).
    if (data.length === 0) return;
    const end = data.offset + data.length;
    const need = (have: number, needed: number, what: string): void => {
      if (have < needed) throw new Error(`column ${column}'s ${what} holds ${have} entries, fewer than its ${data.length} rows need (${needed}); the record batch is malformed`);
    };
    if (data.nullCount > 0 && data.nullBitmap) need(data.nullBitmap.length * 8, end, 'validity bitmap');
    if (data.valueOffsets) need(data.valueOffsets.length, end + 1, 'offsets buffer');
    else if (DataType.isBool(data.type)) need((data.values as Uint8Array).length * 8, end, 'values bitmap');
    else if (data.values) need((data.values as ArrayLike<unknown>).length, end * data.stride, 'values buffer');
  });
}

/**
 * The codes of a dictionary page's data page (after its definition levels): the bit width, then
 * the non-null Arrow indices as one bit-packed run of the RLE/bit-packing hybrid. With a bit width
 * of 8, 16 or 32, bit-packing lays values out least significant bit first, 8 to a group, which is
 * exactly the little-endian bytes of the indices: the run is a copy, padded to whole groups of 8.
 * @throws Error when an index is outside the column's dictionary (a malformed batch)
 */
function dictionaryCodes(data: Data, width: 1 | 2 | 4, rows: number, bits: Uint8Array | undefined, valid: number): Uint8Array[] {
  const size = data.dictionary?.length ?? 0;
  const indices = (data.values as Int8Array | Int16Array | Int32Array | Uint8Array | Uint16Array | Uint32Array).subarray(0, rows);
  const groups = Math.ceil(valid / 8);
  if (!bits && rows > 0 && indices.BYTES_PER_ELEMENT === width) {
    // No nulls, and the codes are the indices' own bytes (checked in range, so non-negative): the
    // run is a view of them, with only a last group of fewer than 8 padded in a copy.
    const checked = checkedIndices(indices, size);
    if (checked >= 0) throw new Error(`a dictionary column's index ${indices[checked]} at row ${checked} is outside its ${size}-value dictionary; the record batch is malformed`);
    const whole = rows - (rows % 8);
    const head = bytesOf(indices.subarray(0, whole));
    const tail = new Uint8Array(rows === whole ? 0 : 8 * width);
    tail.set(bytesOf(indices.subarray(whole)));
    return [Uint8Array.of(width * 8, ...varint((groups << 1) | 1)), head, tail];
  }
  const out = new Uint8Array(groups * 8 * width);
  const codes = width === 1 ? out : width === 2 ? new Uint16Array(out.buffer) : new Uint32Array(out.buffer);
  let j = 0;
  for (let i = 0; i < rows; i++) {
    if (bits && ((bits[i >> 3]! >> (i & 7)) & 1) === 0) continue;
    const code = indices[i]!;
    if (code < 0 || code >= size) throw new Error(`a dictionary column's index ${code} at row ${i} is outside its ${size}-value dictionary; the record batch is malformed`);
    codes[j++] = code;
  }
  // A page of nulls only has no codes: the bit width alone.
  return valid === 0 ? [Uint8Array.of(width * 8)] : [Uint8Array.of(width * 8, ...varint((groups << 1) | 1)), out];
}

/** The first row whose index lies outside `[0, size)`, or -1 when all are in range (one tight pass per array type). */
function checkedIndices(indices: Int8Array | Int16Array | Int32Array | Uint8Array | Uint16Array | Uint32Array, size: number): number {
  if (indices instanceof Int32Array) return firstOutside32(indices, size);
  for (let i = 0; i < indices.length; i++) {
    const code = indices[i]!;
    if (code < 0 || code >= size) return i;
  }
  return -1;
}

function firstOutside32(indices: Int32Array, size: number): number {
  // Read as unsigned, a negative index is above any dictionary's size: one comparison per row.
  for (let i = 0; i < indices.length; i++) if (indices[i]! >>> 0 >= size) return i;
  return -1;
}

/** The longest of a dictionary column's batch dictionaries (the segment's whole dictionary), as its chunks. */
function dictionaryOf(table: Table, column: number): readonly Data[] {
  let longest: readonly Data[] = [];
  let length = -1;
  for (const batch of table.batches) {
    const dictionary = batch.data.children[column]!.dictionary;
    if (dictionary && dictionary.length > length) {
      longest = dictionary.data;
      length = dictionary.length;
    }
  }
  return longest;
}

/** A column chunk's dictionary page body: the values of the Arrow dictionary, in its order, PLAIN. */
function dictionaryValues(dictionaries: readonly Data[], wideOffsets: boolean): { body: Uint8Array[]; count: number } {
  const body: Uint8Array[] = [];
  let count = 0;
  for (const data of dictionaries) {
    if (data.nullCount > 0) throw new PlainParquetUnsupported('a dictionary holds a null value, which a Parquet dictionary page cannot');
    body.push(plainByteArrays(data, data.length, undefined, data.length, wideOffsets));
    count += data.length;
  }
  return { body, count };
}

/** PLAIN BYTE_ARRAY: each non-null value as a 4-byte little-endian length and its bytes. */
function plainByteArrays(data: Data, rows: number, bits: Uint8Array | undefined, valid: number, wideOffsets: boolean): Uint8Array {
  const heap = data.values as Uint8Array;
  // Offsets as numbers: 32-bit ones directly, 64-bit ones from their two halves.
  const raw = data.valueOffsets as Int32Array | BigInt64Array;
  const halves = wideOffsets ? int32Of(bytesOf(raw)) : undefined;
  const offsets = raw as Int32Array;
  const at = halves ? (i: number): number => halves[2 * i]! + halves[2 * i + 1]! * 0x1_0000_0000 : (i: number): number => offsets[i]!;
  // The offsets are the client's: they must start at or after 0, never decrease and stay within the
  // value bytes. Unchecked, a 2-row put whose offsets said 2^31 wrote a 2 GB segment (found by the
  // protocol fuzzer, seed 25, FlightData case 4449).
  if (at(0) < 0 || at(rows) > heap.byteLength) {
    throw new Error(`a string or binary column's offsets run from ${at(0)} to ${at(rows)}, outside its ${heap.byteLength} value bytes; the record batch is malformed`);
  }
  for (let i = 0; i < rows; i++) {
    if (at(i + 1) < at(i)) throw new Error(`a string or binary column's offsets decrease at row ${i}; the record batch is malformed`);
  }
  let payload = 0;
  if (bits) {
    for (let i = 0; i < rows; i++) if ((bits[i >> 3]! >> (i & 7)) & 1) payload += at(i + 1) - at(i);
  } else {
    payload = at(rows) - at(0);
  }
  const out = new Uint8Array(4 * valid + payload);
  let position = 0;
  for (let i = 0; i < rows; i++) {
    if (bits && ((bits[i >> 3]! >> (i & 7)) & 1) === 0) continue;
    const start = at(i);
    const length = at(i + 1) - start;
    out[position] = length & 0xff;
    out[position + 1] = (length >>> 8) & 0xff;
    out[position + 2] = (length >>> 16) & 0xff;
    out[position + 3] = (length >>> 24) & 0xff;
    position += 4;
    if (length > 32) {
      out.set(heap.subarray(start, start + length), position);
    } else {
      for (let k = 0; k < length; k++) out[position + k] = heap[start + k]!;
    }
    position += length;
  }
  return out;
}

/**
 * The table (or file) holds something the plain writer (or reader) does not cover; the codec
 * uses parquet-wasm instead.
 */
export class PlainParquetUnsupported extends Error {
  override readonly name = 'PlainParquetUnsupported';
}

/** A written column chunk, for the footer. */
interface ChunkFacts {
  readonly layout: PlainColumnLayout;
  readonly offset: number;
  /** Where the first data page begins (after the dictionary page, if any). */
  readonly dataOffset: number;
  readonly bytes: number;
  readonly rows: number;
  readonly nulls: number;
  readonly range?: { min: bigint; max: bigint };
}

/** A little-endian statistics value: int32 or int64 by the column's ordering. */
function statisticsValue(value: bigint, ordering: 'int32' | 'int64'): Uint8Array {
  const out = new Uint8Array(ordering === 'int32' ? 4 : 8);
  const view = new DataView(out.buffer);
  if (ordering === 'int32') view.setInt32(0, Number(value), true);
  else view.setBigInt64(0, value, true);
  return out;
}

/** A Parquet file and its checksums. */
export interface ChecksummedParquet {
  readonly file: Uint8Array;
  /** CRC-32 of the whole file. */
  readonly crc32: number;
  /** CRC-32 of the footer: the FileMetaData and the 8-byte trailer (the file's last bytes). */
  readonly footerCrc32: number;
  /** Nanosecond timestamp columns stored as microseconds (every value a whole microsecond). */
  readonly microsecondColumns: readonly string[];
}

const NANOS_PER_MICRO = 1000;
const TWO_POW_32 = 4294967296;
/**
 * 1/1000 as a double, a hair above it: multiplying by it and flooring gives the quotient for the
 * magnitudes divided below (|high| < 2^31, 0 ≤ rest < 1000 × 2^32: the product's error stays far
 * below 1/1000), but for a negative multiple of 1000 (corrected), several times cheaper than a division.
 */
const PER_MICRO = 0.001;

/**
 * A nanosecond column's values divided by 1000, as little-endian int64 words, or undefined when
 * some non-null value is not a whole microsecond. Exact on 32-bit halves: floor-divide the high
 * word, then the remainder with the low word (below 1000 × 2^32, exact in a double); each quotient
 * is checked by its remainder, which is 0 to 999 when it is right.
 */
function nanosToMicros(data: Data): Int32Array | undefined {
  const rows = data.length;
  const words = int32Of(bytesOf(data.values as ArrayBufferView).subarray(0, rows * 8));
  const bits = data.nullCount > 0 && data.nullBitmap && data.nullBitmap.byteLength > 0 ? data.nullBitmap : undefined;
  const out = new Int32Array(rows * 2);
  for (let i = 0; i < rows; i++) {
    const high = words[2 * i + 1]!;
    let highQuotient = Math.floor(high * PER_MICRO);
    let highRest = high - highQuotient * NANOS_PER_MICRO;
    // A negative multiple of 1000 times PER_MICRO lands a hair below the integer: one too low.
    if (highRest >= NANOS_PER_MICRO) {
      highQuotient++;
      highRest -= NANOS_PER_MICRO;
    }
    const rest = highRest * TWO_POW_32 + (words[2 * i]! >>> 0);
    const lowQuotient = Math.floor(rest * PER_MICRO);
    if (rest - lowQuotient * NANOS_PER_MICRO !== 0) {
      const row = data.offset + i;
      if (!bits || (bits[row >> 3]! >> (row & 7)) & 1) return undefined;
    }
    out[2 * i] = lowQuotient | 0;
    out[2 * i + 1] = highQuotient;
  }
  return out;
}

/**
 * The table's nanosecond timestamp columns whose every value is a whole microsecond, with their
 * values in microseconds per batch: Delta's timestamps are microseconds, and engines that read
 * Parquet refuse (Spark) or cannot always convert (delta-rs) nanosecond files.
 */
function microsecondColumns(table: Table, layouts: readonly PlainColumnLayout[]): Map<number, Int32Array[]> {
  const out = new Map<number, Int32Array[]>();
  // No values: the column keeps its own unit (nothing says the frame's values are microseconds).
  if (table.numRows === 0) return out;
  table.schema.fields.forEach((field, column) => {
    const type = field.type as DataType;
    if (!DataType.isTimestamp(type) || type.unit !== TimeUnit.NANOSECOND || layouts[column]?.values.kind !== 'fixed') return;
    const batches: Int32Array[] = [];
    for (const batch of table.batches) {
      const micros = nanosToMicros(batch.data.children[column]!);
      if (!micros) return;
      batches.push(micros);
    }
    out.set(column, batches);
  });
  return out;
}

/**
 * Writes `table` as a Parquet file.
 * @throws PlainParquetUnsupported when a column type is not covered (see {@link plainParquetLayout})
 *   or a non-nullable column holds nulls
 */
export function writePlainParquet(table: Table, options: PlainParquetOptions): Uint8Array {
  return encodePlainParquet(table, options).file;
}

/**
 * Writes `table` as a Parquet file with page CRCs, and returns the file's and its footer's CRC-32.
 * @throws as {@link writePlainParquet}
 */
export function encodePlainParquet(table: Table, options: PlainParquetOptions): ChecksummedParquet {
  const { parts, byteLength, ...facts } = encodePlainParquetParts(table, options);
  // Not zero-filled: the parts cover every byte of the file.
  const file = new Uint8Array(Buffer.allocUnsafeSlow(byteLength).buffer, 0, byteLength);
  let at = 0;
  for (const part of parts) {
    file.set(part, at);
    at += part.byteLength;
  }
  return { file, ...facts };
}

/** A Parquet file as its runs of bytes in order, and its checksums. */
export interface ChecksummedParquetParts extends Omit<ChecksummedParquet, 'file'> {
  /**
   * The file's bytes in order. Fixed-width values without nulls are views of the table's own
   * buffers, not copies: a caller that writes the runs one after another never copies the values.
   */
  readonly parts: readonly Uint8Array[];
  /** The file's length: the sum of the parts' lengths. */
  readonly byteLength: number;
}

/**
 * As {@link encodePlainParquet}, without joining the file: its runs of bytes in order.
 * @throws as {@link writePlainParquet}
 */
export function encodePlainParquetParts(table: Table, options: PlainParquetOptions): ChecksummedParquetParts {
  const covered = plainParquetLayout(table.schema);
  if (!covered) throw new PlainParquetUnsupported('a column type is not covered by the plain writer');
  for (const batch of table.batches) assertWellFormed(batch.data.children, batch.numRows);
  const micros = microsecondColumns(table, covered);
  const layouts = covered.map((layout, column): PlainColumnLayout => {
    if (!micros.has(column)) return layout;
    const field = table.schema.fields[column]!;
    const timezone = (field.type as DataType<Type.Timestamp> & { timezone?: string | null }).timezone ?? null;
    return { ...columnLayout(new Field(field.name, new Timestamp(TimeUnit.MICROSECOND, timezone), field.nullable))!, nanosAsMicros: true };
  });
  const withStatistics = new Set(options.statisticsColumns);
  const parts: Uint8Array[] = [new TextEncoder().encode('PAR1')];
  let position = 4;
  let fileCrc = crc32(parts[0]!);
  const rowGroups: { rows: number; chunks: ChunkFacts[] }[] = [];
  const rowGroupRows = Math.max(1, options.rowGroupRows);

  for (let groupStart = 0; groupStart < table.numRows; groupStart += rowGroupRows) {
    const groupEnd = Math.min(table.numRows, groupStart + rowGroupRows);
    const chunks: ChunkFacts[] = [];
    layouts.forEach((layout, column) => {
      const withRange = layout.ordering !== undefined && withStatistics.has(layout.name);
      const chunkOffset = position;
      let nulls = 0;
      let range: { min: bigint; max: bigint } | undefined;
      if (layout.values.kind === 'dictionary') {
        // One dictionary page per chunk: the longest (latest) of the batches' dictionaries, of
        // which the others are prefixes (a segment holds one dictionary and its deltas).
        const dictionary = dictionaryOf(table, column);
        const values = dictionaryValues(dictionary, layout.values.wideOffsets);
        const bytes = values.body.reduce((sum, part) => sum + part.byteLength, 0);
        let pageCrc = 0;
        for (const part of values.body) pageCrc = crc32(part, pageCrc);
        const header = new ThriftCompactWriter()
          .i32(1, PAGE_DICTIONARY)
          .i32(2, bytes)
          .i32(3, bytes)
          .i32(4, pageCrc | 0)
          .struct(7, (w) => w.i32(1, values.count).i32(2, ENCODING_PLAIN))
          .stop()
          .finish();
        fileCrc = crc32Combine(crc32(header, fileCrc), pageCrc, bytes);
        parts.push(header, ...values.body);
        position += header.byteLength + bytes;
      }
      const dataOffset = position;
      const valueEncoding = layout.values.kind === 'dictionary' ? ENCODING_RLE_DICTIONARY : ENCODING_PLAIN;
      let batchStart = 0;
      const converted = micros.get(column);
      for (const [index, batch] of table.batches.entries()) {
        const batchEnd = batchStart + batch.numRows;
        const from = Math.max(groupStart, batchStart);
        const to = Math.min(groupEnd, batchEnd);
        batchStart = batchEnd;
        if (from >= to) continue;
        const first = from - (batchEnd - batch.numRows);
        const data = batch.data.children[column]!.slice(first, to - from);
        const page = encodePage(layout, data, withRange, converted?.[index]!.subarray(2 * first, 2 * (first + to - from)));
        // The page CRC covers the page's (compressed, here uncompressed) bytes after its header.
        let pageCrc = 0;
        for (const part of page.parts) pageCrc = crc32(part, pageCrc);
        const header = new ThriftCompactWriter()
          .i32(1, PAGE_DATA)
          .i32(2, page.bytes)
          .i32(3, page.bytes)
          .i32(4, pageCrc | 0)
          .struct(5, (w) => w.i32(1, page.rows).i32(2, valueEncoding).i32(3, ENCODING_RLE).i32(4, ENCODING_RLE))
          .stop()
          .finish();
        fileCrc = crc32Combine(crc32(header, fileCrc), pageCrc, page.bytes);
        parts.push(header, ...page.parts);
        position += header.byteLength + page.bytes;
        nulls += page.nulls;
        if (page.range) range = range ? { min: page.range.min < range.min ? page.range.min : range.min, max: page.range.max > range.max ? page.range.max : range.max } : page.range;
      }
      chunks.push({ layout, offset: chunkOffset, dataOffset, bytes: position - chunkOffset, rows: groupEnd - groupStart, nulls, ...(range ? { range } : {}) });
    });
    rowGroups.push({ rows: groupEnd - groupStart, chunks });
  }

  const footer = fileMetaData(layouts, table.numRows, rowGroups, options);
  const trailer = new Uint8Array(8);
  new DataView(trailer.buffer).setUint32(0, footer.byteLength, true);
  trailer.set(new TextEncoder().encode('PAR1'), 4);
  parts.push(footer, trailer);
  position += footer.byteLength + trailer.byteLength;
  const footerCrc32 = crc32(trailer, crc32(footer));
  const microsecondNames = [...micros.keys()].map((column) => table.schema.fields[column]!.name);
  return { parts, byteLength: position, crc32: crc32Combine(fileCrc, footerCrc32, footer.byteLength + trailer.byteLength), footerCrc32, microsecondColumns: microsecondNames };
}

/** The Thrift FileMetaData of the file. */
function fileMetaData(
  layouts: readonly PlainColumnLayout[],
  rows: number,
  rowGroups: readonly { rows: number; chunks: ChunkFacts[] }[],
  options: PlainParquetOptions,
): Uint8Array {
  const writer = new ThriftCompactWriter();
  writer.i32(1, 1);
  writer.structList(2, [undefined, ...layouts], (w, layout) => {
    if (!layout) {
      w.string(4, 'arrow_schema').i32(5, layouts.length);
      return;
    }
    w.i32(1, layout.physicalType).i32(3, layout.nullable ? OPTIONAL : REQUIRED).string(4, layout.name);
    if (layout.convertedType !== undefined) w.i32(6, layout.convertedType);
    if (layout.logicalType) w.struct(10, layout.logicalType);
  });
  writer.i64(3, rows);
  writer.structList(4, rowGroups, (w, group) => {
    w.structList(1, group.chunks, (c, chunk) => {
      c.i64(2, chunk.offset).struct(3, (m) => {
        m.i32(1, chunk.layout.physicalType)
          .i32List(2, chunk.layout.values.kind === 'dictionary' ? [ENCODING_PLAIN, ENCODING_RLE, ENCODING_RLE_DICTIONARY] : [ENCODING_PLAIN, ENCODING_RLE])
          .stringList(3, [chunk.layout.name])
          .i32(4, CODEC_UNCOMPRESSED)
          .i64(5, chunk.rows)
          .i64(6, chunk.bytes)
          .i64(7, chunk.bytes)
          .i64(9, chunk.dataOffset);
        if (chunk.dataOffset !== chunk.offset) m.i64(11, chunk.offset);
        m.struct(12, (s) => {
          s.i64(3, chunk.nulls);
          const ordering = chunk.layout.ordering;
          if (chunk.range && ordering) s.binary(5, statisticsValue(chunk.range.max, ordering)).binary(6, statisticsValue(chunk.range.min, ordering));
        });
      });
    });
    const bytes = group.chunks.reduce((sum, chunk) => sum + chunk.bytes, 0);
    w.i64(2, bytes).i64(3, group.rows).i64(5, group.chunks[0]?.offset ?? 4).i64(6, bytes).i16(7, rowGroups.indexOf(group));
  });
  writer.structList(5, [{ key: 'ARROW:schema', value: Buffer.from(options.arrowSchemaMessage).toString('base64') }], (w, entry) =>
    w.string(1, entry.key).string(2, entry.value),
  );
  writer.string(6, 'hangar');
  // TypeDefinedOrder for every leaf: readers may then trust min_value/max_value.
  writer.structList(7, layouts, (w) => w.struct(1, () => undefined));
  return writer.stop().finish().slice();
}
