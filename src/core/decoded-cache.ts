/**
 * Decoded segments, ready to send: a bounded LRU of the Arrow IPC that Parquet decoding produced,
 * keyed by segment and projection. Segments are immutable, so an entry is never stale; a get of a
 * hot frame then skips both the fetch and the decode (the slowest steps of a read) and streams
 * straight from memory.
 */
import type { IpcMessage } from '../format/ipc-message.js';

/** One decoded row group of a segment, with the kept dictionary batches sent before it. */
export interface CachedChunk {
  readonly ipc: Uint8Array;
  readonly dictionaries: readonly IpcMessage[];
  /** `ipc` split into its messages (views of it), so a get of a cached segment does not parse its headers again. */
  readonly messages?: readonly IpcMessage[];
}

/** Least-recently-used chunks up to a byte budget. Values are shared: never mutate them. */
export class DecodedChunkCache {
  private readonly entries = new Map<string, CachedChunk>();
  private bytes = 0;
  /** Lookups that found their chunk. */
  hits = 0;
  /** Lookups that did not. */
  misses = 0;

  /** @param maxBytes - the budget; 0 disables the cache */
  constructor(readonly maxBytes: number) {}

  /** The chunk under `key`, marked as recently used; undefined on a miss. */
  get(key: string): CachedChunk | undefined {
    const chunk = this.entries.get(key);
    if (!chunk) {
      this.misses++;
      return undefined;
    }
    this.hits++;
    this.entries.delete(key);
    this.entries.set(key, chunk);
    return chunk;
  }

  /** Keeps a chunk, evicting the least recently used ones to stay within the budget. */
  set(key: string, chunk: CachedChunk): void {
    const size = sizeOf(chunk);
    if (size > this.maxBytes) return;
    const previous = this.entries.get(key);
    if (previous) {
      this.entries.delete(key);
      this.bytes -= sizeOf(previous);
    }
    this.entries.set(key, chunk);
    this.bytes += size;
    for (const [oldest, evicted] of this.entries) {
      if (this.bytes <= this.maxBytes) break;
      this.entries.delete(oldest);
      this.bytes -= sizeOf(evicted);
    }
  }

  /** Bytes held. */
  get size(): number {
    return this.bytes;
  }
}

function sizeOf(chunk: CachedChunk): number {
  let size = chunk.ipc.byteLength;
  for (const message of chunk.dictionaries) size += message.header.byteLength + message.body.byteLength;
  return size;
}
