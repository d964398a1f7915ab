// Vacuum racing a restore or a read of the version it expires, in one process (both found by the
// crash trials). A restore must commit a version whose segments exist, or fail as "no longer kept"
// (it acknowledged a version whose segments vacuum had deleted); a read that has chosen its version
// streams it whole (it failed with "segment … does not exist").
import { tableFromArrays, tableToIPC } from 'apache-arrow';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { MemoryConnector } from '../../src/connectors/memory/memory-connector.js';
import { ObjectLayout } from '../../src/storage/object-layout.js';
import type { FrameManifest } from '../../src/format/manifest.js';
import type { FrameRef } from '../../src/names.js';
import { HangarEngine } from '../../src/core/engine.js';
import { splitIpcStream } from '../../src/format/ipc-message.js';
import { ParquetCodec } from '../../src/format/parquet/parquet-codec.js';
import { collect } from '../../src/testing/fixtures.js';

/** A memory store that holds one read of a chosen manifest version until released. */
class GatedConnector extends ObjectLayout {
  gate?: { readonly version: number; readonly reached: () => void; readonly release: Promise<void> };

  constructor() {
    super(new MemoryConnector());
  }

  override async getManifestVersion(ref: FrameRef, version: number): Promise<FrameManifest | undefined> {
    const manifest = await super.getManifestVersion(ref, version);
    const gate = this.gate;
    if (gate && version === gate.version) {
      this.gate = undefined;
      gate.reached();
      await gate.release;
    }
    return manifest;
  }
}

let codec: ParquetCodec;
beforeAll(() => {
  codec = new ParquetCodec(1);
});
afterAll(async () => {
  await codec.close();
});

async function* rows(values: number[]) {
  yield* splitIpcStream(tableToIPC(tableFromArrays({ x: Int32Array.from(values) }), 'stream'));
}

it('a restore racing a vacuum that expires its version commits nothing unreadable', async () => {
  const connector = new GatedConnector();
  await connector.open();
  const engine = new HangarEngine(connector, codec, { retention: { keepVersions: 2, graceMs: 0 } });
  try {
    const ref = { bucket: 'default', name: 'f' };
    for (const value of [1, 2, 3]) await engine.put(ref, 'replace', rows([value]));

    // The restore reads version 1 (the oldest) and is held there while a vacuum runs.
    let reached!: () => void;
    const atGate = new Promise<void>((resolve) => (reached = resolve));
    let release!: () => void;
    connector.gate = { version: 1, reached, release: new Promise<void>((resolve) => (release = resolve)) };
    const restoring = engine.restore(ref, 1).then(
      (summary) => summary,
      (error: unknown) => error as Error,
    );
    await atGate;
    const vacuuming = engine.vacuum({ bucket: ref.bucket, name: ref.name });
    // Give the vacuum the chance to run to its end if nothing holds it back.
    await Promise.race([vacuuming, new Promise((resolve) => setTimeout(resolve, 200))]);
    release();
    const restored = await restoring;
    await vacuuming;

    if (restored instanceof Error) expect(restored.message).toMatch(/no longer kept/);
    else expect([...(await collect((await engine.read(ref)).messages)).getChild('x')!].map(Number)).toEqual([1]);
  } finally {
    await engine.close();
    await connector.close();
  }
});

it('a read that has chosen its version streams it whole though a vacuum expires it meanwhile', async () => {
  const connector = new ObjectLayout(new MemoryConnector());
  await connector.open();
  const engine = new HangarEngine(connector, codec, { retention: { keepVersions: 2, graceMs: 0 } });
  try {
    const ref = { bucket: 'default', name: 'f' };
    for (const value of [1, 2, 3]) await engine.put(ref, 'replace', rows([value]));
    const stream = await engine.read(ref, { version: 1 });
    expect(await engine.vacuum({ bucket: ref.bucket, name: ref.name })).toMatchObject({ versionsRemoved: 1, segmentsRemoved: 1 });
    expect(await connector.listSegmentObjects(ref)).toHaveLength(3);
    expect([...(await collect(stream.messages)).getChild('x')!].map(Number)).toEqual([1]);
    // Once the read has ended, the expired version's segment goes; the kept versions' two stay.
    await new Promise((resolve) => setImmediate(resolve));
    expect(await connector.listSegmentObjects(ref)).toHaveLength(2);
  } finally {
    await engine.close();
    await connector.close();
  }
});
