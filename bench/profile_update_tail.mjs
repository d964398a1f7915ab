// Where issue 22's update of a day and cold tail of 100 rows spend their time, in process on a local
// store (bench/update_tail_10m.mjs's frame and operations): every store, connector and codec call
// is wrapped and timed, and each operation is printed as a timeline of those calls (start and end in
// ms from the operation's start; the gaps are the engine's own synchronous work).
// Usage: npm run build && node --expose-gc bench/profile_update_tail.mjs [--build DIR] [--rows N] [--runs N] [--json PATH]
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
const RUNS = Number(arg('runs', 3));
const BUILD = arg('build', new URL('..', import.meta.url).pathname);
const T0 = 1_704_067_200_000_000n;
const STEP = (365n * 86_400n * 1_000_000n) / BigInt(ROWS);
const DAY = 86_400n * 1_000_000n;
const at = (path) => import(pathToFileURL(join(BUILD, 'dist', path)).href);
const { LocalConnector } = await at('connectors/local/local-connector.js');
const { HangarEngine } = await at('core/engine.js');
const { splitIpcStream } = await at('format/ipc-message.js');
const { ParquetCodec } = await at('format/parquet/parquet-codec.js');
const { ObjectLayout } = await at('storage/object-layout.js');
// Older builds have no phase timings.
const { splicePhases = {} } = await at('core/segment-splice.js');

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
const messages = (ipc) => (async function* () { yield* splitIpcStream(ipc); })();
const drain = async (stream) => { for await (const _ of stream.messages); };

/** Spans of the wrapped calls of the operation being profiled. */
let spans;
let origin = 0;
const wrap = (object, label, names) => {
  for (const name of names) {
    const original = object[name];
    if (typeof original !== 'function') continue;
    object[name] = function (...args) {
      if (!spans) return original.apply(this, args);
      const start = performance.now() - origin;
      const detail = name === 'getRange' ? ` ${args[2]} B` : name === 'put' ? ` ${args[1]?.byteLength} B${args[2]?.ifAbsent ? ' ifAbsent' : ''}` : name === 'decode' ? ` ${args[0]?.byteLength} B` : '';
      const record = (result) => {
        spans?.push({ call: `${label}.${name}${detail}`, start, end: performance.now() - origin });
        return result;
      };
      const result = original.apply(this, args);
      return result && typeof result.then === 'function' ? result.then(record) : record(result);
    };
  }
};
const root = await mkdtemp(join(tmpdir(), 'bench-profile-'));
const connector = new LocalConnector({ root });
const store = new ObjectLayout(connector);
await store.open();
const codec = new ParquetCodec(2);
wrap(connector, 'connector', ['get', 'getRange', 'head', 'put', 'list', 'delete']);
wrap(store, 'store', ['getManifest', 'getSegment', 'getSegmentRanges', 'putSegment', 'commitManifest', 'deleteSegments']);
wrap(codec, 'codec', ['decode', 'encodeSegment']);
const engine = new HangarEngine(store, codec, { compactThreshold: 0, retention: { keepVersions: 1, graceMs: 0 } });
const cold = new HangarEngine(store, codec, { compactThreshold: 0, readCacheBytes: 0 });
const ref = { bucket: 'default', name: 'year' };
const whole = ipcOf(rows(0, ROWS));
const dayStart = Number((180n * DAY) / STEP);
const dayRows = Number(DAY / STEP);
/** Runs `work` with its calls recorded; returns the timeline. */
const profile = async (work) => {
  globalThis.gc?.();
  const phasesBefore = { ...splicePhases };
  spans = [];
  origin = performance.now();
  await work();
  const total = performance.now() - origin;
  const timeline = spans;
  spans = undefined;
  const splice = Object.fromEntries(Object.entries(splicePhases).map(([phase, ms]) => [phase, Number((ms - phasesBefore[phase]).toFixed(2))]));
  return { total: Number(total.toFixed(2)), splice, calls: timeline.map((s) => ({ call: s.call, start: Number(s.start.toFixed(2)), end: Number(s.end.toFixed(2)) })) };
};
const report = { rows: ROWS, build: BUILD, date: new Date().toISOString(), runs: [] };
await engine.put(ref, 'replace', messages(whole));
await engine.put(ref, 'update', messages(ipcOf(rows(dayStart, dayRows, 0.5))));
await drain(await cold.read(ref, { tail: 100 }));
for (let run = 0; run < RUNS; run++) {
  await engine.put(ref, 'replace', messages(whole));
  // The incoming rows are made before the clock starts, as the replace's are.
  const [day, dayAgain] = [ipcOf(rows(dayStart, dayRows, run + 1)), ipcOf(rows(dayStart, dayRows, run + 1.5))];
  const update = await profile(() => engine.put(ref, 'update', messages(day)));
  const again = await profile(() => engine.put(ref, 'update', messages(dayAgain)));
  const tails = [];
  for (let i = 0; i < 3; i++) tails.push(await profile(async () => drain(await cold.read(ref, { tail: 100 }))));
  report.runs.push({ load: loadavg()[0].toFixed(1), update, again, tails });
  await engine.vacuum({ name: ref.name });
}
const show = (title, { total, splice, calls }) => {
  console.log(`${title}: ${total} ms; splice phases ${JSON.stringify(splice)}`);
  for (const c of calls.sort((a, b) => a.start - b.start)) console.log(`  ${c.start.toFixed(1).padStart(7)} → ${c.end.toFixed(1).padStart(7)}  (${(c.end - c.start).toFixed(1).padStart(6)})  ${c.call}`);
};
for (const [i, run] of report.runs.entries()) {
  console.log(`--- run ${i}, load ${run.load}`);
  show('update of a day', run.update);
  show('the same day again', run.again);
  run.tails.forEach((tail, n) => show(`cold tail ${n}`, tail));
}
const json = arg('json', undefined);
if (json) (await import('node:fs')).writeFileSync(json, `${JSON.stringify(report, null, 1)}\n`);
await engine.close();
await cold.close();
await codec.close();
await store.close();
await rm(root, { recursive: true, force: true });
process.exit(0);
