// String dictionary (categorical) columns in the plain Parquet writer and reader: other engines must
// read strings (a dictionary page of the Arrow dictionary's values in its own order, RLE_DICTIONARY
// codes), and Hangar's reader must give back exactly the Arrow indices it was given, nulls, several
// row groups, page CRCs and the codec's fallbacks included.
import { Dictionary, Int8, Int16, Int32, Int64, LargeUtf8, Table, Utf8, type Vector, makeData, makeVector, tableFromIPC, tableToIPC, vectorFromArray } from 'apache-arrow';
import { afterAll, describe, expect, it } from 'vitest';
import { ParquetCodec } from '../../src/format/parquet/parquet-codec.js';
import { assertNoDictionaries } from '../../src/format/parquet/parquet-worker.js';
import { readParquetFooter } from '../../src/format/parquet/parquet-footer.js';
import { PageChecksumMismatch, readPlainParquet } from '../../src/format/parquet/plain-parquet-reader.js';
import { PlainParquetUnsupported } from '../../src/format/parquet/plain-parquet-writer.js';
import { decodeWithWasm, plain, pq } from './parquet-fixtures.js';

const VALUES = ['zeta', 'alpha', 'mid', 'unused', 'é-ü', ''];
const ROWS = 2500;

/** A dictionary column over VALUES (not in first-use order: code 2 comes first), nulls every `nullEvery` rows. */
function dictionaryColumn(id: number, indices: Int8 | Int16 | Int32, nullEvery: number, large = false): Vector {
  const codes = Array.from({ length: ROWS }, (_, i) => [2, 0, 2, 1, 4, 5, 0][i % 7]!);
  const bitmap = new Uint8Array(Math.ceil(ROWS / 8));
  let nulls = 0;
  for (let i = 0; i < ROWS; i++) {
    if (nullEvery > 0 && i % nullEvery === nullEvery - 1) nulls++;
    else bitmap[i >> 3]! |= 1 << (i & 7);
  }
  const ArrayType = indices.ArrayType as unknown as { from(values: number[]): ArrayLike<number> };
  const dictionary = vectorFromArray(VALUES, large ? new LargeUtf8() : new Utf8());
  return makeVector(
    makeData({
      type: new Dictionary(dictionary.type, indices, id, true),
      length: ROWS,
      nullCount: nulls,
      nullBitmap: nulls > 0 ? bitmap : null,
      data: ArrayType.from(codes) as never,
      dictionary,
    }),
  );
}

function codesOf(table: Table, column: string): (number | null)[] {
  const vector = table.getChild(column)!;
  return Array.from({ length: vector.length }, (_, i) => {
    if (!vector.isValid(i)) return null;
    const data = vector.data.find((chunk, k) => vector.data.slice(0, k).reduce((sum, d) => sum + d.length, 0) + chunk.length > i)!;
    const before = vector.data.slice(0, vector.data.indexOf(data)).reduce((sum, d) => sum + d.length, 0);
    return Number((data.values as ArrayLike<number>)[i - before]);
  });
}

function stringsOf(table: Table, column: string): (string | null)[] {
  return [...table.getChild(column)!].map((value) => (value === null ? null : String(value)));
}

const table = new Table({
  i8: dictionaryColumn(0, new Int8(), 0),
  i16: dictionaryColumn(1, new Int16(), 5),
  i32: dictionaryColumn(2, new Int32(), 2),
  large: dictionaryColumn(3, new Int32(), 3, true),
  n: vectorFromArray(Array.from({ length: ROWS }, (_, i) => i), new Int32()),
});
const file = plain(table, { rowGroupRows: 1000 });
const ALL_GROUPS = { rowGroups: [0, 1, 2], batchRows: 700 };

describe('string dictionary columns in Parquet', () => {
  it('are dictionary-encoded strings: one dictionary page per chunk in the dictionary’s order, then codes', () => {
    const footer = readParquetFooter(file);
    expect(footer.rowGroups).toHaveLength(3);
    for (const group of footer.rowGroups) {
      for (const chunk of group.columns.slice(0, 4)) {
        expect(chunk.physicalType).toBe(6); // BYTE_ARRAY
        expect(chunk.dictionaryPageOffset).toBeGreaterThan(0);
        expect(chunk.dataPageOffset).toBeGreaterThan(chunk.dictionaryPageOffset!);
      }
    }
    expect(footer.columns.slice(0, 4).map((column) => column.logicalType)).toEqual(['STRING', 'STRING', 'STRING', 'STRING']);
    // Another engine (parquet-wasm, Arrow's Rust reader) reads the values as strings.
    const foreign = decodeWithWasm(file);
    for (const column of ['i8', 'i16', 'i32', 'large']) expect(stringsOf(foreign, column)).toEqual(stringsOf(table, column));
  });

  it('read back by the plain reader as exactly the Arrow indices, with the page CRCs checked', () => {
    for (const verifyPageCrcs of [false, true]) {
      const decoded = tableFromIPC(readPlainParquet(file, { ...ALL_GROUPS, dictionaryCodes: true, verifyPageCrcs }));
      for (const column of ['i8', 'i16', 'i32', 'large'] as const) {
        expect(String(decoded.getChild(column)!.type)).toBe(String((table.getChild(column)!.type as Dictionary).indices));
        expect(codesOf(decoded, column)).toEqual(codesOf(table, column));
      }
      expect(decoded.batches.map((batch) => batch.numRows)).toEqual([700, 300, 700, 300, 500]);
    }
    const projected = tableFromIPC(readPlainParquet(file, { rowGroups: [2], batchRows: 4096, columns: ['n', 'i16'], dictionaryCodes: true }));
    expect(codesOf(projected, 'i16')).toEqual(codesOf(table, 'i16').slice(2000));
  });

  it('without nulls, codes written as views of the indices read back exactly, a ragged last group and out-of-range indices included', () => {
    const whole = new Table({ i32: dictionaryColumn(4, new Int32(), 0), i16: dictionaryColumn(5, new Int16(), 0), i8: dictionaryColumn(6, new Int8(), 0) });
    // 2500 rows in groups of 999: no group is a whole number of 8-code runs.
    const written = plain(whole, { rowGroupRows: 999 });
    const decoded = tableFromIPC(readPlainParquet(written, { rowGroups: [0, 1, 2], batchRows: 4096, dictionaryCodes: true, verifyPageCrcs: true }));
    for (const column of ['i32', 'i16', 'i8']) expect(codesOf(decoded, column)).toEqual(codesOf(whole, column));
    expect(stringsOf(decodeWithWasm(written), 'i32')).toEqual(stringsOf(whole, 'i32'));
    for (const bad of [VALUES.length, -1]) {
      const codes = Int32Array.from({ length: 20 }, (_, i) => (i === 13 ? bad : i % VALUES.length));
      const malformed = new Table({
        c: makeVector(makeData({ type: new Dictionary(new Utf8(), new Int32(), 7), length: 20, data: codes, dictionary: vectorFromArray(VALUES, new Utf8()) })),
      });
      expect(() => plain(malformed, { rowGroupRows: 1000 })).toThrow(`index ${bad} at row 13 is outside its ${VALUES.length}-value dictionary`);
    }
  });

  it('are declined by the plain reader unless the caller holds the dictionaries', () => {
    expect(() => readPlainParquet(file, ALL_GROUPS)).toThrow(PlainParquetUnsupported);
    expect(() => readPlainParquet(file, { ...ALL_GROUPS, columns: ['n'] })).not.toThrow();
  });

  it('a damaged dictionary page fails its CRC', () => {
    const footer = readParquetFooter(file);
    const chunk = footer.rowGroups[1]!.columns[1]!;
    const damaged = file.slice();
    // The last byte of the dictionary page (inside the values, just before the first data page).
    damaged[chunk.dataPageOffset - 1]! ^= 0x20;
    expect(() => readPlainParquet(damaged, { ...ALL_GROUPS, dictionaryCodes: true, verifyPageCrcs: true })).toThrow(PageChecksumMismatch);
  });
});

describe('the codec with kept dictionaries', () => {
  const codec = new ParquetCodec(1);
  afterAll(() => codec.close());
  const stream = tableToIPC(table, 'stream');

  it('writes strings with the plain writer and codes with parquet-wasm (lz4), and both decode to the codes', async () => {
    for (const compression of ['none', 'lz4'] as const) {
      const encoded = await codec.encodeSegment(stream.slice(), { rowGroupRows: 1000, dictionaryColumns: ['i8', 'i16', 'i32', 'large'], statisticsColumns: [], compression, keptDictionaries: true });
      expect(encoded.checksums.stringCategories === true).toBe(compression === 'none');
      const decoded = tableFromIPC(await codec.decode(encoded.bytes, { ...ALL_GROUPS, dictionaryCodes: true }));
      for (const column of ['i8', 'i16', 'i32', 'large'] as const) {
        expect(String(decoded.getChild(column)!.type)).toBe(String((table.getChild(column)!.type as Dictionary).indices));
        expect(codesOf(decoded, column)).toEqual(codesOf(table, column));
      }
    }
  });

  it('stores other dictionaries as their codes', async () => {
    const ints = new Table({
      d: makeVector(makeData({ type: new Dictionary(new Int64(), new Int8()), length: 4, data: Int8Array.from([1, 0, 1, 1]), dictionary: vectorFromArray([10n, 20n], new Int64()) })),
    });
    const encoded = await codec.encodeSegment(tableToIPC(ints, 'stream'), { rowGroupRows: 1000, dictionaryColumns: [], statisticsColumns: [], compression: 'none', keptDictionaries: true });
    expect(encoded.checksums.pageCrcs).toBe(true);
    expect(encoded.checksums.stringCategories).toBeUndefined();
    const decoded = tableFromIPC(await codec.decode(encoded.bytes, { rowGroups: [0], batchRows: 10, dictionaryCodes: true }));
    expect(String(decoded.getChild('d')!.type)).toBe('Int8');
    expect([...decoded.getChild('d')!]).toEqual([1, 0, 1, 1]);
  });

  it('refuses dictionaries where codes were asked for (parquet-wasm re-keys them)', () => {
    const ipc = pq.readParquet(file, { batchSize: 700 }).intoIPCStream();
    expect(() => assertNoDictionaries(ipc)).toThrow(/column 'i8' holds Parquet strings/);
  });
});
