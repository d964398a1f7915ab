// The whole connector conformance suite, unchanged, on the S3 connector over two independent
// S3-compatible servers started here on 127.0.0.1: moto (conditional writes) and s3rver (none).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { S3Connector } from '../../src/connectors/s3/s3-connector.js';
import { runConnectorConformance } from '../../src/testing/index.js';
import { type S3TestServer, createS3Bucket, freshConnector, motoAvailable, startMoto, startS3rver } from '../s3/s3-servers.js';

const BUCKET = 'hangar-conformance';

for (const kind of ['moto', 's3rver'] as const) {
  // moto needs the interop venv (npm test creates it); without it the moto half is skipped, loudly.
  describe.skipIf(kind === 'moto' && !motoAvailable)(`S3 on ${kind}`, () => {
    let server: S3TestServer;
    beforeAll(async () => {
      server = kind === 'moto' ? await startMoto() : await startS3rver();
      await createS3Bucket(server, BUCKET);
    });
    afterAll(async () => {
      await server?.close();
    });

    it(kind === 'moto' ? 'detects conditional writes' : 'detects the missing conditional writes and downgrades', async () => {
      const connector = freshConnector(server, BUCKET);
      await connector.open();
      expect(connector.usesConditionalWrites).toBe(kind === 'moto');
      expect(connector.consistency).toBe(kind === 'moto' ? 'atomic' : 'single-process');
      await connector.close();
    });

    runConnectorConformance({
      name: `s3 (${kind})`,
      create: async () => freshConnector(server, BUCKET, { conditionalWrites: kind === 'moto' ? 'on' : 'off' }),
      reopen: async (previous) => new S3Connector({ ...freshOptions(previous), conditionalWrites: kind === 'moto' ? 'on' : 'off' }),
    });
  });
}

function freshOptions(previous: unknown) {
  const o = (previous as S3Connector).options;
  return {
    bucket: o.bucket,
    prefix: o.root,
    ...(o.endpoint ? { endpoint: o.endpoint } : {}),
    ...(o.region ? { region: o.region } : {}),
    ...(o.credentials ? { credentials: o.credentials } : {}),
    maxAttempts: o.maxAttempts,
  };
}
