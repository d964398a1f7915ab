// Issue 22 over the HTTP API: `tail` and `snapshot` on a frame's data, `snapshot` on its stat and in
// a SQL body, compared with the rows the frame held; unknown values are refused as over Flight.
import { Int32, Table, vectorFromArray } from 'apache-arrow';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HangarClient } from '../../src/client/index.js';
import { HangarServer } from '../../src/server/hangar-server.js';

let server: HangarServer;
let client: HangarClient;
let base: string;
const numbers = (values: number[]): Table => new Table({ x: vectorFromArray(values, new Int32()) });

beforeAll(async () => {
  server = await HangarServer.start({ port: 0, data: 'memory:', http: { port: 0 } });
  client = HangarClient.connect(server.location);
  base = `${server.httpUrl}/api/v1`;
});
afterAll(async () => {
  client.close();
  await server.close();
});

describe('HTTP API: tail and snapshots', () => {
  it('reads the tail, and a frame, its stat and SQL as a snapshot holds them', async () => {
    await client.put('f', numbers([1, 2, 3, 4]), { bucket: 'web' });
    await client.createSnapshot('s', { bucket: 'web' });
    await client.put('f', numbers([5, 6]), { bucket: 'web', mode: 'append' });

    const tail = await fetch(`${base}/buckets/web/frames/f/data?format=json&tail=3`);
    expect(await tail.json()).toEqual([{ x: 4 }, { x: 5 }, { x: 6 }]);
    const old = await fetch(`${base}/buckets/web/frames/f/data?format=json&snapshot=s&tail=2`);
    expect(await old.json()).toEqual([{ x: 3 }, { x: 4 }]);
    const stat = (await (await fetch(`${base}/buckets/web/frames/f?snapshot=s`)).json()) as { rows: number; version: number };
    expect(stat).toMatchObject({ rows: 4, version: 1 });
    const sql = await fetch(`${base}/sql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ sql: 'SELECT CAST(sum(x) AS INTEGER) AS s FROM f', bucket: 'web', snapshot: 's', format: 'json' }),
    });
    expect(await sql.json()).toEqual([{ s: 10 }]);

    const missing = await fetch(`${base}/buckets/web/frames/f/data?format=json&snapshot=nope`);
    expect(missing.status).toBe(404);
    const both = await fetch(`${base}/buckets/web/frames/f/data?format=json&snapshot=s&version=1`);
    expect(both.status).toBe(400);
  });
});
