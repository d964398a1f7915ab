// Time pruning of SQL views, in process: a frame of many small appended segments (default 1,000,
// one hour of minutes each), queried for one hour, fully without naming the time column, fully
// naming it, and prepared only (the plan's cost), each the median of --runs after two warm-ups.
// With --store DIR --frame NAME it also times W3 (1% time filter + group-by) and full scans on a
// frame already stored there (e.g. the 10M-row frame of sql_queries.py, kept with a local store).
// Usage: npm run build && node bench/sql_time_pruning.mjs [--segments N] [--runs N] [--store DIR --frame NAME] [--json PATH]
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Float64, Table, TimestampMicrosecond, makeData, makeVector, tableToIPC } from 'apache-arrow';
import { LocalConnector } from '../dist/connectors/local/local-connector.js';
import { HangarEngine } from '../dist/core/engine.js';
import { splitIpcStream } from '../dist/format/ipc-message.js';
import { ParquetCodec } from '../dist/format/parquet/parquet-codec.js';

const arg = (name, fallback) => {
  const at = process.argv.indexOf(`--${name}`);
  return at >= 0 ? process.argv[at + 1] : fallback;
};
const SEGMENTS = Number(arg('segments', 1000));
const RUNS = Number(arg('runs', 21));
const HOUR = 3_600_000_000n;
const T0 = 1_700_000_000_000_000n;
const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];

async function* messagesOf(table) {
  yield* splitIpcStream(tableToIPC(table, 'stream'));
}

function hourTable(hour) {
  const rows = 60;
  const ts = BigInt64Array.from({ length: rows }, (_, i) => T0 + BigInt(hour) * HOUR + (BigInt(i) * HOUR) / 60n);
  return new Table({
    ts: makeVector(makeData({ type: new TimestampMicrosecond(), length: rows, data: ts })),
    px: makeVector(Float64Array.from({ length: rows }, (_, i) => hour + i / rows)),
  });
}

async function drain(stream) {
  let messages = 0;
  for await (const _ of stream.messages) messages++;
  return messages;
}

/** Median milliseconds of each named query, interleaved run by run so drift hits all alike. */
async function timeQueries(engine, bucket, queries) {
  const times = Object.fromEntries(Object.keys(queries).map((name) => [name, []]));
  for (let run = -2; run < RUNS; run++) {
    for (const [name, { sql, prepareOnly }] of Object.entries(queries)) {
      const started = performance.now();
      if (prepareOnly) await engine.querySchema(sql, { bucket });
      else await drain(await engine.query(sql, { bucket }));
      if (run >= 0) times[name].push(performance.now() - started);
    }
  }
  return Object.fromEntries(Object.entries(times).map(([name, values]) => [name, Number(median(values).toFixed(2))]));
}

const codec = new ParquetCodec(2);
const results = { segments: SEGMENTS, runs: RUNS };
const directory = await mkdtemp(join(tmpdir(), 'hangar-pruning-bench-'));
try {
  const connector = new LocalConnector({ root: directory, fsync: false });
  await connector.open();
  // No background compaction: the many small appended segments are the case measured.
  const engine = new HangarEngine(connector, codec, { compactThreshold: 0 });
  const ref = { bucket: 'default', name: 'hours' };
  for (let hour = 0; hour < SEGMENTS; hour++) await engine.put(ref, hour === 0 ? 'replace' : 'append', messagesOf(hourTable(hour)));
  const a = T0 + BigInt(Math.floor(SEGMENTS / 2)) * HOUR;
  const hourSql = `SELECT count(*) AS n, sum(px) AS s FROM hours WHERE ts >= make_timestamp(${a}) AND ts < make_timestamp(${a + HOUR})`;
  results.manySegments = await timeQueries(engine, 'default', {
    'one hour': { sql: hourSql },
    'one hour, prepared only': { sql: hourSql, prepareOnly: true },
    'full scan not naming ts': { sql: 'SELECT count(*) AS n, sum(px) AS s FROM hours' },
    'full scan naming ts': { sql: 'SELECT count(*) AS n, sum(px) AS s, max(ts) AS t FROM hours' },
  });
  const stored = (await connector.getManifest(ref)).segments.length;
  if (stored !== SEGMENTS) throw new Error(`expected ${SEGMENTS} segments, the frame has ${stored}`);
  console.log(`${SEGMENTS} segments:`, results.manySegments);
  await engine.close();
} finally {
  await rm(directory, { recursive: true, force: true });
}

const store = arg('store');
if (store) {
  const frame = arg('frame', 'bench_put_get');
  const connector = new LocalConnector({ root: store, fsync: false });
  await connector.open();
  const engine = new HangarEngine(connector, codec, {});
  const manifest = await connector.getManifest({ bucket: 'default', name: frame });
  const first = BigInt(manifest.segments[0].timeRange.min);
  const t0 = first + BigInt(manifest.rows / 2) * 1_000_000n;
  const t1 = t0 + BigInt(manifest.rows / 100) * 1_000_000n;
  const window = `ts >= make_timestamp(${t0}) AND ts < make_timestamp(${t1})`;
  const w3 = `SELECT category, count(*) AS n, avg(f0) AS f0, max(f1) AS f1 FROM ${frame} WHERE ${window} GROUP BY category`;
  results.storedFrame = await timeQueries(engine, 'default', {
    'W3 filter 1% + group-by': { sql: w3 },
    'W3, prepared only': { sql: w3, prepareOnly: true },
    'full scan not naming ts': { sql: `SELECT count(*) AS n, sum(f0) AS s, max(f1) AS m FROM ${frame}` },
    'full scan naming ts': { sql: `SELECT count(*) AS n, sum(f0) AS s, max(ts) AS m FROM ${frame}` },
  });
  console.log(`${frame} (${manifest.segments.length} segments):`, results.storedFrame);
  await engine.close();
}
await codec.close();
const json = arg('json');
if (json) await writeFile(json, JSON.stringify({ bench: 'sql-time-pruning', results }, null, 2));
