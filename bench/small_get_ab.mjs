// Same-run A/B of a small get in process (issue 23, W5's engine share): builds given by --builds DIR,DIR,... (each a
// built checkout; the same one twice is the A/A noise run) each put a 1,000-row frame (ts µs, one float64) into a
// fresh local directory store, then read it whole again and again (engine.read and draining its messages: what DoGet
// runs before the transport), builds alternating in blocks of --gets reads for --rounds rounds after a warm-up block.
// Prints the median µs per get per build (wall clock, and the process's CPU time: all threads, steadier than the wall
// clock on a loaded machine) and the load average; --json PATH writes them.
//   node bench/small_get_ab.mjs --builds /tmp/a,/tmp/a,/tmp/b --gets 5000 --rounds 5
import { mkdtemp, rm } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildModules } from './build-modules.mjs';

const arg = (name, fallback) => {
  const at = process.argv.indexOf(`--${name}`);
  return at > 0 ? process.argv[at + 1] : fallback;
};
const builds = arg('builds', '.').split(',');
const GETS = Number(arg('gets', 5000));
const ROUNDS = Number(arg('rounds', 5));
const json = arg('json');
const { Float64, Table, TimestampMicrosecond, makeData, makeVector, vectorFromArray, tableToIPC } = await import('apache-arrow');

const ts = BigInt64Array.from({ length: 1000 }, (_, i) => BigInt(i) * 1_000_000n);
const table = new Table({
  ts: makeVector(makeData({ type: new TimestampMicrosecond(), length: 1000, data: ts })),
  v: vectorFromArray(Array.from({ length: 1000 }, (_, i) => i), new Float64()),
});
const ref = { bucket: 'default', name: 'small' };
const setups = [];
for (const dir of builds) {
  const { at, LocalConnector, HangarEngine, ParquetCodec, ObjectLayout, splitIpcStream } = await buildModules(dir);
  const root = await mkdtemp(join(tmpdir(), 'small-get-ab-'));
  const store = new ObjectLayout(new LocalConnector({ root }));
  await store.open();
  const codec = new ParquetCodec(1);
  const engine = new HangarEngine(store, codec, {});
  await engine.put(ref, 'error', (async function* () { yield* splitIpcStream(tableToIPC(table, 'stream')); })());
  setups.push({ dir, root, codec, engine, perGet: [], cpuPerGet: [] });
}
async function block(setup, gets) {
  const started = performance.now();
  const cpu = process.cpuUsage();
  for (let i = 0; i < gets; i++) for await (const _ of (await setup.engine.read(ref, {})).messages);
  const used = process.cpuUsage(cpu);
  setup.cpuPerGet?.push((used.user + used.system) / gets);
  return ((performance.now() - started) * 1000) / gets;
}
const loadBefore = loadavg()[0];
for (const setup of setups) await block(setup, GETS / 5);
for (const setup of setups) setup.cpuPerGet.length = 0;
for (let round = 0; round < ROUNDS; round++) {
  const order = round % 2 ? [...setups].reverse() : setups;
  for (const setup of order) setup.perGet.push(await block(setup, GETS));
}
const loadAfter = loadavg()[0];
const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
console.log(`small gets (1,000 rows), ${GETS} per block, ${ROUNDS} rounds; load ${loadBefore.toFixed(1)} -> ${loadAfter.toFixed(1)}`);
setups.forEach((setup, i) => console.log(`  ${i} ${setup.dir}: median ${median(setup.perGet).toFixed(1)} µs per get  (${setup.perGet.map((v) => v.toFixed(0)).join(' ')}); process CPU ${median(setup.cpuPerGet).toFixed(1)} µs per get  (${setup.cpuPerGet.map((v) => v.toFixed(0)).join(' ')})`));
if (json) (await import('node:fs')).writeFileSync(json, JSON.stringify({ gets: GETS, rounds: ROUNDS, loadBefore, loadAfter, builds: setups.map((s) => ({ dir: s.dir, perGetUs: s.perGet, medianUs: median(s.perGet), cpuPerGetUs: s.cpuPerGet, cpuMedianUs: median(s.cpuPerGet) })) }, null, 1));
for (const setup of setups) {
  await setup.engine.close();
  await setup.codec.close();
  await rm(setup.root, { recursive: true, force: true });
}
