/**
 * The resample action's single pass for time-sorted frames: rows are cut into fixed-width bins by
 * one comparison per row against the next bin edge (sorted data needs no hash table), and each value
 * column is then aggregated bin by bin over its typed array. It covers the common case — a fixed
 * rule whose bins align with midnight (`1min`, `5min`, `1h`, …) on a timestamp in ms or µs, float
 * value columns, and the aggregations mean, sum, min, max, first, last, count and ohlc — and gives
 * exactly the rows and schema of the DuckDB statement (resample.ts), which runs in every other case
 * and whenever the time column turns out unsorted or null.
 *
 * It runs on the main thread: the frame's decoded batches are already there (the read cache holds
 * them for a hot frame), and a worker would first need a copy of them or a decode of its own.
 */
import { type Data, DataType, type Field, type Float, Float32, Float64, type Int64, Message, MessageHeader, Precision, RecordBatch, type Schema, Struct, Table, TimeUnit, type Timestamp, makeData, tableToIPC } from 'apache-arrow';
import type { RecordBatch as RecordBatchHeader } from 'apache-arrow/ipc/metadata/message';
import { VectorLoader } from 'apache-arrow/visitor/vectorloader';
import type { HangarEngine } from './engine.js';
import { type IpcMessage, splitIpcStream } from '../format/ipc-message.js';
import type { ResamplePlan } from './resample.js';

/** Aggregations the single pass computes. */
const COVERED = new Set(['mean', 'sum', 'min', 'max', 'first', 'last', 'count', 'ohlc']);

/** Microseconds per unit of the time columns it reads (exact as doubles up to 2^53 µs, year 2255). */
const MICROS_PER_UNIT = new Map<TimeUnit, number>([
  [TimeUnit.MILLISECOND, 1_000],
  [TimeUnit.MICROSECOND, 1],
]);

/**
 * Whether the single pass covers a plan, given the bin phase (µs from epoch of a bin edge; defined
 * for fixed steps that divide a day on a clock with a fixed offset) and the source schema.
 */
export function sortedResampleCovers(plan: ResamplePlan, phase: bigint | undefined, schema: Schema): boolean {
  if (plan.rule.kind !== 'fixed' || phase === undefined || !COVERED.has(plan.aggregation) || plan.time.kind === 'date') return false;
  const time = schema.fields.find((field) => field.name === plan.timeColumn);
  if (!time || !DataType.isTimestamp(time.type) || !MICROS_PER_UNIT.has((time.type as Timestamp).unit)) return false;
  if (plan.rule.micros > 86_400_000_000n) return false;
  return plan.columns.every((column) => {
    const field = schema.fields.find((candidate) => candidate.name === column.name);
    return column.kind === 'float' && field !== undefined && floatBits(field.type) !== undefined;
  });
}

/** 64 or 32 for a float64 or float32 type, else undefined (half floats are left to the statement). */
function floatBits(type: DataType): 64 | 32 | undefined {
  if (!DataType.isFloat(type)) return undefined;
  const precision = (type as Float).precision;
  return precision === Precision.DOUBLE ? 64 : precision === Precision.SINGLE ? 32 : undefined;
}

/** Bins of a sorted time column: the first row of each bin and its start (µs), or undefined when unsorted or null. */
interface Bins {
  readonly count: number;
  /** Row index (across the whole frame) where each bin starts; `starts[count]` = total rows. */
  readonly starts: Int32Array;
  /** Each bin's start in µs since the epoch. */
  readonly edges: Float64Array;
}

/** Cuts a sorted, non-null time column (its record batches' data) into bins of `step` µs with edges at `phase` (mod step). */
function binsOf(chunks: readonly Data[], scale: number, phase: number, step: number): Bins | undefined {
  let capacity = 1024;
  let starts = new Int32Array(capacity + 1);
  let edges = new Float64Array(capacity);
  let count = 0;
  let next = -Infinity;
  let previous = -Infinity;
  let row = 0;
  for (const data of chunks) {
    if (data.nullCount > 0) return undefined;
    const values = data.values as BigInt64Array;
    const words = new Int32Array(values.buffer, values.byteOffset + data.offset * 8, data.length * 2);
    for (let i = 0; i < data.length; i++, row++) {
      const v = (words[2 * i + 1]! * 4_294_967_296 + (words[2 * i]! >>> 0)) * scale;
      if (v < previous) return undefined;
      previous = v;
      if (v < next) continue;
      const offset = (v - phase) % step;
      const edge = v - (offset < 0 ? offset + step : offset);
      if (count === capacity) {
        capacity *= 2;
        const grownStarts = new Int32Array(capacity + 1);
        grownStarts.set(starts);
        starts = grownStarts;
        const grownEdges = new Float64Array(capacity);
        grownEdges.set(edges);
        edges = grownEdges;
      }
      starts[count] = row;
      edges[count++] = edge;
      next = edge + step;
    }
  }
  if (count > 0 && (!Number.isSafeInteger(previous) || !Number.isSafeInteger(edges[0]!))) return undefined;
  starts[count] = row;
  return { count, starts, edges };
}

/** A column's values and validity over the whole frame, batch by batch. */
interface ColumnPieces {
  readonly pieces: readonly { readonly values: Float64Array | Float32Array; readonly valid?: Uint8Array; readonly offset: number; readonly rows: number }[];
}

function piecesOf(chunks: readonly Data[]): ColumnPieces {
  return {
    pieces: chunks.map((data) => {
      const values = (data.values as Float64Array | Float32Array).subarray(data.offset, data.offset + data.length);
      const valid = data.nullCount > 0 && data.nullBitmap ? data.nullBitmap : undefined;
      return { values, ...(valid ? { valid } : {}), offset: data.offset, rows: data.length };
    }),
  };
}

/** One aggregate per bin: values and presence (0 = null). */
interface Aggregated {
  readonly values: Float64Array;
  readonly present: Uint8Array;
}

/** The kinds of per-bin reduction (ohlc is first, max, min and last). */
type Reduction = 'sum' | 'mean' | 'min' | 'max' | 'first' | 'last' | 'count';

/** The running state of one bin while its rows are reduced. */
interface BinState {
  acc: number;
  n: number;
}

/**
 * Reduces values `[from, to)` of a piece into a bin's state: one tight loop per reduction, with the
 * validity test only for pieces that have nulls. NaN orders above every number (as in DuckDB).
 */
function reduceRange(kind: Reduction, values: Float64Array | Float32Array, valid: Uint8Array | undefined, offset: number, from: number, to: number, state: BinState): void {
  let { acc, n } = state;
  if (!valid) {
    if (to <= from) return;
    switch (kind) {
      case 'sum':
      case 'mean':
        for (let k = from; k < to; k++) acc += values[k]!;
        break;
      case 'min':
        for (let k = from; k < to; k++) {
          const v = values[k]!;
          if (n === 0 || v < acc || acc !== acc) acc = v;
          n = 1;
        }
        break;
      case 'max':
        for (let k = from; k < to; k++) {
          const v = values[k]!;
          if (n === 0 || v > acc || v !== v) acc = v;
          n = 1;
        }
        break;
      case 'first':
        if (n === 0) acc = values[from]!;
        break;
      case 'last':
        acc = values[to - 1]!;
        break;
      case 'count':
        break;
    }
    state.acc = acc;
    state.n = (kind === 'min' || kind === 'max' ? state.n : n) + (to - from);
    return;
  }
  for (let k = from; k < to; k++) {
    const at = offset + k;
    if (((valid[at >> 3]! >> (at & 7)) & 1) === 0) continue;
    const v = values[k]!;
    if (kind === 'sum' || kind === 'mean') acc += v;
    else if (kind === 'min') acc = n === 0 || v < acc || acc !== acc ? v : acc;
    else if (kind === 'max') acc = n === 0 || v > acc || v !== v ? v : acc;
    else if (kind === 'first') acc = n === 0 ? v : acc;
    else if (kind === 'last') acc = v;
    n++;
  }
  state.acc = acc;
  state.n = n;
}

/** Aggregates one column bin by bin; null values are skipped, as SQL aggregates do. */
function aggregate(column: ColumnPieces, bins: Bins, kind: Reduction): Aggregated {
  const out = new Float64Array(bins.count);
  const counts = new Float64Array(bins.count);
  const state: BinState = { acc: 0, n: 0 };
  let bin = 0;
  let row = 0;
  for (const piece of column.pieces) {
    const { values, valid, offset, rows } = piece;
    let i = 0;
    while (i < rows) {
      while (bins.starts[bin + 1]! <= row + i) bin++;
      const end = Math.min(rows, bins.starts[bin + 1]! - row);
      state.acc = out[bin]!;
      state.n = counts[bin]!;
      reduceRange(kind, values, valid, offset, i, end, state);
      out[bin] = state.acc;
      counts[bin] = state.n;
      i = end;
    }
    row += rows;
  }
  const present = new Uint8Array(bins.count);
  for (let b = 0; b < bins.count; b++) {
    const n = counts[b]!;
    if (kind === 'count') {
      out[b] = n;
      present[b] = 1;
    } else if (kind === 'sum') {
      // pandas (and the SQL form's coalesce) sum a bin of nulls to 0.
      present[b] = 1;
    } else if (kind === 'mean') {
      out[b] = n > 0 ? out[b]! / n : 0;
      present[b] = n > 0 ? 1 : 0;
    } else {
      present[b] = n > 0 ? 1 : 0;
    }
  }
  return { values: out, present };
}

/** Packs presence flags into an Arrow validity bitmap; undefined when all are present. */
function validity(present: Uint8Array): { bitmap?: Uint8Array; nulls: number } {
  let nulls = 0;
  for (let i = 0; i < present.length; i++) nulls += 1 - present[i]!;
  if (nulls === 0) return { nulls };
  const bitmap = new Uint8Array(Math.ceil(present.length / 8));
  for (let i = 0; i < present.length; i++) if (present[i]) bitmap[i >> 3]! |= 1 << (i & 7);
  return { bitmap, nulls };
}

/** One output column of the given field's type from per-bin values. */
function outputData(field: Field, result: Aggregated): Data {
  const { bitmap, nulls } = validity(result.present);
  const length = result.values.length;
  const base = { type: field.type, length, nullCount: nulls, ...(bitmap ? { nullBitmap: bitmap } : {}) };
  const bits = floatBits(field.type);
  if (bits === 64) return makeData({ ...base, type: new Float64(), data: result.values });
  if (bits === 32) return makeData({ ...base, type: new Float32(), data: Float32Array.from(result.values) });
  if (DataType.isInt(field.type) && (field.type as Int64).bitWidth === 64) {
    return makeData({ ...base, type: field.type as Int64, data: BigInt64Array.from(result.values, (v) => BigInt(v)) });
  }
  throw new Error(`the single-pass resample cannot produce a ${String(field.type)} column`);
}

/** The bin labels as the schema's time type. */
function labelData(field: Field, bins: Bins): Data {
  const type = field.type as Timestamp;
  const scale = type.unit === TimeUnit.NANOSECOND ? 1000n : type.unit === TimeUnit.MICROSECOND ? 1n : undefined;
  const divisor = type.unit === TimeUnit.MILLISECOND ? 1000 : type.unit === TimeUnit.SECOND ? 1_000_000 : 1;
  const labels = new BigInt64Array(bins.count);
  for (let b = 0; b < bins.count; b++) labels[b] = scale !== undefined ? BigInt(bins.edges[b]!) * scale : BigInt(Math.floor(bins.edges[b]! / divisor));
  return makeData({ type, length: bins.count, nullCount: 0, data: labels });
}

/**
 * The resampled frame's messages (Schema first) from the single pass, or undefined when the data
 * turns out not to be covered (an unsorted or null time value): the caller then runs the statement.
 * @param schema - the statement's result schema (what DuckDB would return), which the output matches
 */
export async function sortedResampleMessages(engine: HangarEngine, plan: ResamplePlan, phase: bigint, schema: Schema): Promise<IpcMessage[] | undefined> {
  const names = [plan.timeColumn, ...plan.columns.map((column) => column.name)];
  const stream = await engine.read(plan.source, { columns: names });
  // Each batch's columns are read where they lie in its message (no joined copy of the frame).
  const fields = stream.schema.fields;
  const columnsByName = new Map<string, Data[]>(fields.map((field) => [field.name, []]));
  for await (const message of stream.messages) {
    const decoded = Message.decode(message.header);
    if (decoded.headerType === MessageHeader.DictionaryBatch) return undefined;
    if (decoded.headerType !== MessageHeader.RecordBatch) continue;
    const header = decoded.header() as RecordBatchHeader;
    const children = new VectorLoader(message.body, header.nodes, header.buffers, new Map(), decoded.version).visitMany(fields);
    fields.forEach((field, i) => columnsByName.get(field.name)!.push(children[i]!));
  }
  const childData = (name: string): Data[] => columnsByName.get(name)!;
  const timeType = fields.find((field) => field.name === plan.timeColumn)!.type as Timestamp;
  const bins = binsOf(childData(plan.timeColumn), MICROS_PER_UNIT.get(timeType.unit)!, Number(phase), Number((plan.rule as { micros: bigint }).micros));
  if (!bins) return undefined;
  const output = schema.fields;
  const columns: Data[] = [labelData(output[0]!, bins)];
  let next = 1;
  for (const column of plan.columns) {
    const pieces = piecesOf(childData(column.name));
    const parts: Reduction[] = plan.aggregation === 'ohlc' ? ['first', 'max', 'min', 'last'] : [plan.aggregation as Reduction];
    for (const part of parts) columns.push(outputData(output[next++]!, aggregate(pieces, bins, part)));
  }
  const batch = new RecordBatch(schema, makeData({ type: new Struct(output), length: bins.count, nullCount: 0, children: columns }));
  return splitIpcStream(tableToIPC(new Table([batch]), 'stream'));
}
