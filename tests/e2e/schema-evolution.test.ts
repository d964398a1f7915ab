// Schema evolution on append (issue 22 item 4) through a real server and the TypeScript client:
// three successive schema changes (a column added; one omitted and another added, in another
// order; one more added), each read back by get, projections, range reads, limits, tails and SQL and
// compared with a row model; a changed type and a missing time column refused; compaction, update
// and delete_range of an evolved frame keep it exact.
import { Float64, Int32, Table, TimestampMicrosecond, Utf8, type Vector, vectorFromArray } from 'apache-arrow';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HangarClient, InvalidArgumentError } from '../../src/client/index.js';
import { HangarServer } from '../../src/server/hangar-server.js';
import { testStores } from './fixtures/stores.js';

const BASE_MS = Date.UTC(2024, 0, 1);
type Row = { t: number; px?: number | null; qty?: number | null; venue?: string | null; note?: string | null };
const COLUMNS = ['px', 'qty', 'venue', 'note'] as const;
const TYPES = { px: new Float64(), qty: new Int32(), venue: new Utf8(), note: new Utf8() };

/** A table of the rows with `ts` and the given columns, in that order. */
function tableOf(rows: readonly Row[], columns: readonly (keyof typeof TYPES | 'ts')[]): Table {
  const vectors: Record<string, Vector> = {};
  for (const column of columns) {
    vectors[column] =
      column === 'ts'
        ? vectorFromArray(rows.map((row) => BASE_MS + row.t * 1000), new TimestampMicrosecond('UTC'))
        : vectorFromArray(rows.map((row) => row[column] ?? null), TYPES[column]);
  }
  return new Table(vectors);
}

/** A table read back as rows (every column of the frame: absent ones as null). */
function rowsOf(table: Table, columns: readonly string[] = ['ts', ...COLUMNS]): Record<string, unknown>[] {
  return Array.from({ length: table.numRows }, (_, i) => {
    const row: Record<string, unknown> = {};
    for (const column of columns) {
      const value = table.getChild(column)!.get(i) as unknown;
      row[column] = column === 'ts' ? (Number(value) - BASE_MS) / 1000 : (value ?? null);
    }
    return row;
  });
}
const modelRows = (rows: readonly Row[], columns: readonly string[] = ['ts', ...COLUMNS]): Record<string, unknown>[] =>
  rows.map((row) => Object.fromEntries(columns.map((column) => [column, column === 'ts' ? row.t : ((row as Record<string, unknown>)[column] ?? null)])));

const range = (from: number, n: number, make: (t: number) => Omit<Row, 't'>): Row[] => Array.from({ length: n }, (_, i) => ({ t: from + i, ...make(from + i) }));

describe.each(testStores('hangar-evolve-'))('schema evolution over a %s', (_label, makeStore) => {
  let server: HangarServer;
  let client: HangarClient;
  let cleanup: () => Promise<void>;
  const o = { bucket: 'evolve' };
  const model: Row[] = [];

  beforeAll(async () => {
    const store = await makeStore();
    cleanup = store.cleanup;
    // Small segments: each append spans several, and reads cross runs of different schemas.
    server = await HangarServer.start({ port: 0, data: store.data, engine: { segmentBytes: 2048, compactThreshold: 0 } });
    client = HangarClient.connect(server.location);
  });
  afterAll(async () => {
    client.close();
    await server.close();
    await cleanup();
  });

  const checkAll = async (): Promise<void> => {
    expect(rowsOf(await client.get('f', o))).toEqual(modelRows(model));
    expect(rowsOf(await client.get('f', { ...o, columns: ['note', 'qty'] }), ['note', 'qty'])).toEqual(modelRows(model, ['note', 'qty']));
    const iso = (t: number): string => new Date(BASE_MS + t * 1000).toISOString();
    const window = model.filter((row) => row.t >= 90 && row.t < 260);
    expect(rowsOf(await client.get('f', { ...o, start: iso(90), end: iso(260) }))).toEqual(modelRows(window));
    expect(rowsOf(await client.get('f', { ...o, start: iso(90), end: iso(260), limit: 75, columns: ['venue'] }), ['venue'])).toEqual(modelRows(window.slice(0, 75), ['venue']));
    expect(rowsOf(await client.get('f', { ...o, tail: 130 }))).toEqual(modelRows(model.slice(-130)));
    const sql = await client.query('SELECT count(px) AS px, count(qty) AS qty, count(venue) AS venue, count(note) AS note, sum(qty) AS total, count(*) AS n FROM f', o);
    const count = (column: keyof Row): number => model.filter((row) => row[column] !== undefined && row[column] !== null).length;
    expect(Number(sql.getChild('n')!.get(0))).toBe(model.length);
    for (const column of COLUMNS) expect(Number(sql.getChild(column)!.get(0)), column).toBe(count(column));
    expect(Number(sql.getChild('total')!.get(0))).toBe(model.reduce((sum, row) => sum + (row.qty ?? 0), 0));
    const ordered = await client.query('SELECT * FROM f ORDER BY ts', o);
    expect(ordered.schema.fields.map((field) => field.name)).toEqual(['ts', ...COLUMNS.filter((c) => (model.some((row) => c in row)))]);
  };

  it('three successive schema changes read back by get, range reads, tails and SQL', async () => {
    const first = range(0, 100, (t) => ({ px: t / 2 }));
    await client.put('f', tableOf(first, ['ts', 'px']), o);
    model.push(...first);
    // 1: a column added (earlier rows read as null).
    const second = range(100, 100, (t) => ({ px: t / 2, qty: t }));
    await expect(client.put('f', tableOf(second, ['ts', 'px', 'qty']), { ...o, mode: 'append' })).rejects.toThrow(/unexpected column 'qty'/);
    await client.put('f', tableOf(second, ['ts', 'px', 'qty']), { ...o, mode: 'append', schema: 'evolve' });
    model.push(...second);
    // 2: px omitted (stored as null), venue added, columns in another order.
    const third = range(200, 100, (t) => ({ qty: t, venue: `v${t % 3}` }));
    await client.put('f', tableOf(third, ['venue', 'ts', 'qty']), { ...o, mode: 'append', schema: 'evolve' });
    model.push(...third);
    // 3: note added, every other column sent.
    const fourth = range(300, 60, (t) => ({ px: t / 2, qty: t, venue: 'x', note: `n${t}` }));
    await client.put('f', tableOf(fourth, ['ts', 'px', 'qty', 'venue', 'note']), { ...o, mode: 'append', schema: 'evolve' });
    model.push(...fourth);
    const stat = await client.stat('f', o);
    expect(stat.schema.map((field) => field.name)).toEqual(['ts', ...COLUMNS]);
    expect(stat.rows).toBe(360);
    await checkAll();
    // Past versions keep their own schema.
    expect((await client.get('f', { ...o, version: 2 })).schema.fields.map((field) => field.name)).toEqual(['ts', 'px', 'qty']);
  });

  it('a cached client reads the evolved frame whole once its schema changed', async () => {
    const cacheDir = await mkdtemp(join(tmpdir(), 'hangar-evolve-cache-'));
    const cached = new HangarClient({ location: server.location, cache: { dir: cacheDir } });
    try {
      const rows = range(1000, 20, (t) => ({ px: t }));
      await client.put('c', tableOf(rows, ['ts', 'px']), o);
      expect(rowsOf(await cached.get('c', o), ['ts', 'px'])).toEqual(modelRows(rows, ['ts', 'px']));
      const more = range(1020, 5, (t) => ({ px: t, qty: t }));
      await client.put('c', tableOf(more, ['ts', 'px', 'qty']), { ...o, mode: 'append', schema: 'evolve' });
      expect(rowsOf(await cached.get('c', o), ['ts', 'px', 'qty'])).toEqual(modelRows([...rows, ...more], ['ts', 'px', 'qty']));
      const again = range(1025, 3, (t) => ({ px: t, qty: -t }));
      await client.put('c', tableOf(again, ['ts', 'px', 'qty']), { ...o, mode: 'append' });
      expect(rowsOf(await cached.get('c', o), ['ts', 'px', 'qty'])).toEqual(modelRows([...rows, ...more, ...again], ['ts', 'px', 'qty']));
    } finally {
      cached.close();
      await rm(cacheDir, { recursive: true, force: true });
    }
  });

  it('refuses a changed type and a missing time column, naming them; without "evolve" the strict rule stays', async () => {
    const rows = range(400, 5, (t) => ({ qty: t }));
    const wrong = new Table({ ts: tableOf(rows, ['ts']).getChild('ts')!, px: vectorFromArray(rows.map((row) => row.t), new Int32()) });
    const failure = client.put('f', wrong, { ...o, mode: 'append', schema: 'evolve' });
    await expect(failure).rejects.toBeInstanceOf(InvalidArgumentError);
    await expect(failure).rejects.toThrow(/column 'px' is Int32, stored as Float64/);
    await expect(client.put('f', tableOf(rows, ['qty']), { ...o, mode: 'append', schema: 'evolve' })).rejects.toThrow(/the time column 'ts' is missing/);
    await expect(client.put('f', tableOf(rows, ['ts', 'qty']), { ...o, mode: 'append' })).rejects.toThrow(/missing column 'px'/);
    await expect(client.put('g', tableOf(rows, ['ts', 'qty']), { ...o, mode: 'replace', schema: 'evolve' })).rejects.toThrow(/belongs to mode "append"/);
    expect((await client.stat('f', o)).rows).toBe(360);
  });

  it('compaction, update and delete_range of an evolved frame keep every row', async () => {
    await client.compact('f', o);
    await checkAll();
    const iso = (t: number): string => new Date(BASE_MS + t * 1000).toISOString();
    await client.deleteRange('f', iso(150), iso(210), o);
    model.splice(0, model.length, ...model.filter((row) => row.t < 150 || row.t >= 210));
    await checkAll();
    const fixed = range(50, 20, (t) => ({ px: -t, qty: -t, venue: 'fix', note: null }));
    await client.put('f', tableOf(fixed, ['ts', 'px', 'qty', 'venue', 'note']), { ...o, mode: 'update' });
    model.splice(0, model.length, ...model.filter((row) => row.t < 50 || row.t >= 70), ...fixed);
    model.sort((a, b) => a.t - b.t);
    await checkAll();
  });
});
