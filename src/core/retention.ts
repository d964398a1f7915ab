/**
 * Retention: which old versions of a frame vacuum may remove. A version's age is the time since a
 * later commit superseded it, so "keep for 7 days" means every state of the last 7 days can still be
 * read with `as_of`. The current version is always kept.
 */
import { InvalidArgumentError } from '../errors.js';
import type { FrameManifest } from '../format/manifest.js';

/** How long old versions are kept. Limits combine: a version goes once it breaks either. */
export interface RetentionPolicy {
  /** Keep at most this many versions, the current one included (≥ 1). Absent: no count limit. */
  readonly keepVersions?: number;
  /** Keep versions superseded less than this long ago (milliseconds). Absent: no age limit. */
  readonly keepForMs?: number;
  /**
   * Never remove a version superseded, or a stray segment written, less than this long ago
   * (milliseconds), whatever the limits say: a reader in another process may still be using it.
   */
  readonly graceMs: number;
}

const DAY_MS = 24 * 60 * 60 * 1000;

/** Defaults: every version of the last 7 days, and 15 minutes of grace for other processes' readers. */
export const DEFAULT_RETENTION: RetentionPolicy = Object.freeze({ keepForMs: 7 * DAY_MS, graceMs: 15 * 60 * 1000 });

/**
 * The versions to remove, oldest first: always a prefix of the history, so `as_of` never skips a
 * state (an instant either finds the version current then or is older than everything kept).
 * @param manifests - every kept manifest of the frame, ascending by version
 */
export function expiredVersions(manifests: readonly FrameManifest[], policy: RetentionPolicy, now: number): FrameManifest[] {
  const expired: FrameManifest[] = [];
  for (let i = 0; i < manifests.length - 1; i++) {
    const age = now - Date.parse(manifests[i + 1]!.committedAt);
    const newer = manifests.length - 1 - i; // versions after this one
    const tooMany = policy.keepVersions !== undefined && newer >= policy.keepVersions;
    const tooOld = policy.keepForMs !== undefined && age > policy.keepForMs;
    if (age < policy.graceMs || !(tooMany || tooOld)) break;
    expired.push(manifests[i]!);
  }
  return expired;
}

/** Units of {@link parseDuration}, in milliseconds. */
const DURATION_UNITS: Readonly<Record<string, number>> = { ms: 1, s: 1000, m: 60_000, min: 60_000, h: 3_600_000, d: DAY_MS, w: 7 * DAY_MS };

/**
 * Parses a duration such as `90s`, `15m`, `12h`, `7d`, `2w` (or a bare number of seconds) into
 * milliseconds. @throws InvalidArgumentError naming the accepted forms
 */
export function parseDuration(text: string, what: string): number {
  const match = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|min|h|d|w)?\s*$/.exec(text);
  if (!match) throw new InvalidArgumentError(`${what} must be a duration such as 90s, 15m, 12h, 7d or 2w, got ${JSON.stringify(text)}`);
  return Math.round(Number(match[1]) * DURATION_UNITS[match[2] ?? 's']!);
}
