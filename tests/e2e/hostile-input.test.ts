// Hostile input: a seeded fuzz of FlightData and JSON (decoders in process, then a live server),
// the message and put size limits, a put that stalls, and names that try to leave the store.
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Client, Metadata, credentials, makeGenericClientConstructor, status } from '@grpc/grpc-js';
import { tableFromArrays, tableToIPC } from 'apache-arrow';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HangarClient } from '../../src/client/index.js';
import { HangarError } from '../../src/core/errors.js';
import { inspectMessage, splitIpcStream } from '../../src/core/ipc-message.js';
import { decodeFlightData, encodeFlightData } from '../../src/flight/flight-data.js';
import { DescriptorType, decodeAction, decodeFlightDescriptor, encodeAction, encodeTicket } from '../../src/flight/flight-messages.js';
import { FLIGHT_SERVICE } from './fixtures/grpc-js-flight-service.js';
import { parseCriteria, parsePutDescriptor, parseTicket } from '../../src/server/dataframe-protocol.js';
import { HangarServer } from '../../src/server/hangar-server.js';

/** A small deterministic PRNG (mulberry32), so a failing case can be replayed from its seed. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const CASES = Number(process.env.HANGAR_FUZZ_CASES ?? 3000);
/** Added to every generator's seed, so long runs (bench/fuzz.sh) can explore other cases. */
const SEED_OFFSET = Number(process.env.HANGAR_FUZZ_SEED ?? 0);
const table = tableFromArrays({ x: Int32Array.from([1, 2, 3]), s: ['a', 'b', 'c'] });
const validMessages = splitIpcStream(tableToIPC(table, 'stream'));
const json = (value: unknown): Buffer => Buffer.from(JSON.stringify(value));
const validFlightData = validMessages.map((message, i) =>
  encodeFlightData({ dataHeader: message.header, dataBody: message.body, flightDescriptor: i === 0 ? { type: DescriptorType.Cmd, cmd: json({ name: 'f', bucket: 'b' }) } : undefined }),
);
const JSON_SEEDS = [
  { name: 'f', bucket: 'b' },
  { name: 'f', bucket: 'b', columns: ['x'], start: 0, end: 10, limit: 1 },
  { sql: 'SELECT 1', bucket: 'b' },
  { bucket: 'b', regex: '.*' },
  { name: 'f', mode: 'append', bucket: 'b' },
];
const HOSTILE_VALUES: unknown[] = [null, '', '..', '../etc', '/etc/passwd', 'a/b', 'a\u0000b', '%2e%2e', -1, 1e308, 2 ** 53 + 1, [], {}, true, 'x'.repeat(10_000), '(a+)+$', '\\', '.hidden'];

/** Mutates bytes: flips, truncations, insertions, varint-ish garbage. */
function mutateBytes(random: () => number, input: Uint8Array): Buffer {
  const bytes = Buffer.from(input);
  const kind = Math.floor(random() * 4);
  if (kind === 0 && bytes.length > 0) return bytes.subarray(0, Math.floor(random() * bytes.length));
  if (kind === 1) {
    for (let i = 0; i < 1 + random() * 8; i++) if (bytes.length > 0) bytes[Math.floor(random() * bytes.length)] = Math.floor(random() * 256);
    return bytes;
  }
  if (kind === 2) {
    const at = Math.floor(random() * (bytes.length + 1));
    const junk = Buffer.from(Array.from({ length: 1 + Math.floor(random() * 16) }, () => Math.floor(random() * 256)));
    return Buffer.concat([bytes.subarray(0, at), junk, bytes.subarray(at)]);
  }
  return Buffer.from(Array.from({ length: Math.floor(random() * 64) }, () => Math.floor(random() * 256)));
}

/** Mutates a JSON seed: replaces or adds a field with a hostile value, or breaks the text. */
function mutateJson(random: () => number): Buffer {
  const seed = { ...JSON_SEEDS[Math.floor(random() * JSON_SEEDS.length)]! } as Record<string, unknown>;
  const keys = [...Object.keys(seed), 'name', 'bucket', 'sql', 'columns', 'start', 'end', 'limit', 'mode', 'regex', '__proto__'];
  for (let i = 0; i < 1 + random() * 3; i++) seed[keys[Math.floor(random() * keys.length)]!] = HOSTILE_VALUES[Math.floor(random() * HOSTILE_VALUES.length)];
  const text = JSON.stringify(seed);
  return random() < 0.2 ? Buffer.from(text.slice(0, Math.floor(random() * text.length))) : Buffer.from(text);
}

/** Runs `fn`; only returning or throwing a HangarError (a deliberate refusal) is acceptable. */
function expectRefusalOrSuccess(fn: () => unknown, label: string): void {
  try {
    fn();
  } catch (error) {
    if (!(error instanceof HangarError)) throw new Error(`${label}: threw ${String(error)} instead of a HangarError`, { cause: error });
  }
}

describe('fuzz: decoders and request parsers', () => {
  it(`refuses ${CASES} mutated FlightData, descriptors, tickets, criteria and actions with HangarErrors only`, () => {
    const random = prng(0x5eed + SEED_OFFSET);
    for (let i = 0; i < CASES; i++) {
      const label = `case ${i} (seed 0x5eed)`;
      const flightData = mutateBytes(random, validFlightData[Math.floor(random() * validFlightData.length)]!);
      expectRefusalOrSuccess(() => {
        const data = decodeFlightData(flightData);
        if (data.flightDescriptor) parsePutDescriptor(data.flightDescriptor);
      }, `${label} FlightData`);
      const body = mutateJson(random);
      expectRefusalOrSuccess(() => parseTicket(body), `${label} ticket ${body}`);
      expectRefusalOrSuccess(() => parseCriteria(body), `${label} criteria ${body}`);
      expectRefusalOrSuccess(() => parsePutDescriptor({ type: DescriptorType.Cmd, cmd: body }), `${label} descriptor ${body}`);
      expectRefusalOrSuccess(() => decodeFlightDescriptor(mutateBytes(random, Buffer.from([0x08, 0x02, 0x12, body.length, ...body.subarray(0, 127)]))), `${label} FlightDescriptor`);
      expectRefusalOrSuccess(() => decodeAction(mutateBytes(random, encodeAction({ type: 'delete', body }))), `${label} Action`);
    }
  });

  it('reads IPC headers of mutated messages without crashing', () => {
    const random = prng(0xfeed + SEED_OFFSET);
    for (let i = 0; i < CASES; i++) {
      const message = validMessages[Math.floor(random() * validMessages.length)]!;
      expectRefusalOrSuccess(() => inspectMessage({ header: mutateBytes(random, message.header), body: message.body }), `IPC case ${i}`);
    }
  });
});

type Raw = Client & Record<string, (...args: unknown[]) => any>;
const FlightServiceClient = makeGenericClientConstructor(FLIGHT_SERVICE, 'FlightService');

describe('a live server under hostile input and limits', () => {
  let server: HangarServer;
  let raw: Raw;
  let dir: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'hangar-hostile-'));
    server = await HangarServer.start({ port: 0, data: join(dir, 'store'), maxMessageBytes: 256 * 1024, maxPutBytes: 64 * 1024, idleTimeoutMs: 300 });
    raw = new FlightServiceClient(`127.0.0.1:${server.port}`, credentials.createInsecure(), { 'grpc.max_send_message_length': -1 }) as Raw;
  });
  afterAll(async () => {
    raw.close();
    await server.close();
    await rm(dir, { recursive: true, force: true });
  });

  function doPut(messages: Buffer[], holdOpen = false): Promise<{ code: number; details: string }> {
    return new Promise((resolve) => {
      const call = raw.DoPut!(new Metadata());
      call.on('data', () => undefined);
      call.on('error', (error: { code: number; details: string }) => resolve({ code: error.code, details: error.details }));
      call.on('status', (s: { code: number; details: string }) => s.code === status.OK && resolve({ code: s.code, details: s.details }));
      for (const message of messages) call.write(message);
      if (!holdOpen) call.end();
    });
  }

  function doGet(ticketBytes: Buffer): Promise<number> {
    return new Promise((resolve) => {
      const call = raw.DoGet!(encodeTicket({ ticket: ticketBytes }));
      call.on('data', () => undefined);
      call.on('error', (error: { code: number }) => resolve(error.code));
      call.on('status', (s: { code: number }) => s.code === status.OK && resolve(status.OK));
    });
  }

  it('answers fuzzed DoPut and DoGet calls with statuses and keeps serving', async () => {
    const random = prng(0xbad + SEED_OFFSET);
    const cases = Math.max(50, Math.floor(CASES / 10));
    for (let i = 0; i < cases; i++) {
      const puts = validFlightData.map((message) => (random() < 0.3 ? mutateBytes(random, message) : message));
      const put = await doPut(puts);
      expect(put.code, `put case ${i}: ${put.details}`).not.toBe(status.INTERNAL);
      const get = await doGet(mutateJson(random));
      expect(get, `get case ${i}`).not.toBe(status.INTERNAL);
    }
    const client = HangarClient.connect(server.location);
    const [pong] = await client.flight.doAction('ping').toArray();
    expect(Buffer.from(pong!).toString()).toBe('pong');
    client.close();
  });

  it('refuses a message over the message size limit and a put over the put size limit, storing nothing', async () => {
    const big = tableFromArrays({ x: new Float64Array(40_000) });
    const oneMessage = splitIpcStream(tableToIPC(big, 'stream')).map((message, i) =>
      encodeFlightData({ dataHeader: message.header, dataBody: message.body, flightDescriptor: i === 0 ? { type: DescriptorType.Cmd, cmd: json({ name: 'big' }) } : undefined }),
    );
    expect((await doPut(oneMessage)).code).toBe(status.RESOURCE_EXHAUSTED);
    const client = HangarClient.connect(server.location, { maxBatchBytes: 16 * 1024 });
    await expect(client.put('big', big)).rejects.toMatchObject({ code: 'RESOURCE_EXHAUSTED', message: expect.stringMatching(/65536 bytes/) });
    await expect(client.stat('big')).rejects.toMatchObject({ code: 'NOT_FOUND' });
    await client.put('small', table);
    client.close();
  });

  it('abandons a put that stops sending (slow client), storing nothing', async () => {
    const started = Date.now();
    const first = encodeFlightData({ dataHeader: validMessages[0]!.header, dataBody: validMessages[0]!.body, flightDescriptor: { type: DescriptorType.Cmd, cmd: json({ name: 'slow', bucket: 'b' }) } });
    const result = await doPut([first], true);
    expect(result.code).toBe(status.DEADLINE_EXCEEDED);
    expect(result.details).toMatch(/no data for 300 ms/);
    expect(Date.now() - started).toBeLessThan(5000);
    const client = HangarClient.connect(server.location);
    await expect(client.stat('slow', { bucket: 'b' })).rejects.toMatchObject({ code: 'NOT_FOUND' });
    client.close();
  });

  it('ends a Handshake that never finishes', async () => {
    const code = await new Promise<number>((resolve) => {
      const call = raw.Handshake!(new Metadata());
      call.on('data', () => undefined);
      call.on('error', (error: { code: number }) => resolve(error.code));
    });
    expect(code).toBe(status.DEADLINE_EXCEEDED);
  });

  it('refuses names that would leave the store', async () => {
    const client = HangarClient.connect(server.location);
    for (const name of ['..', '../escape', 'a/../../escape', '/tmp/escape', '.hidden', 'a\\b', '%2e%2e']) {
      await expect(client.put(name, table), name).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
      await expect(client.put('ok', table, { bucket: name, mode: 'replace' }), name).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
      await expect(client.get(name), name).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    }
    client.close();
    expect(existsSync(join(dir, 'escape'))).toBe(false);
    expect(existsSync('/tmp/escape')).toBe(false);
  });
});
