// Crash trials on the local directory store: a real server SIGKILLed at random points of puts,
// appends, replaces, deletes, restores, compactions and vacuums, restarted and judged by the oracle
// (tests/crash/crash-oracle.ts). HANGAR_CRASH_TRIALS (default 50) and HANGAR_CRASH_SEED set the run;
// HANGAR_CRASH_REPORT names a directory for the JSON report (bench/crash_trials.sh). Needs dist/.
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { HANGAR_CLI } from '../helpers/hangar-process.js';
import { crashTrialSettings, writeCrashReport } from './crash-trial-settings.js';
import { runCrashTrials } from './crash-trials.js';

const settings = crashTrialSettings();

describe.skipIf(!existsSync(HANGAR_CLI))('crash trials on the local store', () => {
  it(`lose no acknowledged write and show no torn or phantom data in ${settings.trials} kills`, { timeout: settings.timeoutMs }, async () => {
    const data = await mkdtemp(join(tmpdir(), 'hangar-crash-local-'));
    try {
      const report = await runCrashTrials({ name: 'local', data }, settings);
      await writeCrashReport(report);
      expect(report.findings).toEqual([]);
      expect(report).toMatchObject({ trials: settings.trials, lost: 0, phantom: 0, torn: 0, unexpectedErrors: 0 });
    } finally {
      await rm(data, { recursive: true, force: true });
    }
  });
});
