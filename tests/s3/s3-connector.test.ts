// The S3 connector beyond the conformance suite, on real S3-compatible servers on 127.0.0.1:
// two servers appending to one frame, multipart uploads, configuration and error mapping.
import { request as httpRequest, createServer as createHttpServer } from 'node:http';
import { createServer } from 'node:net';
import { tableFromArrays } from 'apache-arrow';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HangarClient } from '../../src/client/index.js';
import { defaultConnectorRegistry } from '../../src/connectors/registry.js';
import { resolveS3Options, s3OptionsFromUrl } from '../../src/connectors/s3/s3-config.js';
import { S3Connector } from '../../src/connectors/s3/s3-connector.js';
import { ObjectLayout } from '../../src/storage/object-layout.js';
import type { PutOptions } from '../../src/storage/connector.js';
import { toS3HangarError } from '../../src/connectors/s3/s3-errors.js';
import {
  ConflictError,
  FailedPreconditionError,
  InvalidArgumentError,
  PermissionDeniedError,
  StorageError,
} from '../../src/errors.js';
import { HangarServer } from '../../src/index.js';
import { type S3TestServer, createS3Bucket, freshConnector, motoAvailable, startMoto, startS3rver, storeOptions } from './s3-servers.js';

const BUCKET = 'hangar-s3-tests';

/** Counts the compare-and-swaps it lost, to show the race really happened. */
class CountingS3Connector extends S3Connector {
  conflicts = 0;
  override async put(key: string, data: Uint8Array, options?: PutOptions): Promise<boolean> {
    const stored = await super.put(key, data, options);
    if (options?.ifAbsent && !stored) this.conflicts++;
    return stored;
  }
}

describe('S3 configuration', () => {
  it('reads bucket, prefix and options from an s3:// location', () => {
    const options = s3OptionsFromUrl(new URL('s3://my-bucket/a/b?endpoint=http://127.0.0.1:9000&region=eu-west-1&forcePathStyle=false&partSize=6291456'));
    expect(options).toEqual({ bucket: 'my-bucket', prefix: '/a/b', endpoint: 'http://127.0.0.1:9000', region: 'eu-west-1', forcePathStyle: false, partSize: 6291456 });
    const resolved = resolveS3Options(options, {});
    expect(resolved.root).toBe('a/b/');
    expect(resolved.forcePathStyle).toBe(false);
  });

  it('takes the endpoint and region from the AWS environment, and path style with a custom endpoint', () => {
    const resolved = resolveS3Options({ bucket: 'bkt' }, { AWS_ENDPOINT_URL: 'http://127.0.0.1:1', AWS_REGION: 'ap-south-1' });
    expect(resolved).toMatchObject({ endpoint: 'http://127.0.0.1:1', region: 'ap-south-1', forcePathStyle: true, root: '' });
    expect(resolveS3Options({ bucket: 'bkt' }, {})).toMatchObject({ endpoint: undefined, region: undefined, forcePathStyle: false });
  });

  it('refuses unknown parameters, credentials in the URL, bad buckets and tiny parts', () => {
    expect(() => s3OptionsFromUrl(new URL('s3://bkt/p?nope=1'))).toThrow(InvalidArgumentError);
    expect(() => s3OptionsFromUrl(new URL('s3://key:secret@bkt/p'))).toThrow(/credentials/);
    expect(() => resolveS3Options({ bucket: 'B' })).toThrow(InvalidArgumentError);
    expect(() => resolveS3Options({ bucket: 'bkt', partSize: 1024 })).toThrow(/partSize/);
    expect(() => resolveS3Options({ bucket: 'bkt', prefix: 'a/../b' })).toThrow(InvalidArgumentError);
  });

  it('is registered as the s3: scheme', async () => {
    const connector = await defaultConnectorRegistry().create('s3://bkt/store?region=us-east-1');
    expect((connector as ObjectLayout).connector).toBeInstanceOf(S3Connector);
    expect(((connector as ObjectLayout).connector as S3Connector).options).toMatchObject({ bucket: 'bkt', root: 'store/', region: 'us-east-1' });
  });

  it('maps denied access and rejected credentials to PERMISSION_DENIED', () => {
    const denied = Object.assign(new Error('Access Denied'), { name: 'AccessDenied', $metadata: { httpStatusCode: 403 } });
    expect(toS3HangarError(denied, 'read', 's3://b/')).toBeInstanceOf(PermissionDeniedError);
    const badKey = Object.assign(new Error('bad key'), { name: 'InvalidAccessKeyId', $metadata: { httpStatusCode: 403 } });
    expect(toS3HangarError(badKey, 'read', 's3://b/').message).toMatch(/rejected the credentials/);
  });
});

describe('S3 errors against a real server (s3rver)', () => {
  let server: S3TestServer;
  beforeAll(async () => {
    server = await startS3rver();
    await createS3Bucket(server, BUCKET);
  });
  afterAll(async () => {
    await server?.close();
  });

  it('a missing S3 bucket fails at open with FAILED_PRECONDITION naming it', async () => {
    const connector = freshConnector(server, 'no-such-bucket');
    const error = await connector.open().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(FailedPreconditionError);
    expect((error as Error).message).toMatch(/s3:\/\/no-such-bucket\/.*does not exist/);
  });

  it('rejected credentials fail at open with PERMISSION_DENIED', async () => {
    const connector = freshConnector(server, BUCKET, { credentials: { accessKeyId: 'WRONG', secretAccessKey: 'WRONG' } });
    const error = await connector.open().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PermissionDeniedError);
  });

  it('an unreachable endpoint fails after retries with a StorageError saying so', async () => {
    const port = await new Promise<number>((resolve) => {
      const probe = createServer().listen(0, '127.0.0.1', () => {
        const { port } = probe.address() as { port: number };
        probe.close(() => resolve(port));
      });
    });
    const connector = new S3Connector({ ...storeOptions(server, BUCKET), endpoint: `http://127.0.0.1:${port}`, maxAttempts: 2 });
    const error = await connector.open().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StorageError);
    expect((error as Error).message).toMatch(/unreachable/);
  });

  it('conditionalWrites=on refuses a store that ignores them', async () => {
    const connector = freshConnector(server, BUCKET, { conditionalWrites: 'on' });
    await expect(connector.open()).rejects.toThrow(/If-None-Match/);
  });
});

describe.skipIf(!motoAvailable)('S3 on moto: multipart and two servers', () => {
  let server: S3TestServer;
  beforeAll(async () => {
    server = await startMoto();
    await createS3Bucket(server, BUCKET);
  });
  afterAll(async () => {
    await server?.close();
  });

  it('retries throttling (503 SlowDown) and lost answers with backoff, and gives up after maxAttempts', async () => {
    // A loopback proxy in front of moto answers the first `throttle` requests with SlowDown.
    let throttle = 0;
    let throttled = 0;
    let dropAnswers = 0;
    const target = new URL(server.endpoint);
    const proxy = createHttpServer((req, res) => {
      if (throttle > 0) {
        throttle--;
        throttled++;
        req.resume();
        res.writeHead(503, { 'content-type': 'application/xml' });
        res.end('<?xml version="1.0" encoding="UTF-8"?><Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message></Error>');
        return;
      }
      const drop = dropAnswers > 0 && req.method === 'PUT' && /\/(_delta_log|manifests)\//.test(req.url ?? '');
      if (drop) dropAnswers--;
      const upstream = httpRequest({ host: target.hostname, port: target.port, method: req.method, path: req.url, headers: req.headers }, (answer) => {
        if (drop) {
          // The store applied the request, but its answer is lost on the way back.
          answer.resume();
          res.socket?.destroy();
          return;
        }
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      });
      req.pipe(upstream);
    });
    await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
    const endpoint = `http://127.0.0.1:${(proxy.address() as { port: number }).port}`;
    try {
      const patient = new ObjectLayout(freshConnector(server, BUCKET, { endpoint, maxAttempts: 4, retryMode: 'standard' }));
      await patient.open();
      throttle = 3;
      await patient.putSegment({ bucket: 'b', name: 'f' }, 's', Uint8Array.of(1, 2, 3));
      expect(throttled).toBe(3);
      expect([...(await patient.getSegment({ bucket: 'b', name: 'f' }, 's'))]).toEqual([1, 2, 3]);
      await patient.close();

      // A commit PUT (the version's Delta commit, or manifest) stored but answered with a reset: the retry gets 412 on our own object,
      // which the connector recognises as its own commit (no ConflictError, no double append).
      const lossy = new ObjectLayout(freshConnector(server, BUCKET, { endpoint, maxAttempts: 3, retryMode: 'standard', conditionalWrites: 'on' }));
      await lossy.open();
      dropAnswers = 1;
      const manifest = { format: 1 as const, version: 1, committedAt: new Date().toISOString(), schema: '', rows: 1, bytes: 0, segments: [] };
      await lossy.commitManifest({ bucket: 'b', name: 'lossy' }, manifest);
      expect(dropAnswers).toBe(0);
      expect(await lossy.getManifest({ bucket: 'b', name: 'lossy' })).toEqual(manifest);
      await expect(lossy.commitManifest({ bucket: 'b', name: 'lossy' }, { ...manifest, rows: 2 })).rejects.toBeInstanceOf(ConflictError);
      await lossy.close();

      const impatient = new ObjectLayout(freshConnector(server, BUCKET, { endpoint, maxAttempts: 2, retryMode: 'standard' }));
      await impatient.open();
      throttle = 2;
      throttled = 0;
      await expect(impatient.putSegment({ bucket: 'b', name: 'f' }, 's', Uint8Array.of(1))).rejects.toBeInstanceOf(StorageError);
      expect(throttled).toBe(2);
      await impatient.close();
    } finally {
      await new Promise((resolve) => proxy.close(resolve));
    }
  });

  it('sends a segment above the threshold as a multipart upload and reads it back exactly', async () => {
    const MIB = 1024 * 1024;
    const s3Connector = freshConnector(server, BUCKET, { multipartThreshold: 5 * MIB, partSize: 5 * MIB });
    const connector = new ObjectLayout(s3Connector);
    await connector.open();
    try {
      const bytes = Uint8Array.from({ length: 12 * MIB + 123 }, (_, i) => (i * 7919) % 256);
      await connector.putSegment({ bucket: 'b', name: 'f' }, 'big.parquet', bytes);
      const { S3Client, HeadObjectCommand } = await import('@aws-sdk/client-s3');
      const s3 = new S3Client({ endpoint: server.endpoint, region: 'us-east-1', forcePathStyle: true, credentials: server.credentials });
      const head = await s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: `${s3Connector.options.root}b/f/segments/big.parquet` }));
      s3.destroy();
      expect(head.ETag).toMatch(/-3"$/); // a multipart object's ETag names its part count
      expect(head.ContentLength).toBe(bytes.byteLength);
      expect(Buffer.from(await connector.getSegment({ bucket: 'b', name: 'f' }, 'big.parquet')).equals(Buffer.from(bytes))).toBe(true);
    } finally {
      await connector.close();
    }
  });

  it('two servers appending to one frame through one bucket lose no row', async () => {
    const options = storeOptions(server, BUCKET, { conditionalWrites: 'on' });
    const connectors = [new CountingS3Connector(options), new CountingS3Connector(options)];
    const servers = await Promise.all(connectors.map((connector) => HangarServer.start({ host: '127.0.0.1', port: 0, connector })));
    const clients = servers.map((s) => HangarClient.connect(s.location));
    try {
      await clients[0]!.put('shared', tableFromArrays({ writer: Int32Array.of(-1), seq: Int32Array.of(-1) }));
      const appendsPerWriter = 6;
      // No client retries: a server that loses the compare-and-swap to the other re-commits its
      // stored segments on top of the new version (the engine's commit retry).
      const writer = async (w: number) => {
        for (let seq = 0; seq < appendsPerWriter; seq++) {
          await clients[w]!.put('shared', tableFromArrays({ writer: Int32Array.of(w, w), seq: Int32Array.of(seq, seq) }), { mode: 'append' });
        }
      };
      await Promise.all([writer(0), writer(1)]);
      const table = await clients[1]!.get('shared');
      expect(table.numRows).toBe(1 + 2 * appendsPerWriter * 2);
      for (const w of [0, 1]) {
        const seqs = new Set<number>();
        for (let i = 0; i < table.numRows; i++) if (table.getChild('writer')!.get(i) === w) seqs.add(table.getChild('seq')!.get(i) as number);
        expect([...seqs].sort((a, b) => a - b)).toEqual(Array.from({ length: appendsPerWriter }, (_, i) => i));
      }
      const stat = await clients[0]!.stat('shared');
      expect(stat.version).toBe(1 + 2 * appendsPerWriter);
      console.info(`two-server append race: ${connectors[0]!.conflicts + connectors[1]!.conflicts} lost compare-and-swap(s), re-committed`);
    } finally {
      for (const client of clients) client.close();
      for (const s of servers) await s.close();
    }
  });
});
