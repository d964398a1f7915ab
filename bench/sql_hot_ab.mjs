// Same-run A/B of hot frames in SQL (issue 23), in process: one store holding compare.py's frame
// (ts µs 1 s apart, f0..f3 float64 normal-ish, category a 100-value dictionary; 64Ki-row batches),
// three engines over it: two with hot frames off (`sql.hotBytes: 0`, the A/A pair whose spread is
// the noise) and one with the default budget. Each runs W3 and W7's S1–S5 (bench/compare.py's
// statements), draining the Arrow result; queries go round the engines in turn (order reversed every
// round), after two warm-up rounds (which make the frame hot on the third engine); then the resample
// action (1-minute mean, sum, last, ohlc of f0..f3 into a frame) likewise.
// Usage: npm run build && node --single-threaded-gc --initial-old-space-size=256 bench/sql_hot_ab.mjs [--rows N] [--runs N] [--json PATH]
import { mkdtemp, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Dictionary, Float64, Int32, Table, TimestampMicrosecond, Utf8, makeData, makeVector, tableToIPC, vectorFromArray } from 'apache-arrow';
import { LocalConnector } from '../dist/connectors/local/local-connector.js';
import { HangarEngine } from '../dist/core/engine.js';
import { splitIpcStream } from '../dist/format/ipc-message.js';
import { ParquetCodec } from '../dist/format/parquet/parquet-codec.js';
import { ObjectLayout } from '../dist/storage/object-layout.js';
import { parseResampleRequest, resample } from '../dist/core/resample.js';

const arg = (name, fallback) => {
  const at = process.argv.indexOf(`--${name}`);
  return at >= 0 ? process.argv[at + 1] : fallback;
};
const ROWS = Number(arg('rows', 1_000_000));
const RUNS = Number(arg('runs', 9));
const T0 = 1_704_067_200_000_000n;
let seed = 42;
const random = () => ((seed = (seed * 1_103_515_245 + 12_345) % 2_147_483_648) / 2_147_483_648);
const normal = () => Math.sqrt(-2 * Math.log(random() || 1e-12)) * Math.cos(2 * Math.PI * random());

function frame(rows) {
  const ts = BigInt64Array.from({ length: rows }, (_, i) => T0 + BigInt(i) * 1_000_000n);
  const column = () => Float64Array.from({ length: rows }, normal);
  const labels = Array.from({ length: 100 }, (_, i) => `cat_${String(i).padStart(3, '0')}`);
  const dictionary = vectorFromArray(labels, new Utf8());
  const indices = Int32Array.from({ length: rows }, () => Math.floor(random() * 100));
  const category = makeVector(makeData({ type: new Dictionary(new Utf8(), new Int32()), length: rows, data: indices, dictionary }));
  const table = new Table({
    ts: makeVector(makeData({ type: new TimestampMicrosecond(), length: rows, data: ts })),
    f0: makeVector(column()), f1: makeVector(column()), f2: makeVector(column()), f3: makeVector(column()), category,
  });
  const batches = [];
  for (let start = 0; start < rows; start += 65_536) batches.push(...table.slice(start, Math.min(rows, start + 65_536)).batches);
  return new Table(batches);
}

const day = (offset) => new Date(Number((T0 + BigInt(offset) * 1_000_000n) / 1000n)).toISOString().replace('T', ' ').replace('Z', '');
const w3From = Math.floor(ROWS * 0.5);
const w3To = w3From + Math.floor(ROWS * 0.01);
const QUERIES = {
  'W3 1% time filter + group-by': `SELECT category, count(*) AS n, avg(f0) AS f0, max(f1) AS f1 FROM bench WHERE ts >= TIMESTAMP '${day(w3From)}' AND ts < TIMESTAMP '${day(w3To)}' GROUP BY category`,
  'S1 value filter + group-by category': 'SELECT category, count(*) AS n, avg(f1) AS f1 FROM bench WHERE f0 > 1.0 GROUP BY category',
  'S2 ~1% row filter, rows back': 'SELECT ts, f0, f1, f2, f3, category FROM bench WHERE f0 > 2.326',
  'S3 group-by category, 3 aggregates': 'SELECT category, avg(f0) AS a, sum(f1) AS s, max(f2) AS m FROM bench GROUP BY category',
  'S4 top-10 by value': 'SELECT ts, f0, category FROM bench ORDER BY f0 DESC LIMIT 10',
  'S5 hourly buckets, 2 aggregates': "SELECT date_trunc('hour', ts) AS hour, avg(f0) AS a, max(f1) AS m FROM bench GROUP BY date_trunc('hour', ts)",
};

// W4 and the other resample aggregations, as the resample action runs them (into a frame).
for (const aggregation of ['mean', 'sum', 'last', 'ohlc']) QUERIES[`resample 1min ${aggregation}`] = { aggregation };

const root = await new Promise((resolve, reject) => mkdtemp(join(tmpdir(), 'hangar-sql-hot-'), (e, d) => (e ? reject(e) : resolve(d))));
const store = new ObjectLayout(new LocalConnector({ root }));
await store.open();
const codec = new ParquetCodec(2);
const writer = new HangarEngine(store, codec, {});
await writer.put({ bucket: 'default', name: 'bench' }, 'replace', (async function* () { yield* splitIpcStream(tableToIPC(frame(ROWS), 'stream')); })());
const engines = [
  { label: 'hot off (A)', engine: new HangarEngine(store, codec, { sql: { hotBytes: 0 } }) },
  { label: 'hot off (A, again)', engine: new HangarEngine(store, codec, { sql: { hotBytes: 0 } }) },
  { label: 'hot frames', engine: new HangarEngine(store, codec, {}) },
];
async function run(engine, sql) {
  const started = performance.now();
  if (typeof sql === 'object') {
    const request = { source: 'bench', target: `resampled_${sql.aggregation}`, mode: 'replace', rule: '1min', time_col: 'ts', aggregation_func: sql.aggregation };
    await resample(engine, parseResampleRequest(request));
    return performance.now() - started;
  }
  const stream = await engine.query(sql, { bucket: 'default' });
  for await (const _ of stream.messages);
  return performance.now() - started;
}
const times = engines.map(() => Object.fromEntries(Object.keys(QUERIES).map((q) => [q, []])));
for (let round = -2; round < RUNS; round++) {
  const order = round % 2 ? engines : [...engines].reverse();
  for (const [name, sql] of Object.entries(QUERIES)) {
    for (const entry of order) {
      const elapsed = await run(entry.engine, sql);
      if (round >= 0) times[engines.indexOf(entry)][name].push(elapsed);
    }
  }
  // Let the hot table of the third engine finish building after the warm-up rounds.
  if (round === -1) await new Promise((resolve) => setTimeout(resolve, 3000));
}
const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
const report = Object.keys(QUERIES).map((name) => ({ query: name, ...Object.fromEntries(engines.map((e, i) => [e.label, Number(median(times[i][name]).toFixed(2))])) }));
console.table(report);
const json = arg('json', undefined);
if (json) writeFileSync(json, JSON.stringify({ rows: ROWS, runs: RUNS, date: new Date().toISOString(), report, times: engines.map((e, i) => ({ label: e.label, times: times[i] })) }, null, 1));
process.exit(0);
