// On Azure, a projected get fetches only the Parquet footer and the projected column chunks, by
// ranged downloads. Bytes are counted by an HTTP proxy between the connector and Azurite, so the
// figures are what crossed the wire; the values must equal those of a full get. Also: the azure:
// scheme is registered and builds the object layout over this connector.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CountingProxy, valuesOf, wideTable } from '../helpers/counting-proxy.js';
import { AzureConnector } from '../../src/connectors/azure/azure-connector.js';
import { defaultConnectorRegistry } from '../../src/connectors/registry.js';
import { HangarEngine } from '../../src/core/engine.js';
import { ParquetCodec } from '../../src/format/parquet/parquet-codec.js';
import { RANGED_READ_MIN_BYTES } from '../../src/core/segment-fetch.js';
import { ObjectLayout } from '../../src/storage/object-layout.js';
import { collect, messagesOf, ref } from '../../src/testing/fixtures.js';
import { AZURITE_ACCOUNT, AZURITE_KEY, type AzuriteServer, azureStoreOptions, createContainer, startAzurite } from './azurite-server.js';

const CONTAINER = 'hangar-ranged';
const ROWS = 200_000;

describe('ranged reads on Azurite', () => {
  let server: AzuriteServer;
  let proxy: CountingProxy;
  let layout: ObjectLayout;
  let engine: HangarEngine;
  const codec = new ParquetCodec(2);
  let stored = 0;
  let segments = 0;

  beforeAll(async () => {
    server = await startAzurite();
    await createContainer(server, CONTAINER);
    proxy = await CountingProxy.start(server.endpoint, `/${AZURITE_ACCOUNT}`);
    layout = new ObjectLayout(new AzureConnector(azureStoreOptions(server, CONTAINER, { endpoint: proxy.endpoint })));
    await layout.open();
    engine = new HangarEngine(layout, codec);
    await engine.put(ref('wide'), 'error', messagesOf(wideTable(ROWS)));
    const manifest = (await layout.getManifest(ref('wide')))!;
    segments = manifest.segments.length;
    stored = manifest.segments.reduce((sum, segment) => sum + segment.storedBytes, 0);
    for (const segment of manifest.segments) expect(segment.storedBytes).toBeGreaterThanOrEqual(RANGED_READ_MIN_BYTES);
  });
  afterAll(async () => {
    await engine?.close();
    await layout?.close();
    await codec.close();
    await proxy?.close();
    await server?.close();
  });

  it('a full get downloads each segment whole; a get of 1 of 7 columns under 30% of them, with the same values', async () => {
    proxy.reset();
    const full = await collect((await engine.read(ref('wide'))).messages);
    expect(full.numRows).toBe(ROWS);
    expect(proxy.segmentBytes).toBe(stored);
    expect(proxy.segmentGets).toBe(segments);
    expect(proxy.rangedGets).toBe(0);

    proxy.reset();
    const projected = await collect((await engine.read(ref('wide'), { columns: ['c3'] })).messages);
    expect(projected.schema.fields.map((field) => field.name)).toEqual(['c3']);
    expect(valuesOf(projected, 'c3')).toEqual(valuesOf(full, 'c3'));
    expect(proxy.rangedGets).toBe(proxy.segmentGets);
    expect(proxy.segmentBytes).toBeLessThan(stored * 0.3);
    expect(proxy.segmentBytes).toBeGreaterThan(stored / 7);
  });

  it('is registered as the azure: scheme, under the object layout', async () => {
    const saved = process.env.AZURE_STORAGE_CONNECTION_STRING;
    process.env.AZURE_STORAGE_CONNECTION_STRING = server.connectionString;
    try {
      const store = await defaultConnectorRegistry().create(`azure://${CONTAINER}/${(layout.connector as AzureConnector).options.root}`);
      expect(store).toBeInstanceOf(ObjectLayout);
      expect((store as ObjectLayout).connector).toBeInstanceOf(AzureConnector);
      await store.open();
      expect((await store.getManifest(ref('wide')))?.segments).toHaveLength(segments);
      await store.close();
    } finally {
      if (saved === undefined) delete process.env.AZURE_STORAGE_CONNECTION_STRING;
      else process.env.AZURE_STORAGE_CONNECTION_STRING = saved;
    }
    expect(() => new AzureConnector({ container: CONTAINER, account: AZURITE_ACCOUNT, accountKey: AZURITE_KEY })).not.toThrow();
  });
});
