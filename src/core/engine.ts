/**
 * The core engine: everything backend-independent, over a FrameStore. Put modes and their commit
 * rules, streaming reads with bounded memory, compaction, versions, vacuum, listing and buckets.
 * Segment writing is in segment-writer.ts, version rules in version-rules.ts, read ranges in
 * read-range.ts, public types in engine-types.ts; the Flight server above only speaks the protocol.
 */
import { DataType, type RecordBatch, RecordBatchReader, Schema } from 'apache-arrow';
import { BucketNotEmptyError, CancelledError, ConflictError, FailedPreconditionError, InvalidArgumentError, NotFoundError } from '../errors.js';
import { type FrameMetadata, metadataMatches } from '../format/frame-metadata.js';
import { dictionaryLayout } from '../format/dictionary-layout.js';
import { type IpcMessage, decodeSchemaHeader, encodeSchemaHeader, joinIpcStream } from '../format/ipc-message.js';
import { type FrameManifest, type SegmentEntry, liveManifest, segmentObjectIds } from '../format/manifest.js';
import type { ParquetCodec } from '../format/parquet/parquet-codec.js';
import { timeColumnOf } from '../format/time-column.js';
import { compileNamePattern } from '../name-pattern.js';
import { DEFAULT_BUCKET, type FrameRef, describeFrame, resolveBucket } from '../names.js';
import type { FrameStore } from '../storage/frame-store.js';
import { KeyedMutex } from '../storage/keyed-mutex.js';
import { NOT_APPEND_ONLY, rowsAppendedSince } from './appended-since.js';
import { smallSegmentRuns, startsWith } from './compaction-plan.js';
import { DecodedChunkCache } from './decoded-cache.js';
import type { CompactionReport, EngineOptions, FrameStream, PurgeReport, PutOptions, RangeRewriteSummary, ReadOptions, VacuumReport, VersionInfo } from './engine-types.js';
import { type FrameInfo, type PutSummary, toFrameInfo } from './frame-info.js';
import { type FrameReaderContext, type ReadPlan, frameMessages } from './frame-reader.js';
import type { BucketDeleteMode, PutMode } from './put-mode.js';
import { frameTimeColumn, rangePlan } from './read-range.js';
import { DEFAULT_RETENTION, type RetentionPolicy, expiredVersions } from './retention.js';
import { assertAppendable, schemaDifferences } from './schema-compat.js';
import { evolvedSchema, hasEvolvedSegments, markedSegments } from './schema-evolution.js';
import { evolvedFrameMessages } from './evolved-read.js';
import { tailMessages } from './tail-read.js';
import { sqlMissingFileError } from './read-races.js';
import { SegmentLeases } from './segment-leases.js';
import { SegmentWriter, type WriteEvents, type WrittenSegments, withoutTimeStatistics } from './segment-writer.js';
import { type RangeRewrite, type RewriteAhead, incomingBounds, placeInsert, sameBounds } from './rewrite-ahead.js';
import type { TimeStatistics } from '../format/ipc-time-statistics.js';
import { assertOrderedAppend, frameTimeSorted, timeSpan } from './time-order.js';
import { batchMessages, keptRows, segmentOverlaps } from './range-rewrite.js';
import { spliceSegment } from './segment-splice.js';
import { type ColumnBounds, columnBounds } from '../format/time-range.js';
import { skipLeadingRows } from './skip-leading-rows.js';
import type { QueryContext, QueryDescription, QueryStream, SqlEngine, SqlOptions } from './sql/sql-engine.js';
import { type VersionSelector, selectManifest } from './version-selection.js';
import { checkExpectedVersion, frameExists, nextVersion } from './version-rules.js';
import { SnapshotBook, type SnapshotInfo } from './snapshots.js';

export type { CompactionReport, EngineOptions, FrameStream, PurgeReport, PutOptions, RangeRewriteSummary, ReadOptions, VacuumReport, VersionInfo } from './engine-types.js';
export type { SnapshotInfo } from './snapshots.js';

/** A put whose segments are stored, waiting for its commit. */
interface PendingCommit extends WrittenSegments {
  readonly mode: PutMode;
  readonly options: PutOptions;
  /** An update's range rewrite, started once its input ended (rewrite-ahead.ts). */
  readonly ahead?: RewriteAhead;
}

const MiB = 1024 * 1024;
/**
 * Commit attempts of one put. Within a process the commit lock rules out conflicts, so a
 * ConflictError means another process committed first: the put re-reads the frame and commits its
 * already stored segments on top (an append stays an append; mode `error` then reports the frame).
 */
const COMMIT_ATTEMPTS = 8;

/** The engine. One per server; safe for concurrent use. */
export class HangarEngine {
  private readonly commitLock = new KeyedMutex();
  private readonly leases: SegmentLeases;
  private readonly decodedCache: DecodedChunkCache | undefined;
  private readonly segmentBytes: number;
  private readonly writer: SegmentWriter;
  /**
   * What a listing reports per manifest object: connectors that keep decoded manifests (SQLite,
   * local, S3) hand out the same objects again, so a repeated listing builds nothing per frame.
   */
  private readonly frameInfos = new WeakMap<FrameManifest, FrameInfo>();
  /** The unfiltered answer of {@link list} for a listing map a connector may hand out again. */
  private readonly listedInfos = new WeakMap<ReadonlyMap<string, FrameManifest>, readonly FrameInfo[]>();
  private readonly batchBytes: number;
  private readonly sqlOptions: SqlOptions;
  private readonly retention: RetentionPolicy;
  private readonly compactThreshold: number;
  /** Frames with a background compaction running. */
  private readonly compacting = new Map<string, Promise<unknown>>();
  /** Small-segment counts at which compacting a frame gained nothing (a background compaction is retried at twice that). */
  private readonly fruitless = new Map<string, number>();
  private sqlEngine: Promise<SqlEngine> | undefined;
  private readonly vacuumTimer: NodeJS.Timeout | undefined;
  private vacuuming: Promise<unknown> | undefined;
  /** Snapshots of buckets, and the versions they keep from vacuum. */
  private readonly snapshotBook: SnapshotBook;

  /**
   * @param connector - the storage backend (opened by the caller)
   * @param codec - the Parquet worker pool
   * @param options - tuning
   */
  constructor(
    readonly connector: FrameStore,
    private readonly codec: ParquetCodec,
    options: EngineOptions = {},
  ) {
    this.segmentBytes = options.segmentBytes ?? 16 * MiB;
    this.writer = new SegmentWriter(connector, codec, {
      segmentBytes: this.segmentBytes,
      rowGroupBytes: options.rowGroupBytes ?? this.segmentBytes,
      encodeConcurrency: options.encodeConcurrency ?? 2,
      segmentCompression: options.segmentCompression ?? 'none',
    });
    this.batchBytes = options.batchBytes ?? 3 * MiB;
    this.sqlOptions = { batchBytes: this.batchBytes, ...options.sql };
    this.retention = options.retention ?? DEFAULT_RETENTION;
    this.compactThreshold = options.compactThreshold ?? 64;
    if (options.vacuumIntervalMs) {
      this.vacuumTimer = setInterval(() => {
        this.vacuuming ??= this.vacuum()
          .catch((error: unknown) => process.emitWarning(`scheduled vacuum failed: ${(error as Error).message}`))
          .finally(() => (this.vacuuming = undefined));
      }, options.vacuumIntervalMs).unref();
    }
    this.leases = new SegmentLeases(connector);
    this.snapshotBook = new SnapshotBook(connector, this.commitLock);
    const cacheBytes = options.readCacheBytes ?? 512 * MiB;
    this.decodedCache = cacheBytes > 0 ? new DecodedChunkCache(cacheBytes) : undefined;
  }

  /**
   * Runs a read-only SQL query over the bucket's frames and streams the result (see
   * sql/sql-engine.ts). DuckDB is loaded on the first query, so servers that never query never load it.
   * @throws InvalidArgumentError (detail type DataFusionError) for bad SQL, PermissionDeniedError
   *   for anything but a query, DeadlineExceededError past the timeout
   */
  async query(sql: string, context: QueryContext): Promise<QueryStream> {
    // A segment file gone under the query is a read race (NOT_FOUND) or damage (DATA_LOSS): read-races.ts.
    const mark = this.leases.removalMark();
    const classify = async (error: unknown): Promise<never> => {
      throw await sqlMissingFileError(this.connector, error, this.leases.removedSince(mark));
    };
    const stream = await (await this.sql()).query(sql, context).catch(classify);
    async function* messages(): AsyncGenerator<IpcMessage> {
      try {
        yield* stream.messages;
      } catch (error) {
        await classify(error);
      }
    }
    return { schema: stream.schema, messages: messages() };
  }

  /** The schema of a query's result, without running it. @throws as {@link query} */
  async querySchema(sql: string, context: QueryContext): Promise<Schema> {
    return (await this.sql()).schema(sql, context).catch(async (error: unknown) => {
      throw await sqlMissingFileError(this.connector, error);
    });
  }

  /** A query's result and `?` / `$n` parameter schemas, from one preparation, without running it. @throws as {@link query} */
  async describeQuery(sql: string, context: QueryContext): Promise<QueryDescription> {
    return (await this.sql()).describe(sql, context).catch(async (error: unknown) => {
      throw await sqlMissingFileError(this.connector, error);
    });
  }

  /**
   * Waits for background compactions, then stops the SQL engine if it was started. The connector
   * and codec belong to the caller.
   */
  async close(): Promise<void> {
    clearInterval(this.vacuumTimer);
    await Promise.allSettled([...this.compacting.values(), this.vacuuming]);
    const sql = this.sqlEngine;
    this.sqlEngine = undefined;
    if (sql) await (await sql).close();
  }

  private sql(): Promise<SqlEngine> {
    this.sqlEngine ??= import('./sql/sql-engine.js').then(({ SqlEngine }) => SqlEngine.open(this.connector, this.codec, this.leases, this.sqlOptions));
    this.sqlEngine.catch(() => (this.sqlEngine = undefined));
    return this.sqlEngine;
  }

  /** The read cache's lookups so far and the bytes it holds (zeros when it is off), for the metrics. */
  readCacheStats(): { readonly hits: number; readonly misses: number; readonly bytes: number } {
    const cache = this.decodedCache;
    return { hits: cache?.hits ?? 0, misses: cache?.misses ?? 0, bytes: cache?.size ?? 0 };
  }

  /**
   * Returns the frame's state: the current one, or a past one (see version-selection.ts).
   * @throws NotFoundError if it does not exist (at that version)
   */
  async stat(ref: FrameRef, at: VersionSelector = {}): Promise<FrameInfo> {
    return toFrameInfo(ref, await selectManifest(this.connector, ref, at));
  }

  /**
   * Stores a stream of IPC messages (Schema first) as a frame, honouring the put mode. The frame
   * changes atomically when the stream ends; on any error nothing is stored.
   * @throws AlreadyExistsError (mode error), InvalidArgumentError (bad stream, schema mismatch)
   */
  async put(ref: FrameRef, mode: PutMode, input: AsyncIterable<IpcMessage>, options: PutOptions = {}): Promise<PutSummary> {
    const existing = mode === 'replace' && options.expectedVersion === undefined ? undefined : liveManifest(await this.connector.getManifest(ref));
    if (mode === 'error' && existing) {
      throw frameExists(ref);
    }
    // Fail fast, before any data is received; checked again at commit.
    checkExpectedVersion(ref, existing, options.expectedVersion);
    // An update reads and rewrites the segments its range overlaps as soon as its input has ended,
    // while its own rows are still encoded and stored; the commit adopts that work if still valid.
    const early: { ahead?: RewriteAhead } = {};
    const events: WriteEvents = mode === 'update' && existing ? { onInputEnd: (times) => (early.ahead = this.rewriteAhead(ref, times, options)) } : {};
    try {
      // Statistics are kept for the column the committed manifest will name (checked again at commit).
      const written = await this.writer.write(ref, input, (schema) => (existing ? frameTimeColumn(existing) : timeColumnOf(schema)), events);
      try {
        return await this.commit(ref, { ...written, mode, options, ...(early.ahead ? { ahead: early.ahead } : {}) });
      } catch (error) {
        await this.writer.discard(ref, written.segments);
        throw error;
      } finally {
        this.writer.forget(ref, written.segments);
      }
    } finally {
      if (early.ahead) await this.settleAhead(ref, early.ahead);
    }
  }

  /**
   * Starts an update's range rewrite ahead of its commit, on the frame as it is now: bounds from the
   * explicit range, or from the incoming rows' time statistics. Its failures are not reported (the
   * commit then rewrites under its lock, and reports them).
   */
  private rewriteAhead(ref: FrameRef, times: readonly (TimeStatistics | undefined)[], options: PutOptions): RewriteAhead {
    const written: SegmentEntry[] = [];
    const result = (async () => {
      const current = liveManifest(await this.connector.getManifest(ref));
      if (!current) return undefined;
      const { column, bounds: given } = this.rangeBounds(ref, current, options.range?.[0], options.range?.[1]);
      const bounds = options.range ? given : incomingBounds(times);
      if (bounds.empty) return undefined;
      return { version: current.version, column, bounds, rewrite: await this.rewriteRange(ref, current, column, bounds, written) };
    })().catch(() => undefined);
    return { written, result, adopted: false };
  }

  /** Waits for a rewrite done ahead, and discards what it stored unless a commit adopted it. */
  private async settleAhead(ref: FrameRef, ahead: RewriteAhead): Promise<void> {
    await ahead.result;
    if (ahead.adopted) return;
    await this.writer.discard(ref, ahead.written);
    this.writer.forget(ref, ahead.written);
  }

  /**
   * The update's range rewrite of `current`: the one done ahead if it rewrote this very version with
   * these bounds (its segments then join `written`), else done now.
   */
  private async rewriteForUpdate(ref: FrameRef, current: FrameManifest, column: string, bounds: ColumnBounds, ahead: RewriteAhead | undefined, written: SegmentEntry[]): Promise<RangeRewrite> {
    const done = await ahead?.result;
    if (ahead && done && done.version === current.version && done.column === column && sameBounds(done.bounds, bounds)) {
      ahead.adopted = true;
      written.push(...ahead.written);
      return done.rewrite;
    }
    return this.rewriteRange(ref, current, column, bounds, written);
  }

  private async commit(ref: FrameRef, pending: PendingCommit): Promise<PutSummary> {
    // A put that expects a version must fail once another commit got there first.
    // An update rewrites segments inside its attempt: a lost race is reported, not redone.
    const retry = pending.options.expectedVersion === undefined && pending.mode !== 'update';
    return this.commitWithRetry(ref, retry, () => {
      if (pending.options.signal?.aborted) throw new CancelledError(`the put of ${describeFrame(ref)} was cancelled before it committed; nothing was stored`);
      return pending.mode === 'update' ? this.commitUpdate(ref, pending) : this.commitOnce(ref, pending);
    });
  }

  /**
   * Runs a compare-and-swap commit under the frame's commit lock. Within a process the lock rules
   * out conflicts, so a ConflictError means another process committed first: when `retry` is set
   * the attempt runs again (it re-reads the frame), up to {@link COMMIT_ATTEMPTS} times.
   */
  private async commitWithRetry<T>(ref: FrameRef, retry: boolean, attempt: () => Promise<T>): Promise<T> {
    return this.commitLock.run(frameKey(ref), async () => {
      for (let n = 1; ; n++) {
        try {
          return await attempt();
        } catch (error) {
          if (!(retry && error instanceof ConflictError && n < COMMIT_ATTEMPTS)) throw error;
          await new Promise((resolve) => setTimeout(resolve, Math.random() * 10 * n));
        }
      }
    });
  }

  /**
   * Commits a put in mode `update`: the stored rows whose time lies in the range are replaced by
   * the incoming segments (already written), rewriting only the stored segments that overlap. A
   * frame that does not exist (any more) is created, as by any put.
   */
  private async commitUpdate(ref: FrameRef, pending: PendingCommit): Promise<PutSummary> {
    // The rewrite ahead first: the frame is then read as late as it can be.
    await pending.ahead?.result;
    const current = liveManifest(await this.connector.getManifest(ref));
    if (!current) return this.commitOnce(ref, pending);
    const { options } = pending;
    checkExpectedVersion(ref, current, options.expectedVersion);
    assertAppendable(ref.name, decodeSchemaHeader(Buffer.from(current.schema, 'base64')), pending.schema);
    const range = options.range;
    const { column, bounds: given } = this.rangeBounds(ref, current, range?.[0], range?.[1]);
    if (pending.timeColumn !== column) throw new ConflictError(`the time column of ${describeFrame(ref)} changed during the update; send it again`);
    const incoming = timeSpan(pending.segments).span;
    let bounds: ColumnBounds = given;
    if (!range) bounds = incoming ? { lower: incoming.min, upper: incoming.max + 1n, empty: false } : { empty: true };
    else if (incoming && ((given.lower !== undefined && incoming.min < given.lower) || (given.upper !== undefined && incoming.max >= given.upper) || given.empty)) {
      throw new InvalidArgumentError(`the update of ${describeFrame(ref)} carries rows outside its "range" [start, end); send only rows inside it`);
    }
    const written: SegmentEntry[] = [];
    try {
      const result = placeInsert(await this.rewriteForUpdate(ref, current, column, bounds, pending.ahead, written), pending.segments);
      const rewritten = this.rewrittenManifest(current, result.segments, 'update');
      const manifest: FrameManifest = options.metadata === undefined ? rewritten : { ...rewritten, metadata: options.metadata };
      await this.connector.commitManifest(ref, manifest);
      this.compactWhenFragmented(ref, manifest);
      return {
        bucket: ref.bucket,
        name: ref.name,
        rowsWritten: pending.rowsWritten,
        rows: manifest.rows,
        version: manifest.version,
        rowsRemoved: result.rowsRemoved,
        segmentsRewritten: result.segmentsRewritten,
      };
    } catch (error) {
      await this.writer.discard(ref, written);
      throw error;
    } finally {
      this.writer.forget(ref, written);
    }
  }

  /** One compare-and-swap attempt of {@link commit}, under the frame's commit lock. */
  private async commitOnce(ref: FrameRef, pending: PendingCommit): Promise<PutSummary> {
    const { mode, schema, schemaHeader, rowsWritten, bytesWritten, options } = pending;
    const stored = await this.connector.getManifest(ref);
    const current = liveManifest(stored);
    if (current && mode === 'error') {
      throw frameExists(ref);
    }
    checkExpectedVersion(ref, current, options.expectedVersion);
    const appending = current !== undefined && mode === 'append';
    const storedSchema = appending ? decodeSchemaHeader(Buffer.from(current.schema, 'base64')) : undefined;
    const timeColumn = appending ? frameTimeColumn(current) : timeColumnOf(schema);
    // "schema": "evolve" lets the frame's schema grow (schema-evolution.ts); otherwise it must match.
    const evolving = appending && options.schema === 'evolve' && schemaDifferences(storedSchema!, schema).length > 0;
    const evolved = evolving ? evolvedSchema(ref.name, storedSchema!, schema, timeColumn) : undefined;
    if (appending && !evolved) assertAppendable(ref.name, storedSchema!, schema);
    // An append must not go back in time (unless allowed); both sides are known from statistics.
    if (appending && timeColumn !== undefined && timeColumn === pending.timeColumn && !options.allowUnordered) {
      assertOrderedAppend(ref, storedSchema!, timeColumn, current.segments, pending.segments);
    }
    // New metadata replaces the frame's; without any, the previous version's is kept.
    const metadata = options.metadata ?? current?.metadata;
    // A concurrent commit may have changed which column is the time column since the put began:
    // statistics of another column would prune wrongly, so those segments keep none.
    const segments = timeColumn === pending.timeColumn ? pending.segments : pending.segments.map(withoutTimeStatistics);
    const manifest: FrameManifest = {
      ...nextVersion(stored, appending ? 'append' : current ? 'replace' : 'put'),
      schema: evolved ? Buffer.from(encodeSchemaHeader(evolved)).toString('base64') : appending ? current.schema : Buffer.from(schemaHeader).toString('base64'),
      rows: (appending ? current.rows : 0) + rowsWritten,
      bytes: (appending ? current.bytes : 0) + bytesWritten,
      segments: evolved
        ? [...markedSegments(current!.segments, storedSchema!, evolved), ...markedSegments(segments, schema, evolved)]
        : appending
          ? [...current.segments, ...segments]
          : segments,
      ...(timeColumn === undefined ? {} : { timeColumn }),
      ...(metadata === undefined ? {} : { metadata }),
    };
    await this.connector.commitManifest(ref, manifest);
    if (appending) this.compactWhenFragmented(ref, manifest);
    return { bucket: ref.bucket, name: ref.name, rowsWritten, rows: manifest.rows, version: manifest.version };
  }

  /**
   * Opens a frame for reading at its current version. Memory stays bounded: two segments' stored
   * bytes and decoded batches at a time (see frame-reader.ts).
   * With `start`/`end`, segments whose time statistics lie outside [start, end) are never fetched;
   * with `limit`, reading stops once that many rows were sent.
   * @throws NotFoundError if the frame does not exist; InvalidArgumentError for unknown columns, or
   *   for `start`/`end` on a frame without a time column
   */
  async read(ref: FrameRef, options: ReadOptions = {}): Promise<FrameStream> {
    // The lease comes before the manifest: a vacuum that removes this version meanwhile then defers
    // deleting its segments until the stream ends (taken when streaming starts, it came too late).
    const release = this.leases.acquire(ref);
    try {
      return await this.openRead(ref, options, release);
    } catch (error) {
      release();
      throw error;
    }
  }

  /** {@link HangarEngine.read} under the lease whose `release` the stream takes over. */
  private async openRead(ref: FrameRef, options: ReadOptions, release: () => void): Promise<FrameStream> {
    // Taken with the lease: a purge or bucket delete from now on explains a missing segment (read-races.ts).
    const removalMark = this.leases.removalMark();
    const manifest = await selectManifest(this.connector, ref, options);
    const info = toFrameInfo(ref, manifest);
    let schema = info.schema;
    let schemaHeader = info.schemaHeader;
    const columns = options.columns;
    if (columns) {
      const known = new Set(info.schema.fields.map((field) => field.name));
      const unknown = columns.filter((column) => !known.has(column));
      if (unknown.length > 0) {
        throw new InvalidArgumentError(
          `unknown column(s) ${unknown.map((c) => `'${c}'`).join(', ')} in ${describeFrame(ref)}; ` +
            `columns are: ${[...known].join(', ')}`,
        );
      }
      // Requested order, as the codec's projection returns the columns.
      const byName = new Map(info.schema.fields.map((field) => [field.name, field] as const));
      schema = new Schema([...new Set(columns)].map((column) => byName.get(column)!), info.schema.metadata);
      schemaHeader = encodeSchemaHeader(schema);
    }
    if (options.tail !== undefined) return this.openTail(ref, manifest, info, { schema, schemaHeader, columns, removalMark }, options, release);
    // An incremental read (`since_version`) streams only the rows appended after that version.
    const appended =
      options.sinceVersion === undefined ? undefined : await rowsAppendedSince(this.connector, ref, manifest, { ...options, sinceVersion: options.sinceVersion });
    const skip = appended?.skipRows ?? 0;
    if (skip > 0 && (options.start !== undefined || options.end !== undefined)) {
      throw new FailedPreconditionError(
        `a compaction merged rows of ${describeFrame(ref)} held at version ${options.sinceVersion} with newer ones, so "since_version" cannot be combined with "start"/"end"; read without them`,
        { type: NOT_APPEND_ONLY },
      );
    }
    let plan: ReadPlan = { ...this.readPlan(info, appended?.segments ?? manifest.segments), schemaHeader, columns, removalMark, ...(options.sharedMemory ? { sharedMemory: true } : {}) };
    const range = rangePlan(ref, manifest, info.schema, skip > 0 && options.limit !== undefined ? { ...options, limit: options.limit + skip } : options);
    if (range) plan = { ...plan, range };
    const messages = this.planMessages(ref, plan, info.schema, schema, release);
    const segments = plan.segments;
    return { info, schema, messages: skip > 0 ? skipLeadingRows(messages, skip) : messages, timeSorted: () => frameTimeSorted(segments) };
  }

  /**
   * A plan's messages: as stored, or conformed to `target` when some segments were written with
   * other columns than the frame's (a schema-evolving append; see evolved-read.ts).
   * @param release - the read's lease (taken now when absent)
   */
  private planMessages(ref: FrameRef, plan: ReadPlan, frameSchema: Schema, target: Schema, release?: () => void, cached = true): AsyncIterable<IpcMessage> {
    if (!hasEvolvedSegments(plan.segments)) return frameMessages(this.readerContext(cached), ref, plan, release);
    return evolvedFrameMessages(this.readerContext(cached), ref, plan, frameSchema, target, release ?? this.leases.acquire(ref));
  }

  /**
   * A tail read: the last `tail` rows, from only the last segments that hold them (their row counts
   * are in the manifest); the rows of the first of those before the tail are cut after decoding.
   */
  private openTail(
    ref: FrameRef,
    manifest: FrameManifest,
    info: FrameInfo,
    projection: { schema: Schema; schemaHeader: Uint8Array; columns: readonly string[] | undefined; removalMark: number },
    options: ReadOptions,
    release: () => void,
  ): FrameStream {
    const tail = options.tail!;
    if (options.start !== undefined || options.end !== undefined || options.limit !== undefined || options.sinceVersion !== undefined) {
      throw new InvalidArgumentError('"tail" reads the last rows of the whole frame; it cannot be combined with "start", "end", "limit" or "since_version"');
    }
    let first = manifest.segments.length;
    let rows = 0;
    while (first > 0 && rows < tail) rows += manifest.segments[--first]!.rows;
    const plan: ReadPlan = { ...this.readPlan(info, manifest.segments.slice(first)), schemaHeader: projection.schemaHeader, columns: projection.columns, removalMark: projection.removalMark };
    // Of the first of those segments only its last row groups are decoded (tail-read.ts).
    if (!hasEvolvedSegments(plan.segments)) return { info, schema: projection.schema, messages: tailMessages(this.readerContext(), ref, plan, tail, release) };
    const messages = this.planMessages(ref, plan, info.schema, projection.schema, release);
    const skip = Math.max(0, rows - tail);
    return { info, schema: projection.schema, messages: skip > 0 ? skipLeadingRows(messages, skip) : messages };
  }

  /** The plan reading these segments of a frame whole. */
  private readPlan(info: FrameInfo, segments: readonly SegmentEntry[]): ReadPlan {
    const batchRows = Math.max(1024, Math.min(1 << 20, Math.floor(this.batchBytes / Math.max(1, info.bytes / Math.max(1, info.rows)))));
    return {
      version: info.version,
      segments,
      schemaHeader: info.schemaHeader,
      storedColumns: info.schema.fields.map((field) => field.name),
      batchRows,
      columns: undefined,
      keptDictionaries: dictionaryLayout(info.schema) !== undefined,
      dictionaryColumns: info.schema.fields.filter((field) => DataType.isDictionary(field.type)).map((field) => field.name),
    };
  }

  /** What frame reads need; `cached` lets them use (and fill) the decoded-segment cache. */
  private readerContext(cached = true): FrameReaderContext {
    const context = { connector: this.connector, codec: this.codec, leases: this.leases };
    return cached && this.decodedCache ? { ...context, cache: this.decodedCache } : context;
  }

  /**
   * Merges runs of small segments (under half the segment size; appends make them) into full-size
   * ones, as a new version with the same rows in the same order. Large segments are left as they
   * are, so the cost is the small segments' data only. Appends committed meanwhile are kept (the
   * compacted version is rebased onto them); if the frame was replaced or deleted meanwhile,
   * nothing changes.
   * @throws NotFoundError if the frame does not exist
   */
  async compact(ref: FrameRef): Promise<CompactionReport> {
    const manifest = await selectManifest(this.connector, ref);
    const before = manifest.segments.length;
    const unchanged = (version: number, segments: number): CompactionReport => ({ ...ref, version, compacted: false, segmentsBefore: segments, segmentsAfter: segments });
    const runs = smallSegmentRuns(manifest.segments, this.segmentBytes / 2);
    // When merging cannot gain, a background compaction waits until the small segments double.
    const gainsNothing = (): CompactionReport => {
      this.fruitless.set(frameKey(ref), manifest.segments.filter((segment) => segment.bytes < this.segmentBytes / 2).length);
      return unchanged(manifest.version, before);
    };
    if (runs.length === 0) return gainsNothing();
    const info = toFrameInfo(ref, manifest);
    const timeColumn = frameTimeColumn(manifest);
    const merged: SegmentEntry[][] = [];
    try {
      for (const run of runs) {
        const plan = this.readPlan(info, manifest.segments.slice(run.start, run.end));
        // Read past the cache: the small segments are about to be replaced.
        merged.push([...(await this.writer.write(ref, this.planMessages(ref, plan, info.schema, info.schema, undefined, false), () => timeColumn)).segments]);
      }
      // Segments whose dictionaries differ cannot share one: then merging may gain nothing.
      const runSegments = runs.reduce((sum, run) => sum + run.end - run.start, 0);
      if (merged.flat().length >= runSegments) {
        await this.writer.discard(ref, merged.flat());
        return gainsNothing();
      }
      const report = await this.commitWithRetry(ref, true, async () => {
        const current = liveManifest(await this.connector.getManifest(ref));
        const rebased = current !== undefined && current.schema === manifest.schema && startsWith(current.segments, manifest.segments);
        if (!rebased) return undefined;
        const segments: SegmentEntry[] = [];
        let next = 0;
        runs.forEach((run, i) => {
          segments.push(...manifest.segments.slice(next, run.start), ...merged[i]!);
          next = run.end;
        });
        segments.push(...current.segments.slice(next));
        const { restoredFrom: _restored, ...state } = current;
        const compacted: FrameManifest = { ...state, ...nextVersion(current, 'compact'), segments, bytes: segments.reduce((sum, s) => sum + s.bytes, 0) };
        await this.connector.commitManifest(ref, compacted);
        this.fruitless.delete(frameKey(ref));
        return { ...ref, version: compacted.version, compacted: true, segmentsBefore: current.segments.length, segmentsAfter: segments.length };
      });
      if (report) return report;
      await this.writer.discard(ref, merged.flat());
      const current = liveManifest(await this.connector.getManifest(ref));
      return unchanged(current?.version ?? manifest.version, current?.segments.length ?? before);
    } catch (error) {
      await this.writer.discard(ref, merged.flat());
      throw error;
    } finally {
      this.writer.forget(ref, merged.flat());
    }
  }

  /** Starts a background compaction when an append, update or delete_range left the frame with many small segments. */
  private compactWhenFragmented(ref: FrameRef, manifest: FrameManifest): void {
    if (this.compactThreshold <= 0 || this.compacting.has(frameKey(ref))) return;
    const small = manifest.segments.filter((segment) => segment.bytes < this.segmentBytes / 2).length;
    if (small < Math.max(this.compactThreshold, 2 * (this.fruitless.get(frameKey(ref)) ?? 0))) return;
    const running = this.compact(ref)
      .catch((error: unknown) => process.emitWarning(`background compaction of ${describeFrame(ref)} failed: ${(error as Error).message}`))
      .finally(() => this.compacting.delete(frameKey(ref)));
    this.compacting.set(frameKey(ref), running);
  }

  /**
   * Lists a bucket's frames (sorted by name), optionally filtered by a regular expression that
   * must match somewhere in the name and by metadata (every given key equal).
   * @throws NotFoundError for a missing bucket other than the default one
   */
  async list(bucket: string, regex?: string, metadata?: FrameMetadata): Promise<FrameInfo[]> {
    // Compiled so that no client's pattern can backtrack for minutes (name-pattern.ts).
    const pattern = regex !== undefined && regex !== '' ? compileNamePattern(regex) : undefined;
    const manifests = await this.connector.listManifests(bucket, pattern ? (name) => pattern.test(name) : undefined);
    if (manifests.size === 0 && bucket !== DEFAULT_BUCKET && !(await this.connector.listBuckets()).includes(bucket)) {
      throw new NotFoundError(`bucket '${bucket}' does not exist`);
    }
    const unfiltered = !pattern && metadata === undefined;
    // A connector that answers the same listing again with the same map (the SQLite catalog while
    // nothing changed) gets the same answer: a copy of the array, not another pass.
    const listed = unfiltered ? this.listedInfos.get(manifests) : undefined;
    if (listed) return listed.slice();
    // One pass (forEach: no [name, manifest] pair per frame), and a sort only when the connector
    // did not list in name order already (the SQLite catalog does).
    const infos: FrameInfo[] = [];
    let sorted = true;
    manifests.forEach((manifest, name) => {
      if (manifest.deleted) return;
      let info = this.frameInfos.get(manifest);
      if (!info) {
        info = toFrameInfo({ bucket, name }, manifest);
        this.frameInfos.set(manifest, info);
      }
      if (metadata !== undefined && !metadataMatches(info.metadata, metadata)) return;
      if (sorted && infos.length > 0 && infos[infos.length - 1]!.name > name) sorted = false;
      infos.push(info);
    });
    if (!sorted) infos.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    if (unfiltered) this.listedInfos.set(manifests, infos.slice());
    return infos;
  }

  /**
   * Deletes a frame by committing a deletion version (a tombstone): the frame is gone for readers,
   * listings and SQL, its earlier versions stay readable by `version` and `as_of` until vacuum
   * removes them, and `restore` can bring it back.
   * @throws NotFoundError if it does not exist
   */
  async delete(ref: FrameRef): Promise<void> {
    await this.commitWithRetry(ref, true, async () => {
      const stored = await this.connector.getManifest(ref);
      if (!liveManifest(stored)) throw new NotFoundError(`${describeFrame(ref)} does not exist`);
      const tombstone: FrameManifest = { ...nextVersion(stored, 'delete'), schema: stored!.schema, rows: 0, bytes: 0, segments: [], deleted: true };
      await this.connector.commitManifest(ref, tombstone);
    });
  }

  /**
   * The frame's kept versions, oldest first (deletions included).
   * @throws NotFoundError if the frame has no version at all
   */
  async versions(ref: FrameRef): Promise<VersionInfo[]> {
    const manifests = await this.keptManifests(ref);
    if (manifests.length === 0) throw new NotFoundError(`${describeFrame(ref)} does not exist`);
    return manifests.map((manifest) => ({
      version: manifest.version,
      committedAt: manifest.committedAt,
      ...(manifest.operation ? { operation: manifest.operation } : {}),
      rows: manifest.rows,
      bytes: manifest.bytes,
      segments: manifest.segments.length,
      deleted: manifest.deleted === true,
      ...(manifest.restoredFrom === undefined ? {} : { restoredFrom: manifest.restoredFrom }),
    }));
  }

  /** Every kept manifest of a frame, ascending (those removed meanwhile are skipped). */
  private async keptManifests(ref: FrameRef): Promise<FrameManifest[]> {
    const versions = await this.connector.listVersions(ref);
    const manifests = await Promise.all(versions.map((version) => this.connector.getManifestVersion(ref, version)));
    return manifests.filter((manifest): manifest is FrameManifest => manifest !== undefined);
  }

  /**
   * Makes an old version the current state again, as a new version (also for a deleted frame).
   * Nothing is copied: the new version references the old one's segments.
   * @throws NotFoundError if that version is not kept or is a deletion
   */
  async restore(ref: FrameRef, version: number): Promise<PutSummary> {
    return this.commitWithRetry(ref, true, async () => {
      // Read under the commit lock, which vacuum holds too: read before it, the version could be
      // expired and its segments deleted before this commit references them.
      const target = await selectManifest(this.connector, ref, { version });
      const stored = await this.connector.getManifest(ref);
      const { version: _v, committedAt: _c, operation: _o, restoredFrom: _r, ...state } = target;
      const manifest: FrameManifest = { ...state, ...nextVersion(stored, 'restore'), restoredFrom: version };
      await this.connector.commitManifest(ref, manifest);
      return { bucket: ref.bucket, name: ref.name, rowsWritten: 0, rows: manifest.rows, version: manifest.version };
    });
  }

  /**
   * Removes the rows whose time lies in [start, end) (epoch nanoseconds) as a new version. Only
   * segments whose time statistics overlap the range are read and rewritten (their kept rows in
   * new segments); the others are kept as they are. Nothing matches: no version is made.
   * @throws NotFoundError; InvalidArgumentError for a frame without a time column
   */
  async deleteRange(ref: FrameRef, start: bigint | undefined, end: bigint | undefined): Promise<RangeRewriteSummary> {
    const written: SegmentEntry[] = [];
    try {
      // No retry: a commit by another process meanwhile is reported (ConflictError) rather than redone.
      return await this.commitWithRetry(ref, false, async () => {
        const current = liveManifest(await this.connector.getManifest(ref));
        if (!current) throw new NotFoundError(`${describeFrame(ref)} does not exist`);
        const { column, bounds } = this.rangeBounds(ref, current, start, end);
        const result = await this.rewriteRange(ref, current, column, bounds, written);
        if (result.rowsRemoved === 0) return { bucket: ref.bucket, name: ref.name, version: current.version, rows: current.rows, rowsRemoved: 0, segmentsRewritten: 0 };
        const manifest = this.rewrittenManifest(current, result.segments, 'delete_range');
        await this.connector.commitManifest(ref, manifest);
        this.compactWhenFragmented(ref, manifest);
        return { bucket: ref.bucket, name: ref.name, version: manifest.version, rows: manifest.rows, rowsRemoved: result.rowsRemoved, segmentsRewritten: result.segmentsRewritten };
      });
    } catch (error) {
      await this.writer.discard(ref, written);
      throw error;
    } finally {
      this.writer.forget(ref, written);
    }
  }

  /** The frame's time column and [start, end) as bounds on its raw values. @throws InvalidArgumentError without one */
  private rangeBounds(ref: FrameRef, manifest: FrameManifest, start: bigint | undefined, end: bigint | undefined): { column: string; bounds: ColumnBounds } {
    const column = frameTimeColumn(manifest);
    const field = column === undefined ? undefined : toFrameInfo(ref, manifest).schema.fields.find((candidate) => candidate.name === column);
    if (column === undefined || !field) {
      throw new InvalidArgumentError(`${describeFrame(ref)} has no time column (a timestamp or date column), so a time range cannot be deleted or updated`);
    }
    return { column, bounds: columnBounds(field.type, start, end) };
  }

  /** The next version of `current` with these segments (rows and bytes recounted). */
  private rewrittenManifest(current: FrameManifest, segments: readonly SegmentEntry[], operation: 'delete_range' | 'update'): FrameManifest {
    const { restoredFrom: _restored, ...state } = current;
    return {
      ...state,
      ...nextVersion(current, operation),
      segments,
      rows: segments.reduce((sum, segment) => sum + segment.rows, 0),
      bytes: segments.reduce((sum, segment) => sum + segment.bytes, 0),
    };
  }

  /**
   * The segments of `manifest` with the rows in `bounds` removed, and where rows inserted for the
   * range belong: where the removed rows were (or, if none was removed, before the first segment
   * wholly after the range). Only overlapping segments are read; new segments are added to `written`.
   */
  private async rewriteRange(ref: FrameRef, manifest: FrameManifest, column: string, bounds: ColumnBounds, written: SegmentEntry[]): Promise<RangeRewrite> {
    const info = toFrameInfo(ref, manifest);
    const timeType = info.schema.fields.find((field) => field.name === column)!.type;
    const segments: SegmentEntry[] = [];
    let insertAt: number | undefined;
    let segmentsRewritten = 0;
    let rowsRemoved = 0;
    const place = (): void => {
      insertAt ??= segments.length;
    };
    const write = async (schema: Schema, batches: RecordBatch[]): Promise<readonly SegmentEntry[]> => {
      if (batches.every((batch) => batch.numRows === 0)) return [];
      const stored = await this.writer.write(ref, batchMessages(schema, batches), () => column);
      written.push(...stored.segments);
      return stored.segments;
    };
    for (const segment of manifest.segments) {
      if (!segmentOverlaps(segment, bounds)) {
        if (segment.timeRange && bounds.upper !== undefined && BigInt(segment.timeRange.min) >= bounds.upper) place();
        segments.push(segment);
        continue;
      }
      // Row-group splicing first: only the row groups the range overlaps are decoded and encoded.
      const spliced = await spliceSegment({ connector: this.connector, codec: this.codec, writer: this.writer }, ref, segment, column, timeType, bounds, written);
      if (spliced) {
        if (spliced.removed === 0) {
          segments.push(segment);
          continue;
        }
        segmentsRewritten++;
        rowsRemoved += spliced.removed;
        segments.push(...spliced.before);
        place();
        segments.push(...spliced.after);
        continue;
      }
      const messages: IpcMessage[] = [];
      // Read past the cache: the segment is about to be replaced.
      for await (const message of this.planMessages(ref, this.readPlan(info, [segment]), info.schema, info.schema, undefined, false)) messages.push(message);
      const reader = RecordBatchReader.from(joinIpcStream(messages));
      const batches = reader.readAll();
      const kept = keptRows(batches, column, bounds, segment.timeSorted === true);
      if (kept.removed === 0) {
        segments.push(segment);
        continue;
      }
      segmentsRewritten++;
      rowsRemoved += kept.removed;
      // The rows before and after the range are encoded at once (on two codec workers).
      const [before, after] = await Promise.all([write(reader.schema, kept.before), write(reader.schema, kept.after)]);
      segments.push(...before);
      place();
      segments.push(...after);
    }
    return { segments, insertAt: insertAt ?? segments.length, segmentsRewritten, rowsRemoved };
  }

  /**
   * Replaces a frame's user metadata as a new version, without touching its rows: the new version
   * references the same segments. `expectedVersion` makes it conditional, as for a put.
   * @throws NotFoundError if the frame does not exist; ConflictError if it is not at `expectedVersion`
   */
  async setMetadata(ref: FrameRef, metadata: FrameMetadata, expectedVersion?: number): Promise<PutSummary> {
    return this.commitWithRetry(ref, expectedVersion === undefined, async () => {
      const stored = await this.connector.getManifest(ref);
      const current = liveManifest(stored);
      if (!current) throw new NotFoundError(`${describeFrame(ref)} does not exist; put it first`);
      checkExpectedVersion(ref, current, expectedVersion);
      const { restoredFrom: _restored, ...state } = current;
      const manifest: FrameManifest = { ...state, ...nextVersion(current, 'set_metadata'), metadata };
      await this.connector.commitManifest(ref, manifest);
      return { bucket: ref.bucket, name: ref.name, rowsWritten: 0, rows: manifest.rows, version: manifest.version };
    });
  }

  /**
   * Removes old versions past the retention policy and the segments only they used, plus stray
   * segments no kept version references (left by crashes) once older than the grace period.
   * A segment a reader in this process still uses is deleted when that read ends. The current
   * version of a frame is never touched; a deleted frame keeps its tombstone.
   * @param scope - one frame, one bucket's frames, or (empty) every bucket
   * @param dryRun - only report what would be removed
   */
  async vacuum(scope: { readonly bucket?: string; readonly name?: string } = {}, dryRun = false): Promise<VacuumReport> {
    const refs: FrameRef[] = [];
    if (scope.name !== undefined) refs.push({ bucket: scope.bucket ?? DEFAULT_BUCKET, name: scope.name });
    else {
      for (const bucket of scope.bucket !== undefined ? [scope.bucket] : await this.connector.listBuckets()) {
        for (const name of await this.connector.listFrames(bucket)) refs.push({ bucket, name });
      }
    }
    const total = { frames: 0, versionsRemoved: 0, segmentsRemoved: 0, bytesFreed: 0 };
    for (const ref of refs) {
      const report = await this.commitLock.run(frameKey(ref), () => this.vacuumFrame(ref, dryRun));
      total.frames++;
      total.versionsRemoved += report.versionsRemoved;
      total.segmentsRemoved += report.segmentsRemoved;
      total.bytesFreed += report.bytesFreed;
    }
    return total;
  }

  /** Vacuums one frame, under its commit lock (so no commit of this process runs meanwhile). */
  private async vacuumFrame(ref: FrameRef, dryRun: boolean): Promise<Omit<VacuumReport, 'frames'>> {
    const now = Date.now();
    const manifests = await this.keptManifests(ref);
    // Versions a snapshot holds stay, whatever their age (read under the frame's commit lock).
    const pinned = await this.snapshotBook.pinned(ref.bucket, ref.name, this.retention.graceMs);
    const expired = expiredVersions(manifests, this.retention, now).filter((manifest) => !pinned.has(manifest.version));
    const expiredSet = new Set(expired);
    const kept = manifests.filter((manifest) => !expiredSet.has(manifest));
    const referenced = new Set(kept.flatMap((manifest) => segmentObjectIds(manifest.segments)));
    const doomed = new Map<string, number>();
    for (const manifest of expired) {
      for (const segment of manifest.segments) {
        if (!referenced.has(segment.id)) doomed.set(segment.id, segment.storedBytes);
        if (segment.dictionaries && !referenced.has(segment.dictionaries)) doomed.set(segment.dictionaries, 0);
      }
    }
    for (const object of await this.connector.listSegmentObjects(ref)) {
      const stray = !referenced.has(object.id) && !this.writer.isUncommitted(ref, object.id);
      if (stray && now - object.modifiedAt >= this.retention.graceMs && !doomed.has(object.id)) doomed.set(object.id, 0);
    }
    if (!dryRun) {
      // Manifests first: a crash in between leaves only unreferenced segments, collected next time.
      if (expired.length > 0) await this.connector.deleteManifests(ref, expired.map((manifest) => manifest.version));
      if (doomed.size > 0) this.leases.collect(ref, [...doomed.keys()]);
    }
    let bytesFreed = 0;
    for (const bytes of doomed.values()) bytesFreed += bytes;
    return { versionsRemoved: expired.length, segmentsRemoved: doomed.size, bytesFreed };
  }

  /**
   * Removes a frame at once, with every kept version and every segment they reference: the way to
   * free space on a full store, because it writes nothing (a delete commits a tombstone, which a
   * full store may refuse, and leaves the history to vacuum and its retention). Unlike a delete it
   * cannot be undone, and a read of the frame running meanwhile may fail with NOT_FOUND.
   * @throws NotFoundError if the frame has no kept version (deleted frames still have theirs)
   */
  async purge(ref: FrameRef): Promise<PurgeReport> {
    return this.commitLock.run(frameKey(ref), async () => {
      const manifests = await this.keptManifests(ref);
      if (manifests.length === 0) throw new NotFoundError(`${describeFrame(ref)} does not exist`);
      const objects = new Map<string, number>();
      for (const manifest of manifests) {
        for (const segment of manifest.segments) {
          objects.set(segment.id, segment.storedBytes);
          if (segment.dictionaries) objects.set(segment.dictionaries, 0);
        }
      }
      await this.leases.removing(() => this.connector.deleteFrame(ref));
      let bytesFreed = 0;
      for (const bytes of objects.values()) bytesFreed += bytes;
      return { bucket: ref.bucket, name: ref.name, versionsRemoved: manifests.length, segmentsRemoved: objects.size, bytesFreed };
    });
  }

  /**
   * Takes a snapshot named `name` of the bucket: the current version of every frame (or of the
   * frames named), readable later with `{ snapshot: name }` and kept from vacuum until the snapshot
   * is deleted, also after the frames are deleted.
   * @throws AlreadyExistsError for a name taken; NotFoundError for a missing bucket or named frame
   */
  async createSnapshot(bucket: string, name: string, frames?: readonly string[]): Promise<SnapshotInfo> {
    return this.snapshotBook.create(bucket, name, frames);
  }

  /** The bucket's snapshots, by name. */
  async snapshots(bucket: string): Promise<SnapshotInfo[]> {
    return this.snapshotBook.list(bucket);
  }

  /** Deletes a snapshot; the versions it held fall under retention again. @throws NotFoundError */
  async deleteSnapshot(bucket: string, name: string): Promise<void> {
    return this.snapshotBook.delete(bucket, name);
  }

  /** Lists bucket names, sorted. */
  async buckets(): Promise<string[]> {
    return (await this.connector.listBuckets()).sort();
  }

  /**
   * Deletes a bucket. Mode `error` refuses a bucket that still holds frames; `delete` removes them.
   * Holds the commit locks of the bucket's frames meanwhile: a commit racing it (an append, a
   * restore) would otherwise make a version over segments the delete then removes.
   * @throws NotFoundError if the bucket does not exist; BucketNotEmptyError
   */
  async deleteBucket(bucket: string, mode: BucketDeleteMode): Promise<void> {
    const name = resolveBucket(bucket);
    if (!(await this.connector.listBuckets()).includes(name)) throw new NotFoundError(`bucket '${name}' does not exist`);
    const frames = (await this.connector.listFrames(name)).sort().map((frame) => ({ bucket: name, name: frame }));
    await this.underCommitLocks(frames, async () => {
      if (mode === 'error' && [...(await this.connector.listManifests(name)).values()].some((manifest) => !manifest.deleted)) {
        throw new BucketNotEmptyError(name);
      }
      await this.leases.removing(() => this.connector.deleteBucket(name));
    });
  }

  /** Runs `work` holding the commit locks of these frames (taken in the order given: sorted, so never crossed). */
  private async underCommitLocks<T>(refs: readonly FrameRef[], work: () => Promise<T>): Promise<T> {
    const [first, ...rest] = refs;
    if (!first) return work();
    return this.commitLock.run(frameKey(first), () => this.underCommitLocks(rest, work));
  }
}

function frameKey(ref: FrameRef): string {
  return `${ref.bucket}/${ref.name}`;
}

