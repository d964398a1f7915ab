// Same-run A/B of SQL's fixed cost per query (issue 23), in process: builds given by --builds A,B
// (built checkouts; the same one twice is the A/A run) each put a 1M-row frame (ts µs, f0, f1,
// n int32 of 100 values) into their own local store, warm it (hot frames on), then run, alternating
// builds query by query: `SELECT 1`, and W3's shape (1 % time filter, group-by of 100 rows).
// Medians and p10 in ms.
// Usage: node --single-threaded-gc --initial-old-space-size=256 bench/sql_small_query_ab.mjs --builds A,B [--queries N]
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Table, TimestampMicrosecond, makeData, makeVector, tableToIPC } from 'apache-arrow';

const arg = (name, fallback) => {
  const at = process.argv.indexOf(`--${name}`);
  return at >= 0 ? process.argv[at + 1] : fallback;
};
const QUERIES = Number(arg('queries', 200));
const builds = arg('builds', '').split(',').filter(Boolean);
if (builds.length === 0) throw new Error('--builds DIR,DIR is required');
const rows = 1_000_000;
const T0 = 1_704_067_200_000_000n;
const ts = BigInt64Array.from({ length: rows }, (_, i) => T0 + BigInt(i) * 1_000_000n);
const column = (seed) => makeVector(Float64Array.from({ length: rows }, (_, i) => Math.sin(i * seed) * 100));
const frame = new Table({ ts: makeVector(makeData({ type: new TimestampMicrosecond(), length: rows, data: ts })), f0: column(1), f1: column(2), n: makeVector(Int32Array.from({ length: rows }, (_, i) => i % 100)) });
const ipc = tableToIPC(frame, 'stream');
const SQL = {
  'SELECT 1': 'SELECT 1 AS x',
  W3: "SELECT n, count(*) AS c, avg(f0) AS a, max(f1) AS m FROM bench WHERE ts >= TIMESTAMP '2024-01-06 18:53:20' AND ts < TIMESTAMP '2024-01-06 21:40:00' GROUP BY n",
};
const engines = [];
for (const dir of builds) {
  const at = (path) => import(pathToFileURL(join(dir, 'dist', path)).href);
  const { LocalConnector } = await at('connectors/local/local-connector.js');
  const { HangarEngine } = await at('core/engine.js');
  const { splitIpcStream } = await at('format/ipc-message.js');
  const { ParquetCodec } = await at('format/parquet/parquet-codec.js');
  const { ObjectLayout } = await at('storage/object-layout.js');
  const store = new ObjectLayout(new LocalConnector({ root: mkdtempSync(join(tmpdir(), 'hangar-sql-small-')) }));
  await store.open();
  const engine = new HangarEngine(store, new ParquetCodec(1), {});
  await engine.put({ bucket: 'default', name: 'bench' }, 'replace', (async function* () { yield* splitIpcStream(ipc); })());
  engines.push({ dir, engine });
}
async function run(engine, sql) {
  const started = performance.now();
  const stream = await engine.query(sql, { bucket: 'default' });
  for await (const _ of stream.messages);
  return performance.now() - started;
}
for (const { engine } of engines) for (let i = 0; i < 10; i++) for (const sql of Object.values(SQL)) await run(engine, sql);
await new Promise((resolve) => setTimeout(resolve, 3000));
const times = engines.map(() => Object.fromEntries(Object.keys(SQL).map((name) => [name, []])));
for (let i = 0; i < QUERIES; i++) {
  for (const [name, sql] of Object.entries(SQL)) {
    for (const e of i % 2 ? engines : [...engines].reverse()) times[engines.indexOf(e)][name].push(await run(e.engine, sql));
  }
}
const at = (values, q) => [...values].sort((a, b) => a - b)[Math.floor(values.length * q)].toFixed(2);
engines.forEach((e, i) => console.log(e.dir, Object.keys(SQL).map((name) => `${name} p50 ${at(times[i][name], 0.5)} p10 ${at(times[i][name], 0.1)}`).join(' | ')));
process.exit(0);
