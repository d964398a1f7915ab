// Same-run A/B of a small durable append in process (issue 23, W8's 1,000-row append without the wire):
// builds given by --builds DIR,DIR,... (each a built checkout; the same one twice is the A/A noise run) each put a
// --rows-row frame (ts µs, four float64: W8's numeric frame) into a fresh local directory store (fsync on), then
// append 1,000 rows after its last timestamp again and again (engine.put mode append: parse, encode, segment
// write, fsyncs, manifest commit), builds taking turns append by append,
// --appends per build per round for --rounds rounds after five warm-up appends each. --log manifest|delta picks the version log. Prints the median ms per append per build and the
// load average; --json PATH writes them.
//   node bench/append_ab.mjs --builds /tmp/a,/tmp/a,/tmp/b --rows 1000000 --appends 20 --rounds 5
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
const APPENDS = Number(arg('appends', 20));
const ROUNDS = Number(arg('rounds', 5));
const LOG = arg('log', 'manifest');
const json = arg('json');
const { Float64, Table, TimestampMicrosecond, makeData, makeVector, tableToIPC } = await import('apache-arrow');

/** W8's numeric frame shape: ts (1 s apart, µs) and f0..f3. */
function frame(first, rows) {
  const ts = BigInt64Array.from({ length: rows }, (_, i) => (BigInt(first + i)) * 1_000_000n);
  const columns = { ts: makeVector(makeData({ type: new TimestampMicrosecond(), length: rows, data: ts })) };
  for (const name of ['f0', 'f1', 'f2', 'f3']) {
    const values = Float64Array.from({ length: rows }, (_, i) => Math.sin(i + name.length));
    columns[name] = makeVector(makeData({ type: new Float64(), length: rows, data: values }));
  }
  return tableToIPC(new Table(columns), 'stream');
}

const quantile = (values, q) => [...values].sort((a, b) => a - b)[Math.floor(values.length * q)];
const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
const ref = { bucket: 'default', name: 'append' };
const setups = [];
for (const dir of builds) {
  const { at, LocalConnector, HangarEngine, ParquetCodec, ObjectLayout, splitIpcStream } = await buildModules(dir);
  const root = await mkdtemp(join(tmpdir(), 'append-ab-'));
  const store = new ObjectLayout(new LocalConnector({ root }), { log: LOG });
  await store.open();
  const codec = new ParquetCodec(2);
  const engine = new HangarEngine(store, codec, {});
  const messages = (bytes) => (async function* () { yield* splitIpcStream(bytes); })();
  await engine.put(ref, 'error', messages(frame(0, ROWS)));
  setups.push({ dir, root, codec, engine, messages, next: ROWS, perAppend: [], times: [] });
}
async function appendOnce(setup) {
  const bytes = frame(setup.next, 1000); // built outside the timed part: the client's work
  const started = performance.now();
  await setup.engine.put(ref, 'append', setup.messages(bytes));
  setup.next += 1000;
  return performance.now() - started;
}
const loadBefore = loadavg()[0];
for (let i = 0; i < 5; i++) for (const setup of setups) await appendOnce(setup);
// Builds take turns append by append (the order rotating), so drift of a shared machine hits all alike.
for (let round = 0; round < ROUNDS; round++) {
  for (let i = 0; i < APPENDS; i++) {
    const shift = (round * APPENDS + i) % setups.length;
    for (const setup of [...setups.slice(shift), ...setups.slice(0, shift)]) setup.times.push(await appendOnce(setup));
  }
  for (const setup of setups) setup.perAppend.push(median(setup.times.slice(-APPENDS)));
}
const loadAfter = loadavg()[0];
console.log(`1,000-row appends to a ${ROWS.toLocaleString()}-row frame (${LOG} log), ${APPENDS} per block, ${ROUNDS} rounds; load ${loadBefore.toFixed(1)} -> ${loadAfter.toFixed(1)}`);
setups.forEach((setup, i) => console.log(`  ${i} ${setup.dir}: median ${median(setup.times).toFixed(2)} ms per append (p10 ${quantile(setup.times, 0.1).toFixed(2)}, p90 ${quantile(setup.times, 0.9).toFixed(2)}; per round ${setup.perAppend.map((v) => v.toFixed(2)).join(' ')})`));
if (json) (await import('node:fs')).writeFileSync(json, JSON.stringify({ rows: ROWS, log: LOG, appends: APPENDS, rounds: ROUNDS, loadBefore, loadAfter, builds: setups.map((s) => ({ dir: s.dir, timesMs: s.times, perRoundMedianMs: s.perAppend, medianMs: median(s.times) })) }, null, 1));
for (const setup of setups) {
  await setup.engine.close();
  await setup.codec.close();
  await rm(setup.root, { recursive: true, force: true });
}
