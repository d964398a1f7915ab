/**
 * Readers' leases on frames in this process: segments a running read may still need are deleted
 * only after its last reader of the frame finishes.
 */
import type { FrameStore } from '../storage/frame-store.js';
import type { FrameRef } from '../names.js';

/** Per-frame reader counts and the deletions waiting for them. */
export class SegmentLeases {
  private readonly leases = new Map<string, { readers: number; garbage: string[] }>();

  /** @param connector - where waiting deletions are carried out */
  constructor(private readonly connector: FrameStore) {}

  /** Registers a reader of the frame; call the returned function exactly once when it is done. */
  acquire(ref: FrameRef): () => void {
    const key = leaseKey(ref);
    const lease = this.leases.get(key) ?? { readers: 0, garbage: [] };
    lease.readers++;
    this.leases.set(key, lease);
    return () => {
      lease.readers--;
      if (lease.readers > 0) return;
      this.leases.delete(key);
      if (lease.garbage.length > 0) this.remove(ref, lease.garbage);
    };
  }

  /** Deletes stored objects of the frame now, or once its current readers have finished. */
  collect(ref: FrameRef, ids: readonly string[]): void {
    const lease = this.leases.get(leaseKey(ref));
    if (lease) lease.garbage.push(...ids);
    else this.remove(ref, ids);
  }

  private remove(ref: FrameRef, ids: readonly string[]): void {
    // Best effort: a leftover unreferenced object is invisible and harmless.
    void this.connector.deleteSegments(ref, ids).catch(() => undefined);
  }
}

function leaseKey(ref: FrameRef): string {
  return `${ref.bucket}/${ref.name}`;
}
