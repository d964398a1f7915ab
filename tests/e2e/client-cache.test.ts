// The TypeScript client's pull-on-demand cache (`new HangarClient({ cache: { dir } })`) against a
// real server: unchanged reads make one stat call and fetch nothing; appended rows are all a synced
// read fetches; replace, compaction, restore, delete and a new history after purge are noticed;
// range, column and limit reads are answered from disk as the server answers them; offline mode;
// the size bound and clear(); processes sharing one cache directory.
import { spawn } from 'node:child_process';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Int64, Table, TimestampMillisecond, Utf8, vectorFromArray } from 'apache-arrow';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { CacheMissError, HangarClient, InvalidArgumentError, NotFoundError } from '../../src/client/index.js';
import { HangarServer } from '../../src/server/hangar-server.js';

const BASE = Date.UTC(2024, 0, 1);
const frame = (from: number, n: number) => {
  const ids = Array.from({ length: n }, (_, i) => from + i);
  return new Table({
    ts: vectorFromArray(ids.map((i) => BASE + i * 60_000), new TimestampMillisecond()),
    x: vectorFromArray(ids.map(BigInt), new Int64()),
    s: vectorFromArray(ids.map((i) => `r${i}`), new Utf8()),
  });
};
const xs = (table: Table) => [...table.getChild('x')!].map(Number);
const rowsOf = (table: Table) => table.toArray().map((row) => JSON.stringify(row, (_key, value: unknown) => (typeof value === "bigint" ? String(value) : value)));

describe('the client cache', () => {
  let server: HangarServer;
  let dataDir: string;
  let cacheRoot: string;
  let plain: HangarClient;
  let cached: HangarClient;
  let counter = 0;
  let name: string;
  /** DoGet tickets the cached client sent, and the rows they returned. */
  let tickets: Record<string, unknown>[];
  let rowsReceived: number;
  let stats: number;

  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'hangar-client-cache-'));
    cacheRoot = await mkdtemp(join(tmpdir(), 'hangar-client-cache-dir-'));
    server = await HangarServer.start({ port: 0, data: join(dataDir, 'store'), engine: { compactThreshold: 0 } });
    plain = HangarClient.connect(server.location);
  });
  afterAll(async () => {
    plain.close();
    await server.close();
    await rm(dataDir, { recursive: true, force: true });
    await rm(cacheRoot, { recursive: true, force: true });
  });
  beforeEach(() => {
    name = `f${counter++}`;
    cached?.close();
    cached = new HangarClient({ location: server.location, cache: { dir: join(cacheRoot, name) } });
    const doGet = cached.flight.doGet.bind(cached.flight);
    const doAction = cached.flight.doAction.bind(cached.flight);
    tickets = [];
    rowsReceived = 0;
    stats = 0;
    cached.flight.doGet = (ticket, options) => {
      tickets.push(JSON.parse(String(ticket)) as Record<string, unknown>);
      const stream = doGet(ticket, options);
      const readAll = stream.readAll.bind(stream);
      stream.readAll = async () => {
        const table = await readAll();
        rowsReceived += table.numRows;
        return table;
      };
      return stream;
    };
    cached.flight.doAction = (type, body, options) => {
      if (type === 'stat') stats++;
      return doAction(type, body, options);
    };
  });
  const resetCounts = () => {
    tickets = [];
    rowsReceived = 0;
    stats = 0;
  };

  it('answers unchanged reads with one stat call and no data', async () => {
    await plain.put(name, frame(0, 1000));
    expect(rowsOf(await cached.get(name))).toEqual(rowsOf(await plain.get(name)));
    resetCounts();
    for (let i = 0; i < 3; i++) expect((await cached.get(name)).numRows).toBe(1000);
    expect(stats).toBe(3);
    expect(tickets).toEqual([]);
  });

  it('fetches only the rows appended since the version it holds', async () => {
    await plain.put(name, frame(0, 20_000));
    await cached.get(name);
    for (const start of [20_000, 20_100]) {
      await plain.put(name, frame(start, 100), { mode: 'append' });
      resetCounts();
      const table = await cached.get(name);
      expect(xs(table)).toEqual(Array.from({ length: start + 100 }, (_, i) => i));
      expect(stats).toBe(1);
      expect(tickets).toHaveLength(1);
      expect(tickets[0]).toMatchObject({ since_version: start === 20_000 ? 1 : 2 });
      expect(rowsReceived).toBe(100);
    }
    const entry = await cached.cache!.entry('default', name);
    expect([entry!.version, entry!.rows, entry!.chunks.length]).toEqual([3, 20_200, 3]);
  });

  it('notices replace, compaction, restore and delete', async () => {
    await plain.put(name, frame(0, 50));
    await cached.get(name);
    await plain.put(name, frame(100, 30), { mode: 'replace' });
    resetCounts();
    expect(xs(await cached.get(name))).toEqual(xs(frame(100, 30)));
    expect(rowsReceived).toBe(30); // refused incremental read, then whole
    await plain.put(name, frame(200, 5), { mode: 'append' });
    await plain.put(name, frame(300, 5), { mode: 'append' });
    await cached.get(name);
    expect((await plain.compact(name)).compacted).toBe(true);
    expect(rowsOf(await cached.get(name))).toEqual(rowsOf(await plain.get(name)));
    await plain.restore(name, 1);
    expect(xs(await cached.get(name))).toEqual(xs(frame(0, 50)));
    await plain.delete(name);
    await expect(cached.get(name)).rejects.toBeInstanceOf(NotFoundError);
    expect(await cached.cache!.entry('default', name)).toBeUndefined();
  });

  it('still fetches only the new rows after a compaction merged held rows with new ones', async () => {
    await plain.put(name, frame(0, 50));
    await plain.put(name, frame(50, 5), { mode: 'append' });
    await cached.get(name);
    await plain.put(name, frame(55, 5), { mode: 'append' });
    expect((await plain.compact(name)).segmentsAfter).toBe(1);
    await plain.put(name, frame(60, 7), { mode: 'append' });
    resetCounts();
    expect(rowsOf(await cached.get(name))).toEqual(rowsOf(await plain.get(name)));
    expect([stats, tickets.length, rowsReceived]).toEqual([1, 1, 12]);
  });

  it('tells a new history after purge from the cached one', async () => {
    await plain.put(name, frame(0, 10));
    await plain.put(name, frame(10, 2), { mode: 'append' });
    await cached.get(name);
    await plain.purge(name);
    await plain.put(name, frame(500, 10));
    await plain.put(name, frame(600, 3), { mode: 'append' }); // version 2 again
    expect(xs(await cached.get(name))).toEqual(xs(await plain.get(name)));
  });

  it('serves range, column and limit reads from disk as the server serves them', async () => {
    await plain.put(name, frame(0, 60));
    await cached.get(name);
    const selections = [
      { start: '2024-01-01T00:10', end: '2024-01-01T00:20' },
      { start: '2024-01-01 00:10:30', columns: ['s', 'x'] },
      { end: 1704067500, limit: 3 },
      { start: '2024-01-01T01:10+01:00', end: new Date(BASE + 13 * 60_000) },
      { limit: 0 },
      { columns: ['x'], limit: 7 },
    ];
    resetCounts();
    for (const selection of selections) {
      const local = await cached.get(name, selection);
      const remote = await plain.get(name, selection);
      expect(local.schema.fields.map((f) => f.name)).toEqual(remote.schema.fields.map((f) => f.name));
      expect(rowsOf(local)).toEqual(rowsOf(remote));
    }
    expect(tickets).toEqual([]);
    await plain.put(`${name}-plain`, new Table({ x: vectorFromArray([1n], new Int64()) }));
    await expect(cached.get(`${name}-plain`, { start: '2024-01-01' })).rejects.toThrow(InvalidArgumentError);
    await expect(cached.get(name, { columns: ['nope'] })).rejects.toThrow(/unknown column/);
  });

  it('reads a pinned older version without giving up the newer entry', async () => {
    await plain.put(name, frame(0, 5));
    await plain.put(name, frame(5, 5), { mode: 'append' });
    expect((await cached.get(name, { version: 1 })).numRows).toBe(5);
    expect((await cached.get(name)).numRows).toBe(10);
    expect((await cached.get(name, { version: 1 })).numRows).toBe(5);
    expect((await cached.cache!.entry('default', name))!.version).toBe(2);
  });

  it('serves the cache offline and says what it lacks', async () => {
    await plain.put(name, frame(0, 8));
    await cached.get(name);
    const offline = new HangarClient({ location: 'grpc://127.0.0.1:1', cache: { dir: join(cacheRoot, name), offline: true } });
    expect(xs(await offline.get(name, { columns: ['x'], limit: 2 }))).toEqual([0, 1]);
    await expect(offline.get('absent')).rejects.toThrow(CacheMissError);
    await expect(offline.get(name, { version: 7 })).rejects.toThrow(/not version 7/);
    await expect(offline.get('../../etc')).rejects.toThrow(InvalidArgumentError); // names become paths: checked

    offline.close();
  });

  it('keeps within its size bound by evicting the least recently read, and clears', async () => {
    const names = [`${name}a`, `${name}b`, `${name}c`];
    for (const n of names) await plain.put(n, frame(0, 2000));
    await cached.get(names[0]!);
    const one = await cached.cache!.sizeBytes();
    const bounded = new HangarClient({ location: server.location, cache: { dir: join(cacheRoot, `${name}-bounded`), maxBytes: Math.floor(one * 2.5) } });
    await bounded.get(names[0]!);
    await bounded.get(names[1]!);
    await new Promise((r) => setTimeout(r, 20));
    await bounded.get(names[0]!); // names[1] is now the least recently read
    await bounded.get(names[2]!);
    expect(new Set((await bounded.cache!.entries()).map((e) => e.name))).toEqual(new Set([names[0], names[2]]));
    await bounded.cache!.clear();
    expect(await bounded.cache!.entries()).toEqual([]);
    bounded.close();
  });

  it('is shared safely by processes reading while the frame grows', async () => {
    await plain.put(name, frame(0, 1000));
    const dir = join(cacheRoot, `${name}-shared`);
    const clientModule = resolve('dist/client/index.js');
    const script = `
      const { HangarClient } = await import(${JSON.stringify(clientModule)});
      const client = new HangarClient({ location: ${JSON.stringify(server.location)}, cache: { dir: ${JSON.stringify(dir)} } });
      const seen = [];
      for (let i = 0; i < 12; i++) {
        const xs = [...(await client.get(${JSON.stringify(name)})).getChild('x')].map(Number);
        if (xs.some((x, j) => x !== j)) throw new Error('rows out of order or duplicated');
        seen.push(xs.length);
      }
      client.close();
      console.log(JSON.stringify(seen));`;
    const workers = Array.from({ length: 3 }, () => {
      const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      let err = '';
      child.stdout.on('data', (d: Buffer) => (out += d.toString()));
      child.stderr.on('data', (d: Buffer) => (err += d.toString()));
      return new Promise<number[]>((done, fail) =>
        child.on('exit', (code) => (code === 0 ? done(JSON.parse(out) as number[]) : fail(new Error(`worker exited ${code}: ${err}`)))),
      );
    });
    for (let i = 0; i < 8; i++) await plain.put(name, frame(1000 + 10 * i, 10), { mode: 'append' });
    const valid = new Set(Array.from({ length: 9 }, (_, i) => 1000 + 10 * i));
    for (const seen of await Promise.all(workers)) {
      expect(seen.every((n) => valid.has(n))).toBe(true);
      expect([...seen].sort((a, b) => a - b)).toEqual(seen);
    }
    const shared = new HangarClient({ location: server.location, cache: { dir } });
    expect(xs(await shared.get(name))).toEqual(xs(await plain.get(name)));
    const entry = (await shared.cache!.entry('default', name))!;
    const files = (await readdir(join(dir, 'ts-v1', 'default', name))).filter((f) => f.endsWith('.arrows')).sort();
    expect(files).toEqual(entry.chunks.map((c) => c.file).sort());
    shared.close();
  }, 120_000);
});
