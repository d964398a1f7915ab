/** HangarClient: Hangar's dataframe operations (put, get, SQL, list, stat, buckets) on top of FlightClient. */
import type { RecordBatch, Schema, Table } from 'apache-arrow';
import { type StreamPushOptions, type StreamTailOptions, pushToStream, tailStream } from './stream-client.js';
import { HangarError } from '../errors.js';
import type { PutSummary } from '../core/frame-info.js';
import type { BucketDeleteMode, PutMode } from '../core/put-mode.js';
import { type FlightCallOptions, FlightClient, type FlightClientOptions, commandDescriptor } from './flight-client.js';
import type { RecordBatchSource } from '../format/ipc-encoder.js';
import type { FlightRecordBatchStream } from './record-batch-stream.js';
import { type CacheOptions, FrameCache } from './frame-cache.js';
import { type CachedReadSource, selectLocally, syncedFrame } from './cached-reads.js';

export type { PutSummary } from '../core/frame-info.js';
export type { BucketDeleteMode, PutMode } from '../core/put-mode.js';

/** The server a client connects to when given none: env HANGAR_SERVER, else grpc://127.0.0.1:8815. */
export function defaultServerLocation(): string {
  return process.env.HANGAR_SERVER || 'grpc://127.0.0.1:8815';
}

/** Options naming a frame's bucket. */
export interface BucketOptions extends FlightCallOptions {
  /** The bucket (default: the server's default bucket). */
  readonly bucket?: string;
}

/** Options of {@link HangarClient.put}. */
export interface PutOptions extends BucketOptions {
  /** What to do if the frame exists: fail (default), append rows, or replace it. */
  readonly mode?: PutMode;
  /** User metadata (a JSON object, ≤ 64 KiB) replacing the frame's; without it the frame keeps its own. */
  readonly metadata?: Readonly<Record<string, unknown>>;
  /** Commit only if the frame is still at this version (0 = it must not exist); else ConflictError. */
  readonly expectedVersion?: number;
  /** Let an append start before the frame's last time (refused by default with FailedPreconditionError). */
  readonly allowUnordered?: boolean;
  /** Mode `update`: the time range [start, end) replaced (default: the data's first to last time). */
  readonly range?: readonly [TimeBound, TimeBound];
  /** Mode `append`: `evolve` lets the append add or omit columns (missing values read as null). */
  readonly schema?: 'strict' | 'evolve';
}

/**
 * A time bound of a range read: a `Date` (sent as ISO-8601 with milliseconds, UTC), an ISO-8601
 * string (date, or date-time with up to 9 fraction digits and an optional `Z`/`±hh:mm` offset; no
 * offset = UTC, i.e. wall-clock for tz-naive columns) or a number of seconds since the Unix epoch.
 */
export type TimeBound = Date | string | number;

/**
 * Time travel: read the frame as it was at a version, or at an instant (the version current then).
 * Give at most one; neither reads the current version.
 */
export interface VersionOptions extends BucketOptions {
  /** A version number (see {@link HangarClient.versions}). */
  readonly version?: number;
  /** An instant: a Date, an ISO-8601 string or epoch seconds. */
  readonly asOf?: TimeBound;
  /** A snapshot of the frame's bucket: the version it holds (see {@link HangarClient.createSnapshot}). */
  readonly snapshot?: string;
}

/** The ticket / command fields of {@link VersionOptions}. */
function versionFields(options: VersionOptions): Record<string, unknown> {
  return {
    ...(options.version === undefined ? {} : { version: options.version }),
    ...(options.asOf === undefined ? {} : { as_of: ticketTime(options.asOf) }),
    ...(options.snapshot === undefined ? {} : { snapshot: options.snapshot }),
  };
}

/** A snapshot, as {@link HangarClient.snapshots} lists it. */
export interface SnapshotListing {
  readonly name: string;
  readonly bucket: string;
  /** ISO-8601 time it was taken. */
  readonly createdAt: string;
  /** Frame name → the version the snapshot holds. */
  readonly frames: Readonly<Record<string, number>>;
}

/** One kept version of a frame, as {@link HangarClient.versions} lists it. */
export interface FrameVersion {
  /** The version number. */
  readonly version: number;
  /** ISO-8601 commit time. */
  readonly committedAt: string;
  /** What made it: put, append, replace, delete, restore or compact (null if not recorded). */
  readonly operation: string | null;
  /** Rows and Arrow bytes at this version. */
  readonly rows: number;
  readonly bytes: number;
  /** Stored segments at this version. */
  readonly segments: number;
  /** Whether this version is the frame's deletion. */
  readonly deleted: boolean;
  /** For a restore: the version it brought back. */
  readonly restoredFrom?: number;
}

/** What {@link HangarClient.vacuum} removed. */
export interface VacuumResult {
  readonly frames: number;
  readonly versionsRemoved: number;
  readonly segmentsRemoved: number;
  readonly bytesFreed: number;
}

/** What {@link HangarClient.purge} removed. */
export interface PurgeResult {
  /** Versions removed: every kept one. */
  readonly versionsRemoved: number;
  /** Segment objects those versions referenced. */
  readonly segmentsRemoved: number;
  /** Stored bytes of those Parquet segments. */
  readonly bytesFreed: number;
}

/** What {@link HangarClient.deleteRange} changed. */
export interface RangeRewriteResult {
  /** The new version (the unchanged current one when no row was in the range). */
  readonly version: number;
  /** Rows of the frame afterwards. */
  readonly rows: number;
  /** Rows removed. */
  readonly rowsRemoved: number;
  /** Stored segments rewritten (those overlapping the range). */
  readonly segmentsRewritten: number;
}

/** What {@link HangarClient.compact} did. */
export interface CompactResult {
  /** The new version, or the unchanged current one when there was nothing to merge. */
  readonly version: number;
  readonly compacted: boolean;
  readonly segmentsBefore: number;
  readonly segmentsAfter: number;
}

/** Options of {@link HangarClient.get} and {@link HangarClient.getStream}. */
export interface GetOptions extends VersionOptions {
  /** Columns to fetch (all when absent). */
  readonly columns?: readonly string[];
  /** Only rows whose time column is at or after this (inclusive). */
  readonly start?: TimeBound;
  /** Only rows whose time column is before this (exclusive). */
  readonly end?: TimeBound;
  /** At most this many rows (after filtering by time). */
  readonly limit?: number;
  /** Only the last this many rows (the server reads only the segments holding them); not with start, end or limit. */
  readonly tail?: number;
}

/** A time bound as the ticket carries it. */
function ticketTime(bound: TimeBound): string | number {
  return bound instanceof Date ? bound.toISOString() : bound;
}

/**
 * Options of {@link HangarClient.query}, {@link HangarClient.queryBatches} and
 * {@link HangarClient.querySchema}. `bucket` names the bucket whose frames the query sees as bare
 * table names (default: the server's default bucket); other buckets' frames are `bucket.frame`.
 */
export interface QueryOptions extends BucketOptions {
  /** Time travel: query every frame as it was at this instant (a Date, ISO-8601 string or epoch seconds). */
  readonly asOf?: TimeBound;
  /** Query every frame of the bucket as this snapshot of it holds them (not with `asOf`). */
  readonly snapshot?: string;
}

/** Options of {@link HangarClient.list}. */
export interface ListOptions extends BucketOptions {
  /** Only frames whose name matches this regular expression (server-side). */
  readonly regex?: string;
  /** Only frames whose metadata has each of these keys with an equal value (server-side). */
  readonly metadata?: Readonly<Record<string, unknown>>;
}

/** Options of {@link HangarClient.deleteBucket}. */
export interface DeleteBucketOptions extends FlightCallOptions {
  /** `error` (default) refuses a non-empty bucket; `delete` deletes its frames too. */
  readonly mode?: BucketDeleteMode;
}

/** One frame as listed. */
export interface FrameListing {
  /** The frame's name. */
  readonly name: string;
  /** Its bucket. */
  readonly bucket: string;
  /** Its Arrow schema. */
  readonly schema: Schema;
  /** Row count. */
  readonly rows: number;
  /** Arrow (in-memory) size in bytes. */
  readonly bytes: number;
  /** The frame's user metadata (`{}` if none). */
  readonly metadata: Readonly<Record<string, unknown>>;
}

/** One column as `stat` describes it. */
export interface FieldDescription {
  /** Column name. */
  readonly name: string;
  /** Arrow type, as text (e.g. `Int64`, `Dictionary<Int32, Utf8>`). */
  readonly type: string;
  /** Whether it may hold nulls. */
  readonly nullable: boolean;
}

/** What `stat` reports about a frame. */
export interface FrameStat {
  /** The frame's name. */
  readonly name: string;
  /** Its bucket. */
  readonly bucket: string;
  /** Row count. */
  readonly rows: number;
  /** Arrow (in-memory) size in bytes. */
  readonly bytes: number;
  /** Version number, raised by every put. */
  readonly version: number;
  /** ISO-8601 time of the commit that made this version. */
  readonly committedAt: string;
  /** The frame's user metadata (`{}` if none). */
  readonly metadata: Readonly<Record<string, unknown>>;
  /** The columns. */
  readonly schema: FieldDescription[];
}

const utf8 = new TextDecoder();

function unexpected(what: string, detail: string): HangarError {
  return new HangarError('INTERNAL', `unexpected ${what} from the server: ${detail}`, { type: 'FlightProtocolError' });
}

function parseJson<T>(bytes: Uint8Array | undefined, what: string): T {
  if (!bytes) throw unexpected(what, 'no result');
  const text = utf8.decode(bytes);
  try {
    return JSON.parse(text) as T;
  } catch {
    throw unexpected(what, JSON.stringify(text.slice(0, 200)));
  }
}

/** The JSON that names a query, as a DoGet ticket and as a CMD descriptor alike. */
function sqlCommand(sql: string, options: QueryOptions): string {
  return JSON.stringify({
    sql,
    bucket: options.bucket ?? null,
    ...(options.asOf === undefined ? {} : { as_of: ticketTime(options.asOf) }),
    ...(options.snapshot === undefined ? {} : { snapshot: options.snapshot }),
  });
}

/** A snapshot as the server sends it. */
interface RawSnapshot {
  readonly name: string;
  readonly bucket: string;
  readonly created_at: string;
  readonly frames: Record<string, number>;
}

function snapshotListing(raw: RawSnapshot): SnapshotListing {
  return { name: raw.name, bucket: raw.bucket, createdAt: raw.created_at, frames: raw.frames };
}

/** Options of `new HangarClient({ … })` and {@link HangarClient.connect}. */
export interface HangarClientOptions extends FlightClientOptions {
  /** The server (default {@link defaultServerLocation}); ignored by `connect`, which takes it first. */
  readonly location?: string;
  /** Keep frames read on local disk and pull only what changed (docs/client-and-cli.md, "Caching"). */
  readonly cache?: CacheOptions;
}

/** A connection to a Hangar server. Close it when done. */
export class HangarClient {
  /** The underlying Flight client (for calls HangarClient does not wrap). */
  readonly flight: FlightClient;
  /** The local frame cache, when the client was given `cache` options. */
  readonly cache: FrameCache | undefined;
  private readonly offline: boolean;

  /**
   * @param flightOrOptions - a Flight client to wrap, or options: `location`, connection options and `cache`
   * @throws InvalidArgumentError for a malformed location
   */
  constructor(flightOrOptions: FlightClient | HangarClientOptions = {}) {
    if (flightOrOptions instanceof FlightClient) {
      this.flight = flightOrOptions;
      this.cache = undefined;
      this.offline = false;
    } else {
      const { location, cache, ...connection } = flightOrOptions;
      this.flight = FlightClient.connect(location ?? defaultServerLocation(), connection);
      this.cache = cache ? new FrameCache(cache) : undefined;
      this.offline = cache?.offline ?? false;
    }
  }

  /**
   * Creates a client (connecting lazily) for `location`, by default {@link defaultServerLocation}.
   * @throws InvalidArgumentError for a malformed location
   */
  static connect(location: string = defaultServerLocation(), options: HangarClientOptions = {}): HangarClient {
    return new HangarClient({ ...options, location });
  }

  /** The server's location. */
  get location(): string {
    return this.flight.location;
  }

  /**
   * Stores a frame from a Table or a stream of record batches. The frame changes atomically when
   * the upload completes; if it fails, nothing is stored.
   * @throws AlreadyExistsError (mode `error` and the frame exists), InvalidArgumentError (bad name,
   *   schema differing from the stored one on append)
   */
  async put(name: string, data: RecordBatchSource, options: PutOptions = {}): Promise<PutSummary> {
    const command = JSON.stringify({
      name,
      mode: options.mode ?? 'error',
      bucket: options.bucket ?? null,
      ...(options.metadata ? { metadata: options.metadata } : {}),
      ...(options.expectedVersion === undefined ? {} : { expected_version: options.expectedVersion }),
      ...(options.allowUnordered ? { allow_unordered: true } : {}),
      ...(options.range ? { range: options.range.map(ticketTime) } : {}),
      ...(options.schema === 'evolve' ? { schema: 'evolve' } : {}),
    });
    const results = await this.flight.doPut(commandDescriptor(command), data, options);
    return parseJson<PutSummary>(results[0], 'put result');
  }

  /**
   * Streams a frame's record batches, optionally only rows with `start <= time < end` on the frame's
   * time column and at most `limit` rows.
   * @throws NotFoundError when reading, if the frame does not exist; InvalidArgumentError for bad
   *   bounds or a range on a frame without a time column
   */
  getStream(name: string, options: GetOptions = {}): FlightRecordBatchStream {
    const { bucket, columns, start, end, limit, tail } = options;
    const ticket = {
      name,
      bucket: bucket ?? null,
      ...(columns ? { columns } : {}),
      ...(start === undefined ? {} : { start: ticketTime(start) }),
      ...(end === undefined ? {} : { end: ticketTime(end) }),
      ...(limit === undefined ? {} : { limit }),
      ...(tail === undefined ? {} : { tail }),
      ...versionFields(options),
    };
    return this.flight.doGet(JSON.stringify(ticket), options);
  }

  /**
   * Fetches a frame (or some of its columns, rows in a time range, the first `limit` rows) as a Table.
   * With a cache, the frame is synced first (one `stat` call, then only the rows appended since the
   * version held) and the selection applied locally; `asOf` reads go to the server.
   * @throws NotFoundError; CacheMissError offline when the cache lacks the frame
   */
  get(name: string, options: GetOptions = {}): Promise<Table> {
    if (this.cache && options.asOf === undefined && options.tail === undefined && options.snapshot === undefined) {
      const bucket = options.bucket ?? 'default';
      return syncedFrame(this.cacheSource(), this.cache, this.offline, name, bucket, options.version, options).then((table) =>
        selectLocally(table, options, `frame '${name}' in bucket '${bucket}'`),
      );
    }
    return this.getStream(name, options).readAll();
  }

  /** The calls a cached read makes. */
  private cacheSource(): CachedReadSource {
    return {
      stat: (name, options) => this.stat(name, options),
      getTicket: (ticket, options) => this.flight.doGet(JSON.stringify(ticket), options).readAll(),
    };
  }

  /**
   * Runs a read-only SQL query (DuckDB dialect) on the server and streams its result. Aborting the
   * signal, calling `cancel()` or leaving the loop early cancels the call, and the server then
   * interrupts the query.
   * @example
   * ```ts
   * for await (const batch of client.queryBatches('SELECT * FROM prices WHERE close > 10', { bucket: 'market' })) {
   *   console.log(batch.numRows);
   * }
   * ```
   * @throws when reading: InvalidArgumentError (detail type `DataFusionError`) for bad SQL or an
   *   unknown table, PermissionDeniedError for statements other than queries and for file access,
   *   DeadlineExceededError when the query outruns the server's SQL timeout, CancelledError once cancelled
   */
  queryBatches(sql: string, options: QueryOptions = {}): FlightRecordBatchStream {
    return this.flight.doGet(sqlCommand(sql, options), options);
  }

  /** Runs a SQL query and collects its result into a Table. @throws as {@link HangarClient.queryBatches} */
  query(sql: string, options: QueryOptions = {}): Promise<Table> {
    return this.queryBatches(sql, options).readAll();
  }

  /**
   * The schema a SQL query's result would have, without running it (GetSchema with a CMD
   * descriptor). @throws InvalidArgumentError, PermissionDeniedError as {@link HangarClient.queryBatches}
   */
  querySchema(sql: string, options: QueryOptions = {}): Promise<Schema> {
    return this.flight.getSchema(commandDescriptor(sqlCommand(sql, options)), options);
  }

  /** Lists the frames of a bucket, optionally filtered by a name regex and by metadata. */
  async list(options: ListOptions = {}): Promise<FrameListing[]> {
    const criteria = JSON.stringify({
      bucket: options.bucket ?? null,
      ...(options.regex === undefined ? {} : { regex: options.regex }),
      ...(options.metadata === undefined ? {} : { metadata: options.metadata }),
    });
    const listing: FrameListing[] = [];
    for await (const info of this.flight.listFlights(criteria, options)) {
      const [name, bucket] = info.flightDescriptor?.path ?? [];
      if (name === undefined || !info.schema) throw unexpected('ListFlights entry', 'no PATH descriptor or schema');
      // Hangar puts the frame's description in app_metadata; other Flight servers may not.
      const description = info.appMetadata?.byteLength ? (JSON.parse(utf8.decode(info.appMetadata)) as { metadata?: Record<string, unknown> }) : {};
      listing.push({
        name,
        bucket: bucket ?? options.bucket ?? 'default',
        schema: info.schema,
        rows: info.totalRecords,
        bytes: info.totalBytes,
        metadata: description.metadata ?? {},
      });
    }
    return listing;
  }

  /** Describes a frame, now or at a past version. @throws NotFoundError */
  async stat(name: string, options: VersionOptions = {}): Promise<FrameStat> {
    const raw = await this.actionJson<Omit<FrameStat, 'committedAt'> & { committed_at: string }>(
      'stat',
      { name, bucket: options.bucket ?? null, ...versionFields(options) },
      options,
    );
    const { committed_at: committedAt, ...rest } = raw;
    return { ...rest, committedAt, metadata: rest.metadata ?? {} };
  }

  /** Deletes a frame. @throws NotFoundError */
  async delete(name: string, options: BucketOptions = {}): Promise<void> {
    await this.action('delete', { name, bucket: options.bucket ?? null }, options);
    await this.cache?.drop(options.bucket ?? 'default', name);
  }

  /** Lists a frame's kept versions, oldest first. @throws NotFoundError */
  async versions(name: string, options: BucketOptions = {}): Promise<FrameVersion[]> {
    type Raw = { version: number; committed_at: string; operation: string | null; rows: number; bytes: number; segments: number; deleted: boolean; restored_from?: number };
    const raw = await this.actionJson<Raw[]>('versions', { name, bucket: options.bucket ?? null }, options);
    return raw.map(({ committed_at: committedAt, restored_from: restoredFrom, ...rest }) => ({
      ...rest,
      committedAt,
      ...(restoredFrom === undefined ? {} : { restoredFrom }),
    }));
  }

  /**
   * Makes an old version the frame's current state again (as a new version; works for a deleted
   * frame too). Resolves with the new version number. @throws NotFoundError if that version is not kept
   */
  async restore(name: string, version: number, options: BucketOptions = {}): Promise<number> {
    return (await this.actionJson<{ version: number }>('restore', { name, bucket: options.bucket ?? null, version }, options)).version;
  }

  /**
   * Removes the rows whose time column lies in [start, end) as a new version; only the segments
   * overlapping the range are rewritten. @throws NotFoundError; InvalidArgumentError without a time column
   */
  async deleteRange(name: string, start: TimeBound, end: TimeBound, options: BucketOptions = {}): Promise<RangeRewriteResult> {
    const raw = await this.actionJson<{ version: number; rows: number; rows_removed: number; segments_rewritten: number }>(
      'delete_range',
      { name, bucket: options.bucket ?? null, start: ticketTime(start), end: ticketTime(end) },
      options,
    );
    return { version: raw.version, rows: raw.rows, rowsRemoved: raw.rows_removed, segmentsRewritten: raw.segments_rewritten };
  }

  /**
   * Replaces a frame's metadata as a new version without re-sending its rows (`{}` clears it);
   * with `expectedVersion`, only if the frame is still at that version. Resolves with the new version.
   * @throws NotFoundError; ConflictError
   */
  async setMetadata(name: string, metadata: Readonly<Record<string, unknown>>, options: BucketOptions & { readonly expectedVersion?: number } = {}): Promise<number> {
    const body = { name, bucket: options.bucket ?? null, metadata, ...(options.expectedVersion === undefined ? {} : { expected_version: options.expectedVersion }) };
    return (await this.actionJson<{ version: number }>('set_metadata', body, options)).version;
  }

  /**
   * Takes a snapshot of the bucket: the current version of every frame (or of `frames`), readable
   * later with `{ snapshot: name }` in get, stat and query, and kept from vacuum until deleted.
   * @throws AlreadyExistsError for a name taken; NotFoundError for a missing bucket or frame
   */
  async createSnapshot(name: string, options: BucketOptions & { readonly frames?: readonly string[] } = {}): Promise<SnapshotListing> {
    const body = { name, bucket: options.bucket ?? null, ...(options.frames ? { frames: options.frames } : {}) };
    return snapshotListing(await this.actionJson<RawSnapshot>('snapshot', body, options));
  }

  /** The bucket's snapshots, by name. */
  async snapshots(options: BucketOptions = {}): Promise<SnapshotListing[]> {
    return (await this.actionJson<RawSnapshot[]>('snapshots', { bucket: options.bucket ?? null }, options)).map(snapshotListing);
  }

  /** Deletes a snapshot (the versions it held fall under retention again). @throws NotFoundError */
  async deleteSnapshot(name: string, options: BucketOptions = {}): Promise<void> {
    await this.action('delete_snapshot', { name, bucket: options.bucket ?? null }, options);
  }

  /** Merges a frame's small appended segments into full-size ones (a new version, same rows). */
  async compact(name: string, options: BucketOptions = {}): Promise<CompactResult> {
    const raw = await this.actionJson<{ version: number; compacted: boolean; segments_before: number; segments_after: number }>(
      'compact',
      { name, bucket: options.bucket ?? null },
      options,
    );
    return { version: raw.version, compacted: raw.compacted, segmentsBefore: raw.segments_before, segmentsAfter: raw.segments_after };
  }

  /**
   * Removes versions past the server's retention policy, and segments no kept version uses: of one
   * frame (`name`), one bucket, or every bucket (neither). Needs admin scope.
   */
  async vacuum(options: FlightCallOptions & { bucket?: string; name?: string; dryRun?: boolean } = {}): Promise<VacuumResult> {
    const raw = await this.actionJson<{ frames: number; versions_removed: number; segments_removed: number; bytes_freed: number }>(
      'vacuum',
      { bucket: options.bucket ?? null, name: options.name ?? null, dry_run: options.dryRun ?? false },
      options,
    );
    return { frames: raw.frames, versionsRemoved: raw.versions_removed, segmentsRemoved: raw.segments_removed, bytesFreed: raw.bytes_freed };
  }

  /**
   * Removes a frame at once with every kept version and segment, writing nothing: frees space on a
   * full store (a delete keeps the history until vacuum). Cannot be undone. Needs admin scope.
   * @throws NotFoundError if the frame has no kept version
   */
  async purge(name: string, options: BucketOptions = {}): Promise<PurgeResult> {
    const raw = await this.actionJson<{ versions_removed: number; segments_removed: number; bytes_freed: number }>(
      'purge',
      { name, bucket: options.bucket ?? null },
      options,
    );
    await this.cache?.drop(options.bucket ?? 'default', name);
    return { versionsRemoved: raw.versions_removed, segmentsRemoved: raw.segments_removed, bytesFreed: raw.bytes_freed };
  }

  /** Lists bucket names. */
  buckets(options: FlightCallOptions = {}): Promise<string[]> {
    return this.actionJson<string[]>('buckets', {}, options);
  }

  /** Deletes a bucket. @throws BucketNotEmptyError (mode `error` and the bucket holds frames), NotFoundError */
  async deleteBucket(name: string, options: DeleteBucketOptions = {}): Promise<void> {
    await this.action('delete_bucket', { name, mode: options.mode ?? 'error' }, options);
    for (const entry of (await this.cache?.entries()) ?? []) if (entry.bucket === name) await this.cache!.drop(entry.bucket, name);
  }

  /** Checks the server answers; resolves with its reply (`pong`). */
  async ping(options: FlightCallOptions = {}): Promise<string> {
    return utf8.decode((await this.action('ping', {}, options))[0]);
  }

  /** Asks the server to shut down gracefully. */
  async shutdown(options: FlightCallOptions = {}): Promise<void> {
    await this.action('shutdown', {}, options);
  }

  /**
   * Pushes record batches to a live stream, creating it on the first push (docs/streams.md).
   * @returns each batch's entry IDs (`<unix-ms>-<seq>`), acknowledged once durable
   */
  push(name: string, batches: RecordBatchSource, options: StreamPushOptions = {}): Promise<string[][]> {
    return pushToStream(this.flight, name, batches, options);
  }

  /** Tails a live stream: record batches (`_id`, `_ts`, its columns) as entries are committed; break to stop. */
  tail(name: string, options: StreamTailOptions = {}): AsyncGenerator<RecordBatch> {
    return tailStream(this.flight, name, options);
  }

  /** Closes the connection. */
  close(): void {
    this.flight.close();
  }

  private action(type: string, body: Record<string, unknown>, options: FlightCallOptions): Promise<Uint8Array[]> {
    return this.flight.doAction(type, JSON.stringify(body), options).toArray();
  }

  private async actionJson<T>(type: string, body: Record<string, unknown>, options: FlightCallOptions): Promise<T> {
    return parseJson<T>((await this.action(type, body, options))[0], `${type} result`);
  }
}
