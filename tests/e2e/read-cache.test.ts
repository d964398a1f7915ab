// The decoded-segment cache: a repeated get is served from memory (no fetch, no decode) with the
// same data; projections are cached apart; range-filtered reads and a zero budget bypass it.
import { Table, tableFromIPC, vectorFromArray, Float64, Int32 } from 'apache-arrow';
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
