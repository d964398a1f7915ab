/**
 * A bounded cache of immutable values without per-access bookkeeping: entries live in a young and
 * an old generation; a hit in the old one moves the entry to the young one, and when the young one
 * is full it becomes the old one (the previous old one is dropped whole). It keeps between `limit`
 * and `2 × limit` entries, roughly the most recently used.
 *
 * It never deletes single entries from a Map. An LRU built on `Map.delete` + `Map.set` (touch on
 * every hit, evict the first key) slowed a 100,000-frame listing of the SQLite catalog from ~70 ms
 * to seconds once commits had churned the Map: V8's ordered hash maps keep deleted entries until
 * they rehash, and lookups and `keys().next()` walk over them.
 */
export class GenerationalCache<K, V> {
  private young = new Map<K, V>();
  private old = new Map<K, V>();

  /** @param limit - entries per generation (at least 1) */
  constructor(private readonly limit: number) {}

  /** The cached value, if any (promoting it to the young generation). */
  get(key: K): V | undefined {
    const young = this.young.get(key);
    if (young !== undefined) return young;
    const old = this.old.get(key);
    if (old !== undefined) this.set(key, old);
    return old;
  }

  /** Caches a value. */
  set(key: K, value: V): void {
    if (this.young.size >= Math.max(1, this.limit)) {
      this.old = this.young;
      this.young = new Map();
    }
    this.young.set(key, value);
  }

  /**
   * Drops the entries whose key matches. Meant for rare events (a frame or bucket deleted), not
   * for every access: see the class comment.
   */
  deleteWhere(matches: (key: K) => boolean): void {
    for (const generation of [this.young, this.old]) {
      for (const key of generation.keys()) if (matches(key)) generation.delete(key);
    }
  }

  /** Drops every entry. */
  clear(): void {
    this.young = new Map();
    this.old = new Map();
  }
}
