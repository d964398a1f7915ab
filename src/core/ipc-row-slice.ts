/**
 * Range reads' fast path: cuts contiguous rows out of decoded IPC record batches at the byte level,
 * for batches whose columns are all fixed-width and free of nulls (W8's frame, most time series).
 * It finds the rows from the time column's bytes and writes each slice as one new message (a copy of
 * only the kept bytes and a hand-built header), where the general path (row-selection.ts) decodes
 * every batch into apache-arrow vectors and re-serialises its slices through apache-arrow's writer.
 */
import { DataType, DateUnit, Message, MessageHeader, Precision, Schema } from 'apache-arrow';
import { BufferRegion, FieldNode, RecordBatch as RecordBatchHeader } from 'apache-arrow/ipc/metadata/message';
import { type IpcMessage, encodeSchemaHeader, pad8 } from '../format/ipc-message.js';
import type { ColumnBounds } from '../format/time-range.js';

/** Bytes per value of a fixed-width column (dictionary columns: their indices), or undefined for any other type. */
export function fixedWidthOf(type: DataType): number | undefined {
  if (DataType.isDictionary(type)) return type.indices.bitWidth / 8;
  if (DataType.isInt(type)) return type.bitWidth / 8;
  if (DataType.isFloat(type)) return type.precision === Precision.HALF ? 2 : type.precision === Precision.SINGLE ? 4 : 8;
  if (DataType.isTimestamp(type) || DataType.isDuration(type)) return 8;
  if (DataType.isDate(type)) return type.unit === DateUnit.DAY ? 4 : 8;
  if (DataType.isTime(type)) return type.bitWidth / 8;
  return undefined;
}

/** The decoded stream's layout, when every column is fixed-width; the time column found by name. */
export interface FixedLayout {
  readonly schema: Schema;
  /** Bytes per value, by column. */
  readonly widths: readonly number[];
  /** Index of the time column, and whether its values are 64-bit (else 32-bit days). */
  readonly time?: { readonly index: number; readonly wide: boolean };
}

/** The layout of `schema` for byte slicing, or undefined when a column is not fixed-width or the time column is missing. */
export function fixedLayout(schema: Schema, timeColumn: string | undefined): FixedLayout | undefined {
  const widths: number[] = [];
  for (const field of schema.fields) {
    const width = fixedWidthOf(field.type);
    if (width === undefined) return undefined;
    widths.push(width);
  }
  if (timeColumn === undefined) return { schema, widths };
  const index = schema.fields.findIndex((field) => field.name === timeColumn);
  if (index < 0 || DataType.isDictionary(schema.fields[index]!.type)) return undefined;
  return { schema, widths, time: { index, wide: widths[index] === 8 } };
}

/** One record batch message's rows, as the byte slicer sees them. */
export interface FixedBatch {
  readonly rows: number;
  /** Each column's data bytes (no validity: the batch has no nulls). */
  readonly columns: readonly Uint8Array[];
}

/**
 * The columns of a record batch message as byte views, or undefined when it does not fit the fast
 * path (a column with nulls, a compressed body, an unexpected buffer count).
 */
export function fixedBatch(message: IpcMessage, layout: FixedLayout): FixedBatch | undefined {
  const decoded = Message.decode(message.header);
  if (decoded.headerType !== MessageHeader.RecordBatch) return undefined;
  const header = decoded.header() as RecordBatchHeader;
  if (header.compression !== null && header.compression !== undefined) return undefined;
  const nodes = header.nodes;
  const buffers = header.buffers;
  if (nodes.length !== layout.widths.length || buffers.length !== 2 * nodes.length) return undefined;
  const rows = Number(header.length);
  const columns: Uint8Array[] = [];
  for (let c = 0; c < nodes.length; c++) {
    if (Number(nodes[c]!.nullCount) !== 0 || Number(nodes[c]!.length) !== rows) return undefined;
    const data = buffers[2 * c + 1]!;
    const offset = Number(data.offset);
    const length = rows * layout.widths[c]!;
    if (Number(data.length) < length || offset + length > message.body.byteLength) return undefined;
    columns.push(message.body.subarray(offset, offset + length));
  }
  return { rows, columns };
}

/** Splits an int64 bound into a signed high word and a sign-flipped low word (see ipc-time-statistics.ts). */
export function words(bound: bigint): [number, number] {
  return [Number(BigInt.asIntN(32, bound >> 32n)), Number(BigInt.asIntN(32, bound)) ^ 0x80000000];
}

/**
 * Runs [start, end) of rows whose time value (no nulls) lies in the range, flattened as start0,
 * end0, start1, … `halves` are the values as 32-bit words (two per 64-bit value, little-endian).
 */
export function matchingRunsOf(halves: Int32Array, wide: boolean, rows: number, range: ColumnBounds): number[] {
  const runs: number[] = [];
  if (range.empty) return runs;
  const hasLower = range.lower !== undefined;
  const hasUpper = range.upper !== undefined;
  let start = -1;
  if (wide) {
    const [lowerHi, lowerLo] = words(range.lower ?? 0n);
    const [upperHi, upperLo] = words(range.upper ?? 0n);
    for (let i = 0; i < rows; i++) {
      const hi = halves[2 * i + 1]!;
      const lo = halves[2 * i]! ^ 0x80000000;
      const keep = (!hasLower || hi > lowerHi || (hi === lowerHi && lo >= lowerLo)) && (!hasUpper || hi < upperHi || (hi === upperHi && lo < upperLo));
      if (keep) {
        if (start < 0) start = i;
      } else if (start >= 0) {
        runs.push(start, i);
        start = -1;
      }
    }
  } else {
    const lower = Number(range.lower ?? 0n);
    const upper = Number(range.upper ?? 0n);
    for (let i = 0; i < rows; i++) {
      const day = halves[i]!;
      const keep = (!hasLower || day >= lower) && (!hasUpper || day < upper);
      if (keep) {
        if (start < 0) start = i;
      } else if (start >= 0) {
        runs.push(start, i);
        start = -1;
      }
    }
  }
  if (start >= 0) runs.push(start, rows);
  return runs;
}

/** The time column's values as 32-bit words, or undefined when its bytes are not 4-byte aligned. */
export function timeWords(batch: FixedBatch, layout: FixedLayout): Int32Array | undefined {
  const bytes = batch.columns[layout.time!.index]!;
  if (bytes.byteOffset % 4 !== 0) return undefined;
  return new Int32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4);
}

/** Rows [start, end) of a batch as one record batch message, of the first `keptColumns` columns. */
export function sliceMessage(batch: FixedBatch, layout: FixedLayout, start: number, end: number, keptColumns: number): IpcMessage {
  const rows = end - start;
  let bodyLength = 0;
  for (let c = 0; c < keptColumns; c++) bodyLength += pad8(rows * layout.widths[c]!);
  const body = new Uint8Array(bodyLength);
  const nodes: FieldNode[] = [];
  const buffers: BufferRegion[] = [];
  let offset = 0;
  for (let c = 0; c < keptColumns; c++) {
    const width = layout.widths[c]!;
    const length = rows * width;
    body.set(batch.columns[c]!.subarray(start * width, end * width), offset);
    nodes.push(new FieldNode(rows, 0));
    buffers.push(new BufferRegion(offset, 0), new BufferRegion(offset, length));
    offset += pad8(length);
  }
  const header = Message.encode(Message.from(new RecordBatchHeader(rows, nodes, buffers, null), bodyLength) as Message);
  return { header, body };
}

/** The schema message of the first `keptColumns` columns of a layout (dictionary ids kept). */
export function keptSchemaMessage(layout: FixedLayout, keptColumns: number): IpcMessage {
  const schema = new Schema(layout.schema.fields.slice(0, keptColumns), layout.schema.metadata);
  return { header: encodeSchemaHeader(schema), body: new Uint8Array(0) };
}
