/**
 * Bucket mounts: one FrameStore made of several, where chosen buckets live on stores of their own
 * (`"buckets": {"archive": "s3://…"}` in the serve config) and every other bucket on a default store.
 */
import { InvalidArgumentError } from '../errors.js';
import type { FrameManifest } from '../format/manifest.js';
import type { SnapshotDocument } from '../format/snapshot-document.js';
import { type FrameRef, validateName } from '../names.js';
import { type ByteRange, FrameStore, type FrameStoreCapabilities, type StoredObject } from './frame-store.js';

/**
 * A {@link FrameStore} that routes every call by bucket: a mounted bucket's frames go to its store,
 * the others to the default store. `listBuckets` merges (a mounted bucket shows when its store has
 * it; a bucket of that name in the default store is hidden by the mount), and `open`/`close` reach
 * every store once, however many buckets share it.
 *
 * The engine reads one set of capabilities, so a capability holds only if every store has it (a
 * mount on a store without ranged reads turns them off for all).
 */
export class MountedStore extends FrameStore {
  /** @inheritdoc */
  readonly name = 'mounted';
  /** @inheritdoc */
  override readonly capabilities: FrameStoreCapabilities;
  private readonly stores: readonly FrameStore[];

  /**
   * @param defaultStore - holds every bucket that is not mounted
   * @param mounts - bucket name → the store holding that bucket (one instance may serve several)
   * @throws InvalidArgumentError for a mount whose bucket name is invalid
   */
  constructor(
    readonly defaultStore: FrameStore,
    readonly mounts: ReadonlyMap<string, FrameStore>,
  ) {
    super();
    for (const bucket of mounts.keys()) {
      try {
        validateName('bucket', bucket);
      } catch (error) {
        throw new InvalidArgumentError(`cannot mount bucket ${JSON.stringify(bucket)}: ${(error as Error).message}`);
      }
    }
    this.stores = [...new Set([defaultStore, ...mounts.values()])];
    const all = (flag: keyof FrameStoreCapabilities): boolean => this.stores.every((store) => store.capabilities[flag] === true);
    this.capabilities = {
      crossProcessCommits: all('crossProcessCommits'),
      rangedReads: all('rangedReads'),
    };
  }

  /** The store holding a bucket. */
  storeOf(bucket: string): FrameStore {
    return this.mounts.get(bucket) ?? this.defaultStore;
  }

  /** Opens every store; if one fails, closes those already opened and rethrows. */
  override async open(): Promise<void> {
    const opened: FrameStore[] = [];
    try {
      for (const store of this.stores) {
        await store.open();
        opened.push(store);
      }
    } catch (error) {
      await Promise.allSettled(opened.map((store) => store.close()));
      throw error;
    }
  }

  /** Closes every store, all of them even if one fails (the first failure is rethrown). */
  override async close(): Promise<void> {
    const results = await Promise.allSettled(this.stores.map((store) => store.close()));
    const failed = results.find((result): result is PromiseRejectedResult => result.status === 'rejected');
    if (failed) throw failed.reason;
  }

  /** @inheritdoc */
  putSegment(ref: FrameRef, id: string, bytes: Uint8Array): Promise<void> {
    return this.storeOf(ref.bucket).putSegment(ref, id, bytes);
  }

  /** @inheritdoc */
  override putSegmentParts(ref: FrameRef, id: string, parts: readonly Uint8Array[]): Promise<void> {
    return this.storeOf(ref.bucket).putSegmentParts(ref, id, parts);
  }

  /** @inheritdoc */
  getSegment(ref: FrameRef, id: string): Promise<Uint8Array> {
    return this.storeOf(ref.bucket).getSegment(ref, id);
  }

  /** @inheritdoc */
  override getSegmentRanges(ref: FrameRef, id: string, ranges: readonly ByteRange[]): Promise<Uint8Array[]> {
    return this.storeOf(ref.bucket).getSegmentRanges(ref, id, ranges);
  }

  /** @inheritdoc */
  deleteSegments(ref: FrameRef, ids: readonly string[]): Promise<void> {
    return this.storeOf(ref.bucket).deleteSegments(ref, ids);
  }

  /** @inheritdoc */
  getManifest(ref: FrameRef): Promise<FrameManifest | undefined> {
    return this.storeOf(ref.bucket).getManifest(ref);
  }

  /** @inheritdoc */
  commitManifest(ref: FrameRef, manifest: FrameManifest): Promise<void> {
    return this.storeOf(ref.bucket).commitManifest(ref, manifest);
  }

  /** @inheritdoc */
  override listVersions(ref: FrameRef): Promise<number[]> {
    return this.storeOf(ref.bucket).listVersions(ref);
  }

  /** @inheritdoc */
  override getManifestVersion(ref: FrameRef, version: number): Promise<FrameManifest | undefined> {
    return this.storeOf(ref.bucket).getManifestVersion(ref, version);
  }

  /** @inheritdoc */
  override deleteManifests(ref: FrameRef, versions: readonly number[]): Promise<void> {
    return this.storeOf(ref.bucket).deleteManifests(ref, versions);
  }

  /** @inheritdoc */
  override listSegmentObjects(ref: FrameRef): Promise<StoredObject[]> {
    return this.storeOf(ref.bucket).listSegmentObjects(ref);
  }

  /** @inheritdoc */
  deleteFrame(ref: FrameRef): Promise<void> {
    return this.storeOf(ref.bucket).deleteFrame(ref);
  }

  /** @inheritdoc */
  listFrames(bucket: string): Promise<string[]> {
    return this.storeOf(bucket).listFrames(bucket);
  }

  /** @inheritdoc */
  override existingFrames(bucket: string, names: readonly string[]): Promise<Set<string>> {
    return this.storeOf(bucket).existingFrames(bucket, names);
  }

  /** The default store's buckets that are not mounted, and each mounted bucket its store has. */
  async listBuckets(): Promise<string[]> {
    const listings = new Map(await Promise.all(this.stores.map(async (store) => [store, new Set(await store.listBuckets())] as const)));
    const buckets = [...listings.get(this.defaultStore)!].filter((bucket) => !this.mounts.has(bucket));
    for (const [bucket, store] of this.mounts) if (listings.get(store)!.has(bucket)) buckets.push(bucket);
    return buckets;
  }

  /** @inheritdoc */
  createBucket(bucket: string): Promise<void> {
    return this.storeOf(bucket).createBucket(bucket);
  }

  /** @inheritdoc */
  deleteBucket(bucket: string): Promise<void> {
    return this.storeOf(bucket).deleteBucket(bucket);
  }

  /** @inheritdoc */
  putSnapshot(snapshot: SnapshotDocument): Promise<boolean> {
    return this.storeOf(snapshot.bucket).putSnapshot(snapshot);
  }

  /** @inheritdoc */
  getSnapshot(bucket: string, name: string): Promise<SnapshotDocument | undefined> {
    return this.storeOf(bucket).getSnapshot(bucket, name);
  }

  /** @inheritdoc */
  listSnapshots(bucket: string): Promise<string[]> {
    return this.storeOf(bucket).listSnapshots(bucket);
  }

  /** @inheritdoc */
  deleteSnapshot(bucket: string, name: string): Promise<boolean> {
    return this.storeOf(bucket).deleteSnapshot(bucket, name);
  }

  /** @inheritdoc */
  override segmentFile(ref: FrameRef, id: string): string | undefined {
    return this.storeOf(ref.bucket).segmentFile(ref, id);
  }

  /** Every store's file roots. */
  override fileRoots(): readonly string[] {
    return [...new Set(this.stores.flatMap((store) => store.fileRoots()))];
  }

  /** @inheritdoc */
  override listManifests(bucket: string, select?: (name: string) => boolean): Promise<ReadonlyMap<string, FrameManifest>> {
    return this.storeOf(bucket).listManifests(bucket, select);
  }

  /** @inheritdoc */
  override getManifests(bucket: string, names: readonly string[]): Promise<Map<string, FrameManifest>> {
    return this.storeOf(bucket).getManifests(bucket, names);
  }
}
