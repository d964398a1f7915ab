/**
 * Min, max and null count of a frame's time column, read straight out of an IPC record batch body
 * while a segment is built: the RecordBatch header's field nodes and buffers locate the column's
 * validity and data buffers, and the int64 values are compared as two int32 halves, so nothing is
 * decoded into JS objects or BigInts per value.
 */
import { DataType, DateUnit, Message, MetadataVersion, type Schema, Type, UnionMode } from 'apache-arrow';
import { InvalidArgumentError } from '../errors.js';
import type { IpcMessage } from './ipc-message.js';
import { isTimeType } from './time-column.js';
import { int32Range, int64Range } from './value-range.js';

/** Where one top-level column's node and buffers sit in a record batch of a given schema. */
export interface TimeColumnLocator {
  /** The column's name. */
  readonly column: string;
  /** Index of the column's field node. */
  readonly nodeIndex: number;
  /** Index of its validity buffer, not counting variadic buffers of view columns before it. */
  readonly bufferIndex: number;
  /** View (Utf8View, BinaryView) fields before the column, whose variadic buffers shift it further. */
  readonly viewFieldsBefore: number;
  /** A union before the column: its buffer count depends on the metadata version. */
  readonly unionBefore: boolean;
  /** Bytes per value: 4 for date32, 8 for timestamps and date64. */
  readonly valueBytes: 4 | 8;
}

/** The time statistics of some rows: null count, and min/max of the non-null values. */
export interface TimeStatistics {
  /** Rows whose time is null. */
  readonly nulls: number;
  /** Smallest non-null value in the column's unit; absent when every value is null. */
  readonly min?: bigint;
  /** Largest non-null value in the column's unit; absent when every value is null. */
  readonly max?: bigint;
  /** The non-null values are in non-decreasing row order; absent when not known (date32 columns). */
  readonly sorted?: boolean;
}

/** Buffers a field of this type owns in a record batch (its children's are counted separately). */
function ownBuffers(type: DataType): number {
  switch (type.typeId) {
    case Type.Null:
      return 0;
    case Type.Struct:
    case Type.FixedSizeList:
      return 1;
    case Type.Union:
      // Metadata V5 unions have no validity buffer: type ids (+ offsets when dense).
      return (type as DataType<Type.Union> & { mode: UnionMode }).mode === UnionMode.Dense ? 2 : 1;
    case Type.Binary:
    case Type.Utf8:
    case Type.LargeBinary:
    case Type.LargeUtf8:
      return 3;
    default:
      // Validity + values: fixed-width types, booleans, dictionary indices, list offsets, views.
      return 2;
  }
}

/** Children that have their own field nodes (a dictionary column has only its index node). */
function childTypes(type: DataType): DataType[] {
  return DataType.isDictionary(type) ? [] : (type.children ?? []).map((child) => child.type as DataType);
}

/**
 * Locates a top-level timestamp or date column in record batches of `schema` by counting the field
 * nodes and buffers of every column before it, nested children included.
 * @throws InvalidArgumentError if the column is missing or not a timestamp/date
 */
export function locateTimeColumn(schema: Schema, column: string): TimeColumnLocator {
  let nodeIndex = 0;
  let bufferIndex = 0;
  let viewFieldsBefore = 0;
  let unionBefore = false;
  const count = (type: DataType): void => {
    nodeIndex++;
    bufferIndex += ownBuffers(type);
    if (type.typeId === Type.Utf8View || type.typeId === Type.BinaryView) viewFieldsBefore++;
    if (type.typeId === Type.Union) unionBefore = true;
    childTypes(type).forEach(count);
  };
  for (const field of schema.fields) {
    if (field.name === column) {
      if (!isTimeType(field.type)) throw new InvalidArgumentError(`column '${column}' is a ${String(field.type)}, not a timestamp or date`);
      const valueBytes = DataType.isDate(field.type) && field.type.unit === DateUnit.DAY ? 4 : 8;
      return { column, nodeIndex, bufferIndex, viewFieldsBefore, unionBefore, valueBytes };
    }
    count(field.type);
  }
  throw new InvalidArgumentError(`the schema has no column '${column}'`);
}

/** A 4-byte-aligned Int32Array over `length` bytes at `offset` of `body`, copying only if unaligned. */
/** Reused for unaligned columns: a fresh copy per batch cost more in page faults than in copying. */
let scratch = new Int32Array(0);

/** The column's bytes as int32s: a view when aligned, else a copy in the shared scratch array. */
function int32View(body: Uint8Array, offset: number, length: number): Int32Array {
  const start = body.byteOffset + offset;
  if (start % 4 === 0) return new Int32Array(body.buffer, start, length / 4);
  if (scratch.length < length / 4) scratch = new Int32Array(Math.max(length / 4, scratch.length * 2));
  new Uint8Array(scratch.buffer, 0, length).set(body.subarray(offset, offset + length));
  return scratch.subarray(0, length / 4);
}

function malformed(locator: TimeColumnLocator, why: string): InvalidArgumentError {
  return new InvalidArgumentError(`malformed record batch: time column '${locator.column}' ${why}`);
}

/**
 * Reads the time statistics of one record batch message (pass its header as already decoded, if it
 * is, so the put path decodes each header once). Returns `undefined` when the body cannot
 * be read in place (compressed buffers, or a pre-V5 union before the column): the caller then
 * records no statistics for the segment, which reads treat as "may overlap any range".
 * @throws InvalidArgumentError if the header's nodes and buffers do not fit the schema
 */
export function batchTimeStatistics(
  message: IpcMessage,
  locator: TimeColumnLocator,
  decoded: Message = Message.decode(message.header),
): TimeStatistics | undefined {
  if (!decoded.isRecordBatch()) throw new InvalidArgumentError('expected a RecordBatch message');
  const batch = decoded.header();
  if (batch.compression !== null) return undefined;
  if (locator.unionBefore && decoded.version < MetadataVersion.V5) return undefined;
  let bufferIndex = locator.bufferIndex;
  for (let i = 0; i < locator.viewFieldsBefore; i++) bufferIndex += Number(batch.variadicBufferCounts[i] ?? 0);
  const node = batch.nodes[locator.nodeIndex];
  const validity = batch.buffers[bufferIndex];
  const data = batch.buffers[bufferIndex + 1];
  if (!node || !validity || !data) throw malformed(locator, 'has no field node or buffers at its position');
  const rows = Number(node.length);
  const nulls = Number(node.nullCount);
  if (rows === 0 || nulls === rows) return { nulls };
  const dataLength = rows * locator.valueBytes;
  if (Number(data.length) < dataLength) throw malformed(locator, `has a ${data.length}-byte data buffer for ${rows} values`);
  if (nulls > 0 && Number(validity.length) < Math.ceil(rows / 8)) throw malformed(locator, 'has nulls but no validity bitmap');
  const values = int32View(message.body, Number(data.offset), dataLength);
  const bits = nulls > 0 ? message.body.subarray(Number(validity.offset), Number(validity.offset) + Math.ceil(rows / 8)) : undefined;
  const range = locator.valueBytes === 4 ? int32Range(values, rows, bits) : int64Range(values, rows, bits);
  return { nulls, ...range };
}

/**
 * Combines the statistics of two sets of rows, `a`'s rows before `b`'s: sorted when both are and
 * `b` starts at or after `a`'s end (rows without non-null values count as sorted).
 */
export function mergeTimeStatistics(a: TimeStatistics, b: TimeStatistics): TimeStatistics {
  const min = a.min === undefined ? b.min : b.min === undefined || a.min <= b.min ? a.min : b.min;
  const max = a.max === undefined ? b.max : b.max === undefined || a.max >= b.max ? a.max : b.max;
  const sorted =
    (a.max === undefined || a.sorted === true) && (b.min === undefined || b.sorted === true) && (a.max === undefined || b.min === undefined || a.max <= b.min);
  return { nulls: a.nulls + b.nulls, ...(min === undefined ? {} : { min }), ...(max === undefined ? {} : { max }), sorted };
}
