// The Parquet footer reader against files written by the project's own codec (parquet-wasm) and by
// pyarrow, checked against parquet-wasm's own reading of the same metadata; and the property the
// ranged reads rely on: a projected decode of a buffer holding only the footer and the projected
// column chunks (zeros elsewhere) equals the projection of a full decode.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Dictionary, Field, Int32, List, Table, TimestampMillisecond, Utf8, tableFromIPC, tableToIPC, vectorFromArray } from 'apache-arrow';
import { afterAll, describe, expect, it } from 'vitest';
import { ParquetCodec } from '../../src/format/parquet/parquet-codec.js';
import {
  PARQUET_TRAILER_BYTES,
  ParquetFooterError,
  columnChunkRange,
  footerLength,
  projectedRanges,
  readParquetFooter,
} from '../../src/format/parquet/parquet-footer.js';

const require = createRequire(import.meta.url);
const pq = require('parquet-wasm/node') as typeof import('parquet-wasm/node');
const codec = new ParquetCodec(2);
afterAll(() => codec.close());

const VENV_PYTHON = join(import.meta.dirname, '../../.venv-interop/bin/python');
const pyarrowAvailable = existsSync(VENV_PYTHON) && spawnSync(VENV_PYTHON, ['-c', 'import pyarrow'], { stdio: 'ignore' }).status === 0;

function mixedTable(rows: number): Table {
  return new Table({
    a: vectorFromArray(Float64Array.from({ length: rows }, (_, i) => i * 0.5)),
    b: vectorFromArray(Int32Array.from({ length: rows }, (_, i) => i * 3)),
    s: vectorFromArray(Array.from({ length: rows }, (_, i) => ({ x: i, y: `v${i % 7}` }))),
    l: vectorFromArray(Array.from({ length: rows }, (_, i) => (i % 5 ? [i, i + 1] : null)), new List(new Field('item', new Int32(), true))),
    d: vectorFromArray(Array.from({ length: rows }, (_, i) => `k${i % 3}`), new Dictionary(new Utf8(), new Int32())),
    t: vectorFromArray(Array.from({ length: rows }, (_, i) => new Date(i * 1000)), new TimestampMillisecond()),
    'p.q': vectorFromArray(Float64Array.from({ length: rows }, (_, i) => -i)),
  });
}

/** Rows as JSON text: arrow's row objects hold vectors whose internals differ between equal slices. */
function rowsOf(table: Table): string[] {
  return table.toArray().map((row) => JSON.stringify(row.toJSON(), (_key, value: unknown) => (typeof value === 'bigint' ? `${value}n` : value)));
}

/** The file with everything but its footer and the projected chunks zeroed. */
function sparseCopy(file: Uint8Array, columns: readonly string[], rowGroups: readonly number[]): { sparse: Uint8Array; fetched: number } {
  const metadata = readParquetFooter(file);
  const footerStart = file.byteLength - PARQUET_TRAILER_BYTES - footerLength(file);
  const sparse = new Uint8Array(file.byteLength);
  sparse.set(file.subarray(footerStart), footerStart);
  let fetched = file.byteLength - footerStart;
  for (const range of projectedRanges(metadata, rowGroups, new Set(columns), footerStart)) {
    sparse.set(file.subarray(range.start, range.end), range.start);
    fetched += range.end - range.start;
  }
  return { sparse, fetched };
}

async function codecFile(rows: number, rowGroupRows: number): Promise<Uint8Array> {
  return codec.encode(tableToIPC(mixedTable(rows), 'stream'), { rowGroupRows, dictionaryColumns: ['s', 'd'], statisticsColumns: ['t', 'b'], compression: 'lz4' });
}

/** A flat table the plain writer covers, encoded uncompressed (so by the plain writer). */
async function plainFile(rows: number, rowGroupRows: number): Promise<Uint8Array> {
  const table = new Table({
    a: vectorFromArray(Float64Array.from({ length: rows }, (_, i) => i * 0.5)),
    b: vectorFromArray(Array.from({ length: rows }, (_, i) => (i % 9 ? i : null)), new Int32()),
    t: vectorFromArray(Array.from({ length: rows }, (_, i) => new Date(i * 1000)), new TimestampMillisecond()),
    s: vectorFromArray(Array.from({ length: rows }, (_, i) => `v${i % 13}`), new Utf8()),
  });
  return codec.encode(tableToIPC(table, 'stream'), { rowGroupRows, dictionaryColumns: ['s'], statisticsColumns: ['t', 'b'], compression: 'none' });
}

describe('Parquet footer reader', () => {
  it('reads the row groups, column chunks and top-level names of a codec-written file, as parquet-wasm does', async () => {
    const file = await codecFile(5000, 2000);
    const metadata = readParquetFooter(file);
    expect(metadata.rows).toBe(5000);
    expect(metadata.columnNames).toEqual(['a', 'b', 's', 'l', 'd', 't', 'p.q']);
    expect(metadata.rowGroups.map((group) => group.rows)).toEqual([2000, 2000, 1000]);
    const reference = await pq.ParquetFile.fromFile(new Blob([file]));
    const referenceMeta = reference.metadata();
    expect(metadata.rowGroups).toHaveLength(referenceMeta.numRowGroups());
    metadata.rowGroups.forEach((group, index) => {
      const columns = referenceMeta.rowGroup(index).columns();
      expect(group.columns.map((chunk) => chunk.path)).toEqual(columns.map((column) => column.columnPath()));
      expect(group.columns.map((chunk) => chunk.totalCompressedSize)).toEqual(columns.map((column) => Number(column.compressedSize())));
    });
    // Chunks tile the data region between the leading magic and the footer, without overlap.
    const chunks = metadata.rowGroups.flatMap((group) => group.columns.map(columnChunkRange)).sort((x, y) => x.start - y.start);
    expect(chunks[0]!.start).toBe(4);
    for (let i = 1; i < chunks.length; i++) expect(chunks[i]!.start).toBeGreaterThanOrEqual(chunks[i - 1]!.end);
    expect(chunks.at(-1)!.end).toBeLessThanOrEqual(file.byteLength - PARQUET_TRAILER_BYTES - footerLength(file));
    reference.free();
  });

  it('maps a top-level column to all its leaves, and a dotted name to the columns the decoder resolves it to', async () => {
    const file = await codecFile(100, 100);
    const metadata = readParquetFooter(file);
    const dataEnd = file.byteLength - PARQUET_TRAILER_BYTES - footerLength(file);
    const leavesOf = (columns: string[]) => {
      const ranges = projectedRanges(metadata, [0], new Set(columns), dataEnd);
      return metadata.rowGroups[0]!.columns
        .filter((chunk) => ranges.some((range) => range.start <= columnChunkRange(chunk).start && columnChunkRange(chunk).end <= range.end))
        .map((chunk) => chunk.path.join('.'));
    };
    expect(leavesOf(['s'])).toEqual(['s.x', 's.y']);
    expect(leavesOf(['l'])).toEqual(['l.list.item']);
    expect(leavesOf(['a', 't'])).toEqual(['a', 't']);
    expect(leavesOf(['p.q'])).toEqual(['p.q']);
  });

  for (const [label, columns] of [
    ['one flat column', ['b']],
    ['a struct and a list', ['l', 's']],
    ['a dictionary-encoded column and a timestamp, reordered', ['t', 'd']],
    ['a name with a dot', ['p.q', 'a']],
  ] as const) {
    it(`a projected decode of only the footer and the needed chunks equals a full decode: ${label}`, async () => {
      const file = await codecFile(30_000, 10_000);
      for (const rowGroups of [[0], [2]]) {
        const full = tableFromIPC(await codec.decode(file, { rowGroups, batchRows: 4096 })).select([...columns]);
        const { sparse, fetched } = sparseCopy(file, columns, rowGroups);
        expect(fetched).toBeLessThan(file.byteLength * 0.75);
        const projected = tableFromIPC(await codec.decode(sparse, { rowGroups, batchRows: 4096, columns }));
        expect(projected.schema.fields.map((field) => field.name)).toEqual([...columns]);
        expect(projected.numRows).toBe(10_000);
        expect(rowsOf(projected)).toEqual(rowsOf(full));
      }
    });
  }

  it('reads a file of the plain writer, and a projected decode of its sparse copy equals a full decode', async () => {
    const file = await plainFile(30_000, 10_000);
    const metadata = readParquetFooter(file);
    expect(metadata.columnNames).toEqual(['a', 'b', 't', 's']);
    expect(metadata.rowGroups.map((group) => group.rows)).toEqual([10_000, 10_000, 10_000]);
    for (const rowGroups of [[0], [2]]) {
      const full = tableFromIPC(await codec.decode(file, { rowGroups, batchRows: 4096 })).select(['t', 'b']);
      const { sparse, fetched } = sparseCopy(file, ['t', 'b'], rowGroups);
      expect(fetched).toBeLessThan(file.byteLength * 0.75);
      const projected = tableFromIPC(await codec.decode(sparse, { rowGroups, batchRows: 4096, columns: ['t', 'b'] }));
      expect(rowsOf(projected)).toEqual(rowsOf(full));
      expect(projected.numRows).toBe(10_000);
    }
  });

  it.skipIf(!pyarrowAvailable)('reads a pyarrow-written file with statistics, page index and key-value metadata', async () => {
    const directory = await mkdtemp(join(tmpdir(), 'hangar-footer-'));
    try {
      const path = join(directory, 'py.parquet');
      const script = `
import pyarrow as pa, pyarrow.parquet as pq
n = 50000
t = pa.table({
  "i": pa.array(range(n), pa.int64()),
  "f": pa.array([x * 0.25 for x in range(n)]),
  "s": pa.array([f"name{x % 100}" for x in range(n)]),
  "b": pa.array([x % 3 == 0 for x in range(n)]),
  "st": pa.array([{"u": x, "v": str(x)} for x in range(n)]),
  "li": pa.array([[x, x] if x % 4 else None for x in range(n)], pa.list_(pa.int32())),
}).replace_schema_metadata({"k": "v"})
pq.write_table(t, ${JSON.stringify(path)}, row_group_size=20000, write_statistics=True, write_page_index=True, compression="zstd")
`;
      const run = spawnSync(VENV_PYTHON, ['-c', script], { encoding: 'utf8' });
      expect(run.status, run.stderr).toBe(0);
      const file = new Uint8Array(await readFile(path));
      const metadata = readParquetFooter(file);
      expect(metadata.rows).toBe(50_000);
      expect(metadata.columnNames).toEqual(['i', 'f', 's', 'b', 'st', 'li']);
      expect(metadata.rowGroups.map((group) => group.rows)).toEqual([20_000, 20_000, 10_000]);
      expect(metadata.rowGroups[0]!.columns.map((chunk) => chunk.path.join('.'))).toEqual(['i', 'f', 's', 'b', 'st.u', 'st.v', 'li.list.element']);
      expect(metadata.rowGroups[0]!.columns.every((chunk) => chunk.offsetIndex && chunk.columnIndex)).toBe(true);
      // Dictionary-encoded by pyarrow: the chunk starts at its dictionary page.
      const s = metadata.rowGroups[0]!.columns[2]!;
      expect(s.dictionaryPageOffset).toBeDefined();
      expect(columnChunkRange(s).start).toBe(s.dictionaryPageOffset);
      for (const columns of [['s'], ['st', 'f'], ['li']]) {
        const full = tableFromIPC(await codec.decode(file, { rowGroups: [1], batchRows: 8192 })).select(columns);
        const projected = tableFromIPC(await codec.decode(sparseCopy(file, columns, [1]).sparse, { rowGroups: [1], batchRows: 8192, columns }));
        expect(rowsOf(projected)).toEqual(rowsOf(full));
      }
    } finally {
      await rm(directory, { recursive: true, force: true });
    }
  });

  it('refuses what is not a plain Parquet footer with ParquetFooterError, never another error', async () => {
    const file = await codecFile(200, 100);
    expect(() => footerLength(file.subarray(0, 6))).toThrow(ParquetFooterError);
    const encrypted = file.slice();
    encrypted.set([0x50, 0x41, 0x52, 0x45], file.byteLength - 4); // PARE
    expect(() => readParquetFooter(encrypted)).toThrow(/PARE/);
    // A tail shorter than the footer it announces.
    expect(() => readParquetFooter(file.subarray(file.byteLength - 20))).toThrow(ParquetFooterError);
    // Corrupted metadata: every outcome is a parse or a ParquetFooterError (seeded, so repeatable).
    const start = file.byteLength - PARQUET_TRAILER_BYTES - footerLength(file);
    let seed = 7;
    const random = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    for (let trial = 0; trial < 500; trial++) {
      const mutated = file.slice();
      for (let k = 0; k < 3; k++) mutated[start + Math.floor(random() * (file.byteLength - 8 - start))] = Math.floor(random() * 256);
      try {
        readParquetFooter(mutated);
      } catch (error) {
        expect(error).toBeInstanceOf(ParquetFooterError);
      }
    }
  });
});
