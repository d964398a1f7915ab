/**
 * A write-ahead log in local files. Each file is zero-filled (a page per write, see
 * {@link zeroFillInPages}) and synced before it takes records, so a group commit costs one
 * vectored `pwritev` on a file opened with O_DSYNC, which flushes only data blocks (no file-size
 * change, no inode write): about 0.12 ms for 1 KB here against 0.18 ms for an appending write and
 * `fdatasync`. A file whose entries are all rolled is **recycled**: renamed to a spare in the stream's
 * directory and later renamed back as the next file, with a new header, instead of being deleted
 * and a new one zero-filled (which wrote every logged byte twice and synced 32 MiB at once while
 * the pushes' syncs waited behind it). A file's header holds a random nonce, and its records' CRCs
 * continue from the nonce's CRC, so the records of a recycled file's previous use never read as
 * records of its current one: the scan at recovery stops at the first record that does not match,
 * as it stops at zeros or a torn write. A group of up to 256 KiB is written on the event loop's
 * thread, as Redis' `appendfsync
 * always` makes its write and fsync on its one thread: a trip through libuv's thread pool cost more
 * than the sync itself on a quiet machine (waking a pool thread, then the loop), and while the loop
 * waits for the disk, every push arriving queues in the sockets and is read at once by the next
 * turn, into the next group. On a loaded machine the pool was faster (see `poolNext`): the log
 * keeps each path's mean latency and takes the faster. Larger groups go through the pool, so the
 * loop parses the next pushes meanwhile.
 * The next file is prepared in the background while the current one fills.
 */
import { randomBytes } from 'node:crypto';
import { constants, writeSync, writevSync } from 'node:fs';
import { Worker } from 'node:worker_threads';
import { type FileHandle, mkdir, open, readFile, readdir, rename, rm, stat, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { StorageError } from '../../errors.js';
import { compareStreamIds, type StreamId, ZERO_ID } from './stream-id.js';
import { crc32 } from '../../format/crc32.js';
import { scanRecords } from './wal-framing.js';
import { type WalRecord, type WriteAheadLog, decodeWalRecord, framedWalParts } from './write-ahead-log.js';

/** Options of {@link LocalWal}. */
export interface LocalWalOptions {
  /** Bytes of each preallocated log file (default 32 MiB). */
  readonly fileBytes?: number;
  /** Released files kept for reuse as later files (default 2; 0: delete them, as before recycling). */
  readonly spareFiles?: number;
}

/** Buffers one `pwritev` takes (Linux' IOV_MAX); a group with more is written from one joined buffer. */
const MAX_PARTS = 1024;
/**
 * Groups up to this size are written on the event loop's thread; larger ones through the thread
 * pool, whose trip costs little beside their sync, while the loop reads and parses the next pushes.
 */
const INLINE_WRITE_BYTES = 256 * 1024;
/** Every this many small group writes, the path not in use is tried, so a change of disk or load is noticed. */
const PROBE_EVERY = 32;
/** Weight of the newest write in a path's running mean latency. */
const LATENCY_WEIGHT = 0.2;
/**
 * A write on the loop's thread blocks every other call while it syncs: when those writes take longer
 * than this on average (a slow or network disk), small groups go through the pool whatever is faster.
 */
const MAX_INLINE_MS = 1;

/**
 * Writes `parts` at `position` with one vectored write (more than {@link MAX_PARTS} buffers are
 * joined first); a short write, which regular files do not make, goes on from where it stopped.
 */
function writePartsAt(fd: number, parts: readonly Uint8Array[], total: number, position: number): void {
  const first = parts[0]!;
  const written = parts.length === 1 ? writeSync(fd, first, 0, first.byteLength, position) : parts.length <= MAX_PARTS ? writevSync(fd, parts as Uint8Array[], position) : 0;
  if (written >= total) return;
  const all = Buffer.concat(parts, total);
  for (let done = written; done < total; ) done += writeSync(fd, all, done, total - done, position + done);
}

const FILE_PATTERN = /^wal-(\d{10})\.log$/;
const fileName = (index: number): string => `wal-${String(index).padStart(10, '0')}.log`;
/** Released files waiting for reuse: never read at recovery (only `wal-*.log` files are). */
const SPARE_PATTERN = /^recycle-(\d{10})\.spare$/;
const spareName = (index: number): string => `recycle-${String(index).padStart(10, '0')}.spare`;

/** Bytes of a page-cache page: the zero-fill's write size (see {@link zeroFillInPages}). */
const PAGE_BYTES = 4096;
/** The zero-fill's thread: one 4 KiB write per page, then fdatasync (CommonJS, run with `eval`). */
const PAGE_FILL_SOURCE = `
const { workerData } = require('node:worker_threads');
const fs = require('node:fs');
const fd = fs.openSync(workerData.path, 'r+');
try {
  const page = Buffer.alloc(${PAGE_BYTES});
  for (let offset = 0; offset < workerData.size; offset += ${PAGE_BYTES}) fs.writeSync(fd, page, 0, ${PAGE_BYTES}, offset);
  fs.fdatasyncSync(fd);
} finally {
  fs.closeSync(fd);
}
`;

/**
 * Zero-fills `path` (created) to `size` bytes one 4 KiB page per write and syncs it, on a thread of
 * its own (8,192 writes through libuv's pool would each cost the event loop a callback): each page
 * is then cached as a folio of its own, so an append writes back only the pages it touches. Written
 * through the cache in large writes, the file was cached in large folios (2 MiB on Linux 6.18's
 * ext4), and each small synced append dirtied and wrote back a whole folio: /proc/PID/io
 * write_bytes 2,097,152 per 1,044-byte append. False when `size` is not whole pages or the thread
 * failed: the caller then writes the zeros in large writes (correct, only slower to sync).
 */
export function zeroFillInPages(path: string, size: number): Promise<boolean> {
  if (size % PAGE_BYTES !== 0) return Promise.resolve(false);
  return new Promise((resolve) => {
    let worker: Worker;
    try {
      worker = new Worker(PAGE_FILL_SOURCE, { eval: true, workerData: { path, size } });
    } catch {
      resolve(false);
      return;
    }
    worker.once('error', () => resolve(false));
    worker.once('exit', (code) => resolve(code === 0));
  });
}

/**
 * A log file's header: `HANGWAL2`, an 8-byte random nonce, 12 zero bytes, and the CRC-32 of the
 * 28 bytes before it. Records follow it; files without one (written before recycling) hold
 * records from offset 0 with CRCs of their payload alone.
 */
export const LOG_HEADER_BYTES = 32;
const MAGIC = Buffer.from('HANGWAL2', 'latin1');

/** A header with a new random nonce, and the seed its file's records' CRCs continue from. */
export function newLogHeader(): { header: Buffer; seed: number } {
  const header = Buffer.alloc(LOG_HEADER_BYTES);
  MAGIC.copy(header, 0);
  const nonce = randomBytes(8);
  nonce.copy(header, 8);
  header.writeUInt32LE(crc32(header.subarray(0, LOG_HEADER_BYTES - 4)), LOG_HEADER_BYTES - 4);
  return { header, seed: crc32(nonce) };
}

/**
 * Where a file's records start and the seed of their CRCs: after a valid header, with its nonce's
 * CRC; at 0 with seed 0 for a file without a header (zeros, or records written before recycling);
 * undefined for a header that does not check (a crash while it was rewritten: the file held no
 * records of its new use yet, so there are none to read).
 */
export function logFileStart(bytes: Uint8Array): { start: number; seed: number } | undefined {
  if (bytes.byteLength < MAGIC.byteLength || !MAGIC.equals(bytes.subarray(0, MAGIC.byteLength))) return { start: 0, seed: 0 };
  if (bytes.byteLength < LOG_HEADER_BYTES) return undefined;
  const view = Buffer.from(bytes.buffer, bytes.byteOffset, LOG_HEADER_BYTES);
  if (crc32(view.subarray(0, LOG_HEADER_BYTES - 4)) !== view.readUInt32LE(LOG_HEADER_BYTES - 4)) return undefined;
  return { start: LOG_HEADER_BYTES, seed: crc32(view.subarray(8, 16)) };
}

interface LogFile {
  readonly index: number;
  readonly size: number;
  /** The seed of this file's records' CRCs (its header's nonce's CRC). */
  readonly seed: number;
  /** Read whole at recovery: its pages may be cached in large folios (see {@link zeroFillInPages}), so it is never recycled. */
  readonly readWhole?: boolean;
  lastId: StreamId;
}

/** A file ready to take records. */
interface OpenLogFile {
  readonly file: LogFile;
  readonly handle: FileHandle;
}

/** A stream's log as preallocated files in one directory. */
export class LocalWal implements WriteAheadLog {
  private readonly fileBytes: number;
  private readonly spareLimit: number;
  private readonly files: LogFile[] = [];
  /** Released files (`recycle-N.spare`), their renames synced: each can become a later file. */
  private readonly spares: number[] = [];
  /** The highest file index in use or prepared: each new file takes the next (never one in use). */
  private lastIndex = 0;
  private spareCounter = 0;
  private handle: FileHandle | undefined;
  private position = 0;
  private next: Promise<OpenLogFile> | undefined;
  /** Running mean latency (ms) of small group writes made on the loop's thread, and through the pool (0: none yet). */
  private inlineMs = 0;
  private poolMs = 0;
  private smallWrites = 0;

  /** @param directory - the stream's directory (created if absent) */
  constructor(
    private readonly directory: string,
    options: LocalWalOptions = {},
  ) {
    this.fileBytes = options.fileBytes ?? 32 * 1024 * 1024;
    this.spareLimit = options.spareFiles ?? 2;
  }

  /**
   * @inheritdoc
   * Appends never go on in a file written before: the log takes a fresh file (a spare, with a new
   * nonce, or a new zero-filled one), so no record of this run can ever join up with what a torn
   * write left after the valid records (the blocks of one write may reach the disk in any order);
   * and the files read here are cached whole (in large folios), so they are never written again.
   */
  async recover(): Promise<WalRecord[]> {
    await mkdir(this.directory, { recursive: true });
    const names = await readdir(this.directory);
    const indexes = names
      .map((name) => FILE_PATTERN.exec(name))
      .filter((match): match is RegExpExecArray => match !== null)
      .map((match) => Number(match[1]))
      .sort((a, b) => a - b);
    const records: WalRecord[] = [];
    for (const index of indexes) {
      const bytes = await readFile(join(this.directory, fileName(index)));
      const start = logFileStart(bytes);
      const scanned = start ? scanRecords(bytes, start.start, start.seed) : { payloads: [] };
      let lastId = ZERO_ID;
      for (const payload of scanned.payloads) {
        const record = decodeWalRecord(payload);
        records.push(record);
        lastId = record.lastId;
      }
      this.files.push({ index, size: bytes.byteLength, seed: start?.seed ?? 0, lastId, readWhole: true });
    }
    for (const name of names) {
      const match = SPARE_PATTERN.exec(name);
      if (!match) continue;
      const path = join(this.directory, name);
      const size = (await stat(path)).size;
      if (size === this.fileBytes && this.spares.length < this.spareLimit) this.spares.push(Number(match[1]));
      else await unlink(path);
      this.spareCounter = Math.max(this.spareCounter, Number(match[1]));
    }
    this.lastIndex = this.files.at(-1)?.index ?? 0;
    const current = await this.prepareFile(this.fileBytes);
    this.files.push(current.file);
    this.handle = current.handle;
    this.position = LOG_HEADER_BYTES;
    return records;
  }

  /** @inheritdoc */
  async append(records: readonly WalRecord[]): Promise<void> {
    let current = this.files.at(-1)!;
    let parts = framedWalParts(records, current.seed);
    let total = 0;
    for (const part of parts) total += part.byteLength;
    if (this.position + total > current.size) {
      // The rest of this file stays as it is (zeros, or records of its previous use): the scan ends
      // there and goes on with the next file, whose records have another seed. The next file is
      // the prepared one when the group fits it; else a file of the group's size takes the next
      // index, and the prepared one (empty) is put aside, so files stay in the order of their records.
      const needed = LOG_HEADER_BYTES + total;
      let prepared = await this.takeNext();
      if (prepared && prepared.file.size < needed) {
        await this.putAside(prepared);
        prepared = undefined;
      }
      prepared ??= await this.prepareFile(Math.max(needed, this.fileBytes));
      await this.handle?.close();
      this.files.push(prepared.file);
      this.handle = prepared.handle;
      this.position = LOG_HEADER_BYTES;
      current = prepared.file;
      parts = framedWalParts(records, current.seed);
    }
    try {
      // O_DSYNC: the write returns once the data is on disk (one system call).
      if (total > INLINE_WRITE_BYTES) await this.writeInPool(parts, total, this.position);
      else {
        const pool = this.poolNext();
        const started = performance.now();
        if (pool) await this.writeInPool(parts, total, this.position);
        else writePartsAt(this.handle!.fd, parts, total, this.position);
        const took = performance.now() - started;
        if (pool) this.poolMs = this.poolMs === 0 ? took : this.poolMs + LATENCY_WEIGHT * (took - this.poolMs);
        else this.inlineMs = this.inlineMs === 0 ? took : this.inlineMs + LATENCY_WEIGHT * (took - this.inlineMs);
      }
    } catch (error) {
      throw new StorageError('file', `could not write the stream's log in ${this.directory}`, error);
    }
    this.position += total;
    current.lastId = records.at(-1)!.lastId;
    // Prepare the following file once this one is half full, so a switch rarely waits.
    if (!this.next && this.position > current.size / 2) this.next = this.prepareFile(this.fileBytes);
  }

  /**
   * Whether the next small group goes through the thread pool: when its writes have been faster
   * than the loop's own (on a quiet machine the loop's are, by the pool's trip; on a loaded one a
   * pool thread, which sleeps in I/O, is scheduled sooner after its sync than the busy loop
   * thread: 2.5x here), or when the loop's own writes block it longer than {@link MAX_INLINE_MS};
   * the other path is tried every {@link PROBE_EVERY} writes.
   */
  private poolNext(): boolean {
    const faster = this.inlineMs > MAX_INLINE_MS || (this.poolMs > 0 && this.poolMs < this.inlineMs);
    return ++this.smallWrites % PROBE_EVERY === 0 ? !faster : faster;
  }

  /** Writes a large group through the thread pool (one vectored write; see {@link writePartsAt}). */
  private async writeInPool(parts: readonly Uint8Array[], total: number, position: number): Promise<void> {
    const buffers = parts.length > MAX_PARTS ? [Buffer.concat(parts, total)] : (parts as Uint8Array[]);
    const { bytesWritten } = await this.handle!.writev(buffers, position);
    if (bytesWritten >= total) return;
    const all = Buffer.concat(parts, total);
    for (let done = bytesWritten; done < total; ) done += (await this.handle!.write(all, done, total - done, position + done)).bytesWritten;
  }

  /**
   * @inheritdoc
   * A released file of the usual size becomes a spare (up to `spareFiles`), renamed so recovery
   * never reads it; the rename is synced before the spare can be reused.
   */
  async release(id: StreamId): Promise<void> {
    while (this.files.length > 1 && compareStreamIds(this.files[0]!.lastId, id) <= 0) {
      const file = this.files.shift()!;
      const path = join(this.directory, fileName(file.index));
      if (file.readWhole || file.size !== this.fileBytes || this.spares.length >= this.spareLimit) await unlink(path).catch(() => undefined);
      else await this.makeSpare(path);
    }
  }

  /** Renames a file of the usual size holding nothing needed to a spare (synced), or deletes it. */
  private async makeSpare(path: string): Promise<void> {
    const spare = ++this.spareCounter;
    try {
      await rename(path, join(this.directory, spareName(spare)));
      await this.syncDirectory();
      this.spares.push(spare);
    } catch {
      await unlink(path).catch(() => undefined);
    }
  }


  /** @inheritdoc */
  async close(): Promise<void> {
    await this.handle?.close();
    this.handle = undefined;
    const next = await this.next?.catch(() => undefined);
    await next?.handle.close();
    this.next = undefined;
  }


  /** @inheritdoc */
  async destroy(): Promise<void> {
    await this.close();
    await rm(this.directory, { recursive: true, force: true });
  }

  /** The prepared next file, if one was prepared and its preparation did not fail. */
  private async takeNext(): Promise<OpenLogFile | undefined> {
    const prepared = this.next;
    this.next = undefined;
    return prepared?.catch(() => undefined);
  }

  /** An unused prepared file that does not fit a group: closed, and kept as a spare or deleted. */
  private async putAside(prepared: OpenLogFile): Promise<void> {
    await prepared.handle.close();
    const path = join(this.directory, fileName(prepared.file.index));
    if (prepared.file.size === this.fileBytes && this.spares.length < this.spareLimit) await this.makeSpare(path);
    else await unlink(path).catch(() => undefined);
  }

  private async openFile(index: number): Promise<FileHandle> {
    return open(join(this.directory, fileName(index)), constants.O_RDWR | constants.O_DSYNC);
  }

  private async syncDirectory(): Promise<void> {
    const directory = await open(this.directory, 'r');
    await directory.sync().finally(() => directory.close());
  }

  /**
   * The next file (the next index, taken now, before any wait, so files are numbered in the order
   * they are prepared) of `size` bytes, ready for records: a spare when one fits, else a new
   * zero-filled file.
   */
  private async prepareFile(size: number): Promise<OpenLogFile> {
    const index = ++this.lastIndex;
    const spare = size === this.fileBytes ? this.spares.shift() : undefined;
    if (spare === undefined) return this.createFile(index, size);
    try {
      return await this.reuseFile(join(this.directory, spareName(spare)), index);
    } catch {
      await unlink(join(this.directory, spareName(spare))).catch(() => undefined);
      return this.createFile(index, size);
    }
  }

  /**
   * Makes a spare file `index`: a new header (new nonce) is written and synced first, then the file
   * is renamed into place and the directory synced, so a file named `wal-*.log` never shows its
   * previous records as valid. Its cached pages are page-sized folios (from its zero-fill's
   * appends), so appends to it write back only what they touch.
   */
  private async reuseFile(path: string, index: number): Promise<OpenLogFile> {
    const { header, seed } = newLogHeader();
    const handle = await open(path, 'r+');
    try {
      await handle.write(header, 0, header.byteLength, 0);
      await handle.datasync();
    } finally {
      await handle.close();
    }
    await rename(path, join(this.directory, fileName(index)));
    await this.syncDirectory();
    return { file: { index, size: this.fileBytes, seed, lastId: ZERO_ID }, handle: await this.openFile(index) };
  }

  /** Creates a zero-filled file of `size` bytes with a new header, synced with its directory entry. */
  private async createFile(index: number, size: number): Promise<OpenLogFile> {
    const path = join(this.directory, fileName(index));
    const { header, seed } = newLogHeader();
    const handle = await open(path, 'w+');
    try {
      if (!(await zeroFillInPages(path, size))) {
        // Through the page cache (large folios: see zeroFillInPages). Large writes: each write is a
        // trip through the thread pool, and the zeros cost nothing to allocate.
        const zeros = Buffer.alloc(Math.min(size, 8 * 1024 * 1024));
        for (let offset = 0; offset < size; offset += zeros.byteLength) {
          await handle.write(zeros, 0, Math.min(zeros.byteLength, size - offset), offset);
        }
      }
      await handle.write(header, 0, header.byteLength, 0);
      await handle.sync();
      await this.syncDirectory();
    } catch (error) {
      await handle.close();
      throw new StorageError('file', `could not prepare the stream's log file ${path}`, error);
    } finally {
      await handle.close().catch(() => undefined);
    }
    return { file: { index, size, seed, lastId: ZERO_ID }, handle: await this.openFile(index) };
  }
}
