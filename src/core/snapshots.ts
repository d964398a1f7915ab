/**
 * Snapshots: a name for "these versions of these frames of a bucket", taken at once, readable later
 * (gets, SQL, stat) and kept safe from vacuum even after the frames are deleted. The documents are
 * stored through the FrameStore (format/snapshot-document.ts); vacuum asks {@link SnapshotBook.pinned}.
 */
import { AlreadyExistsError, ConflictError, NotFoundError } from '../errors.js';
import { liveManifest } from '../format/manifest.js';
import type { SnapshotDocument } from '../format/snapshot-document.js';
import { DEFAULT_BUCKET, describeFrame, validateName } from '../names.js';
import type { FrameStore } from '../storage/frame-store.js';
import type { KeyedMutex } from '../storage/keyed-mutex.js';

/** A snapshot as the engine reports it. */
export interface SnapshotInfo {
  readonly name: string;
  readonly bucket: string;
  /** ISO-8601 time it was taken. */
  readonly createdAt: string;
  /** Frame name → the version the snapshot holds. */
  readonly frames: Readonly<Record<string, number>>;
}

/** Attempts to take a snapshot while vacuum removes versions it was about to hold. */
const CREATE_ATTEMPTS = 5;

/** The versions snapshots hold in one bucket, as read at one moment. */
interface BucketPins {
  readonly generation: number;
  readonly readAt: number;
  readonly byFrame: ReadonlyMap<string, ReadonlySet<number>>;
}

/** Snapshot operations over a FrameStore, and the versions they pin for vacuum. */
export class SnapshotBook {
  /** Per bucket, counts snapshots taken or deleted by this process (a vacuum's cached pins are stale after one). */
  private readonly generations = new Map<string, number>();
  private readonly pins = new Map<string, BucketPins>();

  /**
   * @param store - where documents and manifests live
   * @param commitLock - the engine's per-frame commit lock (`bucket/name` keys), which vacuum holds
   */
  constructor(
    private readonly store: FrameStore,
    private readonly commitLock: KeyedMutex,
  ) {}

  /**
   * Takes a snapshot of the current versions of every frame of the bucket, or of the frames named.
   * @throws AlreadyExistsError if the bucket has a snapshot of that name; NotFoundError for a missing
   *   bucket or a named frame that does not exist; InvalidArgumentError for bad names; ConflictError
   *   if vacuum kept removing versions it was about to hold
   */
  async create(bucket: string, name: string, frames?: readonly string[]): Promise<SnapshotInfo> {
    validateName('snapshot', name);
    for (const frame of frames ?? []) validateName('frame', frame);
    if (bucket !== DEFAULT_BUCKET && !(await this.store.listBuckets()).includes(bucket)) throw new NotFoundError(`bucket '${bucket}' does not exist`);
    for (let attempt = 1; ; attempt++) {
      const versions = await this.currentVersions(bucket, frames);
      const snapshot: SnapshotDocument = { format: 1, name, bucket, createdAt: new Date().toISOString(), frames: versions };
      if (!(await this.store.putSnapshot(snapshot))) throw new AlreadyExistsError(`bucket '${bucket}' already has a snapshot '${name}'; delete it first or pick another name`);
      this.bump(bucket);
      // A vacuum that read the pins before this document existed may have removed a version that
      // stopped being current meanwhile: check under each such frame's lock, and take it again if so.
      if (await this.stillHeld(bucket, versions)) return infoOf(snapshot);
      await this.store.deleteSnapshot(bucket, name);
      this.bump(bucket);
      if (attempt >= CREATE_ATTEMPTS) throw new ConflictError(`vacuum kept removing versions of bucket '${bucket}' while snapshot '${name}' was taken; try again`);
    }
  }

  /** Frame → current version, for the whole bucket or the named frames (deleted frames are not held). */
  private async currentVersions(bucket: string, frames: readonly string[] | undefined): Promise<Record<string, number>> {
    const manifests = frames ? await this.store.getManifests(bucket, [...new Set(frames)]) : await this.store.listManifests(bucket);
    const versions: Record<string, number> = {};
    for (const frame of frames ?? []) {
      if (!liveManifest(manifests.get(frame))) throw new NotFoundError(`${describeFrame({ bucket, name: frame })} does not exist, so no snapshot of it can be taken`);
    }
    for (const [frame, manifest] of [...manifests].sort(([a], [b]) => (a < b ? -1 : 1))) {
      if (!manifest.deleted) versions[frame] = manifest.version;
    }
    return versions;
  }

  private async stillHeld(bucket: string, versions: Readonly<Record<string, number>>): Promise<boolean> {
    const now = await this.store.getManifests(bucket, Object.keys(versions));
    for (const [frame, version] of Object.entries(versions)) {
      if (now.get(frame)?.version === version) continue; // still current: vacuum never removes it
      const kept = await this.commitLock.run(`${bucket}/${frame}`, () => this.store.getManifestVersion({ bucket, name: frame }, version));
      if (!kept) return false;
    }
    return true;
  }

  /** The bucket's snapshots, by name. */
  async list(bucket: string): Promise<SnapshotInfo[]> {
    const names = (await this.store.listSnapshots(bucket)).sort();
    const documents = await Promise.all(names.map((name) => this.store.getSnapshot(bucket, name)));
    return documents.filter((document): document is SnapshotDocument => document !== undefined).map(infoOf);
  }

  /** Deletes a snapshot: the versions it held become subject to retention again. @throws NotFoundError */
  async delete(bucket: string, name: string): Promise<void> {
    validateName('snapshot', name);
    if (!(await this.store.deleteSnapshot(bucket, name))) throw new NotFoundError(`bucket '${bucket}' has no snapshot '${name}'`);
    this.bump(bucket);
  }

  /**
   * The versions of a frame that snapshots hold, for vacuum (call it under the frame's commit lock).
   * Read once per bucket and reused while no snapshot of this process changed and the reading is
   * younger than half of `graceMs`: a snapshot another process takes holds versions that were
   * current when it began, which vacuum leaves alone for the grace period anyway.
   */
  async pinned(bucket: string, frame: string, graceMs: number): Promise<ReadonlySet<number>> {
    const generation = this.generations.get(bucket) ?? 0;
    let pins = this.pins.get(bucket);
    if (!pins || pins.generation !== generation || Date.now() - pins.readAt >= graceMs / 2) {
      const byFrame = new Map<string, Set<number>>();
      const readAt = Date.now();
      for (const snapshot of await this.list(bucket)) {
        for (const [name, version] of Object.entries(snapshot.frames)) {
          let versions = byFrame.get(name);
          if (!versions) byFrame.set(name, (versions = new Set()));
          versions.add(version);
        }
      }
      pins = { generation, readAt, byFrame };
      this.pins.set(bucket, pins);
    }
    return pins.byFrame.get(frame) ?? new Set();
  }

  private bump(bucket: string): void {
    this.generations.set(bucket, (this.generations.get(bucket) ?? 0) + 1);
  }
}

function infoOf(snapshot: SnapshotDocument): SnapshotInfo {
  return { name: snapshot.name, bucket: snapshot.bucket, createdAt: snapshot.createdAt, frames: snapshot.frames };
}
