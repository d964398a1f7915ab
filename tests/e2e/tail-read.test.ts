// Tail reads that decode only the last row groups (tail-read.ts): on a local store (ranged reads)
// with segments of many row groups, every tail length — within the last row group, across row
// groups, across segments, the whole frame and more — with and without a projection, equals the
// same slice of an array, and a short tail fetches byte ranges of the last segment, never a whole one.
import { Table, TimestampMicrosecond, makeData, makeVector, tableFromIPC } from 'apache-arrow';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalConnector } from '../../src/connectors/local/local-connector.js';
import { HangarEngine } from '../../src/core/engine.js';
import { fetchLastGroups } from '../../src/core/segment-fetch.js';
import { DataLossError } from '../../src/errors.js';
import { readSpliceLayout } from '../../src/format/parquet/row-group-splice.js';
import { INLINE_DECODE_MAX_BYTES, InlineChecksumMismatch, decodeInline } from '../../src/format/parquet/inline-decode.js';
import { ParquetCodec } from '../../src/format/parquet/parquet-codec.js';
import type { FrameRef } from '../../src/names.js';
import type { ByteRange } from '../../src/storage/frame-store.js';
import { ObjectLayout } from '../../src/storage/object-layout.js';
import { collect, messagesOf } from '../../src/testing/fixtures.js';

const ROWS = 260_000;

/** A local store that records whole-segment fetches and ranged ones. */
class CountingLayout extends ObjectLayout {
  whole: string[] = [];
  ranged: string[] = [];
  override async getSegment(ref: FrameRef, id: string): Promise<Uint8Array> {
    this.whole.push(id);
    return super.getSegment(ref, id);
  }
  override async getSegmentRanges(ref: FrameRef, id: string, ranges: readonly ByteRange[]): Promise<Uint8Array[]> {
    this.ranged.push(id);
    return super.getSegmentRanges(ref, id, ranges);
  }
}

function table(from: number, rows: number): Table {
  const ts = BigInt64Array.from({ length: rows }, (_, i) => 1_704_067_200_000_000n + BigInt(from + i) * 1_000_000n);
  return new Table({
    ts: makeVector(makeData({ type: new TimestampMicrosecond(), length: rows, data: ts })),
    x: makeVector(Float64Array.from({ length: rows }, (_, i) => (from + i) / 4)),
    n: makeVector(Int32Array.from({ length: rows }, (_, i) => from + i)),
  });
}

describe('tail reads decode only the last row groups', () => {
  let directory: string;
  let layout: CountingLayout;
  let codec: ParquetCodec;
  let engine: HangarEngine;
  const ref = { bucket: 'default', name: 'long' };

  beforeAll(async () => {
    directory = await mkdtemp(join(tmpdir(), 'hangar-tail-'));
    layout = new CountingLayout(new LocalConnector({ root: directory, fsync: false }));
    await layout.open();
    codec = new ParquetCodec(1);
    // Segments of ~2.5 MiB in row groups of 256 KiB: 260,000 rows make 2 full segments of 10 groups.
    engine = new HangarEngine(layout, codec, { segmentBytes: 2_500_000, rowGroupBytes: 256 * 1024, readCacheBytes: 0, compactThreshold: 0 });
    const whole = table(0, ROWS);
    const batches = [];
    for (let at = 0; at < ROWS; at += 10_000) batches.push(...whole.slice(at, at + 10_000).batches);
    await engine.put(ref, 'error', messagesOf(new Table(batches)));
  });
  afterAll(async () => {
    await engine.close();
    await codec.close();
    await layout.close();
    await rm(directory, { recursive: true, force: true });
  });

  it('returns exactly the last rows for every length, projected or not', async () => {
    const manifest = (await layout.getManifest(ref))!;
    expect(manifest.segments.length).toBeGreaterThanOrEqual(2);
    expect(manifest.segments.at(-1)!.rowGroups).toBeGreaterThan(4);
    const last = manifest.segments.at(-1)!.rows;
    for (const tail of [0, 1, 100, 7_777, 30_000, last - 1, last, last + 1, last + 12_345, ROWS - 1, ROWS, ROWS + 10]) {
      const read = await collect((await engine.read(ref, { tail })).messages);
      const n = Array.from(read.getChild('n')!.toArray() as Int32Array);
      const from = Math.max(0, ROWS - tail);
      expect(n.length, `tail ${tail}`).toBe(ROWS - from);
      expect(n[0], `tail ${tail}`).toBe(tail === 0 ? undefined : from);
      expect(n.at(-1), `tail ${tail}`).toBe(tail === 0 ? undefined : ROWS - 1);
      expect(n.every((value, i) => value === from + i), `tail ${tail}`).toBe(true);
      const projected = await collect((await engine.read(ref, { tail, columns: ['x', 'ts'] })).messages);
      expect(projected.schema.fields.map((field) => field.name)).toEqual(['x', 'ts']);
      expect(Array.from(projected.getChild('x')!.toArray() as Float64Array)).toEqual(Array.from({ length: ROWS - from }, (_, i) => (from + i) / 4));
    }
  });

  it('a short tail fetches byte ranges of the last segment only', async () => {
    const manifest = (await layout.getManifest(ref))!;
    layout.whole = [];
    layout.ranged = [];
    const read = await collect((await engine.read(ref, { tail: 100 })).messages);
    expect(read.numRows).toBe(100);
    expect(layout.whole).toEqual([]);
    expect(new Set(layout.ranged)).toEqual(new Set([manifest.segments.at(-1)!.id]));
  });

  it('a tail of a segment whose footer is not kept yet reads the footer and the last groups in one request', async () => {
    // Another store over the same directory: its footer cache is empty.
    const fresh = new CountingLayout(new LocalConnector({ root: directory, fsync: false }));
    await fresh.open();
    const reader = new HangarEngine(fresh, codec, { readCacheBytes: 0, compactThreshold: 0 });
    try {
      const read = await collect((await reader.read(ref, { tail: 100 })).messages);
      expect(Array.from(read.getChild('n')!.toArray() as Int32Array)).toEqual(Array.from({ length: 100 }, (_, i) => ROWS - 100 + i));
      expect(fresh.whole).toEqual([]);
      expect(fresh.ranged).toEqual([(await fresh.getManifest(ref))!.segments.at(-1)!.id]);
      // The footer is kept now: the next cold tail reads only the groups, again in one request.
      fresh.ranged = [];
      await collect((await reader.read(ref, { tail: 100 })).messages);
      expect(fresh.ranged).toHaveLength(1);
    } finally {
      await reader.close();
      await fresh.close();
    }
  });

  it('a repeated tail comes from the read cache, fetching nothing', async () => {
    const cached = new HangarEngine(layout, codec, { compactThreshold: 0 });
    const first = await collect((await cached.read(ref, { tail: 250, columns: ['n'] })).messages);
    layout.whole = [];
    layout.ranged = [];
    const again = await collect((await cached.read(ref, { tail: 250, columns: ['n'] })).messages);
    expect([layout.whole, layout.ranged]).toEqual([[], []]);
    expect(Array.from(again.getChild('n')!.toArray() as Int32Array)).toEqual(Array.from(first.getChild('n')!.toArray() as Int32Array));
    expect(Array.from(again.getChild('n')!.toArray() as Int32Array)).toEqual(Array.from({ length: 250 }, (_, i) => ROWS - 250 + i));
    await cached.close();
  });

  it('fetches the last row groups as a small Parquet file of their own, checked by its footer and page CRCs', async () => {
    const segment = (await layout.getManifest(ref))!.segments.at(-1)!;
    const fetched = (await fetchLastGroups(layout, ref, segment, undefined, ['ts', 'x', 'n'], 100))!;
    // One 256 KiB group of a 2.5 MB segment, not a segment-sized buffer.
    expect(fetched.bytes.byteLength).toBeLessThan(segment.storedBytes / 4);
    expect(fetched.groups).toEqual([0]);
    expect(fetched.verification).toMatchObject({ partial: true, pageCrcs: true });
    const ipc = await codec.decode(fetched.bytes, { rowGroups: [...fetched.groups], batchRows: 65_536 }, true, fetched.verification);
    const decoded = await collect(messagesOf(tableFromIPC(ipc)));
    expect(decoded.numRows).toBe(fetched.groupRows);
    expect(decoded.getChild('n')!.get(decoded.numRows - 1)).toBe(ROWS - 1);
  });

  it('decodes a small fetched tail on the calling thread as the codec worker does, and declines what it does not check', async () => {
    const segment = (await layout.getManifest(ref))!.segments.at(-1)!;
    const fetched = (await fetchLastGroups(layout, ref, segment, undefined, ['ts', 'x', 'n'], 100))!;
    const options = { rowGroups: [...fetched.groups], batchRows: 1024, skipRows: fetched.groupRows - 100 };
    const here = decodeInline(fetched.bytes, options, fetched.verification)!;
    const worker = await codec.decode(fetched.bytes.slice(), options, true, fetched.verification);
    expect(tableFromIPC(here).numRows).toBe(100);
    expect(tableFromIPC(here).getChild('n')!.toArray()).toEqual(tableFromIPC(worker).getChild('n')!.toArray());
    // Not a partial fetch with page CRCs, or too large: left to the codec.
    expect(decodeInline(fetched.bytes, options, { ...fetched.verification!, partial: false })).toBeUndefined();
    expect(decodeInline(fetched.bytes, options, { ...fetched.verification!, pageCrcs: false })).toBeUndefined();
    expect(decodeInline(new Uint8Array(INLINE_DECODE_MAX_BYTES + 1), options, fetched.verification)).toBeUndefined();
    // A footer that is not the one expected is refused, not decoded.
    expect(() => decodeInline(fetched.bytes, options, { ...fetched.verification!, footerCrc32: (fetched.verification!.footerCrc32! + 1) >>> 0 })).toThrow(InlineChecksumMismatch);
  });

  it('a damaged byte in the last row group fails a tail read as data loss', async () => {
    const damaged = { bucket: 'default', name: 'damaged' };
    await engine.put(damaged, 'error', messagesOf(table(0, 120_000)));
    const segment = (await layout.getManifest(damaged))!.segments.at(-1)!;
    const file = layout.segmentFile(damaged, segment.id)!;
    const bytes = new Uint8Array(await readFile(file));
    const last = readSpliceLayout(bytes, 'ts').groups.at(-1)!;
    const at = Math.floor((last.start + last.end) / 2);
    bytes[at] = bytes[at]! ^ 0x5a;
    await writeFile(file, bytes);
    await expect(collect((await engine.read(damaged, { tail: 100 })).messages)).rejects.toBeInstanceOf(DataLossError);
  });

  it('reads past versions and appended frames the same way', async () => {
    await engine.put(ref, 'append', messagesOf(table(ROWS, 50)));
    const now = await collect((await engine.read(ref, { tail: 120 })).messages);
    expect(Array.from(now.getChild('n')!.toArray() as Int32Array)).toEqual(Array.from({ length: 120 }, (_, i) => ROWS + 50 - 120 + i));
    const before = await collect((await engine.read(ref, { tail: 3, version: 1 })).messages);
    expect(Array.from(before.getChild('n')!.toArray() as Int32Array)).toEqual([ROWS - 3, ROWS - 2, ROWS - 1]);
  });
});
