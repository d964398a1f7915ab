// Reads racing removals on S3 (moto; issue 24): gets and SQL racing delete, replace, purge and
// bucket deletes answer the rows of one put or NOT_FOUND — in one engine, and with the removals
// made by a second engine over the same prefix (another process: its vacuum does not wait for the
// first one's reads). A segment object gone that no removal took is still DATA_LOSS. The memory
// and local stores: tests/unit/read-races.test.ts.
import { afterAll, describe, expect, it } from 'vitest';
import { HangarEngine } from '../../src/core/engine.js';
import { HangarError } from '../../src/errors.js';
import { ParquetCodec } from '../../src/format/parquet/parquet-codec.js';
import { ObjectLayout } from '../../src/storage/object-layout.js';
import { segmentKey } from '../../src/storage/layout-keys.js';
import { collect } from '../../src/testing/fixtures.js';
import { generation, raceRounds } from '../helpers/read-races.js';
import { freshConnector, motoAvailable, motoForSuite } from './s3-servers.js';

const BUCKET = 'hangar-read-races';
const ROUNDS = 12;
const OPTIONS = { readCacheBytes: 0, segmentBytes: 64 * 1024, retention: { keepVersions: 1, graceMs: 0 } };

// moto needs the interop venv (npm test creates it); without it this file is skipped, loudly.
describe.skipIf(!motoAvailable)('reads racing removals on S3 (moto)', () => {
  const moto = motoForSuite(BUCKET);
  const codec = new ParquetCodec(2);
  afterAll(() => codec.close());

  it(`${ROUNDS} rounds in one engine, and ${ROUNDS} with the removals made by a second engine, answer rows or NOT_FOUND`, async () => {
    const first = freshConnector(moto(), BUCKET);
    const second = freshConnector(moto(), BUCKET, { prefix: first.options.root });
    const layouts = [new ObjectLayout(first), new ObjectLayout(second)];
    await Promise.all(layouts.map((layout) => layout.open()));
    const [reader, writer] = layouts.map((layout) => new HangarEngine(layout, codec, OPTIONS)) as [HangarEngine, HangarEngine];
    try {
      const same = await raceRounds(reader, { bucket: 'races', name: 'same' }, ROUNDS);
      const other = await raceRounds(reader, { bucket: 'races2', name: 'other' }, ROUNDS, writer);
      expect([...same.wrong, ...other.wrong]).toEqual([]);
      expect(same.rows + other.rows).toBeGreaterThan(0);
      expect(same.notFound + other.notFound).toBeGreaterThan(0);
    } finally {
      await reader.close();
      await writer.close();
      await Promise.all(layouts.map((layout) => layout.close()));
    }
  }, 240_000);

  it('a segment object gone that no removal took is still DATA_LOSS', async () => {
    const bytes = freshConnector(moto(), BUCKET);
    const store = new ObjectLayout(bytes);
    await store.open();
    const engine = new HangarEngine(store, codec, OPTIONS);
    try {
      const ref = { bucket: 'b', name: 'lost' };
      await engine.put(ref, 'replace', generation(1));
      const lost = (await store.getManifest(ref))!.segments[1]!.id;
      await bytes.delete([segmentKey(ref, lost)]);
      for (const read of [engine.read(ref).then((stream) => collect(stream.messages)), engine.query('SELECT sum(i) FROM b.lost', { bucket: 'b' }).then((stream) => collect(stream.messages))]) {
        const error = await read.then(
          () => undefined,
          (caught: unknown) => caught,
        );
        expect(error).toBeInstanceOf(HangarError);
        expect((error as HangarError).code).toBe('DATA_LOSS');
        expect((error as HangarError).message).toContain(lost);
      }
    } finally {
      await engine.close();
      await store.close();
    }
  }, 60_000);
});
