/** The whole frame-store and engine conformance suite on the Delta log layout (docs/open-format.md), in memory and on disk. */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LocalConnector } from '../../src/connectors/local/local-connector.js';
import { MemoryConnector } from '../../src/connectors/memory/memory-connector.js';
import { ObjectLayout } from '../../src/storage/object-layout.js';
import { runFrameStoreConformance } from '../../src/testing/index.js';

runFrameStoreConformance({ name: 'delta log over memory', create: async () => new ObjectLayout(new MemoryConnector(), { log: 'delta' }) });

const roots = new WeakMap<object, string>();
const localLayout = (root: string): ObjectLayout => {
  const layout = new ObjectLayout(new LocalConnector({ root, fsync: false }), { log: 'delta' });
  roots.set(layout, root);
  return layout;
};

runFrameStoreConformance({
  name: 'delta log over local files',
  create: async () => localLayout(await mkdtemp(join(tmpdir(), 'hangar-delta-conformance-'))),
  reopen: async (previous) => localLayout(roots.get(previous)!),
  destroy: async (store) => {
    const root = roots.get(store);
    if (root) await rm(root, { recursive: true, force: true });
  },
});
