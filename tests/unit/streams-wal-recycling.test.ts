/** The local stream log's recycled files: earlier records never read back, torn records, old-format files, spares. */
import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { LOG_HEADER_BYTES, LocalWal, logFileStart } from '../../src/core/streams/local-wal.js';
import { frameRecords, scanRecords } from '../../src/core/streams/wal-framing.js';
import { type WalRecord, decodeWalRecord, encodeWalRecord } from '../../src/core/streams/write-ahead-log.js';

const roots: string[] = [];
afterAll(async () => {
  for (const root of roots) await rm(root, { recursive: true, force: true });
});

async function directory(): Promise<string> {
  const root = await mkdtemp(join(tmpdir(), 'hangar-wal-recycling-'));
  roots.push(root);
  return root;
}

/** Record `seq`: 1,000 bytes that say which record they are. */
function record(seq: number): WalRecord {
  const payload = Buffer.alloc(1000, seq % 251);
  payload.writeUInt32LE(seq, 0);
  return { lastId: { ms: 1_700_000_000_000, seq }, payload };
}

/** Recovers the log in `dir` as a restarted process would, and closes it. */
async function recoverLog(dir: string, spareFiles?: number): Promise<WalRecord[]> {
  const log = new LocalWal(dir, { fileBytes: FILE_BYTES, ...(spareFiles === undefined ? {} : { spareFiles }) });
  const records = await log.recover();
  await log.close();
  return records;
}

/** The records of a log as their sequence numbers, checking each payload is the one written for it. */
function seqsOf(records: WalRecord[]): number[] {
  return records.map((r) => {
    const payload = Buffer.from(r.payload as Uint8Array);
    expect(payload.equals(record(r.lastId.seq).payload as Buffer)).toBe(true);
    return r.lastId.seq;
  });
}

const FILE_BYTES = 16 * 1024;
const range = (from: number, to: number): number[] => Array.from({ length: to - from + 1 }, (_, i) => from + i);
const walFiles = async (dir: string): Promise<string[]> => (await readdir(dir)).filter((name) => /^wal-\d+\.log$/.test(name)).sort();
const spareFiles = async (dir: string): Promise<string[]> => (await readdir(dir)).filter((name) => name.endsWith('.spare')).sort();

describe('recycled log files', () => {
  it('released files become spares and then later files, whose earlier records are never read back', async () => {
    const dir = await directory();
    const wal = new LocalWal(dir, { fileBytes: FILE_BYTES, spareFiles: 2 });
    expect(await wal.recover()).toEqual([]);
    for (let seq = 1; seq <= 60; seq++) await wal.append([record(seq)]);
    expect((await walFiles(dir)).length).toBeGreaterThanOrEqual(4);
    await wal.release(record(40).lastId);
    expect(await spareFiles(dir)).toHaveLength(2);
    const firstKept = Number(/\d+/.exec((await walFiles(dir))[0]!)![0]);
    for (let seq = 61; seq <= 100; seq++) await wal.append([record(seq)]);
    expect(await spareFiles(dir)).toHaveLength(0); // both taken as later files

    // The taken spares still hold their earlier use's records after the new ones: the scan must stop there.
    let staleSeen = 0;
    for (const name of await walFiles(dir)) {
      const bytes = await readFile(join(dir, name));
      const start = logFileStart(bytes)!;
      const tail = bytes.subarray(scanRecords(bytes, start.start, start.seed).end);
      for (let seq = 1; seq <= 40; seq++) if (tail.indexOf(record(seq).payload as Buffer) >= 0) staleSeen++;
    }
    expect(staleSeen).toBeGreaterThan(0);

    // A crash (no close): a new log on the same directory reads exactly what is unreleased, in order.
    const again = new LocalWal(dir, { fileBytes: FILE_BYTES, spareFiles: 2 });
    const recovered = seqsOf(await again.recover());
    expect(recovered.at(-1)).toBe(100);
    expect(recovered[0]).toBeLessThanOrEqual(41);
    expect(recovered).toEqual(range(recovered[0]!, 100));
    expect(Number(/\d+/.exec((await walFiles(dir))[0]!)![0])).toBe(firstKept);
    await again.append([record(101)]);
    await wal.close();
    await again.close();
    expect(seqsOf(await recoverLog(dir))).toEqual(range(recovered[0]!, 101));
  });

  it('a torn record in a recycled file ends the log there, and appends after recovery go to a new file', async () => {
    const dir = await directory();
    const wal = new LocalWal(dir, { fileBytes: FILE_BYTES, spareFiles: 1 });
    await wal.recover();
    for (let seq = 1; seq <= 40; seq++) await wal.append([record(seq)]);
    await wal.release(record(25).lastId);
    for (let seq = 41; seq <= 70; seq++) await wal.append([record(seq)]);
    await wal.close();
    // Tear the last record: one byte of its payload never reached the disk.
    const last = (await walFiles(dir)).at(-1)!;
    const bytes = await readFile(join(dir, last));
    const start = logFileStart(bytes)!;
    const scanned = scanRecords(bytes, start.start, start.seed);
    expect(seqsOf(scanned.payloads.map(decodeWalRecord)).at(-1)).toBe(70);
    bytes[scanned.end - 10] = bytes[scanned.end - 10]! ^ 0xff;
    await writeFile(join(dir, last), bytes);

    const again = new LocalWal(dir, { fileBytes: FILE_BYTES, spareFiles: 1 });
    const recovered = seqsOf(await again.recover());
    expect(recovered.at(-1)).toBe(69);
    expect(recovered).toEqual(range(recovered[0]!, 69));
    await again.append([record(71)]);
    await again.close();
    const files = await walFiles(dir);
    expect(files.at(-1)).not.toBe(last); // the torn file is not written after
    const final = seqsOf(await recoverLog(dir, 1));
    expect(final).toEqual([...range(recovered[0]!, 69), 71]);
  });

  it('reads files written before recycling (records from offset 0, no header) and never writes after their records', async () => {
    const dir = await directory();
    const old = Buffer.alloc(FILE_BYTES);
    frameRecords([1, 2, 3].map((seq) => encodeWalRecord(record(seq)))).copy(old, 0);
    await writeFile(join(dir, 'wal-0000000001.log'), old);
    const wal = new LocalWal(dir, { fileBytes: FILE_BYTES });
    expect(seqsOf(await wal.recover())).toEqual([1, 2, 3]);
    await wal.append([record(4)]);
    await wal.close();
    expect(await walFiles(dir)).toEqual(['wal-0000000001.log', 'wal-0000000002.log']);
    expect((await readFile(join(dir, 'wal-0000000001.log'))).equals(old)).toBe(true);
    const second = await readFile(join(dir, 'wal-0000000002.log'));
    expect(logFileStart(second)!.start).toBe(LOG_HEADER_BYTES);
    expect(seqsOf(await recoverLog(dir))).toEqual([1, 2, 3, 4]);
  });

  it('a 1 KB append writes back a few KiB, not a large folio of the zero-fill, also after a recovery read the log whole', async () => {
    const dir = await directory();
    const written = async (): Promise<number> => Number(/^write_bytes: (\d+)$/m.exec(await readFile('/proc/self/io', 'utf8'))![1]);
    const options = { fileBytes: 4 * 1024 * 1024 };
    const wal = new LocalWal(dir, options);
    await wal.recover();
    let before = await written();
    for (let seq = 1; seq <= 20; seq++) await wal.append([record(seq)]);
    expect((await written()) - before).toBeLessThan(20 * 64 * 1024); // 2 MiB per append with the zero-fill's folios cached
    await wal.close();
    // The next run reads the files whole (cached in large folios), then appends to a fresh one.
    const again = new LocalWal(dir, options);
    expect(seqsOf(await again.recover())).toEqual(range(1, 20));
    before = await written();
    for (let seq = 21; seq <= 40; seq++) await again.append([record(seq)]);
    expect((await written()) - before).toBeLessThan(20 * 64 * 1024);
    await again.close();
  });

  it('appends into a recycled spare write back a few KiB each, reading nothing', async () => {
    const dir = await directory();
    const io = async (): Promise<[number, number]> => {
      const text = await readFile('/proc/self/io', 'utf8');
      return [Number(/^read_bytes: (\d+)$/m.exec(text)![1]), Number(/^write_bytes: (\d+)$/m.exec(text)![1])];
    };
    const wal = new LocalWal(dir, { fileBytes: 256 * 1024, spareFiles: 1 });
    await wal.recover();
    let seq = 0;
    while ((await walFiles(dir)).length < 3) await wal.append([record(++seq)]);
    await wal.release(record(seq - 1).lastId);
    expect(await spareFiles(dir)).toHaveLength(1);
    while ((await spareFiles(dir)).length > 0) await wal.append([record(++seq)]); // the spare is prepared as the next file
    // A file holds fewer than 250 of these records: after 300 more the log writes to the reused spare.
    for (let i = 0; i < 300; i++) await wal.append([record(++seq)]);
    const [read, before] = await io();
    for (let i = 0; i < 20; i++) await wal.append([record(++seq)]);
    const [readAfter, after] = await io();
    expect(after - before).toBeLessThan(20 * 64 * 1024);
    expect(readAfter - read).toBe(0);
    await wal.close();
  });

  it('a group larger than a file, after the next file was prepared, takes a file of its own after it: no acknowledged record is lost', async () => {
    // Found in review: the oversized group's file took the prepared file's index and overwrote it.
    const dir = await directory();
    const wal = new LocalWal(dir, { fileBytes: FILE_BYTES });
    await wal.recover();
    let seq = 0;
    const acked: number[] = [];
    for (let i = 0; i < 10; i++) {
      await wal.append([record(++seq)]);
      acked.push(seq);
    }
    await new Promise((resolve) => setTimeout(resolve, 200)); // the next file is prepared meanwhile
    const big = Buffer.alloc(20_000, 5);
    big.writeUInt32LE(++seq, 0);
    await wal.append([{ lastId: { ms: 1_700_000_000_000, seq }, payload: big }]);
    acked.push(seq);
    for (let i = 0; i < 40; i++) {
      await wal.append([record(++seq)]);
      acked.push(seq);
    }
    await wal.close();
    const recovered = await recoverLog(dir);
    expect(recovered.map((r) => r.lastId.seq)).toEqual(acked);
    expect(Buffer.from(recovered[10]!.payload as Uint8Array).equals(big)).toBe(true);
  });

  it('a spare is never read, and a file whose header does not check holds no records', async () => {
    const dir = await directory();
    // A spare holding records in the old format (valid CRCs): recovery must not take it for a log file.
    const spare = Buffer.alloc(FILE_BYTES);
    frameRecords([7, 8].map((seq) => encodeWalRecord(record(seq)))).copy(spare, 0);
    await writeFile(join(dir, 'recycle-0000000001.spare'), spare);
    // The last log file: its header was being rewritten when the process stopped (torn); its records are of its previous use.
    const wal = new LocalWal(dir, { fileBytes: FILE_BYTES });
    expect(await wal.recover()).toEqual([]);
    expect(await spareFiles(dir)).toEqual([]); // taken as the first file, with a new header
    await wal.append([record(1)]);
    await wal.close();
    const name = (await walFiles(dir)).at(-1)!;
    const torn = await readFile(join(dir, name));
    torn[LOG_HEADER_BYTES - 1] = torn[LOG_HEADER_BYTES - 1]! ^ 0xff;
    await writeFile(join(dir, name), torn);
    expect(logFileStart(torn)).toBeUndefined();

    const again = new LocalWal(dir, { fileBytes: FILE_BYTES });
    expect(await again.recover()).toEqual([]);
    await again.append([record(2)]);
    await again.close();
    expect(seqsOf(await recoverLog(dir))).toEqual([2]);
  });
});
