// Delta checkpoints are written after the commit that is due one has answered (they cost every tenth
// put 10-50 ms): the frame's next commit, its deletion and closing the store wait for them, so they
// land in version order and never outlive the frame.
import { describe, expect, it } from 'vitest';
import { MemoryConnector } from '../../src/connectors/memory/memory-connector.js';
import { ObjectLayout } from '../../src/storage/object-layout.js';
import { deltaCheckpointKey, deltaLastCheckpointKey, framePrefix } from '../../src/storage/layout-keys.js';
import { manifest, ref } from '../../src/testing/fixtures.js';

const frame = ref('f');
const segment = (id: string) => ({ id, rows: 1, bytes: 1, storedBytes: 1, rowGroups: 1 });

async function commit(layout: ObjectLayout, version: number): Promise<void> {
  await layout.putSegment(frame, `s${version}`, Uint8Array.of(version));
  await layout.commitManifest(frame, manifest(version, { rows: 1, segments: [segment(`s${version}`)] }));
}

async function lastCheckpoint(connector: MemoryConnector): Promise<unknown> {
  const bytes = await connector.get(deltaLastCheckpointKey(frame));
  return bytes && (JSON.parse(Buffer.from(bytes).toString('utf8')) as { version: number }).version;
}

async function keysUnder(connector: MemoryConnector, prefix: string): Promise<string[]> {
  const keys: string[] = [];
  for await (const { key } of connector.list(prefix)) keys.push(key);
  return keys;
}

describe('Delta checkpoints written after their commits', () => {
  it('are in place, in version order, once the next commit or close has run', async () => {
    const connector = new MemoryConnector();
    const layout = new ObjectLayout(connector, { log: 'delta', checkpointInterval: 2 });
    for (let version = 1; version <= 4; version++) await commit(layout, version);
    // Hangar version 3 is Delta version 2: its checkpoint was due, and version 4's commit waited for it.
    expect(await connector.get(deltaCheckpointKey(frame, 3))).toBeDefined();
    expect(await lastCheckpoint(connector)).toBe(2);
    await commit(layout, 5);
    await layout.close();
    expect(await connector.get(deltaCheckpointKey(frame, 5))).toBeDefined();
    expect(await lastCheckpoint(connector)).toBe(4);
  });

  it('do not outlive a frame deleted right after the commit that was due one', async () => {
    const connector = new MemoryConnector();
    const layout = new ObjectLayout(connector, { log: 'delta', checkpointInterval: 2 });
    for (let version = 1; version <= 3; version++) await commit(layout, version);
    await layout.deleteFrame(frame);
    await layout.close();
    expect(await keysUnder(connector, framePrefix(frame))).toEqual([]);
  });
});
