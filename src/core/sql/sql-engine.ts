/**
 * SQL over stored frames, on DuckDB. Every frame of the query's bucket is a table by its name;
 * frames of other buckets are `bucket.frame` (quote odd names: `"my-bucket"."my.frame"`). A query
 * is one read-only statement; it runs in the sandbox (sql-sandbox.ts) with a timeout, stops when
 * the client goes away, and streams its result as Arrow IPC messages with bounded memory. Resource
 * limits (sql-limits.ts): a memory limit sized from the machine, a result-size limit, a cap on
 * concurrent queries per caller, and bounds on values built from a size argument (value-guards.ts).
 */
import { forEachSqlNode, serializeSql } from './sql-tree.js';
import { randomUUID } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type DuckDBConnection, type DuckDBInstance, type DuckDBPreparedStatement, DuckDBTypeId, StatementType, VARCHAR } from '@duckdb/node-api';
import type { Schema } from 'apache-arrow';
import type { FrameStore } from '../../storage/frame-store.js';
import { CancelledError, DeadlineExceededError, HangarError, InvalidArgumentError, PermissionDeniedError } from '../../errors.js';
import { encodeIpcMessages } from '../../format/ipc-encoder.js';
import type { IpcMessage } from '../../format/ipc-message.js';
import { type FrameRef, validateName } from '../../names.js';
import type { ParquetCodec } from '../../format/parquet/parquet-codec.js';
import type { SegmentLeases } from '../segment-leases.js';
import { FrameViews, TIME_PRUNED_CATALOG } from './frame-views.js';
import { HotFrames } from './hot-frames.js';
import { releaseMemorySoon } from './memory-release.js';
import { QuerySlots } from './query-slots.js';
import { ResultBudget } from './result-budget.js';
import { ResultSizes } from './result-sizes.js';
import { ArrowBatchBuilder, resultBatches } from './result-batches.js';
import { SegmentFiles } from './segment-files.js';
import { SessionPool, type SqlSession } from './session-pool.js';
import { QueryInterrupter } from './query-interrupter.js';
import { SQL_ERROR_TYPE, type SqlFailureContext, sqlError } from './sql-errors.js';
import {
  DEFAULT_MAX_CONCURRENT_PER_CALLER,
  DEFAULT_MAX_RESULT_BYTES,
  defaultMemoryLimitBytes,
  maxGeneratedValueBytes,
  parseByteSize,
} from './sql-limits.js';
import { openSqlSandbox, sqlIdentifier, sqlString } from './sql-sandbox.js';
import { assertNoGuardBypass, installValueGuards } from './value-guards.js';
import { type SqlParameter, bindSqlParameters } from './sql-parameters.js';

/** Limits and tuning of SQL. */
export interface SqlOptions {
  /** Per-query time limit in milliseconds (default 60 s). */
  readonly timeoutMs?: number;
  /**
   * DuckDB's memory limit for all queries together, e.g. `"4GB"` (default: half of the machine's
   * memory, or of the cgroup limit when smaller; see sql-limits.ts).
   */
  readonly memoryLimit?: string;
  /** Largest Arrow result one query may send, in bytes (default 1 GiB). */
  readonly maxResultBytes?: number;
  /** Queries one caller may run at once (default 8). */
  readonly maxConcurrentPerCaller?: number;
  /** DuckDB worker threads (default: one per core). */
  readonly threads?: number;
  /** Where segments of connectors without local files are cached (default: a directory in the OS temp dir). */
  readonly cacheDirectory?: string;
  /** Size bound of that cache in bytes (default 2 GiB). */
  readonly cacheBytes?: number;
  /** Arrow bytes per result batch (default 3 MiB). */
  readonly batchBytes?: number;
  /**
   * Frames queried twice at one version are kept as DuckDB in-memory tables, up to this many of
   * their Arrow bytes together (default: a quarter of the memory limit; 0 = never): see hot-frames.ts.
   */
  readonly hotBytes?: number;
}

/** A running query: its schema, then its messages (Schema first). */
export interface QueryStream {
  /** The result's schema. */
  readonly schema: Schema;
  /** IPC messages: Schema, then dictionaries and record batches. Iterate once. */
  readonly messages: AsyncIterable<IpcMessage>;
}

/** What {@link SqlEngine.describe} tells about a query without running it. */
export interface QueryDescription {
  /** The result's schema. */
  readonly schema: Schema;
  /** The parameters' schema (no fields when the query has none). */
  readonly parameters: Schema;
}

/** Where a query runs and who may stop it. */
export interface QueryContext {
  /** The bucket whose frames are the query's unqualified tables. */
  readonly bucket: string;
  /** Aborted when the client goes away: the query is interrupted. */
  readonly signal?: AbortSignal;
  /**
   * Which buckets the caller may read. When given, the query may name only frames of such buckets
   * and CTEs, and no table function (so no `read_parquet` of store files by path): see
   * {@link assertScopedQuery}. Absent: every bucket is readable.
   */
  readonly mayRead?: (bucket: string) => boolean;
  /**
   * Time travel: every frame the query names is read as it was at this instant (the version
   * current then; a frame that did not exist then is a missing table). Absent: current versions.
   */
  readonly asOf?: Date;
  /**
   * Read every frame as the bucket's snapshot of this name holds it (a frame it does not hold is a
   * missing table); the query may then name frames of `bucket` only. Not with `asOf`.
   */
  readonly snapshot?: string;
  /**
   * Who runs the query, for the cap on concurrent queries per caller (e.g. the token's subject;
   * all anonymous callers are one caller). Absent: not counted.
   */
  readonly caller?: string;
  /** Values for the statement's `?` / `$n` parameters, in order (Flight SQL prepared statements). */
  readonly parameters?: readonly SqlParameter[];
}

const MiB = 1024 * 1024;
const READ_ONLY_STATEMENTS = new Set<number>([StatementType.SELECT, StatementType.EXPLAIN]);

/** Results at least this large are followed by a garbage collection that frees DuckDB's chunks (memory-release.ts). */
const LARGE_RESULT_BYTES = 64 * MiB;
/** Query texts whose candidate frame names are kept; the oldest goes first. */
const MAX_KEPT_TEXTS = 256;
/** Longer texts are parsed every time (so the kept texts stay within ~2 MiB). */
const MAX_KEPT_TEXT_LENGTH = 8192;
/** How long closing waits for the interrupted starts of running queries to settle. */
const CLOSE_GRACE_MS = 5000;

/** Runs SQL against the store. One per engine; safe for concurrent queries. */
export class SqlEngine {
  private constructor(
    private readonly instance: DuckDBInstance,
    private readonly admin: DuckDBConnection,
    private readonly connector: FrameStore,
    private readonly leases: SegmentLeases,
    private readonly files: SegmentFiles,
    private readonly views: FrameViews,
    private readonly timeoutMs: number,
    private readonly batchBytes: number,
    /** The catalog holding the buckets' schemas (DuckDB's default database). */
    private readonly mainCatalog: string,
    private readonly sessions: SessionPool,
    private readonly maxResultBytes: number,
    private readonly slots: QuerySlots,
  ) {
    this.resultSizes = new ResultSizes(maxResultBytes);
  }

  /** Which repeated queries run materialized (result-sizes.ts). */
  private readonly resultSizes: ResultSizes;
  /** The candidate frame names of recent query texts (see candidateNames). */
  private readonly namesBySql = new Map<string, readonly (readonly [string | undefined, string])[]>();

  /** The interrupts of queries that have been handed out and not finished. */
  private readonly running = new Set<QueryInterrupter>();

  /** Starts DuckDB in its sandbox. */
  static async open(connector: FrameStore, codec: ParquetCodec, leases: SegmentLeases, options: SqlOptions = {}): Promise<SqlEngine> {
    const files = new SegmentFiles(
      connector,
      options.cacheDirectory ?? join(tmpdir(), `hangar-sql-cache-${process.pid}-${randomUUID().slice(0, 8)}`),
      options.cacheBytes ?? 2 * 1024 * MiB,
    );
    await files.open();
    const memoryLimitBytes = options.memoryLimit ? parseByteSize(options.memoryLimit) : defaultMemoryLimitBytes();
    const instance = await openSqlSandbox({
      readableDirectories: files.directories,
      memoryLimit: `${memoryLimitBytes} bytes`,
      ...(options.threads ? { threads: options.threads } : {}),
    });
    const maxValueBytes = maxGeneratedValueBytes(memoryLimitBytes);
    const sessions = new SessionPool(instance, (connection) => installValueGuards(connection, maxValueBytes));
    const admin = await instance.connect();
    const hot = new HotFrames(() => instance.connect(), options.hotBytes ?? Math.floor(memoryLimitBytes / 4));
    const views = new FrameViews(admin, connector, files, codec, hot);
    const mainCatalog = String((await admin.runAndReadAll('SELECT current_database()')).getRows()[0]?.[0]);
    return new SqlEngine(
      instance,
      admin,
      connector,
      leases,
      files,
      views,
      options.timeoutMs ?? 60_000,
      options.batchBytes ?? 3 * MiB,
      mainCatalog,
      sessions,
      options.maxResultBytes ?? DEFAULT_MAX_RESULT_BYTES,
      new QuerySlots(options.maxConcurrentPerCaller ?? DEFAULT_MAX_CONCURRENT_PER_CALLER),
    );
  }

  /**
   * The schema of a query's result, without running it.
   * @throws InvalidArgumentError (detail type DataFusionError) for bad SQL; PermissionDeniedError
   *   for statements that are not read-only queries
   */
  async schema(sql: string, context: QueryContext): Promise<Schema> {
    const session = await this.prepare(sql, context);
    try {
      return schemaOf(session.prepared, this.batchBytes);
    } finally {
      session.end(true);
    }
  }

  /**
   * A query's result schema and the schema of its parameters (`?` / `$n`, in order; a type DuckDB
   * cannot infer is text), from one preparation, without running it. @throws as {@link schema}
   */
  async describe(sql: string, context: QueryContext): Promise<QueryDescription> {
    const session = await this.prepare(sql, context);
    try {
      const { prepared } = session;
      const names: string[] = [];
      const types = [];
      for (let i = 1; i <= prepared.parameterCount; i++) {
        names.push(prepared.parameterName(i) || `$${i}`);
        const id = prepared.parameterTypeId(i);
        types.push(id === DuckDBTypeId.ANY || id === DuckDBTypeId.INVALID ? VARCHAR : prepared.parameterType(i));
      }
      return { schema: schemaOf(prepared, this.batchBytes), parameters: new ArrowBatchBuilder(names, types, this.batchBytes).schema };
    } finally {
      session.end(true);
    }
  }

  /**
   * Runs a query and streams its result.
   * @throws as {@link schema}, and ResourceExhaustedError when the caller already runs its cap of
   *   queries; while streaming also DeadlineExceededError (timeout), CancelledError (client gone)
   *   and ResourceExhaustedError (memory limit, result-size limit, a value guard)
   */
  async query(sql: string, context: QueryContext): Promise<QueryStream> {
    const releaseSlot = context.caller === undefined ? () => undefined : this.slots.take(context.caller);
    let session: Awaited<ReturnType<SqlEngine['prepare']>>;
    try {
      session = await this.prepare(sql, context);
    } catch (error) {
      releaseSlot();
      throw error;
    }
    try {
      // Always bound (an empty list too): a pooled statement keeps the values of its last run.
      if (context.parameters || session.prepared.parameterCount > 0) bindSqlParameters(session.prepared, context.parameters ?? []);
    } catch (error) {
      session.end(false);
      releaseSlot();
      throw error instanceof HangarError ? error : sqlError(error);
    }
    const schema = schemaOf(session.prepared, this.batchBytes);
    const budget = new ResultBudget(this.maxResultBytes);
    const failure: { timedOutAfterMs?: number; cancelled?: boolean } = {};
    const interrupter = new QueryInterrupter(session.connection);
    const interrupt = (): void => interrupter.interrupt();
    let started = false;
    const timer = setTimeout(() => {
      failure.timedOutAfterMs = this.timeoutMs;
      // A stream nobody ever read still holds its connection and leases: release them.
      if (started) interrupt();
      else finish(true);
    }, this.timeoutMs);
    const onAbort = (): void => {
      failure.cancelled = true;
      interrupt();
    };
    context.signal?.addEventListener('abort', onAbort, { once: true });
    if (context.signal?.aborted) {
      // The client left while the query was being prepared: never start it.
      clearTimeout(timer);
      session.end(true);
      releaseSlot();
      throw new CancelledError('the query was cancelled before it started');
    }
    let finished = false;
    /** `clean`: the connection may serve another query (nothing was interrupted or left unread). */
    const finish = (clean: boolean): void => {
      if (finished) return;
      finished = true;
      clearTimeout(timer);
      context.signal?.removeEventListener('abort', onAbort);
      interrupter.release();
      running.delete(interrupter);
      session.end(clean && !failure.cancelled && failure.timedOutAfterMs === undefined);
      releaseSlot();
      if (budget.used >= LARGE_RESULT_BYTES || !clean) releaseMemorySoon();
    };
    const batchBytes = this.batchBytes;
    const running = this.running;
    const { prepared } = session;
    const resultSizes = this.resultSizes;
    // A repeated query whose result was small runs materialized: full chunks, no native call per
    // chunk. Only on the frames' current versions (as_of and snapshot queries always stream).
    const sizeKey = `${context.bucket}\u0000${sql}`;
    const inputs = session.inputs;
    const materialize = inputs !== undefined && resultSizes.materialize(sizeKey, prepared.parameterCount, inputs);
    running.add(interrupter);
    async function* messages(): AsyncGenerator<IpcMessage> {
      started = true;
      if (finished) throw new DeadlineExceededError('the query result was not read within the SQL timeout; it was released', { type: SQL_ERROR_TYPE });
      let complete = false;
      try {
        const result = await interrupter.start(() => (materialize ? prepared.run() : prepared.stream()));
        // Stopped while starting, yet begun: a streaming plan ran no further than its start.
        if (interrupter.wasInterrupted) interrupt();
        for await (const message of encodeIpcMessages(resultBatches(result, batchBytes, budget), Number.POSITIVE_INFINITY)) {
          const body = message.bodyParts.length === 1 ? message.bodyParts[0]! : Buffer.concat(message.bodyParts);
          yield { header: message.header, body };
        }
        complete = true;
        if (inputs !== undefined) resultSizes.record(sizeKey, prepared.parameterCount, inputs, budget.used);
      } catch (error) {
        // Over a limit (or failed): stop DuckDB producing more before the connection is closed.
        interrupt();
        throw error instanceof HangarError ? error : sqlError(error, failure as SqlFailureContext);
      } finally {
        finish(complete);
      }
    }
    return { schema, messages: messages() };
  }

  /** Stops DuckDB and removes the segment cache. */
  async close(): Promise<void> {
    // A query whose start is pending cannot be stopped by one interrupt (query-interrupter.ts) and
    // would keep a thread the process joins at exit: stop those and let their starts settle.
    const starts: Promise<unknown>[] = [];
    for (const interrupter of this.running) {
      interrupter.interrupt();
      if (interrupter.starting) starts.push(interrupter.starting.catch(() => undefined));
    }
    await Promise.race([Promise.all(starts), new Promise((resolve) => setTimeout(resolve, CLOSE_GRACE_MS).unref())]);
    await this.views.settle();
    this.sessions.close();
    this.admin.closeSync();
    this.instance.closeSync();
    await this.files.close();
  }

  /**
   * Takes a connection for one query (a pooled one when idle, see session-pool.ts): leases the
   * frames it names, brings their views up to date, and prepares (binds) the statement, reusing
   * the one prepared for the same text, search path and views. `end(reusable)` releases
   * everything; a reusable connection goes back to the pool, any other (and any an `as_of` query
   * used) is closed.
   */
  private async prepare(
    sql: string,
    context: QueryContext,
  ): Promise<{ connection: DuckDBConnection; prepared: DuckDBPreparedStatement; end: (reusable: boolean) => void; inputs?: string }> {
    const session = await this.sessions.take(sql);
    const connection = session.connection;
    const releases: (() => void)[] = [];
    let ownStatement: DuckDBPreparedStatement | undefined;
    const end = (reusable: boolean): void => {
      for (const release of releases) release();
      ownStatement?.destroySync();
      // An as_of query's search path names its own catalog, detached when it ends; DuckDB then
      // resolves even a later path in the main catalog against it. So such connections are closed.
      if (reusable && !context.asOf && context.snapshot === undefined) this.sessions.give(session);
      else this.sessions.discard(session);
    };
    try {
      await this.views.ensureSchema(context.bucket);
      // Finding the frames a query names only parses it: the search path is set once, below, to
      // the catalog whose views the query reads (the main one unless named otherwise).
      const refs = await this.referencedFrames(connection, sql, context.bucket);
      if (context.mayRead) await assertScopedQuery(connection, sql, context.bucket, context.mayRead, refs);
      await assertNoGuardBypass(connection, sql);
      for (const ref of refs) releases.push(this.leases.acquire(ref));
      // Time-pruned views only for a query that names a frame's time column: only such a query can
      // filter on it, and for the others the views' bounds would cost a read of that column.
      const names = new Set(identifierTokens(sql).map((token) => token.name.toLowerCase()));
      let catalog: string | undefined;
      /** The frames the query reads, at their current versions. */
      let inputs: string | undefined;
      if (context.snapshot !== undefined) {
        const past = await this.views.snapshot(snapshotRefs(refs, context), context.bucket, { snapshot: context.snapshot }, (column) => names.has(column.toLowerCase()));
        releases.push(past.release);
        catalog = past.catalog;
      } else if (context.asOf) {
        // The frames as they were, in a catalog of this query's own.
        const past = await this.views.snapshot(refs, context.bucket, { asOf: context.asOf }, (column) => names.has(column.toLowerCase()));
        releases.push(past.release);
        catalog = past.catalog;
      } else {
        await this.views.refresh(refs);
        inputs = this.views.versionsOf(refs);
        if ([...this.views.timePruningColumns(refs)].some((column) => names.has(column))) catalog = TIME_PRUNED_CATALOG;
      }
      await setSearchPath(session, context.bucket, catalog ?? this.mainCatalog);
      // A snapshot's catalog is the query's own: its statement is never reused.
      const prepared = context.asOf || context.snapshot !== undefined ? (ownStatement = await connection.prepare(sql)) : await this.sessions.statement(session, sql, this.views.generation);
      if (!READ_ONLY_STATEMENTS.has(prepared.statementType)) {
        throw new PermissionDeniedError(
          `only read-only queries (SELECT, WITH … SELECT, EXPLAIN) may run here; this statement is ${StatementType[prepared.statementType] ?? 'another kind'}`,
          { type: SQL_ERROR_TYPE },
        );
      }
      return { connection, prepared, end, ...(inputs !== undefined ? { inputs } : {}) };
    } catch (error) {
      // Not pooled: a connection is kept only after statements that went as expected.
      end(false);
      throw error instanceof HangarError ? error : sqlError(error);
    }
  }

  /**
   * The names in a query's text that may be frames, as `[bucket or undefined, name]`: DuckDB's list
   * of its table references, plus every identifier and `a.b` token pair. They depend on the text
   * alone, so they are kept per text (parsing took ~0.3 ms of a repeated query's ~1 ms before it runs).
   */
  private candidateNames(connection: DuckDBConnection, sql: string): readonly (readonly [string | undefined, string])[] {
    const kept = this.namesBySql.get(sql);
    if (kept) return kept;
    const candidates: [string | undefined, string][] = [];
    for (const qualified of connection.getTableNames(sql, true)) {
      const parts = splitQualifiedName(qualified);
      if (parts.length === 1) candidates.push([undefined, parts[0]!]);
      else if (parts.length === 2) candidates.push([parts[0], parts[1]!]);
    }
    const tokens = identifierTokens(sql);
    tokens.forEach((token, i) => {
      candidates.push([undefined, token.name]);
      const next = tokens[i + 1];
      if (next && next.start === token.end + 1 && sql[token.end] === '.') candidates.push([token.name, next.name]);
    });
    if (sql.length <= MAX_KEPT_TEXT_LENGTH) {
      if (this.namesBySql.size >= MAX_KEPT_TEXTS) this.namesBySql.delete(this.namesBySql.keys().next().value!);
      this.namesBySql.set(sql, candidates);
    }
    return candidates;
  }

  /**
   * The frames a query may name: DuckDB's list of its table references, plus (because that list
   * misses some forms) every `name` or `bucket.name` token that is a stored frame or has a view.
   */
  private async referencedFrames(connection: DuckDBConnection, sql: string, bucket: string): Promise<FrameRef[]> {
    const candidates = this.candidateNames(connection, sql);
    // Candidate names by bucket; a name with a view is taken as it is (a view whose frame is gone
    // is refreshed too, which drops it), the others are looked up in the store.
    const refs = new Map<string, FrameRef>();
    const unknown = new Map<string, Set<string>>();
    for (const [maybeBucket, name] of candidates) {
      const target = maybeBucket ?? bucket;
      if (!isValidName(target) || !isValidName(name)) continue;
      const ref = { bucket: target, name };
      if (this.views.has(ref)) refs.set(`${target}/${name}`, ref);
      else if (unknown.has(target)) unknown.get(target)!.add(name);
      else unknown.set(target, new Set([name]));
    }
    for (const [target, names] of unknown) {
      for (const name of await this.connector.existingFrames(target, [...names])) refs.set(`${target}/${name}`, { bucket: target, name });
    }
    return [...refs.values()];
  }
}

/**
 * Makes the bucket's schema in `catalog` (the main one, a snapshot or the time-pruned views) the
 * one a query's unqualified names resolve in. Both entries name their catalog: DuckDB resolves a
 * bare schema against the catalog a pooled connection's previous path named. A session already on
 * that path is left alone.
 */
async function setSearchPath(session: SqlSession, bucket: string, catalog: string): Promise<void> {
  const prefix = `${sqlIdentifier(catalog)}.`;
  const path = `${prefix}${sqlIdentifier(bucket)},${prefix}main`;
  if (session.searchPath === path) return;
  session.searchPath = '';
  await session.connection.run(`SET search_path = ${sqlString(path)}`);
  session.searchPath = path;
}

/** DuckDB schemas that hold its catalogue, never a bucket's frames. */
const SYSTEM_SCHEMAS = new Set(['main', 'information_schema', 'pg_catalog', 'temp', 'system']);

/**
 * Refuses a query that reads anything but frames of readable buckets. It walks DuckDB's own parse
 * tree (`json_serialize_sql`), not the text: every table reference must be a CTE or a frame of a
 * readable bucket, and table functions are refused outright (they are how `read_parquet`,
 * `glob` or `duckdb_views()` would reach files or other buckets' definitions).
 * @throws PermissionDeniedError (detail type DataFusionError) naming what was refused
 */
async function assertScopedQuery(
  connection: DuckDBConnection,
  sql: string,
  bucket: string,
  mayRead: (bucket: string) => boolean,
  refs: readonly FrameRef[],
): Promise<void> {
  const deny = (message: string): never => {
    throw new PermissionDeniedError(message, { type: SQL_ERROR_TYPE });
  };
  for (const ref of refs) {
    if (!mayRead(ref.bucket)) deny(`the query names frame '${ref.name}' of bucket '${ref.bucket}', which this token may not read`);
  }
  const tree = await serializeSql(connection, sql);
  if (tree.error) {
    // Not a plain SELECT (EXPLAIN, DESCRIBE, …) or not SQL at all: let DuckDB report bad syntax as usual.
    if (tree.error_type === 'parser') return;
    deny(`only SELECT queries are available to tokens limited to some buckets (${tree.error_message ?? 'this statement cannot be checked'})`);
  }
  const ctes = new Set<string>();
  const tables: { catalog: string; schema: string; table: string }[] = [];
  forEachSqlNode(tree, (record) => {
    if (record.type === 'TABLE_FUNCTION') {
      const fn = (record.function as { function_name?: string } | undefined)?.function_name ?? 'a table function';
      deny(`table functions such as ${fn}() are not available to tokens limited to some buckets; name frames as tables`);
    }
    if (record.type === 'BASE_TABLE') {
      tables.push({ catalog: String(record.catalog_name ?? ''), schema: String(record.schema_name ?? ''), table: String(record.table_name ?? '') });
    }
    const cteMap = (record.cte_map as { map?: { key?: string }[] } | undefined)?.map;
    for (const entry of cteMap ?? []) if (typeof entry.key === 'string') ctes.add(entry.key.toLowerCase());
  });
  const framesHere = new Set(refs.filter((ref) => ref.bucket === bucket).map((ref) => ref.name));
  for (const { catalog, schema, table } of tables) {
    if (catalog !== '' && catalog !== 'memory') deny(`the query names catalog '${catalog}', which this token may not read`);
    if (schema === '') {
      if (ctes.has(table.toLowerCase()) || framesHere.has(table)) continue;
      deny(`the query names '${table}', which is neither a frame of bucket '${bucket}' nor a CTE`);
    }
    if (SYSTEM_SCHEMAS.has(schema) || !mayRead(schema)) deny(`the query names '${schema}.${table}', and this token may not read bucket '${schema}'`);
  }
}

/** The Arrow schema of a prepared statement's result. */
function schemaOf(prepared: DuckDBPreparedStatement, batchBytes: number): Schema {
  const names: string[] = [];
  const types = [];
  for (let i = 0; i < prepared.columnCount; i++) {
    names.push(prepared.columnName(i));
    // A bare parameter (`SELECT ?`) has no type until bound; DuckDB's columnType would throw a plain Error (INTERNAL).
    if (prepared.columnTypeId(i) === DuckDBTypeId.INVALID) {
      throw new InvalidArgumentError(
        `the type of result column '${prepared.columnName(i)}' is not known before its parameter is bound; cast the parameter, e.g. ?::BIGINT`,
        { type: SQL_ERROR_TYPE },
      );
    }
    types.push(prepared.columnType(i));
  }
  return new ArrowBatchBuilder(names, types, batchBytes).schema;
}

function isValidName(name: string): boolean {
  try {
    validateName('frame', name);
    return true;
  } catch {
    return false;
  }
}

/** Splits `a.b` / `"a.x"."b"` into its parts, unquoting. */
function splitQualifiedName(name: string): string[] {
  const parts: string[] = [];
  for (const match of name.matchAll(/"((?:[^"]|"")*)"|([^."]+)/g)) parts.push(match[1] !== undefined ? match[1].replaceAll('""', '"') : match[2]!);
  return parts;
}

/** Quoted and bare identifier-like tokens of a SQL text, with their positions. */
function identifierTokens(sql: string): { name: string; start: number; end: number }[] {
  const tokens: { name: string; start: number; end: number }[] = [];
  for (const match of sql.matchAll(/"((?:[^"]|"")*)"|([A-Za-z0-9_]+)/g)) {
    const name = match[1] !== undefined ? match[1].replaceAll('""', '"') : match[2]!;
    tokens.push({ name, start: match.index, end: match.index + match[0].length });
  }
  return tokens;
}

/**
 * The frames a query over a snapshot reads: those of the snapshot's bucket.
 * @throws InvalidArgumentError when the query names a frame of another bucket
 */
function snapshotRefs(refs: readonly FrameRef[], context: QueryContext): readonly FrameRef[] {
  const foreign = refs.find((ref) => ref.bucket !== context.bucket);
  if (foreign) {
    throw new InvalidArgumentError(
      `a query over snapshot '${context.snapshot}' of bucket '${context.bucket}' reads that bucket's frames only; it names '${foreign.bucket}.${foreign.name}'`,
    );
  }
  return refs;
}
