// Real S3-compatible servers on 127.0.0.1 for the S3 connector's tests: moto's server (Python, from
// the interop venv; implements conditional writes) and s3rver (npm, in-process; ignores them).
import { spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { S3Connector } from '../../src/connectors/s3/s3-connector.js';
import type { S3ConnectorOptions } from '../../src/connectors/s3/s3-config.js';
import { afterAll, beforeAll } from 'vitest';
import { startChildServer } from '../helpers/child-server.js';

/** A running S3-compatible server. */
export interface S3TestServer {
  readonly kind: 'moto' | 's3rver';
  readonly endpoint: string;
  readonly credentials: { accessKeyId: string; secretAccessKey: string };
  close(): Promise<void>;
}

const VENV_PYTHON = join(import.meta.dirname, '../../.venv-interop/bin/python');

/** Whether moto's server can be started (the interop venv exists and has moto). */
export const motoAvailable: boolean =
  existsSync(VENV_PYTHON) && spawnSync(VENV_PYTHON, ['-c', 'import moto.server'], { stdio: 'ignore' }).status === 0;

/** Starts `python -m moto.server` on a free loopback port. */
export async function startMoto(): Promise<S3TestServer> {
  const server = await startChildServer(
    "moto's S3 server",
    VENV_PYTHON,
    ['-m', 'moto.server', '-H', '127.0.0.1', '-p', '0'],
    /Running on (http:\/\/127\.0\.0\.1:\d+)/,
    { env: { ...process.env, PYTHONUNBUFFERED: '1' } },
  );
  const endpoint = server.ready[1]!;
  return {
    kind: 'moto',
    endpoint,
    credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' },
    close: () => server.stop(),
  };
}

/** Starts s3rver in this process on a free loopback port, storing into a temporary directory. */
export async function startS3rver(): Promise<S3TestServer> {
  const { default: S3rver } = (await import('s3rver')) as { default: new (options: object) => { run(): Promise<{ port: number }>; close(): Promise<void> } };
  const directory = await mkdtemp(join(tmpdir(), 'hangar-s3rver-'));
  const server = new S3rver({ port: 0, address: '127.0.0.1', silent: true, directory });
  const { port } = await server.run();
  return {
    kind: 's3rver',
    endpoint: `http://127.0.0.1:${port}`,
    credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
    close: async () => {
      await server.close();
      await rm(directory, { recursive: true, force: true });
    },
  };
}

/** Creates an S3 bucket on the server. */
export async function createS3Bucket(server: S3TestServer, bucket: string): Promise<void> {
  const { S3Client, CreateBucketCommand } = await import('@aws-sdk/client-s3');
  const s3 = new S3Client({ endpoint: server.endpoint, region: 'us-east-1', forcePathStyle: true, credentials: server.credentials });
  try {
    await s3.send(new CreateBucketCommand({ Bucket: bucket }));
  } finally {
    s3.destroy();
  }
}

/** Connector options for a fresh, empty store (a new prefix) in `bucket` on the server. */
export function storeOptions(server: S3TestServer, bucket: string, extra: Partial<S3ConnectorOptions> = {}): S3ConnectorOptions {
  return {
    bucket,
    prefix: `t-${randomUUID()}`,
    endpoint: server.endpoint,
    region: 'us-east-1',
    credentials: server.credentials,
    maxAttempts: 3,
    ...extra,
  };
}

/** A fresh, unopened connector over a new prefix. */
export function freshConnector(server: S3TestServer, bucket: string, extra: Partial<S3ConnectorOptions> = {}): S3Connector {
  return new S3Connector(storeOptions(server, bucket, extra));
}

/**
 * Starts moto before the enclosing `describe`'s tests, with `bucket` created, and stops it after
 * them; returns a getter for the running server (valid inside the tests).
 */
export function motoForSuite(bucket: string): () => S3TestServer {
  let server: S3TestServer | undefined;
  beforeAll(async () => {
    server = await startMoto();
    await createS3Bucket(server, bucket);
  });
  afterAll(async () => {
    await server?.close();
  });
  return () => server!;
}

/** The environment a `hangar serve` child needs to reach `server` (its credentials and a region). */
export function s3ServerEnv(server: S3TestServer): Record<string, string> {
  return { AWS_ACCESS_KEY_ID: server.credentials.accessKeyId, AWS_SECRET_ACCESS_KEY: server.credentials.secretAccessKey, AWS_REGION: 'us-east-1' };
}

/** An `s3://` location (conditional writes on) of a fresh prefix of `bucket` on `server`, for `hangar serve --data`; `query` adds parameters. */
export function s3ServerLocation(server: S3TestServer, bucket: string, query = ''): string {
  return `s3://${bucket}/t-${randomUUID()}?endpoint=${encodeURIComponent(server.endpoint)}&conditionalWrites=on${query}`;
}
