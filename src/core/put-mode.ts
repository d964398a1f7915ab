/** The put modes of shoots' protocol and how to parse them. */
import { InvalidArgumentError } from '../errors.js';

/**
 * What a put does when the frame exists: fail, add rows, swap the whole frame, or (Hangar's own)
 * replace the rows of the incoming data's time range.
 */
export type PutMode = 'error' | 'append' | 'replace' | 'update';

/** What deleting a bucket does when it still holds frames. */
export type BucketDeleteMode = 'error' | 'delete';

/** Parses a put mode, defaulting to `error`. */
export function parsePutMode(value: unknown): PutMode {
  if (value === undefined || value === null) return 'error';
  if (value === 'error' || value === 'append' || value === 'replace' || value === 'update') return value;
  throw new InvalidArgumentError(`invalid put mode ${JSON.stringify(value)}: use "error", "append", "replace" or "update"`);
}

/** Parses a bucket delete mode, defaulting to `error`. */
export function parseBucketDeleteMode(value: unknown): BucketDeleteMode {
  if (value === undefined || value === null) return 'error';
  if (value === 'error' || value === 'delete') return value;
  throw new InvalidArgumentError(`invalid bucket delete mode ${JSON.stringify(value)}: use "error" or "delete"`);
}
