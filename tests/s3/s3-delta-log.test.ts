// The Delta log layout (docs/open-format.md) on S3 (moto, with conditional writes): two writers in
// two "processes" (separate connectors on one prefix) appending to one frame at once lose nothing
// and leave a contiguous Delta log (the layout's logic itself: tests/conformance/delta-log-layout.test.ts).
import { describe, expect, it } from 'vitest';
import { HangarEngine } from '../../src/core/engine.js';
import { ParquetCodec } from '../../src/format/parquet/parquet-codec.js';
import { ObjectLayout } from '../../src/storage/object-layout.js';
import { collect, messagesOf, ref, sampleTable } from '../../src/testing/fixtures.js';
import { freshConnector, motoAvailable, motoForSuite } from './s3-servers.js';

const BUCKET = 'hangar-delta';

// moto needs the interop venv (npm test creates it); without it this file is skipped, loudly.
describe.skipIf(!motoAvailable)('the Delta log layout on S3 (moto)', () => {
  const moto = motoForSuite(BUCKET);

  it('two writers appending to one frame at once lose nothing, and the log stays contiguous', async () => {
    const first = freshConnector(moto(), BUCKET);
    const prefix = first.options.root;
    const second = freshConnector(moto(), BUCKET, { prefix });
    const codec = new ParquetCodec(1);
    const layouts = [new ObjectLayout(first, { log: 'delta' }), new ObjectLayout(second, { log: 'delta' })];
    await Promise.all(layouts.map((layout) => layout.open()));
    const engines = layouts.map((layout) => new HangarEngine(layout, codec, { compactThreshold: 0 }));
    try {
      await engines[0]!.put(ref('f'), 'error', messagesOf(sampleTable(1)));
      const appends = 8;
      await Promise.all(
        engines.map(async (engine, writer) => {
          for (let i = 0; i < appends; i++) await engine.put(ref('f'), 'append', messagesOf(sampleTable(1, 1 + writer * appends + i)));
        }),
      );
      const back = await collect((await engines[1]!.read(ref('f'))).messages);
      expect([...(back.getChild('id')!.toArray() as Int32Array)].sort((a, b) => a - b)).toEqual(Array.from({ length: 1 + 2 * appends }, (_, i) => i));
      const versions = await engines[0]!.versions(ref('f'));
      expect(versions.map((version) => version.version)).toEqual(Array.from({ length: 1 + 2 * appends }, (_, i) => i + 1));
      const commits: string[] = [];
      for await (const { key } of first.list('default/f/_delta_log/')) if (/\/\d{20}\.json$/.test(key)) commits.push(key);
      expect(commits.sort()).toEqual(Array.from({ length: 1 + 2 * appends }, (_, i) => `default/f/_delta_log/${String(i).padStart(20, '0')}.json`));
    } finally {
      await Promise.all(engines.map((engine) => engine.close()));
      await codec.close();
    }
  });
});
