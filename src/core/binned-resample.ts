/**
 * The rule form of resample without SQL, where it applies: fixed-width bins (a step dividing a
 * day, on a clock with a fixed offset), a timestamp column in milliseconds or microseconds, only float columns to aggregate, and mean, sum, min, max or count. Each segment
 * is aggregated on a codec worker straight from its Parquet pages (time-bins.ts) and the partial
 * bins merged here; DuckDB's hash aggregate over the same rows is the slower path it replaces.
 * The result has the same schema and rows as the SQL statement of resample.ts (sums may differ in
 * the last bits: these are compensated, DuckDB's are not).
 */
import { type Data, DataType, Field, Float32, Float64, Int64, Precision, Schema, Table, TimeUnit, Timestamp, makeData, makeVector, tableToIPC } from 'apache-arrow';
import type { HangarEngine } from './engine.js';
import { type IpcMessage, splitIpcStream } from './ipc-message.js';
import type { ResampleAggregation, ResamplePlan } from './resample.js';
import { type BinGrid, TimeBins } from './time-bins.js';

/** Aggregations the binned path computes. */
const BINNED_AGGREGATIONS: ReadonlySet<ResampleAggregation> = new Set(['mean', 'sum', 'min', 'max', 'count']);

/**
 * Microseconds per unit of the time columns the binned path reads (the plain writer stores no
 * seconds: Parquet has no such unit; nanoseconds exceed a double's exact range).
 */
const MICROS_PER_UNIT = new Map<TimeUnit, bigint>([
  [TimeUnit.MILLISECOND, 1_000n],
  [TimeUnit.MICROSECOND, 1n],
]);

/** A resample the binned path runs. */
export interface BinnedPlan {
  readonly plan: ResamplePlan;
  /** The grid in the time column's unit. */
  readonly grid: BinGrid;
  /** Microseconds per unit, to label bins. */
  readonly microsPerUnit: number;
  /** The output's time field type, and the aggregated columns' source types. */
  readonly timeType: Timestamp;
  readonly columnTypes: readonly (Float32 | Float64)[];
}

/**
 * The binned plan of a resample, or undefined when the binned path does not apply (the caller
 * runs the SQL statement).
 * @param phase - bin starts modulo the step in µs, when every midnight of the clock is a bin edge
 */
export function binnedPlan(plan: ResamplePlan, schema: Schema, phase: bigint | undefined): BinnedPlan | undefined {
  if (plan.rule.kind !== 'fixed' || phase === undefined || !BINNED_AGGREGATIONS.has(plan.aggregation) || plan.columns.length === 0) return undefined;
  const timeField = schema.fields.find((field) => field.name === plan.timeColumn);
  if (!timeField || !DataType.isTimestamp(timeField.type)) return undefined;
  const source = timeField.type as Timestamp;
  const perUnit = MICROS_PER_UNIT.get(source.unit);
  if (perUnit === undefined || plan.rule.micros % perUnit !== 0n || phase % perUnit !== 0n) return undefined;
  const columnTypes: (Float32 | Float64)[] = [];
  for (const column of plan.columns) {
    const type = schema.fields.find((field) => field.name === column.name)?.type;
    if (!type || !DataType.isFloat(type) || type.precision === Precision.HALF) return undefined;
    columnTypes.push(type as Float32 | Float64);
  }
  return {
    plan,
    grid: { step: Number(plan.rule.micros / perUnit), phase: Number(phase / perUnit) },
    microsPerUnit: Number(perUnit),
    // DuckDB labels bins with µs timestamps; an instant keeps the source's zone (see resample.ts).
    timeType: new Timestamp(TimeUnit.MICROSECOND, plan.time.kind === 'instant' ? plan.time.timeZone : null),
    columnTypes,
  };
}

/**
 * Aggregates the source on the codec workers and returns the result's IPC messages.
 * @throws an error when a segment is not one the plain reader covers (e.g. written with LZ4
 *   compression): the caller then runs the SQL statement
 */
export async function binnedResample(engine: HangarEngine, binned: BinnedPlan): Promise<IpcMessage[]> {
  const { plan, grid } = binned;
  const columns = plan.columns.map((column) => column.name);
  const parts = await engine.scanSegments(plan.source, [plan.timeColumn, ...columns], (bytes, codec) =>
    codec.timeBins(bytes, { timeColumn: plan.timeColumn, columns, grid }, true),
  );
  const bins = new TimeBins(grid, columns.length);
  for (const part of parts) bins.merge(part);
  return splitIpcStream(tableToIPC(resultTable(binned, bins), 'stream'));
}

/** The result: bin labels, then one column per aggregated column, bins in time order. */
function resultTable(binned: BinnedPlan, bins: TimeBins): Table {
  const order = bins.order();
  const n = order.length;
  const labels = new BigInt64Array(n);
  for (let i = 0; i < n; i++) labels[i] = BigInt(bins.start(order[i]!)) * BigInt(binned.microsPerUnit);
  const fields: Field[] = [new Field(binned.plan.timeColumn, binned.timeType, true)];
  const data: Data[] = [makeData({ type: binned.timeType, length: n, nullCount: 0, data: labels })];
  binned.plan.columns.forEach((column, c) => {
    const statistics = bins.statistics(c);
    const { type, values, valid } = aggregate(binned.plan.aggregation, binned.columnTypes[c]!, statistics, order);
    fields.push(new Field(column.name, type, true));
    const nulls = n - valid.reduce((sum, flag) => sum + flag, 0);
    data.push(makeData({ type, length: n, nullCount: nulls, ...(nulls > 0 ? { nullBitmap: bitmap(valid) } : {}), data: values } as Parameters<typeof makeData>[0]));
  });
  const schema = new Schema(fields);
  return new Table(schema, Object.fromEntries(fields.map((field, i) => [field.name, makeVector(data[i]!)])));
}

/** One output column: its type, values in bin order, and which are valid. */
function aggregate(
  aggregation: ResampleAggregation,
  sourceType: Float32 | Float64,
  statistics: ReturnType<TimeBins['statistics']>,
  order: Int32Array,
): { type: DataType; values: Float64Array | Float32Array | BigInt64Array; valid: Uint8Array } {
  const n = order.length;
  const valid = new Uint8Array(n);
  const { count, sum, compensation, min, max } = statistics;
  const total = (b: number): number => (Number.isFinite(sum[b]!) ? sum[b]! - compensation[b]! : sum[b]!);
  switch (aggregation) {
    case 'count': {
      const values = new BigInt64Array(n);
      for (let i = 0; i < n; i++) {
        values[i] = BigInt(count[order[i]!]!);
        valid[i] = 1;
      }
      return { type: new Int64(), values, valid };
    }
    case 'sum': {
      // pandas (and the SQL path) sum a bin of nulls to 0.
      const values = new Float64Array(n);
      for (let i = 0; i < n; i++) {
        values[i] = total(order[i]!);
        valid[i] = 1;
      }
      return { type: new Float64(), values, valid };
    }
    case 'mean': {
      const values = new Float64Array(n);
      for (let i = 0; i < n; i++) {
        const b = order[i]!;
        if (count[b]! > 0) {
          values[i] = total(b) / count[b]!;
          valid[i] = 1;
        }
      }
      return { type: new Float64(), values, valid };
    }
    case 'min':
    case 'max': {
      const source = aggregation === 'min' ? min : max;
      const values = sourceType.precision === Precision.SINGLE ? new Float32Array(n) : new Float64Array(n);
      for (let i = 0; i < n; i++) {
        const b = order[i]!;
        if (count[b]! > 0) {
          values[i] = source[b]!;
          valid[i] = 1;
        }
      }
      return { type: sourceType.precision === Precision.SINGLE ? new Float32() : new Float64(), values, valid };
    }
    default:
      throw new Error(`aggregation '${aggregation}' is not binned`);
  }
}

/** Validity flags as an Arrow bitmap. */
function bitmap(valid: Uint8Array): Uint8Array {
  const bits = new Uint8Array(Math.ceil(valid.length / 8));
  for (let i = 0; i < valid.length; i++) if (valid[i]) bits[i >> 3]! |= 1 << (i & 7);
  return bits;
}
