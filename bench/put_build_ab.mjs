// Same-run A/B of a 1M-row put in process (issue 23, W2 without the wire): builds given by
// --builds DIR,DIR,... (each a built checkout; the same one twice is the A/A pair) each put the
// benchmark frame (put_phases.mjs's: ts µs, f0..f3, a 100-value category, 64Ki-row batches) into a
// fresh local directory store (fsync on) with --log manifest|delta, mode replace, builds taking turns
// put by put, --rounds rounds after two warm-ups each. Prints per build the medians of wall time,
// process CPU (main thread and codec workers) and minor page faults per put, and the load average.
//   node --single-threaded-gc --initial-old-space-size=256 bench/put_build_ab.mjs --builds /tmp/base,/tmp/base,. --rounds 9
import { mkdtemp, rm } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { buildModules } from './build-modules.mjs';
import { frameIpc } from './put_phases.mjs';

const arg = (name, fallback) => {
  const at = process.argv.indexOf(`--${name}`);
  return at > 0 ? process.argv[at + 1] : fallback;
};
const builds = arg('builds', '.').split(',').map((dir) => resolve(dir));
const ROWS = Number(arg('rows', 1_000_000));
const ROUNDS = Number(arg('rounds', 9));
const LOG = arg('log', 'manifest');
const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
const ref = { bucket: 'default', name: 'frame' };
const ipc = await frameIpc(ROWS);
const setups = [];
for (const [index, dir] of builds.entries()) {
  const { LocalConnector, HangarEngine, ParquetCodec, ObjectLayout, splitIpcStream } = await buildModules(dir);
  const root = await mkdtemp(join(arg('dir', tmpdir()), 'put-build-ab-'));
  const store = new ObjectLayout(new LocalConnector({ root }), { log: LOG });
  await store.open();
  const codec = new ParquetCodec(2);
  const engine = new HangarEngine(store, codec, {});
  const messages = splitIpcStream(ipc);
  setups.push({ label: `${index}:${dir}`, root, store, codec, engine, messages, wall: [], cpu: [], faults: [] });
}
async function putOnce(setup, keep) {
  const cpu = process.cpuUsage();
  const faults = process.resourceUsage().minorPageFault;
  const started = performance.now();
  await setup.engine.put(ref, 'replace', (async function* () { yield* setup.messages; })());
  const wall = performance.now() - started;
  if (!keep) return;
  const used = process.cpuUsage(cpu);
  setup.wall.push(wall);
  setup.cpu.push((used.user + used.system) / 1000);
  setup.faults.push(process.resourceUsage().minorPageFault - faults);
}
const loadBefore = loadavg()[0];
for (let i = 0; i < 2; i++) for (const setup of setups) await putOnce(setup, false);
for (let round = 0; round < ROUNDS; round++) {
  for (const setup of round % 2 === 0 ? setups : [...setups].reverse()) await putOnce(setup, true);
}
console.log(`${ROWS} rows, ${(ipc.byteLength / 1e6).toFixed(1)} MB, --log ${LOG}, ${ROUNDS} rounds; load ${loadBefore.toFixed(2)} before, ${loadavg()[0].toFixed(2)} after`);
for (const setup of setups) {
  console.log(`${setup.label.padEnd(28)} wall ${median(setup.wall).toFixed(1).padStart(6)} ms   CPU ${median(setup.cpu).toFixed(1).padStart(6)} ms   minor faults ${median(setup.faults)}`);
  // Each put in order (the frame's versions 3, 4, …): with --log delta, version 11 is due a checkpoint.
  console.log(`${''.padEnd(28)} each put: wall ${setup.wall.map((ms) => ms.toFixed(0)).join(' ')} / CPU ${setup.cpu.map((ms) => ms.toFixed(0)).join(' ')} ms`);
}
for (const setup of setups) {
  await setup.engine.close();
  await setup.store.close();
  await setup.codec.close();
  await rm(setup.root, { recursive: true, force: true });
}
