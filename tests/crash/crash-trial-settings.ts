// Settings of the crash-trial suites from the environment (CI defaults), and the JSON report that
// bench/crash_trials.sh collects.
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { CrashTrialReport } from './crash-trials.js';

/** How many trials, with which seed, within which test timeout. */
export interface CrashTrialSettings {
  readonly trials: number;
  readonly seed: number;
  readonly timeoutMs: number;
  /** In long runs, prints each finding at once and progress every 50 trials. */
  readonly onTrial: (report: CrashTrialReport) => void;
}

/** CI runs this many trials per store. */
const CI_TRIALS = 50;

/** HANGAR_CRASH_TRIALS (default 50) and HANGAR_CRASH_SEED (default 1). */
export function crashTrialSettings(): CrashTrialSettings {
  const trials = Number(process.env.HANGAR_CRASH_TRIALS ?? CI_TRIALS);
  const seed = Number(process.env.HANGAR_CRASH_SEED ?? 1);
  let printed = 0;
  return {
    trials,
    seed,
    timeoutMs: 60_000 + trials * 10_000,
    onTrial: (report) => {
      if (trials <= CI_TRIALS) return;
      for (const finding of report.findings.slice(printed)) process.stderr.write(`crash trials (${report.store}): ${finding}\n`);
      printed = report.findings.length;
      if (report.trials % 50 === 0) {
        process.stderr.write(`crash trials (${report.store}): ${report.trials}/${trials}, lost ${report.lost}, phantom ${report.phantom}, torn ${report.torn}, ${Math.round(report.elapsedMs / 1000)} s\n`);
      }
    },
  };
}

/** Writes the report to HANGAR_CRASH_REPORT/<store>.json when that directory is set. */
export async function writeCrashReport(report: CrashTrialReport): Promise<void> {
  const directory = process.env.HANGAR_CRASH_REPORT;
  if (!directory) return;
  await mkdir(directory, { recursive: true });
  await writeFile(join(directory, `${report.store}.json`), `${JSON.stringify(report, null, 2)}\n`);
}
