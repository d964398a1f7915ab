// Versions and time travel through a real server and the TypeScript client: every commit makes a
// version; get, stat and GetSchema read any kept one by number or instant; delete is a version;
// restore brings one back; compaction keeps the data; vacuum applies retention and frees segments.
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { Float64, Int32, Table, TimestampMicrosecond, vectorFromArray } from 'apache-arrow';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HangarClient, InvalidArgumentError, NotFoundError, pathDescriptor, commandDescriptor } from '../../src/client/index.js';
import { HangarServer } from '../../src/server/hangar-server.js';
import { testStores } from './fixtures/stores.js';

const numbers = (from: number, n: number) => new Table({ x: vectorFromArray(Array.from({ length: n }, (_, i) => from + i), new Int32()) });
const column = (table: Table) => [...table.getChild('x')!].map(Number);
const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe.each(testStores('hangar-versions-'))('versions over a %s', (label, makeStore) => {
  let server: HangarServer;
  let client: HangarClient;
  let cleanup: () => Promise<void>;

  beforeAll(async () => {
    const store = await makeStore();
    cleanup = store.cleanup;
    // Small segments, so a few appends make compaction worthwhile; no grace, so vacuum acts at once.
    server = await HangarServer.start({
      port: 0,
      data: store.data,
      engine: { segmentBytes: 64 * 1024, retention: { keepVersions: 2, graceMs: 0 }, compactThreshold: 0 },
    });
    client = HangarClient.connect(server.location);
  });
  afterAll(async () => {
    client.close();
    await server.close();
    await cleanup();
  });

  it('reads every version back exactly, by number and by instant', async () => {
    const o = { bucket: 'tt' };
    await client.put('f', numbers(0, 3), o);
    await pause(5);
    const afterPut = new Date();
    await pause(5);
    await client.put('f', numbers(3, 2), { ...o, mode: 'append' });
    await client.put('f', numbers(100, 1), { ...o, mode: 'replace' });
    expect(column(await client.get('f', o))).toEqual([100]);
    expect(column(await client.get('f', { ...o, version: 1 }))).toEqual([0, 1, 2]);
    expect(column(await client.get('f', { ...o, version: 2 }))).toEqual([0, 1, 2, 3, 4]);
    expect(column(await client.get('f', { ...o, asOf: afterPut }))).toEqual([0, 1, 2]);
    expect((await client.stat('f', { ...o, version: 2 })).rows).toBe(5);
    expect((await client.stat('f', { ...o, asOf: afterPut })).version).toBe(1);
    const versions = await client.versions('f', o);
    expect(versions.map((v) => [v.version, v.operation, v.rows])).toEqual([
      [1, 'put', 3],
      [2, 'append', 5],
      [3, 'replace', 1],
    ]);
    expect(versions.every((v, i) => i === 0 || v.committedAt > versions[i - 1]!.committedAt)).toBe(true);
  });

  it('describes a past version through GetFlightInfo with a ticket pinned to it, and GetSchema', async () => {
    const o = { bucket: 'info' };
    await client.put('g', numbers(0, 2), o);
    await client.put('g', new Table({ y: vectorFromArray([1.5], new Float64()) }), { ...o, mode: 'replace' });
    const flight = client.flight;
    const info = await flight.getFlightInfo(commandDescriptor(JSON.stringify({ name: 'g', bucket: 'info', version: 1 })));
    expect(info.totalRecords).toBe(2);
    expect(info.schema?.fields.map((f) => f.name)).toEqual(['x']);
    // The current version changes; the ticket still reads version 1.
    await client.put('g', numbers(7, 9), { ...o, mode: 'replace' });
    const table = await flight.doGet(info.endpoint[0]!.ticket!.ticket).readAll();
    expect(column(table)).toEqual([0, 1]);
    const schema = await flight.getSchema(commandDescriptor(JSON.stringify({ name: 'g', bucket: 'info', version: 2 })));
    expect(schema.fields.map((f) => f.name)).toEqual(['y']);
    expect((await flight.getSchema(pathDescriptor('g', 'info'))).fields.map((f) => f.name)).toEqual(['x']);
  });

  it('makes a delete a version: the frame is gone, its history stays, and restore brings it back', async () => {
    const o = { bucket: 'del' };
    await client.put('h', numbers(0, 4), o);
    await client.delete('h', o);
    await expect(client.get('h', o)).rejects.toBeInstanceOf(NotFoundError);
    await expect(client.stat('h', o)).rejects.toBeInstanceOf(NotFoundError);
    expect((await client.list(o)).map((f) => f.name)).not.toContain('h');
    await expect(client.get('h', { ...o, version: 2 })).rejects.toThrow(/is its deletion/);
    expect(column(await client.get('h', { ...o, version: 1 }))).toEqual([0, 1, 2, 3]);
    expect((await client.versions('h', o)).map((v) => [v.operation, v.deleted])).toEqual([
      ['put', false],
      ['delete', true],
    ]);
    const restored = await client.restore('h', 1, o);
    expect(restored).toBe(3);
    expect(column(await client.get('h', o))).toEqual([0, 1, 2, 3]);
    const last = (await client.versions('h', o)).at(-1)!;
    expect([last.operation, last.restoredFrom]).toEqual(['restore', 1]);
    // A new put after a delete continues the version numbers.
    await client.delete('h', o);
    await client.put('h', numbers(9, 1), o);
    expect((await client.stat('h', o)).version).toBe(5);
  });

  it('counts a bucket holding only deleted frames as empty, and deleting it removes all history', async () => {
    const o = { bucket: 'gone' };
    await client.put('d', numbers(0, 1), o);
    await client.delete('d', o);
    await client.deleteBucket('gone');
    await client.put('d', numbers(0, 1), o);
    expect((await client.versions('d', o)).map((v) => v.version)).toEqual([1]);
  });

  it('refuses bad version requests with clear errors', async () => {
    const o = { bucket: 'bad' };
    await client.put('k', numbers(0, 1), o);
    await expect(client.get('k', { ...o, version: 9 })).rejects.toThrow(/no version 9 yet; its latest is 1/);
    await expect(client.get('k', { ...o, version: 0 })).rejects.toBeInstanceOf(InvalidArgumentError);
    await expect(client.get('k', { ...o, version: 1, asOf: new Date() })).rejects.toThrow(/either "version" or "as_of"/);
    await expect(client.get('k', { ...o, asOf: new Date('2001-01-01T00:00:00Z') })).rejects.toThrow(/no kept version as of 2001-01-01/);
    await expect(client.restore('k', 5, o)).rejects.toBeInstanceOf(NotFoundError);
  });

  it('compacts small appended segments into fewer, keeping rows, order and old versions', async () => {
    const o = { bucket: 'cmp' };
    const n = 6_000; // ~24 KB of int32 per append: each append is its own small segment
    await client.put('c', numbers(0, n), o);
    for (let i = 1; i < 8; i++) await client.put('c', numbers(i * n, n), { ...o, mode: 'append' });
    const before = await client.versions('c', o);
    expect(before.at(-1)!.segments).toBe(8);
    const result = await client.compact('c', o);
    expect(result).toMatchObject({ compacted: true, segmentsBefore: 8, version: 9 });
    expect(result.segmentsAfter).toBeLessThan(8);
    const all = column(await client.get('c', o));
    expect(all).toEqual(Array.from({ length: 8 * n }, (_, i) => i));
    expect(column(await client.get('c', { ...o, version: 8 }))).toEqual(all);
    expect((await client.versions('c', o)).at(-1)!.operation).toBe('compact');
    // Nothing small left to merge: a second compaction changes nothing.
    expect((await client.compact('c', o)).compacted).toBe(false);
  });

  it('vacuums versions past retention, keeps what time travel still needs, and frees their segments', async () => {
    const o = { bucket: 'vac' };
    for (let i = 0; i < 4; i++) await client.put('v', numbers(i * 10, 5), { ...o, mode: i === 0 ? 'error' : 'replace' });
    expect((await client.vacuum({ bucket: 'vac', dryRun: true })).versionsRemoved).toBe(2);
    expect((await client.versions('v', o)).length).toBe(4);
    const report = await client.vacuum({ bucket: 'vac' });
    expect(report).toMatchObject({ frames: 1, versionsRemoved: 2, segmentsRemoved: 2 });
    expect(report.bytesFreed).toBeGreaterThan(0);
    expect((await client.versions('v', o)).map((v) => v.version)).toEqual([3, 4]);
    await expect(client.get('v', { ...o, version: 1 })).rejects.toThrow(/no longer kept.*kept versions are 3–4/);
    expect(column(await client.get('v', { ...o, version: 3 }))).toEqual([20, 21, 22, 23, 24]);
    expect(column(await client.get('v', o))).toEqual([30, 31, 32, 33, 34]);
    if (label === 'local directory store') {
      const segments = await readdir(join(server.connector.fileRoots()[0]!, 'vac', 'v', 'segments'));
      expect(segments.filter((id) => id.endsWith('.parquet'))).toHaveLength(2);
    }
  });

  it('queries every frame as it was at an instant with SQL as_of, joins included', async () => {
    const o = { bucket: 'sqltt' };
    await client.put('a', numbers(0, 3), o);
    await client.put('b', numbers(0, 2), { bucket: 'other' });
    await pause(5);
    const then = new Date();
    await pause(5);
    await client.put('a', numbers(10, 5), { ...o, mode: 'append' });
    await client.delete('b', { bucket: 'other' });
    await client.put('late', numbers(0, 1), o);
    const sum = 'SELECT count(*)::INT AS n, sum(x)::INT AS s FROM a';
    const now = await client.query(sum, o);
    expect([now.getChild('n')!.get(0), now.getChild('s')!.get(0)]).toEqual([8, 3 + 60]);
    const past = await client.query(sum, { ...o, asOf: then });
    expect([past.getChild('n')!.get(0), past.getChild('s')!.get(0)]).toEqual([3, 3]);
    const joined = await client.query('SELECT count(*)::INT AS n FROM a JOIN other.b USING (x)', { ...o, asOf: then });
    expect(joined.getChild('n')!.get(0)).toBe(2);
    // Deleted now, so missing today; created later, so missing then.
    await expect(client.query('SELECT * FROM other.b', o)).rejects.toThrow(/does not exist/);
    await expect(client.query('SELECT * FROM late', { ...o, asOf: then })).rejects.toThrow(/does not exist/);
    await expect(client.flight.doGet(JSON.stringify({ sql: 'SELECT 1', version: 1 })).readAll()).rejects.toThrow(/takes "as_of"/);
  });

  it('keeps a timestamped frame range-readable at an old version', async () => {
    const o = { bucket: 'range' };
    const ts = (start: number, n: number) =>
      new Table({
        ts: vectorFromArray(Array.from({ length: n }, (_, i) => (start + i) * 1000), new TimestampMicrosecond()), // epoch ms in, µs stored,
        x: vectorFromArray(Array.from({ length: n }, (_, i) => start + i), new Int32()),
      });
    await client.put('r', ts(0, 100), o);
    await client.put('r', ts(1000, 10), { ...o, mode: 'replace' });
    const old = await client.get('r', { ...o, version: 1, start: 10, end: 20 });
    expect(column(old)).toEqual(Array.from({ length: 10 }, (_, i) => 10 + i));
  });
});
