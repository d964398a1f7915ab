/**
 * Live streams over Flight, end to end: push with acks, a follow-tail woken by later pushes, reads
 * and SQL that see the unrolled tail, scoped tokens, unknown fields refused, and kill -9 of a real
 * `hangar serve` while pushing (no acknowledged entry lost, IDs monotonic after the restart).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Binary, Field, type RecordBatch, RecordBatch as ArrowRecordBatch, Schema, Struct, makeData, tableFromArrays } from 'apache-arrow';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HangarClient } from '../../src/client/index.js';
import { HangarServer } from '../../src/server/hangar-server.js';
import { parseScopes } from '../../src/server/auth/scopes.js';
import { compareStreamIds, parseStreamId } from '../../src/core/streams/stream-id.js';
import { startHangarProcess } from '../helpers/hangar-process.js';

const SECRET = 'stream-test-secret-of-at-least-32-bytes';
const dirs: string[] = [];
async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'hangar-streams-e2e-'));
  dirs.push(dir);
  return dir;
}
afterAll(async () => {
  for (const dir of dirs) await rm(dir, { recursive: true, force: true });
});

const readings = (from: number, n: number) =>
  tableFromArrays({ sensor: Int32Array.from({ length: n }, (_, i) => (from + i) % 4), value: Float64Array.from({ length: n }, (_, i) => from + i) });
const values = (batch: RecordBatch): number[] => Array.from(batch.getChild('value')!.toArray() as Float64Array);
const idsOf = (batch: RecordBatch): string[] => Array.from({ length: batch.numRows }, (_, i) => batch.getChild('_id')!.get(i) as string);

describe('streams over Flight', () => {
  let server: HangarServer;
  let client: HangarClient;
  beforeAll(async () => {
    server = await HangarServer.start({ port: 0, data: await tempDir(), streams: { rollIntervalMs: 60_000 } });
    client = HangarClient.connect(server.location);
  });
  afterAll(async () => {
    client.close();
    await server.close();
  });

  it('acks each batch with its IDs; a follow-tail receives entries pushed after it started', async () => {
    const first = await client.push('sensors', [readings(0, 3).batches[0]!, readings(3, 2).batches[0]!], { bucket: 'live' });
    expect(first.map((ids) => ids.length)).toEqual([3, 2]);
    const all = first.flat().map((id) => parseStreamId(id));
    for (let i = 1; i < all.length; i++) expect(compareStreamIds(all[i]!, all[i - 1]!)).toBeGreaterThan(0);

    const received: number[] = [];
    const receivedIds: string[] = [];
    const tail = (async () => {
      for await (const batch of client.tail('sensors', { bucket: 'live', count: 4 })) {
        received.push(...values(batch));
        receivedIds.push(...idsOf(batch));
      }
    })();
    await new Promise((resolve) => setTimeout(resolve, 200)); // the tail is waiting ('$': only new entries)
    const later = await client.push('sensors', readings(100, 4), { bucket: 'live' });
    await tail;
    expect(received).toEqual([100, 101, 102, 103]);
    expect(receivedIds).toEqual(later.flat());

    // From the beginning, without following: everything, in order.
    const history: number[] = [];
    for await (const batch of client.tail('sensors', { bucket: 'live', after: '0', follow: false })) history.push(...values(batch));
    expect(history).toEqual([0, 1, 2, 3, 4, 100, 101, 102, 103]);
    // After an ID: what follows it.
    const after: number[] = [];
    for await (const batch of client.tail('sensors', { bucket: 'live', after: first.flat()[3]!, follow: false })) after.push(...values(batch));
    expect(after).toEqual([4, 100, 101, 102, 103]);
  });

  it('get, range reads and SQL see the whole stream, unrolled tail included, while it is pushed', async () => {
    await client.push('ticks', readings(0, 10), { bucket: 'live' });
    const table = await client.get('ticks', { bucket: 'live' });
    expect(table.numRows).toBe(10);
    expect(table.schema.fields.map((f) => f.name)).toEqual(['_id', '_ts', 'sensor', 'value']);
    const pushing = (async () => {
      for (let i = 0; i < 20; i++) await client.push('ticks', readings(10 + i, 1), { bucket: 'live' });
    })();
    const counts: number[] = [];
    for (let i = 0; i < 5; i++) {
      const result = await client.query('SELECT count(*)::INTEGER AS n, max(value) AS top FROM ticks', { bucket: 'live' });
      counts.push(result.getChild('n')!.get(0) as number);
    }
    await pushing;
    for (let i = 1; i < counts.length; i++) expect(counts[i]!).toBeGreaterThanOrEqual(counts[i - 1]!);
    const final = await client.query('SELECT count(*)::INTEGER AS n, max(value) AS top FROM ticks', { bucket: 'live' });
    expect(final.getChild('n')!.get(0)).toBe(30);
    expect(final.getChild('top')!.get(0)).toBe(29);
    const recent = await client.get('ticks', { bucket: 'live', start: new Date(Date.now() - 3_600_000).toISOString() });
    expect(recent.numRows).toBe(30);
  });

  it('refuses unknown fields, a schema that is not the stream\'s, and plain puts to a stream', async () => {
    await client.push('strict', readings(0, 1));
    await expect(client.flight.doGet(JSON.stringify({ name: 'strict', after: '0', folow: true })).readAll()).rejects.toThrow(/unknown field "folow" in the stream ticket/);
    await expect(client.push('strict', tableFromArrays({ other: Int32Array.from([1]) }))).rejects.toThrow(/is a stream of entries/);
    await expect(client.put('strict', readings(5, 1), { mode: 'append' })).rejects.toThrow(/is a stream/);
    await expect(client.flight.doGet(JSON.stringify({ name: 'nope', after: '0' })).readAll()).rejects.toThrow(/is not a stream/);
  });

  it('a tail of a binary stream sends the pushed bytes and their IDs, before and after it started', async () => {
    const blobs = (payloads: string[]) => {
      const schema = new Schema([new Field('data', new Binary(), false)]);
      const bytes = payloads.map((text) => Buffer.from(text));
      const valueOffsets = Int32Array.from({ length: bytes.length + 1 }, (_, i) => bytes.slice(0, i).reduce((sum, b) => sum + b.byteLength, 0));
      const column = makeData({ type: new Binary(), length: bytes.length, nullCount: 0, valueOffsets, data: Buffer.concat(bytes) });
      return new ArrowRecordBatch(schema, makeData({ type: new Struct(schema.fields), length: bytes.length, nullCount: 0, children: [column] }));
    };
    const texts = (batch: RecordBatch): string[] => Array.from({ length: batch.numRows }, (_, i) => Buffer.from(batch.getChild('data')!.get(i) as Uint8Array).toString());
    const [ids] = await client.push('blobs', [blobs(['first', '', 'third entry'])]);
    const seen: string[] = [];
    const seenIds: string[] = [];
    const tail = (async () => {
      for await (const batch of client.tail('blobs', { after: '0', count: 5 })) {
        seen.push(...texts(batch));
        seenIds.push(...idsOf(batch));
      }
    })();
    while (seen.length < 3) await new Promise((resolve) => setTimeout(resolve, 10));
    const [later] = await client.push('blobs', [blobs(['fourth', 'fifth'])]);
    await tail;
    expect(seen).toEqual(['first', '', 'third entry', 'fourth', 'fifth']);
    expect(seenIds).toEqual([...ids!, ...later!]);
  });

  it('a tail with timeout_ms ends when no entry comes', async () => {
    await client.push('quiet', readings(0, 1));
    const batches: RecordBatch[] = [];
    for await (const batch of client.tail('quiet', { waitMs: 100 })) batches.push(batch);
    expect(batches.reduce((rows, batch) => rows + batch.numRows, 0)).toBe(0);
  });
});

it('shutdown ends a following tail normally instead of cutting it after the grace period', async () => {
  const server = await HangarServer.start({ port: 0, data: 'memory:' });
  const client = HangarClient.connect(server.location);
  await client.push('s', readings(0, 1));
  const seen: number[] = [];
  const tail = (async () => {
    for await (const batch of client.tail('s', { after: '0' })) seen.push(...values(batch));
    return 'ended';
  })();
  while (seen.length === 0) await new Promise((resolve) => setTimeout(resolve, 10));
  await server.close();
  expect(await tail).toBe('ended');
  expect(seen).toEqual([0]);
  client.close();
});

it('a stream push is not bound by the put idle timeout nor by the put size limit', async () => {
  const server = await HangarServer.start({ port: 0, data: 'memory:', idleTimeoutMs: 200, maxPutBytes: 2000 });
  const client = HangarClient.connect(server.location);
  try {
    const slow = async function* () {
      for (let i = 0; i < 4; i++) {
        yield readings(i, 20).batches[0]!; // ~1 KB of FlightData each: 4 exceed maxPutBytes together
        await new Promise((resolve) => setTimeout(resolve, 400)); // longer than the idle timeout
      }
    };
    const acks = await client.push('patient', slow());
    expect(acks.map((ids) => ids.length)).toEqual([20, 20, 20, 20]);
    // An ordinary put is still bound by both.
    await expect(client.put('plain', readings(0, 200))).rejects.toThrow(/limit of 2000 bytes/);
  } finally {
    client.close();
    await server.close();
  }
});

describe('streams with scoped tokens', () => {
  let server: HangarServer;
  beforeAll(async () => {
    server = await HangarServer.start({ port: 0, data: 'memory:', auth: { secret: SECRET } });
  });
  afterAll(async () => server.close());
  const clientWith = (scope: string) => HangarClient.connect(server.location, { headers: { authorization: `Bearer ${server.authenticator.issue('t', parseScopes(scope))}` } });

  it('a push needs write on the bucket, a tail read', async () => {
    const writer = clientWith('write:live');
    const reader = clientWith('read:live');
    const outsider = clientWith('read:other write:other');
    await writer.push('s', readings(0, 2), { bucket: 'live' });
    await expect(reader.push('s', readings(2, 1), { bucket: 'live' })).rejects.toThrow(/write access to bucket 'live'/);
    await expect(outsider.push('s', readings(2, 1), { bucket: 'live' })).rejects.toThrow(/write access to bucket 'live'/);
    const seen: number[] = [];
    for await (const batch of reader.tail('s', { bucket: 'live', after: '0', follow: false })) seen.push(...values(batch));
    expect(seen).toEqual([0, 1]);
    const denied = async () => {
      for await (const batch of writer.tail('s', { bucket: 'live', after: '0', follow: false })) void batch;
    };
    await expect(denied()).rejects.toThrow(/read access to bucket 'live'/);
    for (const c of [writer, reader, outsider]) c.close();
  });
});

describe('kill -9 while pushing', () => {
  it('loses no acknowledged entry, and IDs stay monotonic after the restart', async () => {
    const data = await tempDir();
    const first = await startHangarProcess(['--data', data]);
    const client = HangarClient.connect(first.location);
    const acked: string[] = [];
    const pushers = Array.from({ length: 4 }, async (_, p) => {
      for (let i = 0; ; i++) {
        try {
          const ids = await client.push('crash', readings(p * 100_000 + i, 1), { bucket: 'live' });
          acked.push(...ids.flat());
        } catch {
          return; // the server died under this push: its entry was not acknowledged
        }
      }
    });
    while (acked.length < 200) await new Promise((resolve) => setTimeout(resolve, 10));
    await first.kill();
    await Promise.all(pushers);
    client.close();

    const second = await startHangarProcess(['--data', data]);
    const again = HangarClient.connect(second.location);
    try {
      const stored = new Set<string>();
      for await (const batch of again.tail('crash', { bucket: 'live', after: '0', follow: false })) for (const id of idsOf(batch)) stored.add(id);
      const lost = acked.filter((id) => !stored.has(id));
      expect(lost).toEqual([]);
      const newest = [...stored].map((id) => parseStreamId(id)).sort(compareStreamIds).at(-1)!;
      const next = (await again.push('crash', readings(1, 1), { bucket: 'live' })).flat()[0]!;
      expect(compareStreamIds(parseStreamId(next), newest)).toBeGreaterThan(0);
      const table = await again.get('crash', { bucket: 'live' });
      expect(table.numRows).toBe(stored.size + 1);
    } finally {
      again.close();
      await second.kill();
    }
  });
});
