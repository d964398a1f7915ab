/**
 * A write-ahead log in local files. Each file is zero-filled and synced before it takes records, so
 * a group commit costs one vectored `pwritev` on a file opened with O_DSYNC, which flushes only data
 * blocks (no file-size change, no journal commit): about 0.2 ms here against 4 ms for an appending
 * write. A group of up to 256 KiB is written on the event loop's thread, as Redis' `appendfsync
 * always` makes its write and fsync on its one thread: a trip through libuv's thread pool cost more
 * than the sync itself on a quiet machine (waking a pool thread, then the loop), and while the loop
 * waits for the disk, every push arriving queues in the sockets and is read at once by the next
 * turn, into the next group. On a loaded machine the pool was faster (see `poolNext`): the log
 * keeps each path's mean latency and takes the faster. Larger groups go through the pool, so the
 * loop parses the next pushes meanwhile.
 * The next file is prepared in the background while the current one fills.
 */
import { constants, writeSync, writevSync } from 'node:fs';
import { type FileHandle, mkdir, open, readFile, readdir, rm, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { StorageError } from '../../errors.js';
import { compareStreamIds, type StreamId, ZERO_ID } from './stream-id.js';
import { frameRecords, scanRecords } from './wal-framing.js';
import { type WalRecord, type WriteAheadLog, decodeWalRecord, framedWalParts } from './write-ahead-log.js';

/** Options of {@link LocalWal}. */
export interface LocalWalOptions {
  /** Bytes of each preallocated log file (default 32 MiB). */
  readonly fileBytes?: number;
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

interface LogFile {
  readonly index: number;
  readonly size: number;
  lastId: StreamId;
}

/** A stream's log as preallocated files in one directory. */
export class LocalWal implements WriteAheadLog {
  private readonly fileBytes: number;
  private readonly files: LogFile[] = [];
  private handle: FileHandle | undefined;
  private position = 0;
  private next: Promise<{ file: LogFile; handle: FileHandle }> | undefined;
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
  }

  /** @inheritdoc */
  async recover(): Promise<WalRecord[]> {
    await mkdir(this.directory, { recursive: true });
    const indexes = (await readdir(this.directory))
      .map((name) => FILE_PATTERN.exec(name))
      .filter((match): match is RegExpExecArray => match !== null)
      .map((match) => Number(match[1]))
      .sort((a, b) => a - b);
    const records: WalRecord[] = [];
    let end = 0;
    for (const index of indexes) {
      const bytes = await readFile(join(this.directory, fileName(index)));
      const scanned = scanRecords(bytes);
      let lastId = ZERO_ID;
      for (const payload of scanned.payloads) {
        const record = decodeWalRecord(payload);
        records.push(record);
        lastId = record.lastId;
      }
      this.files.push({ index, size: bytes.byteLength, lastId });
      end = scanned.end;
    }
    const last = this.files.at(-1);
    if (last) {
      this.handle = await this.openFile(last.index);
      this.position = end;
    } else {
      const first = await this.createFile(1, this.fileBytes);
      this.files.push(first.file);
      this.handle = first.handle;
      this.position = 0;
    }
    return records;
  }

  /** @inheritdoc */
  async append(records: readonly WalRecord[]): Promise<void> {
    const parts = framedWalParts(records);
    let total = 0;
    for (const part of parts) total += part.byteLength;
    let current = this.files.at(-1)!;
    if (this.position + total > current.size) {
      // The rest of this file stays zero: the scan ends there and goes on with the next file.
      const prepared = total > this.fileBytes ? await this.createFile(current.index + 1, total) : await this.takeNext(current.index + 1);
      await this.handle?.close();
      this.files.push(prepared.file);
      this.handle = prepared.handle;
      this.position = 0;
      current = prepared.file;
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
    if (!this.next && this.position > current.size / 2) this.next = this.createFile(current.index + 1, this.fileBytes);
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

  /** @inheritdoc */
  async release(id: StreamId): Promise<void> {
    while (this.files.length > 1 && compareStreamIds(this.files[0]!.lastId, id) <= 0) {
      const file = this.files.shift()!;
      await unlink(join(this.directory, fileName(file.index))).catch(() => undefined);
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

  private async takeNext(index: number): Promise<{ file: LogFile; handle: FileHandle }> {
    const prepared = this.next ?? this.createFile(index, this.fileBytes);
    this.next = undefined;
    return prepared;
  }

  private async openFile(index: number): Promise<FileHandle> {
    return open(join(this.directory, fileName(index)), constants.O_RDWR | constants.O_DSYNC);
  }

  /** Creates a zero-filled file of `size` bytes, synced with its directory entry. */
  private async createFile(index: number, size: number): Promise<{ file: LogFile; handle: FileHandle }> {
    const path = join(this.directory, fileName(index));
    const handle = await open(path, 'w+');
    try {
      // Large writes: each write is a trip through the thread pool, and the zeros cost nothing to allocate.
      const zeros = Buffer.alloc(Math.min(size, 8 * 1024 * 1024));
      for (let offset = 0; offset < size; offset += zeros.byteLength) {
        await handle.write(zeros, 0, Math.min(zeros.byteLength, size - offset), offset);
      }
      await handle.sync();
      const directory = await open(this.directory, 'r');
      await directory.sync().finally(() => directory.close());
    } catch (error) {
      await handle.close();
      throw new StorageError('file', `could not prepare the stream's log file ${path}`, error);
    } finally {
      await handle.close().catch(() => undefined);
    }
    return { file: { index, size, lastId: ZERO_ID }, handle: await this.openFile(index) };
  }
}
