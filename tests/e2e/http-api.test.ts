// The HTTP API end to end against a real server: buckets, frames, versions, data in and out in every
// format, SQL, problem+json errors, scopes as Flight enforces them, the session cookie, OpenAPI.
import { RecordBatchReader, Table, TimestampMillisecond, Utf8, tableFromArrays, tableFromIPC, tableToIPC, vectorFromArray } from 'apache-arrow';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HangarClient } from '../../src/client/index.js';
import { parseScopes } from '../../src/server/auth/scopes.js';
import { UsersFile } from '../../src/server/auth/users-file.js';
import { HangarServer } from '../../src/server/hangar-server.js';
import { get as httpsGet } from 'node:https';
import { makeTestCertificates } from './fixtures/certificates.js';

const SECRET = 'test-secret-of-at-least-32-bytes!!';
let server: HangarServer;
let dir: string;
let base: string;
let adminToken: string;
const token = (scope: string, sub = 'tester'): string => server.authenticator.issue(sub, parseScopes(scope));

/** A fetch of an API path with a bearer token. */
function api(path: string, init: RequestInit & { token?: string } = {}): Promise<Response> {
  const { token: bearer = adminToken, headers, ...rest } = init;
  return fetch(`${base}${path}`, { ...rest, headers: { ...(bearer ? { authorization: `Bearer ${bearer}` } : {}), ...(headers as Record<string, string>) } });
}

const prices = new Table({
  ts: vectorFromArray(['2026-01-01T00:00:00Z', '2026-01-01T00:01:00Z', '2026-01-01T00:02:00Z'].map(Date.parse), new TimestampMillisecond()),
  sym: vectorFromArray(['A', 'B', 'A']),
  px: vectorFromArray(Float64Array.from([1.5, 2.5, 3.5])),
});

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'hangar-http-'));
  const users = await UsersFile.load(join(dir, 'users.json'), true);
  await users.set('alice', 'wonderland', parseScopes('read:market write:market'));
  server = await HangarServer.start({ port: 0, data: 'memory:', auth: { secret: SECRET, users }, http: { port: 0 } });
  base = `${server.httpUrl}/api/v1`;
  adminToken = token('admin', 'root');
  const client = HangarClient.connect(server.location, { headers: { authorization: `Bearer ${adminToken}` } });
  await client.put('prices', prices, { bucket: 'market' });
  await client.put('secret', prices, { bucket: 'vault' });
  client.close();
});
afterAll(async () => {
  await server.close();
  await rm(dir, { recursive: true, force: true });
});

describe('HTTP API: reading', () => {
  it('lists buckets and frames, and describes a frame', async () => {
    expect(server.httpUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(await (await api('/buckets')).json()).toEqual({ buckets: ['market', 'vault'] });
    const frames = (await (await api('/buckets/market/frames')).json()) as { frames: { name: string; rows: number }[] };
    expect(frames.frames.map((frame) => [frame.name, frame.rows])).toEqual([['prices', 3]]);
    const stat = (await (await api('/buckets/market/frames/prices')).json()) as Record<string, unknown>;
    expect(stat).toMatchObject({ name: 'prices', bucket: 'market', rows: 3, version: 1 });
    expect((stat.schema as { name: string }[]).map((field) => field.name)).toEqual(['ts', 'sym', 'px']);
  });

  it('streams data as Arrow by Accept, and as CSV, JSON and Parquet by format', async () => {
    const arrow = await api('/buckets/market/frames/prices/data', { headers: { accept: 'application/vnd.apache.arrow.stream' } });
    expect(arrow.headers.get('content-type')).toBe('application/vnd.apache.arrow.stream');
    const table = tableFromIPC(new Uint8Array(await arrow.arrayBuffer()));
    expect(table.numRows).toBe(3);
    expect([...table.getChild('px')!]).toEqual([1.5, 2.5, 3.5]);

    const csv = await api('/buckets/market/frames/prices/data?format=csv&columns=sym,px&limit=2');
    expect(csv.headers.get('content-type')).toMatch(/^text\/csv/);
    expect(await csv.text()).toBe('sym,px\nA,1.5\nB,2.5\n');

    const json = await api('/buckets/market/frames/prices/data?start=2026-01-01T00:01:00Z', { headers: { accept: 'application/json' } });
    expect(await json.json()).toEqual([
      { ts: '2026-01-01T00:01:00.000', sym: 'B', px: 2.5 },
      { ts: '2026-01-01T00:02:00.000', sym: 'A', px: 3.5 },
    ]);

    const parquet = await api('/buckets/market/frames/prices/data?format=parquet');
    const bytes = new Uint8Array(await parquet.arrayBuffer());
    expect(Buffer.from(bytes.subarray(0, 4)).toString()).toBe('PAR1');
    const { readParquet } = await import('parquet-wasm/node');
    const back = tableFromIPC(readParquet(bytes).intoIPCStream());
    expect([...back.getChild('sym')!]).toEqual(['A', 'B', 'A']);
  });

  it('runs SQL and returns the result in the format asked for', async () => {
    const response = await api('/sql', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ sql: 'SELECT sym, sum(px) AS total FROM prices GROUP BY sym ORDER BY sym', bucket: 'market', format: 'json' }),
    });
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual([
      { sym: 'A', total: 5 },
      { sym: 'B', total: 2.5 },
    ]);
  });

  it('writes DuckDB decimals and 128-bit sums as exact numbers in JSON and CSV', async () => {
    const sql =
      "SELECT sum(x::INTEGER) AS s, (-12.345)::DECIMAL(10,3) AS d, 0.05::DECIMAL(4,2) AS small, " +
      "(170141183460469231731687303715884105727)::HUGEINT AS big FROM range(5) t(x)";
    const query = (format: string) =>
      api('/sql', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ sql, format }) });
    expect(await (await query('json')).json()).toEqual([{ s: 10, d: -12.345, small: 0.05, big: '170141183460469231731687303715884105727' }]);
    expect(await (await query('csv')).text()).toBe('s,d,small,big\n10,-12.345,0.05,170141183460469231731687303715884105727\n');
  });

  it('serves an OpenAPI 3.1 document generated from the routes', async () => {
    const document = (await (await fetch(`${base}/openapi.json`)).json()) as { openapi: string; paths: Record<string, Record<string, { parameters: { name: string }[] }>> };
    expect(document.openapi).toBe('3.1.0');
    expect(Object.keys(document.paths)).toContain('/api/v1/buckets/{bucket}/frames/{name}/data');
    const data = document.paths['/api/v1/buckets/{bucket}/frames/{name}/data']!.get!;
    expect(data.parameters.map((parameter) => parameter.name)).toEqual(expect.arrayContaining(['bucket', 'name', 'format', 'columns', 'start', 'end', 'limit', 'version', 'as_of']));
  });
});

describe('HTTP API: writing and versions', () => {
  it('stores an Arrow IPC stream, appends CSV read by DuckDB, and keeps versions', async () => {
    const stream = tableToIPC(new Table({ n: vectorFromArray(Int32Array.from([1, 2])), label: vectorFromArray(['a', 'b'], new Utf8()) }), 'stream');
    const put = await api('/buckets/lab/frames/counts', { method: 'PUT', headers: { 'content-type': 'application/vnd.apache.arrow.stream' }, body: stream });
    expect(put.status).toBe(200);
    expect(await put.json()).toMatchObject({ rows: 2, version: 1 });

    const again = await api('/buckets/lab/frames/counts', { method: 'PUT', headers: { 'content-type': 'application/vnd.apache.arrow.stream' }, body: stream });
    expect(again.status).toBe(409);
    expect(again.headers.get('content-type')).toBe('application/problem+json');
    expect(await again.json()).toMatchObject({ title: 'FileExistsError', code: 'ALREADY_EXISTS', status: 409 });

    const csv = await api('/buckets/lab/frames/counts?mode=append', { method: 'PUT', headers: { 'content-type': 'text/csv' }, body: 'n,label\n3,c\n4,"d, e"\n' });
    expect(csv.status).toBe(200);
    expect(await csv.json()).toMatchObject({ rowsWritten: 2, rows: 4, version: 2 });
    expect(await (await api('/buckets/lab/frames/counts/data?format=csv')).text()).toBe('n,label\n1,a\n2,b\n3,c\n4,"d, e"\n');

    const deleted = await api('/buckets/lab/frames/counts', { method: 'DELETE' });
    expect(deleted.status).toBe(204);
    expect((await api('/buckets/lab/frames/counts')).status).toBe(404);
    const versions = (await (await api('/buckets/lab/frames/counts/versions')).json()) as { versions: { version: number; deleted: boolean }[] };
    expect(versions.versions.map((version) => [version.version, version.deleted])).toEqual([
      [1, false],
      [2, false],
      [3, true],
    ]);
    const restored = await api('/buckets/lab/frames/counts/restore', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ version: 1 }) });
    expect(await restored.json()).toMatchObject({ rows: 2, version: 4 });
    expect(await (await api('/buckets/lab/frames/counts/data?format=csv&version=2')).text()).toContain('4,"d, e"');
  });

  it('reads CSV with DuckDB: dates, timestamps, another delimiter', async () => {
    const body = 'day;at;value\n2026-03-01;2026-03-01 10:00:00;1.25\n2026-03-02;2026-03-02 11:30:00;2.5\n';
    const put = await api('/buckets/lab/frames/typed?mode=replace', { method: 'PUT', headers: { 'content-type': 'text/csv' }, body });
    expect(put.status).toBe(200);
    const stat = (await (await api('/buckets/lab/frames/typed')).json()) as { schema: { name: string; type: string }[] };
    expect(stat.schema.map((field) => field.type)).toEqual([expect.stringMatching(/^Date/), expect.stringMatching(/^Timestamp/), 'Float64']);
  });

  it('stores Parquet bodies and refuses bodies over the put limit, storing nothing', async () => {
    const { Table: WasmTable, writeParquet } = await import('parquet-wasm/node');
    const parquet = writeParquet(WasmTable.fromIPCStream(tableToIPC(prices, 'stream')));
    const put = await api('/buckets/lab/frames/pq', { method: 'PUT', headers: { 'content-type': 'application/vnd.apache.parquet' }, body: parquet });
    expect(put.status).toBe(200);
    expect(await put.json()).toMatchObject({ rows: 3 });

    const limited = await HangarServer.start({ port: 0, data: 'memory:', http: { port: 0 }, maxPutBytes: 1024 * 1024 });
    try {
      const big = tableToIPC(tableFromArrays({ x: new Float64Array(1_000_000) }), 'stream');
      const url = `${limited.httpUrl}/api/v1/buckets/lab/frames/big`;
      const refused = await fetch(url, { method: 'PUT', headers: { 'content-type': 'application/vnd.apache.arrow.stream' }, body: big });
      expect(refused.status).toBe(413);
      expect(await refused.json()).toMatchObject({ code: 'RESOURCE_EXHAUSTED', title: 'PayloadTooLargeError' });
      expect((await fetch(url)).status).toBe(404);
    } finally {
      await limited.close();
    }
  });

  it('refuses malformed requests with problem+json naming what was wrong', async () => {
    const badMode = await api('/buckets/lab/frames/x?mode=sideways', { method: 'PUT', headers: { 'content-type': 'text/csv' }, body: 'a\n1\n' });
    expect(badMode.status).toBe(400);
    expect(((await badMode.json()) as { detail: string }).detail).toMatch(/mode.*error.*append.*replace/);
    const badType = await api('/buckets/lab/frames/x', { method: 'PUT', headers: { 'content-type': 'image/png' }, body: 'x' });
    expect(badType.status).toBe(400);
    const truncated = await api('/buckets/lab/frames/x', { method: 'PUT', headers: { 'content-type': 'application/vnd.apache.arrow.stream' }, body: tableToIPC(prices, 'stream').subarray(0, 100) });
    expect(truncated.status).toBe(400);
    expect((await api('/buckets/lab/frames/x')).status).toBe(404);
    const unknown = await api('/buckets/lab/frames/x/data?colour=red');
    expect(unknown.status).toBe(400);
    expect(((await unknown.json()) as { detail: string }).detail).toMatch(/colour/);
    const badSql = await api('/sql', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ sql: 'SELEC 1' }) });
    expect(badSql.status).toBe(400);
    expect(await badSql.json()).toMatchObject({ title: 'DataFusionError' });
  });
});

describe('HTTP API: authentication and scopes', () => {
  it('requires a token and enforces scopes as Flight does', async () => {
    const anonymous = await api('/buckets', { token: '' });
    expect(anonymous.status).toBe(401);
    expect(await anonymous.json()).toMatchObject({ code: 'UNAUTHENTICATED' });
    const reader = token('read:market');
    expect(await (await api('/buckets', { token: reader })).json()).toEqual({ buckets: ['market'] });
    expect((await api('/buckets/vault/frames/secret/data', { token: reader })).status).toBe(403);
    const write = await api('/buckets/market/frames/new', { token: reader, method: 'PUT', headers: { 'content-type': 'text/csv' }, body: 'a\n1\n' });
    expect(write.status).toBe(403);
    expect(await write.json()).toMatchObject({ code: 'PERMISSION_DENIED' });
    const join = await api('/sql', {
      token: reader,
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ sql: 'SELECT * FROM vault.secret', bucket: 'market' }),
    });
    expect(join.status).toBe(403);
  });

  it('logs in with a password into an HttpOnly SameSite=Strict cookie that authenticates, and refuses cross-origin writes', async () => {
    const wrong = await api('/login', { token: '', method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ user: 'alice', password: 'nope' }) });
    expect(wrong.status).toBe(401);
    const login = await api('/login', { token: '', method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ user: 'alice', password: 'wonderland' }) });
    expect(login.status).toBe(200);
    const cookie = login.headers.get('set-cookie')!;
    expect(cookie).toMatch(/HttpOnly/);
    expect(cookie).toMatch(/SameSite=Strict/);
    const session = cookie.split(';')[0]!;
    expect(await (await api('/session', { token: '', headers: { cookie: session } })).json()).toMatchObject({ subject: 'alice' });
    expect(await (await api('/buckets', { token: '', headers: { cookie: session } })).json()).toEqual({ buckets: ['market'] });
    const crossSite = await api('/buckets/market/frames/prices', { token: '', method: 'DELETE', headers: { cookie: session, origin: 'https://evil.example' } });
    expect(crossSite.status).toBe(403);
    expect((await api('/buckets/market/frames/prices', { token: '' , headers: { cookie: session } })).status).toBe(200);
  });
});

describe('HTTP API: streaming', () => {
  it('streams a frame larger than a batch without buffering it whole', async () => {
    const rows = 2_000_000;
    const big = tableFromArrays({ i: Int32Array.from({ length: rows }, (_, i) => i), v: Float64Array.from({ length: rows }, (_, i) => i / 2) });
    const put = await api('/buckets/lab/frames/long', { method: 'PUT', headers: { 'content-type': 'application/vnd.apache.arrow.stream' }, body: tableToIPC(big, 'stream') });
    expect(await put.json()).toMatchObject({ rows });
    const response = await api('/buckets/lab/frames/long/data');
    const reader = await RecordBatchReader.from(response.body as unknown as AsyncIterable<Uint8Array>);
    let seen = 0;
    let batches = 0;
    for await (const batch of reader) {
      seen += batch.numRows;
      batches++;
    }
    expect(seen).toBe(rows);
    expect(batches).toBeGreaterThan(1);
  });
});

describe('HTTP API over TLS', () => {
  it('serves HTTPS with the Flight certificate', async () => {
    const certs = makeTestCertificates();
    const tls = await HangarServer.start({ port: 0, data: 'memory:', tls: { cert: certs.serverCert, key: certs.serverKey }, http: { port: 0 } });
    try {
      expect(tls.httpUrl).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
      const body = await new Promise<string>((resolve, reject) => {
        httpsGet(`${tls.httpUrl}/api/v1/buckets`, { ca: certs.ca }, (response) => {
          let text = '';
          response.setEncoding('utf8').on('data', (chunk: string) => (text += chunk));
          response.on('end', () => resolve(text));
        }).on('error', reject);
      });
      expect(JSON.parse(body)).toEqual({ buckets: [] });
    } finally {
      await tls.close();
      await rm(certs.dir, { recursive: true, force: true });
    }
  });
});
