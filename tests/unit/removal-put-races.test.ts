// A purge or bucket delete racing a put of the same frame (issue 24, found by the HTTP fuzzer with
// aggressive retention): the removal listed the put's segments, already stored but not yet
// committed, and deleted them; the put then committed a version whose segments were gone — an
// acknowledged write lost, read back as DATA_LOSS. Removals now leave the segments this store
// wrote and has not committed (the put commits them, or discards them when it fails).
import { afterAll, beforeAll, expect, it } from 'vitest';
import { MemoryConnector } from '../../src/connectors/memory/memory-connector.js';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ObjectLayout } from '../../src/storage/object-layout.js';
import type { FrameStore } from '../../src/storage/frame-store.js';
import { LocalConnector } from '../../src/connectors/local/local-connector.js';
import { SqliteConnector } from '../../src/connectors/sqlite/sqlite-connector.js';
import { HangarEngine } from '../../src/core/engine.js';
import type { IpcMessage } from '../../src/format/ipc-message.js';
import { ParquetCodec } from '../../src/format/parquet/parquet-codec.js';
import { collect } from '../../src/testing/fixtures.js';
import { ROWS, generation } from '../helpers/read-races.js';

let codec: ParquetCodec;
beforeAll(() => {
  codec = new ParquetCodec(1);
});
afterAll(async () => {
  await codec.close();
});

/** The messages of generation `g`, held before the last until `release` settles (segments are stored by then). */
async function* heldBack(g: number, held: () => void, release: Promise<void>): AsyncGenerator<IpcMessage> {
  const messages: IpcMessage[] = [];
  for await (const message of generation(g)) messages.push(message);
  yield* messages.slice(0, -1);
  held();
  await release;
  yield messages[messages.length - 1]!;
}

/** A fresh store of each kind, and how to remove what it leaves. */
const stores: Record<string, () => Promise<{ store: FrameStore; dispose: () => Promise<void> }>> = {
  memory: async () => {
    const store = new ObjectLayout(new MemoryConnector());
    await store.open();
    return { store, dispose: () => store.close() };
  },
  sqlite: async () => {
    const root = await mkdtemp(join(tmpdir(), 'hangar-removal-put-'));
    const store = new SqliteConnector({ catalog: join(root, 'catalog.db'), storage: new LocalConnector({ root: join(root, 'data'), fsync: false }), fsync: false });
    await store.open();
    return {
      store,
      dispose: async () => {
        await store.close();
        await rm(root, { recursive: true, force: true });
      },
    };
  },
};

for (const [kind, removal] of [['memory', 'purge'], ['memory', 'bucket delete'], ['sqlite', 'purge'], ['sqlite', 'bucket delete']] as const) {
  it(`a ${removal} while a put of the frame is storing its segments leaves the put's rows whole (${kind} store)`, async () => {
    const { store, dispose } = await stores[kind]!();
    const engine = new HangarEngine(store, codec, { readCacheBytes: 0, segmentBytes: 64 * 1024 });
    const ref = { bucket: 'b', name: 'f' };
    try {
      await engine.put(ref, 'replace', generation(1));
      let held!: () => void;
      const holding = new Promise<void>((resolve) => (held = resolve));
      let release!: () => void;
      const put = engine.put(ref, 'replace', heldBack(2, held, new Promise<void>((resolve) => (release = resolve))));
      await holding;
      // Let the writer store what it has.
      await new Promise((resolve) => setTimeout(resolve, 100));
      if (removal === 'purge') await engine.purge(ref);
      else await engine.deleteBucket(ref.bucket, 'delete');
      release();
      await put;
      const back = await collect((await engine.read(ref)).messages);
      expect(back.numRows).toBe(ROWS);
      expect(new Set([...back.getChild('g')!].map(Number))).toEqual(new Set([2]));
    } finally {
      await engine.close();
      await dispose();
    }
  });
}

/**
 * A memory store whose first deletion of manifests waits for `gate` (a removal paused after it
 * listed the keys), and whose first put of a key containing `putGate.key` waits for `putGate`.
 */
class PausingConnector extends MemoryConnector {
  gate?: { readonly reached: () => void; readonly open: Promise<void> };
  putGate?: { readonly key: string; readonly reached: () => void; readonly open: Promise<void> };

  override async put(key: string, bytes: Uint8Array, options?: Parameters<MemoryConnector['put']>[2]): ReturnType<MemoryConnector['put']> {
    const gate = this.putGate;
    if (gate && key.includes(gate.key)) {
      this.putGate = undefined;
      gate.reached();
      await gate.open;
    }
    return super.put(key, bytes, options);
  }

  override async delete(keys: readonly string[]): Promise<void> {
    const gate = this.gate;
    if (gate && keys.some((key) => key.includes('/manifests/') || key.includes('/_delta_log/'))) {
      this.gate = undefined;
      gate.reached();
      await gate.open;
    }
    return super.delete(keys);
  }
}

it('an append committing while a bucket delete removes the frame makes no version over removed segments', async () => {
  const bytes = new PausingConnector();
  const store = new ObjectLayout(bytes);
  await store.open();
  const engine = new HangarEngine(store, codec, { readCacheBytes: 0, segmentBytes: 64 * 1024 });
  const ref = { bucket: 'b', name: 'f' };
  try {
    await engine.put(ref, 'replace', generation(1));
    let held!: () => void;
    const holding = new Promise<void>((resolve) => (held = resolve));
    let release!: () => void;
    const append = engine.put(ref, 'append', heldBack(2, held, new Promise<void>((resolve) => (release = resolve))), { allowUnordered: true });
    await holding;
    await new Promise((resolve) => setTimeout(resolve, 100));
    // The bucket delete lists the frame's keys, then pauses before deleting its manifests…
    let reached!: () => void;
    const paused = new Promise<void>((resolve) => (reached = resolve));
    let open!: () => void;
    bytes.gate = { reached, open: new Promise<void>((resolve) => (open = resolve)) };
    const deleting = engine.deleteBucket(ref.bucket, 'delete');
    await paused;
    // …while the append finishes and tries to commit over the frame's current segments.
    release();
    await new Promise((resolve) => setTimeout(resolve, 200));
    open();
    await deleting;
    await append;
    // The append came after the delete: the frame holds exactly its rows.
    const back = await collect((await engine.read(ref)).messages);
    expect(back.numRows).toBe(ROWS);
    expect(new Set([...back.getChild('g')!].map(Number))).toEqual(new Set([2]));
  } finally {
    await engine.close();
    await store.close();
  }
});

it('a put making a new frame while its bucket is deleted keeps the bucket listed (and vacuumed)', async () => {
  const bytes = new PausingConnector();
  const store = new ObjectLayout(bytes);
  await store.open();
  const engine = new HangarEngine(store, codec, { readCacheBytes: 0, segmentBytes: 64 * 1024 });
  const gate = (): { reached: () => void; paused: Promise<void>; open: () => void; opened: Promise<void> } => {
    let reached!: () => void;
    let open!: () => void;
    const paused = new Promise<void>((resolve) => (reached = resolve));
    const opened = new Promise<void>((resolve) => (open = resolve));
    return { reached, paused, open, opened };
  };
  try {
    await engine.put({ bucket: 'b', name: 'old' }, 'replace', generation(1));
    // A put of a new frame has found the bucket marked and is about to write its first version…
    const put = gate();
    bytes.putGate = { key: '/new/_delta_log/', reached: put.reached, open: put.opened };
    const putting = engine.put({ bucket: 'b', name: 'new' }, 'replace', generation(2));
    await put.paused;
    // …when the bucket delete removes the marker and lists the keys (pausing before it deletes them).
    const removal = gate();
    bytes.gate = { reached: removal.reached, open: removal.opened };
    const deleting = engine.deleteBucket('b', 'delete');
    await removal.paused;
    put.open();
    await putting;
    removal.open();
    await deleting;
    // The new frame stayed (the delete never listed it), and so does its bucket.
    expect((await engine.list('b')).map((info) => info.name)).toEqual(['new']);
    expect(await engine.buckets()).toContain('b');
  } finally {
    await engine.close();
    await store.close();
  }
});
