import { Field, Float64, Int32, Schema, Utf8 } from 'apache-arrow';
import { describe, expect, it } from 'vitest';
import { InvalidArgumentError } from '../../src/errors.js';
import { KeyedMutex } from '../../src/storage/keyed-mutex.js';
import { DEFAULT_BUCKET, frameRef, resolveBucket, validateName } from '../../src/names.js';
import { parseBucketDeleteMode, parsePutMode } from '../../src/core/put-mode.js';
import { assertAppendable, schemaDifferences } from '../../src/core/schema-compat.js';

describe('names', () => {
  it('accepts the documented charset', () => {
    for (const name of ['a', 'A_b-c.d', '_x', '0', 'x'.repeat(200)]) expect(validateName('frame', name)).toBe(name);
  });

  it.each([
    ['', /empty/],
    ['..', /invalid/],
    ['a..b', /invalid/],
    ['a/b', /invalid/],
    ['a\\b', /invalid/],
    ['.hidden', /invalid/],
    ['-dash', /invalid/],
    ['tab\there', /invalid/],
    ['nul\u0000', /invalid/],
    ['x'.repeat(201), /limit is 200/],
    ['sp ace', /invalid/],
  ])('refuses %j', (name, message) => {
    expect(() => validateName('frame', name)).toThrow(InvalidArgumentError);
    expect(() => validateName('frame', name)).toThrow(message);
  });

  it('refuses non-strings and defaults the bucket', () => {
    expect(() => validateName('bucket', 5)).toThrow(/must be a string/);
    expect(resolveBucket(null)).toBe(DEFAULT_BUCKET);
    expect(resolveBucket(undefined)).toBe(DEFAULT_BUCKET);
    expect(frameRef('f')).toEqual({ name: 'f', bucket: DEFAULT_BUCKET });
    expect(() => frameRef('f', '../etc')).toThrow(InvalidArgumentError);
  });
});

describe('put modes', () => {
  it('parses modes with defaults and clear errors', () => {
    expect(parsePutMode(undefined)).toBe('error');
    expect(parsePutMode('append')).toBe('append');
    expect(() => parsePutMode('upsert')).toThrow(/"error", "append", "replace" or "update"/);
    expect(parseBucketDeleteMode(null)).toBe('error');
    expect(() => parseBucketDeleteMode('force')).toThrow(InvalidArgumentError);
  });
});

describe('schema compatibility', () => {
  const stored = new Schema([new Field('a', new Int32()), new Field('b', new Utf8())]);

  it('accepts the same columns, ignoring nullability and metadata', () => {
    const incoming = new Schema([new Field('a', new Int32(), false), new Field('b', new Utf8())], new Map([['pandas', '{}']]));
    expect(schemaDifferences(stored, incoming)).toEqual([]);
  });

  it('names every differing column', () => {
    const incoming = new Schema([new Field('a', new Float64()), new Field('c', new Utf8())]);
    const differences = schemaDifferences(stored, incoming);
    expect(differences).toEqual([
      "column 'a' is Float64, stored as Int32",
      "missing column 'b' (Utf8)",
      "unexpected column 'c' (Utf8)",
    ]);
    expect(() => assertAppendable('f', stored, incoming)).toThrow(/column 'a' is Float64.*missing column 'b'/);
  });

  it('reports a different column order', () => {
    const incoming = new Schema([new Field('b', new Utf8()), new Field('a', new Int32())]);
    expect(schemaDifferences(stored, incoming)).toEqual(['column order is [b,a], stored as [a,b]']);
  });
});

describe('KeyedMutex', () => {
  it('serialises one key and leaves others free', async () => {
    const mutex = new KeyedMutex();
    const order: string[] = [];
    const slow = (label: string, ms: number) => async () => {
      order.push(`${label}+`);
      await new Promise((resolve) => setTimeout(resolve, ms));
      order.push(`${label}-`);
    };
    await Promise.all([mutex.run('k', slow('a', 20)), mutex.run('k', slow('b', 1)), mutex.run('other', slow('c', 1))]);
    expect(order.indexOf('a-')).toBeLessThan(order.indexOf('b+'));
    expect(order.indexOf('c-')).toBeLessThan(order.indexOf('a-'));
  });

  it('releases the key when the holder throws', async () => {
    const mutex = new KeyedMutex();
    await expect(mutex.run('k', async () => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
    await expect(mutex.run('k', async () => 'next')).resolves.toBe('next');
  });
});
