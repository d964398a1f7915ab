// The local store prunes directories a delete leaves empty, up to the root, while other writes may
// be creating paths through those very directories: every put must still land (found by the soak,
// where a put-then-delete loop met the background vacuum: ENOENT creating `<bucket>/<frame>/segments`).
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { LocalConnector } from '../../src/connectors/local/local-connector.js';

it('puts into directories that concurrent deletes are pruning, without losing one', async () => {
  const root = await mkdtemp(join(tmpdir(), 'hangar-local-races-'));
  const store = new LocalConnector({ root, fsync: false });
  await store.open();
  try {
    for (let round = 0; round < 300; round++) {
      const frame = `b${round % 3}/f`;
      await store.put(`${frame}/segments/old`, Uint8Array.of(1), { ifAbsent: true });
      // The delete empties `segments` and prunes it, `f` and `bN` unless the put gets there first.
      const [, linked, plain] = await Promise.all([
        store.delete([`${frame}/segments/old`]),
        store.put(`${frame}/manifests/${round}.json`, Uint8Array.of(2), { ifAbsent: true }),
        store.put(`${frame}/segments/new-${round}`, Uint8Array.of(3)).then(() => store.put(`${frame}/x/${round}`, Uint8Array.of(4), { ifAbsent: true })),
      ]);
      expect([linked, plain]).toEqual([true, true]);
      expect([...(await store.get(`${frame}/manifests/${round}.json`))!]).toEqual([2]);
      expect([...(await store.get(`${frame}/segments/new-${round}`))!]).toEqual([3]);
      await store.delete([`${frame}/manifests/${round}.json`, `${frame}/segments/new-${round}`, `${frame}/x/${round}`]);
    }
  } finally {
    await store.close();
    await rm(root, { recursive: true, force: true });
  }
});
