/**
 * The server's Prometheus metrics (prom-client), one registry per server so two servers in one
 * process (tests) never share counters: Flight RPCs and HTTP requests by method and status with
 * latency histograms, bytes in and out, calls in flight, SQL queries, the store's size, and
 * Node's process metrics.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { HangarEngine } from '../../core/engine.js';
import { toHangarError } from '../../errors.js';

/** Latency buckets in seconds: 1 ms to 60 s. */
const LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

/** The metrics of one server. */
export class HangarMetrics {
  /** The registry `/metrics` renders. */
  readonly registry = new Registry();
  private readonly rpcCalls: Counter<'method' | 'code'>;
  private readonly rpcSeconds: Histogram<'method' | 'code'>;
  private readonly rpcActive: Gauge<'method'>;
  private readonly httpRequests: Counter<'method' | 'route' | 'status'>;
  private readonly httpSeconds: Histogram<'method' | 'route' | 'status'>;
  private readonly httpActive: Gauge;
  private readonly bytes: Counter<'api' | 'direction'>;
  private readonly sqlQueries: Counter<'api' | 'outcome'>;
  private readonly sqlSeconds: Histogram<'api' | 'outcome'>;
  private readonly storeSeconds: Histogram<'backend' | 'operation' | 'outcome'>;
  private readonly commits: Counter<'operation' | 'outcome'>;
  private readonly cacheHits: Counter;
  private readonly cacheMisses: Counter;
  private readonly cacheBytes: Gauge;
  private readonly cacheSeen = { hits: 0, misses: 0 };
  private engine: HangarEngine | undefined;
  private readonly storeFrames: Gauge;
  private readonly storeRows: Gauge;
  private readonly storeBytes: Gauge;

  constructor() {
    const registers = [this.registry];
    collectDefaultMetrics({ register: this.registry, prefix: 'hangar_' });
    this.rpcCalls = new Counter({ name: 'hangar_rpc_calls_total', help: 'Flight RPCs finished, by method and status code', labelNames: ['method', 'code'], registers });
    this.rpcSeconds = new Histogram({ name: 'hangar_rpc_duration_seconds', help: 'Flight RPC latency', labelNames: ['method', 'code'], buckets: LATENCY_BUCKETS, registers });
    this.rpcActive = new Gauge({ name: 'hangar_rpc_active_calls', help: 'Flight RPCs running now', labelNames: ['method'], registers });
    this.httpRequests = new Counter({ name: 'hangar_http_requests_total', help: 'HTTP requests finished, by method, route and status', labelNames: ['method', 'route', 'status'], registers });
    this.httpSeconds = new Histogram({ name: 'hangar_http_request_duration_seconds', help: 'HTTP request latency (until the response ended)', labelNames: ['method', 'route', 'status'], buckets: LATENCY_BUCKETS, registers });
    this.httpActive = new Gauge({ name: 'hangar_http_active_requests', help: 'HTTP requests being handled now', registers });
    this.bytes = new Counter({ name: 'hangar_data_bytes_total', help: 'Bytes of request and response bodies, by API (flight, http) and direction (in, out)', labelNames: ['api', 'direction'], registers });
    this.sqlQueries = new Counter({ name: 'hangar_sql_queries_total', help: 'SQL queries run, by API and outcome', labelNames: ['api', 'outcome'], registers });
    this.sqlSeconds = new Histogram({ name: 'hangar_sql_query_duration_seconds', help: 'SQL query time, until its result was sent', labelNames: ['api', 'outcome'], buckets: LATENCY_BUCKETS, registers });
    this.storeSeconds = new Histogram({
      name: 'hangar_store_operation_duration_seconds',
      help: 'Store operations (manifests, segments, listings) by backend, operation and outcome; _count counts them',
      labelNames: ['backend', 'operation', 'outcome'],
      buckets: LATENCY_BUCKETS,
      registers,
    });
    this.commits = new Counter({ name: 'hangar_commits_total', help: 'Manifest commits by what made them (put, append, replace, delete, restore, compact) and outcome (ok, conflict, error)', labelNames: ['operation', 'outcome'], registers });
    this.cacheHits = new Counter({ name: 'hangar_read_cache_hits_total', help: 'Reads of a segment served from the decoded-segment cache', registers });
    this.cacheMisses = new Counter({ name: 'hangar_read_cache_misses_total', help: 'Reads of a segment that had to fetch and decode it', registers });
    this.cacheBytes = new Gauge({ name: 'hangar_read_cache_bytes', help: 'Bytes of decoded segments the read cache holds', registers });
    this.storeFrames = new Gauge({ name: 'hangar_store_frames', help: 'Live frames in the store', registers });
    this.storeRows = new Gauge({ name: 'hangar_store_rows', help: 'Rows of the live frames in the store', registers });
    this.storeBytes = new Gauge({ name: 'hangar_store_bytes', help: 'Arrow bytes of the live frames in the store (current versions)', registers });
  }

  /** The engine whose store size and read cache the metrics report, read at each scrape. */
  watch(engine: HangarEngine): void {
    this.engine = engine;
  }

  /**
   * Starts timing a store operation; the returned function records its end.
   * @param commitOperation - for a manifest commit, what made it (counted in `hangar_commits_total`)
   */
  startStoreOperation(backend: string, operation: string, commitOperation?: string): (error?: unknown) => void {
    const started = process.hrtime.bigint();
    return (error) => {
      const outcome = error === undefined ? 'ok' : toHangarError(error).type === 'ConflictError' ? 'conflict' : 'error';
      this.storeSeconds.observe({ backend, operation, outcome }, Number(process.hrtime.bigint() - started) / 1e9);
      if (operation === 'commitManifest') this.commits.inc({ operation: commitOperation ?? 'unknown', outcome });
    };
  }

  /** Starts timing a Flight RPC; the returned function records its end. */
  startRpc(method: string): (error?: unknown) => void {
    const started = process.hrtime.bigint();
    this.rpcActive.inc({ method });
    return (error) => {
      const code = error === undefined ? 'OK' : toHangarError(error).code;
      this.rpcActive.dec({ method });
      this.rpcCalls.inc({ method, code });
      this.rpcSeconds.observe({ method, code }, Number(process.hrtime.bigint() - started) / 1e9);
    };
  }

  /** Starts timing an HTTP request; the returned function records its end. */
  startHttp(method: string): (route: string, status: number) => void {
    const started = process.hrtime.bigint();
    this.httpActive.inc();
    return (route, status) => {
      this.httpActive.dec();
      const labels = { method, route, status: String(status) };
      this.httpRequests.inc(labels);
      this.httpSeconds.observe(labels, Number(process.hrtime.bigint() - started) / 1e9);
    };
  }

  /** Counts body bytes moved by an API. */
  countBytes(api: 'flight' | 'http', direction: 'in' | 'out', bytes: number): void {
    if (bytes > 0) this.bytes.inc({ api, direction }, bytes);
  }

  /** Records a finished SQL query. */
  observeQuery(api: 'flight' | 'http', seconds: number, failed: boolean): void {
    const labels = { api, outcome: failed ? 'error' : 'ok' };
    this.sqlQueries.inc(labels);
    this.sqlSeconds.observe(labels, seconds);
  }

  /** The metrics in Prometheus text format (the store's size counted now, from its listings). */
  async render(): Promise<string> {
    if (this.engine) {
      const totals = await storeTotals(this.engine);
      this.storeFrames.set(totals.frames);
      this.storeRows.set(totals.rows);
      this.storeBytes.set(totals.bytes);
      const cache = this.engine.readCacheStats();
      this.cacheHits.inc(cache.hits - this.cacheSeen.hits);
      this.cacheMisses.inc(cache.misses - this.cacheSeen.misses);
      this.cacheSeen.hits = cache.hits;
      this.cacheSeen.misses = cache.misses;
      this.cacheBytes.set(cache.bytes);
    }
    return this.registry.metrics();
  }
}

/** Frames, rows and bytes of every bucket's live frames (listings are cached by the engine). */
async function storeTotals(engine: HangarEngine): Promise<{ frames: number; rows: number; bytes: number }> {
  let frames = 0;
  let rows = 0;
  let bytes = 0;
  for (const bucket of await engine.buckets()) {
    for (const info of await engine.list(bucket)) {
      frames++;
      rows += info.rows;
      bytes += info.bytes;
    }
  }
  return { frames, rows, bytes };
}
