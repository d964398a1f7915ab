// A real `hangar serve` on a real 40 MB tmpfs, driven to ENOSPC with puts: the failing put answers
// RESOURCE_EXHAUSTED saying the store is full and what to do, leaves nothing in staging and no
// trace of its frame; earlier frames read back exactly; and with the volume filled to the last
// byte, delete + vacuum and purge (also through the `hangar` command) free space through Hangar
// itself, after which puts work again. Needs root to mount the tmpfs (CI runs as root).
import { type ChildProcess, execFile, spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, open, readdir, rm, stat, statfs, truncate } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { promisify } from 'node:util';
import { Int32, Table, makeVector, vectorFromArray } from 'apache-arrow';
import type { FrameManifest } from '../../src/format/manifest.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HangarClient } from '../../src/client/index.js';
import { LocalConnector } from '../../src/connectors/local/local-connector.js';
import { ObjectLayout } from '../../src/storage/object-layout.js';
import { StoreFullError } from '../../src/errors.js';
import { HangarServer } from '../../src/server/hangar-server.js';

const CLI = join(import.meta.dirname, '../../dist/cli/main.js');
const MiB = 1024 * 1024;
/** Rows of one test frame: 2 float64 columns of 192 Ki rows, about 3 MiB stored. */
const ROWS = 192 * 1024;

let mountPoint: string;
let store: string;
let server: { child: ChildProcess; location: string } | undefined;
let client: HangarClient;

async function startServer(): Promise<{ child: ChildProcess; location: string }> {
  // Short retention, so a vacuum right after a delete frees the deleted frame's segments.
  const args = ['serve', '--port', '0', '--data', store, '--keep-for', '0', '--vacuum-grace', '0', '--vacuum-every', '0', '--compact-threshold', '0'];
  const child = spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
  const line = await new Promise<string>((resolve, reject) => {
    createInterface({ input: child.stdout! }).once('line', resolve);
    child.once('exit', (code) => reject(new Error(`hangar serve exited with ${code}`)));
  });
  return { child, location: line.replace('hangar listening on ', '') };
}

async function stopServer(): Promise<void> {
  if (!server || server.child.exitCode !== null) return;
  const exited = new Promise((resolve) => server!.child.once('exit', resolve));
  server.child.kill('SIGKILL');
  await exited;
}

/** Frame `i`'s rows: deterministic, distinct per frame, not compressible to nothing. */
function frame(i: number, rows = ROWS): Table {
  const x = new Float64Array(rows);
  const y = new Float64Array(rows);
  for (let r = 0; r < rows; r++) {
    x[r] = i * 1e7 + r;
    y[r] = Math.sin(i + r * 0.001);
  }
  return new Table({ x: makeVector(x), y: makeVector(y) });
}

/** A float64 column's values as bytes (compared with Buffer.equals: deep equality of 192 Ki numbers is slow). */
const columnBytes = (table: Table, name: string) => Buffer.from(Float64Array.from(table.getChild(name)!.toArray() as Float64Array).buffer);

async function expectFrameExact(name: string, i: number): Promise<void> {
  const table = await client.get(name);
  const expected = frame(i);
  expect(table.numRows, `${name}: rows`).toBe(ROWS);
  for (const column of ['x', 'y']) {
    expect(columnBytes(table, column).equals(columnBytes(expected, column)), `${name}: column ${column} reads back exactly`).toBe(true);
  }
}

/** Every file under a directory, recursively (paths relative to it). */
async function filesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true }).catch(() => []);
  return entries.filter((entry) => !entry.isDirectory()).map((entry) => join(entry.parentPath, entry.name));
}

async function freeBytes(): Promise<number> {
  const info = await statfs(mountPoint);
  return info.bavail * info.bsize;
}

/** Fills the volume to the last byte with a file outside the store; returns its path. */
async function fillVolume(name: string): Promise<string> {
  const path = join(mountPoint, name);
  const handle = await open(path, 'w');
  const chunk = Buffer.alloc(MiB);
  try {
    for (let size = MiB; size >= 1; size = Math.floor(size / 2)) {
      for (;;) {
        try {
          await handle.write(chunk.subarray(0, size));
        } catch (error) {
          if ((error as NodeJS.ErrnoException).code !== 'ENOSPC') throw error;
          break;
        }
      }
    }
  } finally {
    await handle.close();
  }
  expect(await freeBytes(), 'the volume is full').toBe(0);
  return path;
}

function expectStoreFull(error: unknown): void {
  expect(error).toBeInstanceOf(StoreFullError);
  const full = error as StoreFullError;
  expect(full.code).toBe('RESOURCE_EXHAUSTED');
  expect(full.message).toMatch(/the store is full/);
  expect(full.message).toMatch(/hangar purge/);
  expect(full.message).toMatch(/hangar vacuum/);
  expect(full.message).toMatch(/grow the volume/);
}

describe('a full local store (real 40 MB tmpfs, real server)', () => {
  beforeAll(async () => {
    mountPoint = await mkdtemp(join(tmpdir(), 'hangar-full-disk-'));
    const mounted = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=40m', 'tmpfs', mountPoint], { encoding: 'utf8' });
    if (mounted.status !== 0) {
      throw new Error(
        `could not mount a 40 MB tmpfs on ${mountPoint} (${(mounted.stderr || mounted.error?.message || '').trim()}): ` +
          'this test needs root (CI runs as root); run it as root rather than skipping it',
      );
    }
    store = join(mountPoint, 'store');
    await mkdir(store);
    server = await startServer();
    client = HangarClient.connect(server.location);
  }, 60_000);

  afterAll(async () => {
    client?.close();
    await stopServer();
    if (mountPoint) {
      spawnSync('umount', ['-l', mountPoint]);
      await rm(mountPoint, { recursive: true, force: true });
    }
  });

  let stored = 0;

  it('refuses the put that fills the volume with RESOURCE_EXHAUSTED, leaving nothing behind', async () => {
    let failure: unknown;
    for (let i = 0; i < 40 && failure === undefined; i++) {
      try {
        await client.put(`f${i}`, frame(i));
        stored = i + 1;
      } catch (error) {
        failure = error;
      }
    }
    expect(stored, 'several frames fit before the volume is full').toBeGreaterThanOrEqual(5);
    expectStoreFull(failure);
    expect(await filesUnder(join(store, '.staging')), 'staged files left by the failed put').toEqual([]);
    expect(existsSync(join(store, 'default', `f${stored}`)), 'a directory of the failed frame').toBe(false);
    expect((await client.list()).map((info) => info.name).sort()).toEqual(Array.from({ length: stored }, (_, i) => `f${i}`).sort());
  }, 120_000);

  it('keeps every earlier frame readable, exactly', async () => {
    for (let i = 0; i < stored; i++) await expectFrameExact(`f${i}`, i);
  }, 60_000);

  it('on a volume full to the last byte: reads work, delete + vacuum free space, then puts work again', async () => {
    const filler = await fillVolume('filler-1');
    try {
      const small = new Table({ n: vectorFromArray([1, 2, 3], new Int32()) });
      await client.put('small', small).then(
        () => expect.unreachable('a put on a full volume succeeded'),
        expectStoreFull,
      );
      expect(await filesUnder(join(store, '.staging'))).toEqual([]);
      await expectFrameExact('f0', 0);

      // The delete's tombstone goes through on the full volume (the store's reserve is released for it) ...
      await client.delete('f1');
      await expect(client.get('f1')).rejects.toThrow(/does not exist/);
      // ... and vacuum, which writes nothing, removes the deleted frame's data.
      const before = await freeBytes();
      const report = await client.vacuum({ name: 'f1' });
      expect(report.versionsRemoved).toBe(1);
      expect(report.bytesFreed).toBeGreaterThan(2 * MiB);
      // Segments are removed in the background once no read holds them: wait for the space.
      await expect.poll(freeBytes, { timeout: 10_000 }).toBeGreaterThan(before + 1.5 * MiB);
      // The reserve is allocated again once space was freed.
      await expect.poll(async () => (await stat(join(store, '.reserve')).catch(() => undefined))?.size, { timeout: 10_000 }).toBe(MiB);

      await client.put('after-vacuum', frame(100, ROWS / 4));
      expect((await client.get('after-vacuum')).numRows).toBe(ROWS / 4);
      await expectFrameExact('f2', 2);
    } finally {
      await rm(filler);
    }
  }, 120_000);

  it('on a volume full to the last byte: purge (client and `hangar purge`) frees space, then puts work again', async () => {
    const filler = await fillVolume('filler-2');
    try {
      const report = await client.purge('f2');
      expect(report).toEqual({ versionsRemoved: 1, segmentsRemoved: 1, bytesFreed: expect.any(Number) });
      expect(report.bytesFreed).toBeGreaterThan(2 * MiB);
      await expect(client.versions('f2')).rejects.toThrow(/does not exist/);
      expect(existsSync(join(store, 'default', 'f2'))).toBe(false);

      const free = await freeBytes();
      const { stdout } = await promisify(execFile)(process.execPath, [CLI, 'purge', 'f3', '--server', server!.location]);
      expect(stdout).toMatch(/^purged default\/f3: 1 version\(s\) and 1 segment object\(s\)/);
      expect(await freeBytes()).toBeGreaterThan(free + 2 * MiB);

      await client.put('after-purge', frame(200));
      const table = await client.get('after-purge');
      expect(columnBytes(table, 'x').equals(columnBytes(frame(200), 'x'))).toBe(true);
      for (const i of [0, 4]) await expectFrameExact(`f${i}`, i);
    } finally {
      await rm(filler);
    }
  }, 120_000);

  it('a SQLite-catalog store on the full volume answers RESOURCE_EXHAUSTED too, and purge through it frees space', async () => {
    const catalog = join(mountPoint, 'catalog.db');
    const sqlite = await HangarServer.start({ host: '127.0.0.1', port: 0, data: `sqlite://${catalog}?data=${join(mountPoint, 'sqlite-data')}` });
    const sqliteClient = HangarClient.connect(sqlite.location);
    try {
      await sqliteClient.put('s0', frame(300));
      const filler = await fillVolume('filler-sqlite');
      try {
        await sqliteClient.put('s1', frame(301)).then(() => expect.unreachable('a put on a full volume succeeded'), expectStoreFull);
        const report = await sqliteClient.purge('s0');
        expect(report.versionsRemoved).toBe(1);
        expect(await sqliteClient.list()).toEqual([]);
        await sqliteClient.put('s1', frame(301, ROWS / 4));
        expect((await sqliteClient.get('s1')).numRows).toBe(ROWS / 4);
      } finally {
        await rm(filler);
      }
    } finally {
      sqliteClient.close();
      await sqlite.close();
    }
  }, 60_000);

  it('a commit that fails after publishing its segments leaves no frame or bucket, and its segments are removable', async () => {
    const root = join(mountPoint, 'connector');
    const connector = new ObjectLayout(new LocalConnector({ root, reserveBytes: 0 }));
    await connector.open();
    // The store's first commit (which also writes its ~layout marker) is made before the volume fills.
    await connector.commitManifest({ bucket: 'earlier', name: 'e' }, { format: 1, version: 1, committedAt: new Date().toISOString(), schema: '', rows: 0, bytes: 0, segments: [] });
    const ref = { bucket: 'fresh', name: 'f' };
    const segment = new Uint8Array(64 * 1024).fill(7);
    const filler = await fillVolume('filler-commit');
    try {
      // Leave exactly the segment's pages free, so the segment fits and the manifest does not.
      await truncate(filler, (await stat(filler)).size - segment.byteLength);
      await connector.putSegment(ref, 'a.parquet', segment);
      const manifest: FrameManifest = { format: 1, version: 1, committedAt: new Date().toISOString(), schema: '', rows: 1, bytes: 8,
        segments: [{ id: 'a.parquet', rows: 1, bytes: 8, storedBytes: segment.byteLength, rowGroups: 1 }] };
      const error = await connector.commitManifest(ref, manifest).then(() => undefined, (e: unknown) => e);
      expectStoreFull(error);
      expect((error as Error).message).toMatch(/could not write fresh\/f\/_delta_log\/00000000000000000000\.json/);
      expect(await connector.listBuckets()).toEqual(['earlier']);
      expect(await connector.listFrames('fresh')).toEqual([]);
      // The segment is uncommitted again: still readable by its writer, and removed by its cleanup.
      expect(Buffer.from(await connector.getSegment(ref, 'a.parquet')).equals(Buffer.from(segment))).toBe(true);
      await connector.deleteSegments(ref, ['a.parquet']);
      expect(existsSync(join(root, 'fresh')), 'the directories the failed put made').toBe(false);
      expect(await filesUnder(join(root, '.staging'))).toEqual([]);
    } finally {
      await rm(filler);
      await connector.close();
    }
  }, 30_000);

  it('starts and serves reads on a full volume after a restart', async () => {
    const filler = await fillVolume('filler-3');
    try {
      client.close();
      await stopServer();
      server = await startServer();
      client = HangarClient.connect(server.location);
      await expectFrameExact('f0', 0);
      await expect(client.put('small', new Table({ n: vectorFromArray([1], new Int32()) }))).rejects.toBeInstanceOf(StoreFullError);
      expect(await filesUnder(join(store, '.staging'))).toEqual([]);
    } finally {
      await rm(filler);
    }
  }, 60_000);
});
