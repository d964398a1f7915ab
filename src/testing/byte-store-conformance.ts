/** The byte-store part of the connector conformance suite: what every `Connector` must do on its own. */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { InvalidArgumentError } from '../errors.js';
import type { Connector, ObjectInfo } from '../storage/connector.js';
import type { StoreFactory } from './connector-conformance.js';

async function listAll(connector: Connector, prefix: string): Promise<ObjectInfo[]> {
  const found: ObjectInfo[] = [];
  for await (const info of connector.list(prefix)) found.push(info);
  return found.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
}

function bytesOf(length: number, seed = 0): Uint8Array {
  return Uint8Array.from({ length }, (_, i) => (i * 31 + seed + (i >> 11)) % 256);
}

function same(a: Uint8Array | undefined, b: Uint8Array): boolean {
  return a !== undefined && Buffer.from(a).equals(Buffer.from(b));
}

/** Registers the byte-contract tests on connectors made by `options`. */
export function registerByteStoreTests(options: StoreFactory<Connector>): void {
  describe('byte store', () => {
    let connector: Connector;
    beforeEach(async () => {
      connector = await options.create();
      await connector.open();
    });
    afterEach(async () => {
      await connector.close();
      await options.destroy?.(connector);
    });

    it('stores and returns bytes exactly; a missing key is undefined', async () => {
      const data = bytesOf(100_000);
      expect(await connector.put('b/f/segments/x.parquet', data)).toBe(true);
      expect(same(await connector.get('b/f/segments/x.parquet'), data)).toBe(true);
      expect(await connector.get('b/f/segments/missing')).toBeUndefined();
      expect(await connector.get('nothing/here/at/all')).toBeUndefined();
      expect(await connector.put('empty', new Uint8Array(0))).toBe(true);
      expect((await connector.get('empty'))?.byteLength).toBe(0);
    });

    it('returns buffers the caller owns', async () => {
      await connector.put('k', Uint8Array.of(1, 2, 3));
      const first = (await connector.get('k'))!;
      first[0] = 99;
      expect([...(await connector.get('k'))!]).toEqual([1, 2, 3]);
    });

    it('replaces an object unless ifAbsent, which returns false and changes nothing', async () => {
      await connector.put('k', Uint8Array.of(1));
      expect(await connector.put('k', Uint8Array.of(2))).toBe(true);
      expect([...(await connector.get('k'))!]).toEqual([2]);
      expect(await connector.put('k', Uint8Array.of(3), { ifAbsent: true })).toBe(false);
      expect([...(await connector.get('k'))!]).toEqual([2]);
      expect(await connector.put('new', Uint8Array.of(4), { ifAbsent: true })).toBe(true);
      expect([...(await connector.get('new'))!]).toEqual([4]);
    });

    it('lets exactly one of many racing ifAbsent puts of one key win, and keeps its bytes', async (context) => {
      if (connector.consistency !== 'atomic') context.skip();
      const contenders = Array.from({ length: 8 }, (_, i) => bytesOf(1000 + i, i));
      const results = await Promise.all(contenders.map((data) => connector.put('race/manifests/000000000001.json', data, { ifAbsent: true })));
      expect(results.filter(Boolean)).toHaveLength(1);
      const winner = contenders[results.indexOf(true)]!;
      expect(same(await connector.get('race/manifests/000000000001.json'), winner)).toBe(true);
    });

    it('lets exactly one of two instances win a race for one key', async (context) => {
      if (connector.consistency !== 'atomic' || !options.reopen) context.skip();
      const other = await options.reopen!(connector);
      await other.open();
      try {
        const results = await Promise.all([
          connector.put('two/k', Uint8Array.of(1), { ifAbsent: true }),
          other.put('two/k', Uint8Array.of(2), { ifAbsent: true }),
        ]);
        expect(results.filter(Boolean)).toHaveLength(1);
        expect([...(await other.get('two/k'))!]).toEqual([results[0] ? 1 : 2]);
      } finally {
        await other.close();
      }
    });

    it('deletes keys and ignores keys that do not exist', async () => {
      await connector.put('d/a', Uint8Array.of(1));
      await connector.put('d/b', Uint8Array.of(2));
      await connector.delete(['d/a', 'd/nope', 'never/was']);
      await connector.delete([]);
      expect(await connector.get('d/a')).toBeUndefined();
      expect([...(await connector.get('d/b'))!]).toEqual([2]);
    });

    it('lists by plain string prefix, with sizes and times', async () => {
      const before = Date.now() - 5000;
      await connector.put('b1/f/manifests/000000000001.json', bytesOf(10));
      await connector.put('b1/f/segments/s1', bytesOf(20));
      await connector.put('b1/g/segments/s2', bytesOf(30));
      await connector.put('b10/f/segments/s3', bytesOf(40));
      await connector.put('~buckets/b1', new Uint8Array(0));
      expect((await listAll(connector, 'b1/')).map((o) => o.key)).toEqual([
        'b1/f/manifests/000000000001.json',
        'b1/f/segments/s1',
        'b1/g/segments/s2',
      ]);
      expect((await listAll(connector, 'b1')).map((o) => o.key)).toHaveLength(4);
      expect((await listAll(connector, 'b1/f/seg')).map((o) => [o.key, o.size])).toEqual([['b1/f/segments/s1', 20]]);
      expect(await listAll(connector, 'nothing/')).toEqual([]);
      const all = await listAll(connector, '');
      expect(all.map((o) => o.key)).toContain('~buckets/b1');
      expect(all).toHaveLength(5);
      for (const info of all) {
        expect(info.modifiedAt).toBeInstanceOf(Date);
        expect(info.modifiedAt.getTime()).toBeGreaterThan(before);
      }
    });

    it('lists the next path components under a prefix', async () => {
      await connector.put('c/x/1', Uint8Array.of(1));
      await connector.put('c/x/2', Uint8Array.of(1));
      await connector.put('c/y', Uint8Array.of(1));
      await connector.put('cz/z', Uint8Array.of(1));
      expect((await connector.listChildren('c/')).sort()).toEqual(['x', 'y']);
      expect(await connector.listChildren('missing/')).toEqual([]);
      await connector.delete(['c/x/1', 'c/x/2']);
      expect((await connector.listChildren('c/')).sort()).toEqual(['y']);
    });

    it('answers head for objects only', async () => {
      await connector.put('h/obj', bytesOf(123));
      expect(await connector.head('h/obj')).toMatchObject({ key: 'h/obj', size: 123 });
      expect(await connector.head('h/missing')).toBeUndefined();
      expect(await connector.head('h')).toBeUndefined();
    });

    it('returns ranges exactly, clipped at the end; undefined for a missing key; refuses bad ranges', async () => {
      const size = 300_017;
      const data = bytesOf(size);
      await connector.put('r/obj', data);
      for (const [offset, length] of [[0, 4], [2, 8], [size - 8, 8], [size - 3, 50], [size + 10, 5], [1000, 0], [0, size]] as const) {
        const got = await connector.getRange('r/obj', offset, length);
        const expected = data.subarray(Math.min(offset, size), Math.min(offset + length, size));
        expect(same(got, expected), `range ${offset}+${length}`).toBe(true);
      }
      expect(await connector.getRange('r/missing', 0, 10)).toBeUndefined();
      await expect(connector.getRange('r/obj', -1, 2)).rejects.toBeInstanceOf(InvalidArgumentError);
      await expect(connector.getRange('r/obj', 0, -2)).rejects.toBeInstanceOf(InvalidArgumentError);
    });

    it('stores a stream of chunks as one object', async () => {
      const chunks = [bytesOf(1000, 1), bytesOf(5, 2), new Uint8Array(0), bytesOf(70_000, 3)];
      async function* stream(): AsyncIterable<Uint8Array> {
        yield* chunks;
      }
      expect(await connector.putStream('s/obj', stream())).toBe(true);
      expect(same(await connector.get('s/obj'), Buffer.concat(chunks))).toBe(true);
    });

    it('keeps objects across a reopen', async (context) => {
      if (!options.reopen) context.skip();
      await connector.put('p/obj', Uint8Array.of(7, 8));
      await connector.close();
      connector = await options.reopen!(connector);
      await connector.open();
      expect([...(await connector.get('p/obj'))!]).toEqual([7, 8]);
    });

    it('names a local file that holds the bytes, when it names one', async () => {
      await connector.put('l/obj', Uint8Array.of(5, 6));
      const path = connector.localPath('l/obj');
      if (path === undefined) {
        expect(connector.localPath('')).toBeUndefined();
        return;
      }
      const { readFile } = await import('node:fs/promises');
      expect([...(await readFile(path))]).toEqual([5, 6]);
      expect(path.startsWith(connector.localPath('')!)).toBe(true);
    });
  });
}
