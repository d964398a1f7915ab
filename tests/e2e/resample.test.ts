// The resample action through a real server: both forms, put modes, buckets, zones, errors, and
// atomicity (a failing resample leaves the target as it was).
import { Float64, Int64, Table, TimestampMicrosecond, Utf8, makeData, makeVector, vectorFromArray } from 'apache-arrow';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AlreadyExistsError, HangarClient, InvalidArgumentError, NotFoundError } from '../../src/client/index.js';
import { MemoryConnector } from '../../src/connectors/memory/memory-connector.js';
import { HangarServer } from '../../src/server/hangar-server.js';

const MINUTE = 60_000_000n;
const BASE = 1_704_067_200_000_000n; // 2024-01-01T00:00:00Z in µs

/** `rows` rows 20 s apart from BASE: ts, v = i (every 5th null), n = i, and a string column. */
function sensor(rows: number, timeZone?: string): Table {
  const micros = BigInt64Array.from({ length: rows }, (_, i) => BASE + BigInt(i) * 20_000_000n);
  return new Table({
    ts: makeVector(makeData({ type: new TimestampMicrosecond(timeZone), length: rows, data: micros })),
    v: vectorFromArray(Array.from({ length: rows }, (_, i) => (i % 5 === 4 ? null : i)), new Float64()),
    n: vectorFromArray(Array.from({ length: rows }, (_, i) => BigInt(i)), new Int64()),
    site: vectorFromArray(Array.from({ length: rows }, (_, i) => `site-${i % 3}`), new Utf8()),
  });
}

describe('resample action', () => {
  let server: HangarServer;
  let client: HangarClient;

  beforeAll(async () => {
    server = await HangarServer.start({ port: 0, connector: new MemoryConnector() });
    client = HangarClient.connect(server.location);
    await client.put('sensor', sensor(30));
    await client.put('sensor', sensor(30, 'Asia/Kolkata'), { bucket: 'zoned' });
  });

  afterAll(async () => {
    client?.close();
    await server?.close();
  });

  async function resample(body: Record<string, unknown>): Promise<unknown> {
    const [result] = await client.flight.doAction('resample', JSON.stringify(body)).toArray();
    return JSON.parse(Buffer.from(result!).toString('utf8'));
  }

  async function failure(body: Record<string, unknown>): Promise<Error> {
    try {
      await resample(body);
    } catch (error) {
      return error as Error;
    }
    throw new Error('the resample succeeded');
  }

  const byRule = { source: 'sensor', rule: '1min', time_col: 'ts', aggregation_func: 'mean', source_bucket: null, target_bucket: null };

  it('resamples by rule: numeric columns, bins of three rows, nulls skipped', async () => {
    expect(await resample({ ...byRule, target: 'mean_1min', mode: 'error' })).toEqual({ source_rows: 30, target_rows: 10 });
    const table = await client.get('mean_1min');
    expect(table.schema.fields.map((f) => `${f.name}:${f.type}`)).toEqual(['ts:Timestamp<MICROSECOND>', 'v:Float64', 'n:Float64']);
    expect(table.getChild('ts')!.toArray()).toEqual(BigInt64Array.from({ length: 10 }, (_, i) => BASE + BigInt(i) * MINUTE));
    // Bin 1 holds rows 3, 4, 5; v of row 4 is null.
    expect(table.getChild('v')!.get(1)).toBe(4);
    expect(table.getChild('n')!.get(1)).toBe(4);
  });

  it('appends and replaces with the put mode, and refuses mode error on an existing target', async () => {
    await resample({ ...byRule, aggregation_func: 'sum', target: 'sums', mode: 'append' });
    expect(await resample({ ...byRule, aggregation_func: 'sum', target: 'sums', mode: 'append' })).toEqual({ source_rows: 30, target_rows: 10 });
    expect((await client.stat('sums')).rows).toBe(20);
    await resample({ ...byRule, rule: '5min', aggregation_func: 'count', target: 'sums', mode: 'replace' });
    const replaced = await client.get('sums');
    expect(replaced.numRows).toBe(2);
    expect([...replaced.getChild('v')!]).toEqual([12n, 12n]);
    expect(await failure({ ...byRule, target: 'sums', mode: 'error' })).toBeInstanceOf(AlreadyExistsError);
    expect((await client.get('sums')).numRows).toBe(2);
  });

  it('writes across buckets and keeps the source zone on the time column', async () => {
    const result = await resample({ ...byRule, rule: '1h', aggregation_func: 'ohlc', source_bucket: 'zoned', target_bucket: 'out', target: 'hourly', mode: 'error' });
    // Kolkata hours start at :30 UTC: the 10 minutes from 00:00Z lie in the bin 23:30Z–00:30Z.
    expect(result).toEqual({ source_rows: 30, target_rows: 1 });
    const table = await client.get('hourly', { bucket: 'out' });
    expect(String(table.schema.fields[0]!.type)).toBe('Timestamp<MICROSECOND, Asia/Kolkata>');
    expect(table.schema.fields.map((f) => f.name)).toEqual(['ts', 'v_open', 'v_high', 'v_low', 'v_close', 'n_open', 'n_high', 'n_low', 'n_close']);
    expect(table.getChild('ts')!.toArray()).toEqual(BigInt64Array.from([BASE - 30n * MINUTE]));
    // Row 29's v is null: close is the last non-null value.
    expect([table.getChild('v_open')!.get(0), table.getChild('v_close')!.get(0), table.getChild('n_close')!.get(0)]).toEqual([0, 28, 29n]);
  });

  it('writes a SQL query’s result (the SQL form), in the source bucket', async () => {
    const body = { source: 'sensor', target: 'filtered', sql: 'SELECT ts, n FROM sensor WHERE n % 2 = 0', mode: 'error', source_bucket: 'zoned', target_bucket: 'out' };
    expect(await resample(body)).toEqual({ source_rows: 30, target_rows: 15 });
    const table = await client.get('filtered', { bucket: 'out' });
    expect([...table.getChild('n')!]).toEqual(Array.from({ length: 15 }, (_, i) => BigInt(2 * i)));
  });

  it('refuses bad requests with clear messages, storing nothing', async () => {
    const cases: [Record<string, unknown>, RegExp][] = [
      [{ ...byRule, target: 'x', rule: 'fortnightly' }, /unknown rule/],
      [{ ...byRule, target: 'x', aggregation_func: 'mode' }, /aggregation_func/],
      [{ ...byRule, target: 'x', time_col: 'site' }, /timestamp or a date/],
      [{ ...byRule, target: 'x', time_col: 'missing' }, /not a column/],
      [{ ...byRule, target: 'x', colour: 'red' }, /unknown field/],
      [{ source: 'sensor', target: 'x', sql: 'SELECT nope FROM sensor' }, /nope/],
    ];
    for (const [body, message] of cases) {
      const error = await failure(body);
      expect(error).toBeInstanceOf(InvalidArgumentError);
      expect(error.message).toMatch(message);
    }
    expect(await failure({ ...byRule, source: 'absent', target: 'x' })).toBeInstanceOf(NotFoundError);
    expect((await client.list()).map((frame) => frame.name)).not.toContain('x');
  });

  it('describes the action in ListActions', async () => {
    const actions = await client.flight.listActions();
    expect(actions.find((action) => action.type === 'resample')?.description).toMatch(/rule.*time_col.*aggregation_func/);
  });
});
