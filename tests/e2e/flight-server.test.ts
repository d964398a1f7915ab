// The server at the raw gRPC level: what any Flight client sees, including hostile and cancelled calls.
import { type Client, Metadata, type ServiceError, credentials, makeGenericClientConstructor, status } from '@grpc/grpc-js';
import { Table, tableFromArrays, tableFromIPC, tableToIPC } from 'apache-arrow';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { joinIpcStream, splitIpcStream } from '../../src/format/ipc-message.js';
import { decodeFlightData, encodeFlightData } from '../../src/flight/flight-data.js';
import { DescriptorType, type FlightDescriptor, encodeAction, encodeFlightDescriptor, encodeTicket } from '../../src/flight/flight-messages.js';
import { FLIGHT_SERVICE } from './fixtures/grpc-js-flight-service.js';
import { HangarServer } from '../../src/server/hangar-server.js';

type Raw = Client & Record<string, (...args: unknown[]) => any>;
const FlightServiceClient = makeGenericClientConstructor(FLIGHT_SERVICE, 'FlightService');

let server: HangarServer;
let client: Raw;

beforeAll(async () => {
  server = await HangarServer.start({ port: 0, data: 'memory:' });
  client = new FlightServiceClient(`127.0.0.1:${server.port}`, credentials.createInsecure(), {
    'grpc.max_receive_message_length': -1,
  }) as Raw;
});
afterAll(async () => {
  client.close();
  await server.close();
});

const json = (value: unknown): Buffer => Buffer.from(JSON.stringify(value));
const cmd = (value: unknown): FlightDescriptor => ({ type: DescriptorType.Cmd, cmd: json(value) });

function flightDataOf(table: Table, descriptor: FlightDescriptor): Buffer[] {
  return splitIpcStream(tableToIPC(table, 'stream')).map((message, i) =>
    encodeFlightData({ dataHeader: message.header, dataBody: message.body, flightDescriptor: i === 0 ? descriptor : undefined }));
}

function doPut(messages: Buffer[]): Promise<Buffer[]> {
  return new Promise((resolve, reject) => {
    const call = client.DoPut!();
    const results: Buffer[] = [];
    call.on('data', (data: Buffer) => results.push(data));
    call.on('error', reject);
    call.on('end', () => resolve(results));
    for (const message of messages) call.write(message);
    call.end();
  });
}

function doGet(ticket: unknown): Promise<Buffer[]> {
  return new Promise((resolve, reject) => {
    const call = client.DoGet!(encodeTicket({ ticket: json(ticket) }));
    const messages: Buffer[] = [];
    call.on('data', (data: Buffer) => messages.push(data));
    call.on('error', reject);
    call.on('end', () => resolve(messages));
  });
}

function tableOf(messages: Buffer[]): Table {
  return tableFromIPC(joinIpcStream(messages.map((raw) => {
    const data = decodeFlightData(raw);
    return { header: data.dataHeader, body: data.dataBody };
  })));
}

function unary(method: string, request: Buffer): Promise<Buffer> {
  return new Promise((resolve, reject) => client[method]!(request, (error: ServiceError | null, response: Buffer) => (error ? reject(error) : resolve(response))));
}

describe('Flight server over raw gRPC', () => {
  it('round-trips a frame and sends the schema first', async () => {
    const table = tableFromArrays({ a: Int32Array.from({ length: 1000 }, (_, i) => i), b: Float64Array.from({ length: 1000 }, (_, i) => i / 4) });
    await doPut(flightDataOf(table, cmd({ name: 'raw', mode: 'replace' })));
    const messages = await doGet({ name: 'raw' });
    expect(decodeFlightData(messages[0]!).dataBody.byteLength).toBe(0);
    const back = tableOf(messages);
    expect(back.numRows).toBe(1000);
    expect(back.getChild('b')?.get(999)).toBe(249.75);
  });

  it('sends exactly one Schema message for an empty frame', async () => {
    await doPut(flightDataOf(tableFromArrays({ a: new Int32Array(0) }), cmd({ name: 'empty', mode: 'replace' })));
    const messages = await doGet({ name: 'empty' });
    expect(messages).toHaveLength(1);
    expect(tableOf(messages).schema.fields.map((field) => field.name)).toEqual(['a']);
  });

  it('answers NOT_FOUND with a JSON detail trailer for a missing frame', async () => {
    const error = (await doGet({ name: 'missing' }).catch((e: ServiceError) => e)) as ServiceError;
    expect(error.code).toBe(status.NOT_FOUND);
    expect(error.details).toMatch(/frame 'missing' in bucket 'default' does not exist/);
    const detail = JSON.parse(String(error.metadata.get('x-hangar-error-bin')[0]));
    expect(detail).toMatchObject({ type: 'FileNotFoundError', code: 'NOT_FOUND' });
  });

  it('stores nothing when the client cancels a put midway, keeping the previous version', async () => {
    const small = tableFromArrays({ a: Int32Array.of(1, 2, 3) });
    await doPut(flightDataOf(small, cmd({ name: 'cancelled', mode: 'replace' })));
    const big = new Table(Array.from({ length: 50 }, (_, i) => tableFromArrays({ a: Int32Array.from({ length: 1000 }, () => i) }).batches).flat());
    const messages = flightDataOf(big, cmd({ name: 'cancelled', mode: 'replace' }));
    await new Promise<void>((resolve) => {
      const call = client.DoPut!();
      call.on('error', () => resolve());
      call.on('end', () => resolve());
      call.on('data', () => undefined);
      for (const message of messages.slice(0, 20)) call.write(message);
      setTimeout(() => call.cancel(), 100);
    });
    await new Promise((resolve) => setTimeout(resolve, 200));
    const back = tableOf(await doGet({ name: 'cancelled' }));
    expect(Array.from(back.getChild('a')!.toArray() as Int32Array)).toEqual([1, 2, 3]);
  });

  it('refuses malformed FlightData with INVALID_ARGUMENT and stays up', async () => {
    const descriptor = encodeFlightData({ flightDescriptor: cmd({ name: 'bad' }), dataHeader: Uint8Array.of(1, 2, 3, 4, 5, 6, 7, 8), dataBody: new Uint8Array(0) });
    const garbage = (await doPut([descriptor]).catch((e: ServiceError) => e)) as ServiceError;
    expect(garbage.code).toBe(status.INVALID_ARGUMENT);
    const notProtobuf = (await doPut([Buffer.from([0xff, 0xff, 0xff])]).catch((e: ServiceError) => e)) as ServiceError;
    expect(notProtobuf.code).toBe(status.INVALID_ARGUMENT);
    const table = tableFromArrays({ a: Int32Array.of(1) });
    const [schema, batch] = flightDataOf(table, cmd({ name: 'bad' }));
    const truncated = decodeFlightData(batch!);
    const shortBody = encodeFlightData({ dataHeader: truncated.dataHeader, dataBody: truncated.dataBody.subarray(0, 2) });
    const short = (await doPut([schema!, shortBody]).catch((e: ServiceError) => e)) as ServiceError;
    expect(short.code).toBe(status.INVALID_ARGUMENT);
    expect(short.details).toMatch(/body/);
    await expect(unary('GetFlightInfo', encodeFlightDescriptor({ type: DescriptorType.Path, path: ['bad'] }))).rejects.toMatchObject({ code: status.NOT_FOUND });
    const pong = await new Promise<string>((resolve, reject) => {
      const call = client.DoAction!(encodeAction({ type: 'ping', body: new Uint8Array(0) }));
      call.on('data', (data: Buffer) => resolve(data.subarray(2).toString()));
      call.on('error', reject);
    });
    expect(pong).toBe('pong');
  });

  it('refuses a put without a descriptor and a descriptor with a bad name', async () => {
    const table = tableFromArrays({ a: Int32Array.of(1) });
    const noDescriptor = splitIpcStream(tableToIPC(table, 'stream')).map((m) => encodeFlightData({ dataHeader: m.header, dataBody: m.body }));
    await expect(doPut(noDescriptor)).rejects.toMatchObject({ code: status.INVALID_ARGUMENT, details: expect.stringMatching(/no FlightDescriptor/) });
    await expect(doPut(flightDataOf(table, { type: DescriptorType.Path, path: ['../escape'] }))).rejects.toMatchObject({ code: status.INVALID_ARGUMENT });
  });

  it('answers UNIMPLEMENTED for PollFlightInfo and DoExchange', async () => {
    await expect(unary('PollFlightInfo', encodeFlightDescriptor({ type: DescriptorType.Path, path: ['x'] }))).rejects.toMatchObject({ code: status.UNIMPLEMENTED });
    const exchange = await new Promise<ServiceError>((resolve) => {
      const call = client.DoExchange!(new Metadata());
      call.on('error', resolve);
      call.on('data', () => undefined);
    });
    expect(exchange.code).toBe(status.UNIMPLEMENTED);
  });

  it('splits large frames into messages of at most ~4 MiB', async () => {
    const rows = 2_000_000;
    const table = tableFromArrays({ a: Float64Array.from({ length: rows }, (_, i) => i), b: Float64Array.from({ length: rows }, (_, i) => -i) });
    await doPut(flightDataOf(table, cmd({ name: 'large', mode: 'replace' })));
    const messages = await doGet({ name: 'large' });
    expect(Math.max(...messages.map((m) => m.byteLength))).toBeLessThanOrEqual(4 * 1024 * 1024);
    expect(messages.length).toBeGreaterThan(8);
    expect(tableOf(messages).getChild('b')?.get(rows - 1)).toBe(-(rows - 1));
  });
});
