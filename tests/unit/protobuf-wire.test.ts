import { describe, expect, it } from 'vitest';
import { InvalidArgumentError } from '../../src/core/errors.js';
import { readFields } from '../../src/flight/protobuf-wire.js';
import { decodeHandshake, decodeTicket } from '../../src/flight/flight-messages.js';

/** Encodes a BigInt as a (two's-complement, 64-bit) varint, as a hostile client could send it. */
function varint64(value: bigint): number[] {
  let v = BigInt.asUintN(64, value);
  const out: number[] = [];
  do {
    const low = Number(v & 0x7fn);
    v >>= 7n;
    out.push(v > 0n ? low | 0x80 : low);
  } while (v > 0n);
  return out;
}

const decodeAll = (bytes: number[]): unknown[] => [...readFields(Uint8Array.from(bytes), 'Test')];

describe('protobuf wire reader: hostile input is refused, never looped on', () => {
  it('refuses a negative length (the 16-byte Handshake that hung the server)', () => {
    const hostile = [0x12, ...varint64(-11n), 0x41, 0x41, 0x41, 0x41, 0x41];
    expect(hostile.length).toBe(16);
    expect(() => decodeHandshake(Uint8Array.from(hostile))).toThrow(/length -11 is out of range/);
  });

  it('refuses every negative length and lengths over 2^31-1', () => {
    for (const length of [-1n, -2n, -(2n ** 31n), -(2n ** 63n), 2n ** 31n, 2n ** 40n]) {
      expect(() => decodeAll([0x0a, ...varint64(length), 1, 2, 3])).toThrow(InvalidArgumentError);
    }
  });

  it('refuses lengths past the end, truncated varints and truncated fixed fields', () => {
    expect(() => decodeAll([0x0a, 0x05, 1, 2])).toThrow(/past the end/);
    expect(() => decodeAll([0x08, 0xff])).toThrow(/truncated varint/);
    expect(() => decodeAll([0x09, 1, 2, 3])).toThrow(/truncated fixed64/);
    expect(() => decodeAll([0x0d, 1, 2])).toThrow(/truncated fixed32/);
  });

  it('refuses varints longer than 10 bytes or overflowing 64 bits', () => {
    expect(() => decodeAll([0x08, ...Array(10).fill(0xff), 0x01])).toThrow(/longer than 10 bytes/);
    expect(() => decodeAll([0x08, ...Array(9).fill(0xff), 0x7f])).toThrow(/overflows 64 bits/);
  });

  it('reads 10-byte varints as int64', () => {
    const fields = readFields(Uint8Array.from([0x08, ...varint64(-1n)]), 'Test');
    expect([...fields]).toEqual([{ field: 1, wireType: 0, varint: -1 }]);
    const big = [...readFields(Uint8Array.from([0x08, ...varint64(2n ** 62n)]), 'Test')];
    expect(big[0]).toMatchObject({ varint: 2 ** 62 });
  });

  it('refuses groups and reserved wire types, field number 0 and negative tags', () => {
    for (const wireType of [3, 4, 6, 7]) {
      expect(() => decodeAll([(1 << 3) | wireType, 0])).toThrow(/wire type/);
    }
    expect(() => decodeAll([0x02, 0x00])).toThrow(/field number 0/);
    expect(() => decodeAll([...varint64(-8n), 0])).toThrow(/tag/);
  });

  it('skips unknown fields of every accepted wire type', () => {
    const ticket = [0x18, 0x05, 0x21, 1, 2, 3, 4, 5, 6, 7, 8, 0x2d, 1, 2, 3, 4, 0x0a, 0x02, 0x68, 0x69];
    expect(Buffer.from(decodeTicket(Uint8Array.from(ticket)).ticket).toString()).toBe('hi');
  });
});
