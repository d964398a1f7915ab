// The local store under the layout: segments are written in place (staged, synced, renamed), a
// commit names them, and what is never committed disappears with the instance, leaving no
// directories behind.
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LocalConnector } from '../../src/connectors/local/local-connector.js';
import { NotFoundError } from '../../src/errors.js';
import type { FrameManifest } from '../../src/format/manifest.js';
import { ObjectLayout } from '../../src/storage/object-layout.js';

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

describe('local store with fsync on', () => {
  it('commits only what the manifest names; dropped segments are gone; staging is left empty', async () => {
    const store = new ObjectLayout(new LocalConnector({ root, fsync: true }));
    await store.open();
    await Promise.all(['a', 'b', 'c'].map((id, i) => store.putSegment(ref, id, Uint8Array.of(i, i, i, i))));
    expect([...(await store.getSegment(ref, 'b'))]).toEqual([1, 1, 1, 1]);
    await store.deleteSegments(ref, ['c']);
    await expect(store.getSegment(ref, 'c')).rejects.toBeInstanceOf(NotFoundError);
    await store.commitManifest(ref, manifest(['a', 'b']));
    expect((await readdir(join(root, 'default', 'f', 'segments'))).sort()).toEqual(['a', 'b']);
    expect([...(await store.getSegment(ref, 'a'))]).toEqual([0, 0, 0, 0]);
    await store.close();
    expect(await readdir(join(root, '.staging'))).toEqual([]);
    expect([...(await new LocalConnector({ root }).get('default/f/segments/a'))!]).toEqual([0, 0, 0, 0]);
  });

  it('removes uncommitted segments on close, and the directories they made', async () => {
    const store = new ObjectLayout(new LocalConnector({ root, fsync: true }));
    await store.open();
    await store.putSegment(ref, 'x', new Uint8Array(1 << 20));
    await store.close();
    expect(await readdir(join(root, '.staging'))).toEqual([]);
    expect(existsSync(join(root, 'default'))).toBe(false);
  });
});
