// The plain Parquet reader against parquet-wasm: on every file it accepts (the plain writer's, and
// parquet-wasm's own uncompressed PLAIN files) it must give back the table parquet-wasm decodes,
// batch boundaries, projections and row-group choices included; every file it does not cover must
// be declined with PlainParquetUnsupported, never misread.
import { Dictionary, Field, Float64, Int32, RecordBatch, Schema, Table, Utf8, tableFromIPC, vectorFromArray } from 'apache-arrow';
import { describe, expect, it } from 'vitest';
import { readParquetFooter } from '../../src/format/parquet/parquet-footer.js';
import { readPlainParquet } from '../../src/format/parquet/plain-parquet-reader.js';
import { PlainParquetUnsupported } from '../../src/format/parquet/plain-parquet-writer.js';
import { NULL_PATTERNS, coveredTable, expectSameTable, ipcOf, plain, pq, rowsOf, wasm } from './parquet-fixtures.js';

type Options = { rowGroups: number[]; batchRows: number; columns?: string[]; verifyPageCrcs?: boolean; skipRows?: number };

/** parquet-wasm's decode with the same options, as the codec called it before the plain reader. */
function wasmDecode(parquet: Uint8Array, options: Options): Table {
  const table = tableFromIPC(pq.readParquet(parquet, { batchSize: options.batchRows, rowGroups: options.rowGroups }).intoIPCStream());
  return options.columns ? table.select(options.columns) : table;
}

function plainDecode(parquet: Uint8Array, options: Options): Table {
  return tableFromIPC(readPlainParquet(parquet, options));
}

/** A byte early in the last row group's first column chunk's values (rows a 500-row skip leaves out). */
function readPlainFooterColumn(file: Uint8Array): number {
  const chunk = readParquetFooter(file).rowGroups.at(-1)!.columns[0]!;
  return chunk.dataPageOffset + Math.floor(chunk.totalCompressedSize / 4);
}

function batchLengths(table: Table): number[] {
  return table.batches.map((batch) => batch.numRows);
}

describe('plain Parquet reader', () => {
  it.each(NULL_PATTERNS)('reads the plain writer’s file of every covered type, %s, as parquet-wasm does', (_name, nullEvery) => {
    const table = coveredTable(1000, nullEvery);
    const parquet = plain(table);
    const options = { rowGroups: [0], batchRows: 333 };
    const decoded = plainDecode(parquet, options);
    expectSameTable(decoded, table);
    expectSameTable(decoded, wasmDecode(parquet, options));
    expect(batchLengths(decoded)).toEqual([333, 333, 333, 1]);
    expect(decoded.schema.fields.map((f) => String(f.type))).toEqual(table.schema.fields.map((f) => String(f.type)));
  });

  it('reads pages cut at odd offsets, several row groups, chosen groups and projections', () => {
    const whole = coveredTable(3000, 7, 2);
    const batches: RecordBatch[] = [];
    for (const [start, end] of [[0, 13], [13, 1021], [1021, 2990], [2990, 3000]] as const) batches.push(...whole.slice(start, end).batches);
    const parquet = plain(new Table(batches), { rowGroupRows: 700 });
    for (const options of [
      { rowGroups: [0, 1, 2, 3, 4], batchRows: 256 },
      { rowGroups: [3, 1], batchRows: 1000 },
      { rowGroups: [4], batchRows: 7, columns: ['text', 'i64', 'flag'] },
      { rowGroups: [2], batchRows: 700, columns: ['us_utc'] },
    ]) {
      const decoded = plainDecode(parquet, options);
      const expected = wasmDecode(parquet, options);
      expectSameTable(decoded, expected);
      // parquet-wasm's batches may span row groups; ours end with each group (the engine decodes one at a time).
      if (options.rowGroups.length === 1) expect(batchLengths(decoded)).toEqual(batchLengths(expected));
      else expect(Math.max(...batchLengths(decoded))).toBeLessThanOrEqual(options.batchRows);
    }
    expectSameTable(plainDecode(parquet, { rowGroups: [0, 1, 2, 3, 4], batchRows: 4096 }), whole);
  });

  it('leaves out the first rows with skipRows, every page still checked', () => {
    const whole = coveredTable(3000, 7, 2);
    const parquet = plain(whole, { rowGroupRows: 700 });
    for (const [groups, skip] of [[[4], 150], [[3, 4], 699], [[3, 4], 700], [[2, 3, 4], 1501], [[0], 0]] as const) {
      const all = plainDecode(parquet, { rowGroups: [...groups], batchRows: 64, verifyPageCrcs: true });
      const kept = plainDecode(parquet, { rowGroups: [...groups], batchRows: 64, verifyPageCrcs: true, skipRows: skip });
      expect(rowsOf(kept), `groups ${groups} skip ${skip}`).toEqual(rowsOf(all).slice(skip));
    }
    // A damaged byte among the rows left out is still found.
    const damaged = parquet.slice();
    const column = readPlainFooterColumn(damaged);
    damaged[column] = damaged[column]! ^ 0x10;
    expect(() => readPlainParquet(damaged, { rowGroups: [4], batchRows: 64, verifyPageCrcs: true, skipRows: 500 })).toThrow(/CRC-32/);
  });

  it('reads an empty table’s schema, and non-nullable columns as REQUIRED', () => {
    const empty = coveredTable(0, 0);
    const decoded = plainDecode(plain(empty), { rowGroups: [], batchRows: 10 });
    expect(decoded.numRows).toBe(0);
    expect(decoded.schema.fields.map((f) => String(f.type))).toEqual(empty.schema.fields.map((f) => String(f.type)));

    const schema = new Schema([new Field('x', new Float64(), false), new Field('n', new Int32(), false)], new Map([['pandas', '{}']]));
    const table = new Table(schema, { x: vectorFromArray(Float64Array.from([1.5, -2, 3])), n: vectorFromArray(Int32Array.from([7, 8, 9])) });
    const back = plainDecode(plain(table), { rowGroups: [0], batchRows: 10 });
    expectSameTable(back, table);
    expect(back.schema.metadata.get('pandas')).toBe('{}');
  });

  it('reads parquet-wasm’s own uncompressed PLAIN files, whose level runs differ from ours', () => {
    const table = coveredTable(2500, 3, 9);
    const parquet = wasm(table);
    const options = { rowGroups: [0], batchRows: 1024 };
    const decoded = plainDecode(parquet, options);
    expect(rowsOf(decoded)).toEqual(rowsOf(wasmDecode(parquet, options)));
    expect(rowsOf(decoded)).toEqual(rowsOf(table));
  });

  it('declines compressed, dictionary-encoded and uncovered-type files instead of misreading them', () => {
    const table = coveredTable(200, 4);
    const ipc = ipcOf(table);
    const lz4 = pq.writeParquet(pq.Table.fromIPCStream(ipc), new pq.WriterPropertiesBuilder().setCompression(pq.Compression.LZ4_RAW).setDictionaryEnabled(false).build());
    expect(() => readPlainParquet(lz4, { rowGroups: [0], batchRows: 100 })).toThrow(PlainParquetUnsupported);
    const dictionary = pq.writeParquet(pq.Table.fromIPCStream(ipc), new pq.WriterPropertiesBuilder().setCompression(pq.Compression.UNCOMPRESSED).setDictionaryEnabled(true).build());
    expect(() => readPlainParquet(dictionary, { rowGroups: [0], batchRows: 100 })).toThrow(/dictionary-encoded pages/);
    const withDictionaryType = new Table({ d: vectorFromArray(['a', 'b', 'a'], new Dictionary(new Utf8(), new Int32())) });
    const uncovered = pq.writeParquet(pq.Table.fromIPCStream(ipcOf(withDictionaryType)), new pq.WriterPropertiesBuilder().setCompression(pq.Compression.UNCOMPRESSED).build());
    expect(() => readPlainParquet(uncovered, { rowGroups: [0], batchRows: 100 })).toThrow(PlainParquetUnsupported);
  });

  it('declines pages it cannot make sense of instead of reading past them', () => {
    const parquet = plain(coveredTable(100, 0));
    // Zeros where the first column's pages lie (what a ranged fetch leaves for an unfetched chunk).
    const zeroed = parquet.slice();
    zeroed.fill(0, 4, 64);
    expect(() => readPlainParquet(zeroed, { rowGroups: [0], batchRows: 100, columns: ['i8'] })).toThrow(/page header at byte 4 lacks its type or size/);
    expect(() => readPlainParquet(parquet, { rowGroups: [0], batchRows: 100, columns: ['nope'] })).toThrow(/no column 'nope'/);
  });
});
