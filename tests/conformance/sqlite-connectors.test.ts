// The whole connector conformance suite, unchanged, on the SQLite catalog over the local connector
// (with reopen) and over the S3 connector on moto (conditional writes) and s3rver (none).
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe } from 'vitest';
import type { FrameStore } from '../../src/storage/frame-store.js';
import { LocalConnector } from '../../src/connectors/local/local-connector.js';
import { S3Connector } from '../../src/connectors/s3/s3-connector.js';
import { SqliteConnector } from '../../src/connectors/sqlite/sqlite-connector.js';
import { runFrameStoreConformance } from '../../src/testing/index.js';
import { type S3TestServer, createS3Bucket, motoAvailable, startMoto, startS3rver, storeOptions } from '../s3/s3-servers.js';

/** Temporary directory of each connector (catalog, and segments for the local store). */
const directories = new WeakMap<FrameStore, string>();

async function destroy(connector: FrameStore): Promise<void> {
  const directory = directories.get(connector);
  if (directory) await rm(directory, { recursive: true, force: true });
}

runFrameStoreConformance({
  name: 'sqlite over local',
  create: async () => {
    const directory = await mkdtemp(join(tmpdir(), 'hangar-sqlite-'));
    const connector = new SqliteConnector({
      catalog: join(directory, 'catalog.db'),
      storage: new LocalConnector({ root: join(directory, 'data'), fsync: false }),
      fsync: false,
    });
    directories.set(connector, directory);
    return connector;
  },
  reopen: async (previous) => {
    const directory = directories.get(previous)!;
    const connector = new SqliteConnector({
      catalog: join(directory, 'catalog.db'),
      storage: new LocalConnector({ root: join(directory, 'data'), fsync: false }),
      fsync: false,
    });
    directories.set(connector, directory);
    return connector;
  },
  destroy,
});

const BUCKET = 'hangar-sqlite-conformance';

for (const kind of ['moto', 's3rver'] as const) {
  // moto needs the interop venv (npm test creates it); without it the moto half is skipped, loudly.
  describe.skipIf(kind === 'moto' && !motoAvailable)(`sqlite over S3 on ${kind}`, () => {
    let server: S3TestServer;
    beforeAll(async () => {
      server = kind === 'moto' ? await startMoto() : await startS3rver();
      await createS3Bucket(server, BUCKET);
    });
    afterAll(async () => {
      await server?.close();
    });
    const conditionalWrites = kind === 'moto' ? 'on' : 'off';
    const prefixes = new WeakMap<FrameStore, string>();
    const make = (directory: string, prefix: string | undefined): SqliteConnector => {
      const options = storeOptions(server, BUCKET, { conditionalWrites, ...(prefix ? { prefix } : {}) });
      const connector = new SqliteConnector({ catalog: join(directory, 'catalog.db'), storage: new S3Connector(options), fsync: false });
      directories.set(connector, directory);
      prefixes.set(connector, options.prefix!);
      return connector;
    };

    runFrameStoreConformance({
      name: `sqlite over s3 (${kind})`,
      create: async () => make(await mkdtemp(join(tmpdir(), 'hangar-sqlite-s3-')), undefined),
      reopen: async (previous) => make(directories.get(previous)!, prefixes.get(previous)),
      destroy,
    });
  });
}
