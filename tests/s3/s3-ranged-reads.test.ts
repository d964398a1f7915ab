// Projected reads on S3 fetch only the Parquet footer and the projected column chunks. Bytes are
// counted by an HTTP proxy between the connector and a real S3-compatible server (s3rver, and moto
// when the interop venv has it), so the figures are what crossed the wire; the values must equal
// those of a full read.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CountingProxy, valuesOf, wideTable } from '../helpers/counting-proxy.js';
import { S3Connector } from '../../src/connectors/s3/s3-connector.js';
import { ObjectLayout } from '../../src/storage/object-layout.js';
import { HangarEngine } from '../../src/core/engine.js';
import type { FrameManifest } from '../../src/format/manifest.js';
import { ParquetCodec } from '../../src/format/parquet/parquet-codec.js';
import { RANGED_READ_MIN_BYTES } from '../../src/core/segment-fetch.js';
import { collect, messagesOf, ref } from '../../src/testing/fixtures.js';
import { type S3TestServer, createS3Bucket, motoAvailable, startMoto, startS3rver, storeOptions } from './s3-servers.js';

const BUCKET = 'hangar-ranged';
const ROWS = 600_000;
const T0 = 1_700_000_000_000_000_000n;

for (const kind of ['s3rver', 'moto'] as const) {
  describe.skipIf(kind === 'moto' && !motoAvailable)(`ranged reads on ${kind}`, () => {
    let server: S3TestServer;
    let proxy: CountingProxy;
    let s3Connector: S3Connector;
    let connector: ObjectLayout;
    let engine: HangarEngine;
    const codec = new ParquetCodec(2);
    const table = wideTable(ROWS);
    let stored = 0;
    let manifest: FrameManifest;

    beforeAll(async () => {
      server = kind === 'moto' ? await startMoto() : await startS3rver();
      await createS3Bucket(server, BUCKET);
      proxy = await CountingProxy.start(server.endpoint);
      s3Connector = new S3Connector({ ...storeOptions(server, BUCKET), endpoint: proxy.endpoint, conditionalWrites: 'off' });
      connector = new ObjectLayout(s3Connector);
      await connector.open();
      engine = new HangarEngine(connector, codec);
      await engine.put(ref('wide'), 'error', messagesOf(table));
      manifest = (await connector.getManifest(ref('wide')))!;
      stored = manifest.segments.reduce((sum, segment) => sum + segment.storedBytes, 0);
    });
    afterAll(async () => {
      await engine?.close();
      await connector?.close();
      await codec.close();
      await proxy?.close();
      await server?.close();
    });

    it('stores the frame as several multi-MiB segments', () => {
      expect(manifest.segments.length).toBeGreaterThanOrEqual(2);
      for (const segment of manifest.segments) expect(segment.storedBytes).toBeGreaterThanOrEqual(RANGED_READ_MIN_BYTES);
    });

    it('a full get fetches each segment whole, in one GET each', async () => {
      proxy.reset();
      const full = await collect((await engine.read(ref('wide'))).messages);
      expect(full.numRows).toBe(ROWS);
      expect(proxy.segmentBytes).toBe(stored);
      expect(proxy.segmentGets).toBe(manifest.segments.length);
      expect(proxy.rangedGets).toBe(0);
    });

    it('a get of 1 of 7 columns fetches under 30% of the segments, and the same values as a full get', async () => {
      const full = await collect((await engine.read(ref('wide'))).messages);
      proxy.reset();
      const projected = await collect((await engine.read(ref('wide'), { columns: ['c3'] })).messages);
      expect(projected.schema.fields.map((field) => field.name)).toEqual(['c3']);
      expect(projected.numRows).toBe(ROWS);
      expect(valuesOf(projected, 'c3')).toEqual(valuesOf(full, 'c3'));
      expect(proxy.rangedGets).toBe(proxy.segmentGets);
      expect(proxy.segmentBytes).toBeLessThan(stored * 0.3);
      // One column of seven, plus a footer per segment: about a seventh.
      expect(proxy.segmentBytes).toBeGreaterThan(stored / 7);
    });

    it('two columns in another order, and a time-filtered projection (the time column decoded, not returned)', async () => {
      const full = await collect((await engine.read(ref('wide'))).messages);
      proxy.reset();
      const two = await collect((await engine.read(ref('wide'), { columns: ['c5', 'c1'] })).messages);
      expect(two.schema.fields.map((field) => field.name)).toEqual(['c5', 'c1']);
      expect(valuesOf(two, 'c5')).toEqual(valuesOf(full, 'c5'));
      expect(valuesOf(two, 'c1')).toEqual(valuesOf(full, 'c1'));
      expect(proxy.segmentBytes).toBeLessThan(stored * 0.45);

      // Rows 100,000 to 450,000: the range straddles segments, whose rows are filtered by t.
      const start = T0 + 100_000n * 1_000_000n;
      const end = T0 + 450_000n * 1_000_000n;
      proxy.reset();
      const ranged = await collect((await engine.read(ref('wide'), { columns: ['c2'], start, end })).messages);
      expect(ranged.schema.fields.map((field) => field.name)).toEqual(['c2']);
      expect(valuesOf(ranged, 'c2')).toEqual(valuesOf(full, 'c2').subarray(100_000, 450_000));
      expect(proxy.segmentBytes).toBeLessThan(stored * 0.45);
    });

    it('falls back to whole GETs, with the same values, when a segment footer cannot be read', async () => {
      const full = await collect((await engine.read(ref('wide'))).messages);
      // A connector whose ranged reads return garbage: the read must still succeed, whole.
      const broken = new ObjectLayout(new (class extends S3Connector {
        override async getRange(key: string, offset: number, length: number): Promise<Uint8Array | undefined> {
          const bytes = await super.getRange(key, offset, length);
          return bytes && new Uint8Array(bytes.byteLength).fill(0x55);
        }
      })({ ...storeOptions(server, BUCKET), prefix: s3Connector.options.root, endpoint: proxy.endpoint, conditionalWrites: 'off' }));
      await broken.open();
      const brokenEngine = new HangarEngine(broken, codec);
      try {
        proxy.reset();
        const projected = await collect((await brokenEngine.read(ref('wide'), { columns: ['c0'] })).messages);
        expect(valuesOf(projected, 'c0')).toEqual(valuesOf(full, 'c0'));
        expect(proxy.segmentGets - proxy.rangedGets).toBe(manifest.segments.length);
      } finally {
        await broken.close();
      }
    });
  });
}
