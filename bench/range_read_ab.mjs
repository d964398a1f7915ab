// Same-run A/B of range reads in process (issue 23): builds given by --builds DIR,DIR (each a built
// checkout; the same one twice is the A/A noise run) each put the N-row numeric frame of W8 (ts in
// microseconds 1 s apart, f0..f3 float64, 64Ki-row batches) into a fresh local store, then read one
// day from the middle (86,400 rows), the last 100 rows, two columns and the whole frame, alternating
// builds every run (medians; --cache-bytes 0 makes every read fetch and decode).
// Usage: npm run build && node --single-threaded-gc --initial-old-space-size=256 bench/range_read_ab.mjs \
//          --builds /path/a,/path/b [--rows N] [--runs N] [--cache-bytes N] [--json PATH]
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Float64, Table, TimestampMicrosecond, makeData, makeVector, tableToIPC, RecordBatch } from 'apache-arrow';
const arg = (n, d) => { const i = process.argv.indexOf(`--${n}`); return i >= 0 ? process.argv[i + 1] : d; };
const ROWS = Number(arg('rows', 1_000_000)), RUNS = Number(arg('runs', 9));
const builds = arg('builds', '/work/main').split(',');
const T0 = 1_704_067_200_000_000n;
function table(rows) {
  const ts = BigInt64Array.from({ length: rows }, (_, i) => T0 + BigInt(i) * 1_000_000n);
  const col = (s) => Float64Array.from({ length: rows }, (_, i) => Math.sin(i * s));
  return new Table({ ts: makeVector(makeData({ type: new TimestampMicrosecond(), length: rows, data: ts })), f0: makeVector(col(1)), f1: makeVector(col(2)), f2: makeVector(col(3)), f3: makeVector(col(4)) });
}
const t = table(ROWS);
const batches = []; for (let s = 0; s < ROWS; s += 65536) batches.push(...new Table(t.slice(s, Math.min(ROWS, s + 65536)).batches).batches);
const ipc = tableToIPC(new Table(batches), 'stream');
const median = (v) => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)];
const engines = [];
for (const dir of builds) {
  const at = (p) => import(pathToFileURL(join(dir, 'dist', p)).href);
  const { LocalConnector } = await at('connectors/local/local-connector.js');
  const { HangarEngine } = await at('core/engine.js');
  const { splitIpcStream } = await at('format/ipc-message.js');
  const { ParquetCodec } = await at('format/parquet/parquet-codec.js');
  const { ObjectLayout } = await at('storage/object-layout.js');
  const root = await mkdtemp(join(tmpdir(), 'speed-range-'));
  const store = new ObjectLayout(new LocalConnector({ root })); await store.open();
  const cacheBytes = arg('cache-bytes', undefined);
  const engine = new HangarEngine(store, new ParquetCodec(2), cacheBytes === undefined ? {} : { readCacheBytes: Number(cacheBytes) });
  const ref = { bucket: 'default', name: 'numeric' };
  await engine.put(ref, 'replace', (async function* () { yield* splitIpcStream(ipc); })());
  engines.push({ dir, engine, ref });
}
const mid = T0 * 1000n + BigInt(Math.floor(ROWS / 2)) * 1_000_000_000n;
const opts = { start: mid, end: mid + 86_400n * 1_000_000_000n };
async function one(e, o) { const s = performance.now(); const st = await e.engine.read(e.ref, o); let n = 0; for await (const m of st.messages) n += m.body.byteLength; return [performance.now() - s, n]; }
const ops = { range_day: opts, tail_100: { tail: 100 }, two_columns: { columns: ['f0', 'f1'] }, whole: {} };
const times = engines.map(() => Object.fromEntries(Object.keys(ops).map((op) => [op, []])));
for (let r = -1; r < RUNS; r++) for (const e of r % 2 ? engines : [...engines].reverse()) {
  const i = engines.indexOf(e);
  for (const [op, o] of Object.entries(ops)) {
    const [elapsed, bytes] = await one(e, o);
    if (r >= 0) times[i][op].push(elapsed);
    if (r === -1 && op === 'range_day') console.log(e.dir, 'range_day bytes', bytes);
  }
}
const report = engines.map((e, i) => ({ build: e.dir, ...Object.fromEntries(Object.keys(ops).map((op) => [op, { median_ms: Number(median(times[i][op]).toFixed(2)), times_ms: times[i][op].map((x) => Number(x.toFixed(2))) }])) }));
for (const entry of report) console.log(entry.build, Object.keys(ops).map((op) => `${op} ${entry[op].median_ms}`).join(' | '));
const json = arg('json', undefined);
if (json) (await import('node:fs')).writeFileSync(json, JSON.stringify({ rows: ROWS, runs: RUNS, cacheBytes: arg('cache-bytes', 'default'), date: new Date().toISOString(), report }, null, 1));
process.exit(0);
