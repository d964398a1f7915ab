/**
 * The resample action's single pass for time-sorted frames gives what the DuckDB statement gives:
 * the same schema, bins and values (nulls skipped, NaN ordered above numbers, empty bins absent),
 * for every aggregation it covers, µs and ms time columns, naive and fixed-offset zones, float64
 * and float32 columns; unsorted time columns are left to the statement. Segments are flagged
 * time-sorted at put (both version logs), so the pass finds bin edges by search; bins across batch
 * and segment edges, gaps, one-row bins, overlapping segments and unflagged (spliced) ones.
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
import type { SegmentEntry } from '../../src/format/manifest.js';
import { HangarClient } from '../../src/client/index.js';
import { HangarServer } from '../../src/server/hangar-server.js';
import { frameTimeSorted } from '../../src/core/time-order.js';
import { selectManifest } from '../../src/core/version-selection.js';

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


/** A frame of `rows` rows `spacing` seconds apart from `start` (µs), one float64 column with nulls every 7th row. */
function regular(rows: number, spacing: number, start = 1_704_067_200_000_000n): Table {
  const ts = makeData({ type: new Timestamp(TimeUnit.MICROSECOND, null), length: rows, data: BigInt64Array.from({ length: rows }, (_, i) => start + BigInt(i * spacing) * 1_000_000n) });
  return new Table({ ts: makeVector(ts), v: vectorFromArray(Array.from({ length: rows }, (_, i) => (i % 7 === 3 ? null : Math.cos(i) * 10)), new Float64()) });
}

async function* batchesOf(table: Table, size: number): AsyncGenerator<IpcMessage> {
  const batches = Array.from({ length: Math.ceil(table.numRows / size) }, (_, i) => table.slice(i * size, (i + 1) * size).batches).flat();
  yield* splitIpcStream(tableToIPC(new Table(batches), 'stream'));
}

/** The single pass on `name` for a rule and aggregation, checked against the statement; whether the manifest said "sorted". */
async function passMatchesStatement(on: HangarEngine, name: string, rule: string, aggregation: ResampleAggregation): Promise<boolean> {
  const source = { bucket: 'default', name };
  const info = await on.stat(source);
  const request = parseResampleRequest({ source: name, target: `${name}_${aggregation}`, mode: 'replace', rule, time_col: 'ts', aggregation_func: aggregation });
  if (request.kind !== 'rule') throw new Error('a rule request');
  const plan = planResample(source, info.schema, 'ts', request.rule, aggregation);
  const phase = fixedPhase(plan.time, (plan.rule as { micros: bigint }).micros)!;
  const sql = resampleSql(plan);
  const stream = await on.query(sql, { bucket: 'default' });
  const all: IpcMessage[] = [];
  for await (const message of stream.messages) all.push(message);
  const expected = rows(tableFromIPC(joinIpcStream(all)));
  const messages = await sortedResampleMessages(on, plan, phase, await on.querySchema(sql, { bucket: 'default' }));
  expect(messages).toBeDefined();
  expect(rows(tableFromIPC(joinIpcStream(messages!)))).toEqual(expected);
  await resample(on, request);
  const written: IpcMessage[] = [];
  for await (const message of (await on.read({ bucket: 'default', name: `${name}_${aggregation}` })).messages) written.push(message);
  expect(rows(tableFromIPC(joinIpcStream(written)))).toEqual(expected);
  return frameTimeSorted((await selectManifest(on.connector, source)).segments);
}

describe('the time-sorted segment flag and the single pass', () => {
  for (const log of ['hangar', 'delta'] as const) {
    it(`records sorted segments at put and reads the flag back from a fresh store (${log} log)`, async () => {
      const connector = new MemoryConnector();
      const writer = new HangarEngine(new ObjectLayout(connector, { log }), codec, { segmentBytes: 32 * 1024 });
      await writer.put({ bucket: 'default', name: 'flagged' }, 'replace', batchesOf(regular(20_000, 1), 1_000));
      await writer.put({ bucket: 'default', name: 'shuffled' }, 'replace', messagesOf(frame(TimeUnit.MICROSECOND, null, true)), { allowUnordered: true });
      await writer.close();
      const reader = new HangarEngine(new ObjectLayout(connector, { log }), codec, { segmentBytes: 32 * 1024 });
      try {
        const flagged = (await selectManifest(reader.connector, { bucket: 'default', name: 'flagged' })).segments;
        expect(flagged.length).toBeGreaterThan(3);
        expect(flagged.every((segment) => segment.timeSorted === true)).toBe(true);
        const shuffled = (await selectManifest(reader.connector, { bucket: 'default', name: 'shuffled' })).segments;
        expect(shuffled.some((segment) => segment.timeSorted === true)).toBe(false);
        // Bins of an hour span several batches and segments; one-second bins hold one row each.
        expect(await passMatchesStatement(reader, 'flagged', '1h', 'ohlc')).toBe(true);
        expect(await passMatchesStatement(reader, 'flagged', '1s', 'mean')).toBe(true);
      } finally {
        await reader.close();
      }
    });
  }

  it('bins across segment edges, gaps and equal times at an edge, for every aggregation', async () => {
    const name = 'edges';
    // Two appends: the second starts at the first's last time (equal times across the edge), then a gap of a day.
    await engine.put({ bucket: 'default', name }, 'replace', batchesOf(regular(5_000, 3), 700));
    const last = 1_704_067_200_000_000n + BigInt(4_999 * 3) * 1_000_000n;
    await engine.put({ bucket: 'default', name }, 'append', batchesOf(regular(3_000, 2, last), 900));
    await engine.put({ bucket: 'default', name }, 'append', batchesOf(regular(2_000, 5, last + 86_400_000_000n), 1_000));
    for (const aggregation of AGGREGATIONS) expect(await passMatchesStatement(engine, name, '1min', aggregation)).toBe(true);
  });

  it('checks the rows when segments are each sorted but overlap, and leaves them to the statement', async () => {
    const name = 'overlapping';
    await engine.put({ bucket: 'default', name }, 'replace', batchesOf(regular(3_000, 2), 1_000));
    // Sorted in itself, but it starts before the frame's last time (at odd seconds: no time ties, so `last` is one value).
    await engine.put({ bucket: 'default', name }, 'append', batchesOf(regular(1_000, 2, 1_704_067_200_000_000n + 1_001_000_000n), 1_000), { allowUnordered: true });
    const source = { bucket: 'default', name };
    const segments = (await selectManifest(engine.connector, source)).segments;
    expect(segments.every((segment) => segment.timeSorted === true)).toBe(true);
    expect(frameTimeSorted(segments)).toBe(false);
    const info = await engine.stat(source);
    const plan = planResample(source, info.schema, 'ts', { kind: 'fixed', micros: 60_000_000n }, 'last');
    const sql = resampleSql(plan);
    expect(await sortedResampleMessages(engine, plan, 0n, await engine.querySchema(sql, { bucket: 'default' }))).toBeUndefined();
    await resample(engine, { source, target: { bucket: 'default', name: 'overlapping_last' }, mode: 'replace', kind: 'rule', rule: plan.rule, timeColumn: 'ts', aggregation: 'last' });
    expect(rows(tableFromIPC(joinIpcStream(await collect('overlapping_last'))))).toEqual(rows(await viaSql(sql)));
  });

  it('keeps the pass after a range delete splices the segments', async () => {
    const name = 'spliced';
    await engine.put({ bucket: 'default', name }, 'replace', batchesOf(regular(20_000, 1), 1_000));
    const start = 1_704_067_200_000_000n + 5_000_000_000n;
    await engine.deleteRange({ bucket: 'default', name }, start, start + 3_000_000_000n);
    for (const aggregation of ['sum', 'first', 'ohlc'] as const) await passMatchesStatement(engine, name, '1min', aggregation);
  });

  it('checks the rows of sorted segments that carry no flag (written before it existed) and still takes the pass', async () => {
    const name = 'unflagged';
    const ref = { bucket: 'default', name };
    await engine.put(ref, 'replace', batchesOf(regular(20_000, 1), 1_000));
    // The same segments, committed again as a manifest of an older writer would list them.
    const manifest = await selectManifest(engine.connector, ref);
    const segments = manifest.segments.map(({ timeSorted: _flag, ...rest }) => rest);
    await engine.connector.commitManifest(ref, { ...manifest, version: manifest.version + 1, segments });
    expect(frameTimeSorted((await selectManifest(engine.connector, ref)).segments)).toBe(false);
    for (const aggregation of ['mean', 'last', 'ohlc'] as const) expect(await passMatchesStatement(engine, name, '1min', aggregation)).toBe(false);
  });

  it("reads whether a frame's segments are in order from their statistics alone", () => {
    const segment = (min: number, max: number, extra: Partial<SegmentEntry> = {}): SegmentEntry => ({
      id: `s${min}`, rows: 10, bytes: 1, storedBytes: 1, rowGroups: 1, timeRange: { min: String(min), max: String(max) }, timeNulls: 0, timeSorted: true, ...extra,
    });
    expect(frameTimeSorted([])).toBe(true);
    expect(frameTimeSorted([segment(1, 5), segment(5, 9), segment(12, 20)])).toBe(true);
    expect(frameTimeSorted([segment(1, 5), segment(4, 9)])).toBe(false);
    const { timeSorted: _flag, ...unflagged } = segment(5, 9);
    expect(frameTimeSorted([segment(1, 5), unflagged])).toBe(false);
    expect(frameTimeSorted([segment(1, 5), segment(6, 9, { timeNulls: 1 })])).toBe(false);
    // A segment of no rows is skipped; one of only null times is not sorted data.
    expect(frameTimeSorted([segment(1, 5), { ...segment(0, 0), rows: 0 }, segment(6, 9)])).toBe(true);
    const { timeRange: _range, ...nullTimes } = segment(6, 9, { timeNulls: 10 });
    expect(frameTimeSorted([segment(1, 5), nullTimes])).toBe(false);
  });
});

describe('the single pass through the server', () => {
  it('runs under the server’s guarded engine and gives the statement’s rows (float columns, sorted segments)', async () => {
    const server = await HangarServer.start({ port: 0, connector: new MemoryConnector() });
    const client = HangarClient.connect(server.location);
    try {
      await client.put('floats', regular(12_000, 1));
      const action = async (body: Record<string, unknown>) => {
        const [result] = await client.flight.doAction('resample', JSON.stringify(body)).toArray();
        return JSON.parse(Buffer.from(result!).toString('utf8')) as unknown;
      };
      expect(await action({ source: 'floats', target: 'by_rule', rule: '1min', time_col: 'ts', aggregation_func: 'ohlc', mode: 'replace' })).toEqual({ source_rows: 12_000, target_rows: 200 });
      const plan = planResample({ bucket: 'default', name: 'floats' }, (await client.get('floats')).schema, 'ts', { kind: 'fixed', micros: 60_000_000n }, 'ohlc');
      await action({ source: 'floats', target: 'by_sql', sql: resampleSql(plan), mode: 'replace' });
      expect(rows(await client.get('by_rule'))).toEqual(rows(await client.get('by_sql')));
    } finally {
      client.close();
      await server.close();
    }
  });
});
