// An S3 store that refuses writes for space or quota, as MinIO and Ceph do: a real Hangar server on
// a real S3 server (s3rver), reached through a small HTTP proxy that answers object PUTs with the
// stores' own error codes while "full" (no test server can be filled or given a quota). Checks the
// whole path — the SDK's parsing of the error document, the connector, the engine, the server and
// the client: the put answers RESOURCE_EXHAUSTED saying the store is full and what to do, stores
// nothing, earlier frames read back exactly, purge frees space, and puts work again afterwards.
import { type IncomingMessage, type Server, type ServerResponse, createServer, request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Table, vectorFromArray } from 'apache-arrow';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HangarClient } from '../../src/client/index.js';
import { S3Connector } from '../../src/connectors/s3/s3-connector.js';
import { StoreFullError } from '../../src/errors.js';
import { HangarServer } from '../../src/server/hangar-server.js';
import { type S3TestServer, createS3Bucket, startS3rver, storeOptions } from './s3-servers.js';

const BUCKET = 'hangar-full';
const MIB = 1024 * 1024;

/** The refusal the proxy answers object PUTs with, while set. */
interface Refusal {
  readonly code: string;
  readonly status: number;
}

/** The refusals of real S3-compatible stores (see src/connectors/s3/s3-errors.ts). */
const REFUSALS: readonly Refusal[] = [
  { code: 'XMinioStorageFull', status: 507 }, // MinIO past its free-drive threshold
  { code: 'QuotaExceeded', status: 403 }, // Ceph RGW user or bucket quota
  { code: 'XMinioAdminBucketQuotaExceeded', status: 400 }, // MinIO bucket quota
];

/** Forwards every request to the S3 server, except object PUTs (PutObject, UploadPart) while `refusal` is set. */
class RefusingProxy {
  refusal: Refusal | undefined;
  refused = 0;
  private readonly server: Server;

  constructor(private readonly target: URL) {
    this.server = createServer((req, res) => this.handle(req, res));
  }

  async listen(): Promise<string> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise((resolve) => this.server.close(resolve));
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const path = new URL(req.url ?? '/', 'http://proxy').pathname;
    const objectPut = req.method === 'PUT' && path.split('/').filter(Boolean).length > 1;
    if (this.refusal && objectPut) {
      const { code, status } = this.refusal;
      this.refused++;
      req.resume();
      req.once('end', () => {
        res.writeHead(status, { 'content-type': 'application/xml' });
        res.end(`<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code><Message>refused by the test proxy</Message><Resource>${path}</Resource><RequestId>proxy</RequestId></Error>`);
      });
      return;
    }
    const forwarded = request(
      { host: this.target.hostname, port: this.target.port, method: req.method, path: req.url, headers: req.headers },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    forwarded.once('error', () => res.destroy());
    req.pipe(forwarded);
  }
}

function frame(seed: number, rows: number): Table {
  const x = Float64Array.from({ length: rows }, (_, i) => seed * 1e6 + i);
  return new Table({ x: vectorFromArray(x) });
}
const bytesOf = (table: Table) => Buffer.from(Float64Array.from(table.getChild('x')!.toArray() as Float64Array).buffer);

describe('an S3 store refusing writes for space or quota (real server behind a refusing proxy)', () => {
  let s3: S3TestServer;
  let proxy: RefusingProxy;
  let server: HangarServer;
  let client: HangarClient;
  let options: ReturnType<typeof storeOptions>;

  beforeAll(async () => {
    s3 = await startS3rver();
    await createS3Bucket(s3, BUCKET);
    proxy = new RefusingProxy(new URL(s3.endpoint));
    const endpoint = await proxy.listen();
    // Small parts, so a 6 MiB segment goes up as a multipart upload and its UploadPart is refused too.
    options = { ...storeOptions(s3, BUCKET), endpoint, maxAttempts: 1, multipartThreshold: 5 * MIB, partSize: 5 * MIB };
    server = await HangarServer.start({ host: '127.0.0.1', port: 0, connector: new S3Connector(options) });
    client = HangarClient.connect(server.location);
    await client.put('kept', frame(1, 1000));
    await client.put('big-kept', frame(2, 800_000));
  });

  afterAll(async () => {
    client?.close();
    await server?.close();
    await proxy?.close();
    await s3?.close();
  });

  /** Keys stored under the store's prefix for a frame, read from the S3 server directly. */
  async function keysOf(name: string): Promise<string[]> {
    const { S3Client, ListObjectsV2Command } = await import('@aws-sdk/client-s3');
    const direct = new S3Client({ endpoint: s3.endpoint, region: 'us-east-1', forcePathStyle: true, credentials: s3.credentials });
    try {
      const listed = await direct.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: `${options.prefix}/default/${name}/` }));
      return (listed.Contents ?? []).map((object) => object.Key!);
    } finally {
      direct.destroy();
    }
  }

  for (const refusal of REFUSALS) {
    it(`answers ${refusal.code} (HTTP ${refusal.status}) with RESOURCE_EXHAUSTED, stores nothing, and recovers`, async () => {
      proxy.refusal = refusal;
      try {
        for (const [name, table] of [['small', frame(3, 100)], ['large', frame(4, 800_000)]] as const) {
          const refusedBefore = proxy.refused;
          const error = await client.put(name, table).then(() => undefined, (e: unknown) => e);
          expect(error, `put of '${name}'`).toBeInstanceOf(StoreFullError);
          const full = error as StoreFullError;
          expect(full.code).toBe('RESOURCE_EXHAUSTED');
          expect(full.message).toMatch(/\[s3\] the store is full/);
          expect(full.message).toContain(refusal.code);
          expect(full.message).toMatch(/hangar purge/);
          expect(proxy.refused).toBeGreaterThan(refusedBefore);
          await expect(client.stat(name)).rejects.toThrow(/does not exist/);
          expect(await keysOf(name), `objects left by the refused put of '${name}'`).toEqual([]);
        }
        // Reads keep working and return the earlier frames exactly.
        expect(bytesOf(await client.get('kept')).equals(bytesOf(frame(1, 1000)))).toBe(true);
        expect(bytesOf(await client.get('big-kept')).equals(bytesOf(frame(2, 800_000)))).toBe(true);
        // A delete must write its tombstone, which the store refuses too ...
        await expect(client.delete('kept')).rejects.toBeInstanceOf(StoreFullError);
        expect((await client.stat('kept')).rows).toBe(1000);
      } finally {
        proxy.refusal = undefined;
      }
      // ... while purge only deletes, so it frees space on the refusing store.
      await client.put('victim', frame(5, 1000));
      proxy.refusal = refusal;
      try {
        const report = await client.purge('victim');
        expect(report.versionsRemoved).toBe(1);
        expect(await keysOf('victim')).toEqual([]);
      } finally {
        proxy.refusal = undefined;
      }
      // Once the store accepts writes again, so does Hangar.
      await client.put('small', frame(3, 100));
      expect(bytesOf(await client.get('small')).equals(bytesOf(frame(3, 100)))).toBe(true);
      await client.purge('small');
    });
  }
});
