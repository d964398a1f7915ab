// The decoded-segment cache: a repeated get is served from memory (no fetch, no decode) with the
// same data; projections are cached apart; range reads share a get's entries; a zero budget bypasses it.
import { Table, TimestampMicrosecond, tableFromIPC, vectorFromArray, Float64, Int32, makeData, makeVector } from 'apache-arrow';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MemoryConnector } from '../../src/connectors/memory/memory-connector.js';
import { ObjectLayout } from '../../src/storage/object-layout.js';
import { DecodedChunkCache } from '../../src/core/decoded-cache.js';
import { HangarEngine } from '../../src/core/engine.js';
import { type IpcMessage, joinIpcStream, splitIpcStream } from '../../src/format/ipc-message.js';
import type { FrameRef } from '../../src/names.js';
import { ParquetCodec } from '../../src/format/parquet/parquet-codec.js';
import { tableToIPC } from 'apache-arrow';

/** A memory store that counts segment fetches. */
class CountingConnector extends ObjectLayout {
  constructor() {
    super(new MemoryConnector());
  }

  fetches = 0;
  override async getSegment(ref: FrameRef, id: string): Promise<Uint8Array> {
    this.fetches++;
    return super.getSegment(ref, id);
  }
}

const frame = { bucket: 'default', name: 'hot' };
const table = new Table({
  id: vectorFromArray(Array.from({ length: 50_000 }, (_, i) => i), new Int32()),
  v: vectorFromArray(Array.from({ length: 50_000 }, (_, i) => i / 4), new Float64()),
});

async function* messagesOf(t: Table): AsyncGenerator<IpcMessage> {
  yield* splitIpcStream(tableToIPC(t, 'stream'));
}

async function read(engine: HangarEngine, options = {}): Promise<Table> {
  const all: IpcMessage[] = [];
  for await (const message of (await engine.read(frame, options)).messages) all.push(message);
  return tableFromIPC(joinIpcStream(all));
}

describe('decoded-segment cache', () => {
  let codec: ParquetCodec;
  beforeAll(() => {
    codec = new ParquetCodec(1);
  });
  afterAll(() => codec.close());

  it('serves a repeated get from memory with identical data, projections apart', async () => {
    const connector = new CountingConnector();
    const engine = new HangarEngine(connector, codec, { segmentBytes: 64 * 1024 });
    await engine.put(frame, 'error', messagesOf(table));
    const first = await read(engine);
    const fetched = connector.fetches;
    expect(fetched).toBeGreaterThan(0);
    const second = await read(engine);
    expect(connector.fetches).toBe(fetched);
    expect([...second.getChild('v')!]).toEqual([...first.getChild('v')!]);
    expect(second.numRows).toBe(50_000);
    const projected = await read(engine, { columns: ['v'] });
    expect(connector.fetches).toBe(2 * fetched);
    expect(projected.schema.fields.map((f) => f.name)).toEqual(['v']);
    await read(engine, { columns: ['v'] });
    expect(connector.fetches).toBe(2 * fetched);
    await engine.close();
  });

  it('is bypassed with a zero budget', async () => {
    const connector = new CountingConnector();
    const engine = new HangarEngine(connector, codec, { segmentBytes: 64 * 1024, readCacheBytes: 0 });
    await engine.put(frame, 'error', messagesOf(table));
    await read(engine);
    const fetched = connector.fetches;
    await read(engine);
    expect(connector.fetches).toBe(2 * fetched);
    await engine.close();
  });

  it('serves range reads from the entries of a get, filtered exactly, and fills them on a miss', async () => {
    const rows = 50_000;
    const timed = new Table({
      ts: makeVector(makeData({ type: new TimestampMicrosecond(), length: rows, data: BigInt64Array.from({ length: rows }, (_, i) => BigInt(i) * 1_000_000n) })),
      v: vectorFromArray(Array.from({ length: rows }, (_, i) => i / 4), new Float64()),
    });
    const connector = new CountingConnector();
    const engine = new HangarEngine(connector, codec, { segmentBytes: 64 * 1024 });
    // Batches of 4,096 rows: several segments, so a range read opens only some of them.
    const pieces = Array.from({ length: Math.ceil(rows / 4_096) }, (_, i) => timed.slice(i * 4_096, (i + 1) * 4_096).batches).flat();
    await engine.put(frame, 'error', messagesOf(new Table(pieces)));
    // Seconds [10,000, 12,345): epoch nanoseconds in the range options.
    const range = { start: 10_000n * 1_000_000_000n, end: 12_345n * 1_000_000_000n };
    const cold = await read(engine, range);
    const fetched = connector.fetches;
    expect(fetched).toBeGreaterThan(0);
    expect(cold.numRows).toBe(2_345);
    expect(cold.getChild('v')!.get(0)).toBe(10_000 / 4);
    // The range read filled the entries of its segments: a whole get fetches only the others.
    const whole = await read(engine);
    expect(whole.numRows).toBe(rows);
    const afterGet = connector.fetches;
    expect(afterGet).toBeGreaterThan(fetched);
    // Now every segment is cached: ranges fetch nothing and still return exactly their rows.
    const again = await read(engine, range);
    const other = await read(engine, { start: 49_990n * 1_000_000_000n });
    expect(connector.fetches).toBe(afterGet);
    expect(again.numRows).toBe(2_345);
    expect([...again.getChild('v')!]).toEqual([...cold.getChild('v')!]);
    expect([...other.getChild('v')!]).toEqual(Array.from({ length: 10 }, (_, i) => (49_990 + i) / 4));
    // A projection without the time column is cached with the time column added (and dropped again).
    const projected = await read(engine, { ...range, columns: ['v'] });
    expect(projected.schema.fields.map((f) => f.name)).toEqual(['v']);
    expect(projected.numRows).toBe(2_345);
    await engine.close();
  });

  it('evicts the least recently used chunks to stay within its budget', () => {
    const cache = new DecodedChunkCache(100);
    const chunk = (n: number) => ({ ipc: new Uint8Array(n), dictionaries: [] });
    cache.set('a', chunk(40));
    cache.set('b', chunk(40));
    expect(cache.get('a')).toBeDefined(); // a is now the most recent
    cache.set('c', chunk(40));
    expect(cache.get('b')).toBeUndefined();
    expect(cache.get('a')).toBeDefined();
    expect(cache.size).toBe(80);
    cache.set('huge', chunk(101));
    expect(cache.get('huge')).toBeUndefined();
  });
});
