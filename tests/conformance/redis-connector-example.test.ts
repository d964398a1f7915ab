// The Redis connector of docs/custom-connectors.md, as a user runs it: built with its plugin's
// `create`, importing `hangar` and `hangar/testing` from the built package, passing the whole
// conformance suite unchanged against a real redis-server started here.
import { randomUUID } from 'node:crypto';
import { runConnectorConformance } from 'hangar/testing';
import { createClient } from 'redis';
import { afterAll, beforeAll, describe } from 'vitest';
import redisPlugin, { RedisConnector } from '../../docs/examples/redis-connector.js';
import { type RedisServer, startRedis } from '../helpers/redis-server.js';

/** Another application's key in the same database: every listing must leave it out. */
const FOREIGN_KEY = 'another-app:~buckets/not-hangars';

describe('Redis connector example on redis-server', () => {
  let server: RedisServer;
  let admin: ReturnType<typeof createClient>;
  beforeAll(async () => {
    server = await startRedis();
    admin = createClient({ url: server.url });
    await admin.connect();
    await admin.set(FOREIGN_KEY, 'x');
  });
  afterAll(async () => {
    if (admin?.isOpen) await admin.close();
    await server?.close();
  });

  runConnectorConformance({
    name: 'redis (docs/examples/redis-connector.ts)',
    // A fresh key prefix per test, so tests never see each other's objects.
    create: async () => redisPlugin.create(new URL(`${server.url}/0?prefix=test-${randomUUID()}:`)),
    // A new client on the same server and prefix.
    reopen: async (previous) => new RedisConnector(server.url, (previous as RedisConnector).prefix),
    destroy: async (connector) => {
      const keys: string[] = [];
      for await (const found of admin.scanIterator({ MATCH: `${(connector as RedisConnector).prefix}*`, COUNT: 1000 })) keys.push(...found);
      if (keys.length > 0) await admin.unlink(keys);
    },
  });
});
