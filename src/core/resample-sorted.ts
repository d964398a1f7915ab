/**
 * The resample action's single pass for time-sorted frames: rows are cut into fixed-width bins, which
 * on sorted data are contiguous runs found by searching the time column for each next bin edge (no
 * hash table, no work per row on the time column when the segments are flagged `timeSorted` at put;
 * otherwise one tight order check per row), and each value column is then aggregated bin by bin over
 * its typed array. It covers the common case — a fixed rule whose bins align with midnight (`1min`,
 * `5min`, `1h`, …) on a timestamp in ms or µs, float value columns, and the aggregations mean, sum,
 * min, max, first, last, count and ohlc — and gives exactly the rows and schema of the DuckDB
 * statement (resample.ts), which runs in every other case and whenever the time column turns out
 * unsorted or null.
 *
 * It runs on the main thread, where the frame's decoded batches are (the read cache holds them for a
 * hot frame); its reads are decoded into shared memory, so on large frames a worker reduces half of
 * the bins over the same buffers (resample-split.ts) while this thread reduces the other half.
 */
import { type Data, DataType, type Field, type Float, Float32, Float64, type Int64, Message, MessageHeader, Precision, RecordBatch, type Schema, Struct, Table, TimeUnit, type Timestamp, makeData, tableToIPC } from 'apache-arrow';
import type { RecordBatch as RecordBatchHeader } from 'apache-arrow/ipc/metadata/message';
import { VectorLoader } from 'apache-arrow/visitor/vectorloader';
import type { HangarEngine } from './engine.js';
import { type IpcMessage, splitIpcStream } from '../format/ipc-message.js';
import type { ResamplePlan } from './resample.js';
import { type Aggregated, type PassAggregation, type Piece, type TimeBins, aggregateColumns, binsOf } from './resample-bins.js';
import { splitBinnedPass, splitPass } from './resample-split.js';

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

/**
 * The bins of the time column's record batches (see binsOf in resample-bins.ts), or undefined when
 * a batch has null times (the statement runs).
 */
function timeBinsOf(chunks: readonly Data[], scale: number, phase: number, step: number, knownSorted: boolean): TimeBins | undefined {
  if (chunks.some((data) => data.nullCount > 0)) return undefined;
  return binsOf(timeWords(chunks), scale, phase, step, knownSorted);
}

/** Each batch's int64 times as int32 word pairs (views, no copy). */
function timeWords(chunks: readonly Data[]): Int32Array[] {
  return chunks.map((data) => {
    const values = data.values as BigInt64Array;
    return new Int32Array(values.buffer, values.byteOffset + data.offset * 8, data.length * 2);
  });
}

/** The pieces (one per batch) of a value column. */
function piecesOf(chunks: readonly Data[]): Piece[] {
  return chunks.map((data) => ({
    values: (data.values as Float64Array | Float32Array).subarray(data.offset, data.offset + data.length),
    valid: data.nullCount > 0 && data.nullBitmap ? data.nullBitmap : undefined,
    offset: data.offset,
    rows: data.length,
  }));
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
function labelData(field: Field, bins: { readonly count: number; readonly edges: Float64Array }): Data {
  const type = field.type as Timestamp;
  const scale = type.unit === TimeUnit.NANOSECOND ? 1000n : type.unit === TimeUnit.MICROSECOND ? 1n : undefined;
  const divisor = type.unit === TimeUnit.MILLISECOND ? 1000 : type.unit === TimeUnit.SECOND ? 1_000_000 : 1;
  const labels = new BigInt64Array(bins.count);
  if (scale === 1000n) {
    for (let b = 0; b < bins.count; b++) labels[b] = BigInt(bins.edges[b]!) * scale;
  } else {
    // Labels in µs or coarser are safe integers (checked by binsOf): written as int32 pairs, low word
    // first, without a BigInt per bin (~10 ms at 166,667 bins).
    const words = new Int32Array(labels.buffer);
    for (let b = 0; b < bins.count; b++) {
      const value = Math.floor(bins.edges[b]! / divisor);
      const high = Math.floor(value / 4_294_967_296);
      words[2 * b] = value - high * 4_294_967_296;
      words[2 * b + 1] = high;
    }
  }
  return makeData({ type, length: bins.count, nullCount: 0, data: labels });
}

/**
 * The resampled frame's messages (Schema first) from the single pass, or undefined when the data
 * turns out not to be covered (an unsorted or null time value): the caller then runs the statement.
 * @param schema - the statement's result schema (what DuckDB would return), which the output matches
 */
export async function sortedResampleMessages(engine: HangarEngine, plan: ResamplePlan, phase: bigint, schema: Schema): Promise<IpcMessage[] | undefined> {
  const names = [plan.timeColumn, ...plan.columns.map((column) => column.name)];
  // Decoded into shared memory, so a worker can read half the values where they lie (resample-split.ts).
  const stream = await engine.read(plan.source, { columns: names, sharedMemory: true });
  // The segments' statistics may already say the rows are sorted (then they are not checked).
  const knownSorted = stream.timeSorted?.() === true;
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
  const clock = { scale: MICROS_PER_UNIT.get(timeType.unit)!, phase: Number(phase), step: Number((plan.rule as { micros: bigint }).micros) };
  const aggregation = plan.aggregation as PassAggregation;
  const pieces = plan.columns.map((column) => piecesOf(childData(column.name)));
  const timeChunks = childData(plan.timeColumn);
  // Large frames in shared memory: both threads, each on whole bins (resample-split.ts); when the
  // segments say the rows are sorted, each thread also finds the bins of its half.
  const both = knownSorted && timeChunks.every((data) => data.nullCount === 0) ? await splitBinnedPass(timeWords(timeChunks), pieces, clock, aggregation) : undefined;
  if (both === null) return undefined;
  let bins: { readonly count: number; readonly edges: Float64Array };
  let results: Aggregated[][];
  if (both) {
    ({ bins, results } = both);
  } else {
    const found = timeBinsOf(timeChunks, clock.scale, clock.phase, clock.step, knownSorted);
    if (!found) return undefined;
    bins = found;
    results = (await splitPass(pieces, found, aggregation)) ?? aggregateColumns(pieces, found, aggregation);
  }
  const output = schema.fields;
  const columns: Data[] = [labelData(output[0]!, bins)];
  let next = 1;
  for (const parts of results) for (const part of parts) columns.push(outputData(output[next++]!, part));
  const batch = new RecordBatch(schema, makeData({ type: new Struct(output), length: bins.count, nullCount: 0, children: columns }));
  return splitIpcStream(tableToIPC(new Table([batch]), 'stream'));
}
