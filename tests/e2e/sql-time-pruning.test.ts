/**
 * SQL over frames of many appended segments, with time filters at and around segment boundaries:
 * the time-pruned views (time-branches.ts) must return exactly the rows the filters select, for
 * every time column type, with null times, unsorted and overlapping segments and as_of queries,
 * and must not open segments a filter excludes.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type DataType, DateDay, Float64, Table, TimeUnit, Timestamp, makeData, makeVector, tableFromIPC, tableToIPC } from 'apache-arrow';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalConnector } from '../../src/connectors/local/local-connector.js';
import { ObjectLayout } from '../../src/storage/object-layout.js';
import { HangarEngine } from '../../src/core/engine.js';
import { joinIpcStream, splitIpcStream } from '../../src/format/ipc-message.js';
import type { FrameRef } from '../../src/names.js';
import { ParquetCodec } from '../../src/format/parquet/parquet-codec.js';

const codec = new ParquetCodec(2);
afterAll(() => codec.close());

/** One appended segment: its rows' times (null for a null time) in the column's unit. */
type SegmentTimes = readonly (bigint | null)[];

/** A frame of `value` (the row's position in the frame) and `ts` of the given type. */
function segmentTable(type: DataType, times: SegmentTimes, firstValue: number): Table {
  const nulls = new Uint8Array(Math.ceil(times.length / 8));
  times.forEach((time, i) => {
    if (time !== null) nulls[i >> 3]! |= 1 << (i & 7);
  });
  const nullCount = times.filter((time) => time === null).length;
  const data = type instanceof DateDay ? Int32Array.from(times, (t) => Number(t ?? 0n)) : BigInt64Array.from(times, (t) => t ?? 0n);
  return new Table({
    value: makeVector(Float64Array.from(times, (_, i) => firstValue + i)),
    ts: makeVector(makeData({ type, length: times.length, data, nullCount, nullBitmap: nullCount ? nulls : null } as never)),
  });
}

async function* messagesOf(table: Table) {
  yield* splitIpcStream(tableToIPC(table, 'stream'));
}

async function query(engine: HangarEngine, sql: string, asOf?: Date): Promise<Table> {
  const stream = await engine.query(sql, { bucket: 'default', ...(asOf ? { asOf } : {}) });
  const messages = [];
  for await (const message of stream.messages) messages.push(message);
  return tableFromIPC(joinIpcStream(messages));
}

async function values(engine: HangarEngine, sql: string, asOf?: Date): Promise<number[]> {
  return [...(await query(engine, sql, asOf)).getChild('value')!].map(Number);
}

/** Appends each segment as its own put; returns the frame's rows as [value, time]. */
async function appendSegments(engine: HangarEngine, ref: FrameRef, type: DataType, segments: readonly SegmentTimes[]): Promise<[number, bigint | null][]> {
  const rows: [number, bigint | null][] = [];
  for (const [i, times] of segments.entries()) {
    await engine.put(ref, i === 0 ? 'replace' : 'append', messagesOf(segmentTable(type, times, rows.length)), { allowUnordered: true });
    times.forEach((time) => rows.push([rows.length, time]));
  }
  return rows;
}

/** 36 sorted segments of 5 rows each, `gap` units apart, every row `step` units after the previous. */
function sortedSegments(start: bigint, step: bigint, gap: bigint): SegmentTimes[] {
  return Array.from({ length: 36 }, (_, s) => Array.from({ length: 5 }, (_, r) => start + BigInt(s) * (4n * step + gap) + BigInt(r) * step));
}

/**
 * The first and last time of some segments (all when `every`, else the first two, the last, and
 * those around where 36 segments split into branches) and the units around them: where pruning
 * could go wrong.
 */
function boundaries(segments: readonly SegmentTimes[], every = false): bigint[] {
  const edges = new Set<bigint>();
  const picked = every ? segments : segments.filter((_, s) => [0, 1, 11, 12, 13, 23, 24, 35].includes(s));
  for (const times of picked) {
    const present = times.filter((t): t is bigint => t !== null);
    for (const edge of [present[0]!, present.at(-1)!]) for (const d of [-1n, 0n, 1n]) edges.add(edge + d);
  }
  return [...edges].sort((a, b) => (a < b ? -1 : 1));
}

interface TypeCase {
  readonly label: string;
  readonly type: DataType;
  /** A SQL expression of the column's type for a value in the column's unit. */
  readonly sql: (value: bigint) => string;
  readonly start: bigint;
  readonly step: bigint;
  readonly gap: bigint;
}

const SECOND = { ms: 1_000n, us: 1_000_000n, ns: 1_000_000_000n };
const TYPE_CASES: TypeCase[] = [
  { label: 'timestamp[ms]', type: new Timestamp(TimeUnit.MILLISECOND), sql: (v) => `make_timestamp(${v * 1000n})`, start: 1_704_067_200n * SECOND.ms, step: 1n, gap: 1n },
  { label: 'timestamp[us]', type: new Timestamp(TimeUnit.MICROSECOND), sql: (v) => `make_timestamp(${v})`, start: -5n * SECOND.us, step: 1n, gap: 1n },
  { label: 'timestamp[ns]', type: new Timestamp(TimeUnit.NANOSECOND), sql: (v) => `make_timestamp_ns(${v})`, start: 1_704_067_200n * SECOND.ns, step: 1n, gap: 1n },
  {
    label: 'timestamp[us, tz=America/New_York]',
    type: new Timestamp(TimeUnit.MICROSECOND, 'America/New_York'),
    sql: (v) => `(TIMESTAMPTZ '1970-01-01 00:00:00+00' + to_microseconds(${v}))`,
    start: 1_704_067_200n * SECOND.us,
    step: 1n,
    gap: 1n,
  },
  {
    // Cut to microseconds in SQL: rows 1 µs apart, bounds at and around them.
    label: 'timestamp[ns, tz=UTC]',
    type: new Timestamp(TimeUnit.NANOSECOND, 'UTC'),
    sql: (v) => `(TIMESTAMPTZ '1970-01-01 00:00:00+00' + to_microseconds(${v / 1000n}))`,
    start: -3n * SECOND.ns,
    step: 1000n,
    gap: 1000n,
  },
  { label: 'date32', type: new DateDay(), sql: (v) => `(DATE '1970-01-01' + ${v}::INTEGER)`, start: -40n, step: 1n, gap: 1n },
];

describe('SQL time pruning', () => {
  let root: string;
  let connector: ObjectLayout;
  let engine: HangarEngine;

  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'hangar-sql-pruning-'));
    connector = new ObjectLayout(new LocalConnector({ root, fsync: false }));
    await connector.open();
    // Hot frames off: these tests prove which segment files a query opens (hot frames read none).
    engine = new HangarEngine(connector, codec, { sql: { hotBytes: 0 } });
  });
  afterAll(async () => {
    await engine.close();
    await rm(root, { recursive: true, force: true });
  });

  for (const c of TYPE_CASES) {
    it(`returns exactly the filtered rows of a ${c.label} column at every segment boundary`, async () => {
      const name = `f_${c.label.replace(/[^a-z0-9]/gi, '_')}`;
      const segments = sortedSegments(c.start, c.step, c.gap);
      const rows = await appendSegments(engine, { bucket: 'default', name }, c.type, segments);
      const where = (keep: (t: bigint) => boolean) => rows.filter(([, t]) => t !== null && keep(t)).map(([v]) => v);
      // In ns-tz columns SQL sees microseconds: compare on those.
      const seen = (t: bigint) => (c.label === 'timestamp[ns, tz=UTC]' ? t / 1000n : t);
      const edges = boundaries(segments);
      for (const edge of edges) {
        const at = seen(edge);
        const x = c.sql(edge);
        expect(await values(engine, `SELECT value FROM ${name} WHERE ts >= ${x} ORDER BY value`)).toEqual(where((t) => seen(t) >= at));
        expect(await values(engine, `SELECT value FROM ${name} WHERE ts < ${x} ORDER BY value`)).toEqual(where((t) => seen(t) < at));
        expect(await values(engine, `SELECT value FROM ${name} WHERE ts = ${x} ORDER BY value`)).toEqual(where((t) => seen(t) === at));
      }
      // Ranges from one boundary to another, inclusive and exclusive.
      for (let i = 0; i + 7 < edges.length; i += 5) {
        const [lo, hi] = [edges[i]!, edges[i + 7]!];
        expect(await values(engine, `SELECT value FROM ${name} WHERE ts > ${c.sql(lo)} AND ts <= ${c.sql(hi)} ORDER BY value`)).toEqual(
          where((t) => seen(t) > seen(lo) && seen(t) <= seen(hi)),
        );
        expect(await values(engine, `SELECT value FROM ${name} WHERE ts BETWEEN ${c.sql(lo)} AND ${c.sql(hi)} ORDER BY value`)).toEqual(
          where((t) => seen(t) >= seen(lo) && seen(t) <= seen(hi)),
        );
      }
      // Pruned, not just correct: garbage in segment 1 (not the first of its branch, whose file
      // DuckDB opens to bind the view) breaks only queries that read it.
      const ref = { bucket: 'default', name };
      const manifest = (await connector.getManifest(ref))!;
      await writeFile(connector.segmentFile(ref, manifest.segments[1]!.id)!, 'not a parquet file');
      const [lo, hi] = [segments[30]![0]!, segments[31]![4]!];
      expect(await values(engine, `SELECT value FROM ${name} WHERE ts >= ${c.sql(lo)} AND ts <= ${c.sql(hi)} ORDER BY value`)).toEqual(
        where((t) => seen(t) >= seen(lo) && seen(t) <= seen(hi)),
      );
      await expect(values(engine, `SELECT value FROM ${name}`)).rejects.toThrow();
    });
  }

  describe('on one frame of 36 segments', () => {
    const ref = { bucket: 'default', name: 'ticks' };
    const type = new Timestamp(TimeUnit.MICROSECOND);
    const us = (v: bigint) => `make_timestamp(${v})`;
    let rows: [number, bigint | null][];

    beforeAll(async () => {
      rows = await appendSegments(engine, ref, type, sortedSegments(1_000_000n, 10n, 100n));
    });
    const where = (keep: (t: bigint) => boolean) => rows.filter(([, t]) => t !== null && keep(t)).map(([v]) => v);

    it('keeps every row and its order for queries that name the time column and those that do not', async () => {
      const all = rows.map(([v]) => v);
      expect(await values(engine, 'SELECT value FROM ticks')).toEqual(all);
      expect(await values(engine, 'SELECT value, ts FROM ticks')).toEqual(all);
      expect(await values(engine, 'SELECT value FROM ticks WHERE ts IS NOT NULL')).toEqual(all);
    });

    it('answers OR filters, subqueries, self-joins and aggregates as the rows say', async () => {
      const [a, b] = [1_000_000n + 2_000n, 1_000_000n + 9_000n];
      expect(await values(engine, `SELECT value FROM ticks WHERE ts < ${us(a)} OR ts > ${us(b)} ORDER BY value`)).toEqual(where((t) => t < a || t > b));
      expect(await values(engine, `SELECT value FROM ticks WHERE ts < ${us(a)} OR value > 170 ORDER BY value`)).toEqual(
        rows.filter(([v, t]) => t! < a || v > 170).map(([v]) => v),
      );
      expect(await values(engine, `SELECT value FROM (SELECT * FROM ticks WHERE ts >= ${us(a)}) WHERE ts <= ${us(b)} ORDER BY value`)).toEqual(
        where((t) => t >= a && t <= b),
      );
      expect(await values(engine, `SELECT value FROM ticks WHERE ts IN (SELECT max(ts) FROM ticks WHERE ts < ${us(b)}) ORDER BY value`)).toEqual(
        where((t) => t === where((u) => u < b).map((v) => rows[v]![1]!).reduce((m, u) => (u > m ? u : m))),
      );
      const joined = await query(
        engine,
        `SELECT count(*)::INT AS n FROM ticks x JOIN ticks y ON y.ts = x.ts + INTERVAL 10 MICROSECONDS WHERE x.ts >= ${us(a)} AND y.ts < ${us(b)}`,
      );
      expect(joined.getChild('n')!.get(0)).toBe(rows.filter(([, t]) => t! >= a && t! + 10n < b && rows.some(([, u]) => u === t! + 10n)).length);
      const counted = await query(engine, `SELECT count(*)::INT AS n, sum(value)::INT AS s FROM ticks WHERE ts >= ${us(a)}`);
      expect([counted.getChild('n')!.get(0), counted.getChild('s')!.get(0)]).toEqual([where((t) => t >= a).length, where((t) => t >= a).reduce((s, v) => s + v, 0)]);
    });

    it('does not open the segments a time filter excludes', async () => {
      // Segment 1 is neither the first of its branch (whose file DuckDB opens to bind the view) nor
      // in the range below: garbage there breaks only the queries that read it.
      const manifest = (await connector.getManifest(ref))!;
      await writeFile(connector.segmentFile(ref, manifest.segments[1]!.id)!, 'not a parquet file');
      const [a, b] = [1_000_000n + 30n * 140n, 1_000_000n + 33n * 140n];
      expect(await values(engine, `SELECT value FROM ticks WHERE ts >= ${us(a)} AND ts < ${us(b)} ORDER BY value`)).toEqual(where((t) => t >= a && t < b));
      await expect(values(engine, 'SELECT value FROM ticks')).rejects.toThrow();
      await expect(values(engine, `SELECT value FROM ticks WHERE ts >= ${us(1_000_000n + 140n)}`)).rejects.toThrow();
    });
  });

  it('keeps rows with null times, which no bounded branch may hold', async () => {
    const type = new Timestamp(TimeUnit.MICROSECOND);
    // Some null times in the second of the three branches, only nulls in one segment of the first;
    // the third stays bounded.
    const segments = sortedSegments(0n, 1n, 1n).map((times, s) => (s === 14 || s === 17 ? times.map((t, r) => (r === 2 ? null : t)) : times));
    segments[8] = [null, null, null, null, null];
    const rows = await appendSegments(engine, { bucket: 'default', name: 'holes' }, type, segments);
    const where = (keep: (t: bigint | null) => boolean) => rows.filter(([, t]) => keep(t)).map(([v]) => v);
    expect(await values(engine, 'SELECT value FROM holes WHERE ts IS NULL ORDER BY value')).toEqual(where((t) => t === null));
    expect(await values(engine, 'SELECT value FROM holes WHERE ts IS NOT NULL OR ts IS NULL ORDER BY value')).toEqual(rows.map(([v]) => v));
    for (const edge of boundaries(segments.filter((times) => times.some((t) => t !== null)))) {
      expect(await values(engine, `SELECT value FROM holes WHERE ts >= make_timestamp(${edge}) ORDER BY value`)).toEqual(where((t) => t !== null && t >= edge));
      expect(await values(engine, `SELECT value FROM holes WHERE ts < make_timestamp(${edge}) OR ts IS NULL ORDER BY value`)).toEqual(
        where((t) => t === null || t < edge),
      );
    }
  });

  it('returns the rows of unsorted and overlapping segments', async () => {
    const type = new Timestamp(TimeUnit.MICROSECOND);
    // Pseudo-random segments: each 5 rows scattered over a window that overlaps its neighbours'.
    let seed = 7;
    const next = () => (seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31);
    const segments = Array.from({ length: 40 }, () => {
      const base = BigInt(next() % 1000);
      return Array.from({ length: 5 }, () => base + BigInt(next() % 60));
    });
    const rows = await appendSegments(engine, { bucket: 'default', name: 'scattered' }, type, segments);
    for (const edge of boundaries(segments, true).filter((_, i) => i % 4 === 0)) {
      const at = `make_timestamp(${edge})`;
      expect(await values(engine, `SELECT value FROM scattered WHERE ts > ${at} AND ts <= ${at} + INTERVAL 25 MICROSECONDS ORDER BY value`)).toEqual(
        rows.filter(([, t]) => t! > edge && t! <= edge + 25n).map(([v]) => v),
      );
    }
  });

  it('reads the segments of an older version for a time-filtered as_of query', async () => {
    const type = new Timestamp(TimeUnit.MICROSECOND);
    const ref = { bucket: 'default', name: 'grown' };
    const first = sortedSegments(0n, 1n, 1n);
    const rows = await appendSegments(engine, ref, type, first);
    await new Promise((resolve) => setTimeout(resolve, 5));
    const then = new Date();
    await new Promise((resolve) => setTimeout(resolve, 5));
    // Later appends overlap the old range: a filter on it must not see them as_of `then`.
    for (const times of sortedSegments(3n, 4n, 4n).slice(0, 10)) await engine.put(ref, 'append', messagesOf(segmentTable(type, times, 10_000)), { allowUnordered: true });
    const within = (lo: bigint, hi: bigint) => rows.filter(([, t]) => t! >= lo && t! < hi).map(([v]) => v);
    for (const [lo, hi] of [[0n, 10n], [20n, 77n], [100n, 179n], [150n, 400n]] as const) {
      const sql = `SELECT value FROM grown WHERE ts >= make_timestamp(${lo}) AND ts < make_timestamp(${hi}) ORDER BY value`;
      expect(await values(engine, sql, then)).toEqual(within(lo, hi));
      expect((await values(engine, sql)).length).toBeGreaterThan(within(lo, hi).length);
    }
    expect(await values(engine, 'SELECT value FROM grown', then)).toEqual(rows.map(([v]) => v));
    // The snapshot's views are time-pruned too: appends kept the old segments, and garbage in
    // segment 1 (not the first of its branch) breaks only the queries that read it.
    const manifest = (await connector.getManifest(ref))!;
    await writeFile(connector.segmentFile(ref, manifest.segments[1]!.id)!, 'not a parquet file');
    const [lo, hi] = [first[30]![0]!, first[31]![4]!];
    const sql = `SELECT value FROM grown WHERE ts BETWEEN make_timestamp(${lo}) AND make_timestamp(${hi}) ORDER BY value`;
    expect(await values(engine, sql, then)).toEqual(within(lo, hi + 1n));
    await expect(values(engine, 'SELECT value FROM grown', then)).rejects.toThrow();
  });
});
