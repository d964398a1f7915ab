/**
 * Readers' leases on frames in this process: segments a running read may still need are deleted
 * only after its last reader of the frame finishes.
 */
import type { FrameStore } from '../storage/frame-store.js';
import type { FrameRef } from '../names.js';

/** Per-frame reader counts and the deletions waiting for them. */
export class SegmentLeases {
  private readonly leases = new Map<string, { readers: number; garbage: string[] }>();
  /** Removals of whole frames or buckets (purge, bucket delete) started, and those still running. */
  private removalsStarted = 0;
  private removalsRunning = 0;

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

  /**
   * Runs a removal of whole frames or a bucket (purge, bucket delete), which deletes segments
   * running reads may need: reads that began before it ends answer a missing segment NOT_FOUND
   * (see {@link removedSince}, read-races.ts).
   */
  async removing<T>(work: () => Promise<T>): Promise<T> {
    this.removalsStarted++;
    this.removalsRunning++;
    try {
      return await work();
    } finally {
      this.removalsRunning--;
    }
  }

  /** A mark to take when a read resolves its version, for {@link removedSince}. */
  removalMark(): number {
    return this.removalsStarted;
  }

  /**
   * Whether a removal ran in this process since `mark` was taken (or runs now): a segment a read
   * then finds missing may have been removed, not lost, whatever a store that removes files before
   * their manifests (the SQLite catalog) still lists.
   */
  removedSince(mark: number): boolean {
    return this.removalsRunning > 0 || this.removalsStarted !== mark;
  }

  private remove(ref: FrameRef, ids: readonly string[]): void {
    // Best effort: a leftover unreferenced object is invisible and harmless.
    void this.connector.deleteSegments(ref, ids).catch(() => undefined);
  }
}

function leaseKey(ref: FrameRef): string {
  return `${ref.bucket}/${ref.name}`;
}
