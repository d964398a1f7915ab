/**
 * The store a server serves, from its `data` location and optional bucket mounts
 * (`"buckets": {"archive": "s3://…"}`): one store, or a MountedStore routing buckets to several.
 */
import { InvalidArgumentError } from '../errors.js';
import type { FrameStore } from '../storage/frame-store.js';
import { MountedStore } from '../storage/mounted-store.js';
import { DeltaTableStore } from '../storage/delta-table-store.js';
import { ObjectLayout } from '../storage/object-layout.js';
import type { ConnectorRegistry } from './registry.js';

/**
 * Creates (but does not open) the store for `data`, with each mounted bucket on the store of its
 * location. Equal location strings share one store instance (the default store's too), so a
 * directory or catalog is never opened twice by one server.
 * @param buckets - bucket name → location; empty or absent: just the `data` store
 * @throws InvalidArgumentError for a location no connector serves, naming the bucket
 */
export async function createMountedStore(
  registry: ConnectorRegistry,
  data: string,
  buckets: Readonly<Record<string, string>> = {},
): Promise<FrameStore> {
  const defaultStore = await registry.create(data);
  if (Object.keys(buckets).length === 0) return defaultStore;
  const byLocation = new Map<string, FrameStore>([[data, defaultStore]]);
  const mounts = new Map<string, FrameStore>();
  for (const [bucket, location] of Object.entries(buckets)) {
    // A Delta mount serves one bucket: two buckets on one delta+ location get a store each.
    const shared = location.startsWith(DELTA_MOUNT) ? `${location}#${bucket}` : location;
    let store = byLocation.get(shared);
    if (!store) {
      try {
        store = location.startsWith(DELTA_MOUNT) ? await deltaMount(registry, location.slice(DELTA_MOUNT.length), bucket) : await registry.create(location);
      } catch (error) {
        throw new InvalidArgumentError(`cannot mount bucket ${JSON.stringify(bucket)} on ${location}: ${(error as Error).message}`, { cause: error });
      }
      byLocation.set(shared, store);
    }
    mounts.set(bucket, store);
  }
  return new MountedStore(defaultStore, mounts);
}

/** A location of Delta tables served read-only: `delta+<location of their root>` (docs/open-format.md). */
export const DELTA_MOUNT = 'delta+';

async function deltaMount(registry: ConnectorRegistry, location: string, bucket: string): Promise<FrameStore> {
  const store = await registry.create(location);
  if (!(store instanceof ObjectLayout)) {
    throw new InvalidArgumentError(`Delta tables are mounted from a byte store (a directory, s3://, azure://), not ${JSON.stringify(location)}`);
  }
  return new DeltaTableStore(store.connector, bucket);
}
