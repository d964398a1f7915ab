// A put's timeline through the server (issue 23, W2): starts a Hangar server from --build's dist/ in
// this process (local store in --dir, fsync on, HANGAR_LAYOUT as set), has the stock pyarrow client
// (bench/put_trace_client.py) put the benchmark frame --puts times after two warm-ups, and times each
// put's phases from inside: receive (first message to the end of the input, including the segments'
// hand-over when the encode pipeline is full), encode (per segment, in the codec workers), write (into
// staging files), fsync (background), commit, and the tail (end of input to the answer). Also the
// event loop's busy time (main thread) and the process's CPU per put. Prints medians, the load average,
// and with --events one put's event list.
//   HANGAR_LAYOUT=manifest node --single-threaded-gc --initial-old-space-size=256 bench/put_trace.mjs --rows 1000000 --puts 8
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { importFromBuild } from './build-modules.mjs';

const arg = (name, fallback) => {
  const at = process.argv.indexOf(`--${name}`);
  return at > 0 ? process.argv[at + 1] : fallback;
};
const build = resolve(arg('build', '.'));
const ROWS = Number(arg('rows', 1_000_000));
const PUTS = Number(arg('puts', 8));
const python = arg('python', resolve('.venv-interop/bin/python'));
const at = (path) => importFromBuild(build, path);
const { HangarServer } = await at('server/hangar-server.js');
const { LocalConnector } = await at('connectors/local/local-connector.js');
const { HangarEngine } = await at('core/engine.js');
const { ParquetCodec } = await at('format/parquet/parquet-codec.js');

/** The main thread's CPU time so far (ms; Linux /proc, 10 ms ticks), or NaN elsewhere. */
const mainThreadCpuMs = () => {
  try {
    const fields = readFileSync(`/proc/self/task/${process.pid}/stat`, 'utf8').split(') ')[1].split(' ');
    return (Number(fields[11]) + Number(fields[12])) * 10;
  } catch {
    return NaN;
  }
};
let t0 = 0;
let events = [];
const now = () => performance.now() - t0;
const mark = (what, extra = {}) => { if (t0) events.push({ at: now(), what, ...extra }); };
const puts = [];
const put = HangarEngine.prototype.put;
HangarEngine.prototype.put = async function (ref, mode, input, options) {
  t0 = performance.now();
  events = [];
  const cpu = process.cpuUsage();
  const mainCpu = mainThreadCpuMs();
  const loop = performance.eventLoopUtilization();
  async function* traced() {
    let first = true;
    for await (const message of input) {
      if (first) mark('first message');
      first = false;
      yield message;
    }
    mark('input end');
  }
  const result = await put.call(this, ref, mode, traced(), options);
  mark('answer');
  const used = process.cpuUsage(cpu);
  puts.push({ events, cpuMs: (used.user + used.system) / 1000, mainCpuMs: mainThreadCpuMs() - mainCpu, mainMs: performance.eventLoopUtilization(loop).active });
  t0 = 0;
  return result;
};
const commit = HangarEngine.prototype.commit;
HangarEngine.prototype.commit = async function (...args) {
  mark('commit start');
  try { return await commit.apply(this, args); } finally { mark('commit end'); }
};
for (const name of ['encodeSegmentParts', 'encodeSegment']) {
  const encode = ParquetCodec.prototype[name];
  if (!encode) continue;
  ParquetCodec.prototype[name] = async function (ipc, options) {
    const start = now();
    const result = await encode.call(this, ipc, options);
    // A segment handed over as pieces (received bodies left in place) or as one joined stream.
    if (t0) mark('encoded', { ms: now() - start, pieces: !(ipc instanceof Uint8Array) });
    return result;
  };
}
const stage = LocalConnector.prototype.stage;
LocalConnector.prototype.stage = async function (bytes, syncNow) {
  const start = now();
  const staged = await stage.call(this, bytes, syncNow);
  if (!t0) return staged;
  mark('written', { ms: now() - start });
  const syncStart = now();
  void staged.synced.then(() => { if (t0) mark('synced', { ms: now() - syncStart }); });
  return staged;
};

const dir = await mkdtemp(join(arg('dir', tmpdir()), 'put-trace-'));
const server = await HangarServer.start({ port: 0, data: dir });
// Asynchronously: the server answers on this process's event loop meanwhile.
const client = await new Promise((done, fail) => {
  const child = spawn(python, [resolve('bench/put_trace_client.py'), server.location, String(ROWS), String(PUTS + 2)]);
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk) => (stdout += chunk));
  child.stderr.on('data', (chunk) => (stderr += chunk));
  child.on('error', fail);
  child.on('close', (code) => (code === 0 ? done({ stdout }) : fail(new Error(`client failed: ${stderr}`))));
});
await server.close();
await rm(dir, { recursive: true, force: true });

const timed = puts.slice(2);
const median = (values) => { const s = [...values].sort((a, b) => a - b); return s[Math.floor(s.length / 2)] ?? NaN; };
const first = (events, what) => events.find((e) => e.what === what)?.at ?? NaN;
const last = (events, what) => events.filter((e) => e.what === what).at(-1)?.at ?? NaN;
const sum = (events, what) => events.filter((e) => e.what === what).reduce((total, e) => total + e.ms, 0);
const rows = [
  ['put, wall (first message to answer)', (e) => first(e, 'answer') - first(e, 'first message')],
  ['  receive (first message to end of input)', (e) => first(e, 'input end') - first(e, 'first message')],
  ['  tail (end of input to answer)', (e) => first(e, 'answer') - first(e, 'input end')],
  ['    last encode done, after end of input', (e) => last(e, 'encoded') - first(e, 'input end')],
  ['    last write done, after end of input', (e) => last(e, 'written') - first(e, 'input end')],
  ['    last fsync done, after end of input', (e) => last(e, 'synced') - first(e, 'input end')],
  ['    commit (start to end)', (e) => first(e, 'commit end') - first(e, 'commit start')],
  ['encode, sum over segments (workers)', (e) => sum(e, 'encoded')],
  ['write, sum over files', (e) => sum(e, 'written')],
  ['fsync, sum over files (background)', (e) => sum(e, 'synced')],
];
console.log(`${ROWS} rows, ${timed.length} puts after 2 warm-ups, build ${build}, HANGAR_LAYOUT=${process.env.HANGAR_LAYOUT ?? '(default)'}; load ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
for (const [label, of] of rows) console.log(`${label.padEnd(44)} ${median(timed.map((p) => of(p.events))).toFixed(1).padStart(7)} ms`);
console.log(`${'main thread busy (event loop)'.padEnd(44)} ${median(timed.map((p) => p.mainMs)).toFixed(1).padStart(7)} ms`);
console.log(`${'main thread CPU'.padEnd(44)} ${median(timed.map((p) => p.mainCpuMs)).toFixed(1).padStart(7)} ms`);
console.log(`${'process CPU, all threads'.padEnd(44)} ${median(timed.map((p) => p.cpuMs)).toFixed(1).padStart(7)} ms`);
const encodes = timed.flatMap((p) => p.events.filter((e) => e.what === 'encoded'));
console.log(`segments handed to the codec as pieces: ${encodes.filter((e) => e.pieces).length} of ${encodes.length}`);
console.log(`client's put times (s): ${client.stdout.trim().split('\n').slice(2).join(' ')}`);
if (process.argv.includes('--events')) {
  const one = timed[Math.floor(timed.length / 2)];
  for (const e of one.events) console.log(`${e.at.toFixed(1).padStart(8)} ms  ${e.what}${e.ms !== undefined ? ` (${e.ms.toFixed(1)} ms)` : ''}`);
}
