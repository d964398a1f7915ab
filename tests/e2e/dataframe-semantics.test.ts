// Issue 22's dataframe semantics through a real server and the TypeScript client, each result
// compared with the same operation done on plain arrays: no silently ignored fields, tail reads,
// metadata-only commits, ordered appends, delete_range and update.
import { Int32, Table, vectorFromArray } from 'apache-arrow';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HangarClient, InvalidArgumentError, commandDescriptor } from '../../src/client/index.js';
import { HangarServer } from '../../src/server/hangar-server.js';
import { testStores } from './fixtures/stores.js';

const utf8 = new TextDecoder();

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
});
