// The local connector's staging: segments are written, synced in the background, and moved into
// the frame only by a commit; what is never committed disappears with the instance.
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LocalConnector } from '../../src/connectors/local/local-connector.js';
import { NotFoundError } from '../../src/core/errors.js';
import type { FrameManifest } from '../../src/core/manifest.js';

const ref = { bucket: 'default', name: 'f' };
const segment = (id: string) => ({ id, rows: 1, bytes: 4, storedBytes: 4, rowGroups: 1 });
const manifest = (ids: string[]): FrameManifest => ({
  format: 1, version: 1, committedAt: '2026-01-01T00:00:00.000Z', schema: '', rows: ids.length, bytes: 4 * ids.length, segments: ids.map(segment),
});

let root: string;
beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'hangar-local-staging-'));
});
afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('local staging with fsync on', () => {
  it('commits only what the manifest names; dropped segments are gone', async () => {
    const connector = new LocalConnector({ root, fsync: true });
    await connector.open();
    await Promise.all(['a', 'b', 'c'].map((id, i) => connector.putSegment(ref, id, Uint8Array.of(i, i, i, i))));
    expect([...(await connector.getSegment(ref, 'b'))]).toEqual([1, 1, 1, 1]);
    await connector.deleteSegments(ref, ['c']);
    await expect(connector.getSegment(ref, 'c')).rejects.toBeInstanceOf(NotFoundError);
    await connector.commitManifest(ref, manifest(['a', 'b']));
    expect((await readdir(join(root, 'default', 'f', 'segments'))).sort()).toEqual(['a', 'b']);
    expect([...(await connector.getSegment(ref, 'a'))]).toEqual([0, 0, 0, 0]);
    await connector.close();
    expect(await readdir(join(root, '.staging'))).toEqual([]);
  });

  it('removes uncommitted segments on close, while their syncs may still run', async () => {
    const connector = new LocalConnector({ root, fsync: true });
    await connector.open();
    await connector.putSegment(ref, 'x', new Uint8Array(1 << 20));
    await connector.close();
    expect(await readdir(join(root, '.staging'))).toEqual([]);
    expect(existsSync(join(root, 'default', 'f'))).toBe(false);
  });
});
