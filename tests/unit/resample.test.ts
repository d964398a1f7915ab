// Resample: rule and request parsing, planning against schemas, and the built SQL run on a plain
// DuckDB over small tables (the results are checked, not the SQL text).
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import { Bool, DateDay, Decimal, Field, Float64, Int32, Int64, Schema, TimestampMicrosecond, Uint16, Utf8 } from 'apache-arrow';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InvalidArgumentError } from '../../src/errors.js';
import {
  type ResampleAggregation,
  type ResamplePlan,
  type TimeColumnKind,
  fixedOffsetMicros,
  parseResampleAggregation,
  parseResampleRequest,
  parseResampleRule,
  planResample,
  resampleSql,
} from '../../src/core/resample.js';

const ref = { bucket: 'b', name: 'f' };

describe('parseResampleRule', () => {
  it('reads fixed-length rules in microseconds, old aliases too', () => {
    expect(parseResampleRule('10s')).toEqual({ kind: 'fixed', micros: 10_000_000n });
    expect(parseResampleRule('1min')).toEqual(parseResampleRule('1T'));
    expect(parseResampleRule('min')).toEqual({ kind: 'fixed', micros: 60_000_000n });
    expect(parseResampleRule('5min')).toEqual({ kind: 'fixed', micros: 300_000_000n });
    expect(parseResampleRule('1h')).toEqual(parseResampleRule('1H'));
    expect(parseResampleRule('250ms')).toEqual({ kind: 'fixed', micros: 250_000n });
    expect(parseResampleRule(' 3S ')).toEqual({ kind: 'fixed', micros: 3_000_000n });
  });

  it('reads days, weeks with anchors and months', () => {
    expect(parseResampleRule('1D')).toEqual({ kind: 'day', days: 1 });
    expect(parseResampleRule('2D')).toEqual({ kind: 'day', days: 2 });
    expect(parseResampleRule('1W')).toEqual({ kind: 'week', anchor: 7 });
    expect(parseResampleRule('W-SUN')).toEqual({ kind: 'week', anchor: 7 });
    expect(parseResampleRule('W-mon')).toEqual({ kind: 'week', anchor: 1 });
    expect(parseResampleRule('1M')).toEqual({ kind: 'month-end' });
    expect(parseResampleRule('ME')).toEqual({ kind: 'month-end' });
    expect(parseResampleRule('MS')).toEqual({ kind: 'month-start' });
  });

  it.each([['0s'], ['1.5h'], ['fortnight'], ['2W'], ['3M'], ['W-XYZ'], ['M-SUN'], ['1s-MON'], [''], ['-1h']])('refuses %j', (rule) => {
    expect(() => parseResampleRule(rule)).toThrow(InvalidArgumentError);
  });

  it('refuses non-strings', () => {
    expect(() => parseResampleRule(10)).toThrow(/must be a string/);
  });
});

describe('parseResampleAggregation', () => {
  it('takes pandas names only', () => {
    expect(parseResampleAggregation('ohlc')).toBe('ohlc');
    expect(() => parseResampleAggregation('avg')).toThrow(/mean, sum/);
    expect(() => parseResampleAggregation(undefined)).toThrow(InvalidArgumentError);
  });
});

describe('fixedOffsetMicros', () => {
  it('knows UTC and ±hh:mm, not zone names', () => {
    expect(fixedOffsetMicros('UTC')).toBe(0n);
    expect(fixedOffsetMicros('+05:30')).toBe(19_800_000_000n);
    expect(fixedOffsetMicros('-0800')).toBe(-28_800_000_000n);
    expect(fixedOffsetMicros('Europe/Berlin')).toBeUndefined();
  });
});

describe('parseResampleRequest', () => {
  const rule = { source: 's', target: 't', rule: '1min', time_col: 'ts', aggregation_func: 'mean' };

  it('reads shoots’ rule form with nulls as absent', () => {
    const request = parseResampleRequest({ ...rule, mode: 'append', source_bucket: null, target_bucket: 'out', sql: null });
    expect(request).toMatchObject({ kind: 'rule', source: { bucket: 'default', name: 's' }, target: { bucket: 'out', name: 't' }, mode: 'append', timeColumn: 'ts' });
  });

  it('reads the SQL form; mode defaults to error', () => {
    const request = parseResampleRequest({ source: 's', target: 't', sql: 'SELECT 1', source_bucket: 'in' });
    expect(request).toMatchObject({ kind: 'sql', sql: 'SELECT 1', mode: 'error', source: { bucket: 'in', name: 's' } });
  });

  it.each([
    [{ ...rule, extra: 1 }, /unknown field/],
    [{ ...rule, sql: 'SELECT 1' }, /either/],
    [{ source: 's', target: 't', rule: '1h' }, /missing "time_col", "aggregation_func"/],
    [{ ...rule, source: undefined }, /needs "source"/],
    [{ ...rule, target: 'a/b' }, /invalid frame name/],
    [{ ...rule, mode: 'upsert' }, /put mode/],
    [{ ...rule, time_col: 3 }, /column name/],
    [{ source: 's', target: 't', sql: '  ' }, /non-empty/],
  ])('refuses %j', (body, message) => {
    expect(() => parseResampleRequest(body as Record<string, unknown>)).toThrow(message);
  });
});

describe('planResample', () => {
  const schema = new Schema([
    new Field('label', new Utf8()),
    new Field('ts', new TimestampMicrosecond('Europe/Berlin')),
    new Field('v', new Float64()),
    new Field('n', new Int64()),
    new Field('u', new Uint16()),
    new Field('d', new Decimal(2, 10, 128)),
    new Field('flag', new Bool()),
    new Field('day', new DateDay()),
  ]);

  it('aggregates numeric columns and drops the others', () => {
    const plan = planResample(ref, schema, 'ts', parseResampleRule('1h'), 'mean');
    expect(plan.time).toEqual({ kind: 'instant', timeZone: 'Europe/Berlin' });
    expect(plan.columns).toEqual([
      { name: 'v', kind: 'float' },
      { name: 'n', kind: 'signed' },
      { name: 'u', kind: 'unsigned' },
      { name: 'd', kind: 'decimal' },
    ]);
    expect(planResample(ref, schema, 'day', parseResampleRule('1D'), 'sum').time).toEqual({ kind: 'date' });
  });

  it('refuses a missing or non-time time column', () => {
    expect(() => planResample(ref, schema, 'nope', parseResampleRule('1h'), 'mean')).toThrow(/not a column .* label, ts/);
    expect(() => planResample(ref, schema, 'v', parseResampleRule('1h'), 'mean')).toThrow(/timestamp or a date/);
  });

  it('refuses ohlc names that collide with the time column', () => {
    const clash = new Schema([new Field('p_open', new TimestampMicrosecond()), new Field('p', new Float64()), new Field('q', new Int32())]);
    expect(() => planResample(ref, clash, 'p_open', parseResampleRule('1h'), 'ohlc')).toThrow(/two columns named "p_open"/);
    expect(() => planResample(ref, clash, 'p_open', parseResampleRule('1h'), 'mean')).not.toThrow();
  });
});

describe('resampleSql on DuckDB', () => {
  let instance: DuckDBInstance;
  let connection: DuckDBConnection;

  beforeAll(async () => {
    instance = await DuckDBInstance.create(':memory:');
    connection = await instance.connect();
    await connection.run("SET TimeZone = 'UTC'; CREATE SCHEMA b");
  });

  afterAll(() => {
    connection?.closeSync();
    instance?.closeSync();
  });

  /** Creates "b"."f" from a VALUES list and runs the plan's SQL; rows as JS values (timestamps as ISO strings). */
  async function run(columns: string, rows: string, time: TimeColumnKind, numeric: ResamplePlan['columns'], rule: string, aggregation: ResampleAggregation, timeColumn = 'ts') {
    await connection.run(`CREATE OR REPLACE TABLE b.f AS SELECT * FROM (VALUES ${rows}) v(${columns})`);
    const sql = resampleSql({ source: ref, timeColumn, time, columns: numeric, rule: parseResampleRule(rule), aggregation });
    const reader = await connection.runAndReadAll(sql);
    return reader.getRowObjectsJS().map((row) => Object.fromEntries(Object.entries(row).map(([k, v]) => [k, v instanceof Date ? v.toISOString() : typeof v === 'bigint' ? Number(v) : v])));
  }
  const naive: TimeColumnKind = { kind: 'timestamp' };
  const x = [{ name: 'x', kind: 'float' as const }];

  it('bins 7min from midnight of the first day (pandas start_day), left closed and labelled', async () => {
    const rows = await run('ts, x', "(TIMESTAMP '2024-01-01 00:13:00', 1.0), (TIMESTAMP '2024-01-01 00:14:00', 2.0), (TIMESTAMP '2024-01-01 00:20:59', 3.0), (TIMESTAMP '2024-01-01 00:21:00', 4.0)", naive, x, '7min', 'sum');
    expect(rows).toEqual([
      { ts: '2024-01-01T00:07:00.000Z', x: 1 },
      { ts: '2024-01-01T00:14:00.000Z', x: 5 },
      { ts: '2024-01-01T00:21:00.000Z', x: 4 },
    ]);
  });

  it('floors times before 1970 correctly', async () => {
    const rows = await run('ts, x', "(TIMESTAMP '1969-12-31 23:59:59.5', 1.0), (TIMESTAMP '1969-12-31 23:59:50', 2.0)", naive, x, '10s', 'count');
    expect(rows).toEqual([
      { ts: '1969-12-31T23:59:50.000Z', x: 2 },
    ]);
  });

  it('skips nulls as pandas does: first/last non-null, sum of nulls is 0, count non-null; null times dropped', async () => {
    const values = "(TIMESTAMP '2024-01-01 00:00:01', NULL), (TIMESTAMP '2024-01-01 00:00:02', 5.0), (TIMESTAMP '2024-01-01 00:00:03', 6.0), (TIMESTAMP '2024-01-01 00:00:04', NULL), (TIMESTAMP '2024-01-01 00:01:00', NULL), (NULL, 100.0)";
    const summary = async (aggregation: ResampleAggregation) => (await run('ts, x', values, naive, x, '1min', aggregation)).map((row) => row.x);
    expect(await summary('first')).toEqual([5, null]);
    expect(await summary('last')).toEqual([6, null]);
    expect(await summary('sum')).toEqual([11, 0]);
    expect(await summary('count')).toEqual([2, 0]);
    expect(await summary('std')).toEqual([Math.SQRT1_2, null]);
    expect(await summary('median')).toEqual([5.5, null]);
  });

  it('names ohlc columns <col>_open/_high/_low/_close', async () => {
    const rows = await run('ts, x', "(TIMESTAMP '2024-01-01 00:00:03', 2.0), (TIMESTAMP '2024-01-01 00:00:01', 4.0), (TIMESTAMP '2024-01-01 00:00:02', 1.0), (TIMESTAMP '2024-01-01 00:00:04', 3.0)", naive, x, '1min', 'ohlc');
    expect(rows).toEqual([{ ts: '2024-01-01T00:00:00.000Z', x_open: 4, x_high: 4, x_low: 1, x_close: 3 }]);
  });

  it('quotes odd names and avoids its own helper names', async () => {
    const columns = [{ name: 'we"ird', kind: 'signed' as const }, { name: '__hangar_bin', kind: 'signed' as const }];
    const rows = await run('"t s", "we""ird", __hangar_bin', "(TIMESTAMP '2024-01-01 10:00:00', 1, 10), (TIMESTAMP '2024-01-01 10:30:00', 2, 20)", naive, columns, '1h', 'sum', 't s');
    expect(rows).toEqual([{ 't s': '2024-01-01T10:00:00.000Z', 'we"ird': 3, __hangar_bin: 30 }]);
  });

  it('labels weeks with their anchor day and months with their last or first day', async () => {
    // 2024-03-03 is a Sunday.
    const values = "(TIMESTAMP '2024-03-03 23:00:00', 1.0), (TIMESTAMP '2024-03-04 00:00:00', 2.0), (TIMESTAMP '2024-03-31 12:00:00', 3.0)";
    expect((await run('ts, x', values, naive, x, 'W', 'sum')).map((r) => r.ts)).toEqual(['2024-03-03T00:00:00.000Z', '2024-03-10T00:00:00.000Z', '2024-03-31T00:00:00.000Z']);
    expect((await run('ts, x', values, naive, x, 'W-MON', 'sum')).map((r) => r.ts)).toEqual(['2024-03-04T00:00:00.000Z', '2024-04-01T00:00:00.000Z']);
    expect(await run('ts, x', values, naive, x, 'M', 'sum')).toEqual([{ ts: '2024-03-31T00:00:00.000Z', x: 6 }]);
    expect(await run('ts, x', values, naive, x, 'MS', 'sum')).toEqual([{ ts: '2024-03-01T00:00:00.000Z', x: 6 }]);
  });

  it('bins days on the zone’s wall clock and returns instants', async () => {
    const values = "(TIMESTAMPTZ '2024-03-30 22:30:00+00', 1.0), (TIMESTAMPTZ '2024-03-30 23:30:00+00', 2.0)";
    // Berlin: 23:30 and 00:30 (+01:00 → +02:00 that night); midnight of the 31st is 23:00Z of the 30th.
    expect(await run('ts, x', values, { kind: 'instant', timeZone: 'Europe/Berlin' }, x, '1D', 'sum')).toEqual([
      { ts: '2024-03-29T23:00:00.000Z', x: 1 },
      { ts: '2024-03-30T23:00:00.000Z', x: 2 },
    ]);
    // A fixed +05:30 zone: 04:00 and 05:00 local on the 31st, one day, midnight is 18:30Z.
    expect(await run('ts, x', values, { kind: 'instant', timeZone: '+05:30' }, x, '1D', 'sum')).toEqual([{ ts: '2024-03-30T18:30:00.000Z', x: 3 }]);
    // Hours count from local midnight: in +05:30 they start at :30 UTC.
    expect((await run('ts, x', values, { kind: 'instant', timeZone: 'Asia/Kolkata' }, x, '1h', 'sum')).map((r) => r.ts)).toEqual(['2024-03-30T22:30:00.000Z', '2024-03-30T23:30:00.000Z']);
  });

  it('bins date columns as midnight timestamps', async () => {
    const rows = await run('day, x', "(DATE '2024-01-01', 1.0), (DATE '2024-01-07', 2.0), (DATE '2024-01-08', 4.0)", { kind: 'date' }, x, 'W', 'sum', 'day');
    expect(rows).toEqual([
      { day: '2024-01-07T00:00:00.000Z', x: 3 },
      { day: '2024-01-14T00:00:00.000Z', x: 4 },
    ]);
  });

  it('keeps integer sums as BIGINT and means as DOUBLE', async () => {
    await connection.run("CREATE OR REPLACE TABLE b.f AS SELECT TIMESTAMP '2024-01-01' + INTERVAL (i) SECOND AS ts, i::INTEGER AS n FROM range(10) r(i)");
    const plan = (aggregation: ResampleAggregation): string =>
      resampleSql({ source: ref, timeColumn: 'ts', time: naive, columns: [{ name: 'n', kind: 'signed' }], rule: parseResampleRule('1min'), aggregation });
    const types = async (aggregation: ResampleAggregation) => (await connection.runAndReadAll(plan(aggregation))).columnTypes().map(String);
    expect(await types('sum')).toEqual(['TIMESTAMP', 'BIGINT']);
    expect(await types('mean')).toEqual(['TIMESTAMP', 'DOUBLE']);
    expect(await types('count')).toEqual(['TIMESTAMP', 'BIGINT']);
    expect(await types('max')).toEqual(['TIMESTAMP', 'INTEGER']);
  });
});
