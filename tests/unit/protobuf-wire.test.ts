import { describe, expect, it } from 'vitest';
import { InvalidArgumentError } from '../../src/errors.js';
import { readFields } from '../../src/flight/protobuf-wire.js';
import { varintBytes } from '../../src/testing/protobuf-fuzz-encoding.js';
import { decodeHandshake, decodeTicket } from '../../src/flight/flight-messages.js';


const decodeAll = (bytes: number[]): unknown[] => [...readFields(Uint8Array.from(bytes), 'Test')];

describe('protobuf wire reader: hostile input is refused, never looped on', () => {
  it('refuses a negative length (the 16-byte Handshake that hung the server)', () => {
    const hostile = [0x12, ...varintBytes(-11n), 0x41, 0x41, 0x41, 0x41, 0x41];
    expect(hostile.length).toBe(16);
    expect(() => decodeHandshake(Uint8Array.from(hostile))).toThrow(/malformed Handshake message: a field runs past the end/);
  });

  it('refuses every negative length and lengths over 2^31-1', () => {
    for (const length of [-1n, -2n, -(2n ** 31n), -(2n ** 63n), 2n ** 31n, 2n ** 40n]) {
      expect(() => decodeAll([0x0a, ...varintBytes(length), 1, 2, 3])).toThrow(InvalidArgumentError);
    }
  });

  it('refuses lengths past the end, truncated varints and truncated fixed fields', () => {
    for (const truncated of [[0x0a, 0x05, 1, 2], [0x08, 0xff], [0x09, 1, 2, 3], [0x0d, 1, 2], [0x0a]]) {
      expect(() => decodeAll(truncated), String(truncated)).toThrow(/past the end|varint/);
    }
  });

  it('refuses varints longer than 10 bytes', () => {
    expect(() => decodeAll([0x08, ...Array(10).fill(0xff), 0x01])).toThrow(/malformed Test message: invalid varint/);
  });

  it('reads 10-byte varints as int64', () => {
    const fields = readFields(Uint8Array.from([0x08, ...varintBytes(-1n)]), 'Test');
    expect([...fields]).toEqual([{ field: 1, wireType: 0, varint: -1 }]);
    const big = [...readFields(Uint8Array.from([0x08, ...varintBytes(2n ** 62n)]), 'Test')];
    expect(big[0]).toMatchObject({ varint: 2 ** 62 });
  });

  it('refuses reserved wire types, a lone end of group, field number 0 and tags over 32 bits', () => {
    for (const wireType of [4, 6, 7]) {
      expect(() => decodeAll([(1 << 3) | wireType, 0]), `wire type ${wireType}`).toThrow(InvalidArgumentError);
    }
    expect(() => decodeAll([0x02, 0x00])).toThrow(/field no 0/);
    expect(() => decodeAll([...varintBytes(-8n), 0])).toThrow(/tag/);
  });

  it('skips a group, and refuses groups nested past 100 levels', () => {
    expect(decodeAll([0x0b, 0x08, 0x01, 0x0c, 0x10, 0x02])).toEqual([{ field: 2, wireType: 0, varint: 2 }]);
    const deep = [...Array(200).fill(0x0b), ...Array(200).fill(0x0c)];
    expect(() => decodeAll(deep)).toThrow(/recursion depth/);
  });

  it('skips unknown fields of every accepted wire type', () => {
    const ticket = [0x18, 0x05, 0x21, 1, 2, 3, 4, 5, 6, 7, 8, 0x2d, 1, 2, 3, 4, 0x0a, 0x02, 0x68, 0x69];
    expect(Buffer.from(decodeTicket(Uint8Array.from(ticket)).ticket).toString()).toBe('hi');
  });
});
