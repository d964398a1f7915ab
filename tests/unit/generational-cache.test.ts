import { describe, expect, it } from 'vitest';
import { GenerationalCache } from '../../src/storage/generational-cache.js';

describe('GenerationalCache', () => {
  it('keeps at least the last `limit` entries and at most twice as many', () => {
    const cache = new GenerationalCache<number, string>(3);
    for (let i = 0; i < 10; i++) cache.set(i, `v${i}`);
    const kept = Array.from({ length: 10 }, (_, i) => cache.get(i) !== undefined);
    // 9 was written last: the young generation holds 9, the old one 6..8.
    expect(kept).toEqual([false, false, false, false, false, false, true, true, true, true]);
  });

  it('a hit in the old generation survives the next turnover', () => {
    const cache = new GenerationalCache<string, number>(2);
    cache.set('a', 1);
    cache.set('b', 2);
    cache.set('c', 3); // a, b become old
    expect(cache.get('a')).toBe(1); // promoted: young is now c, a
    cache.set('d', 4); // young full: old = {c, a}, young = {d}
    cache.set('e', 5);
    expect(cache.get('b')).toBeUndefined();
    expect(cache.get('a')).toBe(1);
    expect(cache.get('e')).toBe(5);
  });

  it('keeps every key of a full generation across a million lookups', () => {
    const cache = new GenerationalCache<number, number>(100_000);
    for (let i = 0; i < 100_000; i++) cache.set(i, i);
    let hits = 0;
    for (let round = 0; round < 10; round++) for (let i = 0; i < 100_000; i++) if (cache.get(i) === i) hits++;
    expect(hits).toBe(1_000_000);
  });

  it('clear drops everything', () => {
    const cache = new GenerationalCache<number, number>(4);
    cache.set(1, 1);
    cache.clear();
    expect(cache.get(1)).toBeUndefined();
  });

  it('deleteWhere drops matching keys from both generations', () => {
    const cache = new GenerationalCache<string, number>(2);
    for (const [i, key] of ['a/1', 'b/1', 'a/2'].entries()) cache.set(key, i);
    cache.deleteWhere((key) => key.startsWith('a/'));
    expect([cache.get('a/1'), cache.get('a/2'), cache.get('b/1')]).toEqual([undefined, undefined, 1]);
  });
});
