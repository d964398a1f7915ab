// SQL resource limits on a real `hangar serve` process with real DuckDB: queries that would take
// the machine's memory are refused with RESOURCE_EXHAUSTED, the server's RSS returns near its
// idle level afterwards, and the cap on concurrent queries per caller holds.
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { tableFromArrays } from 'apache-arrow';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HangarClient, PermissionDeniedError, ResourceExhaustedError } from '../../src/client/index.js';
import { signJwt } from '../../src/server/auth/jwt.js';

const CLI = join(import.meta.dirname, '../../dist/cli/main.js');
const MiB = 1024 * 1024;
/** Runs until the server's SQL timeout or a cancel. */
const ENDLESS = 'SELECT count(*) AS n FROM range(100000000000) t(i) WHERE i % 7 = 3';

interface Server {
  readonly child: ChildProcess;
  readonly location: string;
  readonly data: string;
  readonly stdout: string[];
}

async function startServer(args: string[]): Promise<Server> {
  const data = await mkdtemp(join(tmpdir(), 'hangar-sql-limits-'));
  // The node flags `npm start` uses (package.json), as in production.
  const child = spawn(process.execPath, ['--single-threaded-gc', '--initial-old-space-size=256', CLI, 'serve', '--port', '0', '--data', data, ...args], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const stdout: string[] = [];
  const lines = createInterface({ input: child.stdout! });
  const location = await new Promise<string>((resolve, reject) => {
    lines.on('line', (line) => {
      stdout.push(line);
      const match = /^hangar listening on (\S+)$/.exec(line);
      if (match) resolve(match[1]!);
    });
    child.once('exit', (code) => reject(new Error(`hangar serve exited with ${code}`)));
  });
  return { child, location, data, stdout };
}

async function stopServer(server: Server | undefined): Promise<void> {
  if (!server) return;
  const exited = new Promise((resolve) => server.child.once('exit', resolve));
  server.child.kill('SIGTERM');
  await exited;
  await rm(server.data, { recursive: true, force: true });
}

/** The server process's resident set size in bytes (VmRSS of /proc/PID/status). */
async function rssOf(server: Server): Promise<number> {
  const status = await readFile(`/proc/${server.child.pid}/status`, 'utf8');
  return Number(/^VmRSS:\s+(\d+) kB$/m.exec(status)![1]) * 1024;
}

/** Polls the RSS until it is below `bound` (or gives up after ~20 s) and returns the last reading. */
async function rssSettlesBelow(server: Server, bound: number): Promise<number> {
  let rss = await rssOf(server);
  for (let i = 0; i < 100 && rss >= bound; i++) {
    await new Promise((resolve) => setTimeout(resolve, 200));
    rss = await rssOf(server);
  }
  return rss;
}

async function rejection(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected the query to fail');
}

describe('SQL resource limits (hangar serve, DuckDB)', () => {
  let server: Server;
  let client: HangarClient;
  let idleRss = 0;

  beforeAll(async () => {
    server = await startServer(['--sql-memory-limit', '128MB', '--sql-max-result-bytes', String(16 * MiB), '--sql-max-concurrent-per-token', '2']);
    client = HangarClient.connect(server.location);
    const rows = 100_000;
    const v = BigInt64Array.from({ length: rows }, (_, i) => BigInt(i));
    const s = Array.from({ length: rows }, (_, i) => `row-${i}`);
    await client.put('big', tableFromArrays({ v, s }));
    // Idle with DuckDB loaded and the frame's view made: what the server holds between queries.
    expect((await client.query('SELECT count(*)::BIGINT AS n FROM big')).getChild('n')!.get(0)).toBe(100_000n);
    idleRss = await rssOf(server);
  }, 60_000);

  afterAll(async () => {
    client?.close();
    await stopServer(server);
  });

  it.each([
    ['a 3 GB string', "SELECT repeat('x', 3000000000) AS s", /repeat\(\) would build a value over the server's limit/],
    ['a billion-element list', 'SELECT list(range(0, 1000000000)) AS l', /range\(\) would build a value over the server's limit/],
    ['a timestamp list in microsecond steps', "SELECT range(TIMESTAMP '2000-01-01', TIMESTAMP '2030-01-01', INTERVAL 1 MICROSECOND) AS l", /range\(\)/],
    ['a padded 2 GB string', "SELECT lpad('x', 2000000000, 'y') AS s", /lpad\(\)/],
    ['the built-in called by its qualified name', "SELECT system.main.repeat('x', 3000000000) AS s", /call repeat\(\) by its plain name/],
    ['the built-in under EXPLAIN ANALYZE', 'EXPLAIN ANALYZE SELECT "system"."main"."repeat"(\'x\', 3000000000) AS s', /call repeat\(\) by its plain name/],
    ['string_agg over a frame, past the memory limit', "SELECT length(string_agg(s || repeat('x', 10000), ',')) AS n FROM big", /SQL memory limit/],
    ['a sorted cross join, past the memory limit', 'SELECT a.v, b.s FROM big a CROSS JOIN big b ORDER BY a.v + b.v DESC', /SQL memory limit/],
    ['a cross join streamed back, past the result limit', 'SELECT a.v, b.s FROM big a CROSS JOIN big b', /limit of 16 MiB per query \(--sql-max-result-bytes\)/],
  ])('refuses %s with RESOURCE_EXHAUSTED and keeps serving', async (_what, sql, message) => {
    const error = await rejection(client.query(sql));
    expect(error).toBeInstanceOf(ResourceExhaustedError);
    expect(error.message).toMatch(message);
    expect((await client.query('SELECT 42 AS x')).getChild('x')!.get(0)).toBe(42);
  }, 120_000);

  it('refuses SQL run from a value, which could reach the unbounded built-ins', async () => {
    const error = await rejection(client.query("SELECT * FROM query('SELECT sys' || 'tem.main.repeat(''x'', 3000000000) AS s')"));
    expect(error).toBeInstanceOf(PermissionDeniedError);
    expect(error.message).toMatch(/query\(\) runs SQL text made at run time/);
  });

  it('streams a result under the limit in full', async () => {
    const table = await client.query("SELECT v, s || repeat('y', 100) AS s FROM big ORDER BY v");
    expect(table.numRows).toBe(100_000);
    expect(table.batches.length).toBeGreaterThan(1);
    expect(table.getChild('s')!.get(99_999)).toBe(`row-99999${'y'.repeat(100)}`);
  }, 60_000);

  it("returns the server's memory near its idle level after the large queries", async () => {
    const bound = idleRss + 300 * MiB;
    const rss = await rssSettlesBelow(server, bound);
    expect(rss).toBeLessThan(bound);
  }, 60_000);

  it('refuses a query over the per-caller cap, naming it, and serves again once one ends', async () => {
    const controllers = [new AbortController(), new AbortController()];
    const running = controllers.map((controller) => rejection(client.query(ENDLESS, { signal: controller.signal })));
    // The two endless queries take both of the anonymous caller's slots as soon as they start.
    let refused: Error | undefined;
    for (let attempt = 0; attempt < 100 && !refused; attempt++) {
      try {
        await client.query('SELECT 1 AS x');
        await new Promise((resolve) => setTimeout(resolve, 50));
      } catch (error) {
        refused = error as Error;
      }
    }
    expect(refused).toBeInstanceOf(ResourceExhaustedError);
    expect(refused!.message).toMatch(/caller 'anonymous' already runs 2 SQL queries.*--sql-max-concurrent-per-token 2/);
    controllers.forEach((controller) => controller.abort());
    await Promise.all(running);
    // Slots are given back when a query ends; the next one may arrive before the server saw the cancel.
    let answer: unknown;
    for (let attempt = 0; attempt < 100 && answer === undefined; attempt++) {
      answer = await client.query('SELECT 7 AS x').then(
        (table) => table.getChild('x')!.get(0),
        () => new Promise((resolve) => setTimeout(() => resolve(undefined), 50)),
      );
    }
    expect(answer).toBe(7);
  }, 60_000);
});

describe('SQL concurrency cap per token (hangar serve with --secret)', () => {
  const secret = 'sql-limits-test-secret-0123456789';
  let server: Server | undefined;

  afterAll(async () => stopServer(server));

  it('counts each token subject on its own', async () => {
    server = await startServer(['--secret', secret, '--sql-max-concurrent-per-token', '1', '--sql-memory-limit', '256MB']);
    const tokenFor = (sub: string): string => signJwt({ sub, scope: 'read:* write:*' }, secret);
    const alice = HangarClient.connect(server.location, { headers: { authorization: `Bearer ${tokenFor('alice')}` } });
    const bob = HangarClient.connect(server.location, { headers: { authorization: `Bearer ${tokenFor('bob')}` } });
    try {
      const controller = new AbortController();
      const running = rejection(alice.query(ENDLESS, { signal: controller.signal }));
      let refused: Error | undefined;
      for (let attempt = 0; attempt < 100 && !refused; attempt++) {
        try {
          await alice.query('SELECT 1 AS x');
          await new Promise((resolve) => setTimeout(resolve, 50));
        } catch (error) {
          refused = error as Error;
        }
      }
      expect(refused).toBeInstanceOf(ResourceExhaustedError);
      expect(refused!.message).toMatch(/caller 'alice' already runs 1 SQL queries.*--sql-max-concurrent-per-token 1/);
      // Bob's slot is his own, while Alice's query still runs.
      expect((await bob.query('SELECT 5 AS x')).getChild('x')!.get(0)).toBe(5);
      controller.abort();
      await running;
    } finally {
      alice.close();
      bob.close();
    }
  }, 60_000);
});
