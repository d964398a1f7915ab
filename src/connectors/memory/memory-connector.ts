/**
 * The reference connector: everything in process memory. Small enough to read in one sitting, and
 * the model for a custom connector (docs/custom-connectors.md).
 */
import { ConflictError, NotFoundError } from '../../core/errors.js';
import type { FrameManifest } from '../../core/manifest.js';
import type { FrameRef } from '../../core/names.js';
import { Connector } from '../connector.js';

interface StoredFrame {
  manifest?: FrameManifest;
  readonly segments: Map<string, Uint8Array>;
}

/** Options of the memory connector (none yet; kept for symmetry with other connectors). */
export type MemoryConnectorOptions = Record<string, never>;

/** Keeps buckets, manifests and segments in Maps. Data is lost when the process exits. */
export class MemoryConnector extends Connector {
  /** @inheritdoc */
  readonly name = 'memory';
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
      frame = { segments: new Map() };
      bucket.set(ref.name, frame);
    }
    return frame;
  }

  /** @inheritdoc */
  async putSegment(ref: FrameRef, id: string, bytes: Uint8Array): Promise<void> {
    this.frame(ref, true)!.segments.set(id, bytes.slice());
  }

  /** @inheritdoc */
  async getSegment(ref: FrameRef, id: string): Promise<Uint8Array> {
    const bytes = this.frame(ref, false)?.segments.get(id);
    if (!bytes) throw new NotFoundError(`segment ${id} of frame '${ref.name}' does not exist`);
    return bytes.slice();
  }

  /** @inheritdoc */
  async deleteSegments(ref: FrameRef, ids: readonly string[]): Promise<void> {
    const frame = this.frame(ref, false);
    for (const id of ids) frame?.segments.delete(id);
  }

  /** @inheritdoc */
  async getManifest(ref: FrameRef): Promise<FrameManifest | undefined> {
    return this.frame(ref, false)?.manifest;
  }

  /** @inheritdoc */
  async commitManifest(ref: FrameRef, manifest: FrameManifest): Promise<void> {
    const frame = this.frame(ref, true)!;
    const current = frame.manifest?.version ?? 0;
    if (current !== manifest.version - 1) {
      throw new ConflictError(`frame '${ref.name}' is at version ${current}, not ${manifest.version - 1}`);
    }
    frame.manifest = manifest;
  }

  /** @inheritdoc */
  async deleteFrame(ref: FrameRef): Promise<void> {
    this.buckets.get(ref.bucket)?.delete(ref.name);
  }

  /** @inheritdoc */
  async listFrames(bucket: string): Promise<string[]> {
    const frames = this.buckets.get(bucket);
    if (!frames) return [];
    return [...frames].filter(([, frame]) => frame.manifest).map(([name]) => name);
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
