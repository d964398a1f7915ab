// Same-process A/B of issue 22's update of a day and cold tail of 100 rows (bench/update_tail_10m.mjs's
// frame: 10M rows over one year, ts in µs, f0..f3 float64, local store), for a loaded machine: two builds
// (or one twice, an A/A) each get a store and a frame, then take turns operation by operation, the order
// swapped every round, so both see the same load. Each round updates a day inside a segment no earlier
// round touched (a full ~16 MiB segment of ~455,000 rows, the goal's case), then reads 5 cold tails
// (read cache off: fetch and decode; parsed footers stay cached per store). Reported per build: the
// median wall time and process CPU time (every thread, codec workers included) of each operation, and
// the replace of the whole frame (timed at the start, alternating) for the update's share of it.
// Incoming rows are made before each clock starts.
// Usage: npm run build && node --single-threaded-gc --initial-old-space-size=256 --expose-gc bench/update_tail_ab.mjs \
//          --builds DIR_A,DIR_B [--rows N] [--rounds N] [--replaces N] [--json PATH]
import { mkdtemp, rm } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Table, TimestampMicrosecond, makeData, makeVector, tableToIPC } from 'apache-arrow';

const arg = (name, fallback) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : fallback;
};
const ROWS = Number(arg('rows', 10_000_000));
const ROUNDS = Number(arg('rounds', 12));
const REPLACES = Number(arg('replaces', 3));
const BUILDS = arg('builds', `${new URL('..', import.meta.url).pathname},${new URL('..', import.meta.url).pathname}`).split(',');
const T0 = 1_704_067_200_000_000n;
const STEP = (365n * 86_400n * 1_000_000n) / BigInt(ROWS);
const DAY = 86_400n * 1_000_000n;
const dayRows = Number(DAY / STEP);
const dayAt = (d) => Number((BigInt(d) * DAY) / STEP);

function rows(from, n, shift = 0) {
  const ts = BigInt64Array.from({ length: n }, (_, i) => T0 + BigInt(from + i) * STEP);
  const col = (s) => Float64Array.from({ length: n }, (_, i) => Math.sin((from + i) * s) + shift);
  return new Table({
    ts: makeVector(makeData({ type: new TimestampMicrosecond(), length: n, data: ts })),
    f0: makeVector(col(1)), f1: makeVector(col(2)), f2: makeVector(col(3)), f3: makeVector(col(4)),
  });
}
function ipcOf(table) {
  const batches = [];
  for (let s = 0; s < table.numRows; s += 65_536) batches.push(...table.slice(s, Math.min(table.numRows, s + 65_536)).batches);
  return tableToIPC(new Table(batches), 'stream');
}
const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
const load = () => loadavg().map((x) => x.toFixed(1)).join(' ');

/** One build's engine over its own local store. */
async function side(dir, index) {
  const at = (path) => import(pathToFileURL(join(dir, 'dist', path)).href + `?side=${index}`);
  const { LocalConnector } = await at('connectors/local/local-connector.js');
  const { HangarEngine } = await at('core/engine.js');
  const { splitIpcStream } = await at('format/ipc-message.js');
  const { ParquetCodec } = await at('format/parquet/parquet-codec.js');
  const { ObjectLayout } = await at('storage/object-layout.js');
  const root = await mkdtemp(join(tmpdir(), `bench-update-tail-ab-${index}-`));
  const store = new ObjectLayout(new LocalConnector({ root }));
  await store.open();
  const codec = new ParquetCodec(2);
  const engine = new HangarEngine(store, codec, { compactThreshold: 0, retention: { keepVersions: 1, graceMs: 0 } });
  const cold = new HangarEngine(store, codec, { compactThreshold: 0, readCacheBytes: 0 });
  const messages = (ipc) => (async function* () { yield* splitIpcStream(ipc); })();
  return {
    dir, root, store, codec, engine, cold, messages,
    times: { replace: [], update_day: [], tail_100_cold: [] },
    cpu: { replace: [], update_day: [], tail_100_cold: [] },
  };
}
const ref = { bucket: 'default', name: 'year' };
const sides = [];
for (const [index, dir] of BUILDS.entries()) sides.push(await side(dir, index));
const whole = ipcOf(rows(0, ROWS));
const timed = async (s, what, work) => {
  globalThis.gc?.();
  const cpuStart = process.cpuUsage();
  const start = performance.now();
  const result = await work();
  s.times[what].push(performance.now() - start);
  const used = process.cpuUsage(cpuStart);
  s.cpu[what].push((used.user + used.system) / 1000);
  return result;
};
const drain = async (stream) => { for await (const _ of stream.messages); };
const order = (round) => (round % 2 === 0 ? sides : [...sides].reverse());
const loads = [load()];
// The frame, then one unrecorded update and tail each (workers, JIT), then the replaces.
for (const s of sides) await s.engine.put(ref, 'replace', s.messages(whole));
for (const s of sides) {
  await s.engine.put(ref, 'update', s.messages(ipcOf(rows(dayAt(3), dayRows, 0.25))));
  await drain(await s.cold.read(ref, { tail: 100 }));
}
for (let r = 0; r < REPLACES; r++) for (const s of order(r)) await timed(s, 'replace', () => s.engine.put(ref, 'replace', s.messages(whole)));
// Days ~17 apart (a segment holds ~16.6 days), each inside a segment no earlier round (nor the
// warm-up, day 3) split; the last segment stays whole, so tails read a full one.
const segmentDays = 365 * 455_000 / ROWS;
for (let round = 0; round < ROUNDS; round++) {
  const day = Math.floor(segmentDays * (round + 1.5) + 3) % 360;
  const input = ipcOf(rows(dayAt(day), dayRows, round + 1));
  for (const s of order(round)) {
    const summary = await timed(s, 'update_day', () => s.engine.put(ref, 'update', s.messages(input)));
    if (summary.segmentsRewritten !== 1) console.log(`round ${round}: build ${s.dir} rewrote ${summary.segmentsRewritten} segments`);
  }
  for (let i = 0; i < 5; i++) for (const s of order(round + i)) await timed(s, 'tail_100_cold', async () => drain(await s.cold.read(ref, { tail: 100 })));
  loads.push(load());
  console.log(`round ${round} (day ${day}): ${sides.map((s) => `update ${s.times.update_day.at(-1).toFixed(0)} ms, tail ${median(s.times.tail_100_cold.slice(-5)).toFixed(1)} ms`).join(' | ')}; load ${load()}`);
}
const report = {
  rows: ROWS, rounds: ROUNDS, date: new Date().toISOString(), loadAverages: loads,
  builds: sides.map((s) => ({
    build: s.dir,
    medians_ms: Object.fromEntries(Object.entries(s.times).map(([what, values]) => [what, Number(median(values).toFixed(2))])),
    cpu_medians_ms: Object.fromEntries(Object.entries(s.cpu).map(([what, values]) => [what, Number(median(values).toFixed(2))])),
    update_over_replace: Number((median(s.times.update_day) / median(s.times.replace)).toFixed(4)),
    update_over_replace_cpu: Number((median(s.cpu.update_day) / median(s.cpu.replace)).toFixed(4)),
    times_ms: Object.fromEntries(Object.entries(s.times).map(([what, values]) => [what, values.map((x) => Number(x.toFixed(2)))])),
  })),
};
for (const b of report.builds) console.log(b.build, JSON.stringify(b.medians_ms), 'cpu', JSON.stringify(b.cpu_medians_ms), `update/replace ${(b.update_over_replace * 100).toFixed(1)} % (wall), ${(b.update_over_replace_cpu * 100).toFixed(1)} % (cpu)`);
const json = arg('json', undefined);
if (json) (await import('node:fs')).writeFileSync(json, `${JSON.stringify(report, null, 1)}\n`);
for (const s of sides) {
  await s.engine.close();
  await s.cold.close();
  await s.codec.close();
  await s.store.close();
  await rm(s.root, { recursive: true, force: true });
}
process.exit(0);
