// A put whose caller cancels after its input has ended but before the commit stores nothing: the
// engine checks the put's signal under the commit lock (a Node gRPC client cancels a put it is
// still writing by ending the stream and resetting it just after, which under load can come late).
import { tableFromArrays, tableToIPC } from 'apache-arrow';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { MemoryConnector } from '../../src/connectors/memory/memory-connector.js';
import { HangarEngine } from '../../src/core/engine.js';
import { CancelledError } from '../../src/errors.js';
import { splitIpcStream } from '../../src/format/ipc-message.js';
import { ParquetCodec } from '../../src/format/parquet/parquet-codec.js';
import { ObjectLayout } from '../../src/storage/object-layout.js';

let codec: ParquetCodec;

/** Every key the connector holds. */
async function keys(connector: MemoryConnector): Promise<string[]> {
  const found: string[] = [];
  for await (const { key } of connector.list('')) found.push(key);
  return found.sort();
}
beforeAll(() => {
  codec = new ParquetCodec(1);
});
afterAll(async () => {
  await codec.close();
});

/** The IPC messages of a one-column frame; `afterLast` runs once the last one has been taken. */
async function* rows(values: number[], afterLast: () => void = () => undefined) {
  yield* splitIpcStream(tableToIPC(tableFromArrays({ x: Int32Array.from(values) }), 'stream'));
  afterLast();
}

it('a put cancelled after its input ended commits nothing and keeps the previous version', async () => {
  const connector = new MemoryConnector();
  const store = new ObjectLayout(connector);
  await store.open();
  const engine = new HangarEngine(store, codec, {});
  const ref = { bucket: 'default', name: 'f' };
  await engine.put(ref, 'error', rows([1, 2, 3]));
  const before = await keys(connector);
  const cancel = new AbortController();
  const cancelled = engine.put(ref, 'replace', rows([7, 8, 9, 10], () => cancel.abort()), { signal: cancel.signal });
  await expect(cancelled).rejects.toBeInstanceOf(CancelledError);
  await expect(cancelled).rejects.toThrow(/cancelled before it committed; nothing was stored/);
  expect((await engine.stat(ref)).version).toBe(1);
  expect((await engine.stat(ref)).rows).toBe(3);
  // The segments it had written are removed again.
  expect(await keys(connector)).toEqual(before);
  // Not cancelled, the same put commits.
  await engine.put(ref, 'replace', rows([7, 8, 9, 10]), { signal: new AbortController().signal });
  expect((await engine.stat(ref)).rows).toBe(4);
  await engine.close();
  await store.close();
});
