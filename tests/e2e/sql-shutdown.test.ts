// A server asked to stop while a query runs for ever must still end: its queries are interrupted
// (DuckDB runs them on threads of the libuv pool, which the process joins at exit). Found as a
// `hangar serve` left spinning for half an hour after SIGTERM, its query a cross join.
import { tableFromArrays } from 'apache-arrow';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HangarClient } from '../../src/client/index.js';
import { type HangarProcess, startHangarProcess } from '../helpers/hangar-process.js';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

describe('hangar serve stops while a query runs', () => {
  let dir: string;
  let server: HangarProcess;
  let client: HangarClient;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'hangar-sql-shutdown-'));
    server = await startHangarProcess(['--data', dir, '--sql-timeout', '600000']);
    client = HangarClient.connect(server.location);
    await client.put('f', tableFromArrays({ x: BigInt64Array.from({ length: 20_000 }, (_, i) => BigInt(i)) }));
  }, 60_000);

  afterAll(async () => {
    client?.close();
    await server?.kill();
    await rm(dir, { recursive: true, force: true });
  });

  it('ends within seconds of SIGTERM, interrupting queries that would run for hours', async () => {
    // 8e12 row combinations each: hours of work, and no row comes out before the count ends. Six
    // at once: more than the libuv pool's four threads, so some wait for a thread to start on, and
    // an interrupt sent while one waits is forgotten by DuckDB when that query starts executing.
    const queries = Array.from({ length: 6 }, (_, i) =>
      client.query(`SELECT count(*) AS n FROM f a, f b, f c WHERE (a.x * 7 + b.x * 3 + c.x) % 1000003 = ${i}`),
    );
    for (const query of queries) query.catch(() => undefined);
    // Let it start executing, then ask the server to stop.
    await new Promise((resolve) => setTimeout(resolve, 1500));
    const stoppedAt = Date.now();
    server.child.kill('SIGTERM');
    const exited = await Promise.race([server.exited.then(() => true), new Promise<boolean>((resolve) => setTimeout(() => resolve(false), 45_000))]);
    expect(exited).toBe(true);
    expect(server.child.exitCode).toBe(0);
    expect(Date.now() - stoppedAt).toBeLessThan(45_000);
    for (const query of queries) await expect(query).rejects.toThrow();
  }, 90_000);
});
