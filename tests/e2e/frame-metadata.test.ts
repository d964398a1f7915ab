// Per-frame user metadata through a real server: kept by puts, versioned with the data, shown by
// list and stat, filtered on by list, and refused when it is not a small JSON object.
import { Int32, Table, vectorFromArray } from 'apache-arrow';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HangarClient, InvalidArgumentError } from '../../src/client/index.js';
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
});
