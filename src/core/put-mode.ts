/** The put modes of shoots' protocol and how to parse them. */
import { InvalidArgumentError } from '../errors.js';

/** What a put does when the frame exists: fail, add rows, or swap the whole frame. */
export type PutMode = 'error' | 'append' | 'replace';

/** What deleting a bucket does when it still holds frames. */
export type BucketDeleteMode = 'error' | 'delete';

/** Parses a put mode, defaulting to `error`. */
export function parsePutMode(value: unknown): PutMode {
  if (value === undefined || value === null) return 'error';
  if (value === 'error' || value === 'append' || value === 'replace') return value;
  throw new InvalidArgumentError(`invalid put mode ${JSON.stringify(value)}: use "error", "append" or "replace"`);
}

/** Parses a bucket delete mode, defaulting to `error`. */
export function parseBucketDeleteMode(value: unknown): BucketDeleteMode {
  if (value === undefined || value === null) return 'error';
  if (value === 'error' || value === 'delete') return value;
  throw new InvalidArgumentError(`invalid bucket delete mode ${JSON.stringify(value)}: use "error" or "delete"`);
}
