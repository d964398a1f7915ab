/**
 * The whole frame-store and engine conformance suite on the manifest layout (docs/storage-layout.md),
 * in memory and on disk, named explicitly: the Delta log is the default, and stores written by earlier
 * releases are still served in manifests.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LocalConnector } from '../../src/connectors/local/local-connector.js';
import { MemoryConnector } from '../../src/connectors/memory/memory-connector.js';
import { ObjectLayout } from '../../src/storage/object-layout.js';
import { runFrameStoreConformance } from '../../src/testing/index.js';

runFrameStoreConformance({ name: 'manifest layout over memory', create: async () => new ObjectLayout(new MemoryConnector(), { log: 'hangar' }) });

const roots = new WeakMap<object, string>();
const localLayout = (root: string): ObjectLayout => {
  const layout = new ObjectLayout(new LocalConnector({ root, fsync: false }), { log: 'hangar' });
  roots.set(layout, root);
  return layout;
};

runFrameStoreConformance({
  name: 'manifest layout over local files',
  create: async () => localLayout(await mkdtemp(join(tmpdir(), 'hangar-manifest-conformance-'))),
  reopen: async (previous) => localLayout(roots.get(previous)!),
  destroy: async (store) => {
    const root = roots.get(store);
    if (root) await rm(root, { recursive: true, force: true });
  },
});
