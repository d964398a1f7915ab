/**
 * The connector conformance suite, published as `hangar/testing` so a custom connector's author
 * runs exactly the tests the built-in connectors pass. Call it inside a vitest test file:
 *
 * ```ts
 * import { runConnectorConformance } from 'hangar/testing';
 * runConnectorConformance({ name: 'my-store', create: async () => new MyStore() });
 * ```
 *
 * It runs the byte-store contract on the connector itself (including racing `ifAbsent` puts), then
 * the frame-level and engine-level suites (every feature, versions included) on Hangar's object
 * layout over it.
 */
import { Table, tableFromArrays, tableFromIPC } from 'apache-arrow';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Connector } from '../storage/connector.js';
import type { FrameStore } from '../storage/frame-store.js';
import { ObjectLayout } from '../storage/object-layout.js';
import { HangarEngine } from '../core/engine.js';
import { AlreadyExistsError, BucketNotEmptyError, ConflictError, InvalidArgumentError, NotFoundError } from '../errors.js';
import { type IpcMessage, joinIpcStream } from '../format/ipc-message.js';
import { ParquetCodec } from '../format/parquet/parquet-codec.js';
import { registerByteStoreTests } from './byte-store-conformance.js';
import { collect, manifest, messagesOf, ref, sampleTable } from './fixtures.js';
import { registerVersionTests } from './versions-conformance.js';
import { registerSnapshotTests } from './snapshots-conformance.js';

/** How the suite obtains stores of one kind. */
export interface StoreFactory<Store> {
  /** Shown in the describe() title. */
  readonly name: string;
  /** Returns a fresh, empty, unopened store. Called before every test. */
  readonly create: () => Promise<Store>;
  /**
   * Returns a new instance over the same storage as `previous` (for persistent stores). Needed
   * for the restart tests; they are skipped without it.
   */
  readonly reopen?: (previous: Store) => Promise<Store>;
  /** Called after every test with the store it used (e.g. to delete a temp directory). */
  readonly destroy?: (store: Store) => Promise<void>;
}

/** How the suite obtains connectors: `create` returns a fresh, empty, unopened `Connector`. */
export type ConformanceOptions = StoreFactory<Connector>;

/** Registers the conformance tests for one connector: its byte contract, then everything above it. */
export function runConnectorConformance(options: ConformanceOptions): void {
  describe(`connector conformance: ${options.name}`, () => {
    registerByteStoreTests(options);
    registerFrameStoreTests(options, (connector) => new ObjectLayout(connector));
  });
}

/**
 * Registers the frame-level and engine-level tests for a store that is a `FrameStore` already
 * (the SQLite catalog, a mounted store): what `runConnectorConformance` runs above the byte contract.
 */
export function runFrameStoreConformance(options: StoreFactory<FrameStore>): void {
  describe(`frame store conformance: ${options.name}`, () => registerFrameStoreTests(options, (store) => store));
}

function registerFrameStoreTests<Store>(options: StoreFactory<Store>, frameStoreOf: (store: Store) => FrameStore): void {
  describe('frame store', () => {
    let created: Store;
    let connector: FrameStore;
    const reopen = async (): Promise<void> => {
      await connector.close();
      created = await options.reopen!(created);
      connector = frameStoreOf(created);
      await connector.open();
    };

    beforeEach(async () => {
      created = await options.create();
      connector = frameStoreOf(created);
      await connector.open();
    });
    afterEach(async () => {
      await connector.close();
      await options.destroy?.(created);
    });

    describe('segments', () => {
      it('stores and returns bytes exactly', async () => {
        const bytes = Uint8Array.from({ length: 1000 }, (_, i) => i % 251);
        await connector.putSegment(ref('f'), 's1', bytes);
        expect(Buffer.from(await connector.getSegment(ref('f'), 's1')).equals(Buffer.from(bytes))).toBe(true);
      });

      it('keeps segments of different frames and buckets apart', async () => {
        await connector.putSegment(ref('f', 'b1'), 's', Uint8Array.of(1));
        await connector.putSegment(ref('f', 'b2'), 's', Uint8Array.of(2));
        await connector.putSegment(ref('g', 'b1'), 's', Uint8Array.of(3));
        expect([...(await connector.getSegment(ref('f', 'b1'), 's'))]).toEqual([1]);
        expect([...(await connector.getSegment(ref('f', 'b2'), 's'))]).toEqual([2]);
        expect([...(await connector.getSegment(ref('g', 'b1'), 's'))]).toEqual([3]);
      });

      it('throws NotFoundError for a missing segment', async () => {
        await expect(connector.getSegment(ref('f'), 'missing')).rejects.toBeInstanceOf(NotFoundError);
      });

      it('deletes segments and ignores ids that do not exist', async () => {
        await connector.putSegment(ref('f'), 'a', Uint8Array.of(1));
        await connector.putSegment(ref('f'), 'b', Uint8Array.of(2));
        await connector.deleteSegments(ref('f'), ['a', 'nope']);
        await expect(connector.getSegment(ref('f'), 'a')).rejects.toBeInstanceOf(NotFoundError);
        expect([...(await connector.getSegment(ref('f'), 'b'))]).toEqual([2]);
      });

      it('returns byte ranges exactly: in the order asked, overlapping, near and far apart, clipped at the end', async () => {
        // Large enough that a connector coalescing nearby ranges still makes several requests.
        const size = 2.5 * 1024 * 1024 + 17;
        const bytes = Uint8Array.from({ length: size }, (_, i) => (i * 31 + (i >> 11)) % 256);
        await connector.putSegment(ref('f'), 'ranged', bytes);
        const ranges = [
          { start: size - 8, end: size },
          { start: 0, end: 4 },
          { start: 2, end: 10 },
          { start: 100_000, end: 100_000 },
          { start: 1_500_000, end: 1_700_000 },
          { start: 1_700_010, end: 1_700_020 },
          { start: 5, end: 6 },
          { start: size - 3, end: size + 50 },
          { start: size + 10, end: size + 20 },
        ];
        const got = await connector.getSegmentRanges(ref('f'), 'ranged', ranges);
        expect(got).toHaveLength(ranges.length);
        ranges.forEach((range, index) => {
          const expected = bytes.subarray(Math.min(range.start, size), Math.min(range.end, size));
          expect(Buffer.from(got[index]!).equals(Buffer.from(expected)), `range ${range.start}-${range.end}`).toBe(true);
        });
      });

      it('getSegmentRanges throws NotFoundError for a missing segment and InvalidArgumentError for a bad range', async () => {
        await expect(connector.getSegmentRanges(ref('f'), 'missing', [{ start: 0, end: 1 }])).rejects.toBeInstanceOf(NotFoundError);
        await connector.putSegment(ref('f'), 's', Uint8Array.of(1, 2, 3));
        await expect(connector.getSegmentRanges(ref('f'), 's', [{ start: 2, end: 1 }])).rejects.toBeInstanceOf(InvalidArgumentError);
        await expect(connector.getSegmentRanges(ref('f'), 's', [{ start: -1, end: 1 }])).rejects.toBeInstanceOf(InvalidArgumentError);
      });

      it('segments alone do not make a frame visible', async () => {
        await connector.putSegment(ref('orphan'), 's', Uint8Array.of(1));
        expect(await connector.getManifest(ref('orphan'))).toBeUndefined();
        expect(await connector.listFrames('default')).not.toContain('orphan');
      });
    });

    describe('manifests', () => {
      it('returns undefined for a frame that does not exist', async () => {
        expect(await connector.getManifest(ref('nope'))).toBeUndefined();
        expect(await connector.getManifest(ref('nope', 'no-bucket'))).toBeUndefined();
      });

      it('commits version 1, then version 2, and returns the latest', async () => {
        await connector.commitManifest(ref('f'), manifest(1, { rows: 1 }));
        expect((await connector.getManifest(ref('f')))?.rows).toBe(1);
        await connector.commitManifest(ref('f'), manifest(2, { rows: 2 }));
        const current = await connector.getManifest(ref('f'));
        expect(current?.version).toBe(2);
        expect(current?.rows).toBe(2);
      });

      it('round-trips every manifest field', async () => {
        const full = manifest(1, {
          schema: 'c2NoZW1h',
          rows: 10,
          bytes: 80,
          committedAt: '2026-01-02T03:04:05.678Z',
          segments: [{ id: 'x', rows: 10, bytes: 80, storedBytes: 50, rowGroups: 1 }],
        });
        await connector.commitManifest(ref('f'), full);
        expect(await connector.getManifest(ref('f'))).toEqual(full);
      });

      it('refuses a commit whose predecessor is not current (compare-and-swap)', async () => {
        await connector.commitManifest(ref('f'), manifest(1));
        await expect(connector.commitManifest(ref('f'), manifest(1, { rows: 9 }))).rejects.toBeInstanceOf(ConflictError);
        await expect(connector.commitManifest(ref('f'), manifest(3))).rejects.toBeInstanceOf(ConflictError);
        await expect(connector.commitManifest(ref('g'), manifest(2))).rejects.toBeInstanceOf(ConflictError);
        expect((await connector.getManifest(ref('f')))?.rows).toBe(0);
        expect((await connector.getManifest(ref('f')))?.version).toBe(1);
      });

      it('lets exactly one of several racing commits of the same version win', async () => {
        const results = await Promise.allSettled(
          Array.from({ length: 8 }, (_, i) => connector.commitManifest(ref('race'), manifest(1, { rows: i }))),
        );
        const won = results.filter((result) => result.status === 'fulfilled');
        expect(won).toHaveLength(1);
        for (const result of results) {
          if (result.status === 'rejected') expect(result.reason).toBeInstanceOf(ConflictError);
        }
      });

      it('returns several manifests at once, skipping missing frames', async () => {
        await connector.commitManifest(ref('a'), manifest(1, { rows: 1 }));
        await connector.commitManifest(ref('b'), manifest(1, { rows: 2 }));
        const found = await connector.getManifests('default', ['a', 'b', 'zzz']);
        expect([...found.keys()].sort()).toEqual(['a', 'b']);
        expect(found.get('b')?.rows).toBe(2);
      });
    });

    describe('frames and buckets', () => {
      it('lists committed frames per bucket', async () => {
        await connector.commitManifest(ref('a', 'b1'), manifest(1));
        await connector.commitManifest(ref('b', 'b1'), manifest(1));
        await connector.commitManifest(ref('c', 'b2'), manifest(1));
        expect((await connector.listFrames('b1')).sort()).toEqual(['a', 'b']);
        expect(await connector.listFrames('b2')).toEqual(['c']);
        expect(await connector.listFrames('missing')).toEqual([]);
        expect([...(await connector.existingFrames('b1', ['b', 'c', 'a', 'zz']))].sort()).toEqual(['a', 'b']);
        expect([...(await connector.existingFrames('missing', ['a']))]).toEqual([]);
      });

      it('lists buckets, including created empty ones, and creating twice is harmless', async () => {
        await connector.commitManifest(ref('a', 'b1'), manifest(1));
        await connector.createBucket('empty');
        await connector.createBucket('empty');
        expect((await connector.listBuckets()).sort()).toEqual(['b1', 'empty']);
      });

      it('deletes a frame with its segments, leaving its neighbours', async () => {
        // Committed: a segment stored but not yet committed belongs to a put still running, which
        // commits it after the delete (so it stays; see tests/unit/removal-put-races.test.ts).
        await connector.putSegment(ref('a'), 's', Uint8Array.of(1));
        await connector.commitManifest(ref('a'), manifest(1, { rows: 1, segments: [{ id: 's', rows: 1, bytes: 8, storedBytes: 1, rowGroups: 1 }] }));
        await connector.commitManifest(ref('b'), manifest(1));
        await connector.deleteFrame(ref('a'));
        await connector.deleteFrame(ref('never-existed'));
        expect(await connector.getManifest(ref('a'))).toBeUndefined();
        await expect(connector.getSegment(ref('a'), 's')).rejects.toBeInstanceOf(NotFoundError);
        expect(await connector.listFrames('default')).toEqual(['b']);
      });

      it('a deleted frame can be created again from version 1', async () => {
        await connector.commitManifest(ref('a'), manifest(1));
        await connector.commitManifest(ref('a'), manifest(2));
        await connector.deleteFrame(ref('a'));
        await connector.commitManifest(ref('a'), manifest(1, { rows: 5 }));
        expect((await connector.getManifest(ref('a')))?.rows).toBe(5);
      });

      it('deletes a bucket with everything in it', async () => {
        await connector.putSegment(ref('a', 'gone'), 's', Uint8Array.of(1));
        await connector.commitManifest(ref('a', 'gone'), manifest(1));
        await connector.commitManifest(ref('a', 'kept'), manifest(1));
        await connector.deleteBucket('gone');
        await connector.deleteBucket('never-existed');
        expect(await connector.listBuckets()).toEqual(['kept']);
        expect(await connector.getManifest(ref('a', 'gone'))).toBeUndefined();
        expect(await connector.listFrames('gone')).toEqual([]);
      });

      it('a frame re-created at the same version number after its bucket was deleted reads as new', async () => {
        await connector.commitManifest(ref('a', 'again'), manifest(1, { rows: 1 }));
        expect((await connector.getManifest(ref('a', 'again')))?.rows).toBe(1);
        await connector.deleteBucket('again');
        await connector.commitManifest(ref('a', 'again'), manifest(1, { rows: 2 }));
        expect((await connector.getManifest(ref('a', 'again')))?.rows).toBe(2);
      });
    });

    registerVersionTests(() => connector);
    registerSnapshotTests(() => connector);

    const persistent = (): boolean => options.reopen !== undefined;
    describe('persistence (with reopen)', () => {
      it('keeps frames across a reopen', async (context) => {
        if (!persistent()) context.skip();
        await connector.putSegment(ref('a', 'b'), 's', Uint8Array.of(7));
        await connector.commitManifest(ref('a', 'b'), manifest(1, { rows: 3, segments: [{ id: 's', rows: 3, bytes: 8, storedBytes: 1, rowGroups: 1 }] }));
        await reopen();
        expect((await connector.getManifest(ref('a', 'b')))?.rows).toBe(3);
        expect([...(await connector.getSegment(ref('a', 'b'), 's'))]).toEqual([7]);
      });
    });

    describe('through the engine', () => {
      let codec: ParquetCodec;
      let engine: HangarEngine;
      beforeAll(() => {
        codec = new ParquetCodec(1);
      });
      afterAll(async () => {
        await codec.close();
      });
      beforeEach(() => {
        // Small segments and row groups so multi-segment paths run on small data.
        engine = new HangarEngine(connector, codec, { segmentBytes: 4096, rowGroupBytes: 2048, batchBytes: 1024 });
      });

      it('puts and gets a frame across many segments exactly', async () => {
        const table = sampleTable(5000);
        const summary = await engine.put(ref('t'), 'error', messagesOf(table));
        expect(summary).toMatchObject({ rowsWritten: 5000, rows: 5000, version: 1 });
        const read = await engine.read(ref('t'));
        const back = await collect(read.messages);
        expect(back.numRows).toBe(5000);
        expect(back.getChild('id')?.toArray()).toEqual(table.getChild('id')?.toArray());
        expect(back.getChild('symbol')?.toArray()).toEqual(table.getChild('symbol')?.toArray());
      });

      it('reads every put mode back exactly after a reopen (with reopen)', async (context) => {
        if (!persistent()) context.skip();
        await engine.put(ref('kept', 'b'), 'error', messagesOf(sampleTable(3000)));
        await engine.put(ref('kept', 'b'), 'append', messagesOf(sampleTable(10, 3000)));
        await reopen();
        const reopened = new HangarEngine(connector, codec, {});
        const back = await collect((await reopened.read(ref('kept', 'b'))).messages);
        expect(back.numRows).toBe(3010);
        expect(back.getChild('symbol')?.toArray()).toEqual(
          Array.from({ length: 3010 }, (_, i) => ['a', 'b', 'c'][i % 3]),
        );
        expect(Array.from(back.getChild('id')!.toArray() as Int32Array)).toEqual(Array.from({ length: 3010 }, (_, i) => i));
      });

      it('mode error refuses an existing frame; append adds rows; replace swaps', async () => {
        await engine.put(ref('t'), 'error', messagesOf(sampleTable(10)));
        await expect(engine.put(ref('t'), 'error', messagesOf(sampleTable(10)))).rejects.toBeInstanceOf(AlreadyExistsError);
        await engine.put(ref('t'), 'append', messagesOf(sampleTable(5, 10)));
        const appended = await collect((await engine.read(ref('t'))).messages);
        expect(Array.from(appended.getChild('id')!.toArray() as Int32Array)).toEqual(Array.from({ length: 15 }, (_, i) => i));
        await engine.put(ref('t'), 'replace', messagesOf(sampleTable(3, 100)));
        const replaced = await collect((await engine.read(ref('t'))).messages);
        expect(Array.from(replaced.getChild('id')!.toArray() as Int32Array)).toEqual([100, 101, 102]);
        expect((await engine.stat(ref('t'))).version).toBe(3);
      });

      it('refuses an append with a different schema, naming the columns, and keeps the frame', async () => {
        await engine.put(ref('t'), 'error', messagesOf(sampleTable(10)));
        const other = tableFromArrays({ id: Float64Array.of(1), extra: Int32Array.of(1) });
        const failure = engine.put(ref('t'), 'append', messagesOf(other));
        await expect(failure).rejects.toBeInstanceOf(InvalidArgumentError);
        await expect(failure).rejects.toThrow(/'id'.*'extra'|'extra'.*'id'/s);
        expect((await engine.stat(ref('t'))).rows).toBe(10);
      });

      it('stores empty frames with their schema', async () => {
        await engine.put(ref('empty'), 'error', messagesOf(sampleTable(0)));
        const read = await engine.read(ref('empty'));
        expect(read.info.rows).toBe(0);
        expect(read.schema.fields.map((field) => field.name)).toEqual(['id', 'value', 'symbol']);
        const messages: IpcMessage[] = [];
        for await (const message of read.messages) messages.push(message);
        expect(messages).toHaveLength(1);
      });

      it('projects columns', async () => {
        await engine.put(ref('t'), 'error', messagesOf(sampleTable(100)));
        const read = await engine.read(ref('t'), { columns: ['value'] });
        const back = await collect(read.messages);
        expect(back.schema.fields.map((field) => field.name)).toEqual(['value']);
        expect(back.getChild('value')?.get(99)).toBe(49.5);
        await expect(engine.read(ref('t'), { columns: ['nope'] })).rejects.toBeInstanceOf(InvalidArgumentError);
      });

      it('projects dictionary columns in any position and order', async () => {
        await engine.put(ref('t'), 'error', messagesOf(sampleTable(50)));
        const back = await collect((await engine.read(ref('t'), { columns: ['symbol', 'id'] })).messages);
        expect(back.schema.fields.map((field) => field.name)).toEqual(['symbol', 'id']);
        expect(back.getChild('symbol')?.toArray()).toEqual(Array.from({ length: 50 }, (_, i) => ['a', 'b', 'c'][i % 3]));
        expect(back.getChild('id')?.get(49)).toBe(49);
      });

      it('lists with a regex, deletes frames and buckets by mode', async () => {
        await engine.put(ref('alpha', 'b'), 'error', messagesOf(sampleTable(1)));
        await engine.put(ref('beta', 'b'), 'error', messagesOf(sampleTable(2)));
        expect((await engine.list('b')).map((info) => [info.name, info.rows])).toEqual([['alpha', 1], ['beta', 2]]);
        expect((await engine.list('b', '^be')).map((info) => info.name)).toEqual(['beta']);
        await expect(engine.list('b', '(')).rejects.toBeInstanceOf(InvalidArgumentError);
        await expect(engine.list('missing')).rejects.toBeInstanceOf(NotFoundError);
        await expect(engine.deleteBucket('b', 'error')).rejects.toBeInstanceOf(BucketNotEmptyError);
        await engine.delete(ref('alpha', 'b'));
        await expect(engine.delete(ref('alpha', 'b'))).rejects.toBeInstanceOf(NotFoundError);
        await engine.deleteBucket('b', 'delete');
        expect(await engine.buckets()).not.toContain('b');
        await expect(engine.deleteBucket('b', 'error')).rejects.toBeInstanceOf(NotFoundError);
      });

      it('stores nothing when the input stream fails midway', async () => {
        await engine.put(ref('t'), 'error', messagesOf(sampleTable(10)));
        async function* failing(): AsyncGenerator<IpcMessage> {
          let count = 0;
          const batches = Array.from({ length: 40 }, (_, i) =>
            tableFromArrays({ id: Int32Array.from({ length: 100 }, (_, j) => i * 100 + j) }).batches).flat();
          for await (const message of messagesOf(new Table(batches))) {
            if (++count === 20) throw new Error('client went away');
            yield message;
          }
        }
        await expect(engine.put(ref('t'), 'replace', failing())).rejects.toThrow('client went away');
        await expect(engine.put(ref('new'), 'error', failing())).rejects.toThrow('client went away');
        expect((await engine.stat(ref('t'))).rows).toBe(10);
        await expect(engine.stat(ref('new'))).rejects.toBeInstanceOf(NotFoundError);
      });

      it('serialises concurrent appends without losing rows', async () => {
        await engine.put(ref('t'), 'error', messagesOf(sampleTable(1)));
        await Promise.all(Array.from({ length: 6 }, (_, i) => engine.put(ref('t'), 'append', messagesOf(sampleTable(10, i * 10)))));
        expect((await engine.stat(ref('t'))).rows).toBe(61);
        const back = await collect((await engine.read(ref('t'))).messages);
        expect(back.numRows).toBe(61);
      });

      it('a reader keeps its version while a replace commits', async () => {
        await engine.put(ref('t'), 'error', messagesOf(sampleTable(3000)));
        const read = await engine.read(ref('t'));
        const iterator = read.messages[Symbol.asyncIterator]();
        const first = await iterator.next();
        await engine.put(ref('t'), 'replace', messagesOf(sampleTable(7, 500)));
        const rest: IpcMessage[] = [first.value as IpcMessage];
        for (let next = await iterator.next(); !next.done; next = await iterator.next()) rest.push(next.value);
        const old = tableFromIPC(joinIpcStream(rest));
        expect(old.numRows).toBe(3000);
        expect((await engine.stat(ref('t'))).rows).toBe(7);
      });
    });
  });
}
