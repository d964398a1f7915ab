// Same-run A/B of range reads in process (issue 23): builds given by --builds DIR,DIR (each a built
// checkout; the same one twice is the A/A noise run) each put the N-row numeric frame of W8 (ts in
// microseconds 1 s apart, f0..f3 float64, 64Ki-row batches) into a fresh local store, then read one
// day from the middle (86,400 rows) and the last 100 rows, alternating builds every run.
// Usage: npm run build && node --single-threaded-gc --initial-old-space-size=256 bench/range_read_ab.mjs \
//          --builds /path/a,/path/b [--rows N] [--runs N] [--cache-bytes N]
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
const times = engines.map(() => ({ range: [], tail: [] }));
for (let r = -1; r < RUNS; r++) for (const [k, e] of (r % 2 ? engines : [...engines].reverse()).entries()) {
  const i = engines.indexOf(e);
  const [a, n] = await one(e, opts); const [b] = await one(e, { tail: 100 });
  if (r >= 0) { times[i].range.push(a); times[i].tail.push(b); }
  if (r === -1) console.log(e.dir, 'bytes', n);
}
engines.forEach((e, i) => console.log(e.dir, 'range_day median', median(times[i].range).toFixed(2), 'ms', times[i].range.map((x) => x.toFixed(1)).join(' '), '| tail100', median(times[i].tail).toFixed(2)));
process.exit(0);
