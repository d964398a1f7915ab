// Checksums of stored segments and manifests: the plain writer's page CRCs are what the Parquet spec
// means (pyarrow 17 verifies them with page_checksum_verification=True, and refuses a flipped byte);
// the codec verifies whole files against the file CRC and partial (ranged) fetches against the
// footer CRC and the CRCs of the pages it reads; manifests carry their own CRC-32 and older ones
// without it stay readable.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Int32, Table, TimestampMicrosecond, tableFromIPC, vectorFromArray } from 'apache-arrow';
import { afterAll, describe, expect, it } from 'vitest';
import { crc32 } from '../../src/format/crc32.js';
import { DataLossError } from '../../src/errors.js';
import { type FrameManifest, decodeManifest, encodeManifest } from '../../src/format/manifest.js';
import { PARQUET_TRAILER_BYTES, footerLength, projectedRanges, readParquetFooter } from '../../src/format/parquet/parquet-footer.js';
import { CorruptSegmentError, ParquetCodec } from '../../src/format/parquet/parquet-codec.js';
import { type ChecksummedParquet, encodePlainParquet } from '../../src/format/parquet/plain-parquet-writer.js';
import { encapsulateMessage, splitIpcStream } from '../../src/format/ipc-message.js';
import { coveredTable, ipcOf, rowsOf } from './parquet-fixtures.js';

const VENV_PYTHON = join(import.meta.dirname, '../../.venv-interop/bin/python');
const codec = new ParquetCodec(1);
afterAll(() => codec.close());

/** A segment file as the codec writes it (through IPC), with its checksums. */
function encodeSegmentForTest(table: Table): ChecksummedParquet {
  const ipc = ipcOf(table);
  return encodePlainParquet(tableFromIPC(ipc), { rowGroupRows: 1 << 20, statisticsColumns: [], arrowSchemaMessage: encapsulateMessage(splitIpcStream(ipc)[0]!) });
}

/** The file with everything but its footer and the chunks of `columns` zeroed, as a ranged fetch leaves it. */
function partialOf(file: Uint8Array, columns: string[], bytes = file): Uint8Array {
  // The ranges of the intact file; the bytes (perhaps damaged) from `bytes`.
  const metadata = readParquetFooter(file);
  const footerStart = file.byteLength - PARQUET_TRAILER_BYTES - footerLength(file);
  const partial = new Uint8Array(file.byteLength);
  for (const range of projectedRanges(metadata, [0], new Set(columns), footerStart)) partial.set(bytes.subarray(range.start, range.end), range.start);
  partial.set(bytes.subarray(footerStart), footerStart);
  return partial;
}

/** Where a column's chunk lies. */
function chunkOf(file: Uint8Array, column: string): { start: number; end: number } {
  const chunk = readParquetFooter(file).rowGroups[0]!.columns.find((c) => c.path[0] === column)!;
  return { start: chunk.dataPageOffset, end: chunk.dataPageOffset + chunk.totalCompressedSize };
}

function flipped(file: Uint8Array, at: number): Uint8Array {
  const copy = file.slice();
  copy[at] = copy[at]! ^ 0x01;
  return copy;
}

describe('segment checksums', () => {
  it('writes page CRCs that pyarrow verifies, and pyarrow refuses a flipped byte', async () => {
    if (!existsSync(VENV_PYTHON)) throw new Error(`pyarrow's venv is missing (${VENV_PYTHON}): run \`bash tests/interop/setup-venv.sh\``);
    const table = coveredTable(2000, 5);
    const { file } = encodeSegmentForTest(table);
    const directory = await mkdtemp(join(tmpdir(), 'hangar-crc-'));
    try {
      const good = join(directory, 'good.parquet');
      const bad = join(directory, 'bad.parquet');
      await writeFile(good, file);
      const f64 = chunkOf(file, 'f64');
      await writeFile(bad, flipped(file, f64.end - 16));
      const script = `
import sys, pyarrow.parquet as pq
t = pq.read_table(sys.argv[1], page_checksum_verification=True)
print(t.num_rows, t.column("f64").null_count, t.column("i64")[1].as_py())
try:
  pq.read_table(sys.argv[2], page_checksum_verification=True)
  print("bad file read")
except OSError as error:
  print("refused:", error)
try:
  pq.read_table(sys.argv[2], columns=["i64"], page_checksum_verification=True)
  print("other column read")
except OSError as error:
  print("other column refused:", error)
`;
      const run = spawnSync(VENV_PYTHON, ['-c', script, good, bad], { encoding: 'utf8' });
      expect(run.status, run.stderr).toBe(0);
      const [counts, refused, other] = run.stdout.trim().split('\n');
      expect(counts).toBe(`2000 400 ${table.getChild('i64')!.get(1)}`);
      expect(refused).toMatch(/^refused: .*CRC checksum verification failed/);
      // Page CRCs verify what is read: the damage lies outside the i64 column.
      expect(other).toBe('other column read');
    } finally {
      await rm(directory, { recursive: true, force: true });
    }
  });

  it('verifies whole files against the file CRC', async () => {
    const table = coveredTable(500, 3);
    const { file, crc32: whole } = encodeSegmentForTest(table);
    expect(crc32(file)).toBe(whole);
    const options = { rowGroups: [0], batchRows: 1000 };
    expect(rowsOf(tableFromIPC(await codec.decode(file, options, false, { crc32: whole, partial: false })))).toEqual(rowsOf(table));
    await expect(codec.decode(flipped(file, 4000), options, false, { crc32: whole, partial: false })).rejects.toThrow(CorruptSegmentError);
    await expect(codec.decode(flipped(file, 4000), options, false, { crc32: whole, partial: false })).rejects.toThrow(/bytes have CRC-32 [0-9a-f]{8}, the manifest records/);
    // Pages whose values part is empty (every value null) are covered too.
    const nulls = encodeSegmentForTest(new Table({ t: vectorFromArray([null, null, null], new TimestampMicrosecond()), n: vectorFromArray([1, 2, 3], new Int32()) }));
    expect(crc32(nulls.file)).toBe(nulls.crc32);
    // A flipped byte in the footer is found too.
    await expect(codec.decode(flipped(file, file.byteLength - 20), options, false, { crc32: whole, partial: false })).rejects.toThrow(CorruptSegmentError);
  });

  it('verifies whole files whose pages carry CRCs as the values are copied: no flipped byte anywhere is ever served as different data', async () => {
    // One column of each way the reader copies values: fixed-width, widened, bits, variable-length.
    const table = coveredTable(48, 3).select(['i8', 'i64', 'f64', 'flag', 'us_utc', 'text']);
    const { file, crc32: whole, footerCrc32 } = encodeSegmentForTest(table);
    const options = { rowGroups: [0], batchRows: 20 };
    const verify = { crc32: whole, footerCrc32, pageCrcs: true, partial: false };
    const expected = rowsOf(table);
    expect(rowsOf(tableFromIPC(await codec.decode(file, options, false, verify)))).toEqual(expected);
    // A page's damage is found by its own CRC, computed while its values are copied out.
    const f64 = chunkOf(file, 'f64');
    await expect(codec.decode(flipped(file, f64.end - 4), options, false, verify)).rejects.toThrow(/column 'f64': the page at byte \d+ has CRC-32 [0-9a-f]{8}, its header records/);
    // Every byte of the file, flipped in turn: refused as damage, or decoded to exactly the rows
    // written (bytes no reader interprets, such as the leading magic or page statistics).
    let refused = 0;
    for (let at = 0; at < file.byteLength; at++) {
      const outcome = await codec.decode(flipped(file, at), options, false, verify).then(
        (ipc) => rowsOf(tableFromIPC(ipc)),
        (error: unknown) => error,
      );
      if (outcome instanceof CorruptSegmentError) refused++;
      else expect(outcome, `byte ${at} of ${file.byteLength}`).toEqual(expected);
    }
    expect(refused).toBeGreaterThan(file.byteLength * 0.9);
    // A decode of some row groups only cannot vouch for the file: the whole-file CRC decides.
    const twoGroups = encodePlainParquet(tableFromIPC(ipcOf(table)), { rowGroupRows: 24, statisticsColumns: [], arrowSchemaMessage: encapsulateMessage(splitIpcStream(ipcOf(table))[0]!) });
    const twoVerify = { crc32: twoGroups.crc32, footerCrc32: twoGroups.footerCrc32, pageCrcs: true, partial: false };
    const firstGroup = chunkOf(twoGroups.file, 'i64');
    await expect(codec.decode(flipped(twoGroups.file, firstGroup.end - 4), options, false, twoVerify)).rejects.toThrow(/bytes have CRC-32 [0-9a-f]{8}, the manifest records/);
  });

  it('verifies ranged fetches by the footer CRC and the CRCs of the pages read', async () => {
    const table = coveredTable(3000, 4);
    const { file, crc32: whole, footerCrc32 } = encodeSegmentForTest(table);
    const options = { rowGroups: [0], batchRows: 1000, columns: ['f64', 'text'] };
    const verify = { crc32: whole, footerCrc32, partial: true };
    const expected = rowsOf(table.select(['f64', 'text']));
    expect(rowsOf(tableFromIPC(await codec.decode(partialOf(file, ['f64', 'text']), options, false, verify)))).toEqual(expected);
    // Damage in a fetched page: refused.
    const f64 = chunkOf(file, 'f64');
    const damaged = flipped(file, f64.end - 8);
    await expect(codec.decode(partialOf(file, ['f64', 'text'], damaged), options, false, verify)).rejects.toThrow(/column 'f64': the page at byte \d+ has CRC-32/);
    // Damage in a column not fetched: what is read is intact and served.
    const i64 = chunkOf(file, 'i64');
    expect(rowsOf(tableFromIPC(await codec.decode(partialOf(file, ['f64', 'text'], flipped(file, i64.end - 8)), options, false, verify)))).toEqual(expected);
    // Damage in the footer: refused.
    await expect(codec.decode(partialOf(file, ['f64', 'text'], flipped(file, file.byteLength - 30)), options, false, verify)).rejects.toThrow(/its footer has CRC-32/);
    // A partial fetch without a footer CRC cannot be verified: declined (the reader then fetches whole), not decoded.
    await expect(codec.decode(partialOf(file, ['f64']), { ...options, columns: ['f64'] }, false, { crc32: whole, partial: true })).rejects.toThrow(/cannot be verified/);
  });
});

describe('manifest checksums', () => {
  const ref = { bucket: 'b', name: 'f' };
  const manifest: FrameManifest = {
    format: 1,
    version: 3,
    committedAt: '2026-12-07T08:00:00.000Z',
    schema: 'AAAA',
    rows: 10,
    bytes: 80,
    segments: [{ id: 's.parquet', rows: 10, bytes: 80, storedBytes: 400, rowGroups: 1, crc32: '0123abcd' }],
    metadata: { note: 'é ✓' },
  };

  it('ends with its own CRC-32, reads back equal, and refuses any flipped byte', () => {
    const bytes = encodeManifest(manifest);
    const text = Buffer.from(bytes).toString('utf8');
    expect(text).toMatch(/,"crc32":"[0-9a-f]{8}"\}$/);
    expect(JSON.parse(text).rows).toBe(10);
    expect(decodeManifest(bytes, 'f.json', { ref, version: 3 })).toEqual(manifest);
    // Re-encoding a decoded (or restored) manifest computes a fresh checksum.
    expect(Buffer.from(encodeManifest({ ...manifest, crc32: 'deadbeef' } as FrameManifest)).equals(Buffer.from(bytes))).toBe(true);
    for (let at = 0; at < bytes.byteLength; at++) {
      for (const bit of [0x01, 0x20]) {
        const damaged = Buffer.from(bytes);
        damaged[at] = damaged[at]! ^ bit;
        expect(() => decodeManifest(damaged, 'f.json', { ref, version: 3 }), `byte ${at} bit ${bit}`).toThrow(DataLossError);
      }
    }
    expect(() => decodeManifest(bytes, '/store/b/f/manifests/000000000003.json', { ref, version: 4 })).toThrow(
      "the manifest of version 4 of frame 'f' in bucket 'b' (/store/b/f/manifests/000000000003.json) is damaged: it says version 3",
    );
  });

  it('reads manifests written before checksums', () => {
    const old = Buffer.from(JSON.stringify(manifest));
    expect(decodeManifest(old, 'f.json')).toEqual(manifest);
    expect(() => decodeManifest(Buffer.from(JSON.stringify({ ...manifest, crc33: 'x' })), 'f.json')).toThrow(/unknown member\(s\) "crc33"/);
  });
});
