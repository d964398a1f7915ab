// Hostile input: the message and put size limits, a put that stalls, a Handshake that never ends,
// and names that try to leave the store. The protocol fuzzer is tests/fuzz/protocol-fuzz.test.ts.
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Client, Metadata, credentials, makeGenericClientConstructor, status } from '@grpc/grpc-js';
import { tableFromArrays, tableToIPC } from 'apache-arrow';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HangarClient } from '../../src/client/index.js';
import { splitIpcStream } from '../../src/format/ipc-message.js';
import { encodeFlightData } from '../../src/flight/flight-data.js';
import { DescriptorType } from '../../src/flight/flight-messages.js';
import { FLIGHT_SERVICE } from './fixtures/grpc-js-flight-service.js';
import { HangarServer } from '../../src/server/hangar-server.js';

const table = tableFromArrays({ x: Int32Array.from([1, 2, 3]), s: ['a', 'b', 'c'] });
const validMessages = splitIpcStream(tableToIPC(table, 'stream'));
const json = (value: unknown): Buffer => Buffer.from(JSON.stringify(value));

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
