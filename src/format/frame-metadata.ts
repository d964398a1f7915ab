/**
 * Per-frame user metadata: a small JSON object a put may attach (pastas-style per-series facts:
 * units, source, location). It is kept in the manifest, so it is versioned and atomic with the data.
 */
import { InvalidArgumentError } from '../errors.js';

/** A frame's user metadata: a JSON object. */
export type FrameMetadata = Readonly<Record<string, unknown>>;

/** Serialised metadata may be at most this many bytes. */
export const MAX_METADATA_BYTES = 64 * 1024;

/**
 * Validates metadata sent with a put: absent (`undefined`/`null`) or a JSON object of at most
 * {@link MAX_METADATA_BYTES} serialised.
 * @throws InvalidArgumentError otherwise
 */
export function parseFrameMetadata(value: unknown): FrameMetadata | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'object' || Array.isArray(value)) {
    throw new InvalidArgumentError(`"metadata" must be a JSON object, got ${Array.isArray(value) ? 'an array' : typeof value}`);
  }
  const size = Buffer.byteLength(JSON.stringify(value), 'utf8');
  if (size > MAX_METADATA_BYTES) {
    throw new InvalidArgumentError(`"metadata" is ${size} bytes as JSON; at most ${MAX_METADATA_BYTES} are kept per frame`);
  }
  return value as FrameMetadata;
}

/**
 * Whether metadata matches a filter: every key of the filter is present with an equal JSON value
 * (the documented "equality on keys" form of ListFlights criteria).
 */
export function metadataMatches(metadata: FrameMetadata, filter: FrameMetadata): boolean {
  return Object.entries(filter).every(([key, wanted]) => key in metadata && JSON.stringify(metadata[key]) === JSON.stringify(wanted));
}
