/**
 * Growable byte and bit buffers the DuckDB→Arrow bridge fills chunk by chunk, handing out exact
 * views when a batch is cut. Memory is reused across batches only by the garbage collector: each
 * batch gets fresh buffers, because a sent batch's buffers may still be queued on the socket.
 */
import type { ResultBudget } from './result-budget.js';

/** No bytes yet: a buffer allocates on its first write. */
const EMPTY = new Uint8Array(0);

/** The first allocation of a buffer that has never been filled: small results stay small. */
const FIRST_BYTES = 16 * 1024;

/** Bytes appended at the end, grown by doubling. */
export class ByteBuffer {
  private bytes: Uint8Array = EMPTY;
  /** Bytes written. */
  length = 0;
  /** What the next first write allocates: the last batch's size, up to the capacity. */
  private nextBytes: number;

  /**
   * @param capacity the most bytes a batch is expected to hold (a batch's worth of values); the
   *   buffer starts far smaller and grows to it only as values arrive, and is allocated only when
   *   written to (a query of a few rows, and the schema of a prepared statement, allocate little)
   * @param budget charged with every byte reserved, before the room is made
   */
  constructor(
    private readonly capacity = 1024,
    private readonly budget?: ResultBudget,
  ) {
    this.nextBytes = Math.max(8, Math.min(capacity, FIRST_BYTES));
  }

  /**
   * Makes room for `extra` more bytes and returns the (possibly new) backing array.
   * @throws ResourceExhaustedError when the budget has no room for them
   */
  reserve(extra: number): Uint8Array {
    this.budget?.charge(extra);
    const needed = this.length + extra;
    if (needed > this.bytes.byteLength) {
      const grown = new Uint8Array(Math.max(needed, this.bytes.byteLength === 0 ? this.nextBytes : this.bytes.byteLength * 2));
      if (this.length > 0) grown.set(this.bytes.subarray(0, this.length));
      this.bytes = grown;
    }
    return this.bytes;
  }

  /** Appends a copy of `source`. */
  append(source: Uint8Array): void {
    this.reserve(source.byteLength).set(source, this.length);
    this.length += source.byteLength;
  }

  /**
   * Returns the bytes written and starts over, empty: the next batch allocates on its first write,
   * as much as this one held (up to the capacity), so a steady stream of batches does not regrow.
   */
  take(): Uint8Array {
    const out = this.bytes.subarray(0, this.length);
    this.nextBytes = Math.max(8, Math.min(Math.max(this.capacity, FIRST_BYTES), Math.max(this.length, FIRST_BYTES)));
    this.bytes = EMPTY;
    this.length = 0;
    return out;
  }
}

/**
 * An Arrow validity bitmap (bit set = valid, least significant bit first), materialised only once
 * a null appears: an all-valid column costs nothing.
 */
export class ValidityBuffer {
  private bits: Uint8Array | undefined;
  /** Slots appended. */
  length = 0;
  /** Null slots appended. */
  nullCount = 0;

  /**
   * Appends `count` slots from a DuckDB validity mask (64-bit words, bit set = valid), starting
   * at row `start`; `mask` null means all valid.
   */
  appendMask(mask: Uint8Array | null, start: number, count: number): void {
    if (mask === null || allSet(mask, start, count)) {
      if (this.bits) this.setRange(this.length, count);
      this.length += count;
      return;
    }
    this.materialize();
    this.ensure(this.length + count);
    const bits = this.bits!;
    for (let i = 0; i < count; i++) {
      const row = start + i;
      const slot = this.length + i;
      if ((mask[row >>> 3]! >>> (row & 7)) & 1) bits[slot >>> 3]! |= 1 << (slot & 7);
      else {
        bits[slot >>> 3]! &= ~(1 << (slot & 7));
        this.nullCount++;
      }
    }
    this.length += count;
  }

  /** Appends one slot. */
  appendOne(valid: boolean): void {
    if (valid) {
      if (this.bits) this.ensure(this.length + 1);
      if (this.bits) this.bits[this.length >>> 3]! |= 1 << (this.length & 7);
    } else {
      this.markNull();
    }
    this.length++;
  }

  /** The bitmap of the slots so far (undefined when all are valid), then resets. */
  take(): { nullBitmap: Uint8Array | undefined; nullCount: number } {
    const out = { nullBitmap: this.bits?.subarray(0, (this.length + 7) >>> 3), nullCount: this.nullCount };
    this.bits = undefined;
    this.length = 0;
    this.nullCount = 0;
    return out;
  }

  /** Creates the bitmap with every slot so far valid. */
  private materialize(): void {
    if (this.bits) return;
    this.bits = new Uint8Array(Math.max(64, ((this.length + 7) >>> 3) * 2));
    this.setRange(0, this.length);
  }

  /** Records a null at the current slot. */
  private markNull(): void {
    this.materialize();
    this.ensure(this.length + 1);
    this.bits![this.length >>> 3]! &= ~(1 << (this.length & 7));
    this.nullCount++;
  }

  private ensure(slots: number): void {
    const bytes = (slots + 7) >>> 3;
    if (this.bits && bytes > this.bits.byteLength) {
      const grown = new Uint8Array(Math.max(bytes, this.bits.byteLength * 2));
      grown.set(this.bits);
      this.bits = grown;
    }
  }

  private setRange(from: number, count: number): void {
    this.ensure(from + count);
    const bits = this.bits!;
    let slot = from;
    const end = from + count;
    while (slot < end && (slot & 7) !== 0) bits[slot >>> 3]! |= 1 << (slot++ & 7);
    if (end - slot >= 8) {
      const fullBytes = (end - slot) >>> 3;
      bits.fill(0xff, slot >>> 3, (slot >>> 3) + fullBytes);
      slot += fullBytes * 8;
    }
    while (slot < end) bits[slot >>> 3]! |= 1 << (slot++ & 7);
  }
}

/** Whether bits `[start, start + count)` of a mask are all set. */
function allSet(mask: Uint8Array, start: number, count: number): boolean {
  let row = start;
  const end = start + count;
  while (row < end && (row & 7) !== 0) {
    if (((mask[row >>> 3]! >>> (row & 7)) & 1) === 0) return false;
    row++;
  }
  while (end - row >= 8) {
    if (mask[row >>> 3] !== 0xff) return false;
    row += 8;
  }
  while (row < end) {
    if (((mask[row >>> 3]! >>> (row & 7)) & 1) === 0) return false;
    row++;
  }
  return true;
}
