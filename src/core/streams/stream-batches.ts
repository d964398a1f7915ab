/**
 * A stream's entries as Arrow: every stored batch has `_id` (the entry ID as text) and `_ts` (its
 * millisecond, a UTC timestamp: the frame's time column) before the stream's own columns, or before
 * one `data` binary column for opaque payloads. Batches travel through the log as Arrow IPC.
 */
import { Binary, type Data, DataType, Field, RecordBatch, Schema, Struct, Table, TimestampMillisecond, Utf8, makeData, tableFromIPC, tableToIPC } from 'apache-arrow';
import { InvalidArgumentError } from '../../errors.js';
import { type StreamIdRange, idTextBytes, writeIdTexts } from './stream-id.js';

/** The ID column. */
export const ID_COLUMN = '_id';
/** The time column (the ID's millisecond). */
export const TIME_COLUMN = '_ts';
/** The payload column of a binary stream. */
export const PAYLOAD_COLUMN = 'data';

/** The columns of a binary stream's entries (before `_id` and `_ts` are added). */
export const BINARY_ENTRY_SCHEMA = new Schema([new Field(PAYLOAD_COLUMN, new Binary(), false)]);

/** The stored schema of a stream whose entries have `entrySchema`: `_id`, `_ts`, then its fields. */
export function storedSchema(entrySchema: Schema): Schema {
  for (const field of entrySchema.fields) {
    if (field.name === ID_COLUMN || field.name === TIME_COLUMN) {
      throw new InvalidArgumentError(`a stream's entries may not have a column named ${JSON.stringify(field.name)}: the stream adds ${ID_COLUMN} and ${TIME_COLUMN} itself`);
    }
  }
  return new Schema([new Field(ID_COLUMN, new Utf8(), false), new Field(TIME_COLUMN, new TimestampMillisecond('UTC'), false), ...entrySchema.fields]);
}

/** Whether two schemas have the same column names and types, in order (nullability and metadata may differ). */
export function sameColumns(a: Schema, b: Schema): boolean {
  return a.fields.length === b.fields.length && a.fields.every((field, i) => field.name === b.fields[i]!.name && String(field.type) === String(b.fields[i]!.type));
}

/** Describes the columns for messages: `a: Int64, b: Utf8`. */
export function describeColumns(schema: Schema): string {
  return schema.fields.map((field) => `${field.name}: ${String(field.type)}`).join(', ');
}

/** Offsets and concatenated bytes of variable-width values (Binary, Utf8 layout). */
function packValues(values: readonly Uint8Array[]): { valueOffsets: Int32Array; data: Uint8Array } {
  const valueOffsets = new Int32Array(values.length + 1);
  let total = 0;
  for (let i = 0; i < values.length; i++) {
    total += values[i]!.byteLength;
    valueOffsets[i + 1] = total;
  }
  const data = new Uint8Array(total);
  for (let i = 0; i < values.length; i++) data.set(values[i]!, valueOffsets[i]!);
  return { valueOffsets, data };
}

const BINARY_STRUCT = new Struct(BINARY_ENTRY_SCHEMA.fields);

/**
 * A batch of binary payloads with the binary stream's entry columns. Built from the buffers
 * directly: apache-arrow's builders cost most of an entry's CPU time (0.8 ms per 1 KB entry, measured).
 */
export function binaryEntries(payloads: readonly Uint8Array[]): RecordBatch {
  const { valueOffsets, data } = packValues(payloads);
  const column = makeData({ type: new Binary(), length: payloads.length, nullCount: 0, valueOffsets, data });
  return new RecordBatch(BINARY_ENTRY_SCHEMA, makeData({ type: BINARY_STRUCT, length: payloads.length, nullCount: 0, children: [column] }));
}

/** The IDs of consecutive ranges as one Utf8 column's offsets and bytes (IDs are ASCII: one byte per character). */
function packIds(ranges: readonly StreamIdRange[], rows: number): { valueOffsets: Int32Array; data: Uint8Array } {
  const valueOffsets = new Int32Array(rows + 1);
  let bytes = 0;
  for (const range of ranges) bytes += idTextBytes(range);
  const data = Buffer.allocUnsafe(bytes);
  let at = 0;
  let row = 0;
  for (const range of ranges) {
    at = writeIdTexts(data, at, range, valueOffsets, row, 0);
    row += range.count;
  }
  return { valueOffsets, data };
}

/** The `_id` and `_ts` columns of consecutive ranges (each range's IDs share its millisecond). */
function idColumns(schema: Schema, ranges: readonly StreamIdRange[]): [Data, Data] {
  let rows = 0;
  for (const range of ranges) rows += range.count;
  const { valueOffsets, data } = packIds(ranges, rows);
  const times = new BigInt64Array(rows);
  let row = 0;
  for (const range of ranges) {
    times.fill(BigInt(range.ms), row, row + range.count);
    row += range.count;
  }
  return [
    makeData({ type: new Utf8(), length: rows, nullCount: 0, valueOffsets, data }),
    makeData({ type: schema.fields[1]!.type as TimestampMillisecond, length: rows, nullCount: 0, data: times }),
  ];
}

/** The stored batch: the range's IDs and their millisecond added before the entries' own columns. */
export function stampEntries(schema: Schema, range: StreamIdRange, entries: RecordBatch): RecordBatch {
  const children = [...idColumns(schema, [range]), ...entries.data.children];
  return new RecordBatch(schema, makeData({ type: new Struct(schema.fields), length: range.count, nullCount: 0, children }));
}

/**
 * Binary entries as pushed: `values` holds them back to back, entry `i` from `offsets[i]` to
 * `offsets[i + 1]` (so `offsets` has one more element than there are entries, and starts at 0).
 */
export interface BinaryRun {
  readonly range: StreamIdRange;
  readonly offsets: Int32Array;
  readonly values: Uint8Array;
}

/**
 * The stored batch of binary runs (one append, or every append of a roll joined): built from the
 * pushed bytes directly, once, with one RecordBatch (apache-arrow's constructor merges schema
 * metadata each time: a cost per append on the push path when it was built there).
 */
export function stampBinaryRuns(schema: Schema, runs: readonly BinaryRun[]): RecordBatch {
  let rows = 0;
  let bytes = 0;
  for (const run of runs) {
    rows += run.range.count;
    bytes += run.offsets[run.range.count]!;
  }
  let valueOffsets: Int32Array;
  let data: Uint8Array;
  if (runs.length === 1) {
    valueOffsets = runs[0]!.offsets;
    data = runs[0]!.values.subarray(0, bytes);
  } else {
    valueOffsets = new Int32Array(rows + 1);
    data = new Uint8Array(bytes);
    let row = 0;
    let at = 0;
    for (const run of runs) {
      for (let i = 1; i <= run.range.count; i++) valueOffsets[row + i] = at + run.offsets[i]!;
      const length = run.offsets[run.range.count]!;
      data.set(run.values.subarray(0, length), at);
      at += length;
      row += run.range.count;
    }
  }
  const payloads = makeData({ type: new Binary(), length: rows, nullCount: 0, valueOffsets, data });
  const children = [...idColumns(schema, runs.map((run) => run.range)), payloads];
  return new RecordBatch(schema, makeData({ type: new Struct(schema.fields), length: rows, nullCount: 0, children }));
}

/** The log record's two pieces for binary entries: header with the lengths, and the entries' bytes. */
export function encodeBinaryEntries(range: StreamIdRange, offsets: Int32Array, values: Uint8Array, start = offsets[0]!): Uint8Array[] {
  const count = range.count;
  const head = new Uint8Array(PAYLOAD_HEADER_BYTES + 4 * count);
  const view = new DataView(head.buffer);
  view.setUint8(0, PAYLOAD_BINARY);
  view.setFloat64(1, range.ms, true);
  view.setUint32(9, range.seq, true);
  view.setUint32(13, count, true);
  for (let i = 0; i < count; i++) view.setUint32(PAYLOAD_HEADER_BYTES + 4 * i, offsets[i + 1]! - offsets[i]!, true);
  return [head, values.subarray(start, start + offsets[count]! - offsets[0]!)];
}

/** One column's pieces joined, or undefined for a type or layout the join does not cover. */
function concatColumn(pieces: readonly Data[]): Data | undefined {
  const type = pieces[0]!.type;
  if (pieces.some((piece) => piece.nullCount !== 0 || piece.type.typeId !== type.typeId)) return undefined;
  let length = 0;
  for (const piece of pieces) length += piece.length;
  if (DataType.isBinary(type) || DataType.isUtf8(type)) {
    let bytes = 0;
    for (const piece of pieces) bytes += piece.valueOffsets[piece.offset + piece.length]! - piece.valueOffsets[piece.offset]!;
    const valueOffsets = new Int32Array(length + 1);
    const data = new Uint8Array(bytes);
    let row = 0;
    let at = 0;
    for (const piece of pieces) {
      const offsets = piece.valueOffsets as Int32Array;
      const start = offsets[piece.offset]!;
      for (let i = 1; i <= piece.length; i++) valueOffsets[row + i] = at + offsets[piece.offset + i]! - start;
      const end = offsets[piece.offset + piece.length]!;
      data.set((piece.values as Uint8Array).subarray(start, end), at);
      at += end - start;
      row += piece.length;
    }
    return makeData({ type: type as Binary, length, nullCount: 0, valueOffsets, data });
  }
  const values = pieces[0]!.values as unknown;
  if ((DataType.isTimestamp(type) || DataType.isInt(type) || DataType.isFloat(type)) && ArrayBuffer.isView(values) && !(values instanceof DataView)) {
    const stride = pieces[0]!.stride;
    const Kind = values.constructor as new (length: number) => Uint8Array;
    const out = new Kind(length * stride);
    let at = 0;
    for (const piece of pieces) {
      out.set((piece.values as Uint8Array).subarray(piece.offset * stride, (piece.offset + piece.length) * stride), at);
      at += piece.length * stride;
    }
    return makeData({ type: type as TimestampMillisecond, length, nullCount: 0, data: out as unknown as BigInt64Array });
  }
  return undefined;
}

/**
 * Record batches of one schema joined into one batch (a roll of many small appends writes one
 * IPC message, not one per append), or the batches as they are when a column's type, nulls or
 * dictionaries are beyond this join (the segment writer takes many batches just as well).
 */
export function concatBatches(schema: Schema, batches: readonly RecordBatch[]): RecordBatch[] {
  if (batches.length < 2) return [...batches];
  const children: Data[] = [];
  for (let column = 0; column < schema.fields.length; column++) {
    const pieces: Data[] = [];
    for (const batch of batches) {
      const child = batch.data.children[column];
      if (!child || batch.data.offset !== 0) return [...batches];
      if (child.length > 0) pieces.push(child);
    }
    if (pieces.length === 0) return [...batches];
    const joined = concatColumn(pieces);
    if (!joined) return [...batches];
    children.push(joined);
  }
  const length = children[0]!.length;
  return [new RecordBatch(schema, makeData({ type: new Struct(schema.fields), length, nullCount: 0, children }))];
}

/** One batch as an Arrow IPC stream (schema, dictionaries, batch, end marker). */
export function encodeBatch(batch: RecordBatch): Uint8Array {
  return tableToIPC(new Table([batch]), 'stream');
}

/** The batches of an Arrow IPC stream. */
export function decodeBatches(bytes: Uint8Array): RecordBatch[] {
  return tableFromIPC(bytes).batches;
}

/** The entry IDs of a stored batch, as text. */
export function batchIds(batch: RecordBatch): string[] {
  const column = batch.getChildAt(0)!;
  const ids = new Array<string>(batch.numRows);
  for (let i = 0; i < batch.numRows; i++) ids[i] = column.get(i) as string;
  return ids;
}

const PAYLOAD_BINARY = 1;
const PAYLOAD_IPC = 2;
const PAYLOAD_HEADER_BYTES = 17;

/**
 * The log record of one append: its IDs (consecutive sequence numbers in one millisecond, as the
 * clock assigns them) and its entries. Binary entries are stored as lengths and bytes, anything
 * else as the entries' Arrow IPC stream; `_id` and `_ts` are derived again when read back, so the
 * hot path of small binary entries never runs the IPC writer. The record comes in two pieces, to
 * be written back to back: the header with the lengths, and the entries' bytes where they lie.
 */
export function encodeEntries(range: StreamIdRange, entries: RecordBatch): Uint8Array[] {
  const binary = sameColumns(entries.schema, BINARY_ENTRY_SCHEMA) && entries.getChildAt(0)!.data.length === 1;
  if (binary) {
    const data = entries.getChildAt(0)!.data[0]!;
    const offsets = (data.valueOffsets as Int32Array).subarray(data.offset, data.offset + data.length + 1);
    return encodeBinaryEntries(range, offsets, data.values as Uint8Array, offsets[0]!);
  }
  const head = new Uint8Array(PAYLOAD_HEADER_BYTES);
  const view = new DataView(head.buffer);
  view.setUint8(0, PAYLOAD_IPC);
  view.setFloat64(1, range.ms, true);
  view.setUint32(9, range.seq, true);
  view.setUint32(13, range.count, true);
  return [head, encodeBatch(entries)];
}

/** Reads a log record back: the IDs and the stored batch (with `_id` and `_ts`). */
export function decodeEntries(payload: Uint8Array, schema: Schema): { range: StreamIdRange; batch: RecordBatch } {
  const view = new DataView(payload.buffer, payload.byteOffset, payload.byteLength);
  const kind = view.getUint8(0);
  const ms = view.getFloat64(1, true);
  const seq = view.getUint32(9, true);
  const count = view.getUint32(13, true);
  const range: StreamIdRange = { ms, seq, count };
  const body = payload.subarray(PAYLOAD_HEADER_BYTES);
  let entries: RecordBatch;
  if (kind === PAYLOAD_BINARY) {
    const bodyView = new DataView(body.buffer, body.byteOffset, body.byteLength);
    const values: Uint8Array[] = [];
    let at = 4 * count;
    for (let i = 0; i < count; i++) {
      const length = bodyView.getUint32(4 * i, true);
      values.push(body.subarray(at, at + length));
      at += length;
    }
    entries = binaryEntries(values);
  } else if (kind === PAYLOAD_IPC) {
    entries = decodeBatches(body)[0]!;
  } else {
    throw new InvalidArgumentError(`unknown stream log record kind ${kind}`);
  }
  return { range, batch: stampEntries(schema, range, entries) };
}
