/**
 * The snapshots part of the conformance suite: the store keeps snapshot documents per bucket (a
 * create is a compare-and-swap; deleting the bucket removes them), and through the engine a
 * snapshot reads its frames' versions back exactly after appends, replaces, deletes and vacuum.
 */
import { Table, makeVector } from 'apache-arrow';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FrameStore } from '../storage/frame-store.js';
import { HangarEngine } from '../core/engine.js';
import { AlreadyExistsError, NotFoundError } from '../errors.js';
import type { FrameRef } from '../names.js';
import { ParquetCodec } from '../format/parquet/parquet-codec.js';
import type { SnapshotDocument } from '../format/snapshot-document.js';
import { collect, manifest, messagesOf, ref } from './fixtures.js';

const tableOf = (values: readonly number[]): Table => new Table({ v: makeVector(Int32Array.from(values)) });
const rowsOf = (from: number, n: number): number[] => Array.from({ length: n }, (_, i) => from + i);
const snapshotOf = (bucket: string, name: string, frames: Record<string, number>): SnapshotDocument => ({
  format: 1,
  name,
  bucket,
  createdAt: '2026-12-07T12:00:00.000Z',
  frames,
});

async function valuesOf(engine: HangarEngine, frame: FrameRef, selector: { snapshot?: string; version?: number } = {}): Promise<number[]> {
  const table = await collect((await engine.read(frame, selector)).messages);
  return Array.from((table.getChild('v')?.toArray() as Int32Array | undefined) ?? []);
}

/** Registers the snapshot tests; `current` returns the store of the running test. */
export function registerSnapshotTests(current: () => FrameStore): void {
  describe('snapshots', () => {
    it('stores snapshot documents per bucket: create once, read, list, delete', async () => {
      const store = current();
      await store.commitManifest(ref('f', 'b'), manifest(1));
      expect(await store.putSnapshot(snapshotOf('b', 'close', { f: 1 }))).toBe(true);
      expect(await store.putSnapshot(snapshotOf('b', 'close', { f: 9 }))).toBe(false);
      expect(await store.putSnapshot(snapshotOf('default', 'close', { g: 2 }))).toBe(true);
      expect(await store.getSnapshot('b', 'close')).toEqual(snapshotOf('b', 'close', { f: 1 }));
      expect((await store.getSnapshot('default', 'close'))?.frames).toEqual({ g: 2 });
      expect(await store.getSnapshot('b', 'nope')).toBeUndefined();
      await store.putSnapshot(snapshotOf('b', 'open.1', {}));
      expect((await store.listSnapshots('b')).sort()).toEqual(['close', 'open.1']);
      expect(await store.listSnapshots('missing')).toEqual([]);
      // Snapshots are not frames, and do not make a bucket.
      expect(await store.listFrames('b')).toEqual(['f']);
      expect(await store.deleteSnapshot('b', 'close')).toBe(true);
      expect(await store.deleteSnapshot('b', 'close')).toBe(false);
      expect(await store.listSnapshots('b')).toEqual(['open.1']);
      expect(await store.getSnapshot('default', 'close')).toBeDefined();
    });

    it('deleting a bucket deletes its snapshots', async () => {
      const store = current();
      await store.commitManifest(ref('f', 'gone'), manifest(1));
      await store.putSnapshot(snapshotOf('gone', 's', { f: 1 }));
      await store.deleteBucket('gone');
      expect(await store.listSnapshots('gone')).toEqual([]);
      expect(await store.getSnapshot('gone', 's')).toBeUndefined();
    });

    describe('through the engine', () => {
      let codec: ParquetCodec;
      beforeAll(() => {
        codec = new ParquetCodec(1);
      });
      afterAll(async () => {
        await codec.close();
      });

      it('reads every frame as the snapshot holds it after appends, replaces, deletes and vacuum; deleting it frees them', async () => {
        const store = current();
        const engine = new HangarEngine(store, codec, { segmentBytes: 512, compactThreshold: 0, retention: { keepVersions: 1, graceMs: 0 } });
        const prices = ref('prices', 'b');
        const fx = ref('fx', 'b');
        await engine.put(prices, 'error', messagesOf(tableOf(rowsOf(0, 300))));
        await engine.put(fx, 'error', messagesOf(tableOf(rowsOf(1000, 5))));
        const taken = await engine.createSnapshot('b', 'close');
        expect(taken).toMatchObject({ name: 'close', bucket: 'b', frames: { fx: 1, prices: 1 } });
        await expect(engine.createSnapshot('b', 'close')).rejects.toBeInstanceOf(AlreadyExistsError);
        await engine.put(prices, 'append', messagesOf(tableOf(rowsOf(300, 10))));
        await engine.put(prices, 'replace', messagesOf(tableOf([7])));
        await engine.delete(fx);
        const report = await engine.vacuum({ bucket: 'b' });
        expect(report.versionsRemoved).toBeGreaterThan(0);
        // Held versions survive vacuum; the version in between (prices 2) does not.
        expect(await store.listVersions(prices)).toEqual([1, 3]);
        expect(await valuesOf(engine, prices, { snapshot: 'close' })).toEqual(rowsOf(0, 300));
        expect(await valuesOf(engine, fx, { snapshot: 'close' })).toEqual(rowsOf(1000, 5));
        expect(await valuesOf(engine, prices)).toEqual([7]);
        expect((await engine.stat(fx, { snapshot: 'close' })).rows).toBe(5);
        await expect(engine.stat(fx)).rejects.toBeInstanceOf(NotFoundError);
        // as_of never lands on a held version below a gap: the state then is not known.
        await expect(engine.read(prices, { asOf: new Date(Date.parse(taken.createdAt) + 1) })).rejects.toThrow(/no kept version as of/);
        expect((await engine.snapshots('b')).map((snapshot) => snapshot.name)).toEqual(['close']);

        await engine.deleteSnapshot('b', 'close');
        await expect(engine.deleteSnapshot('b', 'close')).rejects.toBeInstanceOf(NotFoundError);
        await engine.vacuum({ bucket: 'b' });
        expect(await store.listVersions(prices)).toEqual([3]);
        await expect(engine.read(prices, { snapshot: 'close' })).rejects.toThrow(/no snapshot 'close'/);
        await expect(engine.read(prices, { version: 1 })).rejects.toBeInstanceOf(NotFoundError);
        // Only the current version's segments are left.
        const objects = (await store.listSegmentObjects(prices)).filter((object) => object.id.endsWith('.parquet'));
        expect(objects.length).toBe((await store.getManifest(prices))!.segments.length);
        await engine.close();
      });

      it('a snapshot of named frames holds only those; unknown frames and buckets are refused', async () => {
        const engine = new HangarEngine(current(), codec, { compactThreshold: 0 });
        await engine.put(ref('a'), 'error', messagesOf(tableOf([1])));
        await engine.put(ref('c'), 'error', messagesOf(tableOf([2])));
        await engine.put(ref('a'), 'append', messagesOf(tableOf([3])));
        expect((await engine.createSnapshot('default', 'only-a', ['a'])).frames).toEqual({ a: 2 });
        await expect(engine.read(ref('c'), { snapshot: 'only-a' })).rejects.toThrow(/does not hold frame 'c'/);
        await expect(engine.createSnapshot('default', 'x', ['nope'])).rejects.toBeInstanceOf(NotFoundError);
        await expect(engine.createSnapshot('no-such-bucket', 'x')).rejects.toBeInstanceOf(NotFoundError);
        expect(await valuesOf(engine, ref('a'), { snapshot: 'only-a' })).toEqual([1, 3]);
        await engine.close();
      });
    });
  });
}
