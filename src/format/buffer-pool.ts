/**
 * Large ArrayBuffers kept for reuse between puts: a received message's buffer, once its segment is
 * written, holds the next message instead of a fresh allocation (each fresh one is new memory the
 * kernel must zero on first touch, and external memory that drives V8's full collections).
 */

/** Buffers shorter than this are not pooled. */
const MIN_POOLED_BYTES = 64 * 1024;
/** Most bytes the pool keeps. */
const MAX_POOLED_BYTES = 96 * 1024 * 1024;
/** An unused pool is emptied after this long, so an idle server gives the memory back. */
const IDLE_DROP_MS = 2000;

const free: ArrayBuffer[] = [];
let pooledBytes = 0;
let dropTimer: NodeJS.Timeout | undefined;

/** Forgets every pooled buffer (the collector frees them). */
export function dropPooledBuffers(): void {
  free.length = 0;
  pooledBytes = 0;
  clearTimeout(dropTimer);
  dropTimer = undefined;
}

function armDrop(): void {
  clearTimeout(dropTimer);
  dropTimer = setTimeout(dropPooledBuffers, IDLE_DROP_MS);
  dropTimer.unref();
}

/**
 * A pooled buffer of at least `minBytes` and at most a quarter more, taken out of the pool (its
 * contents are stale), or `undefined` when none fits.
 */
export function takePooledBuffer(minBytes: number): ArrayBuffer | undefined {
  const most = minBytes + (minBytes >> 2);
  for (let i = free.length - 1; i >= 0; i--) {
    const buffer = free[i]!;
    if (buffer.byteLength >= minBytes && buffer.byteLength <= most) {
      free.splice(i, 1);
      pooledBytes -= buffer.byteLength;
      return buffer;
    }
  }
  return undefined;
}

/**
 * Gives buffers back for reuse. The caller must hold the only references to them and use none of
 * their views again: the next taker overwrites them. Detached, small or excess buffers are left
 * to the collector.
 */
export function recycleBuffers(buffers: readonly ArrayBuffer[]): void {
  for (const buffer of buffers) {
    const bytes = buffer.byteLength;
    if (bytes < MIN_POOLED_BYTES || pooledBytes + bytes > MAX_POOLED_BYTES || free.includes(buffer)) continue;
    free.push(buffer);
    pooledBytes += bytes;
  }
  if (free.length > 0) armDrop();
}
