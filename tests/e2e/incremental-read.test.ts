// Incremental reads through a real server: a ticket's `since_version` returns only the rows appended
// after that version, and refuses (FAILED_PRECONDITION, NotAppendOnlyError) whenever the frame did
// not only grow since: replace, compaction, restore to other data, a deletion, another history.
import { Dictionary, Int32, Table, Utf8, vectorFromArray } from 'apache-arrow';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FailedPreconditionError, HangarClient, InvalidArgumentError, NotFoundError } from '../../src/client/index.js';
import { HangarServer } from '../../src/server/hangar-server.js';
import { testStores } from './fixtures/stores.js';

const numbers = (from: number, n: number) => new Table({ x: vectorFromArray(Array.from({ length: n }, (_, i) => from + i), new Int32()) });
const column = (table: Table) => [...table.getChild('x')!].map(Number);

describe.each(testStores('hangar-incremental-'))('incremental reads over a %s', (_label, makeStore) => {
  let server: HangarServer;
  let client: HangarClient;
  let cleanup: () => Promise<void>;
  const read = (ticket: Record<string, unknown>) => client.flight.doGet(JSON.stringify({ bucket: 'inc', ...ticket })).readAll();

  beforeAll(async () => {
    const store = await makeStore();
    cleanup = store.cleanup;
    server = await HangarServer.start({ port: 0, data: store.data, engine: { compactThreshold: 0 } });
    client = HangarClient.connect(server.location);
  });
  afterAll(async () => {
    client.close();
    await server.close();
    await cleanup();
  });

  it('returns exactly the rows appended after a version, pinned or current, with projections and limits', async () => {
    const o = { bucket: 'inc' };
    const v1 = await client.put('a', numbers(0, 3), o);
    const committed1 = (await client.stat('a', o)).committedAt;
    await client.put('a', numbers(3, 2), { ...o, mode: 'append' });
    const v3 = await client.put('a', numbers(5, 4), { ...o, mode: 'append' });
    expect(column(await read({ name: 'a', since_version: v1.version }))).toEqual([3, 4, 5, 6, 7, 8]);
    expect(column(await read({ name: 'a', since_version: v1.version, since_committed_at: committed1 }))).toEqual([3, 4, 5, 6, 7, 8]);
    expect(column(await read({ name: 'a', since_version: 2, version: 2 }))).toEqual([]);
    expect(column(await read({ name: 'a', since_version: 2, version: v3.version }))).toEqual([5, 6, 7, 8]);
    expect(column(await read({ name: 'a', since_version: 1, version: 2, columns: ['x'], limit: 1 }))).toEqual([3]);
    // A restore to a version that extends the held one is still an append of its rows.
    await client.restore('a', 2, o);
    expect(column(await read({ name: 'a', since_version: 1 }))).toEqual([3, 4]);
  });

  it('returns the appended rows after a compaction merged them with rows held, decoding only the segment the cut falls in', async () => {
    const o = { bucket: 'inc' };
    await client.put('c', numbers(0, 3), o); // v1
    await client.put('c', numbers(3, 1), { ...o, mode: 'append' }); // v2: 4 rows
    await client.put('c', numbers(4, 1), { ...o, mode: 'append' }); // v3
    expect((await client.compact('c', o)).segmentsAfter).toBe(1); // v4: one segment of 5 rows
    await client.put('c', numbers(5, 2), { ...o, mode: 'append' }); // v5
    expect(column(await read({ name: 'c', since_version: 2 }))).toEqual([4, 5, 6]);
    expect(column(await read({ name: 'c', since_version: 2, version: 4 }))).toEqual([4]);
    expect(column(await read({ name: 'c', since_version: 3, version: 4 }))).toEqual([]);
    expect(column(await read({ name: 'c', since_version: 1, limit: 2, columns: ['x'] }))).toEqual([3, 4]);
    const error = await read({ name: 'c', since_version: 2, start: '2020-01-01' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(FailedPreconditionError);
    // Dictionary columns: the tail keeps its dictionaries (whether or not compaction could merge their segments).
    const labelled = (from: number, n: number) =>
      new Table({ k: vectorFromArray(Array.from({ length: n }, (_, i) => `k${(from + i) % 3}`), new Dictionary(new Utf8(), new Int32())) });
    await client.put('d', labelled(0, 6), o);
    await client.put('d', labelled(6, 3), { ...o, mode: 'append' });
    await client.compact('d', o);
    await client.put('d', labelled(9, 2), { ...o, mode: 'append' });
    const tail = await read({ name: 'd', since_version: 1 });
    expect([...tail.getChild('k')!]).toEqual(['k0', 'k1', 'k2', 'k0', 'k1']);
  });

  it('refuses when the frame was replaced, restored to other data or started anew', async () => {
    const o = { bucket: 'inc' };
    const expectRefused = async (ticket: Record<string, unknown>) => {
      const error = await read(ticket).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(FailedPreconditionError);
      expect((error as FailedPreconditionError).type).toBe('NotAppendOnlyError');
      expect((error as Error).message).toMatch(/read the frame whole/);
    };
    await client.put('b', numbers(0, 3), o);
    await client.put('b', numbers(10, 3), { ...o, mode: 'replace' });
    await expectRefused({ name: 'b', since_version: 1 });
    await client.put('b', numbers(20, 1), { ...o, mode: 'append' });
    await client.put('b', numbers(21, 1), { ...o, mode: 'append' });
    await client.compact('b', o);
    await expectRefused({ name: 'b', since_version: 1 }); // a replace lies between
    await client.restore('b', 1, o);
    await expectRefused({ name: 'b', since_version: 2 });
    await expectRefused({ name: 'b', since_version: 99 });
    await expectRefused({ name: 'b', since_version: 1, since_committed_at: '2001-01-01T00:00:00Z' });
    await client.delete('b', o);
    await client.put('b', numbers(0, 1), o);
    await expectRefused({ name: 'b', since_version: 7 });
    await expect(read({ name: 'missing', since_version: 1 })).rejects.toBeInstanceOf(NotFoundError);
    await expect(read({ name: 'b', since_version: 0 })).rejects.toBeInstanceOf(InvalidArgumentError);
    await expect(read({ name: 'b', since_committed_at: '2001-01-01' })).rejects.toBeInstanceOf(InvalidArgumentError);
  });
});
