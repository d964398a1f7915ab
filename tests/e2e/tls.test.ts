// TLS and mutual TLS with certificates made per run, in process and through the CLI (`hangar serve`
// with certificates and a secret, `hangar token`, `hangar user add` and `--user` login).
import { execFile, spawn } from 'node:child_process';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { promisify } from 'node:util';
import { tableFromArrays } from 'apache-arrow';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HangarClient } from '../../src/client/index.js';
import { HangarServer } from '../../src/server/hangar-server.js';
import { type TestCertificates, makeTestCertificates } from './fixtures/certificates.js';

const CLI = join(import.meta.dirname, '../../dist/cli/main.js');
const run = promisify(execFile);
const table = tableFromArrays({ x: Int32Array.from([1, 2]) });
let certs: TestCertificates;

beforeAll(() => {
  certs = makeTestCertificates();
});
afterAll(async () => {
  await rm(certs.dir, { recursive: true, force: true });
});

describe('TLS', () => {
  let server: HangarServer;
  beforeAll(async () => {
    server = await HangarServer.start({ port: 0, data: 'memory:', tls: { cert: certs.serverCert, key: certs.serverKey } });
  });
  afterAll(async () => server.close());

  it('serves grpc+tls:// to clients trusting the CA, by either certificate name', async () => {
    expect(server.location).toMatch(/^grpc\+tls:\/\/127\.0\.0\.1:\d+$/);
    for (const host of ['127.0.0.1', 'localhost']) {
      const client = HangarClient.connect(`grpc+tls://${host}:${server.port}`, { rootCertificates: certs.ca });
      await client.put(`f-${host}`, table, { mode: 'replace' });
      expect((await client.get(`f-${host}`)).numRows).toBe(2);
      client.close();
    }
  });

  it('checks the name given as override against the certificate', async () => {
    const good = HangarClient.connect(`grpc+tls://127.0.0.1:${server.port}`, { rootCertificates: certs.ca, serverNameOverride: 'localhost' });
    expect(await good.buckets()).toEqual(['default']);
    good.close();
    const bad = HangarClient.connect(`grpc+tls://127.0.0.1:${server.port}`, { rootCertificates: certs.ca, serverNameOverride: 'elsewhere.example' });
    await expect(bad.buckets()).rejects.toMatchObject({ grpcStatus: 'UNAVAILABLE' });
    bad.close();
  });

  it('is refused by clients that do not trust the CA, and refuses plaintext clients', async () => {
    const untrusting = HangarClient.connect(`grpc+tls://127.0.0.1:${server.port}`);
    await expect(untrusting.buckets()).rejects.toMatchObject({ grpcStatus: 'UNAVAILABLE' });
    untrusting.close();
    const plain = HangarClient.connect(`grpc://127.0.0.1:${server.port}`);
    await expect(plain.buckets()).rejects.toMatchObject({ grpcStatus: 'UNAVAILABLE' });
    plain.close();
  });
});

describe('mutual TLS', () => {
  let server: HangarServer;
  beforeAll(async () => {
    server = await HangarServer.start({ port: 0, data: 'memory:', tls: { cert: certs.serverCert, key: certs.serverKey, clientCa: certs.ca } });
  });
  afterAll(async () => server.close());

  it('requires a client certificate signed by the client CA', async () => {
    const anonymous = HangarClient.connect(server.location, { rootCertificates: certs.ca });
    await expect(anonymous.buckets()).rejects.toMatchObject({ grpcStatus: 'UNAVAILABLE' });
    anonymous.close();
    const known = HangarClient.connect(server.location, { rootCertificates: certs.ca, certChain: certs.clientCert, privateKey: certs.clientKey });
    expect(await known.buckets()).toEqual([]);
    known.close();
  });
});

describe('the CLI with TLS and authentication', () => {
  it('serves with certificates and a secret, prints an admin token, and mints and checks tokens and users', async () => {
    const secret = 'a-cli-test-secret-0123456789abcdef';
    const users = join(certs.dir, 'users.json');
    await run(process.execPath, [CLI, 'user', 'add', 'carol', '--users', users, '--scope', 'read:shared', '--scope', 'write:shared'], {
      env: { ...process.env, HANGAR_PASSWORD: 'pa55word' },
    });
    const child = spawn(
      process.execPath,
      [CLI, 'serve', '--port', '0', '--data', 'memory:', '--tls-cert', certs.files.serverCert, '--tls-key', certs.files.serverKey, '--users', users],
      { env: { ...process.env, HANGAR_SECRET: secret }, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
    try {
      const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
      const location = /^hangar listening on (grpc\+tls:\/\/\S+)$/.exec(String((await lines.next()).value))?.[1];
      expect(location).toBeDefined();
      const adminToken = /^hangar admin token \(valid 365 days\): (\S+)$/.exec(String((await lines.next()).value))?.[1];
      expect(adminToken).toBeDefined();
      const tls = ['--server', location!, '--tls-root-cert', certs.files.ca];
      const hangar = (args: string[], env: Record<string, string> = {}) => run(process.execPath, [CLI, ...args, ...tls], { env: { ...process.env, ...env } });

      await expect(hangar(['buckets'])).rejects.toMatchObject({ stderr: expect.stringMatching(/authentication|UNAUTHENTICATED/i) });
      expect((await hangar(['buckets', '--token', adminToken!])).stdout).toBe('');

      const { stdout: minted } = await run(process.execPath, [CLI, 'token', '--sub', 'dan', '--scope', 'read:other', '--ttl', '1h'], {
        env: { ...process.env, HANGAR_SECRET: secret },
      });
      const admin = HangarClient.connect(location!, { rootCertificates: certs.ca, headers: { authorization: `Bearer ${adminToken}` } });
      await admin.put('f', table, { bucket: 'shared' });
      await admin.put('g', table, { bucket: 'other' });
      admin.close();
      expect((await hangar(['buckets', '--token', minted.trim()])).stdout).toBe('other\n');

      expect((await hangar(['buckets', '--user', 'carol'], { HANGAR_PASSWORD: 'pa55word' })).stdout).toBe('shared\n');
      await expect(hangar(['buckets', '--user', 'carol'], { HANGAR_PASSWORD: 'wrong' })).rejects.toMatchObject({ stderr: expect.stringMatching(/password/) });
    } finally {
      child.kill('SIGTERM');
      await exited;
    }
  });

  it('refuses a non-loopback bind without authentication, and warns loudly with --insecure', async () => {
    await expect(run(process.execPath, [CLI, 'serve', '--host', '0.0.0.0', '--port', '0', '--data', 'memory:'])).rejects.toMatchObject({
      stderr: expect.stringMatching(/without authentication.*--insecure/s),
    });
    const child = spawn(process.execPath, [CLI, 'serve', '--host', '0.0.0.0', '--port', '0', '--data', 'memory:', '--insecure'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += String(chunk)));
    await new Promise((resolve) => createInterface({ input: child.stdout }).once('line', resolve));
    expect(stderr).toMatch(/WARNING.*WITHOUT AUTHENTICATION/);
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
  });
});
