// Range reads (start, end, limit, columns) through a real server on multi-segment frames.
import {
  DateDay,
  Dictionary,
  Int32,
  Int64,
  type RecordBatch,
  Table,
  TimestampMicrosecond,
  Utf8,
  type Vector,
  makeData,
  makeVector,
  vectorFromArray,
} from 'apache-arrow';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { HangarClient, InvalidArgumentError } from '../../src/client/index.js';
import { MemoryConnector } from '../../src/connectors/memory/memory-connector.js';
import { ObjectLayout } from '../../src/storage/object-layout.js';
import type { FrameManifest } from '../../src/format/manifest.js';
import type { FrameRef } from '../../src/names.js';
import { HangarServer } from '../../src/server/hangar-server.js';

/** A memory store that counts segment fetches, to prove pruning and early stops. */
class CountingConnector extends ObjectLayout {
  constructor() {
    super(new MemoryConnector());
  }

  fetched: string[] = [];
  override async getSegment(ref: FrameRef, id: string): Promise<Uint8Array> {
    if (id.endsWith('.parquet')) this.fetched.push(id);
    return super.getSegment(ref, id);
  }
}

const BASE = 1_700_000_000_000_000n; // µs since the epoch: 2023-11-14T22:13:20Z
const ROWS = 20_000;

/** Raw values of a column (int64 and timestamps as bigint, nulls as null). */
function raw(vector: Vector): unknown[] {
  const out: unknown[] = [];
  for (const data of vector.data) {
    for (let i = 0; i < data.length; i++) {
      out.push(data.getValid(i) ? (typeof data.values[0] === 'bigint' ? (data.values as BigInt64Array)[data.offset + i] : vector.get(out.length)) : null);
    }
  }
  return out;
}

/** ids 0..n-1, ts = BASE + order[i] seconds (µs unit, UTC), every 9th ts null, plus a string and a dictionary column. */
function frame(order: (i: number) => number, rows = ROWS): Table {
  const micros = new BigInt64Array(rows);
  const valid = new Uint8Array(Math.ceil(rows / 8));
  let nulls = 0;
  for (let i = 0; i < rows; i++) {
    micros[i] = BASE + BigInt(order(i)) * 1_000_000n;
    if (i % 9 === 4) nulls++;
    else valid[i >> 3]! |= 1 << (i & 7);
  }
  return new Table({
    id: vectorFromArray(Array.from({ length: rows }, (_, i) => BigInt(i)), new Int64()),
    label: vectorFromArray(Array.from({ length: rows }, (_, i) => (i % 7 === 0 ? null : `label-${i}`)), new Utf8()),
    colour: vectorFromArray(Array.from({ length: rows }, (_, i) => (i % 11 === 0 ? null : ['red', 'green', 'blue'][i % 3]!)), new Dictionary(new Utf8(), new Int32())),
    ts: makeVector(makeData({ type: new TimestampMicrosecond('UTC'), length: rows, nullCount: nulls, nullBitmap: valid, data: micros })),
  });
}

/** The ids of rows with start <= ts < end (µs), in order, as the server should return them. */
function expectedIds(table: Table, start?: bigint, end?: bigint, limit = Infinity): bigint[] {
  const ts = raw(table.getChild('ts')!) as (bigint | null)[];
  const ids: bigint[] = [];
  ts.forEach((value, i) => {
    if (value === null || (start !== undefined && value < start) || (end !== undefined && value >= end)) return;
    if (ids.length < limit) ids.push(BigInt(i));
  });
  return ids;
}

/** Puts a table in batches of 500 rows, so small segments hold several batches each. */
async function putInPieces(client: HangarClient, name: string, table: Table): Promise<void> {
  async function* pieces(): AsyncGenerator<RecordBatch> {
    for (let at = 0; at < table.numRows; at += 500) yield* table.slice(at, at + 500).batches;
  }
  await client.put(name, pieces());
}

const at = (seconds: number): bigint => BASE + BigInt(seconds) * 1_000_000n;
const iso = (seconds: number): string => new Date(Number(at(seconds) / 1000n)).toISOString();

describe('range reads', () => {
  let connector: CountingConnector;
  let server: HangarServer;
  let client: HangarClient;
  const sorted = frame((i) => i);
  // A fixed permutation (multiplicative, coprime with ROWS): times out of order within every segment.
  const shuffled = frame((i) => (i * 7_919) % ROWS);

  beforeAll(async () => {
    connector = new CountingConnector();
    server = await HangarServer.start({ port: 0, connector, engine: { segmentBytes: 64 * 1024 } });
    client = HangarClient.connect(server.location);
    await putInPieces(client, 'sorted', sorted);
    await putInPieces(client, 'shuffled', shuffled);
  });

  afterAll(async () => {
    client?.close();
    await server?.close();
  });

  beforeEach(() => {
    connector.fetched = [];
  });

  async function manifest(name: string): Promise<FrameManifest> {
    return (await connector.getManifest({ bucket: 'default', name }))!;
  }

  it('records the time column and per-segment statistics', async () => {
    const m = await manifest('sorted');
    expect(m.timeColumn).toBe('ts');
    expect(m.segments.length).toBeGreaterThan(8);
    expect(m.segments[0]!.timeRange).toEqual({ min: String(at(0)), max: String(at(m.segments[0]!.rows - 1)) });
    expect(m.segments.reduce((sum, s) => sum + s.timeNulls!, 0)).toBe(Math.floor((ROWS + 4) / 9));
  });

  it('returns exactly the rows in [start, end), fetching only overlapping segments', async () => {
    const m = await manifest('sorted');
    const table = await client.get('sorted', { start: iso(5_000), end: iso(7_500) });
    expect(raw(table.getChild('id')!)).toEqual(expectedIds(sorted, at(5_000), at(7_500)));
    // Rows come back whole: strings and the dictionary column too.
    const first = Number(expectedIds(sorted, at(5_000))[0]);
    expect(table.getChild('label')!.get(0)).toBe(sorted.getChild('label')!.get(first));
    expect([...table.getChild('colour')!]).toEqual(expectedIds(sorted, at(5_000), at(7_500)).map((id) => sorted.getChild('colour')!.get(Number(id))));
    const overlapping = m.segments.filter((s) => BigInt(s.timeRange!.max) >= at(5_000) && BigInt(s.timeRange!.min) < at(7_500));
    expect(connector.fetched.sort()).toEqual(overlapping.map((s) => s.id).sort());
    expect(connector.fetched.length).toBeLessThan(m.segments.length / 2);
  });

  it('takes epoch seconds, Dates and offsets, and open-ended ranges', async () => {
    const start = Number(at(12_345) / 1_000_000n);
    const bySeconds = await client.get('sorted', { start, end: start + 10.5 });
    expect(raw(bySeconds.getChild('id')!)).toEqual(expectedIds(sorted, at(12_345), at(12_355) + 500_000n));
    const byDate = await client.get('sorted', { start: new Date(Number(at(100) / 1000n)), end: '2023-11-14T19:15:20-03:00' });
    expect(raw(byDate.getChild('id')!)).toEqual(expectedIds(sorted, at(100), at(120)));
    const tail = await client.get('sorted', { start: iso(19_990) });
    expect(raw(tail.getChild('id')!)).toEqual(expectedIds(sorted, at(19_990)));
    const head = await client.get('sorted', { end: iso(3) });
    expect(raw(head.getChild('id')!)).toEqual([0n, 1n, 2n]);
  });

  it('projects columns without the time column and still filters on it', async () => {
    const table = await client.get('sorted', { columns: ['colour', 'id'], start: iso(9_000), end: iso(9_100) });
    expect(table.schema.fields.map((f) => f.name)).toEqual(['colour', 'id']);
    const ids = expectedIds(sorted, at(9_000), at(9_100));
    expect(raw(table.getChild('id')!)).toEqual(ids);
    expect([...table.getChild('colour')!]).toEqual(ids.map((id) => sorted.getChild('colour')!.get(Number(id))));
  });

  it('drops the time column from a frame without dictionaries (schema from the decoded segments)', async () => {
    const plain = sorted.select(['id', 'ts']);
    await putInPieces(client, 'plain', plain);
    const table = await client.get('plain', { columns: ['id'], start: iso(2_222), end: iso(4_444) });
    expect(table.schema.fields.map((f) => `${f.name}:${String(f.type)}`)).toEqual(['id:Int64']);
    expect(raw(table.getChild('id')!)).toEqual(expectedIds(sorted, at(2_222), at(4_444)));
  });

  it('stops at the limit without fetching further segments', async () => {
    const table = await client.get('sorted', { limit: 10, columns: ['id'] });
    // Without start/end, rows with a null time count too.
    const firstIds = (n: number) => Array.from({ length: n }, (_, i) => BigInt(i));
    expect(raw(table.getChild('id')!)).toEqual(firstIds(10));
    expect(connector.fetched).toHaveLength(1);
    connector.fetched = [];
    const m = await manifest('sorted');
    const across = m.segments[0]!.rows + 17;
    const limited = await client.get('sorted', { limit: across });
    expect(raw(limited.getChild('id')!)).toEqual(firstIds(across));
    // Only the two segments the limit needs, or fewer: earlier range reads may have left them decoded.
    const needed = [m.segments[0]!.id, m.segments[1]!.id];
    expect(connector.fetched.length).toBeLessThanOrEqual(2);
    expect(connector.fetched.every((id) => needed.includes(id))).toBe(true);
  });

  it('applies the limit after the time filter', async () => {
    const table = await client.get('sorted', { start: iso(3_000), end: iso(15_000), limit: 2_500 });
    expect(raw(table.getChild('id')!)).toEqual(expectedIds(sorted, at(3_000), at(15_000), 2_500));
    expect((await client.get('sorted', { start: iso(3_000), limit: 0 })).numRows).toBe(0);
  });

  it('filters unsorted time data (gathered rows), keeping row order and dictionaries', async () => {
    const table = await client.get('shuffled', { start: iso(4_000), end: iso(6_000) });
    const ids = expectedIds(shuffled, at(4_000), at(6_000));
    expect(ids.length).toBeGreaterThan(1_000);
    expect(raw(table.getChild('id')!)).toEqual(ids);
    const times = raw(shuffled.getChild('ts')!);
    expect(raw(table.getChild('ts')!)).toEqual(ids.map((id) => times[Number(id)]));
    expect([...table.getChild('label')!]).toEqual(ids.map((id) => shuffled.getChild('label')!.get(Number(id))));
    expect([...table.getChild('colour')!]).toEqual(ids.map((id) => shuffled.getChild('colour')!.get(Number(id))));
    const limited = await client.get('shuffled', { start: iso(4_000), end: iso(6_000), limit: 333, columns: ['label'] });
    expect([...limited.getChild('label')!]).toEqual(ids.slice(0, 333).map((id) => shuffled.getChild('label')!.get(Number(id))));
  });

  it('returns the schema and no rows for an empty range', async () => {
    const table = await client.get('sorted', { start: iso(100), end: iso(100) });
    expect(table.numRows).toBe(0);
    expect(table.schema.fields.map((f) => f.name)).toEqual(['id', 'label', 'colour', 'ts']);
    expect(connector.fetched).toHaveLength(0);
  });

  it('reads manifests without statistics (older versions) by filtering every segment', async () => {
    await putInPieces(client, 'legacy', sorted.slice(0, 5_000));
    const ref = { bucket: 'default', name: 'legacy' };
    const current = await manifest('legacy');
    const { timeColumn: _column, ...rest } = current;
    await connector.commitManifest(ref, {
      ...rest,
      version: current.version + 1,
      segments: current.segments.map(({ timeRange: _range, timeNulls: _nulls, ...segment }) => segment),
    });
    connector.fetched = [];
    const table = await client.get('legacy', { start: iso(1_000), end: iso(1_200) });
    expect(raw(table.getChild('id')!)).toEqual(expectedIds(sorted, at(1_000), at(1_200)));
    expect(connector.fetched).toHaveLength(current.segments.length);
  });

  it('filters on a date32 time column', async () => {
    const days = 400;
    const table = new Table({
      day: makeVector(makeData({ type: new DateDay(), length: days, data: Int32Array.from({ length: days }, (_, i) => 19_000 + i) })),
      n: vectorFromArray(Array.from({ length: days }, (_, i) => i), new Int32()),
    });
    await client.put('daily', table);
    // A day counts from its midnight: the 12th (00:00 < 00:00:01) is in, the 13th is not.
    const back = await client.get('daily', { start: '2022-01-10', end: '2022-01-12T00:00:01Z' });
    const first = Date.UTC(2022, 0, 10) / 86_400_000 - 19_000;
    expect([...back.getChild('n')!]).toEqual([first, first + 1, first + 2]);
  });

  it('refuses bad bounds and limits, and ranges on frames without a time column', async () => {
    await client.put('untimed', new Table({ n: vectorFromArray([1, 2, 3], new Int32()) }));
    const noTime = await client.get('untimed', { start: '2024-01-01' }).catch((e: unknown) => e);
    expect(noTime).toBeInstanceOf(InvalidArgumentError);
    expect((noTime as Error).message).toMatch(/has no time column/);
    expect((await client.get('untimed', { limit: 2 })).numRows).toBe(2);
    const badStart = await client.get('sorted', { start: '2024-02-30' }).catch((e: unknown) => e);
    expect(badStart).toBeInstanceOf(InvalidArgumentError);
    expect((badStart as Error).message).toMatch(/ISO-8601/);
    await expect(client.get('sorted', { limit: -1 })).rejects.toBeInstanceOf(InvalidArgumentError);
    await expect(client.get('sorted', { limit: 1.5 })).rejects.toThrow(/non-negative integer/);
  });
});
