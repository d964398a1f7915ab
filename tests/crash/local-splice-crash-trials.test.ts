// Crash trials of the row-group splice on the local store (splice-crash-trials.ts): kill -9 inside
// updates and delete_ranges that splice a segment of three row groups; after each restart the frame
// reads as the state before or after, and `hangar verify` finds the store intact.
// HANGAR_SPLICE_CRASH_TRIALS (default 12) and HANGAR_CRASH_SEED set the run. Needs dist/.
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { HANGAR_CLI } from '../helpers/hangar-process.js';
import { runSpliceCrashTrials } from './splice-crash-trials.js';

const TRIALS = Number(process.env.HANGAR_SPLICE_CRASH_TRIALS ?? 12);
const SEED = Number(process.env.HANGAR_CRASH_SEED ?? 1);

describe.skipIf(!existsSync(HANGAR_CLI))('crash trials inside the row-group splice, local store', () => {
  it(`shows the state before or after, and an intact store, after ${TRIALS} kills during spliced updates and delete_ranges`, { timeout: 60_000 + TRIALS * 15_000 }, async () => {
    const data = await mkdtemp(join(tmpdir(), 'hangar-crash-splice-'));
    try {
      const report = await runSpliceCrashTrials(data, { trials: TRIALS, seed: SEED });
      expect(report.findings).toEqual([]);
      // The frame's updates splice: copied groups before and after, re-encoded rows on both sides of the range.
      expect(report.segmentsAddedBySplice).toBe(4);
      expect(report.trials).toBe(TRIALS);
      // Half the kills wait for the splice's large staged file: most of them must have seen it.
      expect(report.killedInSplice).toBeGreaterThanOrEqual(Math.ceil(TRIALS / 4));
      // Both outcomes happen: kills before the commit, and operations that got through.
      expect(report.discarded).toBeGreaterThan(0);
      expect(report.committed + report.discarded).toBe(TRIALS);
    } finally {
      await rm(data, { recursive: true, force: true });
    }
  });
});
