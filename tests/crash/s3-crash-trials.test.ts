// Crash trials on the S3 store (moto's server, with conditional writes): a real server SIGKILLed at
// random points of every write operation, restarted and judged by the oracle
// (tests/crash/crash-oracle.ts). Settings as in local-crash-trials.test.ts. Needs dist/ and the interop venv.
import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { HANGAR_CLI } from '../helpers/hangar-process.js';
import { motoAvailable, motoForSuite, s3ServerEnv, s3ServerLocation } from '../s3/s3-servers.js';
import { crashTrialSettings, writeCrashReport } from './crash-trial-settings.js';
import { runCrashTrials } from './crash-trials.js';

const settings = crashTrialSettings();
const BUCKET = 'hangar-crash-trials';

describe.skipIf(!motoAvailable || !existsSync(HANGAR_CLI))('crash trials on the S3 store (moto)', () => {
  const moto = motoForSuite(BUCKET);

  it(`lose no acknowledged write and show no torn or phantom data in ${settings.trials} kills`, { timeout: settings.timeoutMs }, async () => {
    const report = await runCrashTrials({ name: 's3', data: s3ServerLocation(moto(), BUCKET), env: s3ServerEnv(moto()) }, settings);
    await writeCrashReport(report);
    expect(report.findings).toEqual([]);
    expect(report).toMatchObject({ trials: settings.trials, lost: 0, phantom: 0, torn: 0, unexpectedErrors: 0 });
  });
});
