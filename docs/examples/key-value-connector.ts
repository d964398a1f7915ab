/**
 * Example custom connector (docs/custom-connectors.md): stores Hangar frames in any key-value
 * store that offers get / set / set-if-absent / delete / list-by-prefix. Here the store is a Map;
 * swap in Redis, etcd or an object store client and the connector stays the same.
 */
import { ConflictError, NotFoundError } from '../../src/core/errors.js';
import { type FrameManifest, decodeManifest, encodeManifest } from '../../src/core/manifest.js';
import type { FrameRef } from '../../src/core/names.js';
import { FrameStore } from '../../src/storage/frame-store.js';

/** The five operations the connector needs from a key-value store. */
export interface KeyValueStore {
  get(key: string): Promise<Uint8Array | undefined>;
  set(key: string, value: Uint8Array): Promise<void>;
  /** Stores the value only if the key is absent; returns whether it did (the atomic primitive). */
  setIfAbsent(key: string, value: Uint8Array): Promise<boolean>;
  delete(key: string): Promise<void>;
  keys(prefix: string): Promise<string[]>;
}

/** A KeyValueStore in process memory. */
export class MapStore implements KeyValueStore {
  private readonly map = new Map<string, Uint8Array>();
  async get(key: string) { return this.map.get(key); }
  async set(key: string, value: Uint8Array) { this.map.set(key, value.slice()); }
  async setIfAbsent(key: string, value: Uint8Array) {
    if (this.map.has(key)) return false;
    this.map.set(key, value.slice());
    return true;
  }
  async delete(key: string) { this.map.delete(key); }
  async keys(prefix: string) { return [...this.map.keys()].filter((key) => key.startsWith(prefix)); }
}

// Keys: b/<bucket>/                       bucket marker
//       f/<bucket>/<frame>/s/<segment>    segment bytes
//       f/<bucket>/<frame>/m/<version>    manifest, zero-padded so keys sort by version
const pad = (version: number): string => String(version).padStart(12, '0');

/** Frames in a key-value store. Names reaching a connector are already validated by the core. */
export class KeyValueConnector extends FrameStore {
  readonly name = 'kv';

  constructor(private readonly store: KeyValueStore) {
    super();
  }

  private frameKey(ref: FrameRef): string {
    return `f/${ref.bucket}/${ref.name}/`;
  }

  async putSegment(ref: FrameRef, id: string, bytes: Uint8Array): Promise<void> {
    await this.store.set(`${this.frameKey(ref)}s/${id}`, bytes);
  }

  async getSegment(ref: FrameRef, id: string): Promise<Uint8Array> {
    const bytes = await this.store.get(`${this.frameKey(ref)}s/${id}`);
    if (!bytes) throw new NotFoundError(`segment ${id} of frame '${ref.name}' does not exist`);
    return bytes.slice(); // the caller owns what it gets (it may move it to a worker thread)
  }

  async deleteSegments(ref: FrameRef, ids: readonly string[]): Promise<void> {
    await Promise.all(ids.map((id) => this.store.delete(`${this.frameKey(ref)}s/${id}`)));
  }

  private async latestVersion(ref: FrameRef): Promise<number> {
    const keys = await this.store.keys(`${this.frameKey(ref)}m/`);
    return keys.reduce((max, key) => Math.max(max, Number(key.slice(key.lastIndexOf('/') + 1))), 0);
  }

  async getManifest(ref: FrameRef): Promise<FrameManifest | undefined> {
    const version = await this.latestVersion(ref);
    if (version === 0) return undefined;
    const bytes = await this.store.get(`${this.frameKey(ref)}m/${pad(version)}`);
    return bytes ? decodeManifest(bytes, `${ref.bucket}/${ref.name}@${version}`) : undefined;
  }

  async commitManifest(ref: FrameRef, manifest: FrameManifest): Promise<void> {
    const current = await this.latestVersion(ref);
    // setIfAbsent on the new version's key is the compare-and-swap: two writers cannot both win.
    if (current !== manifest.version - 1 ||
        !(await this.store.setIfAbsent(`${this.frameKey(ref)}m/${pad(manifest.version)}`, encodeManifest(manifest)))) {
      throw new ConflictError(`frame '${ref.name}' moved past version ${manifest.version - 1}; retry`);
    }
    await this.createBucket(ref.bucket);
  }

  async deleteFrame(ref: FrameRef): Promise<void> {
    const keys = await this.store.keys(this.frameKey(ref));
    await Promise.all(keys.map((key) => this.store.delete(key)));
  }

  async listFrames(bucket: string): Promise<string[]> {
    const keys = await this.store.keys(`f/${bucket}/`);
    const names = keys.filter((key) => key.split('/')[3] === 'm').map((key) => key.split('/')[2]!);
    return [...new Set(names)];
  }

  async listBuckets(): Promise<string[]> {
    return (await this.store.keys('b/')).map((key) => key.slice(2, -1));
  }

  async createBucket(bucket: string): Promise<void> {
    await this.store.set(`b/${bucket}/`, new Uint8Array(0));
  }

  async deleteBucket(bucket: string): Promise<void> {
    const keys = [...(await this.store.keys(`f/${bucket}/`)), `b/${bucket}/`];
    await Promise.all(keys.map((key) => this.store.delete(key)));
  }
}
