/**
 * Where a server keeps its streams' logs, chosen from its store: a store with a local directory gets
 * preallocated log files under `<root>/.streams`; a layout over a byte-level object store gets log
 * chunk objects under `.streams/`; any other store (a catalog over a remote store, a plugin's
 * FrameStore) cannot hold streams.
 */
import type { FrameStore } from '../../storage/frame-store.js';
import { ObjectLayout } from '../../storage/object-layout.js';
import { LocalStreamStorage, ObjectStreamStorage, type StreamStorage } from '../../core/streams/stream-storage.js';

/** The stream storage for `store`, or undefined when it cannot hold streams. */
export function streamStorageFor(store: FrameStore): StreamStorage | undefined {
  const root = store.fileRoots()[0];
  if (root !== undefined) return new LocalStreamStorage(root);
  if (store instanceof ObjectLayout) return new ObjectStreamStorage(store.connector);
  return undefined;
}
