// Bit rot in a real server's local store: one flipped byte in a stored segment, or in a manifest,
// is answered with DATA_LOSS naming the bucket, frame, version and segment — never with different
// data; `hangar verify` reports it (exit code 1) and `--repair-from` makes an intact earlier
// version current again. Objects written before checksums stay readable. Needs dist/ (the CLI and
// the codec worker; npm test builds it).
import { spawnSync } from 'node:child_process';
import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Float64, Table, TimestampNanosecond, Utf8, vectorFromArray } from 'apache-arrow';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HangarClient } from '../../src/client/index.js';
import { HangarServer } from '../../src/server/hangar-server.js';

const CLI = join(import.meta.dirname, '../../dist/cli/main.js');

function hangar(...args: string[]) {
  const result = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8' });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

/** A frame of `rows` rows starting at `from`: a float, a string and a timestamp column. */
function prices(from: number, rows: number): Table {
  const index = Array.from({ length: rows }, (_, i) => from + i);
  return new Table({
    px: vectorFromArray(Float64Array.from(index, (i) => 100 + i / 8)),
    sym: vectorFromArray(index.map((i) => `S${i % 13}`), new Utf8()),
    ts: vectorFromArray(index.map((i) => 1_700_000_000_000 + i), new TimestampNanosecond()),
  });
}

const pxOf = (table: Table) => [...table.getChild('px')!];

/** The file of a version: its Delta commit (the default layout, docs/open-format.md), Delta version `version - 1`. */
function commitFile(root: string, bucket: string, name: string, version: number): string {
  return join(root, bucket, name, '_delta_log', `${String(version - 1).padStart(20, '0')}.json`);
}

/** Rewrites the Hangar manifest a version's Delta commit carries (its exact text, checksum member included). */
async function editManifest(root: string, bucket: string, name: string, version: number, edit: (text: string) => string): Promise<void> {
  const file = commitFile(root, bucket, name, version);
  const lines = (await readFile(file, 'utf8')).split('\n');
  const at = lines.findIndex((line) => line.startsWith('{"commitInfo"'));
  const action = JSON.parse(lines[at]!) as { commitInfo: { hangarManifest: string } };
  action.commitInfo.hangarManifest = edit(action.commitInfo.hangarManifest);
  lines[at] = JSON.stringify(action);
  await writeFile(file, lines.join('\n'));
}

/** The frame's manifest of a version as stored, as JSON (the checksum member included). */
async function readManifest(root: string, bucket: string, name: string, version: number): Promise<Record<string, any>> {
  let text = '';
  await editManifest(root, bucket, name, version, (stored) => (text = stored));
  return JSON.parse(text) as Record<string, any>;
}

async function flipByte(file: string, at: (size: number) => number): Promise<void> {
  const bytes = await readFile(file);
  const offset = at(bytes.byteLength);
  bytes[offset] = bytes[offset]! ^ 0x10;
  await writeFile(file, bytes);
}

/** The rejection of a promise, which must reject. */
async function failure(promise: Promise<unknown>): Promise<Error & { code?: string }> {
  try {
    await promise;
  } catch (error) {
    return error as Error & { code?: string };
  }
  throw new Error('expected the call to fail');
}

describe('integrity of a local store', () => {
  let root: string;
  let server: HangarServer;
  let client: HangarClient;
  const o = { bucket: 'market' };

  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'hangar-integrity-'));
    // No read cache: every get reads the stored bytes.
    server = await HangarServer.start({ port: 0, data: root, engine: { readCacheBytes: 0, compactThreshold: 0 } });
    client = HangarClient.connect(server.location);
  });
  afterAll(async () => {
    client.close();
    await server.close();
    await rm(root, { recursive: true, force: true });
  });

  it('answers a flipped byte in a segment with DATA_LOSS naming it; verify finds it; --repair-from restores', async () => {
    await client.put('prices', prices(0, 5000), o);
    await client.put('prices', prices(5000, 3000), { ...o, mode: 'append' });
    const manifest = await readManifest(root, 'market', 'prices', 2);
    expect(manifest.crc32).toMatch(/^[0-9a-f]{8}$/);
    const appended = manifest.segments[1];
    expect(appended).toMatchObject({ crc32: expect.stringMatching(/^[0-9a-f]{8}$/), footerCrc32: expect.stringMatching(/^[0-9a-f]{8}$/), pageCrcs: true });
    // One bit of one float in the appended segment (the px column's values begin near the file's start).
    await flipByte(join(root, 'market', 'prices', 'segments', appended.id), () => 200);

    const error = await failure(client.get('prices', o));
    expect(error.code).toBe('DATA_LOSS');
    expect(error.message).toContain(`segment ${appended.id} of frame 'prices' in bucket 'market' (read at version 2) is damaged`);
    expect(error.message).toContain('hangar verify --bucket market');
    // SQL reads the segment files in place with DuckDB, which checks no CRC: they are verified first.
    const sqlError = await failure(client.query('SELECT sum(px) FROM prices', o));
    expect(sqlError.code).toBe('DATA_LOSS');
    expect(sqlError.message).toContain(`segment ${appended.id} of frame 'prices' in bucket 'market' (read at version 2) is damaged`);
    // Version 1 does not reference the damaged segment: intact and exact.
    expect(pxOf(await client.get('prices', { ...o, version: 1 }))).toEqual(pxOf(prices(0, 5000)));

    const verify = hangar('verify', '--data', root);
    expect(verify.status).toBe(1);
    expect(verify.stdout).toContain('DAMAGED  market/prices: version(s) 2 damaged (current 2)');
    expect(verify.stdout).toContain(`segment ${appended.id} (version(s) 2): its `);
    expect(verify.stdout).toMatch(/checked 1 frame\(s\), 2 object\(s\), .*: 1 damaged/);

    const repair = hangar('verify', '--data', root, '--bucket', 'market', '--repair-from', '1');
    expect(repair.status).toBe(1);
    expect(repair.stdout).toContain('repaired: version 3 restores version 1');
    expect(pxOf(await client.get('prices', o))).toEqual(pxOf(prices(0, 5000)));
    expect(Number((await client.query('SELECT count(*) AS n FROM prices', o)).getChild('n')!.get(0))).toBe(5000);
    expect((await client.versions('prices', o)).map((v) => [v.version, v.operation, v.restoredFrom])).toEqual([
      [1, 'put', undefined],
      [2, 'append', undefined],
      [3, 'restore', 1],
    ]);
    const again = hangar('verify', '--data', root, '--bucket', 'market');
    expect(again.status).toBe(0);
    expect(again.stdout).toContain('ok       market/prices: version(s) 3 intact');
    // The damaged version is still kept (vacuum decides), and still reported when asked for.
    expect(hangar('verify', '--data', root, '--all-versions').stdout).toContain('version(s) 2 damaged (current 3); intact: 1, 3');
  });

  it('answers a flipped byte in a manifest with DATA_LOSS naming the frame and version, and repairs it', async () => {
    await client.put('quotes', prices(0, 100), o);
    await client.put('quotes', prices(100, 50), { ...o, mode: 'append' });
    // A digit of "rows": still valid JSON, a different number of rows.
    await editManifest(root, 'market', 'quotes', 2, (text) => text.replace('"rows":150', '"rows":250'));

    const error = await failure(client.get('quotes', o));
    expect(error.code).toBe('DATA_LOSS');
    expect(error.message).toContain("the manifest of version 2 of frame 'quotes' in bucket 'market'");
    expect(error.message).toMatch(/is damaged: its CRC-32 is [0-9a-f]{8}, it records [0-9a-f]{8}/);

    const verify = hangar('verify', '--data', root, '--bucket', 'market', '--frame', 'quotes');
    expect(verify.status).toBe(1);
    expect(verify.stdout).toContain('manifest v2 (version(s) 2): the manifest of version 2');
    const repair = hangar('verify', '--data', root, '--bucket', 'market', '--frame', 'quotes', '--repair-from', 'latest');
    expect(repair.stdout).toContain('repaired: version 3 restores version 1');
    expect(pxOf(await client.get('quotes', o))).toEqual(pxOf(prices(0, 100)));
  });

  it('reads segments and manifests written before checksums, unverified', async () => {
    await client.put('legacy', prices(0, 300), o);
    await editManifest(root, 'market', 'legacy', 1, (text) => {
      const { crc32: _crc, ...manifest } = JSON.parse(text);
      manifest.segments = manifest.segments.map(({ crc32: _a, footerCrc32: _b, pageCrcs: _c, ...segment }: Record<string, unknown>) => segment);
      return JSON.stringify(manifest);
    });
    expect(pxOf(await client.get('legacy', o))).toEqual(pxOf(prices(0, 300)));
    const verify = hangar('verify', '--data', root, '--bucket', 'market', '--frame', 'legacy');
    expect(verify.status).toBe(0);
    expect(verify.stdout).toContain('1 object(s) written before checksums only decoded');
    // A truncated one is still found: it no longer decodes.
    const segment = join(root, 'market', 'legacy', 'segments', (await readdir(join(root, 'market', 'legacy', 'segments')))[0]!);
    await writeFile(segment, (await readFile(segment)).subarray(0, 100));
    expect(hangar('verify', '--data', root, '--bucket', 'market', '--frame', 'legacy').status).toBe(1);
  });
});

describe('integrity of a store with a SQLite catalog', () => {
  it('checks the store’s own manifest files and repairs through the catalog', async () => {
    const root = await mkdtemp(join(tmpdir(), 'hangar-integrity-sqlite-'));
    const data = `sqlite://${join(root, 'catalog.db')}?data=${join(root, 'store')}`;
    const server = await HangarServer.start({ port: 0, data, engine: { readCacheBytes: 0, compactThreshold: 0 } });
    const client = HangarClient.connect(server.location);
    try {
      await client.put('ticks', prices(0, 200), { bucket: 'm' });
      await client.put('ticks', prices(200, 100), { bucket: 'm', mode: 'append' });
      // The manifest file in the store (the source of truth the catalog indexes) is damaged.
      await editManifest(join(root, 'store'), 'm', 'ticks', 2, (text) => text.replace('"rows":300', '"rows":301'));
      const verify = hangar('verify', '--data', data);
      expect(verify.status).toBe(1);
      expect(verify.stdout).toContain('DAMAGED  m/ticks: version(s) 2 damaged (current 2)\n  manifest v2 (version(s) 2): ');
      const repair = hangar('verify', '--data', data, '--repair-from', 'latest');
      expect(repair.stdout).toContain('repaired: version 3 restores version 1');
      expect(pxOf(await client.get('ticks', { bucket: 'm' }))).toEqual(pxOf(prices(0, 200)));
      expect(hangar('verify', '--data', data).status).toBe(0);
    } finally {
      client.close();
      await server.close();
      await rm(root, { recursive: true, force: true });
    }
  });
});
