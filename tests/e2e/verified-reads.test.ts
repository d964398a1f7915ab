// The engine's reads check what they fetch, through the paths a server uses: segments of several
// row groups (the first group's decode checks the whole file, the others wait for it), a fault of
// the read path that a second fetch does not repeat (served exactly, not reported), and ranged
// reads (only the footer and the projected columns' pages are fetched and checked). Needs dist/
// (the codec worker).
import { mkdtemp, open, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Table, makeVector, tableFromIPC, tableToIPC } from 'apache-arrow';
import { afterEach, describe, expect, it } from 'vitest';
import type { ByteRange } from '../../src/storage/frame-store.js';
import { LocalConnector } from '../../src/connectors/local/local-connector.js';
import { ObjectLayout } from '../../src/storage/object-layout.js';
import { HangarEngine } from '../../src/core/engine.js';
import { DataLossError } from '../../src/errors.js';
import { type IpcMessage, joinIpcStream, splitIpcStream } from '../../src/format/ipc-message.js';
import type { FrameRef } from '../../src/names.js';
import { ParquetCodec } from '../../src/format/parquet/parquet-codec.js';
import { readParquetFooter } from '../../src/format/parquet/parquet-footer.js';

/** A local connector that serves ranges natively (as an object store does), by positioned reads. */
class RangedLocalConnector extends LocalConnector {
  override async getRange(key: string, offset: number, length: number): Promise<Uint8Array | undefined> {
    const path = this.localPath(key);
    const handle = await open(path, 'r').catch(() => undefined);
    if (!handle) return undefined;
    try {
      const buffer = new Uint8Array(length);
      const { bytesRead } = await handle.read(buffer, 0, length, offset);
      return buffer.subarray(0, bytesRead);
    } finally {
      await handle.close();
    }
  }
}

/** A local store whose reads can be damaged in flight, once or always, and which may serve ranges. */
class FaultyConnector extends ObjectLayout {
  /** Byte offsets to flip in what the next reads of each object return, and how many reads to damage. */
  readonly faults = new Map<string, { at: number; reads: number }>();
  wholeReads = 0;
  rangedReads = 0;

  constructor(root: string, ranged: boolean) {
    super(ranged ? new RangedLocalConnector({ root, fsync: false }) : new LocalConnector({ root, fsync: false }));
  }

  private damage(id: string, bytes: Uint8Array, offset: number): Uint8Array {
    const fault = this.faults.get(id);
    if (!fault || fault.reads === 0) return bytes;
    const at = fault.at - offset;
    if (at >= 0 && at < bytes.byteLength) bytes[at] = bytes[at]! ^ 0x04;
    return bytes;
  }

  override async getSegment(ref: FrameRef, id: string): Promise<Uint8Array> {
    this.wholeReads++;
    const bytes = this.damage(id, await super.getSegment(ref, id), 0);
    const fault = this.faults.get(id);
    if (fault) fault.reads--;
    return bytes;
  }

  override async getSegmentRanges(ref: FrameRef, id: string, ranges: readonly ByteRange[]): Promise<Uint8Array[]> {
    this.rangedReads++;
    const parts = await super.getSegmentRanges(ref, id, ranges);
    return parts.map((part, i) => this.damage(id, part, ranges[i]!.start));
  }
}

const ref = { bucket: 'b', name: 'f' };
const rows = 200_000;
const table = new Table({
  t: makeVector(BigInt64Array.from({ length: rows }, (_, i) => BigInt(i) * 1000n)),
  x: makeVector(Float64Array.from({ length: rows }, (_, i) => i / 3)),
  y: makeVector(Float64Array.from({ length: rows }, (_, i) => -i)),
});

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function store(ranged: boolean, engineOptions: ConstructorParameters<typeof HangarEngine>[2] = {}) {
  const root = await mkdtemp(join(tmpdir(), 'hangar-verified-reads-'));
  const connector = new FaultyConnector(root, ranged);
  await connector.open();
  const codec = new ParquetCodec(2);
  const engine = new HangarEngine(connector, codec, { readCacheBytes: 0, ...engineOptions });
  cleanups.push(async () => {
    await engine.close();
    await codec.close();
    await connector.close();
    await rm(root, { recursive: true, force: true });
  });
  // One batch: one segment, cut into row groups by rowGroupBytes.
  await engine.put(ref, 'replace', (async function* () {
    yield* splitIpcStream(tableToIPC(table, 'stream'));
  })());
  const manifest = (await connector.getManifest(ref))!;
  const segment = manifest.segments[0]!;
  const file = await connector.getSegment(ref, segment.id);
  connector.wholeReads = 0;
  return { engine, connector, segment, file };
}

async function readAll(engine: HangarEngine, columns?: string[]): Promise<Table> {
  const stream = await engine.read(ref, columns ? { columns } : {});
  const messages: IpcMessage[] = [];
  for await (const message of stream.messages) messages.push(message);
  return tableFromIPC(joinIpcStream(messages));
}

/** Where in the file the last row group's chunk of column `name` lies. */
function lastGroupChunk(file: Uint8Array, name: string): { start: number; end: number } {
  const groups = readParquetFooter(file).rowGroups;
  const chunk = groups.at(-1)!.columns.find((c) => c.path[0] === name)!;
  return { start: chunk.dataPageOffset, end: chunk.dataPageOffset + chunk.totalCompressedSize };
}

describe('verified reads', () => {
  it('refuses a segment of several row groups damaged in its last group, before sending any of it', async () => {
    const { engine, connector, segment, file } = await store(false, { rowGroupBytes: 1024 * 1024 });
    expect(segment.rowGroups).toBeGreaterThanOrEqual(4);
    connector.faults.set(segment.id, { at: lastGroupChunk(file, 'x').end - 8, reads: Infinity });
    const stream = await engine.read(ref);
    const sent: unknown[] = [];
    const failure = await (async () => {
      try {
        for await (const message of stream.messages) if (message.body.byteLength > 0) sent.push(message);
      } catch (error) {
        return error;
      }
      return undefined;
    })();
    expect(failure).toBeInstanceOf(DataLossError);
    expect((failure as Error).message).toContain(`segment ${segment.id} of frame 'f' in bucket 'b' (read at version 1) is damaged`);
    expect(sent).toEqual([]);
  });

  it('serves the exact data when only one fetch was damaged, in any row group', async () => {
    const { engine, connector, segment, file } = await store(false, { rowGroupBytes: 1024 * 1024 });
    connector.faults.set(segment.id, { at: lastGroupChunk(file, 'y').end - 8, reads: 1 });
    const back = await readAll(engine);
    expect([...back.getChild('y')!]).toEqual([...table.getChild('y')!]);
    expect([...back.getChild('x')!].slice(-3)).toEqual([...table.getChild('x')!].slice(-3));
    expect(connector.wholeReads).toBe(2);
  });

  it('checks ranged reads by the pages fetched: damage elsewhere is not read, damage in them is refused', async () => {
    const { engine, connector, segment, file } = await store(true);
    expect(segment.pageCrcs).toBe(true);
    // Damage in column y, a projection of x: only x's pages (and the footer) are fetched and checked.
    connector.faults.set(segment.id, { at: lastGroupChunk(file, 'y').end - 8, reads: Infinity });
    const x = await readAll(engine, ['x']);
    expect([...x.getChild('x')!]).toEqual([...table.getChild('x')!]);
    expect(connector.rangedReads).toBeGreaterThan(0);
    expect(connector.wholeReads).toBe(0);
    // Damage in x: the ranged read refuses it, the whole fetch refuses it again, DATA_LOSS.
    connector.faults.set(segment.id, { at: lastGroupChunk(file, 'x').end - 8, reads: Infinity });
    await expect(readAll(engine, ['x'])).rejects.toThrow(DataLossError);
    expect(connector.wholeReads).toBe(1);
    // And an unprojected read of the y-damaged file is refused by y's page CRC (a whole file whose
    // pages carry CRCs is checked page by page as the values are copied out).
    connector.faults.set(segment.id, { at: lastGroupChunk(file, 'y').end - 8, reads: Infinity });
    await expect(readAll(engine)).rejects.toThrow(/is damaged: column 'y': the page at byte \d+ has CRC-32 [0-9a-f]{8}, its header records/);
  });

  it('answers a segment missing from the store as DATA_LOSS while the frame exists, NOT_FOUND once it is gone', async () => {
    const { engine, connector, segment } = await store(false);
    await connector.deleteSegments(ref, [segment.id]);
    await expect(readAll(engine)).rejects.toThrow(
      new RegExp(`segment ${segment.id} of frame 'f' in bucket 'b' \\(read at version 1\\) is damaged: it is missing from the store`),
    );
    await expect(readAll(engine)).rejects.toBeInstanceOf(DataLossError);
    // A frame removed as a whole (purge, or its bucket deleted) while being read stays NOT_FOUND.
    const stream = await engine.read(ref);
    await connector.deleteFrame(ref);
    await expect((async () => {
      for await (const message of stream.messages) void message;
    })()).rejects.toMatchObject({ code: 'NOT_FOUND' });
  });
});
