// The SQLite catalog's own guarantees beyond the conformance suite: recovery of a commit that
// reached the store but not the catalog, resync after another catalog's commits, rebuild from the
// store, and `check` finding orphan, missing and uncatalogued objects without deleting anything.
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, rm, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { tableFromArrays, tableToIPC } from 'apache-arrow';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { LocalConnector } from '../../src/connectors/local/local-connector.js';
import { catalogAgrees } from '../../src/connectors/sqlite/catalog-maintenance.js';
import { SqliteConnector } from '../../src/connectors/sqlite/sqlite-connector.js';
import { HangarEngine } from '../../src/core/engine.js';
import { ConflictError } from '../../src/errors.js';
import { splitIpcStream } from '../../src/format/ipc-message.js';
import type { FrameManifest } from '../../src/format/manifest.js';
import type { FrameRef } from '../../src/names.js';
import { ParquetCodec } from '../../src/format/parquet/parquet-codec.js';

const ref = (name: string, bucket = 'default'): FrameRef => ({ bucket, name });

function manifest(version: number, overrides: Partial<FrameManifest> = {}): FrameManifest {
  return { format: 1, version, committedAt: new Date(version * 1000).toISOString(), schema: '', rows: version, bytes: 0, segments: [], ...overrides };
}

/** Behaves like a process killed between the store's commit and the catalog's record of it. */
class CrashingConnector extends SqliteConnector {
  crash = false;
  protected override afterStoreCommit(): void {
    if (this.crash) throw new Error('simulated crash after the store commit');
  }
}

async function* rows(values: number[], offset = 0) {
  const time = BigInt64Array.from(values, (_, i) => BigInt(offset + i) * 1_000_000_000n);
  yield* splitIpcStream(tableToIPC(tableFromArrays({ x: Int32Array.from(values), t: time }), 'stream'));
}

let directory: string;
let codec: ParquetCodec;
const open: SqliteConnector[] = [];

async function connector(options: { catalog?: string; crashing?: boolean } = {}): Promise<SqliteConnector> {
  const settings = { catalog: options.catalog ?? join(directory, 'catalog.db'), storage: new LocalConnector({ root: join(directory, 'data'), fsync: false }), fsync: false };
  const created = options.crashing ? new CrashingConnector(settings) : new SqliteConnector(settings);
  await created.open();
  open.push(created);
  return created;
}

beforeAll(() => {
  codec = new ParquetCodec(1);
});
afterAll(async () => {
  await codec.close();
});
beforeEach(async () => {
  directory = await mkdtemp(join(tmpdir(), 'hangar-sqlite-catalog-'));
});
afterEach(async () => {
  for (const connector of open.splice(0)) await connector.close().catch(() => undefined);
  await rm(directory, { recursive: true, force: true });
});

describe('crash consistency', () => {
  it('a commit that reached the store but not the catalog is recovered at the next open', async () => {
    const first = (await connector({ crashing: true })) as CrashingConnector;
    await first.commitManifest(ref('f'), manifest(1));
    first.crash = true;
    await expect(first.commitManifest(ref('f'), manifest(2))).rejects.toThrow('simulated crash');
    // The store has version 2; this catalog has not heard of it (the intent row says so).
    expect((await first.getManifest(ref('f')))?.version).toBe(1);
    expect(await first.storage.listVersions(ref('f'))).toEqual([1, 2]);
    await first.close();

    const second = await connector();
    expect(second.recoveredIntents).toBe(1);
    expect((await second.getManifest(ref('f')))?.version).toBe(2);
    expect(await second.listVersions(ref('f'))).toEqual([1, 2]);
    expect((await second.checkCatalog()).versionsMissingInCatalog).toEqual([]);
  });

  it('another open instance in the process does not take over a live commit, but a closed one is recovered', async () => {
    const crashing = (await connector({ crashing: true })) as CrashingConnector;
    crashing.crash = true;
    await expect(crashing.commitManifest(ref('f'), manifest(1))).rejects.toThrow('simulated crash');
    const neighbour = await connector();
    expect(neighbour.recoveredIntents).toBe(0); // its owner is still open: its commit may still finish
    await crashing.close();
    const next = await connector();
    expect(next.recoveredIntents).toBe(1);
    expect((await next.getManifest(ref('f')))?.version).toBe(1);
  });

  it("a commit through another catalog is learnt at the next conflict, and a put then retries on top", async () => {
    const here = await connector();
    const elsewhere = await connector({ catalog: join(directory, 'other.db') });
    await elsewhere.commitManifest(ref('f'), manifest(1));
    expect(await here.getManifest(ref('f'))).toBeUndefined(); // the documented limit: seen late
    await expect(here.commitManifest(ref('f'), manifest(1))).rejects.toBeInstanceOf(ConflictError);
    expect((await here.getManifest(ref('f')))?.version).toBe(1);

    const engine = new HangarEngine(here, codec, {});
    const otherEngine = new HangarEngine(elsewhere, codec, {});
    await otherEngine.put(ref('g'), 'error', rows([1]));
    await otherEngine.put(ref('g'), 'append', rows([2]));
    await engine.put(ref('g'), 'append', rows([3])); // creates v1 here, conflicts, re-syncs, appends on v2
    const stat = await engine.stat(ref('g'));
    expect([stat.version, stat.rows]).toEqual([3, 3]);
  });

  it('a frame deleted and re-created through another catalog is re-synced in full', async () => {
    const here = await connector();
    const elsewhere = await connector({ catalog: join(directory, 'other.db') });
    for (const version of [1, 2, 3]) await here.commitManifest(ref('f'), manifest(version));
    await elsewhere.deleteFrame(ref('f'));
    await elsewhere.commitManifest(ref('f'), manifest(1, { rows: 100 }));
    await here.resyncFrame(ref('f'));
    expect(await here.listVersions(ref('f'))).toEqual([1]);
    expect((await here.getManifest(ref('f')))?.rows).toBe(100);
  });
});

describe('one catalog shared by several connectors (as by several processes on one host)', () => {
  it('appends through two engines land, and both see every version at once', async () => {
    const connectors = [await connector(), await connector()];
    const engines = connectors.map((each) => new HangarEngine(each, codec, {}));
    await engines[0]!.put(ref('shared'), 'error', rows([-1]));
    await Promise.all(engines.flatMap((engine, e) => Array.from({ length: 8 }, (_, i) => engine.put(ref('shared'), 'append', rows([e * 100 + i])))));
    for (const each of connectors) {
      expect((await each.getManifest(ref('shared')))?.rows).toBe(17);
      expect(await each.listVersions(ref('shared'))).toEqual(Array.from({ length: 17 }, (_, i) => i + 1));
    }
    expect(catalogAgrees(await connectors[1]!.checkCatalog())).toBe(true);
  });
});

describe('reads from the catalog', () => {
  it('keeps tombstones, metadata and every version; selects names inside the listing query', async () => {
    const catalog = await connector();
    await catalog.commitManifest(ref('alpha'), manifest(1, { metadata: { owner: 'a' } }));
    await catalog.commitManifest(ref('alpha'), manifest(2, { deleted: true, operation: 'delete' }));
    await catalog.commitManifest(ref('beta'), manifest(1));
    const listed = await catalog.listManifests('default', (name) => name.startsWith('al'));
    expect([...listed.keys()]).toEqual(['alpha']);
    expect(listed.get('alpha')).toEqual(manifest(2, { deleted: true, operation: 'delete' }));
    expect((await catalog.getManifestVersion(ref('alpha'), 1))?.metadata).toEqual({ owner: 'a' });
    expect((await catalog.listFrames('default')).sort()).toEqual(['alpha', 'beta']);
    await catalog.deleteManifests(ref('alpha'), [1]);
    expect(await catalog.listVersions(ref('alpha'))).toEqual([2]);
    expect(await catalog.storage.listVersions(ref('alpha'))).toEqual([2]);
  });

  it('answers a repeated listing with the one it kept until a commit by any connection', async () => {
    const catalog = await connector();
    const other = await connector(); // a second connection to the same catalog, as another process has
    await catalog.commitManifest(ref('a'), manifest(1));
    await catalog.commitManifest(ref('b'), manifest(1));
    const first = await catalog.listManifests('default');
    expect(await catalog.listManifests('default')).toBe(first);
    await catalog.commitManifest(ref('b'), manifest(2));
    const second = await catalog.listManifests('default');
    expect(second).not.toBe(first);
    expect(second.get('a')).toBe(first.get('a'));
    expect(second.get('b')?.version).toBe(2);
    await other.commitManifest(ref('c'), manifest(1));
    expect([...(await catalog.listManifests('default')).keys()]).toEqual(['a', 'b', 'c']);
    expect([...(await catalog.listManifests('default', (name) => name !== 'a')).keys()]).toEqual(['b', 'c']);
    await other.deleteFrame(ref('a'));
    expect([...(await catalog.listManifests('default', (name) => name !== 'c')).keys()]).toEqual(['b']);
    expect([...(await catalog.listManifests('default')).keys()]).toEqual(['b', 'c']);
    // One frame out and one in between two listings: same count, other names.
    await other.deleteFrame(ref('b'));
    await other.commitManifest(ref('d'), manifest(1));
    expect([...(await catalog.listManifests('default')).keys()]).toEqual(['c', 'd']);
    // The same when the frame leaves because its last version is removed.
    await other.deleteManifests(ref('c'), [1]);
    await other.commitManifest(ref('e'), manifest(1));
    const last = await catalog.listManifests('default');
    expect([...last.keys()]).toEqual(['d', 'e']);
    expect(last.get('e')?.version).toBe(1);
  });

  it('indexes the current segments by time', async () => {
    const catalog = await connector();
    const segment = (id: string, min: number, max: number) => ({ id, rows: 1, bytes: 1, storedBytes: 1, rowGroups: 1, timeRange: { min: String(min), max: String(max) }, timeNulls: 0 });
    await catalog.commitManifest(ref('t'), manifest(1, { segments: [segment('a', 0, 9), segment('b', 10, 19)] }));
    await catalog.commitManifest(ref('t'), manifest(2, { segments: [segment('a', 0, 9), segment('b', 10, 19), segment('c', 20, 29), { id: 'd', rows: 1, bytes: 1, storedBytes: 1, rowGroups: 1 }] }));
    expect(await catalog.segmentsOverlapping(ref('t'), 12n, 21n)).toEqual(['b', 'c', 'd']);
    await catalog.commitManifest(ref('t'), manifest(3, { segments: [segment('e', 100, 200)] }));
    expect(await catalog.segmentsOverlapping(ref('t'), 0n, 1000n)).toEqual(['e']);
  });
});

describe('rebuild', () => {
  async function populate(engine: HangarEngine, catalog: SqliteConnector): Promise<void> {
    await engine.put(ref('a'), 'error', rows([1, 2]), { metadata: { kind: 'x' } });
    await engine.put(ref('a'), 'append', rows([3]));
    await engine.put(ref('a'), 'replace', rows([4]));
    await engine.put(ref('b', 'other'), 'error', rows([5]));
    await catalog.createBucket('empty');
  }

  async function answers(catalog: SqliteConnector) {
    const buckets = (await catalog.listBuckets()).sort();
    const result: Record<string, unknown> = { buckets };
    for (const bucket of buckets) {
      const manifests = await catalog.listManifests(bucket);
      result[bucket] = await Promise.all(
        [...manifests].sort(([a], [b]) => (a < b ? -1 : 1)).map(async ([name, current]) => ({
          name,
          current,
          versions: await catalog.listVersions(ref(name, bucket)),
          all: await Promise.all((await catalog.listVersions(ref(name, bucket))).map((version) => catalog.getManifestVersion(ref(name, bucket), version))),
        })),
      );
    }
    return result;
  }

  it('re-creates the same answers after the catalog file is deleted, and on demand', async () => {
    const catalog = await connector();
    await populate(new HangarEngine(catalog, codec, {}), catalog);
    const before = await answers(catalog);
    await catalog.close();
    for (const file of ['catalog.db', 'catalog.db-wal', 'catalog.db-shm']) await rm(join(directory, file), { force: true });

    const fresh = await connector(); // a new catalog over a non-empty store fills itself
    expect(await answers(fresh)).toEqual(before);
    const summary = await fresh.rebuildCatalog();
    expect(summary).toEqual({ buckets: 3, frames: 2, versions: 4 });
    expect(await answers(fresh)).toEqual(before);
    expect(catalogAgrees(await fresh.checkCatalog())).toBe(true);
  });
});

describe('check', () => {
  it('reports orphan and missing segments and uncatalogued manifests, deletes nothing, and --fix re-syncs only the catalog', async () => {
    const catalog = await connector();
    const engine = new HangarEngine(catalog, codec, {});
    await engine.put(ref('f'), 'error', rows([1]));
    await engine.put(ref('f'), 'append', rows([2]));
    const clean = await catalog.checkCatalog();
    expect(catalogAgrees(clean)).toBe(true);
    expect([clean.missingSegments, clean.orphanSegments]).toEqual([[], []]);

    const segments = join(directory, 'data', 'default', 'f', 'segments');
    const current = (await catalog.getManifest(ref('f')))!;
    const lost = current.segments[1]!.id;
    await unlink(join(segments, lost));
    await writeFile(join(segments, 'stray.parquet'), 'not referenced');
    // A manifest committed to the store behind the catalog's back (as by a process on another host).
    await catalog.storage.commitManifest(ref('f'), { ...current, version: 3, committedAt: new Date().toISOString() });
    await catalog.storage.commitManifest(ref('g'), manifest(1));
    const files = (await readdir(segments)).sort();

    const report = await catalog.checkCatalog();
    expect(report.orphanSegments).toEqual([{ bucket: 'default', name: 'f', id: 'stray.parquet' }]);
    expect(report.missingSegments).toEqual([{ bucket: 'default', name: 'f', id: lost, versions: [2, 3] }]);
    expect(report.versionsMissingInCatalog).toEqual([
      { bucket: 'default', name: 'f', versions: [3] },
      { bucket: 'default', name: 'g', versions: [1] },
    ]);
    expect(report.versionsMissingInStore).toEqual([]);
    expect(report.fixedFrames).toBe(0);
    expect((await readdir(segments)).sort()).toEqual(files);
    expect((await catalog.getManifest(ref('f')))?.version).toBe(2);

    const fixed = await catalog.checkCatalog({ fix: true });
    expect(fixed.fixedFrames).toBe(2);
    expect((await readdir(segments)).sort()).toEqual(files);
    expect((await catalog.getManifest(ref('f')))?.version).toBe(3);
    const after = await catalog.checkCatalog();
    expect(catalogAgrees(after)).toBe(true);
    expect(after.orphanSegments).toHaveLength(1);
    expect(after.missingSegments).toHaveLength(1);
    expect(existsSync(join(segments, 'stray.parquet'))).toBe(true);
  });

  it('reports catalog versions whose manifests left the store', async () => {
    const catalog = await connector();
    await catalog.commitManifest(ref('f'), manifest(1));
    await catalog.commitManifest(ref('f'), manifest(2));
    await catalog.storage.deleteManifests(ref('f'), [1]);
    await catalog.storage.deleteFrame(ref('gone'));
    await catalog.commitManifest(ref('gone'), manifest(1));
    await catalog.storage.deleteFrame(ref('gone'));
    const report = await catalog.checkCatalog({ fix: true });
    expect(report.versionsMissingInStore).toEqual([
      { bucket: 'default', name: 'f', versions: [1] },
      { bucket: 'default', name: 'gone', versions: [1] },
    ]);
    expect(await catalog.listFrames('default')).toEqual(['f']);
    expect(await catalog.listVersions(ref('f'))).toEqual([2]);
  });
});
