import { describe, expect, it } from 'vitest';
import { InvalidArgumentError } from '../../src/errors.js';
import { MAX_METADATA_BYTES, metadataMatches, parseFrameMetadata } from '../../src/format/frame-metadata.js';

describe('frame metadata', () => {
  it('accepts absent metadata and JSON objects', () => {
    expect(parseFrameMetadata(undefined)).toBeUndefined();
    expect(parseFrameMetadata(null)).toBeUndefined();
    expect(parseFrameMetadata({ a: 1, b: [1, { c: null }] })).toEqual({ a: 1, b: [1, { c: null }] });
  });

  it.each([[[1]], ['text'], [3], [true]])('refuses %j', (value) => {
    expect(() => parseFrameMetadata(value)).toThrow(InvalidArgumentError);
  });

  it('refuses metadata over the size bound', () => {
    expect(() => parseFrameMetadata({ s: 'x'.repeat(MAX_METADATA_BYTES) })).toThrow(/at most 65536 are kept/);
  });

  it('matches a filter by key equality, nested values included', () => {
    const metadata = { unit: 'm', location: { x: 1 }, n: 2 };
    expect(metadataMatches(metadata, {})).toBe(true);
    expect(metadataMatches(metadata, { unit: 'm', location: { x: 1 } })).toBe(true);
    expect(metadataMatches(metadata, { unit: 'cm' })).toBe(false);
    expect(metadataMatches(metadata, { missing: null })).toBe(false);
    expect(metadataMatches(metadata, { n: '2' })).toBe(false);
  });
});
