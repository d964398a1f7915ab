/**
 * Validation of frame and bucket names. Names become directory names and SQL identifiers, so the
 * charset is deliberately small; a bad name is refused before it reaches any connector.
 */
import { InvalidArgumentError } from './errors.js';

/** The bucket used when a request names none (shoots' "unnamed" bucket). */
export const DEFAULT_BUCKET = 'default';

/** Longest accepted name, in characters. */
export const MAX_NAME_LENGTH = 200;

const NAME_PATTERN = /^[A-Za-z0-9_][A-Za-z0-9_.\-]*$/;

/**
 * Checks a frame or bucket name and returns it.
 *
 * Allowed: 1–200 ASCII letters, digits, `_`, `-`, `.`; the first character is a letter, digit or `_`;
 * `..` anywhere is refused. So a name is never a path, never hidden, never empty.
 *
 * @param kind - "frame", "bucket" or "snapshot", used in the error message
 * @throws InvalidArgumentError naming the rule that was broken
 */
export function validateName(kind: 'frame' | 'bucket' | 'snapshot', name: unknown): string {
  if (typeof name !== 'string') {
    throw new InvalidArgumentError(`${kind} name must be a string, got ${name === null ? 'null' : typeof name}`);
  }
  if (name.length === 0) throw new InvalidArgumentError(`${kind} name must not be empty`);
  if (name.length > MAX_NAME_LENGTH) {
    throw new InvalidArgumentError(`${kind} name is ${name.length} characters long; the limit is ${MAX_NAME_LENGTH}`);
  }
  if (!NAME_PATTERN.test(name) || name.includes('..')) {
    throw new InvalidArgumentError(
      `invalid ${kind} name ${JSON.stringify(name)}: use letters, digits, '_', '-' and '.', ` +
        `starting with a letter, digit or '_', and no '..'`,
    );
  }
  return name;
}

/** Validates a bucket name, substituting the default bucket for null/undefined/empty. */
export function resolveBucket(bucket: unknown): string {
  if (bucket === undefined || bucket === null || bucket === '') return DEFAULT_BUCKET;
  return validateName('bucket', bucket);
}

/** Identifies one frame in the store. */
export interface FrameRef {
  /** The bucket holding the frame. */
  readonly bucket: string;
  /** The frame's name within its bucket. */
  readonly name: string;
}

/** Builds a validated FrameRef; the bucket defaults to {@link DEFAULT_BUCKET}. */
export function frameRef(name: unknown, bucket?: unknown): FrameRef {
  return { name: validateName('frame', name), bucket: resolveBucket(bucket) };
}

/** Human-readable `bucket/name` for messages. */
export function describeFrame(ref: FrameRef): string {
  return `frame '${ref.name}' in bucket '${ref.bucket}'`;
}
