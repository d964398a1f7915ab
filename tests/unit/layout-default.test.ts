// Which log a store is served in (docs/storage-layout.md, "Which layout a store uses"): a new store
// gets the Delta log and its `~layout` marker; a store written in the manifest layout before markers
// existed is detected and served as it is, with a warning naming `hangar migrate`, until migrated;
// HANGAR_LAYOUT overrides, and a bad value is refused.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { LocalConnector } from '../../src/connectors/local/local-connector.js';
import { MemoryConnector } from '../../src/connectors/memory/memory-connector.js';
import { HangarEngine } from '../../src/core/engine.js';
import { FailedPreconditionError, InvalidArgumentError } from '../../src/errors.js';
import { ParquetCodec } from '../../src/format/parquet/parquet-codec.js';
import type { Connector } from '../../src/storage/connector.js';
import { migrateToDeltaLog } from '../../src/storage/delta-migration.js';
import { LAYOUT_MARKER_KEY } from '../../src/storage/layout-keys.js';
import { ObjectLayout, type VersionLogFormat } from '../../src/storage/object-layout.js';
import { collect, messagesOf, ref, sampleTable } from '../../src/testing/fixtures.js';

const codec = new ParquetCodec(1);
const roots: string[] = [];
afterAll(async () => {
  await codec.close();
  await Promise.all(roots.map((root) => rm(root, { recursive: true, force: true })));
});
afterEach(() => {
  delete process.env['HANGAR_LAYOUT'];
  vi.restoreAllMocks();
});

/** A memory store listing only flat, as object stores do (no native listChildren). */
class FlatMemoryConnector extends MemoryConnector {}

/** A memory store that lists directory levels natively, as a file system does. */
class TreeMemoryConnector extends MemoryConnector {
  override async listChildren(prefix: string): Promise<string[]> {
    const names = new Set<string>();
    for await (const { key } of this.list(prefix)) {
      const end = key.indexOf('/', prefix.length);
      names.add(end < 0 ? key.slice(prefix.length) : key.slice(prefix.length, end));
    }
    return [...names];
  }
}

async function opened(connector: Connector, log?: VersionLogFormat): Promise<{ layout: ObjectLayout; engine: HangarEngine }> {
  const layout = new ObjectLayout(connector, log === undefined ? {} : { log });
  await layout.open();
  return { layout, engine: new HangarEngine(layout, codec, { compactThreshold: 0 }) };
}

async function marker(connector: Connector): Promise<unknown> {
  const bytes = await connector.get(LAYOUT_MARKER_KEY);
  return bytes && JSON.parse(Buffer.from(bytes).toString('utf8'));
}

/** Warnings the layout emitted, by code. */
function warnings(): string[] {
  const spy = vi.mocked(process.emitWarning);
  return spy.mock.calls.map((call) => String((call[1] as { code?: string } | undefined)?.code ?? ''));
}

describe('the layout a store is served in', () => {
  it('gives a new store the Delta log and marks it so at its first commit', async () => {
    vi.spyOn(process, 'emitWarning').mockImplementation(() => undefined);
    const connector = new MemoryConnector();
    const { layout, engine } = await opened(connector);
    expect([layout.log, layout.layoutSource]).toEqual(['delta', 'new']);
    expect(await marker(connector)).toBeUndefined();
    await engine.put(ref('fresh'), 'error', messagesOf(sampleTable(20)));
    expect(await marker(connector)).toEqual({ layout: 'delta' });
    expect(await connector.head('default/fresh/_delta_log/00000000000000000000.json')).toBeDefined();
    expect(await connector.head('default/fresh/manifests/000000000001.json')).toBeUndefined();
    const again = await opened(connector);
    expect([again.layout.log, again.layout.layoutSource]).toEqual(['delta', 'marker']);
    expect((await again.engine.stat(ref('fresh'))).rows).toBe(20);
    expect(warnings()).toEqual([]);
  });

  for (const [kind, make] of [
    ['a flat-listing store', () => new FlatMemoryConnector()],
    ['a store listing directories', () => new TreeMemoryConnector()],
  ] as const) {
    it(`serves an unmarked manifest-layout store (${kind}) in its own layout, warns, and switches once migrated`, async () => {
      const connector = make();
      // Written by the previous release: manifests, no layout marker.
      const old = await opened(connector, 'hangar');
      await old.engine.put(ref('old'), 'error', messagesOf(sampleTable(30)));
      await old.engine.put(ref('old'), 'append', messagesOf(sampleTable(5, 30)));
      await connector.delete([LAYOUT_MARKER_KEY]);
      vi.spyOn(process, 'emitWarning').mockImplementation(() => undefined);
      const upgraded = await opened(connector);
      expect([upgraded.layout.log, upgraded.layout.layoutSource]).toEqual(['hangar', 'detected']);
      expect(warnings()).toEqual(['HANGAR_MANIFEST_LAYOUT']);
      expect(String(vi.mocked(process.emitWarning).mock.calls[0]![0])).toMatch(/hangar migrate/);
      expect((await upgraded.engine.stat(ref('old'))).rows).toBe(35);
      // Its writes stay in the manifest layout, and its first commit marks the store so.
      await upgraded.engine.put(ref('second'), 'error', messagesOf(sampleTable(3)));
      expect(await connector.head('default/second/manifests/000000000001.json')).toBeDefined();
      expect(await marker(connector)).toEqual({ layout: 'manifest' });
      await migrateToDeltaLog(connector);
      expect(await marker(connector)).toEqual({ layout: 'delta' });
      const migrated = await opened(connector);
      expect([migrated.layout.log, migrated.layout.layoutSource]).toEqual(['delta', 'marker']);
      expect((await collect((await migrated.engine.read(ref('old'), { version: 1 })).messages)).numRows).toBe(30);
      expect((await migrated.engine.stat(ref('second'))).rows).toBe(3);
      expect(warnings()).toEqual(['HANGAR_MANIFEST_LAYOUT']);
    });
  }

  it('takes an unmarked store holding Delta logs (migrated by the previous release) as Delta, manifests beside them or not', async () => {
    const connector = new FlatMemoryConnector();
    const old = await opened(connector, 'hangar');
    await old.engine.put(ref('a'), 'error', messagesOf(sampleTable(4)));
    await migrateToDeltaLog(connector);
    const delta = await opened(connector, 'delta');
    await delta.engine.put(ref('b'), 'error', messagesOf(sampleTable(6)));
    await connector.delete([LAYOUT_MARKER_KEY]);
    const upgraded = await opened(connector);
    expect([upgraded.layout.log, upgraded.layout.layoutSource]).toEqual(['delta', 'detected']);
    expect((await upgraded.engine.stat(ref('a'))).rows).toBe(4);
    expect((await upgraded.engine.stat(ref('b'))).rows).toBe(6);
  });

  it('detects the layout of a local directory store', async () => {
    const root = await mkdtemp(join(tmpdir(), 'hangar-layout-'));
    roots.push(root);
    const old = await opened(new LocalConnector({ root, fsync: false }), 'hangar');
    await old.engine.put(ref('old'), 'error', messagesOf(sampleTable(8)));
    await old.layout.close();
    await rm(join(root, LAYOUT_MARKER_KEY));
    vi.spyOn(process, 'emitWarning').mockImplementation(() => undefined);
    const upgraded = await opened(new LocalConnector({ root, fsync: false }));
    expect([upgraded.layout.log, upgraded.layout.layoutSource]).toEqual(['hangar', 'detected']);
    expect((await upgraded.engine.stat(ref('old'))).rows).toBe(8);
    await upgraded.layout.close();
  });

  it('obeys HANGAR_LAYOUT over the marker, warning of the mismatch, and refuses the other log frame by frame', async () => {
    const connector = new MemoryConnector();
    process.env['HANGAR_LAYOUT'] = 'manifest';
    const manifests = await opened(connector);
    expect([manifests.layout.log, manifests.layout.layoutSource]).toEqual(['hangar', 'environment']);
    await manifests.engine.put(ref('m'), 'error', messagesOf(sampleTable(9)));
    expect(await marker(connector)).toEqual({ layout: 'manifest' });
    // Without the variable the store is served as its marker says, with the warning naming hangar migrate.
    delete process.env['HANGAR_LAYOUT'];
    vi.spyOn(process, 'emitWarning').mockImplementation(() => undefined);
    const byMarker = await opened(connector);
    expect([byMarker.layout.log, byMarker.layout.layoutSource]).toEqual(['hangar', 'marker']);
    expect((await byMarker.engine.stat(ref('m'))).rows).toBe(9);
    process.env['HANGAR_LAYOUT'] = 'delta';
    const forced = await opened(connector);
    expect([forced.layout.log, forced.layout.layoutSource]).toEqual(['delta', 'environment']);
    expect(warnings()).toEqual(['HANGAR_MANIFEST_LAYOUT', 'HANGAR_LAYOUT_MISMATCH']);
    await expect(forced.engine.stat(ref('m'))).rejects.toThrow(FailedPreconditionError);
    await expect(forced.engine.stat(ref('m'))).rejects.toThrow(/hangar migrate/);
    // The marker is left as it was.
    await forced.engine.put(ref('d'), 'error', messagesOf(sampleTable(2)));
    expect(await marker(connector)).toEqual({ layout: 'manifest' });
  });

  it('refuses a HANGAR_LAYOUT that names no layout, and a damaged marker', async () => {
    process.env['HANGAR_LAYOUT'] = 'parquet';
    expect(() => new ObjectLayout(new MemoryConnector())).toThrow(InvalidArgumentError);
    expect(() => new ObjectLayout(new MemoryConnector())).toThrow(/HANGAR_LAYOUT="parquet".*delta or manifest/);
    delete process.env['HANGAR_LAYOUT'];
    const connector = new MemoryConnector();
    await connector.put(LAYOUT_MARKER_KEY, Buffer.from('{"layout":"csv"}'));
    await expect(new ObjectLayout(connector).open()).rejects.toThrow(/layout marker .*damaged/);
  });
});
