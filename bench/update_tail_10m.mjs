// Issue 22's speed goals, in process on a local store: a 10M-row frame over one year (ts in
// microseconds, ~3.15 s apart; f0..f3 float64; 64Ki-row batches). Each run: a full replace of the
// frame, then an update of one day (mode update, ~27,400 rows; goal: < 10 % of the replace), the same
// day updated again, and tails of 100 rows (goal: < 5 ms), cold (read cache off: fetch and decode)
// and warm (default cache). Row-group splicing (src/core/segment-splice.ts) is A/B'd in the same run:
// each run also updates and delete_ranges a day in other full segments with the splice on and off
// (HANGAR_ROW_GROUP_SPLICE=0), the days swapped between on and off from run to run.
// Every operation's incoming rows are made before its clock starts, as the replace's are (until
// 17:10 UTC on 2026-12-07 the updates' clocks also timed making their ~27,400 rows, ~20 ms of the
// bench's own JavaScript: make_update_input_ms reports that cost, to compare with older figures).
// "Cold" tails read with the engine's read cache off (readCacheBytes 0): they fetch and decode;
// the store's parsed-footer cache (segment-fetch.ts) stays on, as it does for every read.
// Usage: npm run build && node --single-threaded-gc --initial-old-space-size=256 [--expose-gc] bench/update_tail_10m.mjs \
//          [--build DIR] [--rows N] [--runs N] [--json PATH]
import { mkdtemp, rm } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Float64, Table, TimestampMicrosecond, makeData, makeVector, tableToIPC } from 'apache-arrow';

const arg = (name, fallback) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : fallback;
};
const ROWS = Number(arg('rows', 10_000_000));
const RUNS = Number(arg('runs', 5));
const BUILD = arg('build', new URL('..', import.meta.url).pathname);
const T0 = 1_704_067_200_000_000n; // 2024-01-01 in µs
const STEP = (365n * 86_400n * 1_000_000n) / BigInt(ROWS); // one year over ROWS rows
const DAY = 86_400n * 1_000_000n;

const at = (path) => import(pathToFileURL(join(BUILD, 'dist', path)).href);
const { LocalConnector } = await at('connectors/local/local-connector.js');
const { MemoryConnector } = await at('connectors/memory/memory-connector.js');
// --store memory takes the disk out (the tail goals are for a local store; memory shows the engine's own cost).
const STORE = arg('store', 'local');
const { HangarEngine } = await at('core/engine.js');
const { splitIpcStream } = await at('format/ipc-message.js');
const { ParquetCodec } = await at('format/parquet/parquet-codec.js');
const { ObjectLayout } = await at('storage/object-layout.js');

/** Rows [from, from + n) of the frame, with `shift` added to the values (an update's new prices). */
function rows(from, n, shift = 0) {
  const ts = BigInt64Array.from({ length: n }, (_, i) => T0 + BigInt(from + i) * STEP);
  const col = (s) => Float64Array.from({ length: n }, (_, i) => Math.sin((from + i) * s) + shift);
  return new Table({
    ts: makeVector(makeData({ type: new TimestampMicrosecond(), length: n, data: ts })),
    f0: makeVector(col(1)),
    f1: makeVector(col(2)),
    f2: makeVector(col(3)),
    f3: makeVector(col(4)),
  });
}
/** A table as the IPC stream a put sends, in 64Ki-row batches. */
function ipcOf(table) {
  const batches = [];
  for (let s = 0; s < table.numRows; s += 65_536) batches.push(...table.slice(s, Math.min(table.numRows, s + 65_536)).batches);
  return tableToIPC(new Table(batches), 'stream');
}
const messages = (ipc) => (async function* () { yield* splitIpcStream(ipc); })();
const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
const load = () => loadavg().map((x) => x.toFixed(1)).join(' ');

const whole = ipcOf(rows(0, ROWS));
// The day to update: day 180 of the year.
const dayStart = Number((180n * DAY) / STEP);
const dayRows = Number(DAY / STEP);
const root = await mkdtemp(join(tmpdir(), 'bench-update-tail-'));
const store = new ObjectLayout(STORE === 'memory' ? new MemoryConnector() : new LocalConnector({ root }));
await store.open();
const codec = new ParquetCodec(2);
const engine = new HangarEngine(store, codec, { compactThreshold: 0, retention: { keepVersions: 1, graceMs: 0 } });
const cold = new HangarEngine(store, codec, { compactThreshold: 0, readCacheBytes: 0 });
const ref = { bucket: 'default', name: 'year' };
const loads = [load()];
await engine.put(ref, 'replace', messages(whole));
const segments = (await store.getManifest(ref)).segments;
console.log(`${ROWS} rows, ${segments.length} segments, ${segments[0].rowGroups} row groups in the first; one day = ${dayRows} rows; load ${load()}`);

const times = {
  replace: [], update_day: [], update_day_again: [], tail_100_cold: [], tail_100_warm: [],
  update_day_splice: [], update_day_whole: [], delete_day_splice: [], delete_day_whole: [],
  make_update_input: [],
};
const { spliceCounts } = await at('core/segment-splice.js');
/** The first row of day `d` of the year. */
const dayAt = (d) => Number((BigInt(d) * DAY) / STEP);
/** Runs `work` with row-group splicing on or off. */
const splicing = async (on, work) => {
  if (!on) process.env.HANGAR_ROW_GROUP_SPLICE = '0';
  try {
    return await work();
  } finally {
    delete process.env.HANGAR_ROW_GROUP_SPLICE;
  }
};
const rewritten = [];
/** The process's CPU time (every thread: the codec workers too) per operation, steadier than the clock on a loaded machine. */
const cpu = Object.fromEntries(Object.keys(times).map((what) => [what, []]));
// With --expose-gc, garbage left by the previous operation (a replace leaves ~400 MB of buffers) is
// collected before each timed one instead of being charged to it.
const timed = async (what, work) => {
  globalThis.gc?.();
  const cpuStart = process.cpuUsage();
  const start = performance.now();
  const result = await work();
  times[what].push(performance.now() - start);
  const used = process.cpuUsage(cpuStart);
  cpu[what].push((used.user + used.system) / 1000);
  return result;
};
const drain = async (stream) => {
  let rows = 0;
  for await (const message of stream.messages) rows += message.body.byteLength > 0 ? 1 : 0;
  return rows;
};
// One unrecorded round first: workers, JIT and the page cache warm up.
await engine.put(ref, 'update', messages(ipcOf(rows(dayStart, dayRows, 0.5))));
await drain(await cold.read(ref, { tail: 100 }));
await engine.vacuum({ name: ref.name });
for (let run = 0; run < RUNS; run++) {
  // Each run replaces the frame, then updates the day: the day then lies inside a full segment of
  // ~455,000 rows, the case the goal is about. Updating the same day again (a re-publication) then
  // rewrites only the day's own segment.
  const made = performance.now();
  const dayInput = ipcOf(rows(dayStart, dayRows, run + 1));
  times.make_update_input.push(performance.now() - made);
  const dayAgainInput = ipcOf(rows(dayStart, dayRows, run + 1.5));
  const abInputs = [120, 150].map((day) => ipcOf(rows(dayAt(day), dayRows, run + 2)));
  await timed('replace', () => engine.put(ref, 'replace', messages(whole)));
  rewritten.push((await timed('update_day', () => engine.put(ref, 'update', messages(dayInput)))).segmentsRewritten);
  await timed('update_day_again', () => engine.put(ref, 'update', messages(dayAgainInput)));
  // Same-run A/B of the splice: days 120/150 (update) and 240/300 (delete_range) lie inside full segments.
  for (const [index, on] of (run % 2 === 0 ? [true, false] : [false, true]).entries()) {
    const label = on ? 'splice' : 'whole';
    await splicing(on, () => timed(`update_day_${label}`, () => engine.put(ref, 'update', messages(abInputs[index]))));
    const gone = [240, 300][index];
    // deleteRange takes epoch nanoseconds; the frame's times are microseconds.
    const from = (T0 + BigInt(dayAt(gone)) * STEP) * 1000n;
    const removed = await splicing(on, () => timed(`delete_day_${label}`, () => engine.deleteRange(ref, from, from + DAY * 1000n)));
    if (removed.rowsRemoved === 0) throw new Error(`the delete_range of day ${gone} removed no rows`);
  }
  for (let i = 0; i < 5; i++) await timed('tail_100_cold', async () => drain(await cold.read(ref, { tail: 100 })));
  await drain(await engine.read(ref, { tail: 100 }));
  for (let i = 0; i < 5; i++) await timed('tail_100_warm', async () => drain(await engine.read(ref, { tail: 100 })));
  loads.push(load());
  console.log(`run ${run}: splice A/B update ${times.update_day_splice.at(-1).toFixed(0)}/${times.update_day_whole.at(-1).toFixed(0)} ms, delete_range ${times.delete_day_splice.at(-1).toFixed(0)}/${times.delete_day_whole.at(-1).toFixed(0)} ms; spliced so far ${JSON.stringify(spliceCounts)}`);
  console.log(`run ${run}: replace ${times.replace.at(-1).toFixed(0)} ms, update ${times.update_day.at(-1).toFixed(0)} ms (${rewritten.at(-1)} segments rewritten), again ${times.update_day_again.at(-1).toFixed(0)} ms, tail cold ${median(times.tail_100_cold.slice(-5)).toFixed(2)} ms, warm ${median(times.tail_100_warm.slice(-5)).toFixed(2)} ms; load ${load()}`);
  // Keep only the current version's segments on disk between runs.
  await engine.vacuum({ name: ref.name });
}
const report = {
  rows: ROWS,
  runs: RUNS,
  build: BUILD,
  store: STORE,
  gcBetweenOperations: typeof globalThis.gc === 'function',
  inputsMadeBeforeTiming: true,
  coldTail: 'read cache off (readCacheBytes 0); the parsed-footer cache stays on',
  date: new Date().toISOString(),
  loadAverages: loads,
  medians_ms: Object.fromEntries(Object.entries(times).map(([what, values]) => [what, Number(median(values).toFixed(2))])),
  cpu_medians_ms: Object.fromEntries(Object.entries(cpu).filter(([, values]) => values.length > 0).map(([what, values]) => [what, Number(median(values).toFixed(2))])),
  update_over_replace: Number((median(times.update_day) / median(times.replace)).toFixed(4)),
  // Each run's update against the replace next to it: the pairs share the run's load.
  update_over_replace_pairs_median: Number(median(times.update_day.map((u, i) => u / times.replace[i])).toFixed(4)),
  segmentsRewritten: rewritten,
  // Same-run A/B of row-group splicing against the replace of the same run.
  splice_ab: {
    update_splice_over_replace_pairs_median: Number(median(times.update_day_splice.map((u, i) => u / times.replace[i])).toFixed(4)),
    update_whole_over_replace_pairs_median: Number(median(times.update_day_whole.map((u, i) => u / times.replace[i])).toFixed(4)),
    delete_splice_over_replace_pairs_median: Number(median(times.delete_day_splice.map((u, i) => u / times.replace[i])).toFixed(4)),
    delete_whole_over_replace_pairs_median: Number(median(times.delete_day_whole.map((u, i) => u / times.replace[i])).toFixed(4)),
    spliceCounts: { ...spliceCounts },
  },
  times_ms: Object.fromEntries(Object.entries(times).map(([what, values]) => [what, values.map((x) => Number(x.toFixed(2)))])),
};
console.log(JSON.stringify(report.medians_ms), `update/replace ${(report.update_over_replace * 100).toFixed(1)} % (medians), ${(report.update_over_replace_pairs_median * 100).toFixed(1)} % (median of same-run pairs)`);
const json = arg('json', undefined);
if (json) (await import('node:fs')).writeFileSync(json, `${JSON.stringify(report, null, 1)}\n`);
await engine.close();
await cold.close();
await codec.close();
await store.close();
await rm(root, { recursive: true, force: true });
process.exit(0);
