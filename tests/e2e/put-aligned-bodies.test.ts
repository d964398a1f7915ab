// DoPut's receive path without the join: large FlightData are reassembled so their IPC bodies start
// 8-byte aligned in buffers of their own, and a segment's batch bodies go to the codec worker where
// they lie (pieces, not one joined stream). Checked piece by piece and through a real server: the
// frame stored is the frame sent, and a put cancelled or malformed mid-stream stores nothing.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Client, Metadata, type ServiceError, credentials, makeGenericClientConstructor } from '@grpc/grpc-js';
import { Dictionary, Int32, Table, Utf8, tableToIPC, vectorFromArray } from 'apache-arrow';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HangarClient } from '../../src/client/index.js';
import { type IpcMessage, handOverMessageBuffer, ipcStreamPieces, joinIpcStream, splitIpcStream } from '../../src/format/ipc-message.js';
import { ParquetCodec } from '../../src/format/parquet/parquet-codec.js';
import { alignFlightDataBody, decodeFlightData, encodeFlightData, flightDataBodyOffset } from '../../src/flight/flight-data.js';
import { DescriptorType, type FlightDescriptor } from '../../src/flight/flight-messages.js';
import { MessageDeframer, holdsBufferAlone, writeMessagePrefix } from '../../src/grpc/message-framing.js';
import { HangarServer } from '../../src/server/hangar-server.js';
import { FLIGHT_SERVICE } from './fixtures/grpc-js-flight-service.js';

type Raw = Client & Record<string, (...args: unknown[]) => any>;
const FlightServiceClient = makeGenericClientConstructor(FLIGHT_SERVICE, 'FlightService');
const json = (value: unknown): Buffer => Buffer.from(JSON.stringify(value));
const cmd = (value: unknown): FlightDescriptor => ({ type: DescriptorType.Cmd, cmd: json(value) });

/** `rows` rows in batches of `batchRows`: a time column, two float64 columns and a category. */
function frameOf(rows: number, batchRows: number, seed = 1): Table {
  const whole = new Table({
    ts: vectorFromArray(BigInt64Array.from({ length: rows }, (_, i) => BigInt(i) * 1000n)),
    f0: vectorFromArray(Float64Array.from({ length: rows }, (_, i) => Math.sin(seed * i))),
    f1: vectorFromArray(Float64Array.from({ length: rows }, (_, i) => i / 3)),
    category: vectorFromArray(Array.from({ length: rows }, (_, i) => `c${i % 7}`), new Dictionary(new Utf8(), new Int32())),
  });
  const batches = [];
  for (let start = 0; start < rows; start += batchRows) batches.push(...whole.slice(start, start + batchRows).batches);
  return new Table(batches);
}

/** A gRPC message (prefix and FlightData) fed to a deframer in chunks of `chunk` bytes. */
function deframeInChunks(deframer: MessageDeframer, flightData: Uint8Array, chunk: number): Buffer[] {
  const framed = Buffer.alloc(5 + flightData.byteLength);
  writeMessagePrefix(framed, 0, flightData.byteLength);
  framed.set(flightData, 5);
  const out: Buffer[] = [];
  for (let at = 0; at < framed.byteLength; at += chunk) {
    deframer.push(Buffer.from(framed.subarray(at, at + chunk)), (message) => out.push(message as Buffer));
  }
  return out;
}

describe('aligned receive of FlightData bodies', () => {
  const big = splitIpcStream(tableToIPC(frameOf(20_000, 20_000), 'stream')).find((message) => message.body.byteLength > 64 * 1024)!;

  it('finds the body in a FlightData lead, and not in bytes that stop before it', () => {
    const encoded = encodeFlightData({ dataHeader: big.header, dataBody: big.body, flightDescriptor: cmd({ name: 'x' }) });
    const offset = flightDataBodyOffset(encoded)!;
    expect(Buffer.compare(encoded.subarray(offset, offset + big.body.byteLength), Buffer.from(big.body))).toBe(0);
    expect(flightDataBodyOffset(encoded.subarray(0, offset - 1))).toBeUndefined();
    expect(alignFlightDataBody(Uint8Array.of(0xff, 0xff, 0xff))).toBe(0);
  });

  it('places a reassembled message so its body is aligned, in a buffer of its own, with the same bytes', () => {
    for (const extra of [0, 1, 2, 3, 5, 7]) {
      // Metadata of different lengths moves the body to every offset mod 8.
      const encoded = encodeFlightData({ dataHeader: big.header, dataBody: big.body, appMetadata: new Uint8Array(extra + 1).fill(9) });
      const placed = new MessageDeframer(1 << 30);
      placed.placement = alignFlightDataBody;
      const [message] = deframeInChunks(placed, encoded, 16_384);
      expect(Buffer.compare(message!, encoded)).toBe(0);
      const body = decodeFlightData(message!).dataBody;
      expect(body.byteOffset % 8).toBe(0);
      expect(holdsBufferAlone(body)).toBe(true);
      // Unplaced, the same bytes; a message that arrives whole in one chunk stays a view of it.
      const [plain] = deframeInChunks(new MessageDeframer(1 << 30), encoded, 16_384);
      expect(Buffer.compare(plain!, encoded)).toBe(0);
      const [whole] = deframeInChunks(placed, encoded, encoded.byteLength + 5);
      expect(holdsBufferAlone(whole!)).toBe(false);
    }
  });

  it('lays a segment out as pieces equal to the joined stream, leaving only handed-over aligned batch bodies in place', async () => {
    const messages = splitIpcStream(tableToIPC(frameOf(200_000, 50_000), 'stream'));
    const joined = joinIpcStream(messages);
    // Nothing handed over: no pieces (the caller joins).
    expect(ipcStreamPieces(messages, () => true)).toBeUndefined();
    const owned: IpcMessage[] = messages.map((message) => {
      const buffer = new ArrayBuffer(message.body.byteLength + 8);
      const body = new Uint8Array(buffer, 8, message.body.byteLength);
      body.set(message.body);
      if (message.body.byteLength > 64 * 1024) handOverMessageBuffer(buffer);
      return { header: message.header, body };
    });
    const batches = new Set(owned.slice(2));
    const pieces = ipcStreamPieces(owned, (message) => batches.has(message))!;
    expect(pieces.byteLength).toBe(joined.byteLength);
    expect(Buffer.compare(Buffer.concat(pieces.pieces), Buffer.from(joined))).toBe(0);
    const inPlace = pieces.pieces.filter((piece) => owned.some((message) => message.body === piece));
    expect(inPlace.length).toBe([...batches].filter((message) => message.body.byteLength > 64 * 1024).length);
    expect(inPlace.length).toBeGreaterThan(1);

    // The codec writes the same file from the pieces as from the joined stream.
    const codec = new ParquetCodec(1);
    try {
      const options = { rowGroupRows: 65_536, dictionaryColumns: ['category'], statisticsColumns: ['ts'], compression: 'none' as const };
      const fromJoined = await codec.encodeSegmentParts(joinIpcStream(messages), options);
      const fromPieces = await codec.encodeSegmentParts(pieces, options);
      expect(fromPieces.checksums).toEqual(fromJoined.checksums);
      expect(Buffer.compare(Buffer.concat(fromPieces.parts), Buffer.concat(fromJoined.parts))).toBe(0);
      // The pieces' buffers went to the worker (detached here).
      expect(inPlace[0]!.byteLength).toBe(0);
    } finally {
      await codec.close();
    }
  });
});

describe('DoPut through a live server with bodies received in place', () => {
  let server: HangarServer;
  let raw: Raw;
  let client: HangarClient;
  let dir: string;

  beforeAll(async () => {
    // Small segments: a put of this frame is several segments, so some are encoded and written
    // before a later message fails or the client cancels.
    // A local directory store: it writes the segment files from where their runs lie (received bodies included).
    dir = await mkdtemp(join(tmpdir(), 'hangar-aligned-put-'));
    server = await HangarServer.start({ port: 0, data: join(dir, 'store'), engine: { segmentBytes: 1024 * 1024 } });
    raw = new FlightServiceClient(`127.0.0.1:${server.port}`, credentials.createInsecure(), { 'grpc.max_send_message_length': -1 }) as Raw;
    client = HangarClient.connect(server.location);
  });
  afterAll(async () => {
    raw.close();
    client.close();
    await server.close();
    await rm(dir, { recursive: true, force: true });
  });

  function flightDataOf(table: Table, descriptor: FlightDescriptor, appMetadataBytes = 0): Buffer[] {
    return splitIpcStream(tableToIPC(table, 'stream')).map((message, i) =>
      encodeFlightData({
        dataHeader: message.header,
        dataBody: message.body,
        ...(appMetadataBytes > 0 ? { appMetadata: new Uint8Array(appMetadataBytes) } : {}),
        ...(i === 0 ? { flightDescriptor: descriptor } : {}),
      }));
  }

  function doPut(messages: Buffer[], cancelAfter?: number): Promise<{ code: number; details: string }> {
    return new Promise((resolve) => {
      const call = raw.DoPut!(new Metadata());
      call.on('data', () => undefined);
      call.on('error', (error: ServiceError) => resolve({ code: error.code, details: error.details }));
      call.on('status', (s: { code: number; details: string }) => s.code === 0 && resolve({ code: 0, details: s.details }));
      const sent = cancelAfter === undefined ? messages : messages.slice(0, cancelAfter);
      for (const message of sent) call.write(message);
      if (cancelAfter === undefined) call.end();
      else setTimeout(() => call.cancel(), 300);
    });
  }

  const valuesOf = (table: Table, column: string): unknown[] => Array.from(table.getChild(column)!.toArray() as ArrayLike<unknown>);

  it('stores the frame it was sent, whatever offset the bodies arrive at', async () => {
    // Each put sends other values: a received buffer reused too early would store the wrong ones.
    const pads = [0, 1, 3];
    for (const pad of pads) expect((await doPut(flightDataOf(frameOf(120_000, 16_384, pad + 5), cmd({ name: `aligned${pad}`, mode: 'replace' }), pad))).code).toBe(0);
    for (const pad of pads) {
      const frame = frameOf(120_000, 16_384, pad + 5);
      const back = await client.get(`aligned${pad}`);
      expect(back.numRows).toBe(frame.numRows);
      for (const column of ['ts', 'f0', 'f1']) expect(valuesOf(back, column)).toEqual(valuesOf(frame, column));
      expect(back.getChild('category')!.toArray().map(String)).toEqual(frame.getChild('category')!.toArray().map(String));
    }
  });

  it('stores nothing when the client cancels after some segments were handed to the worker', async () => {
    const before = frameOf(1000, 1000, 2);
    await client.put('cancelled', before);
    const messages = flightDataOf(frameOf(200_000, 16_384, 3), cmd({ name: 'cancelled', mode: 'replace' }));
    await doPut(messages, messages.length - 2);
    await new Promise((resolve) => setTimeout(resolve, 200));
    const back = await client.get('cancelled');
    expect(valuesOf(back, 'f0')).toEqual(valuesOf(before, 'f0'));
  });

  it('stores nothing when a message late in the put is malformed', async () => {
    const messages = flightDataOf(frameOf(200_000, 16_384, 4), cmd({ name: 'malformed', mode: 'replace' }));
    const last = decodeFlightData(messages.at(-1)!);
    messages[messages.length - 1] = encodeFlightData({ dataHeader: last.dataHeader, dataBody: last.dataBody.subarray(0, 8) });
    const outcome = await doPut(messages);
    expect(outcome.code).not.toBe(0);
    expect(outcome.details).toMatch(/body/);
    await expect(client.stat('malformed')).rejects.toMatchObject({ code: 'NOT_FOUND' });
    // The server still takes puts.
    await client.put('after', frameOf(10, 10));
    expect((await client.get('after')).numRows).toBe(10);
  });
});
