/**
 * The resample action's single pass for time-sorted frames gives what the DuckDB statement gives:
 * the same schema, bins and values (nulls skipped, NaN ordered above numbers, empty bins absent),
 * for every aggregation it covers, µs and ms time columns, naive and fixed-offset zones, float64
 * and float32 columns; unsorted time columns are left to the statement.
 */
import { Float32, Float64, Table, TimeUnit, Timestamp, makeData, makeVector, tableFromIPC, tableToIPC, vectorFromArray } from 'apache-arrow';
import { afterAll, describe, expect, it } from 'vitest';
import { MemoryConnector } from '../../src/connectors/memory/memory-connector.js';
import { HangarEngine } from '../../src/core/engine.js';
import { type ResampleAggregation, fixedPhase, parseResampleRequest, planResample, resample, resampleSql } from '../../src/core/resample.js';
import { sortedResampleCovers, sortedResampleMessages } from '../../src/core/resample-sorted.js';
import { type IpcMessage, joinIpcStream, splitIpcStream } from '../../src/format/ipc-message.js';
import { ParquetCodec } from '../../src/format/parquet/parquet-codec.js';
import { ObjectLayout } from '../../src/storage/object-layout.js';

const codec = new ParquetCodec(1);
const engine = new HangarEngine(new ObjectLayout(new MemoryConnector()), codec, { segmentBytes: 32 * 1024 });
afterAll(async () => {
  await engine.close();
  await codec.close();
});

const ROWS = 6_000;
/** Times 0–13 s apart from 2024-01-01 with a two-hour gap (empty bins); sorted unless shuffled. */
function frame(unit: TimeUnit, zone: string | null, shuffle = false): Table {
  let t = 1_704_067_200_000; // ms
  const times: number[] = [];
  for (let i = 0; i < ROWS; i++) {
    t += (i * 7919) % 14_000;
    if (i === 3_000) t += 7_200_000;
    times.push(t);
  }
  if (shuffle) times.reverse();
  const scale = unit === TimeUnit.MICROSECOND ? 1000n : 1n;
  const ts = makeData({ type: new Timestamp(unit, zone), length: ROWS, data: BigInt64Array.from(times, (ms) => BigInt(ms) * scale) });
  const value = (i: number) => Math.sin(i) * 100;
  return new Table({
    ts: makeVector(ts),
    a: vectorFromArray(Array.from({ length: ROWS }, (_, i) => value(i)), new Float64()),
    // Nulls, NaN, and a stretch of nulls a whole bin long.
    b: vectorFromArray(Array.from({ length: ROWS }, (_, i) => (i % 11 === 0 || (i > 100 && i < 130) ? null : i % 17 === 0 ? Number.NaN : value(i + 3))), new Float64()),
    c: vectorFromArray(Array.from({ length: ROWS }, (_, i) => (i % 5 === 0 ? null : value(i * 2))), new Float32()),
  });
}

async function* messagesOf(table: Table): AsyncGenerator<IpcMessage> {
  const batches = Array.from({ length: Math.ceil(ROWS / 1_000) }, (_, i) => table.slice(i * 1_000, (i + 1) * 1_000).batches).flat();
  yield* splitIpcStream(tableToIPC(new Table(batches), 'stream'));
}

async function viaSql(sql: string): Promise<Table> {
  const stream = await engine.query(sql, { bucket: 'default' });
  const all: IpcMessage[] = [];
  for await (const message of stream.messages) all.push(message);
  return tableFromIPC(joinIpcStream(all));
}

/** Values as JSON-comparable rows, floats rounded (summation order differs from DuckDB's in the last bits). */
function rows(table: Table): unknown[][] {
  const columns = table.schema.fields.map((field) => table.getChild(field.name)!);
  return Array.from({ length: table.numRows }, (_, r) =>
    columns.map((column) => {
      const v = column.get(r);
      if (typeof v === 'number') return Number.isNaN(v) ? 'NaN' : Number(v.toPrecision(10));
      return typeof v === 'bigint' ? String(v) : v;
    }),
  );
}

const AGGREGATIONS: ResampleAggregation[] = ['mean', 'sum', 'min', 'max', 'first', 'last', 'count', 'ohlc'];
const CASES = [
  { name: 'us_naive', unit: TimeUnit.MICROSECOND, zone: null, rule: '1min' },
  { name: 'ms_utc', unit: TimeUnit.MILLISECOND, zone: 'UTC', rule: '5min' },
  { name: 'us_offset', unit: TimeUnit.MICROSECOND, zone: '+05:30', rule: '1h' },
];

describe('single-pass resample of sorted frames', () => {
  for (const c of CASES) {
    it(`matches the statement for ${c.name} (${c.rule})`, async () => {
      const source = { bucket: 'default', name: c.name };
      await engine.put(source, 'replace', messagesOf(frame(c.unit, c.zone)));
      const info = await engine.stat(source);
      for (const aggregation of AGGREGATIONS) {
        const request = parseResampleRequest({ source: c.name, target: `${c.name}_${aggregation}`, rule: c.rule, time_col: 'ts', aggregation_func: aggregation });
        if (request.kind !== 'rule') throw new Error('a rule request');
        const plan = planResample(source, info.schema, 'ts', request.rule, aggregation);
        const phase = fixedPhase(plan.time, (plan.rule as { micros: bigint }).micros);
        expect(phase).toBeDefined();
        expect(sortedResampleCovers(plan, phase, info.schema)).toBe(true);
        const sql = resampleSql(plan);
        const expected = await viaSql(`${sql}`);
        const messages = await sortedResampleMessages(engine, plan, phase!, await engine.querySchema(sql, { bucket: 'default' }));
        const actual = tableFromIPC(joinIpcStream(messages!));
        expect(actual.schema.fields.map((f) => `${f.name}:${String(f.type)}`)).toEqual(expected.schema.fields.map((f) => `${f.name}:${String(f.type)}`));
        expect(actual.numRows).toBeGreaterThan(10);
        expect(rows(actual)).toEqual(rows(expected));
        // Through the action (into a frame), the same rows again, the zone kept.
        await resample(engine, request);
        const written = tableFromIPC(joinIpcStream(await collect(`${c.name}_${aggregation}`)));
        expect(rows(written)).toEqual(rows(expected));
        expect(String(written.schema.fields[0]!.type)).toBe(String(info.schema.fields[0]!.type).replace(/<[A-Z]+/, '<MICROSECOND'));
      }
    });
  }

  it('leaves unsorted time columns to the statement', async () => {
    const source = { bucket: 'default', name: 'unsorted' };
    await engine.put(source, 'replace', messagesOf(frame(TimeUnit.MICROSECOND, null, true)), { allowUnordered: true });
    const info = await engine.stat(source);
    const request = parseResampleRequest({ source: 'unsorted', target: 'unsorted_mean', rule: '1min', time_col: 'ts', aggregation_func: 'mean' });
    if (request.kind !== 'rule') throw new Error('a rule request');
    const plan = planResample(source, info.schema, 'ts', request.rule, 'mean');
    const sql = resampleSql(plan);
    expect(await sortedResampleMessages(engine, plan, 0n, await engine.querySchema(sql, { bucket: 'default' }))).toBeUndefined();
    await resample(engine, request);
    expect(rows(tableFromIPC(joinIpcStream(await collect('unsorted_mean'))))).toEqual(rows(await viaSql(sql)));
  });

  it('answers a repeated resample with the schema of the source it now reads, after a replace changed a column type', async () => {
    const source = { bucket: 'default', name: 'retyped' };
    const request = parseResampleRequest({ source: 'retyped', target: 'retyped_max', mode: 'replace', rule: '1min', time_col: 'ts', aggregation_func: 'max' });
    for (const [wide, expected] of [[true, 'Float64'], [true, 'Float64'], [false, 'Float32']] as const) {
      const table = frame(TimeUnit.MICROSECOND, null);
      const retyped = wide ? table.select(['ts', 'a']) : new Table({ ts: table.getChild('ts')!, a: vectorFromArray(Array.from(table.getChild('a')!.toArray() as Float64Array), new Float32()) });
      await engine.put(source, 'replace', messagesOf(retyped));
      await resample(engine, request);
      const written = tableFromIPC(joinIpcStream(await collect('retyped_max')));
      expect(String(written.schema.fields[1]!.type)).toBe(expected);
      const plan = planResample(source, (await engine.stat(source)).schema, 'ts', (request as { rule: Parameters<typeof planResample>[3] }).rule, 'max');
      expect(rows(written)).toEqual(rows(await viaSql(resampleSql(plan))));
    }
  });
});

async function collect(name: string): Promise<IpcMessage[]> {
  const all: IpcMessage[] = [];
  for await (const message of (await engine.read({ bucket: 'default', name })).messages) all.push(message);
  return all;
}

