// Row-group splicing (src/core/segment-splice.ts, src/format/parquet/row-group-splice.ts): delete_range
// and update of ranges inside segments of several row groups, each result compared with the same
// operation on plain arrays, and every segment file read back by the plain reader (page CRCs checked)
// and by parquet-wasm, its manifest entry (rows, time statistics, CRCs) checked against the file.
import { Bool, Dictionary, Float64, Int32, Table, TimestampNanosecond, Utf8, makeData, makeVector, tableFromIPC, tableToIPC, vectorFromArray } from 'apache-arrow';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MemoryConnector } from '../../src/connectors/memory/memory-connector.js';
import { HangarEngine } from '../../src/core/engine.js';
import { spliceCounts } from '../../src/core/segment-splice.js';
import { DataLossError } from '../../src/errors.js';
import { crc32, formatCrc32 } from '../../src/format/crc32.js';
import { joinIpcStream, splitIpcStream } from '../../src/format/ipc-message.js';
import type { FrameManifest } from '../../src/format/manifest.js';
import { ParquetCodec } from '../../src/format/parquet/parquet-codec.js';
import { PARQUET_TRAILER_BYTES, footerLength, readParquetFooter } from '../../src/format/parquet/parquet-footer.js';
import { readPlainParquet } from '../../src/format/parquet/plain-parquet-reader.js';
import type { FrameRef } from '../../src/names.js';
import { ObjectLayout } from '../../src/storage/object-layout.js';
import { pq } from './parquet-fixtures.js';

/** One row of the model: time in minutes, an id (null every 7th), a price, a name, a flag. */
interface Row {
  readonly t: number;
  readonly id: number | null;
  readonly px: number;
  readonly name: string;
  readonly flag: boolean;
}

const MINUTE = 60_000_000_000n;
const BASE = 1_700_000_000_000_000_000n;
const ns = (t: number): bigint => BASE + BigInt(t) * MINUTE;

function series(from: number, n: number, salt = 0): Row[] {
  return Array.from({ length: n }, (_, i) => {
    const t = from + i;
    return { t, id: (t + salt) % 7 === 0 ? null : t + salt, px: t * 0.25 + salt, name: `r${t}-${salt}`.repeat((t % 3) + 1), flag: (t + salt) % 2 === 0 };
  });
}

function tableOf(rows: readonly Row[]): Table {
  return new Table({
    ts: makeVector(makeData({ type: new TimestampNanosecond('UTC'), length: rows.length, nullCount: 0, data: BigInt64Array.from(rows, (row) => ns(row.t)) })),
    id: vectorFromArray(rows.map((row) => row.id), new Int32()),
    px: vectorFromArray(rows.map((row) => row.px), new Float64()),
    name: vectorFromArray(rows.map((row) => row.name), new Utf8()),
    flag: vectorFromArray(rows.map((row) => row.flag), new Bool()),
  });
}

function rowsOf(table: Table): Row[] {
  const [ts, id, px, name, flag] = ['ts', 'id', 'px', 'name', 'flag'].map((column) => table.getChild(column)!);
  const times = ts!.toArray() as BigInt64Array;
  // Whole-microsecond nanoseconds are stored as microseconds: parquet-wasm reads them so, Hangar multiplies back.
  const scale = String(ts!.type).includes('MICROSECOND') ? 1000n : 1n;
  return Array.from({ length: table.numRows }, (_, i) => {
    const t = Number((times[i]! * scale - BASE) / MINUTE);
    return { t, id: id!.get(i) as number | null, px: px!.get(i) as number, name: name!.get(i) as string, flag: flag!.get(i) as boolean };
  });
}

/** The rows as a stream of 500-row batches (a segment is cut only between batches). */
async function* messages(rows: readonly Row[]) {
  const table = tableOf(rows);
  yield* splitIpcStream(tableToIPC(new Table(table.schema, Array.from({ length: Math.ceil(rows.length / 500) }, (_, i) => table.slice(i * 500, (i + 1) * 500).batches).flat()), 'stream'));
}

/** The model's delete of [from, to) in minutes. */
const without = (rows: readonly Row[], from: number, to: number): Row[] => rows.filter((row) => row.t < from || row.t >= to);

let codec: ParquetCodec;
beforeAll(() => {
  codec = new ParquetCodec(2);
});
afterAll(async () => {
  await codec.close();
});

/** An engine whose segments hold about 4,000 rows in row groups of 1,024 (the writer's floor). */
function engineOf(store: ObjectLayout, compression: 'none' | 'lz4' = 'none'): HangarEngine {
  return new HangarEngine(store, codec, { segmentBytes: 160 * 1024, rowGroupBytes: 16 * 1024, segmentCompression: compression });
}

async function readAll(engine: HangarEngine, ref: FrameRef): Promise<Row[]> {
  const stream = await engine.read(ref);
  const all = [];
  for await (const message of stream.messages) all.push(message);
  return rowsOf(tableFromIPC(joinIpcStream(all)));
}

/**
 * Every segment of the current version read back on its own by the plain reader (with page CRCs)
 * and by parquet-wasm; their rows in manifest order must be the model, and each entry must
 * describe its file.
 */
async function checkSegments(store: ObjectLayout, ref: FrameRef, model: readonly Row[]): Promise<void> {
  const manifest = (await store.getManifest(ref)) as FrameManifest;
  const plainRows: Row[] = [];
  const wasmRows: Row[] = [];
  for (const segment of manifest.segments) {
    const file = await store.getSegment(ref, segment.id);
    expect(segment.storedBytes).toBe(file.byteLength);
    expect(segment.crc32).toBe(formatCrc32(crc32(file)));
    const footerStart = file.byteLength - PARQUET_TRAILER_BYTES - footerLength(file);
    expect(segment.footerCrc32).toBe(formatCrc32(crc32(file.subarray(footerStart))));
    const footer = readParquetFooter(file);
    expect(footer.rowGroups.length).toBe(segment.rowGroups);
    expect(footer.rows).toBe(segment.rows);
    const groups = footer.rowGroups.map((_, index) => index);
    const plain = rowsOf(tableFromIPC(readPlainParquet(file, { rowGroups: groups, batchRows: 100_000, verifyPageCrcs: true })));
    const wasm = rowsOf(tableFromIPC(pq.readParquet(file).intoIPCStream()));
    expect(wasm).toEqual(plain);
    expect(plain.length).toBe(segment.rows);
    const times = plain.map((row) => ns(row.t));
    expect(segment.timeRange).toEqual({ min: times.reduce((a, b) => (a < b ? a : b)).toString(), max: times.reduce((a, b) => (a > b ? a : b)).toString() });
    expect(segment.timeNulls).toBe(0);
    plainRows.push(...plain);
    wasmRows.push(...wasm);
  }
  expect(plainRows).toEqual(model);
  expect(wasmRows).toEqual(model);
}

describe('row-group splicing of delete_range and update', () => {
  it('keeps every row outside the range, copies untouched row groups and re-encodes only the overlapping ones', async () => {
    const store = new ObjectLayout(new MemoryConnector());
    const engine = engineOf(store);
    const ref = { bucket: 'splice', name: 'f' };
    let model = series(0, 20_000);
    await engine.put(ref, 'error', messages(model));
    const before = (await store.getManifest(ref))!;
    expect(before.segments.length).toBeGreaterThan(3);
    expect(before.segments.every((segment) => segment.rowGroups >= 3)).toBe(true);
    const first = { ...spliceCounts };

    const at = (index: number): { min: number; max: number } => {
      const range = (before.segments[index] ?? before.segments.at(-1)!).timeRange!;
      return { min: Number((BigInt(range.min) - BASE) / MINUTE), max: Number((BigInt(range.max) - BASE) / MINUTE) };
    };
    const second = at(1);
    const middle = Math.floor((second.min + second.max) / 2);

    // A few rows inside one row group in the middle of a segment.
    let summary = await engine.deleteRange(ref, ns(middle), ns(middle + 30));
    model = without(model, middle, middle + 30);
    expect(summary).toMatchObject({ rowsRemoved: 30, segmentsRewritten: 1 });
    expect(await readAll(engine, ref)).toEqual(model);
    await checkSegments(store, ref, model);
    expect(spliceCounts.segments).toBe(first.segments + 1);
    expect(spliceCounts.copiedGroups).toBeGreaterThan(first.copiedGroups);

    // An update across two row groups of another segment: its rows replaced by new ones.
    const third = at(2);
    const from = third.min + 900;
    const incoming = series(from, 400, 1).filter((_, i) => i % 2 === 0);
    await engine.put(ref, 'update', messages(incoming), { range: [ns(from), ns(from + 400)] });
    model = [...without(model, from, from + 400).filter((row) => row.t < from), ...incoming, ...model.filter((row) => row.t >= from + 400)];
    expect(await readAll(engine, ref)).toEqual(model);
    await checkSegments(store, ref, model);
    // Copied and re-encoded segments of a time-sorted frame keep the time-sorted flag.
    expect((await store.getManifest(ref))!.segments.every((segment) => segment.timeSorted === true)).toBe(true);

    // The first rows of a segment, then a range across a segment boundary.
    const fourth = at(3);
    await engine.deleteRange(ref, ns(fourth.min), ns(fourth.min + 10));
    model = without(model, fourth.min, fourth.min + 10);
    summary = await engine.deleteRange(ref, ns(fourth.max - 50), ns(fourth.max + 50));
    model = without(model, fourth.max - 50, fourth.max + 50);
    expect(summary.segmentsRewritten).toBe(2);
    expect(await readAll(engine, ref)).toEqual(model);
    await checkSegments(store, ref, model);
    expect(spliceCounts.segments).toBeGreaterThanOrEqual(first.segments + 5);
  });

  it('gives the same rows as the whole rewrite (HANGAR_ROW_GROUP_SPLICE=0), and falls back for compressed segments', async () => {
    const ref = { bucket: 'splice', name: 'g' };
    const results: Row[][] = [];
    for (const variant of ['splice', 'whole', 'lz4'] as const) {
      const store = new ObjectLayout(new MemoryConnector());
      const engine = engineOf(store, variant === 'lz4' ? 'lz4' : 'none');
      await engine.put(ref, 'error', messages(series(0, 12_000)));
      const counted = spliceCounts.segments;
      if (variant === 'whole') process.env['HANGAR_ROW_GROUP_SPLICE'] = '0';
      try {
        await engine.deleteRange(ref, ns(5_000), ns(5_500));
        await engine.put(ref, 'update', messages(series(7_000, 100, 3)), { range: [ns(7_000), ns(7_200)] });
      } finally {
        delete process.env['HANGAR_ROW_GROUP_SPLICE'];
      }
      if (variant === 'splice') expect(spliceCounts.segments).toBeGreaterThan(counted);
      else expect(spliceCounts.segments).toBe(counted);
      const rows = await readAll(engine, ref);
      results.push(rows);
      if (variant !== 'lz4') await checkSegments(store, ref, rows);
    }
    const model = [...without(without(series(0, 12_000), 5_000, 5_500), 7_000, 7_200), ...series(7_000, 100, 3)].sort((a, b) => a.t - b.t);
    expect(results[0]).toEqual(model);
    expect(results[1]).toEqual(model);
    expect(results[2]).toEqual(model);
  });

  it('leaves the frame and the store as they were when storing a spliced segment fails', async () => {
    /** Fails the `failAt`-th segment file stored after arming. */
    class FailingConnector extends MemoryConnector {
      failAt = 0;
      override async put(key: string, data: Uint8Array, options?: { ifAbsent?: boolean }): Promise<boolean> {
        if (key.endsWith('.parquet') && this.failAt > 0 && --this.failAt === 0) throw new Error('the store is full');
        return super.put(key, data, options);
      }
    }
    const connector = new FailingConnector();
    const store = new ObjectLayout(connector);
    const engine = engineOf(store);
    const ref = { bucket: 'splice', name: 'k' };
    const model = series(0, 8_000);
    await engine.put(ref, 'error', messages(model));
    const keys = async (): Promise<string[]> => {
      const all: string[] = [];
      for await (const object of connector.list('')) if (object.key.endsWith('.parquet')) all.push(object.key);
      return all.sort();
    };
    const stored = await keys();
    const counted = spliceCounts.segments;
    connector.failAt = 2;
    await expect(engine.deleteRange(ref, ns(1_500), ns(1_520))).rejects.toThrow(/the store is full/);
    expect(spliceCounts.segments).toBe(counted);
    expect(await keys()).toEqual(stored);
    expect(await readAll(engine, ref)).toEqual(model);
    await engine.deleteRange(ref, ns(1_500), ns(1_520));
    expect(await readAll(engine, ref)).toEqual(without(model, 1_500, 1_520));
    expect(spliceCounts.segments).toBe(counted + 1);
  });

  it('copies no damaged bytes: a flipped byte in a group it would copy fails the rewrite as data loss', async () => {
    const connector = new MemoryConnector();
    const store = new ObjectLayout(connector);
    const engine = engineOf(store);
    const ref = { bucket: 'splice', name: 'h' };
    await engine.put(ref, 'error', messages(series(0, 8_000)));
    const segment = (await store.getManifest(ref))!.segments[0]!;
    const file = (await store.getSegment(ref, segment.id)).slice();
    const footer = readParquetFooter(file);
    // A byte of the first group's last chunk; the range lies in the segment's last group.
    const chunk = footer.rowGroups[0]!.columns.at(-1)!;
    file[chunk.dataPageOffset + chunk.totalCompressedSize - 1]! ^= 0x01;
    await store.putSegment(ref, segment.id, file);
    const counted = spliceCounts.segments;
    const range = segment.timeRange!;
    const last = BigInt(range.max);
    const keys = async (): Promise<string[]> => {
      const all: string[] = [];
      for await (const object of connector.list('')) if (object.key.endsWith('.parquet')) all.push(object.key);
      return all.sort();
    };
    const before = await keys();
    await expect(engine.deleteRange(ref, last - 5n * MINUTE, last)).rejects.toBeInstanceOf(DataLossError);
    expect(spliceCounts.segments).toBe(counted);
    // The copied groups, stored before the CRC check found the damage, are gone again.
    expect(await keys()).toEqual(before);
    expect(BigInt(range.min)).toBe(ns(0));
  });

  it('reports damage in a group it decodes as data loss, as the whole rewrite does, whichever check fails first', async () => {
    const connector = new MemoryConnector();
    const store = new ObjectLayout(connector);
    const engine = engineOf(store);
    const ref = { bucket: 'splice', name: 'h2' };
    await engine.put(ref, 'error', messages(series(0, 8_000)));
    const segment = (await store.getManifest(ref))!.segments[0]!;
    const file = (await store.getSegment(ref, segment.id)).slice();
    const footer = readParquetFooter(file);
    // Bytes of the last group's first data page: the range lies in that group, so the splice decodes it.
    const chunk = footer.rowGroups.at(-1)!.columns[0]!;
    for (let i = 16; i < 48; i++) file[chunk.dataPageOffset + i]! ^= 0xff;
    await store.putSegment(ref, segment.id, file);
    const counted = spliceCounts.segments;
    const last = BigInt(segment.timeRange!.max);
    await expect(engine.deleteRange(ref, last - 5n * MINUTE, last)).rejects.toBeInstanceOf(DataLossError);
    expect(spliceCounts.segments).toBe(counted);
  });

  it('gives the model rows for a frame with a category (dictionary) column, spliced or rewritten whole', async () => {
    // Each decoded row group may carry its own dictionary: whatever the writer makes of a
    // category column (a dictionary sidecar, or dictionary pages), an update and a delete_range
    // must keep every row's category.
    const categories = ['alpha', 'beta', 'gamma', 'delta', 'epsilon'];
    const categoryOf = (t: number, salt: number): string => categories[(t * 7 + salt) % categories.length]!;
    const withCategories = (rows: readonly Row[], salt: number): Table => {
      const table = tableOf(rows);
      return new Table({ ...Object.fromEntries(table.schema.fields.map((field) => [field.name, table.getChild(field.name)!])), cat: vectorFromArray(rows.map((row) => categoryOf(row.t, salt)), new Dictionary(new Utf8(), new Int32())) });
    };
    const stream = async function* (table: Table) {
      yield* splitIpcStream(tableToIPC(new Table(table.schema, Array.from({ length: Math.ceil(table.numRows / 500) }, (_, i) => table.slice(i * 500, (i + 1) * 500).batches).flat()), 'stream'));
    };
    const store = new ObjectLayout(new MemoryConnector());
    const engine = engineOf(store);
    const ref = { bucket: 'splice', name: 'categories' };
    const base = series(0, 12_000);
    await engine.put(ref, 'error', stream(withCategories(base, 0)));
    await engine.put(ref, 'update', stream(withCategories(series(5_000, 300, 1), 3)));
    await engine.deleteRange(ref, ns(9_100), ns(9_250));
    const expected = [
      ...base.filter((row) => row.t < 5_000).map((row) => ({ ...row, cat: categoryOf(row.t, 0) })),
      ...series(5_000, 300, 1).map((row) => ({ ...row, cat: categoryOf(row.t, 3) })),
      ...base.filter((row) => row.t >= 5_300 && (row.t < 9_100 || row.t >= 9_250)).map((row) => ({ ...row, cat: categoryOf(row.t, 0) })),
    ];
    const read = await engine.read(ref);
    const all = [];
    for await (const message of read.messages) all.push(message);
    const table = tableFromIPC(joinIpcStream(all));
    const cats = table.getChild('cat')!;
    expect(rowsOf(table).map((row, i) => ({ ...row, cat: cats.get(i) as string }))).toEqual(expected);
  });
});
