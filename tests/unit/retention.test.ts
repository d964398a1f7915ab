// Retention: which versions vacuum may remove, and the duration syntax of the serve flags.
import { describe, expect, it } from 'vitest';
import type { FrameManifest } from '../../src/format/manifest.js';
import { expiredVersions, parseDuration } from '../../src/core/retention.js';

const MINUTE = 60_000;
const NOW = Date.parse('2026-11-22T12:00:00Z');
/** Versions 1..n committed `ages` minutes before NOW (oldest first). */
const history = (...ages: number[]): FrameManifest[] =>
  ages.map((age, i) => ({ format: 1, version: i + 1, committedAt: new Date(NOW - age * MINUTE).toISOString(), schema: '', rows: 0, bytes: 0, segments: [] }));
const versions = (manifests: FrameManifest[]) => manifests.map((m) => m.version);

describe('expiredVersions', () => {
  it('keeps the newest N versions, the current one included', () => {
    expect(versions(expiredVersions(history(50, 40, 30, 20, 10), { keepVersions: 2, graceMs: 0 }, NOW))).toEqual([1, 2, 3]);
    expect(versions(expiredVersions(history(50, 40), { keepVersions: 1, graceMs: 0 }, NOW))).toEqual([1]);
  });

  it('measures age from when the next version superseded a version', () => {
    // Version 2 was superseded 10 minutes ago (by version 3): within a 15-minute keep-for.
    expect(versions(expiredVersions(history(60, 30, 10), { keepForMs: 15 * MINUTE, graceMs: 0 }, NOW))).toEqual([1]);
  });

  it('removes a version once it breaks either limit, never within the grace period', () => {
    const manifests = history(100, 90, 5, 1);
    expect(versions(expiredVersions(manifests, { keepVersions: 3, keepForMs: 1000 * MINUTE, graceMs: 0 }, NOW))).toEqual([1]);
    expect(versions(expiredVersions(manifests, { keepVersions: 1, graceMs: 10 * MINUTE }, NOW))).toEqual([1]);
  });

  it('removes only a prefix of the history, and never the current version', () => {
    expect(expiredVersions(history(10), { keepVersions: 1, keepForMs: 0, graceMs: 0 }, NOW)).toEqual([]);
    // Version 2 is protected by the grace period, so version 3 stays too even though it breaks keepVersions.
    const manifests = history(100, 90, 3, 2, 1);
    expect(versions(expiredVersions(manifests, { keepVersions: 1, graceMs: 50 * MINUTE }, NOW))).toEqual([1]);
  });
});

describe('parseDuration', () => {
  it('reads units and bare seconds', () => {
    expect(parseDuration('90s', 'd')).toBe(90_000);
    expect(parseDuration('15m', 'd')).toBe(15 * MINUTE);
    expect(parseDuration('12h', 'd')).toBe(12 * 60 * MINUTE);
    expect(parseDuration('7d', 'd')).toBe(7 * 24 * 60 * MINUTE);
    expect(parseDuration('2w', 'd')).toBe(14 * 24 * 60 * MINUTE);
    expect(parseDuration('1.5', 'd')).toBe(1500);
    expect(parseDuration('0', 'd')).toBe(0);
  });

  it('refuses anything else, naming the accepted forms', () => {
    expect(() => parseDuration('7 days', '--keep-for')).toThrow(/--keep-for must be a duration such as 90s, 15m, 12h, 7d or 2w/);
    expect(() => parseDuration('-1h', 'd')).toThrow();
  });
});
