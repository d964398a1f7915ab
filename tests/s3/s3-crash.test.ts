// A `hangar serve` process on S3 (moto) killed with SIGKILL in the middle of multipart uploads:
// the previous version stays readable and no partial frame becomes visible. Needs dist/ (npm test builds it).
import { existsSync } from 'node:fs';
import { tableFromArrays } from 'apache-arrow';
import { describe, expect, it } from 'vitest';
import { HangarClient } from '../../src/client/index.js';
import { S3Connector } from '../../src/connectors/s3/s3-connector.js';
import { ObjectLayout } from '../../src/storage/object-layout.js';
import { HANGAR_CLI, startHangarProcess } from '../helpers/hangar-process.js';
import { motoAvailable, motoForSuite, s3ServerEnv, storeOptions } from './s3-servers.js';

const BUCKET = 'hangar-crash';
const MIB = 1024 * 1024;

describe.skipIf(!motoAvailable || !existsSync(HANGAR_CLI))('a server killed mid-upload to S3', () => {
  const moto = motoForSuite(BUCKET);

  it('leaves the previous version intact and no partial frame', async () => {
    const options = storeOptions(moto(), BUCKET, { conditionalWrites: 'on' });
    const location = `s3://${BUCKET}/${options.prefix}?endpoint=${encodeURIComponent(moto().endpoint)}&conditionalWrites=on` +
      `&multipartThreshold=${5 * MIB}&partSize=${5 * MIB}&uploadConcurrency=1`;
    const server = await startHangarProcess(['--data', location], s3ServerEnv(moto()));
    const client = HangarClient.connect(server.location);
    try {
      await client.put('kept', tableFromArrays({ x: Float64Array.from({ length: 10 }, (_, i) => i) }));
      // Random doubles do not compress, so each ~16 MiB segment is a multipart upload of 5 MiB parts.
      const big = tableFromArrays({ x: Float64Array.from({ length: 6 * MIB }, () => Math.random()) });
      const puts = [client.put('kept', big, { mode: 'replace' }), client.put('fresh', big)].map((put) => put.catch((e: unknown) => e));

      const { S3Client, ListMultipartUploadsCommand } = await import('@aws-sdk/client-s3');
      const admin = new S3Client({ endpoint: moto().endpoint, region: 'us-east-1', forcePathStyle: true, credentials: moto().credentials });
      const deadline = Date.now() + 30_000;
      for (;;) {
        const uploads = await admin.send(new ListMultipartUploadsCommand({ Bucket: BUCKET, Prefix: options.prefix }));
        if ((uploads.Uploads ?? []).length > 0) break;
        if (Date.now() > deadline) throw new Error('no multipart upload started within 30 s');
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      admin.destroy();
      await server.kill();
      for (const outcome of await Promise.all(puts)) expect(outcome).toBeInstanceOf(Error);
    } finally {
      client.close();
      await server.kill();
    }

    const after = new ObjectLayout(new S3Connector(options));
    await after.open();
    try {
      const kept = await after.getManifest({ bucket: 'default', name: 'kept' });
      expect(kept).toMatchObject({ version: 1, rows: 10 });
      expect(await after.getManifest({ bucket: 'default', name: 'fresh' })).toBeUndefined();
      expect(await after.listFrames('default')).toEqual(['kept']);
      for (const segment of kept!.segments) expect((await after.getSegment({ bucket: 'default', name: 'kept' }, segment.id)).byteLength).toBe(segment.storedBytes);
    } finally {
      await after.close();
    }
  });
});
