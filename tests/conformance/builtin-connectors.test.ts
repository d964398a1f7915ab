import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LocalConnector } from '../../src/connectors/local/local-connector.js';
import { MemoryConnector } from '../../src/connectors/memory/memory-connector.js';
import { runConnectorConformance } from '../../src/testing/index.js';

const roots = new WeakMap<object, string>();

runConnectorConformance({ name: 'memory', create: async () => new MemoryConnector() });

runConnectorConformance({
  name: 'local',
  create: async () => {
    const root = await mkdtemp(join(tmpdir(), 'hangar-conformance-'));
    const connector = new LocalConnector({ root, fsync: false });
    roots.set(connector, root);
    return connector;
  },
  reopen: async (previous) => {
    const root = roots.get(previous)!;
    const connector = new LocalConnector({ root, fsync: false });
    roots.set(connector, root);
    return connector;
  },
  destroy: async (connector) => {
    const root = roots.get(connector);
    if (root) await rm(root, { recursive: true, force: true });
  },
});
