/** The fuzzers' seeded random source: every case is rebuilt from (seed, message type, case index) alone. */

/** Mixes a string into 32 bits (FNV-1a), so each message type draws its own sequence. */
function hashString(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) hash = Math.imul(hash ^ text.charCodeAt(i), 0x01000193) >>> 0;
  return hash;
}

/**
 * A small deterministic PRNG (mulberry32) with the draws generators need. Not for cryptography:
 * its only job is that a failing case can be generated again from its seed.
 */
export class FuzzRandom {
  private state: number;

  /** @param seed - any 32-bit integer */
  constructor(seed: number) {
    this.state = seed >>> 0;
  }

  /**
   * The random source of one case. A case depends only on these three values, so a failure
   * printed as "seed S, type T, case I" is replayed without generating the cases before it.
   */
  static forCase(seed: number, messageType: string, index: number): FuzzRandom {
    const mixed = Math.imul((seed >>> 0) ^ hashString(messageType), 0x9e3779b1) ^ Math.imul(index >>> 0, 0x85ebca6b) ^ Math.floor(index / 2 ** 32);
    const random = new FuzzRandom(mixed);
    random.next();
    return random;
  }

  /** A float in [0, 1). */
  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** An integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }

  /** An integer in [min, max], inclusive. */
  between(min: number, max: number): number {
    return min + this.int(max - min + 1);
  }

  /** True with probability `p`. */
  chance(p: number): boolean {
    return this.next() < p;
  }

  /** One element of a non-empty list. */
  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)]!;
  }

  /** `n` random bytes. */
  bytes(n: number): Uint8Array {
    const out = new Uint8Array(n);
    for (let i = 0; i < n; i++) out[i] = this.int(256);
    return out;
  }

  /** A size skewed towards small values: mostly under 16, sometimes up to `max`. */
  size(max: number): number {
    const r = this.next();
    if (r < 0.6) return this.int(Math.min(16, max + 1));
    if (r < 0.9) return this.int(Math.min(256, max + 1));
    return this.int(max + 1);
  }
}
