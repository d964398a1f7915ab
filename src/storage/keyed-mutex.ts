/** Serialises async critical sections per key (one frame's commits), without blocking other keys. */

/** A map of FIFO mutexes created on demand and dropped when idle. */
export class KeyedMutex {
  private readonly tails = new Map<string, Promise<void>>();

  /** Runs `action` once every earlier holder of `key` has finished. */
  async run<T>(key: string, action: () => Promise<T>): Promise<T> {
    const previous = this.tails.get(key) ?? Promise.resolve();
    let release!: () => void;
    const current = new Promise<void>((resolve) => (release = resolve));
    const tail = previous.then(() => current);
    this.tails.set(key, tail);
    await previous;
    try {
      return await action();
    } finally {
      release();
      if (this.tails.get(key) === tail) this.tails.delete(key);
    }
  }
}
