/**
 * The core engine: everything backend-independent. Put modes, schema checks on append, per-frame
 * commit serialisation, segment encoding, streaming reads with bounded memory, listing and buckets.
 * Connectors below it only store bytes; the Flight server above it only speaks the wire protocol.
 */
import { randomUUID } from 'node:crypto';
import { Schema } from 'apache-arrow';
import type { Connector } from '../connectors/connector.js';
import { AlreadyExistsError, BucketNotEmptyError, ConflictError, InvalidArgumentError, NotFoundError } from './errors.js';
import type { FrameInfo, PutSummary } from './frame-info.js';
import { type DictionaryLayout, dictionaryLayout, renumberDictionary, storedDictionaryId } from './dictionary-layout.js';
import { type IpcMessage, decodeSchemaHeader, encodeSchemaHeader, inspectMessage, joinIpcStream } from './ipc-message.js';
import { type RangePlan, type ReadPlan, frameMessages } from './frame-reader.js';
import { KeyedMutex } from './keyed-mutex.js';
import { SegmentLeases } from './segment-leases.js';
import { type FrameMetadata, metadataMatches } from './frame-metadata.js';
import type { QueryContext, QueryStream, SqlEngine, SqlOptions } from './sql/sql-engine.js';
import { type FrameManifest, type SegmentEntry, segmentObjectIds } from './manifest.js';
import { DEFAULT_BUCKET, type FrameRef, describeFrame, resolveBucket } from './names.js';
import type { ParquetCodec } from './parquet/parquet-codec.js';
import type { BucketDeleteMode, PutMode } from './put-mode.js';
import { assertAppendable } from './schema-compat.js';
import { type BuiltSegment, SegmentBuilder, dictionaryColumns, statisticsColumns } from './segment-builder.js';
import { type TimeStatistics, locateTimeColumn } from './ipc-time-statistics.js';
import { isTimeType, timeColumnOf } from './time-column.js';
import { columnBounds } from './time-range.js';

/** Tuning of the engine; defaults suit a 2-core machine. */
export interface EngineOptions {
  /** Arrow bytes per stored segment (default 16 MiB). Bounds memory on put and get. */
  readonly segmentBytes?: number;
  /**
   * Arrow bytes per Parquet row group (default: the segment size, so one row group per segment and
   * one decode call per segment). Only a single incoming batch larger than this spans several.
   */
  readonly rowGroupBytes?: number;
  /** Arrow bytes per record batch sent to clients (default 3 MiB; Go clients accept 4 MiB). */
  readonly batchBytes?: number;
  /** Segments being encoded at once during one put (default 2). */
  readonly encodeConcurrency?: number;
  /** SQL limits and tuning (DuckDB starts on the first query). */
  readonly sql?: SqlOptions;
}

/** Options of a put. */
export interface PutOptions {
  /** User metadata for the frame; replaces the previous version's. Absent: the previous version's is kept. */
  readonly metadata?: FrameMetadata;
  /**
   * Optimistic concurrency: the version the caller last saw (0 = the frame must not exist). If the
   * frame is at another version when the put commits, it fails with ConflictError and writes nothing.
   */
  readonly expectedVersion?: number;
}

/** A put whose segments are stored, waiting for its commit. */
interface PendingCommit {
  readonly mode: PutMode;
  /** The incoming schema, and the stored form of its header. */
  readonly schema: Schema;
  readonly schemaHeader: Uint8Array;
  /** The segments written, and the time column their statistics describe. */
  readonly segments: readonly SegmentEntry[];
  readonly timeColumn: string | undefined;
  readonly rowsWritten: number;
  readonly bytesWritten: number;
  readonly options: PutOptions;
}

/** Options of a read. */
export interface ReadOptions {
  /** Columns to return, in this order; all when absent. */
  readonly columns?: readonly string[];
  /** Only rows whose time column is at or after this instant (epoch nanoseconds, see time-range.ts). */
  readonly start?: bigint;
  /** Only rows whose time column is before this instant (epoch nanoseconds). */
  readonly end?: bigint;
  /** At most this many rows (after filtering by time). */
  readonly limit?: number;
}

/** A frame being read: its schema up front, then its messages. */
export interface FrameStream {
  /** The frame at the version being read. */
  readonly info: FrameInfo;
  /** The schema of the stream (projected when columns were given). */
  readonly schema: Schema;
  /**
   * The stream's messages: first the Schema message, then dictionary and record batches.
   * Iterate at most once; breaking early releases the read.
   */
  readonly messages: AsyncIterable<IpcMessage>;
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
  private readonly segmentBytes: number;
  private readonly rowGroupBytes: number;
  private readonly batchBytes: number;
  private readonly encodeConcurrency: number;
  private readonly sqlOptions: SqlOptions;
  private sqlEngine: Promise<SqlEngine> | undefined;

  /**
   * @param connector - the storage backend (opened by the caller)
   * @param codec - the Parquet worker pool
   * @param options - tuning
   */
  constructor(
    readonly connector: Connector,
    private readonly codec: ParquetCodec,
    options: EngineOptions = {},
  ) {
    this.segmentBytes = options.segmentBytes ?? 16 * MiB;
    this.rowGroupBytes = options.rowGroupBytes ?? this.segmentBytes;
    this.batchBytes = options.batchBytes ?? 3 * MiB;
    this.encodeConcurrency = options.encodeConcurrency ?? 2;
    this.sqlOptions = { batchBytes: this.batchBytes, ...options.sql };
    this.leases = new SegmentLeases(connector);
  }

  /**
   * Runs a read-only SQL query over the bucket's frames and streams the result (see
   * sql/sql-engine.ts). DuckDB is loaded on the first query, so servers that never query never load it.
   * @throws InvalidArgumentError (detail type DataFusionError) for bad SQL, PermissionDeniedError
   *   for anything but a query, DeadlineExceededError past the timeout
   */
  async query(sql: string, context: QueryContext): Promise<QueryStream> {
    return (await this.sql()).query(sql, context);
  }

  /** The schema of a query's result, without running it. @throws as {@link query} */
  async querySchema(sql: string, context: QueryContext): Promise<Schema> {
    return (await this.sql()).schema(sql, context);
  }

  /** Stops the SQL engine if it was started. The connector and codec belong to the caller. */
  async close(): Promise<void> {
    const sql = this.sqlEngine;
    this.sqlEngine = undefined;
    if (sql) await (await sql).close();
  }

  private sql(): Promise<SqlEngine> {
    this.sqlEngine ??= import('./sql/sql-engine.js').then(({ SqlEngine }) => SqlEngine.open(this.connector, this.codec, this.leases, this.sqlOptions));
    this.sqlEngine.catch(() => (this.sqlEngine = undefined));
    return this.sqlEngine;
  }

  /** Returns the frame's current state. @throws NotFoundError if it does not exist */
  async stat(ref: FrameRef): Promise<FrameInfo> {
    return toFrameInfo(ref, await this.currentManifest(ref));
  }

  private async currentManifest(ref: FrameRef): Promise<FrameManifest> {
    const manifest = await this.connector.getManifest(ref);
    if (!manifest) throw new NotFoundError(`${describeFrame(ref)} does not exist`);
    return manifest;
  }

  /**
   * Stores a stream of IPC messages (Schema first) as a frame, honouring the put mode. The frame
   * changes atomically when the stream ends; on any error nothing is stored.
   * @throws AlreadyExistsError (mode error), InvalidArgumentError (bad stream, schema mismatch)
   */
  async put(ref: FrameRef, mode: PutMode, input: AsyncIterable<IpcMessage>, options: PutOptions = {}): Promise<PutSummary> {
    const existing = mode === 'replace' && options.expectedVersion === undefined ? undefined : await this.connector.getManifest(ref);
    if (mode === 'error' && existing) {
      throw frameExists(ref);
    }
    // Fail fast, before any data is received; checked again at commit.
    checkExpectedVersion(ref, existing, options.expectedVersion);
    // Statistics are kept for the column the committed manifest will name (checked again at commit).
    let timeColumn: string | undefined;
    const written: SegmentEntry[] = [];
    const inFlight: Promise<SegmentEntry>[] = [];
    let schemaHeader: Uint8Array | undefined;
    let schema: Schema | undefined;
    let layout: DictionaryLayout | undefined;
    let builder: SegmentBuilder | undefined;
    let rowsWritten = 0;
    let bytesWritten = 0;
    const drainOne = async (): Promise<void> => {
      written.push(await inFlight.shift()!);
    };
    const flush = async (): Promise<void> => {
      const segment = builder?.take();
      if (!segment) return;
      rowsWritten += segment.rows;
      bytesWritten += segment.bytes;
      inFlight.push(this.writeSegment(ref, schema!, segment));
      while (inFlight.length >= this.encodeConcurrency) await drainOne();
    };
    try {
      for await (const message of input) {
        const info = inspectMessage(message);
        if (info.kind === 'schema') {
          if (schemaHeader) throw new InvalidArgumentError('the stream sent a second Schema message; send one schema per put');
          schema = info.schema;
          layout = dictionaryLayout(schema);
          schemaHeader = layout ? encodeSchemaHeader(layout.storedSchema) : message.header.slice();
          const segmentSchema = layout ? encodeSchemaHeader(layout.storageSchema) : schemaHeader;
          timeColumn = existing ? frameTimeColumn(existing) : timeColumnOf(schema);
          const locator = timeColumn !== undefined && hasTimeColumn(schema, timeColumn) ? locateTimeColumn(schema, timeColumn) : undefined;
          builder = new SegmentBuilder(segmentSchema, this.segmentBytes, layout !== undefined, locator);
          continue;
        }
        if (!builder) throw new InvalidArgumentError(`the stream must start with a Schema message, not a ${info.kind}`);
        const body = message.body.subarray(0, info.bodyLength);
        if (info.kind === 'dictionary') {
          let dictionary: IpcMessage = { header: message.header, body };
          let id = info.id;
          if (layout) {
            id = storedDictionaryId(layout, info.id);
            dictionary = renumberDictionary(dictionary, id);
          }
          if (builder.replacesDictionaryInUse(id, info.isDelta)) await flush();
          builder.addDictionary(dictionary, id, info.isDelta);
        } else if (builder.addBatch({ header: message.header, body }, info.rows, info.decoded)) {
          await flush();
        }
      }
      if (!schemaHeader || !schema) throw new InvalidArgumentError('the stream ended before its Schema message; nothing was stored');
      await flush();
      while (inFlight.length > 0) await drainOne();
    } catch (error) {
      const settled = await Promise.allSettled(inFlight);
      for (const result of settled) if (result.status === 'fulfilled') written.push(result.value);
      await this.discardSegments(ref, written);
      throw error;
    }
    try {
      return await this.commit(ref, { mode, schema, schemaHeader, segments: written, timeColumn, rowsWritten, bytesWritten, options });
    } catch (error) {
      await this.discardSegments(ref, written);
      throw error;
    }
  }

  /** Encodes and stores one segment, and its dictionary batches beside it when kept apart. */
  private async writeSegment(ref: FrameRef, schema: Schema, segment: BuiltSegment): Promise<SegmentEntry> {
    const { rows, bytes } = segment;
    const rowGroupRows = Math.max(1024, Math.floor(this.rowGroupBytes / Math.max(1, bytes / rows)));
    const parquet = await this.codec
      .encode(segment.ipc, { rowGroupRows, dictionaryColumns: dictionaryColumns(schema), statisticsColumns: statisticsColumns(schema) })
      .catch((error: unknown) => {
        throw new InvalidArgumentError(
          `cannot store ${describeFrame(ref)} as Parquet (${(error as Error).message}); a column type may not be ` +
            `supported by the store (e.g. month_day_nano intervals): convert or drop that column. Nothing was stored.`,
          { cause: error },
        );
      });
    const base = randomUUID();
    const id = `${base}.parquet`;
    await this.connector.putSegment(ref, id, parquet);
    let dictionaries: string | undefined;
    if (segment.dictionaries.length > 0) {
      dictionaries = `${base}.dictionaries.arrows`;
      await this.connector.putSegment(ref, dictionaries, joinIpcStream(segment.dictionaries, false));
    }
    return {
      id,
      rows,
      bytes,
      storedBytes: parquet.byteLength,
      rowGroups: Math.ceil(rows / rowGroupRows),
      ...(dictionaries ? { dictionaries } : {}),
      ...timeStatisticsEntry(segment.time),
    };
  }

  private async discardSegments(ref: FrameRef, segments: readonly SegmentEntry[]): Promise<void> {
    if (segments.length === 0) return;
    await this.connector.deleteSegments(ref, segmentObjectIds(segments)).catch(() => undefined);
  }

  private async commit(ref: FrameRef, pending: PendingCommit): Promise<PutSummary> {
    return this.commitLock.run(frameKey(ref), async () => {
      for (let attempt = 1; ; attempt++) {
        try {
          return await this.commitOnce(ref, pending);
        } catch (error) {
          // A put that expects a version must fail once another commit got there first.
          const retry = error instanceof ConflictError && attempt < COMMIT_ATTEMPTS && pending.options.expectedVersion === undefined;
          if (!retry) throw error;
          await new Promise((resolve) => setTimeout(resolve, Math.random() * 10 * attempt));
        }
      }
    });
  }

  /** One compare-and-swap attempt of {@link commit}, under the frame's commit lock. */
  private async commitOnce(ref: FrameRef, pending: PendingCommit): Promise<PutSummary> {
    const { mode, schema, schemaHeader, rowsWritten, bytesWritten, options } = pending;
    const current = await this.connector.getManifest(ref);
    if (current && mode === 'error') {
      throw frameExists(ref);
    }
    checkExpectedVersion(ref, current, options.expectedVersion);
    const appending = current !== undefined && mode === 'append';
    if (appending) assertAppendable(ref.name, decodeSchemaHeader(Buffer.from(current.schema, 'base64')), schema);
    const timeColumn = appending ? frameTimeColumn(current) : timeColumnOf(schema);
    // New metadata replaces the frame's; without any, the previous version's is kept.
    const metadata = options.metadata ?? current?.metadata;
    // A concurrent commit may have changed which column is the time column since the put began:
    // statistics of another column would prune wrongly, so those segments keep none.
    const segments = timeColumn === pending.timeColumn ? pending.segments : pending.segments.map(withoutTimeStatistics);
    const manifest: FrameManifest = {
      format: 1,
      version: (current?.version ?? 0) + 1,
      committedAt: new Date().toISOString(),
      schema: appending ? current.schema : Buffer.from(schemaHeader).toString('base64'),
      rows: (appending ? current.rows : 0) + rowsWritten,
      bytes: (appending ? current.bytes : 0) + bytesWritten,
      segments: appending ? [...current.segments, ...segments] : segments,
      ...(timeColumn === undefined ? {} : { timeColumn }),
      ...(metadata === undefined ? {} : { metadata }),
    };
    await this.connector.commitManifest(ref, manifest);
    if (current && !appending) this.leases.collect(ref, segmentObjectIds(current.segments));
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
    const manifest = await this.currentManifest(ref);
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
    const batchRows = Math.max(1024, Math.min(1 << 20, Math.floor(this.batchBytes / Math.max(1, info.bytes / Math.max(1, info.rows)))));
    let plan: ReadPlan = {
      segments: manifest.segments,
      schemaHeader,
      storedColumns: info.schema.fields.map((field) => field.name),
      batchRows,
      columns,
      keptDictionaries: dictionaryLayout(info.schema) !== undefined,
    };
    const range = rangePlan(ref, manifest, info.schema, options);
    if (range) plan = { ...plan, range };
    const context = { connector: this.connector, codec: this.codec, leases: this.leases };
    return { info, schema, messages: frameMessages(context, ref, plan) };
  }

  /**
   * Lists a bucket's frames (sorted by name), optionally filtered by a regular expression that
   * must match somewhere in the name and by metadata (every given key equal).
   * @throws NotFoundError for a missing bucket other than the default one
   */
  async list(bucket: string, regex?: string, metadata?: FrameMetadata): Promise<FrameInfo[]> {
    let pattern: RegExp | undefined;
    if (regex !== undefined && regex !== '') {
      try {
        pattern = new RegExp(regex);
      } catch (error) {
        throw new InvalidArgumentError(`invalid regex ${JSON.stringify(regex)}: ${(error as Error).message}`);
      }
    }
    const manifests = await this.connector.listManifests(bucket, pattern ? (name) => pattern.test(name) : undefined);
    if (manifests.size === 0 && bucket !== DEFAULT_BUCKET && !(await this.connector.listBuckets()).includes(bucket)) {
      throw new NotFoundError(`bucket '${bucket}' does not exist`);
    }
    return [...manifests]
      .filter(([, manifest]) => !manifest.deleted)
      .map(([name, manifest]) => toFrameInfo({ bucket, name }, manifest))
      .filter((info) => metadata === undefined || metadataMatches(info.metadata, metadata))
      .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  /** Deletes a frame. @throws NotFoundError if it does not exist */
  async delete(ref: FrameRef): Promise<void> {
    await this.commitLock.run(frameKey(ref), async () => {
      if (!(await this.connector.getManifest(ref))) throw new NotFoundError(`${describeFrame(ref)} does not exist`);
      await this.connector.deleteFrame(ref);
    });
  }

  /** Lists bucket names, sorted. */
  async buckets(): Promise<string[]> {
    return (await this.connector.listBuckets()).sort();
  }

  /**
   * Deletes a bucket. Mode `error` refuses a bucket that still holds frames; `delete` removes them.
   * @throws NotFoundError if the bucket does not exist; BucketNotEmptyError
   */
  async deleteBucket(bucket: string, mode: BucketDeleteMode): Promise<void> {
    const name = resolveBucket(bucket);
    if (!(await this.connector.listBuckets()).includes(name)) throw new NotFoundError(`bucket '${name}' does not exist`);
    if (mode === 'error' && (await this.connector.listFrames(name)).length > 0) throw new BucketNotEmptyError(name);
    await this.connector.deleteBucket(name);
  }
}

/** The error of a mode-`error` put onto an existing frame (checked before streaming and at commit). */
function frameExists(ref: FrameRef): AlreadyExistsError {
  return new AlreadyExistsError(`${describeFrame(ref)} already exists; use mode "append" or "replace"`);
}

/**
 * The rows a read returns when not all: time bounds in the time column's unit, and the limit.
 * @throws InvalidArgumentError for `start`/`end` on a frame without a time column
 */
function rangePlan(ref: FrameRef, manifest: FrameManifest, schema: Schema, options: ReadOptions): RangePlan | undefined {
  const { start, end, limit } = options;
  const limited = limit === undefined ? {} : { limit };
  if (start === undefined && end === undefined) return limit === undefined ? undefined : limited;
  const column = frameTimeColumn(manifest);
  const field = schema.fields.find((candidate) => candidate.name === column);
  if (column === undefined || !field) {
    throw new InvalidArgumentError(
      `${describeFrame(ref)} has no time column (a timestamp or date column), so "start" and "end" cannot be used; ` +
        'read it without them',
    );
  }
  return { time: { column, bounds: columnBounds(field.type, start, end) }, ...limited };
}

/** The time column of a stored frame: the manifest's, or for older manifests the schema's. */
function frameTimeColumn(manifest: FrameManifest): string | undefined {
  return manifest.timeColumn ?? timeColumnOf(decodeSchemaHeader(Buffer.from(manifest.schema, 'base64')));
}

function hasTimeColumn(schema: Schema, column: string): boolean {
  const field = schema.fields.find((candidate) => candidate.name === column);
  return field !== undefined && isTimeType(field.type);
}

/** The manifest fields recording a segment's time statistics (none when there are none). */
function timeStatisticsEntry(time: TimeStatistics | undefined): Pick<SegmentEntry, 'timeRange' | 'timeNulls'> {
  if (!time) return {};
  const range = time.min !== undefined && time.max !== undefined ? { timeRange: { min: time.min.toString(), max: time.max.toString() } } : {};
  return { ...range, timeNulls: time.nulls };
}

function withoutTimeStatistics(segment: SegmentEntry): SegmentEntry {
  const { timeRange: _range, timeNulls: _nulls, ...rest } = segment;
  return rest;
}

function frameKey(ref: FrameRef): string {
  return `${ref.bucket}/${ref.name}`;
}

/** @throws ConflictError if `expected` is given and the frame is at another version (0 = absent) */
function checkExpectedVersion(ref: FrameRef, current: FrameManifest | undefined, expected: number | undefined): void {
  if (expected === undefined) return;
  const actual = current?.version ?? 0;
  if (actual !== expected) {
    throw new ConflictError(
      `${describeFrame(ref)} is at version ${actual}, not the expected ${expected}${actual === 0 ? ' (it does not exist)' : ''}; ` +
        'read it again and retry with its current version',
    );
  }
}

function toFrameInfo(ref: FrameRef, manifest: FrameManifest): FrameInfo {
  const schemaHeader = Buffer.from(manifest.schema, 'base64');
  return {
    bucket: ref.bucket,
    name: ref.name,
    schema: decodeSchemaHeader(schemaHeader),
    schemaHeader,
    rows: manifest.rows,
    bytes: manifest.bytes,
    version: manifest.version,
    committedAt: manifest.committedAt,
    metadata: manifest.metadata ?? {},
  };
}
