// An update starts its range rewrite once its input has ended, while its own rows are still
// encoded and stored (src/core/rewrite-ahead.ts): the commit adopts that work when the frame is
// still at the version it rewrote, and otherwise discards it and rewrites again. Checked here: the
// splice runs once, not twice; a commit by another engine in between makes the update redo it on
// the new version (the appended rows survive); a refused update leaves no stored object behind.
import { Float64, Table, TimestampMicrosecond, makeData, makeVector, tableFromIPC, tableToIPC } from 'apache-arrow';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MemoryConnector } from '../../src/connectors/memory/memory-connector.js';
import { HangarEngine } from '../../src/core/engine.js';
import { spliceCounts } from '../../src/core/segment-splice.js';
import { InvalidArgumentError } from '../../src/errors.js';
import { joinIpcStream, splitIpcStream } from '../../src/format/ipc-message.js';
import { segmentObjectIds } from '../../src/format/manifest.js';
import { ParquetCodec } from '../../src/format/parquet/parquet-codec.js';
import type { FrameRef } from '../../src/names.js';
import { ObjectLayout } from '../../src/storage/object-layout.js';

/** Rows [from, from + n): time `t` seconds (as microseconds), value `t + salt`. */
function tableOf(from: number, n: number, salt = 0): Table {
  return new Table({
    ts: makeVector(makeData({ type: new TimestampMicrosecond(), length: n, data: BigInt64Array.from({ length: n }, (_, i) => BigInt(from + i) * 1_000_000n) })),
    v: makeVector(Float64Array.from({ length: n }, (_, i) => from + i + salt)),
  });
}

/** A table as a put's stream, in 500-row batches (segments are cut between batches). */
async function* messages(table: Table) {
  const batches = Array.from({ length: Math.ceil(table.numRows / 500) }, (_, i) => table.slice(i * 500, (i + 1) * 500).batches).flat();
  yield* splitIpcStream(tableToIPC(new Table(table.schema, batches), 'stream'));
}

/** The frame's rows as [time in seconds, value] pairs. */
async function rowsOf(engine: HangarEngine, ref: FrameRef): Promise<[number, number][]> {
  const stream = await engine.read(ref);
  const all = [];
  for await (const message of stream.messages) all.push(message);
  const table = tableFromIPC(joinIpcStream(all));
  const ts = table.getChild('ts')!.toArray() as BigInt64Array;
  const v = table.getChild('v')!.toArray() as Float64Array;
  return Array.from({ length: table.numRows }, (_, i) => [Number(ts[i]! / 1_000_000n), v[i]!]);
}

/** The model: rows [from, from + n) with their salt. */
const model = (from: number, n: number, salt = 0): [number, number][] => Array.from({ length: n }, (_, i) => [from + i, from + i + salt]);

/** The segment objects stored for the frame that no stored version names (must be none). */
async function strays(store: ObjectLayout, ref: FrameRef): Promise<string[]> {
  const named = new Set<string>();
  for (const version of await store.listVersions(ref)) {
    const manifest = await store.getManifestVersion(ref, version);
    for (const id of segmentObjectIds(manifest?.segments ?? [])) named.add(id);
  }
  return (await store.listSegmentObjects(ref)).map((object) => object.id).filter((id) => !named.has(id));
}

let codec: ParquetCodec;
beforeAll(() => {
  codec = new ParquetCodec(2);
});
afterAll(async () => {
  await codec.close();
});

/** Segments of ~4,000 rows in row groups of 1,024 rows, so the splice takes them. */
const engineOf = (store: ObjectLayout): HangarEngine => new HangarEngine(store, codec, { segmentBytes: 64 * 1024, rowGroupBytes: 16 * 1024, compactThreshold: 0 });

describe('an update rewrites its range ahead of its commit', () => {
  it('splices once and adopts that work when nothing committed in between', async () => {
    const store = new ObjectLayout(new MemoryConnector());
    const engine = engineOf(store);
    const ref = { bucket: 'ahead', name: 'adopted' };
    await engine.put(ref, 'error', messages(tableOf(0, 12_000)));
    expect((await store.getManifest(ref))!.segments.every((segment) => segment.rowGroups >= 2)).toBe(true);
    const counted = spliceCounts.segments;
    const summary = await engine.put(ref, 'update', messages(tableOf(5_000, 300, 0.5)));
    expect(summary).toMatchObject({ rowsRemoved: 300, segmentsRewritten: 1 });
    expect(spliceCounts.segments).toBe(counted + 1);
    expect(await rowsOf(engine, ref)).toEqual([...model(0, 5_000), ...model(5_000, 300, 0.5), ...model(5_300, 6_700)]);
    expect(await strays(store, ref)).toEqual([]);
  });

  it('rewrites again, on the new version, when another writer committed after the rewrite ahead read the frame', async () => {
    const store = new ObjectLayout(new MemoryConnector());
    const engine = engineOf(store);
    // Another engine (its own commit lock, as another server would be) appends in between.
    const other = engineOf(store);
    const ref = { bucket: 'ahead', name: 'raced' };
    await engine.put(ref, 'error', messages(tableOf(0, 12_000)));
    const getSegment = store.getSegment.bind(store);
    let armed = true;
    // The rewrite ahead fetches the segment it splices: the append commits just then.
    store.getSegment = async (frame, id) => {
      if (armed) {
        armed = false;
        await other.put(ref, 'append', messages(tableOf(12_000, 500)));
      }
      return getSegment(frame, id);
    };
    const counted = spliceCounts.segments;
    const summary = await engine.put(ref, 'update', messages(tableOf(5_000, 300, 0.5)));
    expect(armed).toBe(false);
    // Version 1 the put, 2 the append, 3 the update, made on top of the append.
    expect(summary).toMatchObject({ version: 3, rowsRemoved: 300, segmentsRewritten: 1 });
    expect(spliceCounts.segments).toBe(counted + 2);
    expect(await rowsOf(engine, ref)).toEqual([...model(0, 5_000), ...model(5_000, 300, 0.5), ...model(5_300, 6_700), ...model(12_000, 500)]);
    expect(await strays(store, ref)).toEqual([]);
  });

  it('leaves no stored object behind when the commit refuses the update after the rewrite ahead', async () => {
    const store = new ObjectLayout(new MemoryConnector());
    const engine = engineOf(store);
    const ref = { bucket: 'ahead', name: 'refused' };
    await engine.put(ref, 'error', messages(tableOf(0, 12_000)));
    const counted = spliceCounts.segments;
    // Rows outside the explicit range are refused at commit, after the range was spliced ahead.
    const sent = engine.put(ref, 'update', messages(tableOf(5_000, 300, 0.5)), { range: [5_000_000_000_000n, 5_200_000_000_000n] });
    await expect(sent).rejects.toThrow(InvalidArgumentError);
    expect(spliceCounts.segments).toBe(counted + 1);
    expect(await strays(store, ref)).toEqual([]);
    expect(await rowsOf(engine, ref)).toEqual(model(0, 12_000));
  });
});
