/**
 * The reference connector: everything in process memory. Small enough to read in one sitting, and
 * the model for a custom connector (docs/custom-connectors.md).
 */
import { ConflictError, NotFoundError } from '../../core/errors.js';
import type { FrameManifest } from '../../core/manifest.js';
import type { FrameRef } from '../../core/names.js';
import { FrameStore, type FrameStoreCapabilities, type StoredObject } from '../../storage/frame-store.js';

interface StoredFrame {
  /** Kept manifests by version; the highest is current. */
  readonly manifests: Map<number, FrameManifest>;
  readonly segments: Map<string, { readonly bytes: Uint8Array; readonly modifiedAt: number }>;
}

/** Options of the memory connector (none yet; kept for symmetry with other connectors). */
export type MemoryConnectorOptions = Record<string, never>;

/** Keeps buckets, manifests and segments in Maps. Data is lost when the process exits. */
export class MemoryConnector extends FrameStore {
  /** @inheritdoc */
  readonly name = 'memory';
  /** @inheritdoc */
  override readonly capabilities: FrameStoreCapabilities = { persistent: false, crossProcessCommits: false, versions: true };
  private readonly buckets = new Map<string, Map<string, StoredFrame>>();

  private frame(ref: FrameRef, create: boolean): StoredFrame | undefined {
    let bucket = this.buckets.get(ref.bucket);
    if (!bucket) {
      if (!create) return undefined;
      bucket = new Map();
      this.buckets.set(ref.bucket, bucket);
    }
    let frame = bucket.get(ref.name);
    if (!frame && create) {
      frame = { manifests: new Map(), segments: new Map() };
      bucket.set(ref.name, frame);
    }
    return frame;
  }

  /** @inheritdoc */
  async putSegment(ref: FrameRef, id: string, bytes: Uint8Array): Promise<void> {
    this.frame(ref, true)!.segments.set(id, { bytes: bytes.slice(), modifiedAt: Date.now() });
  }

  /** @inheritdoc */
  async getSegment(ref: FrameRef, id: string): Promise<Uint8Array> {
    const stored = this.frame(ref, false)?.segments.get(id);
    if (!stored) throw new NotFoundError(`segment ${id} of frame '${ref.name}' does not exist`);
    return stored.bytes.slice();
  }

  /** @inheritdoc */
  async deleteSegments(ref: FrameRef, ids: readonly string[]): Promise<void> {
    const frame = this.frame(ref, false);
    for (const id of ids) frame?.segments.delete(id);
  }

  /** @inheritdoc */
  async getManifest(ref: FrameRef): Promise<FrameManifest | undefined> {
    const frame = this.frame(ref, false);
    return frame ? frame.manifests.get(currentVersion(frame)) : undefined;
  }

  /** @inheritdoc */
  override async listVersions(ref: FrameRef): Promise<number[]> {
    return [...(this.frame(ref, false)?.manifests.keys() ?? [])].sort((a, b) => a - b);
  }

  /** @inheritdoc */
  override async getManifestVersion(ref: FrameRef, version: number): Promise<FrameManifest | undefined> {
    return this.frame(ref, false)?.manifests.get(version);
  }

  /** @inheritdoc */
  override async deleteManifests(ref: FrameRef, versions: readonly number[]): Promise<void> {
    const frame = this.frame(ref, false);
    for (const version of versions) frame?.manifests.delete(version);
  }

  /** @inheritdoc */
  override async listSegmentObjects(ref: FrameRef): Promise<StoredObject[]> {
    return [...(this.frame(ref, false)?.segments ?? [])].map(([id, { modifiedAt }]) => ({ id, modifiedAt }));
  }

  /** @inheritdoc */
  async commitManifest(ref: FrameRef, manifest: FrameManifest): Promise<void> {
    const frame = this.frame(ref, true)!;
    const current = currentVersion(frame);
    if (current !== manifest.version - 1) {
      throw new ConflictError(`frame '${ref.name}' is at version ${current}, not ${manifest.version - 1}`);
    }
    frame.manifests.set(manifest.version, manifest);
  }

  /** @inheritdoc */
  async deleteFrame(ref: FrameRef): Promise<void> {
    this.buckets.get(ref.bucket)?.delete(ref.name);
  }

  /** @inheritdoc */
  async listFrames(bucket: string): Promise<string[]> {
    const frames = this.buckets.get(bucket);
    if (!frames) return [];
    return [...frames].filter(([, frame]) => frame.manifests.size > 0).map(([name]) => name);
  }

  /** @inheritdoc */
  async listBuckets(): Promise<string[]> {
    return [...this.buckets.keys()];
  }

  /** @inheritdoc */
  async createBucket(bucket: string): Promise<void> {
    if (!this.buckets.has(bucket)) this.buckets.set(bucket, new Map());
  }

  /** @inheritdoc */
  async deleteBucket(bucket: string): Promise<void> {
    this.buckets.delete(bucket);
  }
}

/** The highest kept version (0 when none). */
function currentVersion(frame: StoredFrame): number {
  let highest = 0;
  for (const version of frame.manifests.keys()) highest = Math.max(highest, version);
  return highest;
}
