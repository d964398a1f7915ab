// The frame store conformance suite, unchanged, on a MountedStore: the buckets the suite uses are
// spread over three local stores (the default one and two mounts), so every call it makes is routed.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LocalConnector } from '../../src/connectors/local/local-connector.js';
import { MountedStore } from '../../src/storage/mounted-store.js';
import { ObjectLayout } from '../../src/storage/object-layout.js';
import { runFrameStoreConformance } from '../../src/testing/index.js';

const directories = new WeakMap<object, string>();
const storeIn = (root: string): ObjectLayout => new ObjectLayout(new LocalConnector({ root, fsync: false }));

/** `default`, `b2`, `again` … stay on the default store; `b`, `b1`, `empty` on one mount, `kept`, `gone` on another. */
function mountedStore(directory: string): MountedStore {
  const first = storeIn(join(directory, 'first'));
  const second = storeIn(join(directory, 'second'));
  const mounts = new Map([
    ['b', first],
    ['b1', first],
    ['empty', first],
    ['kept', second],
    ['gone', second],
  ]);
  const store = new MountedStore(storeIn(join(directory, 'default')), mounts);
  directories.set(store, directory);
  return store;
}

runFrameStoreConformance({
  name: 'mounted buckets over three local stores',
  create: async () => mountedStore(await mkdtemp(join(tmpdir(), 'hangar-mounted-'))),
  reopen: async (previous) => mountedStore(directories.get(previous)!),
  destroy: async (store) => {
    const directory = directories.get(store);
    if (directory) await rm(directory, { recursive: true, force: true });
  },
});
