/**
 * The versions part of the conformance suite: the
 * connector keeps old manifests readable, and through the engine every version of a random history
 * of puts, appends, replaces, deletes, restores and compactions reads back exactly, by number and
 * by instant, before and after vacuum.
 */
import { Table, makeVector } from 'apache-arrow';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FrameStore } from '../storage/frame-store.js';
import { HangarEngine } from '../core/engine.js';
import { NotFoundError } from '../errors.js';
import type { FrameRef } from '../names.js';
import { ParquetCodec } from '../format/parquet/parquet-codec.js';
import { collect, manifest, messagesOf, ref } from './fixtures.js';

/** A tiny deterministic PRNG (mulberry32), so a failing history can be replayed from its seed. */
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const rowsOf = (from: number, n: number): number[] => Array.from({ length: n }, (_, i) => from + i);
const tableOf = (values: readonly number[]): Table => new Table({ v: makeVector(Int32Array.from(values)) });

async function valuesAt(engine: HangarEngine, frame: FrameRef, selector: { version?: number; asOf?: Date }): Promise<number[]> {
  const table = await collect((await engine.read(frame, selector)).messages);
  return Array.from((table.getChild('v')?.toArray() as Int32Array | undefined) ?? []);
}

/** Registers the version tests; `current` returns the connector of the running test. */
export function registerVersionTests(current: () => FrameStore): void {
  describe('versions', () => {
    it('keeps every manifest readable by number and deletes old ones on request', async () => {
      const connector = current();
      for (let v = 1; v <= 3; v++) await connector.commitManifest(ref('h'), manifest(v, { rows: v * 10 }));
      expect(await connector.listVersions(ref('h'))).toEqual([1, 2, 3]);
      expect((await connector.getManifestVersion(ref('h'), 2))?.rows).toBe(20);
      expect(await connector.getManifestVersion(ref('h'), 7)).toBeUndefined();
      await connector.deleteManifests(ref('h'), [1, 2, 99]);
      expect(await connector.listVersions(ref('h'))).toEqual([3]);
      expect((await connector.getManifest(ref('h')))?.version).toBe(3);
      // Version numbers go on from the current one, never reusing a deleted one.
      await connector.commitManifest(ref('h'), manifest(4));
      expect(await connector.listVersions(ref('h'))).toEqual([3, 4]);
      expect(await connector.listVersions(ref('never'))).toEqual([]);
    });

    it('lists the committed segment objects of a frame with their write times', async () => {
      const connector = current();
      const before = Date.now() - 60_000;
      await connector.putSegment(ref('s'), 'one', Uint8Array.of(1));
      await connector.putSegment(ref('s'), 'two', Uint8Array.of(2));
      await connector.commitManifest(ref('s'), manifest(1, { segments: [{ id: 'one', rows: 1, bytes: 1, storedBytes: 1, rowGroups: 1 }] }));
      const objects = await connector.listSegmentObjects(ref('s'));
      // An uncommitted segment may be listed (stored in place) or not (still staged elsewhere).
      const ids = objects.map((object) => object.id);
      expect(ids).toContain('one');
      expect(ids.every((id) => id === 'one' || id === 'two')).toBe(true);
      for (const object of objects) expect(object.modifiedAt).toBeGreaterThan(before);
    });

    describe('through the engine', () => {
      let codec: ParquetCodec;
      beforeAll(() => {
        codec = new ParquetCodec(1);
      });
      afterAll(async () => {
        await codec.close();
      });

      it('reads every version of a random history back exactly, by number and by instant, also after vacuum', async () => {
        const seed = Number(process.env.HANGAR_VERSIONS_SEED ?? 7);
        const next = random(seed);
        const engine = new HangarEngine(current(), codec, { segmentBytes: 512, compactThreshold: 0, retention: { keepVersions: 4, graceMs: 0 } });
        const frame = ref('history');
        /** The model: each version's rows, or null for a deletion. */
        const model = new Map<number, number[] | null>();
        const committed = new Map<number, Date>();
        let state: number[] | null = null;
        let counter = 0;
        const fresh = (): number[] => rowsOf((counter += 1000), 1 + Math.floor(next() * 300));
        const record = async (rows: number[] | null): Promise<void> => {
          const info = await engine.versions(frame);
          const latest = info.at(-1)!;
          model.set(latest.version, rows);
          committed.set(latest.version, new Date(latest.committedAt));
          state = rows;
        };
        for (let step = 0; step < 24; step++) {
          const roll = next();
          const message = `seed ${seed}, step ${step}`;
          if (state === null && (roll < 0.5 || model.size === 0)) {
            const rows = fresh();
            await engine.put(frame, 'error', messagesOf(tableOf(rows)));
            await record(rows);
          } else if (state !== null && roll < 0.35) {
            const rows = fresh();
            await engine.put(frame, 'append', messagesOf(tableOf(rows)));
            await record([...state, ...rows]);
          } else if (state !== null && roll < 0.55) {
            const rows = fresh();
            await engine.put(frame, 'replace', messagesOf(tableOf(rows)));
            await record(rows);
          } else if (state !== null && roll < 0.65) {
            await engine.delete(frame);
            await record(null);
          } else if (state !== null && roll < 0.75) {
            const report = await engine.compact(frame);
            if (report.compacted) await record(state);
          } else {
            const live = [...model].filter(([, rows]) => rows !== null);
            const kept = new Set(await current().listVersions(frame));
            const candidates = live.filter(([version]) => kept.has(version));
            if (candidates.length === 0) continue;
            const [version, rows] = candidates[Math.floor(next() * candidates.length)]!;
            await engine.restore(frame, version);
            await record(rows);
          }
          if (step % 8 === 7) await engine.vacuum({ name: frame.name });
          const kept = new Set(await current().listVersions(frame));
          for (const [version, rows] of model) {
            if (!kept.has(version)) {
              await expect(engine.read(frame, { version }), message).rejects.toBeInstanceOf(NotFoundError);
              continue;
            }
            if (rows === null) {
              await expect(engine.read(frame, { version }), message).rejects.toThrow(/deletion/);
              await expect(engine.read(frame, { asOf: committed.get(version)! }), message).rejects.toThrow(/did not exist/);
              continue;
            }
            expect(await valuesAt(engine, frame, { version }), `${message}, version ${version}`).toEqual(rows);
            expect(await valuesAt(engine, frame, { asOf: committed.get(version)! }), `${message}, as of version ${version}`).toEqual(rows);
          }
          if (state === null) await expect(engine.stat(frame), message).rejects.toBeInstanceOf(NotFoundError);
          else expect(await valuesAt(engine, frame, {}), message).toEqual(state);
        }
        // Retention kept at most four versions (vacuum ran at steps 7, 15 and 23).
        expect((await current().listVersions(frame)).length).toBeLessThanOrEqual(4);
        await engine.close();
      });

      it('vacuum leaves the segments of a running read until it ends', async () => {
        const engine = new HangarEngine(current(), codec, { segmentBytes: 512, retention: { keepVersions: 1, graceMs: 0 } });
        const frame = ref('leased');
        await engine.put(frame, 'error', messagesOf(tableOf(rowsOf(0, 2000))));
        const read = await engine.read(frame);
        const iterator = read.messages[Symbol.asyncIterator]();
        const first = await iterator.next();
        await engine.put(frame, 'replace', messagesOf(tableOf(rowsOf(5, 3))));
        const report = await engine.vacuum({ name: frame.name });
        expect(report.versionsRemoved).toBe(1);
        const messages = [first.value];
        for (let item = await iterator.next(); !item.done; item = await iterator.next()) messages.push(item.value);
        const table = await collect((async function* () { yield* messages; })());
        expect(table.numRows).toBe(2000);
        // Once the read ended, the old segments are gone: only the current version's remain.
        await new Promise((resolve) => setTimeout(resolve, 100));
        const objects = (await current().listSegmentObjects(frame)).filter((object) => object.id.endsWith('.parquet'));
        expect(objects.length).toBe((await current().getManifest(frame))!.segments.length);
        await engine.close();
      });
    });
  });
}
