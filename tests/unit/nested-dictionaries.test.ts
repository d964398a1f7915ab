// Dictionaries nested in lists and structs (which parquet-wasm writes): other engines must read
// dictionary-encoded strings, and Hangar's decode must give back each Arrow dictionary in its own
// order (unused values included) with the exact codes — uncompressed and lz4, across dictionary
// deltas, projected, and refusing a file whose values its recorded dictionary lacks.
import { Dictionary, Field, Int16, Int32, Int8, List, Struct, Table, Utf8, type Vector, makeData, makeVector, tableFromIPC, tableToIPC, vectorFromArray } from 'apache-arrow';
import { afterAll, describe, expect, it } from 'vitest';
import { EXACT_DICTIONARIES_KEY, restoreDictionaries } from '../../src/format/parquet/exact-dictionaries.js';
import { ParquetCodec } from '../../src/format/parquet/parquet-codec.js';
import { readParquetFooter } from '../../src/format/parquet/parquet-footer.js';
import { decodeWithWasm } from './parquet-fixtures.js';

const ROWS = 600;
// Not in first-use order, with values no row uses ('unused', 'also unused').
const LEVELS = ['high', 'unused', 'low', 'mid', 'also unused'];
const COLOURS = ['blue', 'red', 'unused', 'green'];

function bitmap(length: number, nullEvery: number): { nullBitmap: Uint8Array | null; nullCount: number } {
  if (nullEvery === 0) return { nullBitmap: null, nullCount: 0 };
  const bits = new Uint8Array(Math.ceil(length / 8));
  let nullCount = 0;
  for (let i = 0; i < length; i++) {
    if (i % nullEvery === nullEvery - 1) nullCount++;
    else bits[i >> 3]! |= 1 << (i & 7);
  }
  return { nullBitmap: bits, nullCount };
}

/** A list<dictionary<int8, utf8>> column: row i holds i % 3 elements, a null element every 7th. */
function levelLists(id: number, dictionary: Vector = vectorFromArray(LEVELS, new Utf8())): Vector {
  const offsets = new Int32Array(ROWS + 1);
  for (let i = 0; i < ROWS; i++) offsets[i + 1] = offsets[i]! + (i % 3);
  const elements = offsets[ROWS]!;
  const codes = Int8Array.from({ length: elements }, (_, j) => [3, 0, 2, 0][j % 4]!);
  const type = new Dictionary(new Utf8(), new Int8(), id, true);
  const child = makeData({ type, length: elements, data: codes, dictionary, ...bitmap(elements, 7) });
  return makeVector(makeData({ type: new List(new Field('item', type, true)), length: ROWS, valueOffsets: offsets, child }));
}

/** A struct<colour: dictionary<int16, utf8>, n: int32> column, null colours every 5th row. */
function colourStructs(id: number): Vector {
  const type = new Dictionary(new Utf8(), new Int16(), id);
  const colour = makeData({ type, length: ROWS, data: Int16Array.from({ length: ROWS }, (_, i) => [3, 0, 1][i % 3]!), dictionary: vectorFromArray(COLOURS, new Utf8()), ...bitmap(ROWS, 5) });
  const n = makeData({ type: new Int32(), length: ROWS, data: Int32Array.from({ length: ROWS }, (_, i) => i) });
  return makeVector(makeData({ type: new Struct([new Field('colour', type, true), new Field('n', new Int32(), false)]), length: ROWS, children: [colour, n] }));
}

/** A top-level dictionary in the same schema (also written by parquet-wasm, so also recorded). */
function topLevel(id: number): Vector {
  const type = new Dictionary(new Utf8(), new Int32(), id, true);
  return makeVector(makeData({ type, length: ROWS, data: Int32Array.from({ length: ROWS }, (_, i) => (i % 2) * 2), dictionary: vectorFromArray(['b', 'unused', 'a'], new Utf8()) }));
}

const table = new Table({ levels: levelLists(0), point: colourStructs(1), side: topLevel(2) });

/** Each row's codes and each column's dictionaries, as plain values (exactness is these being equal). */
function exact(decoded: Table, column: string): { codes: unknown[]; dictionaries: unknown[][] } {
  const codes: unknown[] = [];
  const dictionaries: unknown[][] = [];
  const visit = (data: import('apache-arrow').Data): void => {
    if (data.dictionary) {
      dictionaries.push([...data.dictionary]);
      for (let i = 0; i < data.length; i++) codes.push(data.getValid(i) ? Number((data.values as ArrayLike<number>)[i]) : null);
      return;
    }
    if (data.type instanceof List) {
      const offsets = data.valueOffsets;
      const child = data.children[0]!;
      visit(child.slice(Number(offsets[0]!), Number(offsets[data.length]!) - Number(offsets[0]!)));
      return;
    }
    for (const child of data.children) visit(child);
  };
  for (const data of decoded.getChild(column)!.data) visit(data);
  return { codes, dictionaries: [...new Set(dictionaries.map((d) => JSON.stringify(d)))].map((d) => JSON.parse(d) as unknown[]) };
}

const ALL = { rowGroups: [0, 1, 2], batchRows: 250 };

describe('dictionaries nested in lists and structs', () => {
  const codec = new ParquetCodec(1);
  afterAll(() => codec.close());
  const options = (compression: 'none' | 'lz4') => ({ rowGroupRows: 200, dictionaryColumns: ['side'], statisticsColumns: [], compression });

  for (const compression of ['none', 'lz4'] as const) {
    it(`are dictionary-encoded strings to other engines and exact to Hangar (${compression})`, async () => {
      const encoded = await codec.encodeSegment(tableToIPC(table, 'stream'), options(compression));
      const file = new Uint8Array(encoded.bytes);
      const footer = readParquetFooter(file);
      expect(footer.keyValues.has(EXACT_DICTIONARIES_KEY)).toBe(true);
      const leaves = footer.rowGroups[0]!.columns;
      for (const path of [['levels', 'list', 'item'], ['point', 'colour'], ['side']]) {
        const chunk = leaves.find((c) => c.path.join('.') === path.join('.'));
        expect(chunk, path.join('.')).toBeDefined();
        expect(chunk!.physicalType).toBe(6); // BYTE_ARRAY: the values, not the codes
        expect(chunk!.dictionaryPageOffset, path.join('.')).toBeDefined();
      }
      // The numeric struct field and nothing else changed: its values read back as they were.
      const foreign = decodeWithWasm(file);
      expect(foreign.getChild('levels')!.toJSON().map((row) => (row === null ? null : [...row!].map(String)))).toEqual(
        table.getChild('levels')!.toJSON().map((row) => (row === null ? null : [...row!].map(String))),
      );
      expect(foreign.getChild('point')!.toJSON().map((row) => row?.toJSON())).toEqual(table.getChild('point')!.toJSON().map((row) => row?.toJSON()));

      const decoded = tableFromIPC(await codec.decode(encoded.bytes.slice(0), ALL));
      for (const column of ['levels', 'point', 'side']) {
        expect(String(decoded.schema.fields.find((f) => f.name === column)!.type)).toBe(String(table.schema.fields.find((f) => f.name === column)!.type));
        expect(exact(decoded, column)).toEqual(exact(table, column));
      }
      expect(exact(decoded, 'levels').dictionaries).toEqual([LEVELS]);
      expect(exact(decoded, 'point').dictionaries).toEqual([COLOURS]);
    });
  }

  it('are exact when projected and when the segment holds a dictionary and its delta', async () => {
    const grown = vectorFromArray([...LEVELS, 'extra'], new Utf8());
    const first = new Table({ levels: levelLists(0) });
    const second = new Table({ levels: levelLists(0, grown) });
    // The second batch's dictionary extends the first's: the stream carries it as a delta.
    const stream = tableToIPC(new Table([...first.batches, ...second.batches]), 'stream');
    const encoded = await codec.encodeSegment(stream, { ...options('none'), rowGroupRows: ROWS, dictionaryColumns: [] });
    const decoded = tableFromIPC(await codec.decode(encoded.bytes.slice(0), { rowGroups: [0, 1], batchRows: ROWS }));
    expect(exact(decoded, 'levels').codes).toEqual([...exact(first, 'levels').codes, ...exact(second, 'levels').codes]);
    expect(exact(decoded, 'levels').dictionaries).toEqual([[...LEVELS, 'extra']]);

    const whole = await codec.encodeSegment(tableToIPC(table, 'stream'), options('none'));
    const projected = tableFromIPC(await codec.decode(whole.bytes.slice(0), { ...ALL, columns: ['point'] }));
    expect(projected.schema.fields.map((f) => f.name)).toEqual(['point']);
    expect(exact(projected, 'point')).toEqual(exact(table, 'point'));
  });

  it('refuses a decoded value its recorded dictionary lacks', () => {
    const recorded = JSON.stringify([{ column: 'side', path: [], values: Buffer.from(tableToIPC(new Table({ values: vectorFromArray(['a'], new Utf8()) }), 'stream')).toString('base64') }]);
    expect(() => restoreDictionaries(tableToIPC(new Table({ side: topLevel(0) }), 'stream'), recorded)).toThrow(/column 'side' holds the value "b", which its recorded dictionary lacks/);
    expect(() => restoreDictionaries(tableToIPC(new Table({ side: topLevel(0) }), 'stream'), '{')).toThrow(/hangar.dictionaries metadata is not a list/);
    expect(() => restoreDictionaries(tableToIPC(new Table({ side: topLevel(0) }), 'stream'), '[{"column":"side","path":"0","values":""}]')).toThrow(/metadata is not a list of dictionaries \(entry 0 is not/);
  });
});
