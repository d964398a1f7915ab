// The pool of large buffers received puts reuse: what it takes back, what it hands out, and that it lets go.
import { afterEach, describe, expect, it } from 'vitest';
import { dropPooledBuffers, recycleBuffers, takePooledBuffer } from '../../src/format/buffer-pool.js';

afterEach(() => dropPooledBuffers());

describe('buffer pool', () => {
  it('hands a recycled buffer out once, only for a size it fits within a quarter', () => {
    const buffer = new ArrayBuffer(1 << 20);
    recycleBuffers([buffer, buffer]);
    expect(takePooledBuffer((1 << 20) + 1)).toBeUndefined();
    expect(takePooledBuffer(700_000)).toBeUndefined();
    expect(takePooledBuffer(900_000)).toBe(buffer);
    expect(takePooledBuffer(900_000)).toBeUndefined();
  });

  it('keeps no small, detached or excess buffers', () => {
    const detached = new ArrayBuffer(1 << 20);
    structuredClone(detached, { transfer: [detached] });
    recycleBuffers([new ArrayBuffer(1024), detached]);
    expect(takePooledBuffer(1024)).toBeUndefined();
    expect(takePooledBuffer(0)).toBeUndefined();
    const many = Array.from({ length: 8 }, () => new ArrayBuffer(16 << 20));
    recycleBuffers(many);
    const taken = many.map(() => takePooledBuffer(16 << 20)).filter((buffer) => buffer !== undefined);
    expect(taken.length).toBe(6);
  });

  it('forgets everything when dropped', () => {
    recycleBuffers([new ArrayBuffer(1 << 20)]);
    dropPooledBuffers();
    expect(takePooledBuffer(1 << 20)).toBeUndefined();
  });
});
