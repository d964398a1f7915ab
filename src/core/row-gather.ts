/**
 * Gathers arbitrary rows of a record batch into a new batch, for range reads over unsorted time
 * data. Works on the raw buffers of flat columns (fixed-width, boolean, 32-bit-offset strings and
 * binaries, dictionary indices, which keep their dictionary); nested columns are not gathered, and
 * the caller falls back to slices for them.
 */
import { type Data, DataType, RecordBatch, Struct, Type, makeData } from 'apache-arrow';

/** The typed arrays apache-arrow keeps column values in. */
type TypedArray = Int8Array | Uint8Array | Int16Array | Uint16Array | Int32Array | Uint32Array | Float32Array | Float64Array | BigInt64Array | BigUint64Array;

type Gathered = { nullCount: number; nullBitmap?: Uint8Array };

/** The validity bitmap of the gathered rows (none when no row is null). */
function gatherValidity(data: Data, rows: Int32Array): Gathered {
  if (data.nullCount === 0 || !data.nullBitmap) return { nullCount: 0 };
  const source = data.nullBitmap;
  const bitmap = new Uint8Array(((rows.length + 63) >> 6) << 3);
  let nullCount = 0;
  for (let k = 0; k < rows.length; k++) {
    const bit = data.offset + rows[k]!;
    if ((source[bit >> 3]! >> (bit & 7)) & 1) bitmap[k >> 3]! |= 1 << (k & 7);
    else nullCount++;
  }
  return nullCount === 0 ? { nullCount: 0 } : { nullCount, nullBitmap: bitmap };
}

/** Copies fixed-size rows (of `bytesPerRow` bytes each) of a typed array, word by word where possible. */
function gatherFixed(values: TypedArray, first: number, bytesPerRow: number, rows: Int32Array): TypedArray {
  const ArrayType = values.constructor as new (buffer: ArrayBuffer) => TypedArray;
  const out = new ArrayBuffer(rows.length * bytesPerRow);
  const wordBytes = bytesPerRow % 4 === 0 && values.byteOffset % 4 === 0 ? 4 : 1;
  const Words = wordBytes === 4 ? Int32Array : Uint8Array;
  const source = new Words(values.buffer as ArrayBuffer, values.byteOffset, values.byteLength / wordBytes);
  const target = new Words(out);
  const per = bytesPerRow / wordBytes;
  for (let k = 0; k < rows.length; k++) {
    const from = (first + rows[k]!) * per;
    for (let w = 0; w < per; w++) target[k * per + w] = source[from + w]!;
  }
  return new ArrayType(out);
}

function gatherBits(values: Uint8Array, first: number, rows: Int32Array): Uint8Array {
  const out = new Uint8Array(((rows.length + 63) >> 6) << 3);
  for (let k = 0; k < rows.length; k++) {
    const bit = first + rows[k]!;
    if ((values[bit >> 3]! >> (bit & 7)) & 1) out[k >> 3]! |= 1 << (k & 7);
  }
  return out;
}

function gatherVariable(data: Data, rows: Int32Array): { valueOffsets: Int32Array; data: Uint8Array } {
  const offsets = data.valueOffsets as Int32Array;
  const bytes = data.values as Uint8Array;
  const valueOffsets = new Int32Array(rows.length + 1);
  for (let k = 0; k < rows.length; k++) {
    const row = data.offset + rows[k]!;
    valueOffsets[k + 1] = valueOffsets[k]! + offsets[row + 1]! - offsets[row]!;
  }
  const out = new Uint8Array(valueOffsets[rows.length]!);
  for (let k = 0; k < rows.length; k++) {
    const row = data.offset + rows[k]!;
    out.set(bytes.subarray(offsets[row]!, offsets[row + 1]!), valueOffsets[k]!);
  }
  return { valueOffsets, data: out };
}

/** Gathers rows of one column, or `undefined` for a type this module does not gather. */
function gatherData(data: Data, rows: Int32Array): Data | undefined {
  const type = data.type as DataType;
  const length = rows.length;
  switch (type.typeId) {
    case Type.Null:
      return makeData({ type, length, nullCount: length } as never);
    case Type.Bool:
      return makeData({ type, length, ...gatherValidity(data, rows), data: gatherBits(data.values as Uint8Array, data.offset, rows) } as never);
    case Type.Utf8:
    case Type.Binary:
      return makeData({ type, length, ...gatherValidity(data, rows), ...gatherVariable(data, rows) } as never);
    case Type.Int:
    case Type.Float:
    case Type.Decimal:
    case Type.Date:
    case Type.Time:
    case Type.Timestamp:
    case Type.Interval:
    case Type.Duration:
    case Type.FixedSizeBinary:
    case Type.Dictionary: {
      const values = data.values as TypedArray;
      const bytesPerRow = values.BYTES_PER_ELEMENT * data.stride;
      const gathered = gatherFixed(values, data.offset, bytesPerRow, rows);
      const dictionary = DataType.isDictionary(type) ? { dictionary: data.dictionary } : {};
      return makeData({ type, length, ...gatherValidity(data, rows), data: gathered, ...dictionary } as never);
    }
    default:
      return undefined;
  }
}

/**
 * A new batch holding `rows` (indices, in the order given) of `batch`, or `undefined` when a column
 * has a type that is not gathered (nested types, large or view strings).
 */
export function gatherRows(batch: RecordBatch, rows: Int32Array): RecordBatch | undefined {
  const children: Data[] = [];
  for (const child of batch.data.children) {
    const gathered = gatherData(child, rows);
    if (!gathered) return undefined;
    children.push(gathered);
  }
  const struct = makeData({ type: new Struct(batch.schema.fields), length: rows.length, nullCount: 0, children });
  return new RecordBatch(batch.schema, struct);
}
