// The HTTP API under byte-level fuzzing (src/testing/http-fuzz.ts): raw HTTP/1.1 requests built
// from valid ones and mutated — methods, targets, query parameters, headers, framing and bodies —
// against a real `hangar serve --http-port`, open and with --secret. Every request is answered
// with a status other than 500 within a bound (or, cut short, its connection closed), health
// checks keep reading a sentinel frame unchanged, and the server exits 0 on SIGTERM.
// Needs dist/ (npm test builds it).
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fuzzHttp, sendRaw } from '../../dist/testing/http-fuzz.js';
import { type ServerProcess, startServerProcess } from '../../dist/testing/server-process.js';

const SEED = Number(process.env.HANGAR_FUZZ_SEED ?? 0);
/** Cases against the open server (the --secret server gets a quarter). */
const CASES = Number(process.env.HANGAR_HTTP_FUZZ_CASES ?? 2_000);
const RUN_TIMEOUT_MS = 600_000;
const SECRET = 'http-fuzz-secret-of-32-bytes!!!!';

async function serverOn(args: string[]): Promise<{ server: ServerProcess; dir: string }> {
  const dir = await mkdtemp(join(tmpdir(), 'hangar-http-fuzz-'));
  // Aggressive retention and a vacuum every 2 s, so vacuums remove what concurrent replaces and
  // deletes leave while downloads and SQL read it: such a read answers its rows or 404, never a
  // 5xx (read-races.ts).
  const retention = ['--keep-versions', '2', '--keep-for', '0', '--vacuum-grace', '0', '--vacuum-every', '2s'];
  const server = await startServerProcess({ args: ['--port', '0', '--http-port', '0', '--data', join(dir, 'store'), ...retention, ...args] });
  return { server, dir };
}

const get = (target: string): Buffer => Buffer.from(`GET ${target} HTTP/1.1\r\nhost: 127.0.0.1\r\nconnection: close\r\n\r\n`, 'latin1');

describe('HTTP fuzz: a server without authentication', () => {
  let server: ServerProcess;
  let dir: string;
  beforeAll(async () => ({ server, dir } = await serverOn([])));
  afterAll(async () => {
    await server?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('answers request targets that are no URL path with 400 (`GET ///` ended the server)', async () => {
    for (const target of ['///', '//', '//:0', '//a:b@/x']) {
      const reply = await sendRaw(server.httpUrl!, get(target), 10_000);
      expect(reply.status, target).toBe(400);
      expect(reply.bytes.toString('utf8')).toContain('is not a path');
    }
    const health = await sendRaw(server.httpUrl!, get('/healthz'), 10_000);
    expect(health.status).toBe(200);
    expect(server.child.exitCode).toBeNull();
  });

  it(`answers ${CASES} fuzzed requests with a status, in bounded time, and keeps serving`, { timeout: RUN_TIMEOUT_MS }, async () => {
    const report = await fuzzHttp({ url: server.httpUrl!, seed: SEED, cases: CASES, healthEvery: 25 });
    expect(Object.values(report.statuses).reduce((a, b) => a + b, 0)).toBe(CASES);
    // Valid requests got through to handlers, and refusals of several kinds came back.
    expect(Object.keys(report.statuses)).toEqual(expect.arrayContaining(['200', '400', '404']));
    expect(report.healthChecks).toBeGreaterThan(0);
    expect(server.child.exitCode).toBeNull();
    expect(await server.stop()).toBe(0);
  });
});

describe('HTTP fuzz: a server with --secret', () => {
  let server: ServerProcess;
  let dir: string;
  beforeAll(async () => ({ server, dir } = await serverOn(['--secret', SECRET])));
  afterAll(async () => {
    await server?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it(`answers ${Math.ceil(CASES / 4)} fuzzed requests, refusing the unauthenticated ones, and keeps serving`, { timeout: RUN_TIMEOUT_MS }, async () => {
    const cases = Math.ceil(CASES / 4);
    const report = await fuzzHttp({ url: server.httpUrl!, seed: SEED + 1, cases, healthEvery: 25, healthHeaders: { authorization: `Bearer ${server.adminToken}` } });
    expect(Object.values(report.statuses).reduce((a, b) => a + b, 0)).toBe(cases);
    expect(report.statuses['401']).toBeGreaterThan(0);
    expect(await server.stop()).toBe(0);
  });
});
