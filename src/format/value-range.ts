/**
 * Min and max of integer columns held in typed arrays, skipping null rows by their validity bits,
 * without a JS object or BigInt per value. Used for a segment's time statistics on put and for the
 * column statistics the Parquet writer records.
 */

/** Min and max of 32-bit-or-narrower integers, skipping rows whose validity bit is clear. */
export function int32Range(values: Int32Array | Int16Array | Int8Array | Uint16Array | Uint8Array, rows: number, bits: Uint8Array | undefined): { min: bigint; max: bigint } {
  let min = 2 ** 31;
  let max = -(2 ** 31) - 1;
  for (let i = 0; i < rows; i++) {
    if (bits && ((bits[i >> 3]! >> (i & 7)) & 1) === 0) continue;
    const value = values[i]!;
    if (value < min) min = value;
    if (value > max) max = value;
  }
  return { min: BigInt(min), max: BigInt(max) };
}

/** Min and max of int64 values, and whether the (non-null) values are in non-decreasing order. */
export interface Int64Range {
  readonly min: bigint;
  readonly max: bigint;
  readonly sorted: boolean;
}

/**
 * Min and max of little-endian int64 values given as int32 pairs (low word first). High words
 * compare signed; low words are flipped by their sign bit so that a signed compare orders them as
 * unsigned. The equal-high-word test comes first because neighbouring timestamps share their high
 * word (~4 s of nanoseconds), which keeps the branches predictable on sorted data. Rows with nulls
 * go through {@link int64RangeOfValid}; two loops keep the bitmap test out of this one. Measured by
 * bench/ipc-time-statistics.bench.mjs; a BigInt64Array loop allocates a BigInt per value and is slower.
 */
export function int64Range(halves: Int32Array, rows: number, bits: Uint8Array | undefined): Int64Range {
  if (bits !== undefined) return int64RangeOfValid(halves, rows, bits);
  let minHi = 0x7fffffff;
  let minLo = 0x7fffffff;
  let maxHi = -0x80000000;
  let maxLo = -0x80000000;
  // Rows are in order exactly when each is at least the running maximum: the max branches below
  // see that for free (the `else` arms are never taken on sorted data).
  let sorted = true;
  const end = 2 * rows;
  for (let j = 0; j < end; j += 2) {
    const hi = halves[j + 1]!;
    if (hi === maxHi) {
      const lo = halves[j]! ^ 0x80000000;
      if (lo >= maxLo) maxLo = lo;
      else sorted = false;
    } else if (hi > maxHi) {
      maxHi = hi;
      maxLo = halves[j]! ^ 0x80000000;
    } else {
      sorted = false;
    }
    if (hi === minHi) {
      const lo = halves[j]! ^ 0x80000000;
      if (lo < minLo) minLo = lo;
    } else if (hi < minHi) {
      minHi = hi;
      minLo = halves[j]! ^ 0x80000000;
    }
  }
  return { min: joinInt64(minHi, minLo), max: joinInt64(maxHi, maxLo), sorted };
}

/** {@link int64Range} over the rows whose validity bit is set. */
function int64RangeOfValid(halves: Int32Array, rows: number, bits: Uint8Array): Int64Range {
  let minHi = 0x7fffffff;
  let minLo = 0x7fffffff;
  let maxHi = -0x80000000;
  let maxLo = -0x80000000;
  let sorted = true;
  for (let row = 0; row < rows; row++) {
    if (((bits[row >> 3]! >> (row & 7)) & 1) === 0) continue;
    const j = 2 * row;
    const hi = halves[j + 1]!;
    if (hi === maxHi) {
      const lo = halves[j]! ^ 0x80000000;
      if (lo >= maxLo) maxLo = lo;
      else sorted = false;
    } else if (hi > maxHi) {
      maxHi = hi;
      maxLo = halves[j]! ^ 0x80000000;
    } else {
      sorted = false;
    }
    if (hi === minHi) {
      const lo = halves[j]! ^ 0x80000000;
      if (lo < minLo) minLo = lo;
    } else if (hi < minHi) {
      minHi = hi;
      minLo = halves[j]! ^ 0x80000000;
    }
  }
  return { min: joinInt64(minHi, minLo), max: joinInt64(maxHi, maxLo), sorted };
}

/** The int64 of a signed high word and a sign-flipped low word. */
function joinInt64(hi: number, flippedLo: number): bigint {
  return (BigInt(hi) << 32n) | BigInt((flippedLo ^ 0x80000000) >>> 0);
}
