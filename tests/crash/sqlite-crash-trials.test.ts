// Crash trials on the SQLite-catalog store (over a local directory): a real server SIGKILLed at
// random points of every write operation, restarted (which recovers the catalog's intent log) and
// judged by the oracle (tests/crash/crash-oracle.ts); at the end `catalog check` finds the catalog
// equal to the store. Settings as in local-crash-trials.test.ts. Needs dist/.
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { LocalConnector } from '../../src/connectors/local/local-connector.js';
import { catalogAgrees } from '../../src/connectors/sqlite/catalog-maintenance.js';
import { SqliteConnector } from '../../src/connectors/sqlite/sqlite-connector.js';
import { HANGAR_CLI } from '../helpers/hangar-process.js';
import { crashTrialSettings, writeCrashReport } from './crash-trial-settings.js';
import { runCrashTrials } from './crash-trials.js';

const settings = crashTrialSettings();

describe.skipIf(!existsSync(HANGAR_CLI))('crash trials on the SQLite-catalog store', () => {
  it(`lose no acknowledged write, show no torn or phantom data in ${settings.trials} kills, and leave a clean catalog`, { timeout: settings.timeoutMs }, async () => {
    const directory = await mkdtemp(join(tmpdir(), 'hangar-crash-sqlite-'));
    try {
      const catalog = join(directory, 'catalog.db');
      const store = join(directory, 'data');
      const report = await runCrashTrials({ name: 'sqlite', data: `sqlite://${catalog}?data=${store}` }, settings);
      await writeCrashReport(report);
      expect(report.findings).toEqual([]);
      expect(report).toMatchObject({ trials: settings.trials, lost: 0, phantom: 0, torn: 0, unexpectedErrors: 0 });

      // The last server was killed too: opening recovers its intents, and the catalog matches the store.
      const connector = new SqliteConnector({ catalog, storage: new LocalConnector({ root: store }) });
      await connector.open();
      try {
        const check = await connector.checkCatalog();
        expect(catalogAgrees(check), JSON.stringify(check)).toBe(true);
        expect(check.missingSegments).toEqual([]);
      } finally {
        await connector.close();
      }
    } finally {
      await rm(directory, { recursive: true, force: true });
    }
  });
});
