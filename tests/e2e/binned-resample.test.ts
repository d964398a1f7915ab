// The binned resample path (aggregation on the codec workers) against the SQL statement it
// replaces, on the same stored frames: same schema, same bins, same counts, minima and maxima, and
// sums and means equal to within rounding. Frames span many segments and hold nulls, NaN, null
// times, unsorted rows, times before 1970, float32 columns and zones with fixed offsets.
import { Float32, Float64, type DataType, Schema, Table, TimeUnit, Timestamp, Utf8, makeData, makeVector, tableFromIPC, tableToIPC, vectorFromArray } from 'apache-arrow';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MemoryConnector } from '../../src/connectors/memory/memory-connector.js';
import { binnedPlan, binnedResample } from '../../src/core/binned-resample.js';
import { HangarEngine } from '../../src/core/engine.js';
import { type IpcMessage, joinIpcStream, splitIpcStream } from '../../src/core/ipc-message.js';
import type { FrameRef } from '../../src/core/names.js';
import { ParquetCodec } from '../../src/core/parquet/parquet-codec.js';
import {
  type ResampleAggregation,
  fixedPhase,
  parseResampleRule,
  planResample,
  resample,
  resampleSql,
} from '../../src/core/resample.js';

/** A deterministic pseudo-random generator. */
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state * 1664525 + 1013904223) >>> 0;
    return state / 2 ** 32;
  };
}

interface FrameShape {
  readonly rows: number;
  readonly unit: TimeUnit;
  readonly timeZone?: string;
  /** First time, in the unit. */
  readonly start: number;
  /** Mean gap between rows, in the unit. */
  readonly gap: number;
  readonly shuffled?: boolean;
  readonly nullTimes?: boolean;
}

/** ts (the unit), a and b (float64 with nulls, NaN and infinities in b), c (float32), s (strings, dropped). */
function frame(shape: FrameShape, seed: number): Table {
  const next = random(seed);
  const times = Array.from({ length: shape.rows }, (_, i) => shape.start + Math.floor(i * shape.gap + next() * shape.gap));
  if (shape.shuffled) {
    for (let i = times.length - 1; i > 0; i--) {
      const j = Math.floor(next() * (i + 1));
      [times[i], times[j]] = [times[j]!, times[i]!];
    }
  }
  const type = new Timestamp(shape.unit, shape.timeZone ?? null);
  const validTime = Uint8Array.from({ length: shape.rows }, (_, i) => (shape.nullTimes && i % 97 === 5 ? 0 : 1));
  const bits = new Uint8Array(Math.ceil(shape.rows / 8));
  validTime.forEach((flag, i) => (bits[i >> 3]! |= flag << (i & 7)));
  const nullTimes = validTime.length - validTime.reduce((sum, flag) => sum + flag, 0);
  const ts = makeVector(
    makeData({ type, length: shape.rows, nullCount: nullTimes, ...(nullTimes > 0 ? { nullBitmap: bits } : {}), data: BigInt64Array.from(times, (t) => BigInt(t)) }),
  );
  const special = [Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY];
  return new Table({
    ts,
    a: vectorFromArray(Array.from({ length: shape.rows }, (_, i) => (i % 13 === 7 ? null : next() * 1e6 - 5e5)), new Float64()),
    s: vectorFromArray(Array.from({ length: shape.rows }, (_, i) => `s${i % 7}`), new Utf8()),
    b: vectorFromArray(Array.from({ length: shape.rows }, (_, i) => (i % 1001 === 17 ? special[i % 3]! : i % 3 === 0 ? null : next())), new Float64()),
    c: vectorFromArray(Array.from({ length: shape.rows }, (_, i) => (i % 11 === 2 ? null : Math.fround(next() * 100))), new Float32()),
  });
}

/** The table as a put receives it: batches of 2,000 rows. */
async function* messagesOf(table: Table): AsyncGenerator<IpcMessage> {
  const batches = [];
  for (let start = 0; start < table.numRows; start += 2000) batches.push(...table.slice(start, start + 2000).batches);
  yield* splitIpcStream(tableToIPC(new Table(batches), 'stream'));
}

async function drain(messages: AsyncIterable<IpcMessage>): Promise<Table> {
  const all: IpcMessage[] = [];
  for await (const message of messages) all.push(message);
  return tableFromIPC(joinIpcStream(all));
}

const typeNames = (schema: Schema): string[] => schema.fields.map((field) => `${field.name}:${String(field.type as DataType)}`);

/** Same bins; exact counts, minima and maxima; sums and means to within rounding. */
function expectSameResult(binned: Table, sql: Table, aggregation: ResampleAggregation): void {
  expect(binned.numRows).toBe(sql.numRows);
  expect([...binned.getChild('ts')!]).toEqual([...sql.getChild('ts')!]);
  for (const name of ['a', 'b', 'c']) {
    const ours = [...binned.getChild(name)!] as (number | bigint | null)[];
    const theirs = [...sql.getChild(name)!] as (number | bigint | null)[];
    ours.forEach((value, i) => {
      const expected = theirs[i];
      if (aggregation === 'mean' || aggregation === 'sum') {
        if (typeof expected === 'number' && Number.isFinite(expected)) {
          expect(value as number).toBeCloseTo(expected, Math.max(0, 9 - Math.ceil(Math.log10(Math.abs(expected) + 1))));
          return;
        }
      }
      expect(value).toEqual(expected);
    });
  }
}

describe('binned resample against the SQL statement', () => {
  let codec: ParquetCodec;
  let engine: HangarEngine;
  const source = (name: string): FrameRef => ({ bucket: 'default', name });

  beforeAll(() => {
    codec = new ParquetCodec(2);
    // Small segments, so every frame spans many (each binned on its own, then merged).
    engine = new HangarEngine(new MemoryConnector(), codec, { segmentBytes: 96 * 1024 });
  });

  afterAll(async () => {
    await engine.close();
    await codec.close();
  });

  async function compare(name: string, shape: FrameShape, rule: string, aggregation: ResampleAggregation): Promise<void> {
    const ref = source(name);
    await engine.put(ref, 'replace', messagesOf(frame(shape, name.length)));
    const info = await engine.stat(ref);
    expect((await engine.versions(ref)).at(-1)!.segments).toBeGreaterThan(3);
    const parsed = parseResampleRule(rule);
    const plan = planResample(ref, info.schema, 'ts', parsed, aggregation);
    const binned = binnedPlan(plan, info.schema, parsed.kind === 'fixed' ? fixedPhase(plan.time, parsed.micros) : undefined);
    expect(binned, 'the binned path applies').toBeDefined();
    const ours = tableFromIPC(joinIpcStream(await binnedResample(engine, binned!)));
    const theirs = await drain((await engine.query(resampleSql(plan), { bucket: 'default' })).messages);
    // The SQL path returns instants as UTC and resample.ts gives the zone back; compare that form.
    const zone = plan.time.kind === 'instant' ? plan.time.timeZone : undefined;
    expect(typeNames(ours.schema)).toEqual(typeNames(theirs.schema).map((t) => (zone && t.startsWith('ts:') ? `ts:${String(new Timestamp(TimeUnit.MICROSECOND, zone))}` : t)));
    expect(ours.numRows).toBeGreaterThan(10);
    expectSameResult(ours, theirs, aggregation);
  }

  const sorted: FrameShape = { rows: 40_000, unit: TimeUnit.MICROSECOND, start: 1_704_067_200_000_000, gap: 1_700_000 };

  it.each(['mean', 'sum', 'min', 'max', 'count'] as const)('%s of sorted µs rows in 1min bins', async (aggregation) => {
    await compare(`sorted_${aggregation}`, sorted, '1min', aggregation);
  });

  it('shuffled rows with null times, before 1970, in 10s bins', async () => {
    const shape: FrameShape = { rows: 30_000, unit: TimeUnit.MICROSECOND, start: -86_400_000_000 * 3 - 123_456, gap: 90_000, shuffled: true, nullTimes: true };
    await compare('shuffled_mean', shape, '10s', 'mean');
    await compare('shuffled_max', shape, '10s', 'max');
  });

  it('millisecond timestamps in zones with fixed offsets (bins start at the zone’s midnights)', async () => {
    await compare('ms_kolkata', { rows: 30_000, unit: TimeUnit.MILLISECOND, timeZone: '+05:30', start: 1_704_067_200_000, gap: 7_000 }, '1h', 'mean');
    await compare('ms_utc', { rows: 30_000, unit: TimeUnit.MILLISECOND, timeZone: 'UTC', start: 1_704_067_200_000, gap: 3_000 }, '15min', 'sum');
  });

  it('does not apply where its bins or columns would differ, and resample then runs SQL', async () => {
    const ref = source('not_binned');
    await engine.put(ref, 'replace', messagesOf(frame(sorted, 3)));
    const info = await engine.stat(ref);
    const plan = (rule: string, aggregation: ResampleAggregation = 'mean') => planResample(ref, info.schema, 'ts', parseResampleRule(rule), aggregation);
    const phase = (rule: string) => {
      const parsed = parseResampleRule(rule);
      return parsed.kind === 'fixed' ? fixedPhase(plan(rule).time, parsed.micros) : undefined;
    };
    // 7min does not divide a day: bins count from the first row's midnight (SQL only).
    expect(binnedPlan(plan('7min'), info.schema, phase('7min'))).toBeUndefined();
    expect(binnedPlan(plan('1D'), info.schema, phase('1D'))).toBeUndefined();
    expect(binnedPlan(plan('1min', 'median'), info.schema, phase('1min'))).toBeUndefined();
    // Seconds (stored by parquet-wasm: Parquet has no such unit) and nanoseconds (beyond a double's exact range).
    for (const unit of [TimeUnit.SECOND, TimeUnit.NANOSECOND]) {
      const schema = new Schema(info.schema.fields.map((field) => (field.name === 'ts' ? field.clone({ type: new Timestamp(unit) }) : field)));
      expect(binnedPlan(planResample(ref, schema, 'ts', parseResampleRule('1min'), 'mean'), schema, phase('1min'))).toBeUndefined();
    }
    // Both paths through resample() itself give one answer.
    const result = await resample(engine, { kind: 'rule', source: ref, target: source('via_resample'), mode: 'replace', rule: parseResampleRule('1min'), timeColumn: 'ts', aggregation: 'count' });
    expect(result.source_rows).toBe(sorted.rows);
    const stored = await drain((await engine.read(source('via_resample'))).messages);
    expect(stored.numRows).toBe(result.target_rows);
    const counts = [...stored.getChild('a')!] as bigint[];
    expect(counts.reduce((sum, n) => sum + n, 0n)).toBe(BigInt(sorted.rows - Math.ceil((sorted.rows - 7) / 13)));
  });
});

describe('binned resample over segments it does not read', () => {
  it('falls back to SQL for LZ4-compressed segments with the same result', async () => {
    const codec = new ParquetCodec(1);
    const engine = new HangarEngine(new MemoryConnector(), codec, { segmentBytes: 96 * 1024, segmentCompression: 'lz4' });
    try {
      const ref = { bucket: 'default', name: 'lz4' };
      const shape: FrameShape = { rows: 20_000, unit: TimeUnit.MICROSECOND, start: 1_704_067_200_000_000, gap: 1_000_000 };
      await engine.put(ref, 'replace', messagesOf(frame(shape, 5)));
      const info = await engine.stat(ref);
      const parsed = parseResampleRule('1min');
      const plan = planResample(ref, info.schema, 'ts', parsed, 'max');
      const binned = binnedPlan(plan, info.schema, parsed.kind === 'fixed' ? fixedPhase(plan.time, parsed.micros) : undefined)!;
      await expect(binnedResample(engine, binned)).rejects.toThrow(/Parquet codec failed/);
      const result = await resample(engine, { kind: 'rule', source: ref, target: { bucket: 'default', name: 'lz4_max' }, mode: 'replace', rule: parsed, timeColumn: 'ts', aggregation: 'max' });
      const viaSql = await drain((await engine.query(resampleSql(plan), { bucket: 'default' })).messages);
      expect(result.target_rows).toBe(viaSql.numRows);
      const stored = await drain((await engine.read({ bucket: 'default', name: 'lz4_max' })).messages);
      expectSameResult(stored, viaSql, 'max');
    } finally {
      await engine.close();
      await codec.close();
    }
  });
});
