/**
 * A bucket listing held as two parallel arrays, for connectors whose index lists a bucket in one
 * query: `forEach` and `size` cost nothing per entry beyond the walk, and the `Map` behind `get`,
 * `has` and the iterators is built only when one of them is first used. At 100,000 frames building
 * that `Map` cost ~10 ms of a ~60 ms listing that only ever walked it.
 */
import type { FrameManifest } from '../format/manifest.js';

/** Frames by name, in the order listed. Immutable: share it freely. */
export class ListedManifests implements ReadonlyMap<string, FrameManifest> {
  private index: Map<string, FrameManifest> | undefined;

  /**
   * @param names - frame names, no duplicates
   * @param manifests - the manifest of `names[i]` at index `i`
   */
  constructor(
    readonly names: readonly string[],
    readonly manifests: readonly FrameManifest[],
  ) {
    if (names.length !== manifests.length) throw new RangeError(`${names.length} names but ${manifests.length} manifests`);
  }

  /** Number of frames listed. */
  get size(): number {
    return this.names.length;
  }

  /** Calls `callback(manifest, name)` for each frame, in listing order. */
  forEach(callback: (manifest: FrameManifest, name: string, map: ReadonlyMap<string, FrameManifest>) => void, thisArg?: unknown): void {
    for (let i = 0; i < this.names.length; i++) callback.call(thisArg, this.manifests[i]!, this.names[i]!, this);
  }

  /** The manifest of frame `name`, if listed. */
  get(name: string): FrameManifest | undefined {
    return this.map().get(name);
  }

  /** Whether frame `name` is listed. */
  has(name: string): boolean {
    return this.map().has(name);
  }

  /** `[name, manifest]` pairs in listing order. */
  entries(): MapIterator<[string, FrameManifest]> {
    return this.map().entries();
  }

  /** Names in listing order. */
  keys(): MapIterator<string> {
    return this.map().keys();
  }

  /** Manifests in listing order. */
  values(): MapIterator<FrameManifest> {
    return this.map().values();
  }

  /** `[name, manifest]` pairs in listing order. */
  [Symbol.iterator](): MapIterator<[string, FrameManifest]> {
    return this.entries();
  }

  private map(): Map<string, FrameManifest> {
    if (!this.index) {
      this.index = new Map();
      for (let i = 0; i < this.names.length; i++) this.index.set(this.names[i]!, this.manifests[i]!);
    }
    return this.index;
  }
}
