// `hangar serve --data sqlite:///…` killed with SIGKILL while clients append: after each kill, a
// fresh connector (recovering the intent log) holds every version a client was told about, and
// `check` finds the catalog equal to the store (orphan segments of interrupted puts are allowed).
// Needs dist/ (npm test builds it).
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { tableFromArrays } from 'apache-arrow';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HangarClient } from '../../src/client/index.js';
import { LocalConnector } from '../../src/connectors/local/local-connector.js';
import { catalogAgrees } from '../../src/connectors/sqlite/catalog-maintenance.js';
import { SqliteConnector } from '../../src/connectors/sqlite/sqlite-connector.js';

const CLI = join(import.meta.dirname, '../../dist/cli/main.js');
const TRIALS = 3;
const FRAMES = ['a', 'b', 'c'];

describe.skipIf(!existsSync(CLI))('a sqlite-catalogued server killed during puts', () => {
  let directory: string;
  beforeAll(async () => {
    directory = await mkdtemp(join(tmpdir(), 'hangar-sqlite-crash-'));
  });
  afterAll(async () => {
    await rm(directory, { recursive: true, force: true });
  });

  it(`loses no acknowledged version over ${TRIALS} kills, and the catalog checks clean`, async () => {
    const catalog = join(directory, 'catalog.db');
    /** The highest version a client was told was committed, per frame. */
    const acknowledged = new Map<string, number>();
    for (let trial = 0; trial < TRIALS; trial++) {
      const child = spawn(process.execPath, [CLI, 'serve', '--port', '0', '--data', `sqlite://${catalog}`], { stdio: ['ignore', 'pipe', 'pipe'] });
      const exited = new Promise((resolve) => child.once('exit', resolve));
      const line = await new Promise<string>((resolve, reject) => {
        createInterface({ input: child.stdout! }).once('line', resolve);
        child.once('exit', (code) => reject(new Error(`hangar serve exited with ${code}`)));
      });
      const client = HangarClient.connect(line.replace(/^hangar listening on /, ''));
      let stopped = false;
      let firstPuts = 0;
      let allStarted!: () => void;
      const started = new Promise<void>((resolve) => (allStarted = resolve));
      const writers = FRAMES.map(async (name, f) => {
        for (let i = 0; !stopped; i++) {
          try {
            const summary = await client.put(name, tableFromArrays({ x: Float64Array.from({ length: 1000 }, (_, j) => trial * 1e6 + i * 1000 + j + f) }), { mode: 'append' });
            acknowledged.set(name, Math.max(acknowledged.get(name) ?? 0, summary.version));
            if (i === 0 && ++firstPuts === FRAMES.length) allStarted();
          } catch {
            return; // the server is gone
          }
        }
      });
      // Kill at a random moment once every writer is in full swing.
      await Promise.race([started, exited]);
      await new Promise((resolve) => setTimeout(resolve, 100 + Math.random() * 400));
      child.kill('SIGKILL');
      await exited;
      stopped = true;
      await Promise.all(writers);
      client.close();

      const connector = new SqliteConnector({ catalog, storage: new LocalConnector({ root: join(directory, 'catalog-data') }) });
      await connector.open();
      try {
        for (const [name, version] of acknowledged) {
          const current = await connector.getManifest({ bucket: 'default', name });
          expect(current?.version, `frame ${name} after kill ${trial + 1}`).toBeGreaterThanOrEqual(version);
          expect(current?.rows).toBe(current!.version * 1000);
          expect(await connector.listVersions({ bucket: 'default', name })).toEqual(Array.from({ length: current!.version }, (_, i) => i + 1));
        }
        const report = await connector.checkCatalog();
        expect(catalogAgrees(report), JSON.stringify(report)).toBe(true);
        expect(report.missingSegments).toEqual([]);
      } finally {
        await connector.close();
      }
    }
    expect(acknowledged.size).toBe(FRAMES.length);
  });
});
