// The byte-level splice (src/format/parquet/row-group-splice.ts): row groups of plain-writer files
// joined into one file, read back by parquet-wasm and by the plain reader with page CRCs checked,
// against the same rows sliced from the source tables; files it must not splice are declined.
import { Table, tableFromIPC } from 'apache-arrow';
import { describe, expect, it } from 'vitest';
import { crc32 } from '../../src/format/crc32.js';
import { readParquetFooter } from '../../src/format/parquet/parquet-footer.js';
import { readPlainParquet } from '../../src/format/parquet/plain-parquet-reader.js';
import { SpliceDeclined, readSpliceLayout, spliceRowGroups } from '../../src/format/parquet/row-group-splice.js';
import { coveredTable, decodeWithWasm, expectSameTable, plain, wasm } from './parquet-fixtures.js';

const GROUP_ROWS = 100;

function sourceOf(table: Table) {
  const file = plain(table, { rowGroupRows: GROUP_ROWS, statisticsColumns: ['i32', 'day', 'ms', 'us_utc', 'ns_ny'] });
  return { file, layout: readSpliceLayout(file, 'ms') };
}

describe('row-group splice of plain-writer files', () => {
  it('joins whole row groups of two files into one that both readers decode to the same rows', () => {
    const a = coveredTable(1_000, 5, 1);
    const b = coveredTable(250, 4, 2);
    const first = sourceOf(a);
    const second = sourceOf(b);
    expect(first.layout.groups.length).toBe(10);
    const spliced = spliceRowGroups([
      { ...first, groups: [0, 1, 2] },
      { ...second, groups: [0, 1, 2] },
      { ...first, groups: [7, 8, 9] },
    ]);
    const expected = new Table([...a.slice(0, 300).batches, ...b.batches, ...a.slice(700).batches]);
    expect(spliced.rows).toBe(850);
    expect(spliced.crc32).toBe(crc32(spliced.file));
    expectSameTable(decodeWithWasm(spliced.file), expected);
    const groups = readParquetFooter(spliced.file).rowGroups;
    expect(groups.map((group) => group.rows)).toEqual([100, 100, 100, 100, 100, 50, 100, 100, 100]);
    const decoded = tableFromIPC(readPlainParquet(spliced.file, { rowGroups: groups.map((_, i) => i), batchRows: 10_000, verifyPageCrcs: true }));
    expectSameTable(decoded, expected);
    // The copied chunks are the source's bytes, and the statistics moved with them.
    const copied = first.layout.groups[8]!;
    const moved = spliced.groups[7]!;
    expect(Buffer.compare(spliced.file.subarray(moved.start, moved.end), first.file.subarray(copied.start, copied.end))).toBe(0);
    expect(moved.time).toEqual(copied.time);
    // Its layout reads again, offsets and all, and splices again.
    const again = spliceRowGroups([{ file: spliced.file, layout: readSpliceLayout(spliced.file, 'ms'), groups: [6, 7, 8] }]);
    expectSameTable(decodeWithWasm(again.file), a.slice(700));
  });

  it('declines files of another writer or schema', () => {
    const table = coveredTable(300, 0, 3);
    const ours = sourceOf(table);
    const other = sourceOf(coveredTable(300, 0, 3).select(['i32', 'ms']));
    expect(() => spliceRowGroups([{ ...ours, groups: [0] }, { ...other, groups: [0] }])).toThrow(SpliceDeclined);
    const theirs = wasm(table);
    expect(() => {
      const layout = readSpliceLayout(theirs, 'ms');
      spliceRowGroups([{ ...ours, groups: [0] }, { file: theirs, layout, groups: [0] }]);
    }).toThrow(SpliceDeclined);
    expect(() => spliceRowGroups([{ ...ours, groups: [0, 2] }])).toThrow(SpliceDeclined);
    expect(() => readSpliceLayout(ours.file.subarray(0, ours.file.byteLength - 3), 'ms')).toThrow(SpliceDeclined);
  });
});
