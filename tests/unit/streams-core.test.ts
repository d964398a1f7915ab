/** The stream core: IDs, the log's framing and recovery, group commit, tailing, rolls into the frame, retention. */
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Float64, Int32, RecordBatch, Schema, Field, tableFromArrays, tableFromIPC } from 'apache-arrow';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { LocalConnector } from '../../src/connectors/local/local-connector.js';
import { MemoryConnector } from '../../src/connectors/memory/memory-connector.js';
import { ObjectLayout } from '../../src/storage/object-layout.js';
import { HangarEngine } from '../../src/core/engine.js';
import { ParquetCodec } from '../../src/format/parquet/parquet-codec.js';
import { joinIpcStream } from '../../src/format/ipc-message.js';
import { StreamIdClock, compareStreamIds, formatStreamId, parseStreamId } from '../../src/core/streams/stream-id.js';
import { frameRecords, scanRecords } from '../../src/core/streams/wal-framing.js';
import { decodeWalRecord, encodeWalRecord, framedWalParts } from '../../src/core/streams/write-ahead-log.js';
import { LocalStreamStorage, ObjectStreamStorage, type StreamStorage } from '../../src/core/streams/stream-storage.js';
import { StreamService } from '../../src/core/streams/stream-service.js';
import { BINARY_ENTRY_SCHEMA, binaryEntries, concatBatches, decodeEntries, encodeEntries, stampEntries, storedSchema } from '../../src/core/streams/stream-batches.js';
import { tailStream } from '../../src/core/streams/stream-tail.js';
import { streamAwareEngine } from '../../src/core/streams/stream-aware-engine.js';

let codec: ParquetCodec;
const roots: string[] = [];
beforeAll(() => {
  codec = new ParquetCodec(1);
});
afterAll(async () => {
  await codec.close();
  for (const root of roots) await rm(root, { recursive: true, force: true });
});

const entrySchema = new Schema([new Field('sensor', new Int32(), true), new Field('value', new Float64(), true)]);
function entries(values: number[]): RecordBatch {
  const table = tableFromArrays({ sensor: Int32Array.from(values.map((_, i) => i)), value: Float64Array.from(values) });
  return table.batches[0]!;
}

async function readAll(engine: HangarEngine, ref: { bucket: string; name: string }) {
  const stream = await engine.read(ref);
  const messages = [];
  for await (const message of stream.messages) messages.push(message);
  return tableFromIPC(joinIpcStream(messages));
}

describe('stream IDs', () => {
  it('parse, format and order as Redis does', () => {
    expect(parseStreamId('1700000000000-5')).toEqual({ ms: 1700000000000, seq: 5 });
    expect(parseStreamId('17')).toEqual({ ms: 17, seq: 0 });
    expect(() => parseStreamId('17-x')).toThrow(/entry ID/);
    expect(compareStreamIds({ ms: 2, seq: 0 }, { ms: 1, seq: 9 })).toBeGreaterThan(0);
    expect(formatStreamId({ ms: 3, seq: 4 })).toBe('3-4');
  });

  it('never go back, even when the clock does', () => {
    let now = 1000;
    const clock = new StreamIdClock({ ms: 0, seq: 0 }, () => now);
    expect(clock.next(2).map(formatStreamId)).toEqual(['1000-0', '1000-1']);
    now = 900;
    expect(clock.next(1).map(formatStreamId)).toEqual(['1000-2']);
    now = 1001;
    expect(clock.next(1).map(formatStreamId)).toEqual(['1001-0']);
  });
});

describe('log framing', () => {
  it('stops at a torn record and at zeros', () => {
    const framed = frameRecords([Buffer.from('one'), Buffer.from('two'), Buffer.from('three')]);
    const padded = Buffer.concat([framed, Buffer.alloc(64)]);
    expect(scanRecords(padded).payloads.map((p) => Buffer.from(p).toString())).toEqual(['one', 'two', 'three']);
    const torn = Buffer.from(padded);
    torn.writeUInt8(torn.readUInt8(framed.byteLength - 2) ^ 0xff, framed.byteLength - 2);
    const scanned = scanRecords(torn);
    expect(scanned.payloads.map((p) => Buffer.from(p).toString())).toEqual(['one', 'two']);
    expect(scanned.end).toBe(8 + 3 + 8 + 3);
  });
});

describe('log records in pieces', () => {
  it('are framed byte for byte as one buffer would be, and decode to the same entries and IDs', () => {
    const schema = storedSchema(BINARY_ENTRY_SCHEMA);
    const appends = [
      { range: { ms: 1_700_000_000_000, seq: 7, count: 2 }, entries: binaryEntries([Buffer.from('first'), Buffer.from('second entry')]) },
      { range: { ms: 1_700_000_000_001, seq: 0, count: 1 }, entries: binaryEntries([Buffer.alloc(3000, 9)]) },
    ];
    const records = appends.map(({ range, entries }) => ({ lastId: { ms: range.ms, seq: range.seq + range.count - 1 }, payload: encodeEntries(range, entries) }));
    const pieces = Buffer.concat(framedWalParts(records));
    expect(pieces.equals(frameRecords(records.map(encodeWalRecord)))).toBe(true);
    const scanned = scanRecords(pieces).payloads.map(decodeWalRecord);
    expect(scanned.map((record) => formatStreamId(record.lastId))).toEqual(['1700000000000-8', '1700000000001-0']);
    const second = decodeEntries(scanned[1]!.payload as Uint8Array, schema);
    expect(second.range).toEqual({ ms: 1_700_000_000_001, seq: 0, count: 1 });
    expect(Buffer.from(second.batch.getChild('data')!.get(0) as Uint8Array).equals(Buffer.alloc(3000, 9))).toBe(true);
  });

  it('many appends join into one batch with the same rows for a roll', () => {
    const schema = storedSchema(BINARY_ENTRY_SCHEMA);
    const batches = Array.from({ length: 30 }, (_, i) => {
      const payloads = Array.from({ length: (i % 3) + 1 }, (_, j) => Buffer.from(`entry ${i}.${j}`));
      return stampEntries(schema, { ms: 1000 + i, seq: i % 2, count: payloads.length }, binaryEntries(payloads));
    });
    const joined = concatBatches(schema, batches);
    expect(joined).toHaveLength(1);
    const rows = (list: RecordBatch[]): string[] =>
      list.flatMap((batch) => Array.from({ length: batch.numRows }, (_, i) => `${batch.getChild('_id')!.get(i)} ${batch.getChild('_ts')!.get(i)} ${Buffer.from(batch.getChild('data')!.get(i) as Uint8Array).toString()}`));
    expect(rows(joined)).toEqual(rows(batches));
    expect(rows(joined)[0]).toBe('1000-0 1000 entry 0.0');
  });
});

type Setup = { engine: HangarEngine; storage: StreamStorage; close: () => Promise<void> };
const setups: Record<string, () => Promise<Setup>> = {
  'local files': async () => {
    const root = await mkdtemp(join(tmpdir(), 'hangar-streams-'));
    roots.push(root);
    const layout = new ObjectLayout(new LocalConnector({ root }));
    await layout.open();
    return { engine: new HangarEngine(layout, codec, {}), storage: new LocalStreamStorage(root, { fileBytes: 64 * 1024 }), close: () => layout.close() };
  },
  'object store': async () => {
    const connector = new MemoryConnector();
    const layout = new ObjectLayout(connector);
    await layout.open();
    return { engine: new HangarEngine(layout, codec, {}), storage: new ObjectStreamStorage(connector), close: () => layout.close() };
  },
};

for (const [label, make] of Object.entries(setups)) {
  describe(`streams on ${label}`, () => {
    let setup: Setup;
    let service: StreamService;
    const ref = { bucket: 'live', name: 'sensors' };
    afterEach(async () => {
      await service?.close();
      await setup?.close();
    });

    it('acknowledges monotonic IDs, shares syncs between concurrent pushers, and reads see the unrolled tail', async () => {
      setup = await make();
      let syncs = 0;
      const counted: StreamStorage = Object.assign(Object.create(setup.storage) as StreamStorage, {
        wal: (r: typeof ref) => {
          const wal = setup.storage.wal(r);
          const append = wal.append.bind(wal);
          wal.append = (records) => (syncs++, append(records));
          return wal;
        },
      });
      service = new StreamService(setup.engine, counted, { rollIntervalMs: 60_000 });
      await service.open();
      const stream = await service.forPush(ref, { entries: entrySchema });
      const acks = await Promise.all(Array.from({ length: 20 }, (_, i) => stream.append(entries([i, i + 0.5]))));
      const ids = acks.flat();
      expect(ids).toHaveLength(40);
      expect(syncs).toBeLessThan(20); // 20 concurrent appends, fewer log writes: group commit
      for (let i = 1; i < ids.length; i++) expect(compareStreamIds(ids[i]!, ids[i - 1]!)).toBeGreaterThan(0);
      // Nothing rolled yet (the interval is a minute): the wrapped engine's read rolls first.
      const reads = streamAwareEngine(setup.engine, service);
      const table = await readAll(reads, ref);
      expect(table.numRows).toBe(40);
      expect(table.getChild('_id')!.toArray()).toEqual(ids.map(formatStreamId));
      expect(Array.from(table.getChild('value')!.toArray() as Float64Array).slice(0, 2)).toEqual([0, 0.5]);
      expect(table.schema.fields.map((f) => f.name)).toEqual(['_id', '_ts', 'sensor', 'value']);
    });

    it('binary pushes from raw bytes: acked, tailed, replayed after a crash, and rolled into the frame with their bytes', async () => {
      setup = await make();
      service = new StreamService(setup.engine, setup.storage, { rollIntervalMs: 60_000 });
      await service.open();
      const stream = await service.forPush(ref, { entries: 'binary' });
      const message = Buffer.from('xxhelloworld!');
      // Entries at 2..7 and 7..13 of the message (offsets as a batch push gives them), then a single one.
      const first = await stream.appendBinary(message.subarray(2), Int32Array.of(0, 5, 11));
      const second = await stream.appendBinary(Buffer.from('one'), Int32Array.of(0, 3));
      expect(first.count).toBe(2);
      expect(second.count).toBe(1);
      const tailed: string[] = [];
      for await (const batch of tailStream(stream, { ms: 0, seq: 0 })) {
        for (let i = 0; i < batch.numRows; i++) tailed.push(Buffer.from(batch.getChild('data')!.get(i) as Uint8Array).toString());
      }
      expect(tailed).toEqual(['hello', 'world!', 'one']);
      // A group larger than the inline limit (256 KiB) is written through the thread pool.
      const large = await stream.appendBinary(Buffer.alloc(300 * 1024, 5), Int32Array.of(0, 100 * 1024, 300 * 1024));
      expect(large.count).toBe(2);
      const third = await stream.appendBinary(Buffer.from('abtwo'), Int32Array.of(2, 5));
      // A restarted process replays the log: the same entries, later IDs.
      const restarted = new StreamService(setup.engine, setup.storage, { rollIntervalMs: 60_000 });
      await restarted.open();
      const again = (await restarted.find(ref))!;
      expect(formatStreamId(again.lastId)).toBe(`${third.ms}-${third.seq}`);
      const reads = streamAwareEngine(setup.engine, restarted);
      const table = await readAll(reads, ref);
      const payloads = Array.from({ length: table.numRows }, (_, i) => Buffer.from(table.getChild('data')!.get(i) as Uint8Array));
      expect(payloads.map((payload) => (payload.byteLength > 1000 ? payload.byteLength : payload.toString()))).toEqual(['hello', 'world!', 'one', 100 * 1024, 200 * 1024, 'two']);
      expect(payloads[4]!.every((byte) => byte === 5)).toBe(true);
      expect(table.getChild('_id')!.toArray()).toEqual([
        `${first.ms}-${first.seq}`, `${first.ms}-${first.seq + 1}`, `${second.ms}-${second.seq}`, `${large.ms}-${large.seq}`, `${large.ms}-${large.seq + 1}`, `${third.ms}-${third.seq}`,
      ]);
      await restarted.close();
      // Pushes no tailer read are rolled straight from their bytes, as one batch.
      const other = { bucket: 'live', name: 'raw' };
      const raw = await service.forPush(other, { entries: 'binary' });
      await Promise.all([raw.appendBinary(Buffer.from('abc'), Int32Array.of(0, 1, 3)), raw.appendBinary(Buffer.from('--def'), Int32Array.of(2, 5))]);
      await raw.roll();
      const rolled = await readAll(setup.engine, other);
      expect(Array.from({ length: rolled.numRows }, (_, i) => Buffer.from(rolled.getChild('data')!.get(i) as Uint8Array).toString())).toEqual(['a', 'bc', 'def']);
    });

    it('replays its log after a crash (no roll, no close) with the same entries and later IDs', async () => {
      setup = await make();
      service = new StreamService(setup.engine, setup.storage, { rollIntervalMs: 60_000 });
      await service.open();
      const first = await service.forPush(ref, { entries: 'binary' });
      const ids = [...(await first.append(binaryEntries([Buffer.from('a'), Buffer.from('b')]))), ...(await first.append(binaryEntries([Buffer.from('c')])))];
      // A second service over the same storage, as a restarted process sees it (the first is abandoned, not closed).
      const restarted = new StreamService(setup.engine, setup.storage, { rollIntervalMs: 60_000 });
      await restarted.open();
      const again = (await restarted.find(ref))!;
      expect(formatStreamId(again.lastId)).toBe(formatStreamId(ids.at(-1)!));
      const replayed = [];
      for await (const batch of tailStream(again, { ms: 0, seq: 0 })) replayed.push(...batch.getChild('data')!.toArray().map((b: Uint8Array) => Buffer.from(b).toString()));
      expect(replayed).toEqual(['a', 'b', 'c']);
      const later = await again.append(binaryEntries([Buffer.from('d')]));
      expect(compareStreamIds(later[0]!, ids.at(-1)!)).toBeGreaterThan(0);
      await restarted.close();
    });

    it('a follower is woken by a commit, and catches up from the frame when it starts behind memory', async () => {
      setup = await make();
      service = new StreamService(setup.engine, setup.storage, { rollIntervalMs: 60_000, memoryBytes: 0 });
      await service.open();
      const stream = await service.forPush(ref, { entries: 'binary' });
      await stream.append(binaryEntries([Buffer.from('old-1'), Buffer.from('old-2')]));
      await stream.roll(); // memory budget 0: rolled entries leave memory, only the frame has them
      expect(stream.covers({ ms: 0, seq: 0 })).toBe(false);
      const seen: string[] = [];
      const controller = new AbortController();
      const tail = (async () => {
        for await (const batch of tailStream(stream, { ms: 0, seq: 0 }, { follow: true, count: 4, signal: controller.signal })) {
          seen.push(...batch.getChild('data')!.toArray().map((b: Uint8Array) => Buffer.from(b).toString()));
        }
      })();
      while (stream.waiting === 0) await new Promise((resolve) => setTimeout(resolve, 5));
      expect(seen).toEqual(['old-1', 'old-2']);
      await stream.append(binaryEntries([Buffer.from('new-1')]));
      await stream.append(binaryEntries([Buffer.from('new-2'), Buffer.from('beyond-count')]));
      await tail;
      expect(seen).toEqual(['old-1', 'old-2', 'new-1', 'new-2']);
    });

    it('keeps at most memoryChunks rolled pushes in memory, however small, and a tail from before them reads the frame', async () => {
      setup = await make();
      service = new StreamService(setup.engine, setup.storage, { rollIntervalMs: 60_000, memoryChunks: 10 });
      await service.open();
      const stream = await service.forPush(ref, { entries: 'binary' });
      const ids = [];
      for (let i = 0; i < 50; i++) ids.push(...(await stream.append(binaryEntries([Buffer.from(`e${i}`)]))));
      expect(stream.covers({ ms: 0, seq: 0 })).toBe(true); // nothing rolled yet: all in memory
      await stream.roll();
      // 50 bytes are far under the byte budget; the push count evicts all but the newest 10.
      expect(stream.covers(ids[38]!)).toBe(false);
      expect(stream.covers(ids[39]!)).toBe(true);
      expect(stream.memoryAfter(ids[39]!).reduce((rows, batch) => rows + batch.numRows, 0)).toBe(10);
      const seen: string[] = [];
      for await (const batch of tailStream(stream, { ms: 0, seq: 0 }, { count: 50 })) {
        seen.push(...batch.getChild('data')!.toArray().map((b: Uint8Array) => Buffer.from(b).toString()));
      }
      expect(seen).toEqual(Array.from({ length: 50 }, (_, i) => `e${i}`));
    });

    it('refuses entries of other columns and plain puts to the stream frame', async () => {
      setup = await make();
      service = new StreamService(setup.engine, setup.storage);
      await service.open();
      const stream = await service.forPush(ref, { entries: entrySchema });
      await expect(stream.append(binaryEntries([Buffer.from('x')]))).rejects.toThrow(/not the stream's/);
      await expect(service.forPush(ref, { entries: 'binary' })).rejects.toThrow(/is a stream of entries/);
      const wrapped = streamAwareEngine(setup.engine, service);
      await expect(wrapped.put(ref, 'append', (async function* () {})())).rejects.toThrow(/is a stream/);
    });

    it('max_age trims entries older than the limit after a roll', async () => {
      setup = await make();
      let now = Date.now() - 3_600_000;
      service = new StreamService(setup.engine, setup.storage, { rollIntervalMs: 60_000, now: () => now });
      await service.open();
      const stream = await service.forPush(ref, { entries: 'binary', retention: { maxAgeMs: 60_000 } });
      await stream.append(binaryEntries([Buffer.from('old-1'), Buffer.from('old-2')]));
      now += 10 * 60_000; // ten minutes later: the first two are past the one-minute limit
      await stream.append(binaryEntries([Buffer.from('fresh')]));
      await stream.roll();
      const table = await readAll(setup.engine, ref);
      expect(table.getChild('data')!.toArray().map((b: Uint8Array) => Buffer.from(b).toString())).toEqual(['fresh']);
    });

    it('deleting the frame drops the stream; the next push starts a new one', async () => {
      setup = await make();
      service = new StreamService(setup.engine, setup.storage, { rollIntervalMs: 60_000 });
      await service.open();
      const wrapped = streamAwareEngine(setup.engine, service);
      const stream = await service.forPush(ref, { entries: entrySchema });
      await stream.append(entries([1, 2]));
      await wrapped.delete(ref);
      expect(service.isStream(ref)).toBe(false);
      expect(await setup.storage.list()).toEqual([]);
      const again = await service.forPush(ref, { entries: 'binary' }); // other columns: a new stream
      await again.append(binaryEntries([Buffer.from('x')]));
      expect((await readAll(wrapped, ref)).numRows).toBe(1);
      // A bucket delete in mode "error" sees the unrolled entries; in mode "delete" it drops the stream.
      await expect(wrapped.deleteBucket(ref.bucket, 'error')).rejects.toThrow(/not empty/);
      await wrapped.deleteBucket(ref.bucket, 'delete');
      expect(service.isStream(ref)).toBe(false);
    });

    it('max_len trims the oldest entries after a roll, keeping at least max_len', async () => {
      setup = await make();
      service = new StreamService(setup.engine, setup.storage, { rollIntervalMs: 60_000 });
      await service.open();
      const stream = await service.forPush(ref, { entries: 'binary', retention: { maxLen: 10 } });
      for (let i = 0; i < 30; i++) {
        await stream.append(binaryEntries([Buffer.from(`e${i}`)]));
        await new Promise((resolve) => setTimeout(resolve, 2)); // distinct milliseconds: the cut is by time
      }
      await stream.roll();
      const info = await setup.engine.stat(ref);
      expect(info.rows).toBeGreaterThanOrEqual(10);
      expect(info.rows).toBeLessThan(30);
      const table = await readAll(setup.engine, ref);
      const data = table.getChild('data')!.toArray().map((b: Uint8Array) => Buffer.from(b).toString());
      expect(data.at(-1)).toBe('e29');
    });
  });
}

it('the log releases files once their entries are rolled', async () => {
  const root = await mkdtemp(join(tmpdir(), 'hangar-streams-'));
  roots.push(root);
  const layout = new ObjectLayout(new LocalConnector({ root }));
  await layout.open();
  const engine = new HangarEngine(layout, codec, {});
  const service = new StreamService(engine, new LocalStreamStorage(root, { fileBytes: 16 * 1024 }), { rollIntervalMs: 60_000 });
  const stream = await service.forPush({ bucket: 'b', name: 's' }, { entries: 'binary' });
  for (let i = 0; i < 40; i++) await stream.append(binaryEntries([Buffer.alloc(1000, i)]));
  const directory = join(root, '.streams', 'b', 's');
  const before = (await readdir(directory)).filter((name) => name.endsWith('.log'));
  expect(before.length).toBeGreaterThan(2);
  await stream.roll();
  const after = (await readdir(directory)).filter((name) => name.endsWith('.log'));
  expect(after.length).toBeLessThan(before.length);
  expect((await engine.stat({ bucket: 'b', name: 's' })).rows).toBe(40);
  await service.close();
  await layout.close();
});
