// `hangar serve --http-port` as a real process: the listening lines, health and readiness, and
// /metrics counting Flight and HTTP calls (the interop suite parses it with prometheus_client).
import { tableFromArrays } from 'apache-arrow';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { HangarClient } from '../../src/client/index.js';
import { HANGAR_CLI } from '../helpers/hangar-process.js';

let child: ChildProcess;
let location: string;
let httpUrl: string;
let lines: string[];

/** The value of one sample of the metrics text (the sum over samples whose labels include `labels`). */
function sample(text: string, name: string, labels: Readonly<Record<string, string>> = {}): number {
  let total = 0;
  for (const line of text.split('\n')) {
    const match = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!match || match[1] !== name) continue;
    const present = Object.fromEntries([...(match[2] ?? '').matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1]!, m[2]!]));
    if (Object.entries(labels).every(([key, value]) => present[key] === value)) total += Number(match[3]);
  }
  return total;
}

beforeAll(async () => {
  child = spawn(process.execPath, [HANGAR_CLI, 'serve', '--port', '0', '--http-port', '0', '--data', 'memory:'], { stdio: ['ignore', 'pipe', 'inherit'] });
  lines = [];
  await new Promise<void>((resolve, reject) => {
    const input = createInterface({ input: child.stdout! });
    input.on('line', (line) => {
      lines.push(line);
      if (lines.length === 2) resolve();
    });
    child.once('exit', (code) => reject(new Error(`hangar serve exited (${code}) before listening`)));
  });
  location = lines[0]!.replace(/^hangar listening on /, '');
  httpUrl = lines[1]!.replace(/^http listening on /, '');
});
afterAll(async () => {
  child.kill('SIGTERM');
  await new Promise((resolve) => child.once('exit', resolve));
});

describe('hangar serve --http-port', () => {
  it('prints both listening lines', () => {
    expect(lines[0]).toMatch(/^hangar listening on grpc:\/\/127\.0\.0\.1:\d+$/);
    expect(lines[1]).toMatch(/^http listening on http:\/\/127\.0\.0\.1:\d+$/);
  });

  it('answers /healthz and /readyz', async () => {
    expect(await (await fetch(`${httpUrl}/healthz`)).text()).toBe('ok\n');
    expect((await fetch(`${httpUrl}/readyz`)).status).toBe(200);
  });

  it('counts Flight and HTTP calls, bytes, SQL queries and the store size in /metrics', async () => {
    const before = await (await fetch(`${httpUrl}/metrics`)).text();
    expect(before).toMatch(/^# TYPE hangar_rpc_calls_total counter$/m);
    expect(before).toMatch(/^hangar_process_resident_memory_bytes \d+/m);
    const client = HangarClient.connect(location);
    await client.put('m', tableFromArrays({ x: Float64Array.from([1, 2, 3]) }));
    await client.get('m');
    client.close();
    await (await fetch(`${httpUrl}/api/v1/buckets/default/frames/m/data?format=csv`)).text();
    await (await fetch(`${httpUrl}/api/v1/sql`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ sql: 'SELECT sum(x) AS s FROM m' }) })).text();
    expect((await fetch(`${httpUrl}/api/v1/buckets/default/frames/nope`)).status).toBe(404);
    const after = await (await fetch(`${httpUrl}/metrics`)).text();
    expect(sample(after, 'hangar_rpc_calls_total', { method: 'DoPut', code: 'OK' }) - sample(before, 'hangar_rpc_calls_total', { method: 'DoPut', code: 'OK' })).toBe(1);
    expect(sample(after, 'hangar_rpc_calls_total', { method: 'DoGet', code: 'OK' })).toBeGreaterThanOrEqual(1);
    expect(sample(after, 'hangar_http_requests_total', { route: '/api/v1/buckets/{bucket}/frames/{name}/data', status: '200' })).toBe(1);
    expect(sample(after, 'hangar_http_requests_total', { route: '/api/v1/buckets/{bucket}/frames/{name}', status: '404' })).toBe(1);
    expect(sample(after, 'hangar_http_request_duration_seconds_count', { route: '/api/v1/sql' })).toBe(1);
    expect(sample(after, 'hangar_sql_queries_total', { api: 'http', outcome: 'ok' })).toBe(1);
    expect(sample(after, 'hangar_data_bytes_total', { api: 'flight', direction: 'in' })).toBeGreaterThan(0);
    expect(sample(after, 'hangar_data_bytes_total', { api: 'http', direction: 'out' })).toBeGreaterThan(0);
    expect(sample(after, 'hangar_store_frames')).toBe(1);
    expect(sample(after, 'hangar_store_rows')).toBe(3);
    expect(sample(after, 'hangar_commits_total', { operation: 'put', outcome: 'ok' })).toBe(1);
    expect(sample(after, 'hangar_store_operation_duration_seconds_count', { operation: 'commitManifest', outcome: 'ok' })).toBe(1);
    expect(sample(after, 'hangar_store_operation_duration_seconds_count', { backend: 'memory', operation: 'getSegment' })).toBeGreaterThanOrEqual(1);
    // The second read of the frame (CSV over HTTP) found its segment decoded by the first (Flight).
    expect(sample(after, 'hangar_read_cache_misses_total')).toBe(1);
    expect(sample(after, 'hangar_read_cache_hits_total')).toBeGreaterThanOrEqual(1);
  });
});

describe('hangar --version', () => {
  it("prints the package's version", () => {
    const { version } = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
    expect(execFileSync(process.execPath, [HANGAR_CLI, '--version'], { encoding: 'utf8' })).toBe(`${version}\n`);
  });
});
