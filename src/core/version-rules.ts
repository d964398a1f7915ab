/** The rules of a frame's version sequence: what the next version is, and the checks a commit makes. */
import { AlreadyExistsError, ConflictError } from '../errors.js';
import type { FrameManifest, FrameOperation } from '../format/manifest.js';
import { type FrameRef, describeFrame } from '../names.js';

/** The error of a mode-`error` put onto an existing frame (checked before streaming and at commit). */
export function frameExists(ref: FrameRef): AlreadyExistsError {
  return new AlreadyExistsError(`${describeFrame(ref)} already exists; use mode "append" or "replace"`);
}

/**
 * The version fields of the commit after `previous`. Commit times never go backwards (a clock
 * step back is absorbed by adding a millisecond), so `as_of` finds versions by time reliably.
 */
export function nextVersion(previous: FrameManifest | undefined, operation: FrameOperation): Pick<FrameManifest, 'format' | 'version' | 'committedAt' | 'operation'> {
  const now = Date.now();
  const after = previous ? Date.parse(previous.committedAt) + 1 : 0;
  return { format: 1, version: (previous?.version ?? 0) + 1, committedAt: new Date(Math.max(now, after)).toISOString(), operation };
}

/** @throws ConflictError if `expected` is given and the frame is at another version (0 = absent) */
export function checkExpectedVersion(ref: FrameRef, current: FrameManifest | undefined, expected: number | undefined): void {
  if (expected === undefined) return;
  const actual = current?.version ?? 0;
  if (actual !== expected) {
    throw new ConflictError(
      `${describeFrame(ref)} is at version ${actual}, not the expected ${expected}${actual === 0 ? ' (it does not exist)' : ''}; ` +
        'read it again and retry with its current version',
    );
  }
}
