// `hangar catalog check` and `hangar catalog rebuild` as a person runs them, on a sqlite: store
// written through the connector. Needs dist/ (npm test builds it).
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { LocalConnector } from '../../src/connectors/local/local-connector.js';
import { SqliteConnector } from '../../src/connectors/sqlite/sqlite-connector.js';

const CLI = join(import.meta.dirname, '../../dist/cli/main.js');
const dirs: string[] = [];
afterEach(async () => {
  for (const dir of dirs.splice(0)) await rm(dir, { recursive: true, force: true });
});

function hangar(...args: string[]) {
  const result = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8' });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

describe.skipIf(!existsSync(CLI))('hangar catalog', () => {
  it('checks, reports an orphan without deleting it, and rebuilds a deleted catalog', async () => {
    const directory = await mkdtemp(join(tmpdir(), 'hangar-catalog-cli-'));
    dirs.push(directory);
    const catalog = join(directory, 'catalog.db');
    const connector = new SqliteConnector({ catalog, storage: new LocalConnector({ root: join(directory, 'catalog-data') }) });
    await connector.open();
    const manifest = { format: 1 as const, version: 1, committedAt: new Date().toISOString(), schema: '', rows: 0, bytes: 0, segments: [] };
    await connector.commitManifest({ bucket: 'b', name: 'f' }, manifest);
    await connector.commitManifest({ bucket: 'b', name: 'f' }, { ...manifest, version: 2 });
    await connector.putSegment({ bucket: 'b', name: 'f' }, 'ignored', Uint8Array.of(1)); // staged only: not in the store
    await connector.close();
    const orphan = join(directory, 'catalog-data', 'b', 'f', 'segments');
    await rm(orphan, { recursive: true, force: true });
    await mkdir(orphan, { recursive: true });
    await writeFile(join(orphan, 'stray.parquet'), 'x');

    const check = hangar('catalog', 'check', '--data', `sqlite://${catalog}`);
    expect(check.status).toBe(0);
    expect(check.stdout).toContain('orphan segment objects (referenced by no kept manifest; not deleted) (1):\n  b/f/stray.parquet');
    expect(check.stdout).toContain('checked 1 frame(s): catalog matches the store');
    expect(existsSync(join(orphan, 'stray.parquet'))).toBe(true);

    for (const file of ['catalog.db', 'catalog.db-wal', 'catalog.db-shm']) await rm(join(directory, file), { force: true });
    const rebuild = hangar('catalog', 'rebuild', '--data', `sqlite://${catalog}`);
    expect(rebuild.stdout).toBe(`rebuilt ${catalog}: 1 bucket(s), 1 frame(s), 2 version(s)\n`);
    const json = JSON.parse(hangar('catalog', 'check', '--json', '--data', `sqlite://${catalog}`).stdout);
    expect(json).toMatchObject({ frames: 1, versionsMissingInCatalog: [], orphanSegments: [{ bucket: 'b', name: 'f', id: 'stray.parquet' }] });

    const wrong = hangar('catalog', 'check', '--data', directory);
    expect(wrong.status).toBe(1);
    expect(wrong.stderr).toContain('hangar catalog needs a sqlite: store location');
  });
});
