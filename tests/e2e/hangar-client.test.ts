// HangarClient against a real HangarServer, over both an in-memory store and a local directory store.
import {
  Dictionary,
  Float64,
  Int32,
  Int64,
  type RecordBatch,
  Table,
  TimestampMicrosecond,
  Utf8,
  type Vector,
  makeData,
  makeVector,
  vectorFromArray,
} from 'apache-arrow';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  AlreadyExistsError,
  BucketNotEmptyError,
  FlightCallError,
  HangarClient,
  InvalidArgumentError,
  NotFoundError,
} from '../../src/client/index.js';
import { HangarServer } from '../../src/server/hangar-server.js';
import { testStores } from './fixtures/stores.js';

/** Raw int64 values of a (possibly chunked) column, so timestamps compare at full precision. */
function rawInt64(vector: Vector): (bigint | null)[] {
  const out: (bigint | null)[] = [];
  for (const data of vector.data) {
    const values = data.values as unknown as BigInt64Array;
    for (let i = 0; i < data.length; i++) out.push(data.getValid(i) ? values[data.offset + i]! : null);
  }
  return out;
}

function sampleTable(rows: number, seed = 0): Table {
  const micros = new BigInt64Array(rows);
  const valid = new Uint8Array(Math.ceil(rows / 8));
  let nulls = 0;
  for (let i = 0; i < rows; i++) {
    micros[i] = 1_700_000_000_000_000n + BigInt(i) * 1_000_001n + BigInt(seed);
    if (i % 5 === 3) nulls++;
    else valid[i >> 3]! |= 1 << (i & 7);
  }
  const ts = makeVector(makeData({ type: new TimestampMicrosecond('UTC'), length: rows, nullCount: nulls, nullBitmap: valid, data: micros }));
  return new Table({
    id: vectorFromArray(Array.from({ length: rows }, (_, i) => BigInt(i + seed)), new Int64()),
    x: vectorFromArray(Float64Array.from({ length: rows }, (_, i) => i / 3)),
    name: vectorFromArray(
      Array.from({ length: rows }, (_, i) => (i % 7 === 0 ? null : `name-${i}-${'x'.repeat(i % 13)}`)),
      new Utf8(),
    ),
    colour: vectorFromArray(
      Array.from({ length: rows }, (_, i) => (i % 11 === 0 ? null : ['red', 'green', 'blue'][i % 3]!)),
      new Dictionary(new Utf8(), new Int32()),
    ),
    ts,
  });
}

/** Asserts same column names, types and values (timestamps and int64 compared raw). */
function expectSameTable(actual: Table, expected: Table): void {
  expect(actual.numRows).toBe(expected.numRows);
  expect(actual.schema.fields.map((f) => [f.name, String(f.type)])).toEqual(expected.schema.fields.map((f) => [f.name, String(f.type)]));
  for (const field of expected.schema.fields) {
    const want = expected.getChild(field.name)!;
    const got = actual.getChild(field.name)!;
    if (field.name === 'ts' || field.name === 'id') expect(rawInt64(got)).toEqual(rawInt64(want));
    else expect(got.toArray().length === want.length && [...got].every((v, i) => v === want.get(i))).toBe(true);
  }
}

const stores = testStores('hangar-client-');

describe.each(stores)('HangarClient over a %s', (_label, makeStore) => {
  let server: HangarServer;
  let client: HangarClient;
  let cleanup: () => Promise<void>;

  beforeAll(async () => {
    const store = await makeStore();
    cleanup = store.cleanup;
    server = await HangarServer.start({ host: '127.0.0.1', port: 0, data: store.data });
    client = HangarClient.connect(server.location);
  });

  afterAll(async () => {
    client?.close();
    await server?.close();
    await cleanup?.();
  });

  it('answers ping', async () => {
    expect(await client.ping()).toBe('pong');
  });

  it('round-trips dictionaries, timestamps, int64 and nulls', async () => {
    const table = sampleTable(20_000);
    const summary = await client.put('roundtrip', table);
    expect(summary).toMatchObject({ name: 'roundtrip', bucket: 'default', rowsWritten: 20_000, rows: 20_000, version: 1 });
    const back = await client.get('roundtrip');
    expectSameTable(back, table);
    expect(back.getChild('colour')!.get(0)).toBeNull();
    expect(back.getChild('ts')!.get(3)).toBeNull();
  });

  it('slices batches over 4 MiB and still stores every row in order', async () => {
    const rows = 60_000;
    const big = new Table({
      n: vectorFromArray(Array.from({ length: rows }, (_, i) => BigInt(i)), new Int64()),
      s: vectorFromArray(Array.from({ length: rows }, (_, i) => (i % 9 === 4 ? null : `${i}:${'y'.repeat(100)}`)), new Utf8()),
    });
    expect(big.batches).toHaveLength(1); // ~6.5 MB in one batch, so the client must slice it
    await client.put('big', big);
    const back = await client.get('big');
    expect(back.numRows).toBe(rows);
    expect(rawInt64(back.getChild('n')!)).toEqual(rawInt64(big.getChild('n')!));
    const strings = back.getChild('s')!;
    expect(strings.get(4)).toBeNull();
    expect(strings.get(rows - 1)).toBe(`${rows - 1}:${'y'.repeat(100)}`);
    expect([...strings].every((value, i) => value === big.getChild('s')!.get(i))).toBe(true);
  });

  it('puts from an async iterable of batches and streams the frame back', async () => {
    const table = sampleTable(9_000, 7);
    async function* batches(): AsyncGenerator<RecordBatch> {
      for (let start = 0; start < table.numRows; start += 2_000) {
        await new Promise((resolve) => setImmediate(resolve));
        yield* table.slice(start, start + 2_000).batches;
      }
    }
    await client.put('streamed', batches());
    const stream = client.getStream('streamed');
    expect((await stream.schema()).fields.map((f) => f.name)).toEqual(['id', 'x', 'name', 'colour', 'ts']);
    let rows = 0;
    const collected: RecordBatch[] = [];
    for await (const batch of stream) {
      rows += batch.numRows;
      collected.push(batch);
    }
    expect(rows).toBe(9_000);
    expectSameTable(new Table(collected), table);
  });

  it('fetches a projection of columns', async () => {
    const back = await client.get('roundtrip', { columns: ['ts', 'name'] });
    expect(back.schema.fields.map((f) => f.name)).toEqual(['ts', 'name']);
    expect(back.numRows).toBe(20_000);
  });

  it('stops a stream early and keeps the client usable', async () => {
    let seen = 0;
    for await (const batch of client.getStream('big')) {
      seen += batch.numRows;
      break;
    }
    expect(seen).toBeGreaterThan(0);
    expect(await client.ping()).toBe('pong');
  });

  it('keeps the schema of an empty table', async () => {
    const empty = sampleTable(10).slice(0, 0);
    const summary = await client.put('empty', new Table(empty.schema));
    expect(summary.rows).toBe(0);
    const back = await client.get('empty');
    expect(back.numRows).toBe(0);
    expect(back.schema.fields.map((f) => String(f.type))).toEqual(empty.schema.fields.map((f) => String(f.type)));
  });

  it('honours the put modes error, append and replace', async () => {
    const first = sampleTable(100);
    expect((await client.put('modes', first, { bucket: 'modes' })).version).toBe(1);
    await expect(client.put('modes', first, { bucket: 'modes' })).rejects.toBeInstanceOf(AlreadyExistsError);
    const appended = await client.put('modes', sampleTable(50, 1000), { bucket: 'modes', mode: 'append', allowUnordered: true });
    expect(appended).toMatchObject({ rowsWritten: 50, rows: 150, version: 2 });
    const afterAppend = await client.get('modes', { bucket: 'modes' });
    expect(rawInt64(afterAppend.getChild('id')!).slice(99, 101)).toEqual([99n, 1000n]);
    const replaced = await client.put('modes', sampleTable(7), { bucket: 'modes', mode: 'replace' });
    expect(replaced).toMatchObject({ rowsWritten: 7, rows: 7, version: 3 });
    expect((await client.get('modes', { bucket: 'modes' })).numRows).toBe(7);
  });

  it('refuses an append whose schema differs, with an InvalidArgumentError', async () => {
    const other = new Table({ other: vectorFromArray([1.5, 2.5], new Float64()) });
    const error = await client.put('modes', other, { bucket: 'modes', mode: 'append' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InvalidArgumentError);
    expect((await client.stat('modes', { bucket: 'modes' })).rows).toBe(7);
  });

  it('stores nothing when the source fails mid-put', async () => {
    const table = sampleTable(3_000);
    async function* failing(): AsyncGenerator<RecordBatch> {
      yield* table.slice(0, 1_000).batches;
      throw new Error('source broke');
    }
    await expect(client.put('broken', failing())).rejects.toThrow('source broke');
    await expect(client.stat('broken')).rejects.toBeInstanceOf(NotFoundError);
  });

  it('lists frames with their schema and size, filtered by regex', async () => {
    await client.put('alpha_1', sampleTable(10), { bucket: 'listing' });
    await client.put('alpha_2', sampleTable(20), { bucket: 'listing' });
    await client.put('beta', sampleTable(30), { bucket: 'listing' });
    const all = await client.list({ bucket: 'listing' });
    expect(all.map((f) => f.name).sort()).toEqual(['alpha_1', 'alpha_2', 'beta']);
    const beta = all.find((f) => f.name === 'beta')!;
    expect(beta).toMatchObject({ bucket: 'listing', rows: 30 });
    expect(beta.bytes).toBeGreaterThan(0);
    expect(beta.schema.fields.map((f) => f.name)).toEqual(['id', 'x', 'name', 'colour', 'ts']);
    const alphas = await client.list({ bucket: 'listing', regex: '^alpha_' });
    expect(alphas.map((f) => f.name).sort()).toEqual(['alpha_1', 'alpha_2']);
    const defaults = await client.list();
    expect(defaults.map((f) => f.name)).toContain('roundtrip');
    expect(defaults.every((f) => f.bucket === 'default')).toBe(true);
  });

  it('describes a frame with stat', async () => {
    const info = await client.stat('alpha_2', { bucket: 'listing' });
    expect(info).toMatchObject({ name: 'alpha_2', bucket: 'listing', rows: 20, version: 1 });
    expect(Number.isNaN(Date.parse(info.committedAt))).toBe(false);
    expect(info.schema.map((f) => f.name)).toEqual(['id', 'x', 'name', 'colour', 'ts']);
    expect(info.schema.find((f) => f.name === 'id')).toMatchObject({ type: 'Int64' });
  });

  it('deletes frames and reports missing ones as NotFoundError', async () => {
    await client.delete('alpha_1', { bucket: 'listing' });
    expect((await client.list({ bucket: 'listing' })).map((f) => f.name).sort()).toEqual(['alpha_2', 'beta']);
    const error = await client.delete('alpha_1', { bucket: 'listing' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(NotFoundError);
    expect((error as NotFoundError).message).toContain('alpha_1');
    await expect(client.get('alpha_1', { bucket: 'listing' })).rejects.toBeInstanceOf(NotFoundError);
    await expect(client.stat('nope')).rejects.toBeInstanceOf(NotFoundError);
  });

  it('lists buckets and deletes them: error mode refuses a non-empty bucket', async () => {
    expect(await client.buckets()).toEqual(expect.arrayContaining(['default', 'listing', 'modes']));
    const refused = await client.deleteBucket('listing').catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(BucketNotEmptyError);
    expect((refused as BucketNotEmptyError).code).toBe('FAILED_PRECONDITION');
    expect((refused as BucketNotEmptyError).message).toContain("'listing'");
    expect(await client.buckets()).toContain('listing');
    await client.deleteBucket('listing', { mode: 'delete' });
    expect(await client.buckets()).not.toContain('listing');
    await expect(client.list({ bucket: 'listing' })).rejects.toBeInstanceOf(NotFoundError);
  });

  it('raises InvalidArgumentError for bad names, keeping the server message', async () => {
    const error = await client.put('../escape', sampleTable(1)).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InvalidArgumentError);
    expect((error as InvalidArgumentError).message).toMatch(/invalid frame name/);
    await expect(client.get('bad name')).rejects.toBeInstanceOf(InvalidArgumentError);
    await expect(client.list({ bucket: 'no/slash' })).rejects.toBeInstanceOf(InvalidArgumentError);
  });
});

describe('HangarClient without a server', () => {
  it('fails with a FlightCallError naming the location', async () => {
    const client = HangarClient.connect('grpc://127.0.0.1:1');
    try {
      const error = await client.ping().catch((e: unknown) => e);
      expect(error).toBeInstanceOf(FlightCallError);
      expect((error as FlightCallError).grpcStatus).toBe('UNAVAILABLE');
      expect((error as Error).message).toContain('grpc://127.0.0.1:1');
    } finally {
      client.close();
    }
  });

  it('rejects malformed locations', () => {
    expect(() => HangarClient.connect('http://127.0.0.1:8815')).toThrow(InvalidArgumentError);
    expect(() => HangarClient.connect('grpc://127.0.0.1')).toThrow(/needs a host and a port/);
  });
});

describe('HangarClient shutdown', () => {
  it('stops the server', async () => {
    const server = await HangarServer.start({ port: 0, data: 'memory:' });
    const client = HangarClient.connect(server.location);
    try {
      await client.shutdown();
      await server.closed;
    } finally {
      client.close();
      await server.close();
    }
  });
});
