// Authentication and authorisation end to end: tokens, Handshake flows, and a token scoped to one
// bucket trying every RPC and action on another.
import { Metadata, type ServiceError, credentials, makeGenericClientConstructor, status } from '@grpc/grpc-js';
import { tableFromArrays } from 'apache-arrow';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HangarClient } from '../../src/client/index.js';
import { commandDescriptor, pathDescriptor } from '../../src/client/flight-client.js';
import { signJwt } from '../../src/server/auth/jwt.js';
import { parseScopes } from '../../src/server/auth/scopes.js';
import { UsersFile } from '../../src/server/auth/users-file.js';
import { decodeHandshake, encodeHandshake } from '../../src/flight/flight-messages.js';
import { FLIGHT_SERVICE } from './fixtures/grpc-js-flight-service.js';
import { HangarServer } from '../../src/server/hangar-server.js';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const SECRET = 'test-secret-of-at-least-32-bytes!!';
const FlightServiceClient = makeGenericClientConstructor(FLIGHT_SERVICE, 'FlightService');

let server: HangarServer;
let dir: string;
let admin: HangarClient;
let scoped: HangarClient;
const token = (scope: string, sub = 'tester'): string => server.authenticator.issue(sub, parseScopes(scope));
const clientWith = (bearer: string): HangarClient => HangarClient.connect(server.location, { headers: { authorization: `Bearer ${bearer}` } });
const table = tableFromArrays({ x: Int32Array.from([1, 2, 3]) });

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'hangar-sec-'));
  const users = await UsersFile.load(join(dir, 'users.json'), true);
  await users.set('alice', 'wonderland', parseScopes('read:a write:a'));
  server = await HangarServer.start({ port: 0, data: 'memory:', auth: { secret: SECRET, users } });
  admin = clientWith(token('admin', 'root'));
  scoped = clientWith(token('read:a write:a'));
  await admin.put('x', table, { bucket: 'a' });
  await admin.put('y', table, { bucket: 'b' });
});
afterAll(async () => {
  admin.close();
  scoped.close();
  await server.close();
  await rm(dir, { recursive: true, force: true });
});

describe('authentication', () => {
  it('refuses calls without a token, with a bad one or an expired one', async () => {
    const now = Math.floor(Date.now() / 1000);
    const cases = [
      HangarClient.connect(server.location),
      clientWith('not-a-jwt'),
      clientWith(signJwt({ sub: 'x', scope: 'admin' }, 'another secret')),
      clientWith(signJwt({ sub: 'x', scope: 'admin', exp: now - 3600 }, SECRET)),
      clientWith(`${Buffer.from('{"alg":"none"}').toString('base64url')}.${Buffer.from('{"scope":"admin"}').toString('base64url')}.`),
    ];
    for (const client of cases) {
      await expect(client.buckets()).rejects.toMatchObject({ code: 'UNAUTHENTICATED' });
      await expect(client.get('x', { bucket: 'a' })).rejects.toMatchObject({ code: 'UNAUTHENTICATED' });
      client.close();
    }
  });

  it('accepts a valid token', async () => {
    expect((await scoped.get('x', { bucket: 'a' })).numRows).toBe(3);
  });
});

describe('a token scoped to bucket a', () => {
  const denied = { code: 'PERMISSION_DENIED' };

  it('cannot read, list, describe or query bucket b', async () => {
    await expect(scoped.get('y', { bucket: 'b' })).rejects.toMatchObject(denied);
    await expect(scoped.list({ bucket: 'b' })).rejects.toMatchObject(denied);
    await expect(scoped.stat('y', { bucket: 'b' })).rejects.toMatchObject(denied);
    await expect(scoped.flight.getFlightInfo(pathDescriptor('y', 'b'))).rejects.toMatchObject(denied);
    await expect(scoped.flight.getSchema(pathDescriptor('y', 'b'))).rejects.toMatchObject(denied);
    await expect(scoped.query('SELECT * FROM y', { bucket: 'b' })).rejects.toMatchObject(denied);
    await expect(scoped.flight.getFlightInfo(commandDescriptor(JSON.stringify({ sql: 'SELECT 1', bucket: 'b' })))).rejects.toMatchObject(denied);
  });

  it('cannot reach bucket b from SQL run in bucket a', async () => {
    for (const sql of [
      'SELECT * FROM x JOIN b.y USING (x)',
      'SELECT * FROM x WHERE x IN (SELECT x FROM "b"."y")',
      'SELECT * FROM x, memory.b.y',
      "SELECT * FROM read_parquet('**/*.parquet')",
      'SELECT * FROM duckdb_views()',
      'SELECT * FROM information_schema.tables',
      'SELECT * FROM duckdb_tables',
    ]) {
      await expect(scoped.query(sql, { bucket: 'a' }), sql).rejects.toMatchObject(denied);
    }
    const ok = await scoped.query('WITH t AS (SELECT * FROM x) SELECT count(*) AS n FROM t JOIN a.x USING (x)', { bucket: 'a' });
    expect(Number(ok.getChild('n')?.get(0))).toBe(3);
  });

  it('cannot write, delete or administer bucket b, nor shut the server down', async () => {
    await expect(scoped.put('z', table, { bucket: 'b' })).rejects.toMatchObject(denied);
    await expect(scoped.delete('y', { bucket: 'b' })).rejects.toMatchObject(denied);
    await expect(scoped.deleteBucket('b', { mode: 'delete' })).rejects.toMatchObject(denied);
    await expect(scoped.deleteBucket('a', { mode: 'delete' })).rejects.toMatchObject(denied);
    // Purge removes history: write scope on the bucket is not enough.
    await expect(scoped.purge('x', { bucket: 'a' })).rejects.toMatchObject(denied);
    await expect(scoped.purge('y', { bucket: 'b' })).rejects.toMatchObject(denied);
    const resample = (body: object) => scoped.flight.doAction('resample', JSON.stringify(body)).toArray();
    await expect(resample({ source: 'y', source_bucket: 'b', target: 'r', target_bucket: 'a', mode: 'replace', sql: 'SELECT * FROM y' })).rejects.toMatchObject(denied);
    await expect(resample({ source: 'x', source_bucket: 'a', target: 'r', target_bucket: 'b', mode: 'replace', sql: 'SELECT * FROM x' })).rejects.toMatchObject(denied);
    await expect(scoped.flight.doAction('shutdown').toArray()).rejects.toMatchObject(denied);
    expect((await admin.get('y', { bucket: 'b' })).numRows).toBe(3);
    expect((await admin.get('x', { bucket: 'a' })).numRows).toBe(3);
  });

  it('sees only bucket a in listings, and may ping and list actions', async () => {
    expect(await scoped.buckets()).toEqual(['a']);
    expect((await admin.buckets()).sort()).toEqual(['a', 'b']);
    expect(await scoped.flight.listActions()).not.toHaveLength(0);
    const [pong] = await scoped.flight.doAction('ping').toArray();
    expect(Buffer.from(pong!).toString()).toBe('pong');
  });
});

describe('Handshake', () => {
  const raw = () => new FlightServiceClient(`127.0.0.1:${server.port}`, credentials.createInsecure()) as unknown as Record<string, (...args: unknown[]) => any> & { close(): void };

  function handshake(metadata: Metadata, payloads: Buffer[]): Promise<{ headers: Metadata; trailers: Metadata; replies: Buffer[] }> {
    const client = raw();
    return new Promise((resolve, reject) => {
      const call = client.Handshake!(metadata);
      let headers = new Metadata();
      const replies: Buffer[] = [];
      call.on('metadata', (m: Metadata) => (headers = m));
      call.on('data', (data: Buffer) => replies.push(Buffer.from(decodeHandshake(data).payload)));
      call.on('status', (s: { code: number; metadata: Metadata }) => {
        client.close();
        if (s.code === status.OK) resolve({ headers, trailers: s.metadata, replies });
      });
      call.on('error', (error: ServiceError) => reject(error));
      for (const payload of payloads) call.write(encodeHandshake({ protocolVersion: 0, payload }));
      call.end();
    });
  }

  it('exchanges Basic credentials (padded or not) for a Bearer token in headers and trailers', async () => {
    for (const encoded of [Buffer.from('alice:wonderland').toString('base64'), Buffer.from('alice:wonderland').toString('base64').replace(/=+$/, '')]) {
      const metadata = new Metadata();
      metadata.set('authorization', `Basic ${encoded}`);
      const { headers, trailers } = await handshake(metadata, []);
      const bearer = String(trailers.get('authorization')[0]);
      expect(bearer).toMatch(/^Bearer /);
      expect(String(headers.get('authorization')[0])).toBe(bearer);
      const client = HangarClient.connect(server.location, { headers: { authorization: bearer } });
      expect((await client.get('x', { bucket: 'a' })).numRows).toBe(3);
      await expect(client.get('y', { bucket: 'b' })).rejects.toMatchObject({ code: 'PERMISSION_DENIED' });
      client.close();
    }
  });

  it('refuses a wrong password and a Handshake without credentials', async () => {
    const metadata = new Metadata();
    metadata.set('authorization', `Basic ${Buffer.from('alice:wrong').toString('base64')}`);
    await expect(handshake(metadata, [])).rejects.toMatchObject({ code: status.UNAUTHENTICATED });
    await expect(handshake(new Metadata(), [])).rejects.toMatchObject({ code: status.UNAUTHENTICATED });
  });

  it("follows shoots' flow: the token as payload, then auth-token-bin", async () => {
    const now = Math.floor(Date.now() / 1000);
    const shootsToken = signJwt({ exp: now + 3600, iat: now, server: server.location, type: 'admin' }, SECRET);
    const { replies } = await handshake(new Metadata(), [Buffer.from(shootsToken)]);
    expect(replies.map(String)).toEqual([shootsToken]);
    const client = raw();
    const metadata = new Metadata();
    metadata.set('auth-token-bin', Buffer.from(shootsToken));
    const names = await new Promise<string[]>((resolve, reject) => {
      const call = client.DoAction!(Buffer.from([0x0a, 7, ...Buffer.from('buckets')]) as never, metadata);
      const out: string[] = [];
      call.on('data', (data: Buffer) => out.push(data.subarray(2).toString()));
      call.on('end', () => resolve(out));
      call.on('error', reject);
    });
    client.close();
    expect(JSON.parse(names[0]!).sort()).toEqual(['a', 'b']);
    await expect(handshake(new Metadata(), [Buffer.from(signJwt({ type: 'admin' }, 'wrong secret'))])).rejects.toMatchObject({ code: status.UNAUTHENTICATED });
  });
});

describe('binding', () => {
  it('refuses a non-loopback address without authentication unless insecure', async () => {
    await expect(HangarServer.start({ host: '0.0.0.0', port: 0, data: 'memory:' })).rejects.toMatchObject({ code: 'FAILED_PRECONDITION' });
    const open = await HangarServer.start({ host: '0.0.0.0', port: 0, data: 'memory:', insecure: true });
    await open.close();
  });
});
