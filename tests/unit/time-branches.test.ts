import { DateDay, DateMillisecond, Field, TimestampMicrosecond, TimestampMillisecond, TimestampNanosecond, TimestampSecond, Utf8 } from 'apache-arrow';
import { describe, expect, it } from 'vitest';
import type { SegmentEntry } from '../../src/format/manifest.js';
import { MAX_TIME_BRANCHES, timeBranchCount, timeBranches, timeLiteral } from '../../src/core/sql/time-branches.js';

const DAY_US = 86_400_000_000n;

function segment(id: number, time?: { min: bigint; max: bigint; nulls?: number }): SegmentEntry {
  return {
    id: `s${id}.parquet`,
    rows: 10,
    bytes: 80,
    storedBytes: 100,
    rowGroups: 1,
    ...(time ? { timeRange: { min: String(time.min), max: String(time.max) }, timeNulls: time.nulls ?? 0 } : {}),
  };
}

describe('timeLiteral', () => {
  it('writes the type DuckDB reads the column as, one unit outside the value', () => {
    const us = 1_704_067_200_000_000n; // 2024-01-01 00:00:00 UTC
    expect(timeLiteral(new TimestampMicrosecond(), us, 'lower')).toBe("TIMESTAMP '2023-12-31 23:59:59.999999'");
    expect(timeLiteral(new TimestampMicrosecond(), us, 'upper')).toBe("TIMESTAMP '2024-01-01 00:00:00.000001'");
    expect(timeLiteral(new TimestampMillisecond(), us / 1000n + 1n, 'upper')).toBe("TIMESTAMP '2024-01-01 00:00:00.001001'");
    expect(timeLiteral(new TimestampNanosecond(), us * 1000n + 5n, 'lower')).toBe("TIMESTAMP_NS '2024-01-01 00:00:00.000000004'");
    expect(timeLiteral(new DateDay(), 19_723n, 'lower')).toBe("DATE '2023-12-31'");
    expect(timeLiteral(new DateDay(), 19_723n, 'upper')).toBe("DATE '2024-01-02'");
  });

  it('writes tz-aware columns as UTC instants, nanoseconds rounded outward to microseconds', () => {
    const ns = 1_704_067_200_000_000_500n;
    expect(timeLiteral(new TimestampNanosecond('Europe/Paris'), ns, 'lower')).toBe("TIMESTAMPTZ '2023-12-31 23:59:59.999999+00'");
    expect(timeLiteral(new TimestampNanosecond('Europe/Paris'), ns, 'upper')).toBe("TIMESTAMPTZ '2024-01-01 00:00:00.000002+00'");
    expect(timeLiteral(new TimestampMillisecond('UTC'), 0n, 'upper')).toBe("TIMESTAMPTZ '1970-01-01 00:00:00.000001+00'");
  });

  it('floors instants before 1970', () => {
    expect(timeLiteral(new TimestampMicrosecond(), -1n, 'upper')).toBe("TIMESTAMP '1970-01-01 00:00:00.000000'");
    expect(timeLiteral(new TimestampMicrosecond(), -DAY_US, 'lower')).toBe("TIMESTAMP '1969-12-30 23:59:59.999999'");
    expect(timeLiteral(new TimestampNanosecond('UTC'), -1_500n, 'lower')).toBe("TIMESTAMPTZ '1969-12-31 23:59:59.999997+00'");
    expect(timeLiteral(new DateDay(), -719_000n, 'lower')).toBe("DATE '0001-06-11'");
  });

  it('gives up outside years 1 to 9999', () => {
    expect(timeLiteral(new DateDay(), -719_162n, 'lower')).toBeUndefined();
    expect(timeLiteral(new TimestampMicrosecond(), 2n ** 62n, 'upper')).toBeUndefined();
    expect(timeLiteral(new TimestampNanosecond(), 2n ** 63n - 1n, 'upper')).toBeUndefined();
    expect(timeLiteral(new TimestampNanosecond(), -(2n ** 63n) + 1n, 'lower')).toBeUndefined();
  });
});

describe('timeBranches', () => {
  const type = new TimestampMicrosecond();
  const ts = new Field('ts', type);

  it('bounds runs of consecutive segments, keeping their order', () => {
    const segments = Array.from({ length: 36 }, (_, i) => segment(i, { min: BigInt(i) * DAY_US, max: BigInt(i) * DAY_US + 10n }));
    const branches = timeBranches(segments, ts);
    expect(branches).toHaveLength(timeBranchCount(36));
    expect(branches.flatMap((branch) => branch.segments)).toEqual(segments);
    expect(branches[0]!.bounds).toEqual({ lower: timeLiteral(type, 0n, 'lower'), upper: timeLiteral(type, 11n * DAY_US + 10n, 'upper') });
  });

  it('leaves unbounded a run with a segment that has null times or no statistics', () => {
    const segments = Array.from({ length: 16 }, (_, i) => segment(i, { min: BigInt(i), max: BigInt(i), nulls: i === 3 ? 1 : 0 }));
    segments[12] = segment(12);
    const branches = timeBranches(segments, ts, 4);
    expect(branches.map((branch) => branch.bounds !== undefined)).toEqual([false, true, true, false]);
    expect(branches.flatMap((branch) => branch.segments)).toEqual(segments);
  });

  it('widens a run over unsorted and overlapping segments to their overall range', () => {
    const segments = [segment(0, { min: 50n, max: 60n }), segment(1, { min: 10n, max: 70n }), segment(2, { min: 0n, max: 5n })];
    expect(timeBranches(segments, ts, 1)).toEqual([{ segments }]);
    expect(timeBranches(segments, ts, 2)[0]!.bounds).toEqual({ lower: timeLiteral(type, 10n, 'lower'), upper: timeLiteral(type, 70n, 'upper') });
  });

  it('makes one plain branch when nothing can be bounded', () => {
    const segments = Array.from({ length: 100 }, (_, i) => segment(i, { min: BigInt(i), max: BigInt(i) }));
    expect(timeBranches(segments, undefined)).toEqual([{ segments }]);
    expect(timeBranches(segments, new Field('s', new Utf8()))).toEqual([{ segments }]);
    // Converted from raw integers in the view: a query's filter would not meet the bounds.
    expect(timeBranches(segments, new Field('ts', new TimestampSecond()))).toEqual([{ segments }]);
    expect(timeBranches(segments, new Field('d', new DateMillisecond()))).toEqual([{ segments }]);
    expect(timeBranches(segments.map((s) => ({ ...s, timeNulls: 1 })), ts)).toEqual([{ segments: segments.map((s) => ({ ...s, timeNulls: 1 })) }]);
  });

  it('bounds the branch count', () => {
    expect(timeBranchCount(1)).toBe(1);
    expect(timeBranchCount(4)).toBe(1);
    expect(timeBranchCount(26)).toBe(3);
    expect(timeBranchCount(1000)).toBe(16);
    expect(timeBranchCount(1_000_000)).toBe(MAX_TIME_BRANCHES);
  });
});
