// Reads of one frame share the probe that checks a cached manifest only until it is sent: two
// layouts (as two server processes) over one store; a read that starts after the other process
// committed sees the commit, even while an earlier read's probe, sent before that commit, is still
// waiting for its answers; reads that ask before the probe is sent share its two `head`s.
import { tableFromArrays, tableToIPC } from 'apache-arrow';
import { afterAll, expect, it } from 'vitest';
import { MemoryConnector } from '../../src/connectors/memory/memory-connector.js';
import { HangarEngine } from '../../src/core/engine.js';
import { splitIpcStream } from '../../src/format/ipc-message.js';
import { ParquetCodec } from '../../src/format/parquet/parquet-codec.js';
import { ObjectLayout } from '../../src/storage/object-layout.js';

const codec = new ParquetCodec(1);
afterAll(() => codec.close());

async function* rows(values: number[]) {
  yield* splitIpcStream(tableToIPC(tableFromArrays({ x: Int32Array.from(values) }), 'stream'));
}

/**
 * The store as the reading process sees it: each `head` is answered from the store at the moment it
 * is sent, and the answer is held back while the gate is closed.
 */
function gatedStore(store: MemoryConnector) {
  let open: () => void = () => undefined;
  let gate: Promise<void> = Promise.resolve();
  let heads = 0;
  const connector = new Proxy(store, {
    get(target, property) {
      if (property === 'head') {
        return (key: string) => {
          heads++;
          const answer = target.head(key);
          return gate.then(() => answer);
        };
      }
      const value = Reflect.get(target, property) as unknown;
      return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
    },
  });
  return {
    connector,
    close: () => (gate = new Promise((resolve) => (open = resolve))),
    open: () => open(),
    heads: () => heads,
  };
}

it('a read after another process committed sees the commit while an earlier probe is still out; reads before a probe is sent share it', async () => {
  const store = new MemoryConnector();
  const gated = gatedStore(store);
  const reader = new ObjectLayout(gated.connector);
  const writer = new ObjectLayout(store);
  await reader.open();
  await writer.open();
  const writes = new HangarEngine(writer, codec, {});
  const ref = { bucket: 'default', name: 'shared' };
  await writes.put(ref, 'error', rows([1]));
  expect((await reader.getManifest(ref))!.version).toBe(1); // cached from now on

  // Three reads ask before the probe is sent: one probe, two heads.
  const before = gated.heads();
  const together = await Promise.all([reader.getManifest(ref), reader.getManifest(ref), reader.getManifest(ref)]);
  expect(together.map((manifest) => manifest!.version)).toEqual([1, 1, 1]);
  expect(gated.heads() - before).toBe(2);

  gated.close();
  const early = reader.getManifest(ref);
  await new Promise((resolve) => setImmediate(resolve)); // its probe is sent (answers: version 1 is current)
  await new Promise((resolve) => setImmediate(resolve));
  await writes.put(ref, 'append', rows([2])); // the other process commits version 2
  const late = reader.getManifest(ref);
  gated.open();
  expect((await early)!.version).toBe(1);
  expect((await late)!.version).toBe(2);
  expect((await reader.getManifest(ref))!.rows).toBe(2);
  await writes.close();
  await reader.close();
  await writer.close();
});
