/**
 * CRC-32 (the gzip/zip/Parquet polynomial 0x04C11DB7, reflected 0xEDB88320, initial and final
 * value 0xFFFFFFFF): what Parquet page headers carry and what manifests record for segments and
 * for themselves. `@node-rs/crc32` (carry-less multiplication, PCLMULQDQ/VPCLMULQDQ or ARM's
 * PMULL; 23–31 GB/s here against zlib's 4–6 GB/s, bench/crc32_ab.mjs) does the work: every read
 * verifies what it reads, so the CRC's speed is the read's verification cost. Where its binding
 * cannot load (a platform without a prebuilt one), Node's own `zlib.crc32` (Node ≥ 20.15) does it,
 * and older Nodes get a table-driven version written from the definition; the tests hold all three
 * to the same known vectors. {@link crc32Combine} joins the CRCs of two adjoining byte runs without
 * reading them again (polynomial arithmetic modulo the CRC polynomial).
 */
import { createRequire } from 'node:module';
import * as zlib from 'node:zlib';

const POLYNOMIAL = 0xedb88320;

/** A CRC-32 function continuing from `value` (the CRC of the bytes before; 0 to start). */
type Crc32Function = (data: Uint8Array, value?: number) => number;

/** `@node-rs/crc32`'s SIMD CRC-32, when its binding loads on this platform. */
function loadSimd(): Crc32Function | undefined {
  try {
    return (createRequire(import.meta.url)('@node-rs/crc32') as { crc32: Crc32Function }).crc32;
  } catch {
    return undefined;
  }
}

/** Node's zlib CRC-32, when this Node has it. */
const zlibCrc32 = (zlib as { crc32?: Crc32Function }).crc32;

/** The fastest CRC-32 this process has: SIMD, else zlib's (tables below when neither). */
const native: Crc32Function | undefined = loadSimd() ?? zlibCrc32;

/** Which implementation {@link crc32} uses here: `simd` (`@node-rs/crc32`), `zlib` or `tables`. */
export const crc32Implementation: 'simd' | 'zlib' | 'tables' = native === undefined ? 'tables' : native === zlibCrc32 ? 'zlib' : 'simd';

/** 8 tables of 256 entries: byte-at-a-time table, then the tables of slice-by-8. */
let tables: Uint32Array[] | undefined;

function sliceTables(): Uint32Array[] {
  if (tables) return tables;
  const made = Array.from({ length: 8 }, () => new Uint32Array(256));
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? POLYNOMIAL ^ (c >>> 1) : c >>> 1;
    made[0]![n] = c >>> 0;
  }
  for (let n = 0; n < 256; n++) {
    let c = made[0]![n]!;
    for (let t = 1; t < 8; t++) {
      c = made[0]![c & 0xff]! ^ (c >>> 8);
      made[t]![n] = c >>> 0;
    }
  }
  tables = made;
  return made;
}

/**
 * The CRC-32 of `bytes` by tables (slice-by-8), continuing from `previous` (the CRC of the bytes
 * before them; 0 to start). Exported for the tests, which hold it to zlib's answers.
 */
export function tableCrc32(bytes: Uint8Array, previous = 0): number {
  const [t0, t1, t2, t3, t4, t5, t6, t7] = sliceTables() as [Uint32Array, Uint32Array, Uint32Array, Uint32Array, Uint32Array, Uint32Array, Uint32Array, Uint32Array];
  let c = ~previous >>> 0;
  let i = 0;
  const end8 = bytes.byteLength - (bytes.byteLength % 8);
  for (; i < end8; i += 8) {
    const a = (c ^ (bytes[i]! | (bytes[i + 1]! << 8) | (bytes[i + 2]! << 16) | (bytes[i + 3]! << 24))) >>> 0;
    c =
      t7[a & 0xff]! ^
      t6[(a >>> 8) & 0xff]! ^
      t5[(a >>> 16) & 0xff]! ^
      t4[a >>> 24]! ^
      t3[bytes[i + 4]!]! ^
      t2[bytes[i + 5]!]! ^
      t1[bytes[i + 6]!]! ^
      t0[bytes[i + 7]!]!;
  }
  for (; i < bytes.byteLength; i++) c = t0[(c ^ bytes[i]!) & 0xff]! ^ (c >>> 8);
  return ~c >>> 0;
}

/** The CRC-32 of `bytes`, continuing from `previous` (the CRC of the bytes before them; 0 to start). */
export function crc32(bytes: Uint8Array, previous = 0): number {
  // zlib answers 0 for a view of an empty ArrayBuffer (a null data pointer means "initial value");
  // nothing to add either way.
  if (bytes.byteLength === 0) return previous >>> 0;
  return native ? native(bytes, previous) >>> 0 : tableCrc32(bytes, previous);
}

/** `a * b` modulo the CRC polynomial, in the reflected bit order CRC-32 uses (bit 31 is x^0). */
function multiplyModP(a: number, b: number): number {
  let product = 0;
  let m = 0x80000000;
  let rest = b >>> 0;
  for (;;) {
    if (a & m) {
      product ^= rest;
      if ((a & (m - 1)) === 0) break;
    }
    m >>>= 1;
    rest = rest & 1 ? (rest >>> 1) ^ POLYNOMIAL : rest >>> 1;
  }
  return product >>> 0;
}

/** x^(2^k) modulo the polynomial for k = 0..31, reflected: squares of x (0x40000000 is x^1). */
const POWERS_OF_X = (() => {
  const powers = new Uint32Array(32);
  let p = 0x40000000;
  for (let k = 0; k < 32; k++) {
    powers[k] = p;
    p = multiplyModP(p, p);
  }
  return powers;
})();

/** x^(8·bytes) modulo the polynomial: the shift a CRC undergoes as `bytes` zero bytes pass. */
function shiftForBytes(bytes: number): number {
  let power = 0x80000000; // x^0
  let n = bytes * 8;
  for (let k = 0; n > 0; k++, n = Math.floor(n / 2)) {
    if (n % 2 === 1) power = multiplyModP(POWERS_OF_X[k % 32]!, power);
  }
  return power;
}

/**
 * The CRC-32 of the concatenation A‖B from `crcA`, `crcB` and B's length, without the bytes. The
 * finalisation XORs cancel, so crc(A‖B) = crcA·x^(8·|B|) ⊕ crcB modulo the polynomial.
 */
export function crc32Combine(crcA: number, crcB: number, lengthB: number): number {
  return (multiplyModP(shiftForBytes(lengthB), crcA) ^ crcB) >>> 0;
}

/** A CRC-32 as the manifest records it: 8 lower-case hex digits (as `crc32` tools print it). */
export function formatCrc32(crc: number): string {
  return (crc >>> 0).toString(16).padStart(8, '0');
}

/** A recorded CRC-32 back as a number; undefined when `text` is not 8 hex digits. */
export function parseCrc32(text: unknown): number | undefined {
  return typeof text === 'string' && /^[0-9a-f]{8}$/.test(text) ? Number.parseInt(text, 16) : undefined;
}
