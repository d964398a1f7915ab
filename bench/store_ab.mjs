// Same-run A/B of two Hangar builds' storage paths, in process, on the local store with fsync on:
// a put of a frame (replace), a whole get (decoded-segment cache off, so every run fetches and
// decodes), 2,000 stats of a small frame (the manifest lookup of every small get) and a 1,000-row
// append. Each run does every operation on build A then build B (or B then A, alternating), so a
// shared machine's drift hits both alike. Noise floor: the spread of one build's runs, as min–max.
// Usage: npm run build && node --single-threaded-gc --initial-old-space-size=256 bench/store_ab.mjs \
//          --baseline /path/to/other/checkout [--rows N] [--runs N] [--json PATH]
// Layouts: --log-this delta|manifest and --log-baseline delta|manifest give each side's version log
// (--baseline . compares the two layouts of one build; the same log on both sides is an A/A pair).
// Besides wall time, each operation's process CPU (ms) and the time inside the layout's commit
// (commitManifest) and manifest lookups (getManifest) are reported, as medians per run.
// The baseline checkout must be built (its dist/). Both builds' engines take their own store: the
// baseline's local connector is frame-level (wave 1), this build's is a byte store under the layout.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Float64, Int64, Table, TimestampNanosecond, makeData, makeVector, tableToIPC } from 'apache-arrow';

const arg = (name, fallback) => {
  const at = process.argv.indexOf(`--${name}`);
  return at >= 0 ? process.argv[at + 1] : fallback;
};
const ROWS = Number(arg('rows', 2_000_000));
const RUNS = Number(arg('runs', 7));
const BASELINE = arg('baseline', undefined);
const LOGS = { this: arg('log-this', undefined), baseline: arg('log-baseline', undefined) };
if (!BASELINE) throw new Error('--baseline DIR (a built checkout of the build to compare with) is required');
const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
const ms = (value) => Number(value.toFixed(2));

function frame(rows, offset = 0) {
  const ts = BigInt64Array.from({ length: rows }, (_, i) => 1_700_000_000_000_000_000n + BigInt(i + offset) * 1_000_000_000n);
  const column = (seed) => Float64Array.from({ length: rows }, (_, i) => ((i + offset) * seed) % 1000);
  return new Table({
    ts: makeVector(makeData({ type: new TimestampNanosecond('UTC'), length: rows, data: ts })),
    f0: makeVector(column(7)),
    f1: makeVector(column(13)),
    f2: makeVector(column(31)),
    n: makeVector(BigInt64Array.from({ length: rows }, (_, i) => BigInt(i + offset))),
  });
}

async function* messages(ipc, splitIpcStream) {
  yield* splitIpcStream(ipc);
}

/** One build: its engine over a fresh local store. */
async function openBuild(label, dist) {
  const at = (path) => import(pathToFileURL(join(dist, path)).href);
  const { LocalConnector } = await at('connectors/local/local-connector.js');
  const { HangarEngine } = await at('core/engine.js');
  const ipcModule = await at('format/ipc-message.js').catch(() => at('core/ipc-message.js'));
  const codecModule = await at('format/parquet/parquet-codec.js').catch(() => at('core/parquet/parquet-codec.js'));
  const layoutModule = await at('storage/object-layout.js').catch(() => undefined);
  const root = await mkdtemp(join(tmpdir(), `hangar-store-ab-${label}-`));
  const connector = new LocalConnector({ root });
  const log = LOGS[label];
  const store = layoutModule ? new layoutModule.ObjectLayout(connector, log ? { log } : {}) : connector;
  await store.open();
  const phases = { commit: 0, lookup: 0 };
  for (const [method, phase] of [['commitManifest', 'commit'], ['getManifest', 'lookup']]) {
    const original = store[method]?.bind(store);
    if (!original) continue;
    store[method] = async (...args) => {
      const started = performance.now();
      try {
        return await original(...args);
      } finally {
        phases[phase] += performance.now() - started;
      }
    };
  }
  const codec = new codecModule.ParquetCodec(2);
  const engine = new HangarEngine(store, codec, { readCacheBytes: 0 });
  return { label, engine, store, codec, root, phases, split: ipcModule.splitIpcStream };
}

/** Wall ms of an action; its process CPU and layout phases go to `into` under `op`. */
async function timedInto(build, into, op, action) {
  build.phases.commit = 0;
  build.phases.lookup = 0;
  const cpu = process.cpuUsage();
  const started = process.hrtime.bigint();
  await action();
  const wall = Number(process.hrtime.bigint() - started) / 1e6;
  const used = process.cpuUsage(cpu);
  (into[`${op}_cpu`] ??= []).push((used.user + used.system) / 1000);
  (into[`${op}_commit`] ??= []).push(build.phases.commit);
  (into[`${op}_lookup`] ??= []).push(build.phases.lookup);
  return wall;
}

const big = tableToIPC(frame(ROWS), 'stream');
const small = tableToIPC(frame(1_000), 'stream');
const builds = [await openBuild('this', resolve('dist')), await openBuild('baseline', resolve(BASELINE, 'dist'))];
const extra = Object.fromEntries(builds.map((b) => [b.label, {}]));
const ref = { bucket: 'default', name: 'big' };
const smallRef = { bucket: 'default', name: 'small' };
const results = Object.fromEntries(builds.map((b) => [b.label, { put: [], get: [], stat2000: [], append: [] }]));
for (const build of builds) {
  await build.engine.put(smallRef, 'replace', messages(small, build.split));
  await build.engine.put(ref, 'replace', messages(big, build.split)); // warm-up
}
for (let run = 0; run < RUNS; run++) {
  const order = run % 2 === 0 ? builds : [...builds].reverse();
  for (const build of order) {
    const r = results[build.label];
    const x = extra[build.label];
    r.put.push(await timedInto(build, x, 'put', () => build.engine.put(ref, 'replace', messages(big, build.split))));
    r.get.push(await timedInto(build, x, 'get', async () => {
      for await (const _ of (await build.engine.read(ref)).messages);
    }));
    r.stat2000.push(await timedInto(build, x, 'stat2000', async () => {
      for (let i = 0; i < 2000; i++) await build.engine.stat(smallRef);
    }));
    // Later times each run: an append going back in time is refused (ordered appends).
    const later = tableToIPC(frame(1_000, 1_000 * (run + 1)), 'stream');
    r.append.push(await timedInto(build, x, 'append', () => build.engine.put(smallRef, 'append', messages(later, build.split))));
  }
}
const summary = {};
for (const op of ['put', 'get', 'stat2000', 'append']) {
  const [a, b] = [results.this[op], results.baseline[op]];
  summary[op] = {
    this_ms: ms(median(a)),
    baseline_ms: ms(median(b)),
    ratio: Number((median(a) / median(b)).toFixed(3)),
    this_range_ms: [ms(Math.min(...a)), ms(Math.max(...a))],
    baseline_range_ms: [ms(Math.min(...b)), ms(Math.max(...b))],
  };
  for (const part of ['cpu', 'commit', 'lookup']) {
    const [pa, pb] = [extra.this[`${op}_${part}`], extra.baseline[`${op}_${part}`]];
    summary[op][`this_${part}_ms`] = ms(median(pa));
    summary[op][`baseline_${part}_ms`] = ms(median(pb));
  }
}
const report = { rows: ROWS, runs: RUNS, bytes: big.byteLength, logs: LOGS, load: (await import('node:os')).loadavg(), summary, results, extra };
console.log(`logs: this ${LOGS.this ?? 'default'}, baseline ${LOGS.baseline ?? 'default'}; load ${report.load.map((l) => l.toFixed(2)).join(' ')}`);
console.log(JSON.stringify(summary, null, 2));
const json = arg('json', undefined);
if (json) await writeFile(json, JSON.stringify(report, null, 2));
for (const build of builds) {
  await build.engine.close();
  await build.store.close();
  await build.codec.close();
  await rm(build.root, { recursive: true, force: true });
}
