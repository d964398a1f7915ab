/**
 * The DuckDB→Arrow bridge, column by column: each accumulator copies rows of DuckDB vectors into
 * Arrow buffers in bulk (typed-array copies, validity masks word by word, strings by contiguous
 * runs of their heap memory) and never builds a JavaScript value per row, except for the rare
 * types Arrow has no native form for, which are sent as text.
 */
import duckdb from '@duckdb/node-bindings';
import {
  type DuckDBArrayType,
  type DuckDBDecimalType,
  type DuckDBEnumType,
  type DuckDBListType,
  type DuckDBMapType,
  type DuckDBStructType,
  type DuckDBType,
  DuckDBTypeId,
  DuckDBVector,
} from '@duckdb/node-api';
import {
  Binary,
  Bool,
  type Data,
  DataType,
  DateDay,
  Decimal,
  Dictionary,
  Field,
  FixedSizeList,
  Float32,
  Float64,
  Int16,
  Int32,
  Int64,
  Int8,
  List,
  Map_,
  Null,
  Struct,
  TimeMicrosecond,
  TimeNanosecond,
  TimeUnit,
  Timestamp,
  Uint16,
  Uint32,
  Uint64,
  Uint8,
  Utf8,
  makeData,
  vectorFromArray,
} from 'apache-arrow';
import { ByteBuffer, ValidityBuffer } from './byte-buffers.js';
import type { ResultBudget } from './result-budget.js';

/** Accumulates rows of DuckDB vectors of one type into the Arrow data of one column. */
export interface ColumnAccumulator {
  /** The Arrow type produced. */
  readonly type: DataType;
  /** Appends rows `[start, start + count)` of a vector of this column's DuckDB type. */
  append(vector: duckdb.Vector, start: number, count: number): void;
  /** The Arrow data of the rows appended since the last call; the accumulator starts over. */
  take(): Data;
}

/** Hands out dictionary ids, unique within one result schema. */
export interface DictionaryIds {
  next: number;
}

/**
 * Creates the accumulator for a DuckDB column type. With a `budget`, every byte of values and
 * offsets is charged to it before it is copied (see result-budget.ts).
 */
export function columnAccumulator(type: DuckDBType, ids: DictionaryIds, rowsHint = 2048, budget?: ResultBudget): ColumnAccumulator {
  const fixed = (arrowType: DataType, width: number): ColumnAccumulator => new FixedWidthColumn(arrowType, width, rowsHint, budget);
  switch (type.typeId) {
    case DuckDBTypeId.BOOLEAN:
      return new BooleanColumn();
    case DuckDBTypeId.TINYINT:
      return fixed(new Int8(), 1);
    case DuckDBTypeId.SMALLINT:
      return fixed(new Int16(), 2);
    case DuckDBTypeId.INTEGER:
      return fixed(new Int32(), 4);
    case DuckDBTypeId.BIGINT:
      return fixed(new Int64(), 8);
    case DuckDBTypeId.UTINYINT:
      return fixed(new Uint8(), 1);
    case DuckDBTypeId.USMALLINT:
      return fixed(new Uint16(), 2);
    case DuckDBTypeId.UINTEGER:
      return fixed(new Uint32(), 4);
    case DuckDBTypeId.UBIGINT:
      return fixed(new Uint64(), 8);
    case DuckDBTypeId.FLOAT:
      return fixed(new Float32(), 4);
    case DuckDBTypeId.DOUBLE:
      return fixed(new Float64(), 8);
    case DuckDBTypeId.DATE:
      return fixed(new DateDay(), 4);
    case DuckDBTypeId.TIME:
      return fixed(new TimeMicrosecond(), 8);
    case DuckDBTypeId.TIME_NS:
      return fixed(new TimeNanosecond(), 8);
    case DuckDBTypeId.TIMESTAMP_S:
      return fixed(new Timestamp(TimeUnit.SECOND), 8);
    case DuckDBTypeId.TIMESTAMP_MS:
      return fixed(new Timestamp(TimeUnit.MILLISECOND), 8);
    case DuckDBTypeId.TIMESTAMP:
      return fixed(new Timestamp(TimeUnit.MICROSECOND), 8);
    case DuckDBTypeId.TIMESTAMP_NS:
      return fixed(new Timestamp(TimeUnit.NANOSECOND), 8);
    case DuckDBTypeId.TIMESTAMP_TZ:
      return fixed(new Timestamp(TimeUnit.MICROSECOND, 'UTC'), 8);
    case DuckDBTypeId.HUGEINT:
      return fixed(new Decimal(0, 38, 128), 16);
    case DuckDBTypeId.DECIMAL:
      return new DecimalColumn(type as DuckDBDecimalType, budget);
    case DuckDBTypeId.VARCHAR:
      return new StringColumn(new Utf8(), rowsHint, budget);
    case DuckDBTypeId.BLOB:
      return new StringColumn(new Binary(), rowsHint, budget);
    case DuckDBTypeId.ENUM:
      return new EnumColumn(type as DuckDBEnumType, ids.next++, budget);
    case DuckDBTypeId.LIST: {
      const child = columnAccumulator((type as DuckDBListType).valueType, ids, 2048, budget);
      return new ListColumn(new List(new Field('item', child.type, true)), child, budget);
    }
    case DuckDBTypeId.MAP: {
      const map = type as DuckDBMapType;
      const entries = new StructColumn(['key', 'value'], [columnAccumulator(map.keyType, ids, 2048, budget), columnAccumulator(map.valueType, ids, 2048, budget)]);
      return new ListColumn(new Map_(new Field('entries', entries.type, false)), entries, budget);
    }
    case DuckDBTypeId.STRUCT: {
      const struct = type as DuckDBStructType;
      return new StructColumn(struct.entryNames, struct.entryTypes.map((entry) => columnAccumulator(entry, ids, 2048, budget)));
    }
    case DuckDBTypeId.ARRAY: {
      const array = type as DuckDBArrayType;
      return new FixedSizeListColumn(array.length, columnAccumulator(array.valueType, ids, 2048, budget));
    }
    case DuckDBTypeId.SQLNULL:
      return new NullColumn();
    default:
      // UUID, INTERVAL, TIME_TZ, UNION, BIT, UHUGEINT, BIGNUM, GEOMETRY, VARIANT: sent as text.
      return new TextColumn(type, budget);
  }
}

/** Bytes of a DuckDB validity mask covering `rows` rows (64-bit words). */
function validityOf(vector: duckdb.Vector, rows: number): Uint8Array | null {
  return duckdb.vector_get_validity(vector, Math.ceil(rows / 64) * 8);
}

/** A view of `bytes` as 32-bit words, copying only if the bytes are not 4-aligned. */
function words(bytes: Uint8Array): Uint32Array {
  const aligned = bytes.byteOffset % 4 === 0 ? bytes : bytes.slice();
  return new Uint32Array(aligned.buffer, aligned.byteOffset, aligned.byteLength >>> 2);
}

/** Numbers, dates, times and timestamps: DuckDB's layout is Arrow's, so rows are copied as bytes. */
class FixedWidthColumn implements ColumnAccumulator {
  private readonly values: ByteBuffer;
  private readonly validity = new ValidityBuffer();

  constructor(
    readonly type: DataType,
    private readonly width: number,
    rowsHint: number,
    budget?: ResultBudget,
  ) {
    this.values = new ByteBuffer(rowsHint * width, budget);
  }

  append(vector: duckdb.Vector, start: number, count: number): void {
    this.validity.appendMask(validityOf(vector, start + count), start, count);
    const data = duckdb.vector_get_data(vector, (start + count) * this.width);
    this.values.append(data.subarray(start * this.width));
  }

  take(): Data {
    const length = this.validity.length;
    const bytes = this.values.take();
    const ArrayType = (this.type as DataType & { ArrayType: new (buffer: ArrayBuffer, offset: number, length: number) => ArrayLike<unknown> })
      .ArrayType;
    // Decimal's ArrayType counts 32-bit words; every other type here counts values.
    const elements = DataType.isDecimal(this.type) ? bytes.byteLength >>> 2 : bytes.byteLength / this.width;
    const data = new ArrayType(bytes.buffer as ArrayBuffer, bytes.byteOffset, elements);
    return makeData({ type: this.type, length, ...this.validity.take(), data } as never);
  }
}

/** DuckDB booleans are bytes; Arrow's are bits. */
class BooleanColumn implements ColumnAccumulator {
  readonly type = new Bool();
  private readonly bits = new ValidityBuffer();
  private readonly validity = new ValidityBuffer();
  private valuesSeen = 0;

  append(vector: duckdb.Vector, start: number, count: number): void {
    this.validity.appendMask(validityOf(vector, start + count), start, count);
    const data = duckdb.vector_get_data(vector, start + count);
    for (let row = start; row < start + count; row++) this.bits.appendOne(data[row] !== 0);
    this.valuesSeen += count;
  }

  take(): Data {
    const length = this.valuesSeen;
    const { nullBitmap: valueBits } = this.bits.take();
    this.valuesSeen = 0;
    // An all-true column leaves the value buffer unmaterialised: spell it out.
    const data = valueBits ?? new Uint8Array((length + 7) >>> 3).fill(0);
    if (!valueBits) for (let i = 0; i < length; i++) data[i >>> 3]! |= 1 << (i & 7);
    return makeData({ type: this.type, length, ...this.validity.take(), data });
  }
}

/** DECIMAL: DuckDB stores 16/32/64/128-bit integers by width; Arrow wants 128-bit everywhere. */
class DecimalColumn implements ColumnAccumulator {
  readonly type: Decimal;
  private readonly storageBytes: number;
  private readonly values: ByteBuffer;
  private readonly validity = new ValidityBuffer();

  constructor(decimal: DuckDBDecimalType, budget?: ResultBudget) {
    this.values = new ByteBuffer(64 * 1024, budget);
    this.type = new Decimal(decimal.scale, decimal.width, 128);
    this.storageBytes = decimal.width <= 4 ? 2 : decimal.width <= 9 ? 4 : decimal.width <= 18 ? 8 : 16;
  }

  append(vector: duckdb.Vector, start: number, count: number): void {
    this.validity.appendMask(validityOf(vector, start + count), start, count);
    const source = duckdb.vector_get_data(vector, (start + count) * this.storageBytes).subarray(start * this.storageBytes);
    if (this.storageBytes === 16) {
      this.values.append(source);
      return;
    }
    const target = this.values.reserve(count * 16);
    const out = new Int32Array(target.buffer, target.byteOffset + this.values.length, count * 4);
    const aligned = source.byteOffset % 8 === 0 ? source : source.slice();
    if (this.storageBytes === 8) {
      const pairs = new Int32Array(aligned.buffer, aligned.byteOffset, count * 2);
      for (let i = 0; i < count; i++) {
        const high = pairs[i * 2 + 1]!;
        out[i * 4] = pairs[i * 2]!;
        out[i * 4 + 1] = high;
        out[i * 4 + 2] = out[i * 4 + 3] = high >> 31;
      }
    } else {
      const small = this.storageBytes === 4 ? new Int32Array(aligned.buffer, aligned.byteOffset, count) : new Int16Array(aligned.buffer, aligned.byteOffset, count);
      for (let i = 0; i < count; i++) {
        const value = small[i]!;
        out[i * 4] = value;
        out[i * 4 + 1] = out[i * 4 + 2] = out[i * 4 + 3] = value >> 31;
      }
    }
    this.values.length += count * 16;
  }

  take(): Data {
    const length = this.validity.length;
    const bytes = this.values.take();
    const data = new Uint32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength >>> 2);
    return makeData({ type: this.type, length, ...this.validity.take(), data });
  }
}

/** Offsets of a variable-length column, grown by doubling. */
class OffsetBuffer {
  private offsets = new Int32Array(4097);
  /** Entries written (one more than the rows). */
  length = 1;

  push(offset: number): void {
    if (this.length === this.offsets.length) {
      const grown = new Int32Array(this.offsets.length * 2);
      grown.set(this.offsets);
      this.offsets = grown;
    }
    this.offsets[this.length++] = offset;
  }

  /** The offsets so far; starts over at 0. */
  take(): Int32Array {
    const out = this.offsets.subarray(0, this.length);
    this.offsets = new Int32Array(this.offsets.length);
    this.length = 1;
    return out;
  }
}

/**
 * VARCHAR and BLOB. A DuckDB string is a 16-byte struct: the length, then either the bytes inline
 * (up to 12) or a prefix and a pointer into the vector's heap. Strings a query produces sit one
 * after another in that heap, so rows are gathered as *runs* of adjacent memory, each read with
 * one native call; a string whose address was seen before (dictionary-like data) is copied from
 * the output instead of read again.
 */
class StringColumn implements ColumnAccumulator {
  private readonly values: ByteBuffer;
  private readonly offsets = new OffsetBuffer();
  private readonly validity = new ValidityBuffer();
  /** Output position and length of strings already copied, by heap address (`at * 2^22 + length`). */
  private readonly seen = new Map<number, number>();
  private structs: Uint8Array = new Uint8Array(0);
  private runRow = 0;
  private runAddress = 0;
  private runBytes = 0;

  constructor(
    readonly type: Utf8 | Binary,
    rowsHint: number,
    private readonly budget?: ResultBudget,
  ) {
    this.values = new ByteBuffer(rowsHint * 24, budget);
  }

  append(vector: duckdb.Vector, start: number, count: number): void {
    this.budget?.charge(count * 4);
    const mask = validityOf(vector, start + count);
    this.validity.appendMask(mask, start, count);
    const structs = (this.structs = duckdb.vector_get_data(vector, (start + count) * 16));
    const word = words(structs);
    const values = this.values;
    this.seen.clear();
    for (let row = start; row < start + count; row++) {
      if (mask !== null && ((mask[row >>> 3]! >>> (row & 7)) & 1) === 0) {
        this.offsets.push(values.length + this.runBytes);
        continue;
      }
      const length = word[row * 4]!;
      if (length <= 12) {
        this.flushRun();
        const target = values.reserve(length);
        const from = row * 16 + 4;
        for (let i = 0; i < length; i++) target[values.length + i] = structs[from + i]!;
        values.length += length;
      } else {
        const address = word[row * 4 + 2]! + word[row * 4 + 3]! * 0x1_0000_0000;
        if (this.runBytes > 0 && address === this.runAddress + this.runBytes) {
          this.runBytes += length;
        } else {
          this.flushRun();
          const known = this.seen.get(address);
          if (known !== undefined && known % SEEN_LENGTH_LIMIT === length) {
            const at = Math.floor(known / SEEN_LENGTH_LIMIT);
            values.reserve(length).copyWithin(values.length, at, at + length);
            values.length += length;
          } else {
            if (length < SEEN_LENGTH_LIMIT) this.seen.set(address, values.length * SEEN_LENGTH_LIMIT + length);
            this.runRow = row;
            this.runAddress = address;
            this.runBytes = length;
          }
        }
      }
      this.offsets.push(values.length + this.runBytes);
    }
    this.flushRun();
  }

  take(): Data {
    const length = this.validity.length;
    const valueOffsets = this.offsets.take();
    const data = this.values.take();
    return makeData({ type: this.type as Utf8, length, ...this.validity.take(), valueOffsets, data });
  }

  /** Copies the open run of adjacent heap strings with one native read. */
  private flushRun(): void {
    if (this.runBytes === 0) return;
    const structs = this.structs;
    const values = this.values;
    // Room first (charged to the budget), then the native read: an oversized run fails before it is copied.
    const target = values.reserve(this.runBytes);
    target.set(duckdb.get_data_from_pointer(structs.buffer as ArrayBuffer, structs.byteOffset + this.runRow * 16 + 8, this.runBytes), values.length);
    values.length += this.runBytes;
    this.runBytes = 0;
  }
}

/** Strings this long or longer are not remembered by address. */
const SEEN_LENGTH_LIMIT = 1 << 22;

/** ENUM → an Arrow dictionary column: the indices are copied; the values are one shared vector. */
class EnumColumn implements ColumnAccumulator {
  readonly type: Dictionary;
  private readonly storageBytes: number;
  private readonly indexBytes: number;
  private readonly indices: ByteBuffer;
  private readonly validity = new ValidityBuffer();
  private readonly dictionary;

  constructor(enumType: DuckDBEnumType, id: number, budget?: ResultBudget) {
    this.indices = new ByteBuffer(16 * 1024, budget);
    const internal = enumType.internalTypeId;
    this.storageBytes = internal === DuckDBTypeId.UTINYINT ? 1 : internal === DuckDBTypeId.USMALLINT ? 2 : 4;
    // Signed indices, as Arrow recommends: DuckDB's unsigned storage is reused when the values fit.
    const count = enumType.values.length;
    const indexType = count <= 0x7f ? new Int8() : count <= 0x7fff ? new Int16() : new Int32();
    this.indexBytes = indexType.bitWidth / 8;
    this.type = new Dictionary(new Utf8(), indexType, id);
    this.dictionary = vectorFromArray([...enumType.values], new Utf8());
  }

  append(vector: duckdb.Vector, start: number, count: number): void {
    this.validity.appendMask(validityOf(vector, start + count), start, count);
    const source = duckdb.vector_get_data(vector, (start + count) * this.storageBytes).subarray(start * this.storageBytes);
    if (this.storageBytes === this.indexBytes) {
      this.indices.append(source);
      return;
    }
    const aligned = source.byteOffset % 4 === 0 ? source : source.slice();
    const from = this.storageBytes === 1 ? aligned : new Uint16Array(aligned.buffer, aligned.byteOffset, count);
    const target = this.indices.reserve(count * this.indexBytes);
    const to =
      this.indexBytes === 2
        ? new Int16Array(target.buffer, target.byteOffset + this.indices.length, count)
        : new Int32Array(target.buffer, target.byteOffset + this.indices.length, count);
    for (let i = 0; i < count; i++) to[i] = from[i]!;
    this.indices.length += count * this.indexBytes;
  }

  take(): Data {
    const length = this.validity.length;
    const bytes = this.indices.take();
    const ArrayType = this.type.indices.ArrayType;
    const data = new ArrayType(bytes.buffer as ArrayBuffer, bytes.byteOffset, bytes.byteLength / this.indexBytes);
    return makeData({ type: this.type, length, ...this.validity.take(), data, dictionary: this.dictionary });
  }
}

/**
 * LIST and MAP: DuckDB keeps (offset, length) per row into a child vector; Arrow wants monotonic
 * offsets. Adjacent entries (the usual case) become one child append.
 */
class ListColumn implements ColumnAccumulator {
  private readonly offsets = new OffsetBuffer();
  private readonly validity = new ValidityBuffer();
  private childRows = 0;

  constructor(
    readonly type: List | Map_,
    private readonly child: ColumnAccumulator,
    private readonly budget?: ResultBudget,
  ) {}

  append(vector: duckdb.Vector, start: number, count: number): void {
    this.budget?.charge(count * 4);
    const mask = validityOf(vector, start + count);
    this.validity.appendMask(mask, start, count);
    const entry = words(duckdb.vector_get_data(vector, (start + count) * 16));
    const childVector = duckdb.list_vector_get_child(vector);
    let rangeStart = 0;
    let rangeLength = 0;
    for (let row = start; row < start + count; row++) {
      const valid = mask === null || ((mask[row >>> 3]! >>> (row & 7)) & 1) === 1;
      const offset = entry[row * 4]! + entry[row * 4 + 1]! * 0x1_0000_0000;
      const length = valid ? entry[row * 4 + 2]! : 0;
      if (length > 0) {
        if (rangeLength > 0 && offset === rangeStart + rangeLength) {
          rangeLength += length;
        } else {
          if (rangeLength > 0) this.child.append(childVector, rangeStart, rangeLength);
          rangeStart = offset;
          rangeLength = length;
        }
        this.childRows += length;
      }
      this.offsets.push(this.childRows);
    }
    if (rangeLength > 0) this.child.append(childVector, rangeStart, rangeLength);
  }

  take(): Data {
    const length = this.validity.length;
    this.childRows = 0;
    return makeData({ type: this.type, length, ...this.validity.take(), valueOffsets: this.offsets.take(), child: this.child.take() } as never);
  }
}

/** STRUCT: one accumulator per field over the struct's child vectors. */
class StructColumn implements ColumnAccumulator {
  readonly type: Struct;
  private readonly validity = new ValidityBuffer();

  constructor(
    names: readonly string[],
    private readonly children: readonly ColumnAccumulator[],
  ) {
    this.type = new Struct(children.map((child, i) => new Field(names[i]!, child.type, true)));
  }

  append(vector: duckdb.Vector, start: number, count: number): void {
    this.validity.appendMask(validityOf(vector, start + count), start, count);
    this.children.forEach((child, i) => child.append(duckdb.struct_vector_get_child(vector, i), start, count));
  }

  take(): Data {
    const length = this.validity.length;
    return makeData({ type: this.type, length, ...this.validity.take(), children: this.children.map((child) => child.take()) });
  }
}

/** ARRAY (fixed length) → FixedSizeList: the child holds `size` values per row. */
class FixedSizeListColumn implements ColumnAccumulator {
  readonly type: FixedSizeList;
  private readonly validity = new ValidityBuffer();

  constructor(
    private readonly size: number,
    private readonly child: ColumnAccumulator,
  ) {
    this.type = new FixedSizeList(size, new Field('item', child.type, true));
  }

  append(vector: duckdb.Vector, start: number, count: number): void {
    this.validity.appendMask(validityOf(vector, start + count), start, count);
    this.child.append(duckdb.array_vector_get_child(vector), start * this.size, count * this.size);
  }

  take(): Data {
    const length = this.validity.length;
    return makeData({ type: this.type, length, ...this.validity.take(), child: this.child.take() });
  }
}

/** The type of a bare `NULL`. */
class NullColumn implements ColumnAccumulator {
  readonly type = new Null();
  private length = 0;

  append(_vector: duckdb.Vector, _start: number, count: number): void {
    this.length += count;
  }

  take(): Data {
    const length = this.length;
    this.length = 0;
    return makeData({ type: this.type, length });
  }
}

/**
 * Types without an Arrow counterpart Hangar sends (UUID, INTERVAL, TIME WITH TIME ZONE, UNION,
 * BIT, …): DuckDB's text form, value by value. Cast in SQL for another representation.
 */
class TextColumn implements ColumnAccumulator {
  readonly type = new Utf8();
  private readonly encoder = new TextEncoder();
  private readonly values: ByteBuffer;
  private readonly offsets = new OffsetBuffer();
  private readonly validity = new ValidityBuffer();

  constructor(
    private readonly duckType: DuckDBType,
    budget?: ResultBudget,
  ) {
    this.values = new ByteBuffer(16 * 1024, budget);
  }

  append(vector: duckdb.Vector, start: number, count: number): void {
    const items = DuckDBVector.create(vector, start + count, this.duckType);
    for (let row = start; row < start + count; row++) {
      const item = items.getItem(row);
      this.validity.appendOne(item !== null);
      if (item !== null) this.values.append(this.encoder.encode(String(item)));
      this.offsets.push(this.values.length);
    }
  }

  take(): Data {
    const length = this.validity.length;
    return makeData({ type: this.type, length, ...this.validity.take(), valueOffsets: this.offsets.take(), data: this.values.take() });
  }
}
