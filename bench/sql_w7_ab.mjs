// Same-run A/B of SQL in process (issue 23, W3 and W7): HangarEngines of several builds (each a checkout
// with its own dist/, e.g. HEAD before a change built apart, and the working tree) over one local store
// holding compare.py's frame shape (ts µs 1 s apart, f0..f3 normal, a 100-value category dictionary;
// 64Ki-row batches) and its numeric twin. Each round runs every query 5 times on each engine, the order
// of the engines alternating; two warm-up rounds first (they make the frames hot). Prints per query the
// p50 wall ms and the process CPU ms per query (DuckDB's threads included): name a build twice for the
// A/A pair. SHAPES=W3,S2 picks queries (default W3,S1..S6; ALL is SELECT *); ENGINE_OPTIONS is JSON.
// Usage: node --single-threaded-gc --initial-old-space-size=256 bench/sql_w7_ab.mjs ROWS ROUNDS A=/tmp/base B=. A2=/tmp/base
// This is a benchmark, not a test: it asserts nothing about timing.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
const ROWS = Number(process.argv[2]); const RUNS = Number(process.argv[3]);
const sides = process.argv.slice(4).map((side) => side.split('=')).map(([label, root]) => [label, resolve(root)]);
const SHAPES = (process.env.SHAPES ?? 'W3,S1,S2,S3,S4,S5,S6').split(',');
const R0 = sides[0][1];
const { Dictionary, Int32, Table, TimestampMicrosecond, Utf8, makeData, makeVector, tableToIPC, vectorFromArray } = await import(`${R0}/node_modules/apache-arrow/Arrow.node.mjs`);
const T0 = 1_704_067_200_000_000n;
let seed = 42;
const random = () => ((seed = (seed * 1_103_515_245 + 12_345) % 2_147_483_648) / 2_147_483_648);
const normal = () => Math.sqrt(-2 * Math.log(random() || 1e-12)) * Math.cos(2 * Math.PI * random());
function frame(rows, withCategory) {
  const ts = BigInt64Array.from({ length: rows }, (_, i) => T0 + BigInt(i) * 1_000_000n);
  const column = () => Float64Array.from({ length: rows }, normal);
  const cols = { ts: makeVector(makeData({ type: new TimestampMicrosecond(), length: rows, data: ts })), f0: makeVector(column()), f1: makeVector(column()), f2: makeVector(column()), f3: makeVector(column()) };
  if (withCategory) {
    const dictionary = vectorFromArray(Array.from({ length: 100 }, (_, i) => `category_${String(i).padStart(3, '0')}`), new Utf8());
    const indices = Int32Array.from({ length: rows }, () => Math.floor(random() * 100));
    cols.category = makeVector(makeData({ type: new Dictionary(new Utf8(), new Int32()), length: rows, data: indices, dictionary }));
  }
  const table = new Table(cols);
  const batches = []; for (let s = 0; s < rows; s += 65_536) batches.push(...table.slice(s, Math.min(rows, s + 65_536)).batches);
  return new Table(batches);
}
const day = (offset) => new Date(Number((T0 + BigInt(offset) * 1_000_000n) / 1000n)).toISOString().replace('T', ' ').replace('Z', '');
const w3From = Math.floor(ROWS * 0.5), w3To = w3From + Math.floor(ROWS * 0.01);
const ALL = {
  W3: `SELECT category, count(*) AS n, avg(f0) AS f0, max(f1) AS f1 FROM bench_compare WHERE ts >= TIMESTAMP '${day(w3From)}' AND ts < TIMESTAMP '${day(w3To)}' GROUP BY category`,
  S1: 'SELECT category, count(*) AS n, avg(f1) AS f1 FROM bench_compare WHERE f0 > 1.0 GROUP BY category',
  S2: 'SELECT ts, f0, f1, f2, f3, category FROM bench_compare WHERE f0 > 2.326',
  S3: 'SELECT category, avg(f0) AS a, sum(f1) AS s, max(f2) AS m FROM bench_compare GROUP BY category',
  S4: 'SELECT ts, f0, category FROM bench_compare ORDER BY f0 DESC LIMIT 10',
  S5: "SELECT date_trunc('hour', ts) AS hour, avg(f0) AS a, max(f1) AS m FROM bench_compare GROUP BY date_trunc('hour', ts)",
  S6: 'SELECT count(*) AS n, avg(a.f0 - b.f1) AS d FROM bench_compare a JOIN bench_compare_numeric b ON a.ts = b.ts WHERE a.f0 > 1.0',
  ALL: 'SELECT * FROM bench_compare',
};
const Q = Object.fromEntries(SHAPES.map((k) => [k, ALL[k]]));
const root = mkdtempSync(join(tmpdir(), 'sqlab-'));
const mods = {};
for (const [, r] of sides) mods[r] ??= {
  LocalConnector: (await import(`${r}/dist/connectors/local/local-connector.js`)).LocalConnector,
  HangarEngine: (await import(`${r}/dist/core/engine.js`)).HangarEngine,
  splitIpcStream: (await import(`${r}/dist/format/ipc-message.js`)).splitIpcStream,
  ParquetCodec: (await import(`${r}/dist/format/parquet/parquet-codec.js`)).ParquetCodec,
  ObjectLayout: (await import(`${r}/dist/storage/object-layout.js`)).ObjectLayout,
};
const m0 = mods[R0];
{
  const store = new m0.ObjectLayout(new m0.LocalConnector({ root })); await store.open();
  const codec = new m0.ParquetCodec(2);
  const w = new m0.HangarEngine(store, codec, {});
  for (const [name, cat] of [['bench_compare', true], ['bench_compare_numeric', false]]) {
    seed = 42;
    await w.put({ bucket: 'default', name }, 'replace', (async function* () { yield* m0.splitIpcStream(tableToIPC(frame(ROWS, cat), 'stream')); })());
  }
  await w.close?.(); await codec.close?.();
}
const engines = [];
for (const [label, r] of sides) {
  const m = mods[r];
  const store = new m.ObjectLayout(new m.LocalConnector({ root })); await store.open();
  const codec = new m.ParquetCodec(1);
  engines.push({ label, engine: new m.HangarEngine(store, codec, JSON.parse(process.env.ENGINE_OPTIONS ?? '{}')) });
}
async function run(engine, sql) {
  const c0 = process.cpuUsage(); const s = performance.now();
  const stream = await engine.query(sql, { bucket: 'default' });
  let bytes = 0; for await (const m of stream.messages) bytes += m.body.length;
  const c = process.cpuUsage(c0);
  return [performance.now() - s, (c.user + c.system) / 1000, bytes];
}
const times = engines.map(() => Object.fromEntries(Object.keys(Q).map((q) => [q, { wall: [], cpu: [] }])));
const sizes = {};
for (let round = -2; round < RUNS; round++) {
  for (const [name, sql] of Object.entries(Q)) {
    const order = (round + Object.keys(Q).indexOf(name)) % 2 ? engines : [...engines].reverse();
    for (const e of order) {
      for (let k = 0; k < (round < 0 ? 1 : 5); k++) {
        const [wall, cpu, bytes] = await run(e.engine, sql);
        sizes[`${e.label} ${name}`] = bytes;
        if (round >= 0) { times[engines.indexOf(e)][name].wall.push(wall); times[engines.indexOf(e)][name].cpu.push(cpu); }
      }
    }
  }
  if (round === -1) await new Promise((r) => setTimeout(r, 4000));
}
const med = (v) => [...v].sort((a, b) => a - b)[v.length >> 1];
console.log(`rows ${ROWS} runs ${RUNS} x5 load ${readFileSync('/proc/loadavg', 'utf8').trim()}`);
const rowsOut = {};
for (const name of Object.keys(Q)) rowsOut[name] = Object.fromEntries(engines.map((e, i) => [e.label, `${med(times[i][name].wall).toFixed(1)} (${med(times[i][name].cpu).toFixed(1)})`]));
console.table(rowsOut);
for (const name of Object.keys(Q)) { const s = new Set(engines.map((e) => sizes[`${e.label} ${name}`])); if (s.size > 1) console.log('SIZE DIFFERS', name, [...s]); }
rmSync(root, { recursive: true, force: true });
process.exit(0);
