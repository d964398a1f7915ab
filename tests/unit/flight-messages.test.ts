import { describe, expect, it } from 'vitest';
import { InvalidArgumentError } from '../../src/errors.js';
import { decodeFlightData, encodeFlightData } from '../../src/flight/flight-data.js';
import {
  DescriptorType,
  decodeAction,
  decodeActionType,
  decodeCriteria,
  decodeFlightDescriptor,
  decodeFlightInfo,
  decodeHandshake,
  decodeResult,
  decodeSchemaResult,
  decodeTicket,
  encodeAction,
  encodeActionType,
  encodeCriteria,
  encodeFlightDescriptor,
  encodeFlightInfo,
  encodeHandshake,
  encodeResult,
  encodeSchemaResult,
  encodeTicket,
} from '../../src/flight/flight-messages.js';
import { readFields } from '../../src/flight/protobuf-wire.js';

const bytes = (text: string): Uint8Array => Buffer.from(text, 'utf8');

describe('Flight protobuf messages', () => {
  it('round-trip PATH and CMD descriptors', () => {
    const path = { type: DescriptorType.Path, path: ['frame', 'bucket', 'ünïcode'] };
    expect(decodeFlightDescriptor(encodeFlightDescriptor(path))).toEqual(path);
    const cmd = decodeFlightDescriptor(encodeFlightDescriptor({ type: DescriptorType.Cmd, cmd: bytes('{"a":1}') }));
    expect(cmd.type).toBe(DescriptorType.Cmd);
    expect(Buffer.from(cmd.cmd!).toString()).toBe('{"a":1}');
  });

  it('encodes descriptor fields with the spec field numbers (type=1, cmd=2, path=3)', () => {
    const encoded = encodeFlightDescriptor({ type: DescriptorType.Path, path: ['x'] });
    expect([...readFields(encoded, 'test')].map((f) => f.field)).toEqual([1, 3]);
    expect([...encoded]).toEqual([0x08, 0x01, 0x1a, 0x01, 0x78]);
  });

  it('round-trips a FlightInfo, including -1 for unknown totals', () => {
    const info = {
      schema: Uint8Array.of(1, 2, 3),
      flightDescriptor: { type: DescriptorType.Path, path: ['a', 'b'] },
      endpoint: [{ ticket: { ticket: bytes('t') }, location: [{ uri: 'grpc://127.0.0.1:1' }] }],
      totalRecords: -1,
      totalBytes: 123456789012,
      ordered: true,
    };
    const back = decodeFlightInfo(encodeFlightInfo(info));
    expect(back.totalRecords).toBe(-1);
    expect(back.totalBytes).toBe(123456789012);
    expect(back.ordered).toBe(true);
    expect(back.flightDescriptor).toEqual(info.flightDescriptor);
    expect(Buffer.from(back.endpoint[0]!.ticket!.ticket).toString()).toBe('t');
    expect(back.endpoint[0]!.location).toEqual([{ uri: 'grpc://127.0.0.1:1' }]);
    expect([...back.schema]).toEqual([1, 2, 3]);
  });

  it('round-trips tickets, actions, results, action types, criteria, handshakes and schema results', () => {
    expect(Buffer.from(decodeTicket(encodeTicket({ ticket: bytes('xyz') })).ticket).toString()).toBe('xyz');
    const action = decodeAction(encodeAction({ type: 'ping', body: bytes('{}') }));
    expect(action.type).toBe('ping');
    expect(Buffer.from(action.body).toString()).toBe('{}');
    expect(Buffer.from(decodeResult(encodeResult({ body: bytes('pong') })).body).toString()).toBe('pong');
    expect(decodeActionType(encodeActionType({ type: 'a', description: 'does a' }))).toEqual({ type: 'a', description: 'does a' });
    expect(Buffer.from(decodeCriteria(encodeCriteria({ expression: bytes('{}') })).expression).toString()).toBe('{}');
    const handshake = decodeHandshake(encodeHandshake({ protocolVersion: 3, payload: bytes('tok') }));
    expect(handshake.protocolVersion).toBe(3);
    expect(Buffer.from(handshake.payload).toString()).toBe('tok');
    expect([...decodeSchemaResult(encodeSchemaResult(Uint8Array.of(9, 8)))]).toEqual([9, 8]);
  });

  it('refuses truncated and malformed input with InvalidArgumentError', () => {
    const encoded = encodeFlightDescriptor({ type: DescriptorType.Path, path: ['abcdef'] });
    expect(() => decodeFlightDescriptor(encoded.subarray(0, encoded.length - 2))).toThrow(InvalidArgumentError);
    expect(() => decodeTicket(Uint8Array.of(0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f))).toThrow(/past the end/);
    expect(() => decodeAction(Uint8Array.of(0x0b))).toThrow(/past the end/);
    expect(() => decodeAction(Uint8Array.of(0x00))).toThrow(/field no 0/);
    expect(() => decodeAction(Uint8Array.of(0x08, 0xff))).toThrow(InvalidArgumentError);
  });

  it('skips unknown fields', () => {
    const withExtra = Buffer.concat([encodeTicket({ ticket: bytes('t') }), Buffer.from([0x10, 0x05, 0x1d, 1, 2, 3, 4])]);
    expect(Buffer.from(decodeTicket(withExtra).ticket).toString()).toBe('t');
  });
});

describe('FlightData codec', () => {
  it('round-trips all fields; body uses field 1000 and decodes as a view', () => {
    const body = Uint8Array.from({ length: 300 }, (_, i) => i & 0xff);
    const encoded = encodeFlightData({
      flightDescriptor: { type: DescriptorType.Path, path: ['p'] },
      dataHeader: Uint8Array.of(1, 2),
      appMetadata: bytes('meta'),
      dataBody: body,
    });
    expect([...readFields(encoded, 'FlightData')].map((f) => f.field)).toEqual([1, 2, 3, 1000]);
    const back = decodeFlightData(encoded);
    expect(back.flightDescriptor?.path).toEqual(['p']);
    expect([...back.dataHeader]).toEqual([1, 2]);
    expect(Buffer.from(back.appMetadata!).toString()).toBe('meta');
    expect(Buffer.from(back.dataBody).equals(Buffer.from(body))).toBe(true);
    expect(back.dataBody.buffer).toBe(encoded.buffer);
  });

  it('allows metadata-only messages', () => {
    const back = decodeFlightData(encodeFlightData({ dataHeader: new Uint8Array(0), dataBody: new Uint8Array(0), appMetadata: bytes('m') }));
    expect(back.dataHeader.byteLength).toBe(0);
    expect(back.dataBody.byteLength).toBe(0);
    expect(Buffer.from(back.appMetadata!).toString()).toBe('m');
  });
});
