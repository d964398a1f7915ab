// The crash trials' oracle (tests/crash/crash-oracle.ts) accepts every outcome a kill -9 may leave
// and counts each kind of damage: lost acknowledged writes, phantom or out-of-order states, torn reads.
import { describe, expect, it } from 'vitest';
import { type FrameContent, FrameModel, type ObservedVersion, frameState } from '../crash/crash-oracle.js';

const rows = (...values: number[]) => frameState(Int32Array.from(values));
const versions = (...contents: [number, FrameContent | { unreadable: string }][]): ObservedVersion[] =>
  contents.map(([version, content]) => ({ version, content }));
const KEEP = 4;

/** A frame acknowledged as put [1,2] (v1), appended [3] (v2), then with an append of [4] in flight. */
function appendedFrame(): FrameModel {
  const model = new FrameModel();
  model.begin(rows(1, 2));
  model.acknowledge(1);
  model.begin(rows(1, 2, 3));
  model.acknowledge(2);
  model.begin(rows(1, 2, 3, 4));
  return model;
}

describe('the crash-trial oracle', () => {
  it('accepts the acknowledged state, the in-flight outcome, and compactions of either', () => {
    const without = { versions: versions([1, rows(1, 2)], [2, rows(1, 2, 3)]), current: rows(1, 2, 3), listed: true };
    expect(appendedFrame().judge(without, KEEP)).toEqual({ lost: 0, phantom: 0, torn: 0, findings: [] });
    const committed = { versions: versions([1, rows(1, 2)], [2, rows(1, 2, 3)], [3, rows(1, 2, 3, 4)], [4, rows(1, 2, 3, 4)]), current: rows(1, 2, 3, 4), listed: true };
    expect(appendedFrame().judge(committed, KEEP).findings).toEqual([]);
  });

  it('counts acknowledged writes the restart lost', () => {
    const verdict = appendedFrame().judge({ versions: versions([1, rows(1, 2)]), current: rows(1, 2), listed: true }, KEEP);
    expect(verdict.lost).toBe(2); // the append [3] is not current, and version 2 is gone though retention keeps it
    expect(verdict.phantom + verdict.torn).toBe(0);
  });

  it('allows versions that retention removed, but not ones it keeps', () => {
    const model = new FrameModel();
    for (let version = 1; version <= 6; version++) {
      model.begin(rows(version));
      model.acknowledge(version);
    }
    const kept = versions([3, rows(3)], [4, rows(4)], [5, rows(5)], [6, rows(6)]);
    expect(model.judge({ versions: kept, current: rows(6), listed: true }, KEEP).findings).toEqual([]);
    expect(model.judge({ versions: kept.slice(1), current: rows(6), listed: true }, KEEP).lost).toBe(1);
  });

  it('counts contents no put sent, and states out of order, as phantom', () => {
    const torn = appendedFrame().judge({ versions: versions([1, rows(1, 2)], [2, rows(1, 2, 3)], [3, rows(1, 2, 4)]), current: rows(1, 2, 4), listed: true }, KEEP);
    expect(torn.phantom).toBe(2); // the current state and version 3
    const reordered = appendedFrame().judge({ versions: versions([1, rows(1, 2, 3)], [2, rows(1, 2)], [3, rows(1, 2, 3)]), current: rows(1, 2, 3), listed: true }, KEEP);
    expect(reordered.phantom).toBeGreaterThan(0);
  });

  it('counts changed or unreadable versions and a current read disagreeing with the newest version', () => {
    const changed = appendedFrame().judge({ versions: versions([1, rows(9)], [2, rows(1, 2, 3)]), current: rows(1, 2, 3), listed: true }, KEEP);
    expect(changed.torn).toBe(1);
    const unreadable = appendedFrame().judge({ versions: versions([1, rows(1, 2)], [2, { unreadable: 'DATA_LOSS' }]), current: rows(1, 2, 3), listed: true }, KEEP);
    expect(unreadable.lost).toBe(1);
    const split = appendedFrame().judge({ versions: versions([1, rows(1, 2)], [2, rows(1, 2, 3)], [3, rows(1, 2, 3, 4)]), current: rows(1, 2, 3), listed: true }, KEEP);
    expect(split.torn).toBe(1);
  });

  it('requires the listing to agree with the current state', () => {
    const model = new FrameModel();
    model.begin(rows(1));
    model.acknowledge(1);
    model.begin(null);
    model.acknowledge();
    expect(model.judge({ versions: versions([1, rows(1)], [2, null]), current: null, listed: false }, KEEP).findings).toEqual([]);
    expect(model.judge({ versions: versions([1, rows(1)], [2, null]), current: null, listed: true }, KEEP).phantom).toBe(1);
  });

  it('after a restart, continues from the committed in-flight write and flags a failed one that reappears', () => {
    const committed = appendedFrame();
    const after = { versions: versions([1, rows(1, 2)], [2, rows(1, 2, 3)], [3, rows(1, 2, 3, 4)]), current: rows(1, 2, 3, 4), listed: true };
    committed.settle(after, committed.judge(after, KEEP));
    expect(committed.state).toEqual(rows(1, 2, 3, 4));

    const discarded = appendedFrame();
    const before = { versions: versions([1, rows(1, 2)], [2, rows(1, 2, 3)]), current: rows(1, 2, 3), listed: true };
    discarded.settle(before, discarded.judge(before, KEEP));
    expect(discarded.state).toEqual(rows(1, 2, 3));
    expect(discarded.judge(after, KEEP).phantom).toBeGreaterThan(0);
  });
});
