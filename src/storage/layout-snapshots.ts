/**
 * Where the object layout keeps snapshot documents: `<bucket>/~snapshots/<name>.json`, one object
 * per snapshot, created with `ifAbsent`. Inside the bucket's prefix, so deleting the bucket removes
 * them; `~` is not a name character, so no frame can collide with the key space.
 */
import { type SnapshotDocument, decodeSnapshot, encodeSnapshot } from '../format/snapshot-document.js';
import type { Connector } from './connector.js';

/** The prefix of a bucket's snapshot documents. */
export function snapshotsPrefix(bucket: string): string {
  return `${bucket}/~snapshots/`;
}

/** The key of one snapshot document. */
export function snapshotKey(bucket: string, name: string): string {
  return `${snapshotsPrefix(bucket)}${name}.json`;
}

/** Snapshot documents over a byte store; `writable` runs before every write (the layout's writer lease). */
export class LayoutSnapshots {
  /**
   * @param connector - the byte store
   * @param writable - called before each write (takes the writer lease of stores that need one)
   */
  constructor(
    private readonly connector: Connector,
    private readonly writable: () => Promise<void>,
  ) {}

  /** Stores a snapshot unless one of that name exists; false if it does. */
  async put(snapshot: SnapshotDocument): Promise<boolean> {
    await this.writable();
    return this.connector.put(snapshotKey(snapshot.bucket, snapshot.name), encodeSnapshot(snapshot), { ifAbsent: true });
  }

  /** The snapshot, or undefined. @throws DataLossError for a damaged document */
  async get(bucket: string, name: string): Promise<SnapshotDocument | undefined> {
    const key = snapshotKey(bucket, name);
    const bytes = await this.connector.get(key);
    return bytes ? decodeSnapshot(bytes, `${this.connector.name}:${key}`) : undefined;
  }

  /** Names of the bucket's snapshots, in any order. */
  async list(bucket: string): Promise<string[]> {
    const prefix = snapshotsPrefix(bucket);
    const names: string[] = [];
    for await (const { key } of this.connector.list(prefix)) {
      const rest = key.slice(prefix.length);
      if (rest.endsWith('.json') && !rest.includes('/')) names.push(rest.slice(0, -'.json'.length));
    }
    return names;
  }

  /** Deletes a snapshot document; false if there was none. */
  async delete(bucket: string, name: string): Promise<boolean> {
    await this.writable();
    const key = snapshotKey(bucket, name);
    if (!(await this.connector.head(key))) return false;
    await this.connector.delete([key]);
    return true;
  }
}
