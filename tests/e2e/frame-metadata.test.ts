// Per-frame user metadata through a real server: kept by puts, versioned with the data, shown by
// list and stat, filtered on by list, and refused when it is not a small JSON object. Also the
// optimistic concurrency of puts (expected_version).
import { Int32, Table, vectorFromArray } from 'apache-arrow';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConflictError, HangarClient, InvalidArgumentError } from '../../src/client/index.js';
import { HangarServer } from '../../src/server/hangar-server.js';
import { testStores } from './fixtures/stores.js';

const table = (n: number) => new Table({ x: vectorFromArray(Array.from({ length: n }, (_, i) => i), new Int32()) });

describe.each(testStores('hangar-metadata-'))('frame metadata over a %s', (_label, makeStore) => {
  let server: HangarServer;
  let client: HangarClient;
  let cleanup: () => Promise<void>;

  beforeAll(async () => {
    const store = await makeStore();
    cleanup = store.cleanup;
    server = await HangarServer.start({ port: 0, data: store.data });
    client = HangarClient.connect(server.location);
  });
  afterAll(async () => {
    client.close();
    await server.close();
    await cleanup();
  });

  it('keeps metadata across appends and replaces it when a put brings new metadata', async () => {
    await client.put('well_a', table(3), { bucket: 'md', metadata: { unit: 'm', location: { x: 1, y: 2 } } });
    expect((await client.stat('well_a', { bucket: 'md' })).metadata).toEqual({ unit: 'm', location: { x: 1, y: 2 } });
    await client.put('well_a', table(2), { bucket: 'md', mode: 'append' });
    const appended = await client.stat('well_a', { bucket: 'md' });
    expect(appended.rows).toBe(5);
    expect(appended.metadata).toEqual({ unit: 'm', location: { x: 1, y: 2 } });
    await client.put('well_a', table(1), { bucket: 'md', mode: 'replace', metadata: { unit: 'cm' } });
    expect((await client.stat('well_a', { bucket: 'md' })).metadata).toEqual({ unit: 'cm' });
  });

  it('lists metadata and filters on it by key equality', async () => {
    await client.put('well_b', table(1), { bucket: 'md2', metadata: { unit: 'm', kind: 'head' } });
    await client.put('well_c', table(1), { bucket: 'md2', metadata: { unit: 'cm', kind: 'head' } });
    await client.put('plain', table(1), { bucket: 'md2' });
    const all = await client.list({ bucket: 'md2' });
    expect(Object.fromEntries(all.map((f) => [f.name, f.metadata]))).toEqual({
      plain: {},
      well_b: { unit: 'm', kind: 'head' },
      well_c: { unit: 'cm', kind: 'head' },
    });
    expect((await client.list({ bucket: 'md2', metadata: { kind: 'head' } })).map((f) => f.name)).toEqual(['well_b', 'well_c']);
    expect((await client.list({ bucket: 'md2', metadata: { kind: 'head', unit: 'm' } })).map((f) => f.name)).toEqual(['well_b']);
    expect(await client.list({ bucket: 'md2', metadata: { unit: 'km' } })).toEqual([]);
  });

  it('refuses metadata that is not a small JSON object, storing nothing', async () => {
    await expect(client.put('bad', table(1), { bucket: 'md3', metadata: ['a'] as never })).rejects.toBeInstanceOf(InvalidArgumentError);
    await expect(client.put('bad', table(1), { bucket: 'md3', metadata: { blob: 'x'.repeat(70_000) } })).rejects.toThrow(/at most 65536/);
    await expect(client.stat('bad', { bucket: 'md3' })).rejects.toThrow(/does not exist/);
  });

  it('commits a put only at the expected version, else writes nothing', async () => {
    await client.put('occ', table(2), { bucket: 'md4', expectedVersion: 0 });
    await expect(client.put('occ', table(1), { bucket: 'md4', mode: 'append', expectedVersion: 0 })).rejects.toBeInstanceOf(ConflictError);
    await client.put('occ', table(1), { bucket: 'md4', mode: 'append', expectedVersion: 1 });
    const failed = client.put('occ', table(5), { bucket: 'md4', mode: 'replace', expectedVersion: 1 });
    await expect(failed).rejects.toThrow(/is at version 2, not the expected 1/);
    const stat = await client.stat('occ', { bucket: 'md4' });
    expect([stat.version, stat.rows]).toEqual([2, 3]);
    await expect(client.put('occ', table(1), { bucket: 'md4', mode: 'append', expectedVersion: -1 })).rejects.toBeInstanceOf(InvalidArgumentError);
  });

  it('lets exactly one of two racing writers with the same expected version commit', async () => {
    await client.put('race', table(1), { bucket: 'md5' });
    const outcomes = await Promise.allSettled(
      [0, 1].map(() => client.put('race', table(10), { bucket: 'md5', mode: 'append', expectedVersion: 1 })),
    );
    expect(outcomes.filter((o) => o.status === 'fulfilled')).toHaveLength(1);
    const rejected = outcomes.find((o): o is PromiseRejectedResult => o.status === 'rejected');
    expect(rejected?.reason).toBeInstanceOf(ConflictError);
    expect((await client.stat('race', { bucket: 'md5' })).rows).toBe(11);
  });
});
