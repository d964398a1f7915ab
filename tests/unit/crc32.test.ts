// CRC-32 as Parquet page headers and manifests use it: the known check values of the definition,
// the SIMD version (@node-rs/crc32) and the table-driven one against Node's zlib on many lengths
// and offsets, and combining.
import * as zlib from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { crc32, crc32Combine, crc32Implementation, formatCrc32, parseCrc32, tableCrc32 } from '../../src/format/crc32.js';
import { random } from './parquet-fixtures.js';

const text = (value: string) => new TextEncoder().encode(value);

describe('CRC-32', () => {
  it.each([
    ['', 0x00000000],
    ['a', 0xe8b7be43],
    ['abc', 0x352441c2],
    ['123456789', 0xcbf43926],
    ['The quick brown fox jumps over the lazy dog', 0x414fa339],
  ])('gives the check value of %j, by tables and by zlib', (input, expected) => {
    expect(tableCrc32(text(input))).toBe(expected);
    expect(crc32(text(input))).toBe(expected);
  });

  it('agrees with zlib over random bytes of every length up to 300, at odd offsets, and continued', () => {
    const next = random(7);
    const bytes = Uint8Array.from({ length: 4096 }, () => Math.floor(next() * 256));
    expect(typeof (zlib as { crc32?: unknown }).crc32).toBe('function');
    for (let length = 0; length <= 300; length++) {
      const piece = bytes.subarray(length % 13, (length % 13) + length);
      expect(tableCrc32(piece)).toBe(zlib.crc32(piece) >>> 0);
    }
    // An empty piece changes nothing, whatever its buffer (zlib itself answers 0 for a view of an empty ArrayBuffer).
    for (const empty of [new Uint8Array(0), new Uint8Array(new Int32Array(0).buffer), bytes.subarray(5, 5)]) {
      expect(crc32(empty, 0x12345678)).toBe(0x12345678);
      expect(tableCrc32(empty, 0x12345678)).toBe(0x12345678);
    }
    const whole = crc32(bytes);
    expect(tableCrc32(bytes.subarray(1001), tableCrc32(bytes.subarray(0, 1001)))).toBe(whole);
    expect(crc32(bytes.subarray(1001), crc32(bytes.subarray(0, 1001)))).toBe(whole);
  });

  it('runs the SIMD CRC-32 here and agrees with zlib at every length around its block sizes, at odd offsets, and continued', () => {
    // The binding for this platform is installed by `npm ci`: verification of every read rests on its speed.
    expect(crc32Implementation).toBe('simd');
    const next = random(5);
    const bytes = Uint8Array.from({ length: 1 << 18 }, () => Math.floor(next() * 256));
    const lengths = [...Array.from({ length: 600 }, (_, i) => i), 1023, 1024, 1025, 4095, 4096, 4097, 65_535, 65_536, 65_537, (1 << 18) - 7];
    for (const length of lengths) {
      const start = length % 7;
      const piece = bytes.subarray(start, Math.min(bytes.byteLength, start + length));
      expect(crc32(piece)).toBe(zlib.crc32(piece) >>> 0);
      expect(crc32(piece, 0xdeadbeef)).toBe(zlib.crc32(piece, 0xdeadbeef) >>> 0);
    }
  });

  it('combines the CRCs of adjoining runs into the CRC of both', () => {
    const next = random(11);
    const bytes = Uint8Array.from({ length: 70_001 }, () => Math.floor(next() * 256));
    for (const cut of [0, 1, 8, 4095, 65_536, 70_000, 70_001]) {
      const a = bytes.subarray(0, cut);
      const b = bytes.subarray(cut);
      expect(crc32Combine(crc32(a), crc32(b), b.byteLength)).toBe(crc32(bytes));
    }
  });

  it('records CRCs as 8 hex digits and reads them back, refusing anything else', () => {
    expect(formatCrc32(0xcbf43926)).toBe('cbf43926');
    expect(formatCrc32(0x1f)).toBe('0000001f');
    expect(parseCrc32('0000001f')).toBe(0x1f);
    expect(parseCrc32('cbf43926')).toBe(0xcbf43926);
    for (const bad of ['CBF43926', 'cbf4392', 'cbf439260', 12, undefined, 'xyzxyzxy']) expect(parseCrc32(bad)).toBeUndefined();
  });
});
