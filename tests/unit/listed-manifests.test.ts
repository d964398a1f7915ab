// ListedManifests: a ReadonlyMap over two parallel arrays, as the SQLite catalog lists a bucket.
import { describe, expect, it } from 'vitest';
import { ListedManifests } from '../../src/connectors/listed-manifests.js';
import type { FrameManifest } from '../../src/format/manifest.js';

const manifest = (version: number): FrameManifest => ({ format: 1, version, committedAt: '2026-01-01T00:00:00.000Z', schema: '', rows: 0, bytes: 0, segments: [] });

describe('ListedManifests', () => {
  const [one, two, three] = [manifest(1), manifest(2), manifest(3)];
  const listed = new ListedManifests(['b', 'a', 'c'], [one, two, three]);

  it('walks, looks up and iterates in listing order', () => {
    const walked: [string, number][] = [];
    listed.forEach((value, name, map) => {
      expect(map).toBe(listed);
      walked.push([name, value.version]);
    });
    expect(walked).toEqual([['b', 1], ['a', 2], ['c', 3]]);
    expect(listed.size).toBe(3);
    expect(listed.get('a')).toBe(two);
    expect(listed.get('z')).toBeUndefined();
    expect(listed.has('c')).toBe(true);
    expect(listed.has('z')).toBe(false);
    expect([...listed.keys()]).toEqual(['b', 'a', 'c']);
    expect([...listed.values()]).toEqual([one, two, three]);
    expect([...listed]).toEqual([...listed.entries()]);
    expect(new Map(listed)).toEqual(new Map([['b', one], ['a', two], ['c', three]]));
  });

  it('refuses arrays of different lengths', () => {
    expect(() => new ListedManifests(['a'], [])).toThrow(/1 names but 0 manifests/);
  });
});
