// Issue 22's dataframe semantics through a real server and the TypeScript client, each result
// compared with the same operation done on plain arrays: no silently ignored fields, tail reads,
// metadata-only commits, ordered appends, delete_range and update.
import { Dictionary, Float64, Int32, type RecordBatch, Table, TimestampMicrosecond, Utf8, vectorFromArray } from 'apache-arrow';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConflictError, FailedPreconditionError, HangarClient, InvalidArgumentError, NotFoundError, commandDescriptor } from '../../src/client/index.js';
import { MemoryConnector } from '../../src/connectors/memory/memory-connector.js';
import type { FrameRef } from '../../src/names.js';
import { HangarServer } from '../../src/server/hangar-server.js';
import { ObjectLayout } from '../../src/storage/object-layout.js';
import { testStores } from './fixtures/stores.js';

const utf8 = new TextDecoder();
const BASE = 1_700_000_000_000_000n; // µs since the epoch: 2023-11-14T22:13:20Z

/** One row of a test series: its time in seconds after BASE, an id and a price. */
interface Row {
  readonly t: number;
  readonly id: number;
  readonly px: number;
}

/** Rows with times `from`, `from + step`, … (n of them); ids from `firstId`. */
function series(from: number, n: number, firstId = from, step = 1): Row[] {
  return Array.from({ length: n }, (_, i) => ({ t: from + i * step, id: firstId + i, px: (firstId + i) * 0.5 }));
}

/** The rows as an Arrow table: ts (µs, UTC), id, px. */
function tableOf(rows: readonly Row[]): Table {
  return new Table({
    ts: vectorFromArray(
      rows.map((row) => Number((BASE + BigInt(row.t) * 1_000_000n) / 1000n)),
      new TimestampMicrosecond('UTC'),
    ),
    id: vectorFromArray(rows.map((row) => row.id), new Int32()),
    px: vectorFromArray(rows.map((row) => row.px), new Float64()),
  });
}

/** A table read back as rows. */
function rowsOf(table: Table): Row[] {
  const ts = table.getChild('ts')!;
  const id = table.getChild('id')!;
  const px = table.getChild('px')!;
  return Array.from({ length: table.numRows }, (_, i) => ({ t: Number((BigInt(ts.get(i) as number) * 1000n - BASE) / 1_000_000n), id: id.get(i) as number, px: px.get(i) as number }));
}

/** ISO-8601 of a time `t` seconds after BASE. */
const iso = (t: number): string => new Date(Number((BASE + BigInt(t) * 1_000_000n) / 1000n)).toISOString();

/** Sends a table in batches of 250 rows, so small segments hold several batches each. */
async function* pieces(table: Table): AsyncGenerator<RecordBatch> {
  for (let at = 0; at < table.numRows; at += 250) yield* table.slice(at, at + 250).batches;
}

describe.each(testStores('hangar-semantics-'))('dataframe semantics over a %s', (_label, makeStore) => {
  let server: HangarServer;
  let client: HangarClient;
  let cleanup: () => Promise<void>;

  beforeAll(async () => {
    const store = await makeStore();
    cleanup = store.cleanup;
    // Small segments, so a frame of a few thousand rows spans many segments.
    server = await HangarServer.start({ port: 0, data: store.data, engine: { segmentBytes: 16 * 1024, compactThreshold: 0 } });
    client = HangarClient.connect(server.location);
  });
  afterAll(async () => {
    client.close();
    await server.close();
    await cleanup();
  });

  describe('unknown fields', () => {
    const numbers = new Table({ x: vectorFromArray([1, 2, 3], new Int32()) });
    const o = { bucket: 'typos' };

    it('refuses an unknown ticket field, naming it and the known ones', async () => {
      await client.put('f', numbers, o);
      const ticket = JSON.stringify({ name: 'f', bucket: 'typos', colums: ['x'] });
      const error = await client.flight.doGet(ticket).readAll().catch((e: unknown) => e);
      expect(error).toBeInstanceOf(InvalidArgumentError);
      expect((error as Error).message).toMatch(/unknown field "colums" in the ticket; the fields it takes are: name, bucket, columns,/);
      const sql = JSON.stringify({ sql: 'SELECT 1', bucket: 'typos', as_fo: 1 });
      await expect(client.flight.doGet(sql).readAll()).rejects.toThrow(/unknown field "as_fo" in the query command/);
    });

    it('refuses unknown descriptor, criteria and action fields; accepts shoots\' batch_size', async () => {
      const put = JSON.stringify({ name: 'g', bucket: 'typos', mode: 'error', batch_size: 5000 });
      await client.flight.doPut(commandDescriptor(put), numbers);
      expect((await client.stat('g', o)).rows).toBe(3);
      const typo = JSON.stringify({ name: 'h', bucket: 'typos', mod: 'append' });
      await expect(client.flight.doPut(commandDescriptor(typo), numbers)).rejects.toThrow(/unknown field "mod" in the DoPut descriptor; the fields it takes are: name, bucket, mode/);
      await expect(client.stat('h', o)).rejects.toThrow(/does not exist/);
      const info = JSON.stringify({ name: 'g', bucket: 'typos', verison: 1 });
      await expect(client.flight.getFlightInfo(commandDescriptor(info))).rejects.toThrow(/unknown field "verison" in the descriptor command/);
      const criteria = JSON.stringify({ bucket: 'typos', regx: '^g' });
      await expect(client.flight.listFlights(criteria).toArray()).rejects.toThrow(/unknown field "regx" in the ListFlights criteria; the fields it takes are: bucket, regex, metadata/);
      const action = JSON.stringify({ name: 'g', bucket: 'typos', dry_run: true });
      await expect(client.flight.doAction('delete', action).toArray()).rejects.toThrow(
        /unknown field "dry_run" in the body of action 'delete'; the fields it takes are: name, bucket/,
      );
      expect((await client.stat('g', o)).rows).toBe(3);
      expect(utf8.decode((await client.flight.doAction('buckets', '{}').toArray())[0])).toContain('typos');
    });
  });
  describe('tail reads', () => {
    const o = { bucket: 'tails' };
    const rows = series(0, 5_000);

    beforeAll(async () => {
      await client.put('f', pieces(tableOf(rows)), o);
    });

    it('returns the last N rows, as slicing the array does', async () => {
      for (const n of [0, 1, 7, 250, 999, 4_999, 5_000, 9_000]) {
        expect(rowsOf(await client.get('f', { ...o, tail: n }))).toEqual(rows.slice(Math.max(0, rows.length - n)));
      }
      const projected = await client.get('f', { ...o, tail: 3, columns: ['px'] });
      expect(projected.schema.fields.map((f) => f.name)).toEqual(['px']);
      expect([...projected.getChild('px')!]).toEqual(rows.slice(-3).map((r) => r.px));
    });

    it('reads a past version\'s tail, and refuses tail with start, end or limit', async () => {
      await client.put('f', pieces(tableOf(series(5_000, 10))), { ...o, mode: 'append' });
      expect(rowsOf(await client.get('f', { ...o, tail: 12 }))).toEqual([...rows, ...series(5_000, 10)].slice(-12));
      const v1 = (await client.versions('f', o))[0]!.version;
      expect(rowsOf(await client.get('f', { ...o, tail: 12, version: v1 }))).toEqual(rows.slice(-12));
      await expect(client.get('f', { ...o, tail: 5, limit: 2 })).rejects.toThrow(/"tail" .* cannot be combined with "start", "end", "limit"/);
      await expect(client.get('f', { ...o, tail: -1 })).rejects.toThrow(/"tail" must be a non-negative integer/);
    });
  });

  describe('ordered appends', () => {
    const o = { bucket: 'ordered' };

    it('refuses an append that starts before the stored maximum, naming both times', async () => {
      const first = series(0, 1_000);
      await client.put('f', pieces(tableOf(first)), o);
      const error = await client.put('f', tableOf(series(999 - 10, 5, 10_000)), { ...o, mode: 'append' }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(FailedPreconditionError);
      expect((error as Error).message).toContain(`starts at ${iso(989).replace('.000Z', '.000000Z')}`);
      expect((error as Error).message).toContain(`before the frame's last time ${iso(999).replace('.000Z', '.000000Z')}`);
      expect((error as Error).message).toMatch(/"allow_unordered": true/);
      expect(rowsOf(await client.get('f', o))).toEqual(first);
      // Starting at the stored maximum itself is in order.
      const next = series(999, 3, 20_000);
      await client.put('f', tableOf(next), { ...o, mode: 'append' });
      expect(rowsOf(await client.get('f', o))).toEqual([...first, ...next]);
    });

    it('stores it with allow_unordered, and range reads stay correct', async () => {
      const late = series(100, 50, 30_000, 2);
      await client.put('f', tableOf(late), { ...o, mode: 'append', allowUnordered: true });
      const all = rowsOf(await client.get('f', o));
      expect(all.slice(-50)).toEqual(late);
      const expected = all.filter((row) => row.t >= 150 && row.t < 180);
      expect(rowsOf(await client.get('f', { ...o, start: iso(150), end: iso(180) }))).toEqual(expected);
      expect(expected.length).toBe(30 + 15);
    });
  });

  describe('delete_range', () => {
    const o = { bucket: 'ranges' };
    const rows = series(0, 5_000);

    it('removes [start, end) as a new version, as filtering the array does', async () => {
      await client.put('f', pieces(tableOf(rows)), o);
      const result = await client.deleteRange('f', iso(1_000), iso(1_500), o);
      const expected = rows.filter((row) => row.t < 1_000 || row.t >= 1_500);
      expect(result).toMatchObject({ rows: expected.length, rowsRemoved: 500 });
      expect(result.segmentsRewritten).toBeGreaterThan(0);
      expect(rowsOf(await client.get('f', o))).toEqual(expected);
      expect(rowsOf(await client.get('f', { ...o, version: result.version - 1 }))).toEqual(rows);
      expect((await client.versions('f', o)).at(-1)!.operation).toBe('delete_range');
      // Range reads across the cut stay exact.
      expect(rowsOf(await client.get('f', { ...o, start: iso(900), end: iso(1_600) }))).toEqual(expected.filter((r) => r.t >= 900 && r.t < 1_600));
    });

    it('keeps dictionary and string columns of the rewritten segments', async () => {
      const n = 3_000;
      const labelled = new Table({
        ts: vectorFromArray(Array.from({ length: n }, (_, i) => Number((BASE + BigInt(i) * 1_000_000n) / 1000n)), new TimestampMicrosecond('UTC')),
        colour: vectorFromArray(Array.from({ length: n }, (_, i) => (i % 11 === 0 ? null : ['red', 'green', 'blue'][i % 3]!)), new Dictionary(new Utf8(), new Int32())),
        label: vectorFromArray(Array.from({ length: n }, (_, i) => (i % 7 === 0 ? null : `label-${i}`)), new Utf8()),
      });
      await client.put('labels', pieces(labelled), o);
      await client.deleteRange('labels', iso(100), iso(2_900), o);
      const read = await client.get('labels', o);
      const kept = Array.from({ length: n }, (_, i) => i).filter((i) => i < 100 || i >= 2_900);
      expect([...read.getChild('colour')!]).toEqual(kept.map((i) => labelled.getChild('colour')!.get(i)));
      expect([...read.getChild('label')!]).toEqual(kept.map((i) => labelled.getChild('label')!.get(i)));
    });

    it('rewrites only the overlapping segments, and makes no version when nothing matches', async () => {
      const before = await client.versions('f', o);
      const segments = before.at(-1)!.segments;
      const result = await client.deleteRange('f', iso(4_990), iso(9_000), o);
      expect(result.segmentsRewritten).toBe(1);
      expect(result.rowsRemoved).toBe(10);
      expect((await client.versions('f', o)).at(-1)!.segments).toBe(segments);
      const none = await client.deleteRange('f', iso(20_000), iso(30_000), o);
      expect(none).toMatchObject({ version: result.version, rowsRemoved: 0, segmentsRewritten: 0 });
      await expect(client.deleteRange('nope', iso(0), iso(1), o)).rejects.toBeInstanceOf(NotFoundError);
      await client.put('plain', new Table({ x: vectorFromArray([1], new Int32()) }), o);
      await expect(client.deleteRange('plain', iso(0), iso(1), o)).rejects.toThrow(/has no time column/);
    });
  });

  describe('mode update', () => {
    const o = { bucket: 'updates' };
    const rows = series(0, 5_000);
    /** The array model: rows in [lo, hi) replaced by `incoming`, placed where the first removed row was. */
    const model = (stored: Row[], incoming: Row[], lo: number, hi: number): Row[] => {
      const at = stored.findIndex((row) => row.t >= lo && row.t < hi);
      const kept = stored.filter((row) => row.t < lo || row.t >= hi);
      const cut = at < 0 ? kept.findIndex((row) => row.t >= hi) : stored.slice(0, at).filter((row) => row.t < lo || row.t >= hi).length;
      const where = cut < 0 ? kept.length : cut;
      return [...kept.slice(0, where), ...incoming, ...kept.slice(where)];
    };

    it('replaces the rows in the incoming data\'s time range, rewriting only overlapping segments', async () => {
      await client.put('f', pieces(tableOf(rows)), o);
      const segments = (await client.versions('f', o)).at(-1)!.segments;
      // Re-publish [2000, 2100) with new prices and every other second only.
      const incoming = series(2_000, 50, 90_000, 2);
      const summary = await client.put('f', tableOf(incoming), { ...o, mode: 'update' });
      const expected = model(rows, incoming, 2_000, 2_099);
      expect(summary).toMatchObject({ rowsWritten: 50, rows: expected.length, rowsRemoved: 99 });
      expect(summary.segmentsRewritten).toBeGreaterThan(0);
      expect(summary.segmentsRewritten).toBeLessThan(segments / 2);
      expect(rowsOf(await client.get('f', o))).toEqual(expected);
      expect(rowsOf(await client.get('f', { ...o, version: summary.version - 1 }))).toEqual(rows);
      expect((await client.versions('f', o)).at(-1)!.operation).toBe('update');
    });

    it('takes an explicit range, backfills a gap, and refuses rows outside the range', async () => {
      const stored = rowsOf(await client.get('f', o));
      const incoming = series(3_000, 5, 95_000);
      const summary = await client.put('f', tableOf(incoming), { ...o, mode: 'update', range: [iso(2_990), iso(3_100)] });
      const expected = model(stored, incoming, 2_990, 3_100);
      expect(summary.rowsRemoved).toBe(110);
      expect(rowsOf(await client.get('f', o))).toEqual(expected);
      // Backfill after a delete_range: no stored row overlaps, the rows go where the gap is.
      await client.deleteRange('f', iso(4_000), iso(4_010), o);
      const gap = rowsOf(await client.get('f', o));
      const fill = series(4_000, 10, 99_000);
      const filled = await client.put('f', tableOf(fill), { ...o, mode: 'update' });
      expect(filled).toMatchObject({ rowsRemoved: 0, segmentsRewritten: 0 });
      expect(rowsOf(await client.get('f', o))).toEqual(model(gap, fill, 4_000, 4_010));
      await expect(client.put('f', tableOf(series(10, 5)), { ...o, mode: 'update', range: [iso(0), iso(12)] })).rejects.toThrow(/rows outside its "range"/);
      await expect(client.put('f', tableOf(series(10, 5)), { ...o, mode: 'append', range: [iso(0), iso(12)] })).rejects.toThrow(/"range" belongs to mode "update"/);
    });
  });

  describe('set_metadata', () => {
    const o = { bucket: 'meta' };

    it('commits new metadata as a version without touching the rows', async () => {
      const rows = series(0, 100);
      const put = await client.put('f', tableOf(rows), { ...o, metadata: { unit: 'm' } });
      const version = await client.setMetadata('f', { unit: 'ft', source: 'gauge' }, o);
      expect(version).toBe(put.version + 1);
      const stat = await client.stat('f', o);
      expect(stat.metadata).toEqual({ unit: 'ft', source: 'gauge' });
      expect(stat.rows).toBe(100);
      expect(rowsOf(await client.get('f', o))).toEqual(rows);
      expect((await client.stat('f', { ...o, version: put.version })).metadata).toEqual({ unit: 'm' });
      const versions = await client.versions('f', o);
      expect(versions.at(-1)!.operation).toBe('set_metadata');
      expect(versions.at(-1)!.segments).toBe(versions.at(-2)!.segments);
    });

    it('honours expected_version and refuses a missing frame or metadata', async () => {
      const current = (await client.stat('f', o)).version;
      await expect(client.setMetadata('f', { a: 1 }, { ...o, expectedVersion: current - 1 })).rejects.toBeInstanceOf(ConflictError);
      expect(await client.setMetadata('f', {}, { ...o, expectedVersion: current })).toBe(current + 1);
      expect((await client.stat('f', o)).metadata).toEqual({});
      await expect(client.setMetadata('nope', { a: 1 }, o)).rejects.toBeInstanceOf(NotFoundError);
      await expect(client.flight.doAction('set_metadata', JSON.stringify({ name: 'f', bucket: 'meta' })).toArray()).rejects.toThrow(/needs "metadata"/);
    });
  });
});

/** A memory store that records which segments are fetched. */
class CountingLayout extends ObjectLayout {
  fetched: string[] = [];
  constructor() {
    super(new MemoryConnector());
  }

  override async getSegment(ref: FrameRef, id: string): Promise<Uint8Array> {
    if (id.endsWith('.parquet')) this.fetched.push(id);
    return super.getSegment(ref, id);
  }
}

describe('which segments the operations read', () => {
  let layout: CountingLayout;
  let server: HangarServer;
  let client: HangarClient;

  beforeAll(async () => {
    layout = new CountingLayout();
    server = await HangarServer.start({ port: 0, connector: layout, engine: { segmentBytes: 16 * 1024, compactThreshold: 0, readCacheBytes: 0 } });
    client = HangarClient.connect(server.location);
    await client.put('f', pieces(tableOf(series(0, 5_000))));
  });
  afterAll(async () => {
    client.close();
    await server.close();
  });

  it('a tail read fetches only the last segments', async () => {
    const manifest = (await layout.getManifest({ bucket: 'default', name: 'f' }))!;
    expect(manifest.segments.length).toBeGreaterThan(4);
    layout.fetched = [];
    const last = manifest.segments.at(-1)!;
    expect((await client.get('f', { tail: last.rows })).numRows).toBe(last.rows);
    expect(layout.fetched).toEqual([last.id]);
    layout.fetched = [];
    await client.get('f', { tail: last.rows + 1 });
    expect(layout.fetched).toEqual(manifest.segments.slice(-2).map((s) => s.id));
  });

  it('delete_range fetches only the segments its range overlaps', async () => {
    const manifest = (await layout.getManifest({ bucket: 'default', name: 'f' }))!;
    const third = manifest.segments[2]!;
    const t = (raw: string): number => Number((BigInt(raw) - BASE) / 1_000_000n);
    layout.fetched = [];
    const result = await client.deleteRange('f', iso(t(third.timeRange!.min) + 1), iso(t(third.timeRange!.max)));
    expect(layout.fetched).toEqual([third.id]);
    expect(result).toMatchObject({ segmentsRewritten: 1, rowsRemoved: third.rows - 2 });
  });

  it('an update fetches only the segments its range overlaps', async () => {
    const manifest = (await layout.getManifest({ bucket: 'default', name: 'f' }))!;
    const fifth = manifest.segments[4]!;
    const t = (raw: string): number => Number((BigInt(raw) - BASE) / 1_000_000n);
    layout.fetched = [];
    const summary = await client.put('f', tableOf(series(t(fifth.timeRange!.min) + 1, 3, 70_000)), { mode: 'update' });
    expect(layout.fetched).toEqual([fifth.id]);
    expect(summary).toMatchObject({ segmentsRewritten: 1, rowsRemoved: 3, rowsWritten: 3 });
  });
});
