// Reads racing removals of the frame they read (issue 24; found by the HTTP fuzzer): a get or a SQL
// query that has resolved its version while a concurrent request deletes, replaces, purges the
// frame or deletes its bucket (and the frame is made again) answers either that version's rows
// exactly or NOT_FOUND ("deleted or replaced while being read") — never DATA_LOSS or INTERNAL,
// which tell an operator the store is damaged. Real damage (a segment gone that no removal took, a
// flipped byte) is still DATA_LOSS, for gets and SQL. The same races on S3: tests/s3/s3-read-races.test.ts.
import { mkdtemp, readFile, rm, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MemoryConnector } from '../../src/connectors/memory/memory-connector.js';
import { LocalConnector } from '../../src/connectors/local/local-connector.js';
import { ObjectLayout } from '../../src/storage/object-layout.js';
import type { FrameStore } from '../../src/storage/frame-store.js';
import { SqliteConnector } from '../../src/connectors/sqlite/sqlite-connector.js';
import { segmentKey } from '../../src/storage/layout-keys.js';
import { HangarEngine } from '../../src/core/engine.js';
import { HangarError } from '../../src/errors.js';
import { ParquetCodec } from '../../src/format/parquet/parquet-codec.js';
import { collect } from '../../src/testing/fixtures.js';
import { ROWS, generation, raceRounds } from '../helpers/read-races.js';

const ROUNDS = 40;

let codec: ParquetCodec;
beforeAll(() => {
  codec = new ParquetCodec(2);
});
afterAll(async () => {
  await codec.close();
});

interface TestStore {
  readonly store: FrameStore;
  /** Removes a stored object behind Hangar's back (damage no removal made). */
  readonly lose: (key: string) => Promise<void>;
  /** Flips one byte of a stored object behind Hangar's back. */
  readonly flip: (key: string) => Promise<void>;
  readonly dispose: () => Promise<void>;
}

const stores: Record<string, () => Promise<TestStore>> = {
  memory: async () => {
    const bytes = new MemoryConnector();
    const store = new ObjectLayout(bytes);
    await store.open();
    return {
      store,
      lose: (key) => bytes.delete([key]),
      flip: async (key) => {
        const object = Uint8Array.from((await bytes.get(key))!);
        object[object.length >> 1]! ^= 0xff;
        await bytes.put(key, object);
      },
      dispose: () => store.close(),
    };
  },
  local: async () => {
    const root = await mkdtemp(join(tmpdir(), 'hangar-read-races-'));
    const bytes = new LocalConnector({ root, fsync: false });
    const store = new ObjectLayout(bytes);
    await store.open();
    return {
      store,
      lose: (key) => unlink(bytes.localPath(key)),
      flip: async (key) => {
        const object = await readFile(bytes.localPath(key));
        object[object.length >> 1]! ^= 0xff;
        await writeFile(bytes.localPath(key), object);
      },
      dispose: async () => {
        await store.close();
        await rm(root, { recursive: true, force: true });
      },
    };
  },
  sqlite: async () => {
    const root = await mkdtemp(join(tmpdir(), 'hangar-read-races-'));
    const bytes = new LocalConnector({ root: join(root, 'data'), fsync: false });
    const store = new SqliteConnector({ catalog: join(root, 'catalog.db'), storage: bytes, fsync: false });
    await store.open();
    return {
      store,
      lose: (key) => unlink(bytes.localPath(key)),
      flip: async (key) => {
        const object = await readFile(bytes.localPath(key));
        object[object.length >> 1]! ^= 0xff;
        await writeFile(bytes.localPath(key), object);
      },
      dispose: async () => {
        await store.close();
        await rm(root, { recursive: true, force: true });
      },
    };
  },
};

describe.each(Object.keys(stores))('on the %s store', (kind) => {
  it(`${ROUNDS} rounds of gets and SQL racing delete, replace, purge and bucket deletes answer the rows of one put or NOT_FOUND`, async () => {
    const { store, dispose } = await stores[kind]!();
    // No read cache (every get fetches), small segments (a get spans several), and retention that
    // vacuums every replaced version at once.
    const engine = new HangarEngine(store, codec, { readCacheBytes: 0, segmentBytes: 64 * 1024, retention: { keepVersions: 1, graceMs: 0 } });
    try {
      const report = await raceRounds(engine, { bucket: 'races', name: 'f' }, ROUNDS);
      expect(report.wrong).toEqual([]);
      // The races went both ways: reads completed from their version, and reads found it gone.
      expect(report.rows).toBeGreaterThan(0);
      expect(report.notFound).toBeGreaterThan(0);
    } finally {
      await engine.close();
      await dispose();
    }
  }, 120_000);

  it('a segment missing that no removal took, or a flipped byte, is still DATA_LOSS for gets and SQL', async () => {
    const { store, lose, flip, dispose } = await stores[kind]!();
    const engine = new HangarEngine(store, codec, { readCacheBytes: 0, segmentBytes: 64 * 1024 });
    const expectDataLoss = async (read: Promise<unknown>, segment: string): Promise<void> => {
      const error = await read.then(
        () => undefined,
        (caught: unknown) => caught,
      );
      expect(error).toBeInstanceOf(HangarError);
      expect((error as HangarError).code).toBe('DATA_LOSS');
      expect((error as HangarError).message).toContain(segment);
    };
    const get = (name: string) => engine.read({ bucket: 'b', name }).then((stream) => collect(stream.messages));
    const query = (name: string) => engine.query(`SELECT sum(i) FROM b.${name}`, { bucket: 'b' }).then((stream) => collect(stream.messages));
    try {
      for (const name of ['lost', 'lost_after_query', 'flipped']) await engine.put({ bucket: 'b', name }, 'replace', generation(1));
      const segmentOf = async (name: string, at = 1): Promise<string> => (await store.getManifest({ bucket: 'b', name }))!.segments.at(at)!.id;

      // Gone before any read.
      const lost = await segmentOf('lost');
      await lose(segmentKey({ bucket: 'b', name: 'lost' }, lost));
      await expectDataLoss(get('lost'), lost);
      await expectDataLoss(query('lost'), lost);

      // Gone after SQL made its view over the files (DuckDB then finds the file missing itself).
      await query('lost_after_query');
      const later = await segmentOf('lost_after_query', -1);
      await lose(segmentKey({ bucket: 'b', name: 'lost_after_query' }, later));
      if (store.segmentFile({ bucket: 'b', name: 'lost_after_query' }, later) !== undefined) await expectDataLoss(query('lost_after_query'), later);
      // A store without files: SQL reads the copy it made and checked, intact.
      else expect(Number((await query('lost_after_query')).get(0)!.toArray()[0])).toBe((ROWS * (ROWS - 1)) / 2);
      await expectDataLoss(get('lost_after_query'), later);

      // A flipped byte.
      const flipped = await segmentOf('flipped');
      await flip(segmentKey({ bucket: 'b', name: 'flipped' }, flipped));
      await expectDataLoss(get('flipped'), flipped);
      await expectDataLoss(query('flipped'), flipped);
    } finally {
      await engine.close();
      await dispose();
    }
  }, 60_000);
});
