// Range reads prune to row groups: a segment of several row groups on a store with ranged reads
// (the local directory store) has only the groups whose time statistics overlap the range fetched
// and decoded, and the rows returned are exactly those in [start, end); a get still reads it whole.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Float64, Table, TimestampMicrosecond, makeData, makeVector, tableFromIPC, tableToIPC, vectorFromArray } from 'apache-arrow';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalConnector } from '../../src/connectors/local/local-connector.js';
import { HangarEngine } from '../../src/core/engine.js';
import { type IpcMessage, joinIpcStream, splitIpcStream } from '../../src/format/ipc-message.js';
import { ParquetCodec } from '../../src/format/parquet/parquet-codec.js';
import type { FrameRef } from '../../src/names.js';
import type { ByteRange } from '../../src/storage/frame-store.js';
import { ObjectLayout } from '../../src/storage/object-layout.js';

/** A local store that counts whole segment fetches and the bytes of ranged ones. */
class CountingLayout extends ObjectLayout {
  wholeFetches = 0;
  rangedBytes = 0;
  override async getSegment(ref: FrameRef, id: string): Promise<Uint8Array> {
    if (id.endsWith('.parquet')) this.wholeFetches++;
    return super.getSegment(ref, id);
  }
  override async getSegmentRanges(ref: FrameRef, id: string, ranges: readonly ByteRange[]): Promise<Uint8Array[]> {
    const got = await super.getSegmentRanges(ref, id, ranges);
    this.rangedBytes += got.reduce((sum, bytes) => sum + bytes.byteLength, 0);
    return got;
  }
}

const ROWS = 200_000;
const SECOND = 1_000_000n; // microseconds
const ref = { bucket: 'default', name: 'ticks' };

function frame(): Table {
  const ts = BigInt64Array.from({ length: ROWS }, (_, i) => BigInt(i) * SECOND);
  const table = new Table({
    ts: makeVector(makeData({ type: new TimestampMicrosecond(), length: ROWS, data: ts })),
    v: vectorFromArray(Array.from({ length: ROWS }, (_, i) => i * 0.5), new Float64()),
  });
  // 8,192-row batches, as a client sends them.
  return new Table(Array.from({ length: ROWS / 8_192 + 1 }, (_, i) => table.slice(i * 8_192, (i + 1) * 8_192).batches).flat());
}

async function* messagesOf(table: Table): AsyncGenerator<IpcMessage> {
  yield* splitIpcStream(tableToIPC(table, 'stream'));
}

describe('range reads pruned to row groups', () => {
  let root: string;
  let store: CountingLayout;
  let codec: ParquetCodec;
  let engine: HangarEngine;

  async function read(options: object): Promise<Table> {
    const all: IpcMessage[] = [];
    for await (const message of (await engine.read(ref, options)).messages) all.push(message);
    return tableFromIPC(joinIpcStream(all));
  }

  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'hangar-row-groups-'));
    store = new CountingLayout(new LocalConnector({ root }));
    await store.open();
    codec = new ParquetCodec(1);
    // One 3.2 MB segment of 200,000 rows in row groups of ~256 KiB (16,384 rows), cache off.
    engine = new HangarEngine(store, codec, { segmentBytes: 8 * 1024 * 1024, rowGroupBytes: 256 * 1024, readCacheBytes: 0 });
    await engine.put(ref, 'error', messagesOf(frame()));
  });

  afterAll(async () => {
    await engine.close();
    await codec.close();
    await rm(root, { recursive: true, force: true });
  });

  it('writes several row groups per segment', async () => {
    const manifest = (await store.getManifest(ref))!;
    expect(manifest.segments).toHaveLength(1);
    expect(manifest.segments[0]!.rowGroups).toBeGreaterThan(10);
  });

  it('fetches only the overlapping row groups and returns exactly the rows in range', async () => {
    const manifest = (await store.getManifest(ref))!;
    store.wholeFetches = 0;
    store.rangedBytes = 0;
    // Seconds [100,000, 120,000): about 1.2 row groups' worth, straddling group boundaries.
    const table = await read({ start: 100_000n * 1_000_000_000n, end: 120_000n * 1_000_000_000n });
    expect(table.numRows).toBe(20_000);
    expect(table.getChild('v')!.get(0)).toBe(50_000);
    expect(table.getChild('v')!.get(19_999)).toBe(119_999 * 0.5);
    expect(store.wholeFetches).toBe(0);
    expect(store.rangedBytes).toBeGreaterThan(0);
    // Three of the 13 groups (the range straddles two edges) and the footer.
    expect(store.rangedBytes).toBeLessThan(manifest.segments[0]!.storedBytes * 0.3);
  });

  it('serves a repeated range from the cache of its decoded groups and of footers, fetching nothing', async () => {
    const cached = new HangarEngine(store, codec, { readCacheBytes: 64 * 1024 * 1024 });
    try {
      const range = { start: 40_000n * 1_000_000_000n, end: 41_000n * 1_000_000_000n };
      const all: IpcMessage[] = [];
      for await (const message of (await cached.read(ref, range)).messages) all.push(message);
      const first = tableFromIPC(joinIpcStream(all));
      store.rangedBytes = 0;
      store.wholeFetches = 0;
      const again: IpcMessage[] = [];
      for await (const message of (await cached.read(ref, range)).messages) again.push(message);
      const second = tableFromIPC(joinIpcStream(again));
      expect(second.numRows).toBe(1_000);
      expect([...second.getChild('v')!]).toEqual([...first.getChild('v')!]);
      // Nothing at all: the segment's footer is kept too (per store, by segment).
      expect(store.rangedBytes).toBe(0);
      expect(store.wholeFetches).toBe(0);
      expect(cached.readCacheStats().hits).toBeGreaterThan(0);
    } finally {
      await cached.close();
    }
  });

  it('keeps every row at group edges, and empty ranges between rows', async () => {
    const edge = await read({ start: 16_383n * 1_000_000_000n, end: 16_385n * 1_000_000_000n });
    expect([...edge.getChild('v')!]).toEqual([16_383 * 0.5, 16_384 * 0.5]);
    const last = await read({ start: 199_999n * 1_000_000_000n });
    expect([...last.getChild('v')!]).toEqual([199_999 * 0.5]);
    const between = await read({ start: 5_000_500_000n, end: 5_000_900_000n });
    expect(between.numRows).toBe(0);
  });

  it('still reads a projection without the time column, and the whole frame', async () => {
    const projected = await read({ start: 150_000n * 1_000_000_000n, end: 150_010n * 1_000_000_000n, columns: ['v'] });
    expect(projected.schema.fields.map((field) => field.name)).toEqual(['v']);
    expect([...projected.getChild('v')!]).toEqual(Array.from({ length: 10 }, (_, i) => (150_000 + i) * 0.5));
    const whole = await read({});
    expect(whole.numRows).toBe(ROWS);
    expect(whole.getChild('v')!.get(ROWS - 1)).toBe((ROWS - 1) * 0.5);
  });
});
