// Snapshots (issue 22 item 3) through a real server and the TypeScript client: gets, stat, SQL and
// GetFlightInfo read the frames as the snapshot holds them after appends, replaces and deletes, and
// vacuum (retention: keep one version, no grace) keeps what a snapshot holds until it is deleted.
import { Int32, Table, Utf8, vectorFromArray } from 'apache-arrow';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AlreadyExistsError, HangarClient, InvalidArgumentError, NotFoundError, commandDescriptor } from '../../src/client/index.js';
import { HangarServer } from '../../src/server/hangar-server.js';
import { testStores } from './fixtures/stores.js';

const utf8 = new TextDecoder();
const numbers = (values: number[], label = 'a'): Table =>
  new Table({ x: vectorFromArray(values, new Int32()), label: vectorFromArray(values.map(() => label), new Utf8()) });
const xs = (table: Table): number[] => Array.from({ length: table.numRows }, (_, i) => table.getChild('x')!.get(i) as number);

describe.each(testStores('hangar-snapshots-'))('snapshots over a %s', (_label, makeStore) => {
  let server: HangarServer;
  let client: HangarClient;
  let cleanup: () => Promise<void>;
  const o = { bucket: 'market' };

  beforeAll(async () => {
    const store = await makeStore();
    cleanup = store.cleanup;
    server = await HangarServer.start({ port: 0, data: store.data, engine: { compactThreshold: 0, retention: { keepVersions: 1, graceMs: 0 } } });
    client = HangarClient.connect(server.location);
  });
  afterAll(async () => {
    client.close();
    await server.close();
    await cleanup();
  });

  it('reads gets, stat, SQL and FlightInfo as of the snapshot after appends, replaces, deletes and vacuum', async () => {
    await client.put('prices', numbers([1, 2, 3]), o);
    await client.put('fx', numbers([10, 20], 'fx'), o);
    const taken = await client.createSnapshot('close', o);
    expect(taken).toMatchObject({ name: 'close', bucket: 'market', frames: { fx: 1, prices: 1 } });
    await expect(client.createSnapshot('close', o)).rejects.toBeInstanceOf(AlreadyExistsError);

    await client.put('prices', numbers([4]), { ...o, mode: 'append' });
    await client.put('prices', numbers([99]), { ...o, mode: 'replace' });
    await client.delete('fx', o);
    await client.vacuum({ bucket: 'market' });

    expect(xs(await client.get('prices', { ...o, snapshot: 'close' }))).toEqual([1, 2, 3]);
    expect(xs(await client.get('prices', { ...o, snapshot: 'close', tail: 2 }))).toEqual([2, 3]);
    expect(xs(await client.get('prices', o))).toEqual([99]);
    expect(xs(await client.get('fx', { ...o, snapshot: 'close', columns: ['x'] }))).toEqual([10, 20]);
    expect((await client.stat('fx', { ...o, snapshot: 'close' })).rows).toBe(2);
    await expect(client.stat('fx', o)).rejects.toBeInstanceOf(NotFoundError);
    // Version 2 of prices (the append) was vacuumed; the held version 1 was not.
    expect((await client.versions('prices', o)).map((version) => version.version)).toEqual([1, 3]);

    // SQL: every frame of the bucket as the snapshot holds it, the deleted one included.
    const joined = await client.query('SELECT sum(p.x) AS p, (SELECT sum(x) FROM fx) AS f FROM prices p', { ...o, snapshot: 'close' });
    expect(Number(joined.getChild('p')!.get(0))).toBe(6);
    expect(Number(joined.getChild('f')!.get(0))).toBe(30);
    expect(Number((await client.query('SELECT sum(x) AS s FROM prices', o)).getChild('s')!.get(0))).toBe(99);
    await client.put('q', numbers([5]), { bucket: 'elsewhere' });
    await expect(client.query('SELECT * FROM elsewhere.q', { ...o, snapshot: 'close' })).rejects.toThrow(/reads that bucket's frames only/);

    // GetFlightInfo with a snapshot describes that version and pins its ticket to it.
    const info = await client.flight.getFlightInfo(commandDescriptor(JSON.stringify({ name: 'prices', bucket: 'market', snapshot: 'close' })));
    expect(Number(info.totalRecords)).toBe(3);
    expect(JSON.parse(utf8.decode(info.endpoint[0]!.ticket!.ticket))).toMatchObject({ version: 1 });

    // Deleting the snapshot lets vacuum take what it held.
    expect((await client.snapshots(o)).map((snapshot) => snapshot.name)).toEqual(['close']);
    await client.deleteSnapshot('close', o);
    await expect(client.deleteSnapshot('close', o)).rejects.toBeInstanceOf(NotFoundError);
    expect(await client.snapshots(o)).toEqual([]);
    await client.vacuum({ bucket: 'market' });
    expect((await client.versions('prices', o)).map((version) => version.version)).toEqual([3]);
    await expect(client.get('prices', { ...o, snapshot: 'close' })).rejects.toThrow(/no snapshot 'close'/);
  });

  it('refuses a snapshot with version or as_of, bad names and unknown fields', async () => {
    await client.put('t', numbers([1]), { bucket: 'other' });
    await client.createSnapshot('s1', { bucket: 'other', frames: ['t'] });
    await expect(client.get('t', { bucket: 'other', snapshot: 's1', version: 1 })).rejects.toThrow(/give one of "version", "as_of" and "snapshot"/);
    await expect(client.createSnapshot('../x', { bucket: 'other' })).rejects.toBeInstanceOf(InvalidArgumentError);
    await expect(client.flight.doAction('snapshot', JSON.stringify({ bucket: 'other', name: 's2', frame: ['t'] })).toArray()).rejects.toThrow(/unknown field "frame"/);
    await expect(client.createSnapshot('s3', { bucket: 'other', frames: ['missing'] })).rejects.toBeInstanceOf(NotFoundError);
    await expect(client.createSnapshot('s4', { bucket: 'no-such-bucket' })).rejects.toBeInstanceOf(NotFoundError);
  });
});
