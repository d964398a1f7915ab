// Crash trials on the S3 store (moto's server, with conditional writes): a real server SIGKILLed at
// random points of every write operation, restarted and judged by the oracle
// (tests/crash/crash-oracle.ts). Settings as in local-crash-trials.test.ts. Needs dist/ and the interop venv.
import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HANGAR_CLI } from '../helpers/hangar-process.js';
import { type S3TestServer, createS3Bucket, motoAvailable, startMoto } from '../s3/s3-servers.js';
import { crashTrialSettings, writeCrashReport } from './crash-trial-settings.js';
import { runCrashTrials } from './crash-trials.js';

const settings = crashTrialSettings();
const BUCKET = 'hangar-crash-trials';

describe.skipIf(!motoAvailable || !existsSync(HANGAR_CLI))('crash trials on the S3 store (moto)', () => {
  let s3: S3TestServer;
  beforeAll(async () => {
    s3 = await startMoto();
    await createS3Bucket(s3, BUCKET);
  });
  afterAll(async () => {
    await s3?.close();
  });

  it(`lose no acknowledged write and show no torn or phantom data in ${settings.trials} kills`, { timeout: settings.timeoutMs }, async () => {
    const data = `s3://${BUCKET}/t-${randomUUID()}?endpoint=${encodeURIComponent(s3.endpoint)}&conditionalWrites=on`;
    const env = { AWS_ACCESS_KEY_ID: s3.credentials.accessKeyId, AWS_SECRET_ACCESS_KEY: s3.credentials.secretAccessKey, AWS_REGION: 'us-east-1' };
    const report = await runCrashTrials({ name: 's3', data, env }, settings);
    await writeCrashReport(report);
    expect(report.findings).toEqual([]);
    expect(report).toMatchObject({ trials: settings.trials, lost: 0, phantom: 0, torn: 0, unexpectedErrors: 0 });
  });
});
