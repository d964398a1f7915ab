// Same-run A/B of the resample action between builds, in process (issue 23, W4): builds given by --builds DIR,DIR,...
// (each a built checkout; the same one twice is the A/A noise run) each store W4's numeric frame (ts µs 1 s apart,
// f0..f3 float64, 64Ki-row batches, --rows rows) in a fresh local directory store, then run the action (1-minute
// --aggregation, into a target frame with mode replace) taking turns call by call, the order rotating, --runs times
// each after two warm-up calls (wall clock, and the process's CPU time: all threads, steadier on a loaded machine);
// --part pass times the single pass alone (no put of the target), --part floor the read of every value it needs (its floor;
// --floor per-column for the one-column-at-a-time floor of before). Prints the median and fastest ms per build and the load average; --json PATH writes them.
//   npm run build && node --single-threaded-gc --initial-old-space-size=256 bench/resample_build_ab.mjs \
//     --builds /tmp/base,/tmp/base,. --rows 1000000 --runs 15
import { mkdtemp, rm } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildModules } from './build-modules.mjs';

const arg = (name, fallback) => {
  const at = process.argv.indexOf(`--${name}`);
  return at > 0 ? process.argv[at + 1] : fallback;
};
const builds = arg('builds', '.').split(',');
const ROWS = Number(arg('rows', 1_000_000));
const RUNS = Number(arg('runs', 15));
const AGGREGATION = arg('aggregation', 'mean');
// --part pass: time only the single pass (read of the cached frame, bins, aggregates, result IPC), not the put of the target;
// --part floor: only reading the cached columns and touching every value once (the floor of any such pass).
const PART = arg('part', 'action');
// --floor per-column: the floor as first measured, one column's running sum after another (bound by each sum's chain
// of dependent adds); the default sums the four columns side by side, as the pass now does (2026-12-07 late night).
const FLOOR = arg('floor', 'side-by-side');
const json = arg('json');
const { Float64, Table, TimestampMicrosecond, makeData, makeVector, tableToIPC } = await import('apache-arrow');

const T0 = 1_704_067_200_000_000n;
const ts = BigInt64Array.from({ length: ROWS }, (_, i) => T0 + BigInt(i) * 1_000_000n);
const column = (seed) => makeVector(Float64Array.from({ length: ROWS }, (_, i) => Math.sin(i * seed) * 100));
const whole = new Table({ ts: makeVector(makeData({ type: new TimestampMicrosecond(), length: ROWS, data: ts })), f0: column(1), f1: column(2), f2: column(3), f3: column(4) });
const batches = [];
for (let start = 0; start < ROWS; start += 65_536) batches.push(...whole.slice(start, Math.min(ROWS, start + 65_536)).batches);
const ipc = tableToIPC(new Table(batches), 'stream');

/**
 * --part floor: what any pass over the hot frame must do at least — read the cached batches of ts
 * and f0..f3 and touch every value of f0..f3 once (one running sum per column), in one thread. The
 * time column is not scanned: on segments flagged sorted the pass finds bin edges by search. The
 * single pass's CPU above this is its own work (bins, per-bin state, the result's IPC).
 */
async function readEveryValue(engine, source, at) {
  const { Message, MessageHeader } = await import('apache-arrow');
  const { VectorLoader } = await import('apache-arrow/visitor/vectorloader');
  const stream = await engine.read(source, { columns: ['ts', 'f0', 'f1', 'f2', 'f3'] });
  const fields = stream.schema.fields;
  const columns = fields.map(() => []);
  for await (const message of stream.messages) {
    const decoded = Message.decode(message.header);
    if (decoded.headerType !== MessageHeader.RecordBatch) continue;
    const header = decoded.header();
    new VectorLoader(message.body, header.nodes, header.buffers, new Map(), decoded.version).visitMany(fields).forEach((data, i) => columns[i].push(data));
  }
  let total = 0;
  if (FLOOR === 'per-column') {
    for (const chunks of columns.slice(1)) for (const data of chunks) total += sumFloats(data.values, data.offset, data.offset + data.length);
  } else {
    // The four columns side by side, each its own running sum: four independent chains of adds.
    const [, c0, c1, c2, c3] = columns;
    for (let b = 0; b < c0.length; b++) total += sumFour(c0[b], c1[b], c2[b], c3[b]);
  }
  return { target_rows: Number.isFinite(total) ? 1 : 0 };
}
function sumFloats(values, from, to) {
  let acc = 0;
  for (let k = from; k < to; k++) acc += values[k];
  return acc;
}
function sumFour(d0, d1, d2, d3) {
  const [v0, v1, v2, v3] = [d0, d1, d2, d3].map((d) => d.values.subarray(d.offset, d.offset + d.length));
  let a0 = 0, a1 = 0, a2 = 0, a3 = 0;
  for (let k = 0; k < v0.length; k++) {
    a0 += v0[k];
    a1 += v1[k];
    a2 += v2[k];
    a3 += v3[k];
  }
  return a0 + a1 + a2 + a3;
}

const setups = [];
for (const dir of builds) {
  const { at, LocalConnector, HangarEngine, ParquetCodec, ObjectLayout, splitIpcStream } = await buildModules(dir);
  const { parseResampleRequest, resample, planResample, resampleSql, fixedPhase } = await at('core/resample.js');
  const { sortedResampleMessages } = await at('core/resample-sorted.js');
  const root = await mkdtemp(join(tmpdir(), 'resample-build-ab-'));
  const store = new ObjectLayout(new LocalConnector({ root }));
  await store.open();
  const codec = new ParquetCodec(2);
  const engine = new HangarEngine(store, codec, { rowGroupBytes: 2 * 1024 * 1024 });
  await engine.put({ bucket: 'default', name: 'numeric' }, 'replace', (async function* () { yield* splitIpcStream(ipc.slice()); })());
  const request = parseResampleRequest({ source: 'numeric', target: 'numeric_1min', mode: 'replace', rule: '1min', time_col: 'ts', aggregation_func: AGGREGATION });
  const source = { bucket: 'default', name: 'numeric' };
  const plan = planResample(source, (await engine.stat(source)).schema, 'ts', request.rule, AGGREGATION);
  const schema = await engine.querySchema(resampleSql(plan), { bucket: 'default' });
  const phase = fixedPhase(plan.time, plan.rule.micros);
  const pass = async () => ({ target_rows: (await sortedResampleMessages(engine, plan, phase, schema)).length });
  const floor = () => readEveryValue(engine, source, at);
  const run = PART === 'pass' ? pass : PART === 'floor' ? floor : () => resample(engine, request);
  setups.push({ dir, root, codec, engine, run, times: [], cpu: [], rows: 0 });
}
const loadBefore = loadavg()[0];
for (let round = -2; round < RUNS; round++) {
  const shift = Math.max(round, 0) % setups.length;
  for (const setup of [...setups.slice(shift), ...setups.slice(0, shift)]) {
    const started = performance.now();
    const cpu = process.cpuUsage();
    setup.rows = (await setup.run()).target_rows;
    const used = process.cpuUsage(cpu);
    if (round >= 0) {
      setup.times.push(performance.now() - started);
      setup.cpu.push((used.user + used.system) / 1000);
    }
  }
}
const loadAfter = loadavg()[0];
const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
console.log(`resample (${PART}) 1min ${AGGREGATION} of ${ROWS.toLocaleString()} rows, ${RUNS} runs each; load ${loadBefore.toFixed(1)} -> ${loadAfter.toFixed(1)}`);
setups.forEach((s, i) => console.log(`  ${i} ${s.dir}: median ${median(s.times).toFixed(1)} ms, fastest ${Math.min(...s.times).toFixed(1)} ms; process CPU median ${median(s.cpu).toFixed(1)} ms, least ${Math.min(...s.cpu).toFixed(1)} ms (${s.rows} rows)`));
if (json) (await import('node:fs')).writeFileSync(json, JSON.stringify({ rows: ROWS, part: PART, aggregation: AGGREGATION, runs: RUNS, loadBefore, loadAfter, builds: setups.map((s) => ({ dir: s.dir, timesMs: s.times, medianMs: median(s.times), cpuMs: s.cpu, cpuMedianMs: median(s.cpu) })) }, null, 1));
for (const setup of setups) {
  await setup.engine.close();
  await setup.codec.close();
  await rm(setup.root, { recursive: true, force: true });
}
process.exit(0);
