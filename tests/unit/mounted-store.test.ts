// MountedStore routes every call by bucket to the store the bucket is mounted on, merges listings,
// and opens and closes each store once.
import { describe, expect, it } from 'vitest';
import { defaultConnectorRegistry } from '../../src/connectors/registry.js';
import { FrameStore } from '../../src/storage/frame-store.js';
import { MountedStore } from '../../src/storage/mounted-store.js';

const memoryStore = (): Promise<FrameStore> => defaultConnectorRegistry().create('memory:');

/** Counts opens and closes of a store, and can be made to fail opening. */
function counted(store: FrameStore, failOpen = false): FrameStore & { opens: number; closes: number } {
  const counts = { opens: 0, closes: 0 };
  const open = store.open.bind(store);
  const close = store.close.bind(store);
  return Object.assign(store, counts, {
    open: async () => {
      if (failOpen) throw new Error('cannot open');
      counts.opens++;
      (store as unknown as { opens: number }).opens = counts.opens;
      await open();
    },
    close: async () => {
      counts.closes++;
      (store as unknown as { closes: number }).closes = counts.closes;
      await close();
    },
  });
}

describe('MountedStore', () => {
  it('creates, lists and deletes each bucket on the store it is mounted on', async () => {
    const [main, archive] = [await memoryStore(), await memoryStore()];
    const store = new MountedStore(main, new Map([['archive', archive]]));
    await store.open();
    await store.createBucket('archive');
    await store.createBucket('market');
    expect(await archive.listBuckets()).toEqual(['archive']);
    expect((await main.listBuckets()).sort()).toEqual(['market']);
    expect((await store.listBuckets()).sort()).toEqual(['archive', 'market']);
    await store.deleteBucket('archive');
    expect(await archive.listBuckets()).toEqual([]);
    expect(await store.listBuckets()).toEqual(['market']);
    await store.close();
  });

  it('hides a bucket of the default store that a mount shadows', async () => {
    const [main, scratch] = [await memoryStore(), await memoryStore()];
    await main.open();
    await main.createBucket('scratch');
    const store = new MountedStore(main, new Map([['scratch', scratch]]));
    await scratch.open();
    expect(await store.listBuckets()).toEqual([]);
  });

  it('opens and closes a store shared by several mounts once, and closes the opened ones when one fails', async () => {
    const main = counted(await memoryStore());
    const shared = counted(await memoryStore());
    const store = new MountedStore(main, new Map([['a', shared], ['b', shared]]));
    await store.open();
    await store.close();
    expect([main.opens, main.closes, shared.opens, shared.closes]).toEqual([1, 1, 1, 1]);

    const good = counted(await memoryStore());
    const failing = new MountedStore(good, new Map([['x', counted(await memoryStore(), true)]]));
    await expect(failing.open()).rejects.toThrow('cannot open');
    expect([good.opens, good.closes]).toEqual([1, 1]);
  });

  it('declares a capability only when every store has it', async () => {
    const withCommits = async (crossProcessCommits: boolean): Promise<FrameStore> => {
      const store = await memoryStore();
      return Object.assign(store, { capabilities: { ...store.capabilities, crossProcessCommits } });
    };
    const [yes, alsoYes, no] = [await withCommits(true), await withCommits(true), await withCommits(false)];
    expect(new MountedStore(yes, new Map([['a', alsoYes]])).capabilities.crossProcessCommits).toBe(true);
    expect(new MountedStore(yes, new Map([['a', alsoYes], ['b', no]])).capabilities.crossProcessCommits).toBe(false);
    expect(new MountedStore(no, new Map([['a', yes]])).capabilities.crossProcessCommits).toBe(false);
  });

  it('refuses to mount an invalid bucket name', async () => {
    const [main, other] = [await memoryStore(), await memoryStore()];
    expect(() => new MountedStore(main, new Map([['../up', other]]))).toThrow(/cannot mount bucket "\.\.\/up": invalid bucket name/);
  });
});
