/**
 * One live stream: entries get monotonic IDs, go to the write-ahead log in group commits (every
 * append waiting while a sync runs shares the next one), are acknowledged and announced to waiting
 * tailers once durable, and are rolled in the background into the frame's Parquet segments through
 * the engine's ordinary append. Recent entries stay in memory so tailers are served without reading
 * the store; older ones are read from the frame.
 */
import { type RecordBatch, type Schema, Table, tableToIPC } from 'apache-arrow';
import type { HangarEngine } from '../engine.js';
import { InvalidArgumentError, NotFoundError } from '../../errors.js';
import { type IpcMessage, encodeSchemaHeader, inspectMessage, joinIpcStream, splitIpcStream } from '../../format/ipc-message.js';
import { binaryRollMessages } from './binary-roll-ipc.js';
import type { FrameRef } from '../../names.js';
import { BINARY_ENTRY_SCHEMA, type BinaryRun, ID_COLUMN, TIME_COLUMN, concatBatches, decodeBatches, decodeEntries, describeColumns, encodeBinaryEntries, encodeEntries, sameColumns, stampBinaryRuns, stampEntries, storedSchema } from './stream-batches.js';
import { type StreamId, StreamIdClock, type StreamIdRange, ZERO_ID, compareStreamIds, expandIdRange, formatStreamId, parseStreamId } from './stream-id.js';
import type { WalRecord, WriteAheadLog } from './write-ahead-log.js';

/** How long a stream keeps its entries (both may be given; absent: for ever). */
export interface StreamRetention {
  /** Keep at least this many newest entries; older ones are trimmed. */
  readonly maxLen?: number;
  /** Keep entries for at least this many milliseconds after their ID's time. */
  readonly maxAgeMs?: number;
}

/** Tuning of a live stream. */
export interface LiveStreamOptions {
  /** Roll committed entries into segments at least this often (default 10 s; 0: only on reads and at `rollBytes`). */
  readonly rollIntervalMs?: number;
  /** Roll as soon as this many bytes of entries wait (default 8 MiB). */
  readonly rollBytes?: number;
  /** Bytes of already rolled entries kept in memory for tailers (default 32 MiB). */
  readonly memoryBytes?: number;
  /**
   * Most pushes (appends) of already rolled entries kept in memory for tailers (default 4,096),
   * whatever their bytes: each is a few objects every full collection marks, and 32 MiB of
   * one-entry pushes were 32,768 of them per stream.
   */
  readonly memoryChunks?: number;
  /** Extra wait before a group commit starts, gathering more appends (default 0: only the sync in flight gathers them). */
  readonly commitWindowMs?: number;
  /** The wall clock in epoch milliseconds, for IDs and `max_age` (default `Date.now`; tests move it). */
  readonly now?: () => number;
}

/**
 * Committed entries in memory: one append, with consecutive IDs in one millisecond. Binary pushes
 * keep the pushed bytes (`run`) and get their stored batch built only when a tailer reads them (a
 * roll builds one batch for all its chunks); other appends keep the stored batch.
 */
interface Chunk {
  readonly first: StreamId;
  readonly last: StreamId;
  batch: RecordBatch | undefined;
  readonly run: BinaryRun | undefined;
  readonly bytes: number;
  rolled: boolean;
}

interface PendingAppend {
  readonly record: WalRecord;
  readonly chunk: Chunk;
  readonly resolve: () => void;
  readonly reject: (error: unknown) => void;
}

/** The newest entry ID stored in the frame's segments, or undefined for no frame. */
async function lastStoredId(engine: HangarEngine, ref: FrameRef): Promise<StreamId | undefined> {
  let stream;
  try {
    stream = await engine.read(ref, { tail: 1, columns: [ID_COLUMN] });
  } catch (error) {
    if (error instanceof NotFoundError) return undefined;
    throw error;
  }
  const batches = await collectBatches(stream.messages);
  const last = batches.at(-1);
  if (!last || last.numRows === 0) return undefined;
  return parseStreamId(last.getChildAt(0)!.get(last.numRows - 1));
}

/**
 * Decodes an engine read's IPC messages one record batch at a time, as they come: a tailer reading
 * a long stream from its start holds one batch, not the frame. Stopping early releases the read.
 */
export async function* decodeMessages(messages: AsyncIterable<IpcMessage>): AsyncGenerator<RecordBatch> {
  let schema: IpcMessage | undefined;
  const dictionaries: IpcMessage[] = [];
  for await (const message of messages) {
    const info = inspectMessage(message);
    if (info.kind === 'schema') schema = message;
    else if (info.kind === 'dictionary') dictionaries.push(message);
    else if (schema) yield* decodeBatches(joinIpcStream([schema, ...dictionaries, message]));
  }
}

/** Decodes an engine read's IPC messages into record batches (small reads: a tail, one row). */
export async function collectBatches(messages: AsyncIterable<{ header: Uint8Array; body: Uint8Array }>): Promise<RecordBatch[]> {
  const list: { header: Uint8Array; body: Uint8Array }[] = [];
  for await (const message of messages) list.push(message);
  if (list.length === 0) return [];
  return decodeBatches(joinIpcStream(list));
}

/** One live stream of a frame. */
export class LiveStream {
  /** The stored schema: `_id`, `_ts`, then the entries' columns. */
  readonly schema: Schema;
  private readonly clock: StreamIdClock;
  private readonly chunks: Chunk[] = [];
  private memoryBytes = 0;
  /** Every entry after this ID is in {@link chunks}. */
  private floor: StreamId;
  private committed: StreamId;
  /** The newest entry in the frame's segments. */
  private rolledUpTo: StreamId;
  private pending: PendingAppend[] = [];
  private flushing = false;
  private rolling: Promise<void> | undefined;
  private unrolledBytes = 0;
  private readonly waiters = new Set<() => void>();
  private readonly timer: NodeJS.Timeout | undefined;
  private closed = false;
  /** Set at shutdown: waiting tailers return and new waits end at once, while pushes go on. */
  private tailsEnded = false;
  private retention: StreamRetention;
  /** Whether the entries are opaque payloads (one `data` binary column). */
  private readonly binary: boolean;
  /** The stored schema's IPC header, for rolls. */
  private schemaHeader: Uint8Array | undefined;
  /** Stored batches built from binary pushes, and those pushes (see {@link runOf}). */
  private readonly stampedRuns = new WeakMap<RecordBatch, BinaryRun>();

  private constructor(
    /** The frame the stream fills. */
    readonly ref: FrameRef,
    /** The columns of one entry (without `_id` and `_ts`). */
    readonly entrySchema: Schema,
    retention: StreamRetention,
    private readonly wal: WriteAheadLog,
    private readonly engine: HangarEngine,
    private readonly options: LiveStreamOptions,
    stored: StreamId,
  ) {
    this.schema = storedSchema(entrySchema);
    this.binary = sameColumns(entrySchema, BINARY_ENTRY_SCHEMA);
    this.retention = retention;
    this.clock = new StreamIdClock(stored, options.now);
    this.floor = stored;
    this.committed = stored;
    this.rolledUpTo = stored;
    const interval = options.rollIntervalMs ?? 10_000;
    if (interval > 0) {
      this.timer = setInterval(() => void this.roll().catch(() => undefined), interval);
      this.timer.unref();
    }
  }

  /**
   * Opens a stream: replays its log, skipping entries already in the frame's segments (a roll that
   * committed before the log was released), so no acknowledged entry is lost and none doubled.
   */
  static async open(ref: FrameRef, entrySchema: Schema, retention: StreamRetention, wal: WriteAheadLog, engine: HangarEngine, options: LiveStreamOptions = {}): Promise<LiveStream> {
    const records = await wal.recover();
    const stored = (await lastStoredId(engine, ref)) ?? ZERO_ID;
    const stream = new LiveStream(ref, entrySchema, retention, wal, engine, options, stored);
    for (const record of records) {
      stream.clock.observe(record.lastId);
      if (compareStreamIds(record.lastId, stored) <= 0) continue;
      const { range, batch } = decodeEntries(record.payload as Uint8Array, stream.schema);
      if (range.count === 0) continue;
      const bytes = (record.payload as Uint8Array).byteLength;
      stream.addChunk({ first: { ms: range.ms, seq: range.seq }, last: { ms: range.ms, seq: range.seq + range.count - 1 }, batch, run: undefined, bytes, rolled: false });
    }
    stream.committed = stream.clock.lastId;
    if (stream.unrolledBytes > 0) void stream.roll().catch(() => undefined);
    // Nothing to roll: the log's files hold only stored entries (recovery starts a fresh file), and
    // no roll would release them, so an idle stream restarted often would gain a file each time.
    else await wal.release(stored);
    return stream;
  }

  /** The newest durable entry's ID (`0-0` for an empty stream). */
  get lastId(): StreamId {
    return this.committed;
  }

  /** The stream's retention. */
  get retentionPolicy(): StreamRetention {
    return this.retention;
  }

  /** Changes the retention (applied after the next roll). */
  setRetention(retention: StreamRetention): void {
    this.retention = retention;
  }

  /**
   * Appends entries (a batch of the entry schema) and resolves with their IDs once they are durable.
   * @throws InvalidArgumentError when the batch's columns are not the stream's
   */
  async append(entries: RecordBatch): Promise<StreamId[]> {
    return expandIdRange(await this.appendRange(entries));
  }

  /**
   * Appends entries as {@link append} does and resolves with their IDs as a range (consecutive IDs
   * in one millisecond): the push paths format acknowledgements from it without an object per ID.
   * @throws InvalidArgumentError when the batch's columns are not the stream's
   */
  appendRange(entries: RecordBatch): Promise<StreamIdRange> {
    if (this.closed) return Promise.reject(new InvalidArgumentError(`the stream '${this.ref.name}' in bucket '${this.ref.bucket}' is closed`));
    if (entries.schema !== this.entrySchema && !sameColumns(entries.schema, this.entrySchema)) {
      return Promise.reject(
        new InvalidArgumentError(
          `the entries' columns (${describeColumns(entries.schema)}) are not the stream's (${describeColumns(this.entrySchema)}); push entries of the stream's schema`,
        ),
      );
    }
    const range = this.clock.nextRange(entries.numRows);
    if (range.count === 0) return Promise.resolve(range);
    const payload = encodeEntries(range, entries);
    return this.enqueue(range, payload, stampEntries(this.schema, range, entries), undefined);
  }

  /**
   * Appends binary entries lying back to back in `values` (entry `i` from `offsets[i]` to
   * `offsets[i + 1]`), as {@link appendRange} does, without building Arrow objects for them: the
   * log record is written from `values` and the stored batch is built when first read.
   * @throws InvalidArgumentError when the stream's entries are not binary
   */
  appendBinary(values: Uint8Array, offsets: Int32Array): Promise<StreamIdRange> {
    if (this.closed) return Promise.reject(new InvalidArgumentError(`the stream '${this.ref.name}' in bucket '${this.ref.bucket}' is closed`));
    if (!this.binary) {
      return Promise.reject(new InvalidArgumentError(`the stream '${this.ref.name}' holds entries of columns (${describeColumns(this.entrySchema)}), not binary payloads; push Arrow batches of its schema`));
    }
    const range = this.clock.nextRange(offsets.length - 1);
    if (range.count === 0) return Promise.resolve(range);
    const start = offsets[0]!;
    const run: BinaryRun = start === 0 ? { range, offsets, values } : { range, offsets: offsets.map((offset) => offset - start), values: values.subarray(start) };
    return this.enqueue(range, encodeBinaryEntries(range, run.offsets, run.values, 0), undefined, run);
  }

  private enqueue(range: StreamIdRange, payload: Uint8Array[], batch: RecordBatch | undefined, run: BinaryRun | undefined): Promise<StreamIdRange> {
    // The range is the chunk's first ID, and the clock's newest ID (just assigned) its last: IDs are
    // never changed, so sharing them keeps two objects fewer alive per push.
    const newest = this.clock.lastId;
    const last = newest.ms === range.ms && newest.seq === range.seq + range.count - 1 ? newest : { ms: range.ms, seq: range.seq + range.count - 1 };
    const chunk: Chunk = { first: range, last, batch, run, bytes: payload[0]!.byteLength + payload[1]!.byteLength, rolled: false };
    return new Promise<StreamIdRange>((resolve, reject) => {
      this.pending.push({ record: { lastId: last, payload }, chunk, resolve: () => resolve(range), reject });
      if (!this.flushing) {
        this.flushing = true;
        // setImmediate runs after this turn's I/O callbacks: every append read in this turn shares
        // the sync (as Redis' fsync-always writes a turn's commands in one write and fsync).
        setImmediate(() => void this.drain());
      }
    });
  }

  /** A chunk's stored batch (built on first use for binary pushes). */
  private batchOf(chunk: Chunk): RecordBatch {
    if (!chunk.batch) {
      chunk.batch = stampBinaryRuns(this.schema, [chunk.run!]);
      this.stampedRuns.set(chunk.batch, chunk.run!);
    }
    return chunk.batch;
  }

  /**
   * The pushed entries a stored batch of this stream was built from, when it was built from a
   * binary push (not sliced): its IPC message can be written from them directly.
   */
  runOf(batch: RecordBatch): BinaryRun | undefined {
    return this.stampedRuns.get(batch);
  }

  /** Writes waiting appends in groups, one sync per group, until none wait. */
  private async drain(): Promise<void> {
    try {
      while (this.pending.length > 0) {
        if (this.options.commitWindowMs) await new Promise((resolve) => setTimeout(resolve, this.options.commitWindowMs));
        const group = this.pending;
        this.pending = [];
        try {
          await this.wal.append(group.map((append) => append.record));
        } catch (error) {
          for (const append of group) append.reject(error);
          continue;
        }
        for (const append of group) {
          this.addChunk(append.chunk);
          this.committed = append.chunk.last;
        }
        for (const append of group) append.resolve();
        for (const wake of [...this.waiters]) wake();
        // A roll encodes its entries before its first await (milliseconds for 8 MiB): queued behind
        // this group's acknowledgements (resolved above), so they leave first.
        if (this.unrolledBytes >= (this.options.rollBytes ?? 8 * 1024 * 1024)) queueMicrotask(() => void this.roll().catch(() => undefined));
      }
    } finally {
      this.flushing = false;
    }
  }

  private addChunk(chunk: Chunk): void {
    this.chunks.push(chunk);
    this.memoryBytes += chunk.bytes;
    this.unrolledBytes += chunk.bytes;
  }

  /** Gives a decoded batch the stream's schema object (a frame read may carry other metadata). */
  private normalise(batch: RecordBatch): RecordBatch {
    if (batch.schema === this.schema) return batch;
    if (!sameColumns(batch.schema, this.schema)) {
      throw new InvalidArgumentError(`the stored entries' columns (${describeColumns(batch.schema)}) are not the stream's (${describeColumns(this.schema)})`);
    }
    return new (batch.constructor as typeof RecordBatch)(this.schema, batch.data);
  }

  /** Every entry after this ID is in memory. */
  get memoryFloor(): StreamId {
    return this.floor;
  }

  /** Whether every entry after `after` is in memory (else the frame holds some of them). */
  covers(after: StreamId): boolean {
    return compareStreamIds(after, this.floor) >= 0;
  }

  /** The committed entries after `after` held in memory (call only when {@link covers} is true). */
  memoryAfter(after: StreamId): RecordBatch[] {
    const out: RecordBatch[] = [];
    // Chunks are in ID order: walk back from the newest while they are after `after`.
    let start = this.chunks.length;
    while (start > 0 && compareStreamIds(this.chunks[start - 1]!.last, after) > 0) start--;
    for (let i = start; i < this.chunks.length; i++) {
      const chunk = this.chunks[i]!;
      if (compareStreamIds(chunk.first, after) > 0) out.push(this.batchOf(chunk));
      else out.push(this.batchOf(chunk).slice(after.seq - chunk.first.seq + 1));
    }
    return out;
  }

  /**
   * Entries after `after` stored in the frame's segments (a tailer further back than memory), a
   * batch at a time. Yields nothing when the frame does not exist.
   */
  async *storedAfter(after: StreamId): AsyncGenerator<RecordBatch> {
    let read;
    try {
      read = await this.engine.read(this.ref, { start: BigInt(after.ms) * 1_000_000n });
    } catch (error) {
      if (error instanceof NotFoundError) return;
      throw error;
    }
    for await (const batch of decodeMessages(read.messages)) {
      const ids = batch.getChildAt(0)!;
      let skip = 0;
      // Only the batches of `after`'s millisecond hold entries at or before it.
      while (skip < batch.numRows && compareStreamIds(parseStreamId(ids.get(skip)), after) <= 0) skip++;
      if (skip < batch.numRows) yield this.normalise(skip === 0 ? batch : batch.slice(skip));
    }
  }

  /**
   * Resolves true once an entry after `after` is committed, false when `signal` aborts or
   * `deadline` (epoch ms) passes. Waiting costs a closure in a set: nothing polls.
   */
  waitForEntries(after: StreamId, signal?: AbortSignal, deadline?: number): Promise<boolean> {
    if (compareStreamIds(this.committed, after) > 0) return Promise.resolve(true);
    if (this.closed || this.tailsEnded || signal?.aborted) return Promise.resolve(false);
    return new Promise<boolean>((resolve) => {
      let timer: NodeJS.Timeout | undefined;
      const done = (value: boolean): void => {
        this.waiters.delete(wake);
        signal?.removeEventListener('abort', aborted);
        clearTimeout(timer);
        resolve(value);
      };
      const wake = (): void => {
        if (this.closed || this.tailsEnded) done(false);
        else if (compareStreamIds(this.committed, after) > 0) done(true);
      };
      const aborted = (): void => done(false);
      this.waiters.add(wake);
      signal?.addEventListener('abort', aborted, { once: true });
      if (deadline !== undefined) timer = setTimeout(() => done(false), Math.max(0, deadline - Date.now()));
    });
  }

  /** Ends every waiting tail and every later wait (shutdown: a following call must not hold it up). */
  endTails(): void {
    this.tailsEnded = true;
    for (const wake of [...this.waiters]) wake();
  }

  /** Tailers waiting right now (for metrics and tests). */
  get waiting(): number {
    return this.waiters.size;
  }

  /**
   * Rolls the committed entries not yet in segments into the frame (one append), then releases
   * the log they were in and applies the retention. Resolves once everything committed before the
   * call is in segments (waiting for a roll in flight, then rolling the rest).
   */
  async roll(): Promise<void> {
    const target = this.committed;
    for (;;) {
      // A roll in flight took the chunks committed when it began; wait for it, then roll the rest.
      if (this.rolling) {
        await this.rolling.catch(() => undefined);
        continue;
      }
      if (compareStreamIds(this.rolledUpTo, target) >= 0 || !this.chunks.some((chunk) => !chunk.rolled)) return;
      this.rolling = this.rollOnce().finally(() => (this.rolling = undefined));
      await this.rolling;
      return;
    }
  }

  private async rollOnce(): Promise<void> {
    const chunks = this.chunks.filter((chunk) => !chunk.rolled);
    if (chunks.length === 0) return;
    // Binary pushes (read by a tailer or not) are encoded straight from their bytes: one copy each,
    // into one IPC stream the segment writer hands its Parquet worker as it is (no joined copy).
    const messages = chunks.every((chunk) => chunk.run)
      ? binaryRollMessages(this.schemaMessage().header, chunks.map((chunk) => chunk.run!))
      : splitIpcStream(tableToIPC(new Table(this.schema, concatBatches(this.schema, chunks.map((chunk) => this.batchOf(chunk)))), 'stream'));
    await this.engine.put(this.ref, 'append', (async function* () {
      yield* messages;
    })(), { allowUnordered: true });
    const last = chunks.at(-1)!.last;
    this.rolledUpTo = last;
    for (const chunk of chunks) {
      chunk.rolled = true;
      this.unrolledBytes -= chunk.bytes;
    }
    await this.wal.release(last);
    this.evict();
    await this.trim();
  }

  /** The stored schema as an IPC schema message (encoded once). */
  private schemaMessage(): IpcMessage {
    this.schemaHeader ??= encodeSchemaHeader(this.schema);
    return { header: this.schemaHeader, body: new Uint8Array(0) };
  }

  /** Drops rolled chunks from memory beyond the memory budget, in bytes and in pushes (the frame still has them). */
  private evict(): void {
    const budget = this.options.memoryBytes ?? 32 * 1024 * 1024;
    const most = this.options.memoryChunks ?? 4096;
    let drop = 0;
    while ((this.memoryBytes > budget || this.chunks.length - drop > most) && drop < this.chunks.length && this.chunks[drop]!.rolled) {
      const chunk = this.chunks[drop++]!;
      this.memoryBytes -= chunk.bytes;
      this.floor = chunk.last;
    }
    // One splice: shifting chunk by chunk moved the whole array each time (thousands of one-entry
    // chunks per roll against tens of thousands held: a quadratic cost that grew with the budget).
    if (drop > 0) this.chunks.splice(0, drop);
  }

  /**
   * Applies the retention to the frame: entries before the cut are removed with the engine's
   * delete_range on `_ts` once the excess is a tenth of the limit (so not every roll makes a version).
   */
  private async trim(): Promise<void> {
    const { maxLen, maxAgeMs } = this.retention;
    let cutMs: number | undefined;
    if (maxLen !== undefined) {
      const info = await this.engine.stat(this.ref);
      if (info.rows > maxLen + Math.max(1, Math.floor(maxLen / 10))) {
        const tail = await collectBatches((await this.engine.read(this.ref, { tail: maxLen, columns: [TIME_COLUMN] })).messages);
        const first = tail.find((batch) => batch.numRows > 0);
        cutMs = first ? Number(first.getChildAt(0)!.get(0)) : undefined;
        if (maxLen === 0) cutMs = this.committed.ms + 1;
      }
    }
    if (maxAgeMs !== undefined) {
      const ageCut = (this.options.now ?? Date.now)() - maxAgeMs;
      const head = await collectBatches((await this.engine.read(this.ref, { limit: 1, columns: [TIME_COLUMN] })).messages);
      const oldest = head.find((batch) => batch.numRows > 0);
      if (oldest && Number(oldest.getChildAt(0)!.get(0)) < ageCut - maxAgeMs / 10) cutMs = Math.max(cutMs ?? 0, ageCut);
    }
    if (cutMs === undefined) return;
    await this.engine.deleteRange(this.ref, undefined, BigInt(cutMs) * 1_000_000n);
    // Memory may hold trimmed entries: tailers from before the cut read from the frame now.
    let drop = 0;
    while (drop < this.chunks.length && this.chunks[drop]!.rolled && this.chunks[drop]!.last.ms < cutMs) {
      const chunk = this.chunks[drop++]!;
      this.memoryBytes -= chunk.bytes;
      this.floor = chunk.last;
    }
    if (drop > 0) this.chunks.splice(0, drop);
  }

  /** Stops the timer, finishes the group commit in flight, rolls what is committed and closes the log. */
  async close(roll = true): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.timer);
    for (const wake of [...this.waiters]) wake();
    while (this.flushing) await new Promise((resolve) => setImmediate(resolve));
    if (roll) await this.roll().catch(() => undefined);
    else await this.rolling?.catch(() => undefined);
    await this.wal.close();
  }

  /** Closes the stream and removes its log (the stream is dropped; the frame is the caller's). */
  async destroy(): Promise<void> {
    await this.close(false);
    await this.wal.destroy();
  }

  /** Formats an ID (convenience for callers holding only the stream). */
  static format(id: StreamId): string {
    return formatStreamId(id);
  }
}
