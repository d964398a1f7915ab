// bench/streams: Hangar's live streams side by side with Redis streams (Debian's redis-server,
// started here on 127.0.0.1 with appendonly yes and appendfsync always, then everysec), in one run:
// acked pushes of 1 KB entries one at a time and in batches of 100, from 1 and 8 clients; and the
// push-to-tail latency (p50/p99) seen by 8 tailers. Hangar runs as `hangar serve` with its tuned V8
// flags; its pushes go over PTG's WebSocket protocol (push?ack=true, each entry acknowledged once
// durable, like an XADD reply under appendfsync always) and its tailers over WebSocket pull and
// Flight DoGet follow. The machine is shared: the load average is printed beside every figure.
//
//   npm run build && node bench/streams/run.mjs [--seconds 3] [--json bench/results/streams.json]
//
// A/B of builds in one run: `--build /tmp/old/dist,dist --rounds 3` runs each throughput shape
// `rounds` times, Redis `appendfsync always` and every build in turn (the order rotating round to
// round), and reports medians; give a build twice (`--build dist,dist`) for an A/A pair. Each row
// also has the CPU time of the server and of this client process per entry and, with
// `--syscalls` (root, perf), the server's syncs per second (Redis: fdatasync; Hangar: pwrite64 and
// pwritev on its O_DSYNC log, its rolls' fsyncs). `--shapes 1x1,8x100` picks shapes
// (clients x batch); each shape first pushes for `--warmup` seconds (default 1) and at least
// `--warmup-bytes` (default 16 MiB, Hangar's first two rolls) unmeasured, so the servers are warm
// (Hangar's push and roll paths JIT-compiled, its Parquet codec worker started) when the clock starts;
// `--hangar-node-args "--cpu-prof --cpu-prof-dir=/tmp/prof"` profiles the servers;
// `--parts flight` adds Flight DoPut pushes (pipelined: one DoPut per client, every batch acked);
// `--profile DIR` writes a CPU profile of each Hangar server's main thread per shape, taken
// through the inspector during the measured seconds only (DIR/<build>-<clients>x<batch>.cpuprofile);
// `--data-dir /dev/shm` puts both servers' data in memory (syncs cost nothing there: what is left
// is each server's own work per acknowledged push, without the disk's varying latency).
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import { Binary, Field, RecordBatch, Schema, Struct, makeData } from 'apache-arrow';
import { createClient } from 'redis';
import WebSocket from 'ws';

const args = process.argv.slice(2);
const option = (name, fallback) => {
  const at = args.indexOf(name);
  return at >= 0 ? args[at + 1] : fallback;
};
const SECONDS = Number(option('--seconds', '3'));
const WARMUP = Number(option('--warmup', '1'));
// Bytes each shape pushes at least before the clock starts (16 MiB: Hangar's first two 8 MiB rolls); 0 for time alone.
const WARMUP_BYTES = Number(option('--warmup-bytes', String(16 * 1024 * 1024)));
const JSON_PATH = option('--json', undefined);
const PARTS = option('--parts', 'throughput,latency').split(',');
const REDIS = option('--redis', 'yes') === 'yes';
const EVERYSEC = option('--everysec', 'yes') === 'yes';
const ROUNDS = Number(option('--rounds', '1'));
const SYSCALLS = args.includes('--syscalls');
// Per-thread CPU of the server per entry (from /proc/PID/task: the main thread, the codec worker, libuv's pool, V8's helpers).
const THREADS = args.includes('--threads');
const SHAPES = option('--shapes', '1x1,1x100,8x1,8x100').split(',').map((shape) => shape.split('x').map(Number));
const BUILDS = option('--build', 'dist').split(',').map((dir) => resolve(dir));
const HANGAR_NODE_ARGS = (option('--hangar-node-args', '') || '').split(' ').filter(Boolean);
const PROFILE_DIR = option('--profile', undefined);
const ENTRY = Buffer.alloc(1024, 7);
const DATA_DIR = option('--data-dir', tmpdir());
const { HangarClient } = await import(pathToFileURL(join(BUILDS.at(-1), 'client/index.js')).href);
const load = () => loadavg().map((x) => x.toFixed(2)).join(' ');
const buildLabel = (index) => (BUILDS.length === 1 ? 'hangar' : `hangar[${String.fromCharCode(65 + index)}]`);

async function freePort() {
  const probe = createServer();
  await new Promise((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const { port } = probe.address();
  await new Promise((resolve) => probe.close(resolve));
  return port;
}

async function startRedis(fsync) {
  const dir = await mkdtemp(join(DATA_DIR, 'bench-redis-'));
  const port = await freePort();
  const child = spawn('redis-server', ['--bind', '127.0.0.1', '--port', String(port), '--dir', dir, '--save', '', '--appendonly', 'yes', '--appendfsync', fsync, '--daemonize', 'no'], { stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise((resolve, reject) => {
    child.stdout.on('data', (chunk) => String(chunk).includes('Ready to accept connections') && resolve());
    child.once('exit', (code) => reject(new Error(`redis-server exited ${code}`)));
  });
  return { pid: child.pid, url: `redis://127.0.0.1:${port}`, close: async () => { child.kill('SIGTERM'); await new Promise((r) => child.once('exit', r)); await rm(dir, { recursive: true, force: true }); } };
}

async function startHangar(build) {
  const dir = await mkdtemp(join(DATA_DIR, 'bench-hangar-'));
  const inspectPort = PROFILE_DIR ? await freePort() : undefined;
  const inspect = inspectPort ? [`--inspect=127.0.0.1:${inspectPort}`] : [];
  const child = spawn(process.execPath, ['--single-threaded-gc', '--initial-old-space-size=256', ...inspect, ...HANGAR_NODE_ARGS, join(build, 'cli/main.js'), 'serve', '--port', '0', '--http-port', '0', '--data', dir], { env: { ...process.env, HANGAR_NODE_RELAUNCH: '0' }, stdio: ['ignore', 'pipe', 'inherit'] });
  const lines = createInterface({ input: child.stdout });
  const seen = [];
  // Other lines (a --trace-gc given by --hangar-node-args) are printed, not parsed.
  await new Promise((resolve) => lines.on('line', (line) => { if (!/listening on /.test(line)) return void console.log(line); seen.push(line); if (seen.length === 2) resolve(); }));
  const grpc = seen[0].replace('hangar listening on ', '');
  const http = seen[1].replace('http listening on ', '');
  const profiler = inspectPort ? await connectProfiler(inspectPort) : undefined;
  return { pid: child.pid, grpc, ws: http.replace('http', 'ws'), profiler, close: async () => { profiler?.close(); child.kill('SIGTERM'); await new Promise((r) => child.once('exit', r)); await rm(dir, { recursive: true, force: true }); } };
}

/** The inspector's profiler of a process started with --inspect: start() and stop(path). */
async function connectProfiler(port) {
  const [target] = await (await fetch(`http://127.0.0.1:${port}/json/list`)).json();
  const socket = new WebSocket(target.webSocketDebuggerUrl);
  await new Promise((resolve, reject) => { socket.once('open', resolve); socket.once('error', reject); });
  let id = 0;
  const waiting = new Map();
  socket.on('message', (data) => { const reply = JSON.parse(String(data)); waiting.get(reply.id)?.(reply.result); waiting.delete(reply.id); });
  const call = (method, params = {}) => new Promise((resolve) => { waiting.set(++id, resolve); socket.send(JSON.stringify({ id, method, params })); });
  await call('Profiler.enable');
  await call('Profiler.setSamplingInterval', { interval: 200 });
  return {
    start: () => call('Profiler.start'),
    stop: async (path) => { const { profile } = await call('Profiler.stop'); await writeFile(path, JSON.stringify(profile)); },
    close: () => socket.close(),
  };
}

/** CPU seconds (user + system, every thread) a process has used so far. */
async function cpuSeconds(pid) {
  const fields = (await readFile(`/proc/${pid}/stat`, 'utf8')).split(') ')[1].split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

/** Bytes a process has caused to be written to storage so far (/proc/PID/io), or undefined where that is not readable. */
async function writeBytes(pid) {
  const text = await readFile(`/proc/${pid}/io`, 'utf8').catch(() => undefined);
  const match = text && /^write_bytes: (\d+)$/m.exec(text);
  return match ? Number(match[1]) : undefined;
}

/** CPU seconds (user, system) of each of a process's threads, summed by thread name. */
async function threadSeconds(pid) {
  const out = {};
  for (const task of await readdir(`/proc/${pid}/task`).catch(() => [])) {
    const text = await readFile(`/proc/${pid}/task/${task}/stat`, 'utf8').catch(() => undefined);
    if (!text) continue;
    const name = text.slice(text.indexOf('(') + 1, text.lastIndexOf(')'));
    const fields = text.slice(text.lastIndexOf(') ') + 2).split(' ');
    const key = task === String(pid) ? 'main' : name;
    const [user, system] = out[key] ?? [0, 0];
    out[key] = [user + Number(fields[11]) / 100, system + Number(fields[12]) / 100];
  }
  return out;
}

/** Counts a process's sync system calls while `work` runs (perf's syscall tracepoints), or undefined without `--syscalls`. */
async function countSyncs(pid, work) {
  if (!SYSCALLS) return { value: await work(), syncs: undefined };
  const events = ['fdatasync', 'fsync', 'pwrite64', 'pwritev'].map((name) => `syscalls:sys_enter_${name}`).join(',');
  const perf = spawn('perf', ['stat', '-x', ',', '-e', events, '-p', String(pid)], { stdio: ['ignore', 'ignore', 'pipe'] });
  let text = '';
  perf.stderr.on('data', (chunk) => (text += chunk));
  await new Promise((r) => setTimeout(r, 200));
  const value = await work();
  perf.kill('SIGINT');
  await new Promise((r) => perf.once('exit', r));
  const syncs = {};
  for (const line of text.split('\n')) {
    const [count, , event] = line.split(',');
    if (event?.startsWith('syscalls:sys_enter_')) syncs[event.slice('syscalls:sys_enter_'.length)] = Number(count) || 0;
  }
  return { value, syncs };
}

function openSocket(url, options) {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(url, options);
    const acks = [];
    let waiting;
    socket.on('message', (data) => { acks.push(data); waiting?.(); });
    socket.next = async () => { while (acks.length === 0) await new Promise((r) => (waiting = r)); return acks.shift(); };
    socket.once('open', () => resolve(socket));
    socket.once('error', reject);
  });
}

/** Runs `clients` loops for SECONDS; each loop iteration pushes `batch` entries and waits for the ack. */
async function throughput(label, clients, batch, makeClient, serverPid, profiler) {
  const loadBefore = load();
  const workers = await Promise.all(Array.from({ length: clients }, (_, i) => makeClient(i)));
  // The stream exists and the servers are warm before the clock starts: Node's JIT has compiled the
  // push path, and Hangar's first rolls have run (the first starts its Parquet codec worker
  // and compiles the roll path: one-time costs that landed in the 1x1 shape's seconds otherwise).
  const warm = performance.now() + WARMUP * 1000;
  let warmBytes = 0;
  await Promise.all(workers.map(async (worker) => { do { await worker.push(); warmBytes += batch * ENTRY.byteLength; } while (performance.now() < warm || warmBytes < WARMUP_BYTES); }));
  let entries = 0;
  const serverBefore = await cpuSeconds(serverPid);
  const threadsBefore = THREADS ? await threadSeconds(serverPid) : undefined;
  const writtenBefore = await writeBytes(serverPid);
  const clientBefore = process.cpuUsage();
  let elapsed = 0;
  await profiler?.start();
  const { syncs } = await countSyncs(serverPid, async () => {
    const deadline = performance.now() + SECONDS * 1000;
    const start = performance.now();
    await Promise.all(workers.map(async (worker) => { while (performance.now() < deadline) { await worker.push(); entries += batch; } }));
    elapsed = (performance.now() - start) / 1000;
  });
  const clientCpu = process.cpuUsage(clientBefore);
  const serverCpu = (await cpuSeconds(serverPid)) - serverBefore;
  const threadsAfter = THREADS ? await threadSeconds(serverPid) : undefined;
  const writtenAfter = await writeBytes(serverPid);
  // µs of user and system CPU per entry of each thread (name) that used any.
  const threads = threadsAfter && Object.fromEntries(Object.entries(threadsAfter).map(([name, [user, system]]) => {
    const [user0, system0] = threadsBefore[name] ?? [0, 0];
    return [name, [+(((user - user0) * 1e6) / entries).toFixed(1), +(((system - system0) * 1e6) / entries).toFixed(1)]];
  }).filter(([, [user, system]]) => user + system > 0));
  await profiler?.stop(join(PROFILE_DIR ?? '.', `${label.split(' ')[0]}-${clients}x${batch}.cpuprofile`));
  await Promise.all(workers.map((worker) => worker.close()));
  const result = {
    label, clients, batch, entriesPerSecond: Math.round(entries / elapsed),
    serverCpuUsPerEntry: +((serverCpu * 1e6) / entries).toFixed(1),
    clientCpuUsPerEntry: +((clientCpu.user + clientCpu.system) / entries).toFixed(1),
    // Bytes the server wrote to storage per entry (its log, zero-filled files, segments, commits; Redis: its AOF).
    serverWriteBytesPerEntry: writtenBefore === undefined || writtenAfter === undefined ? undefined : Math.round((writtenAfter - writtenBefore) / entries),
    syncsPerSecond: syncs ? Math.round(((syncs.fdatasync ?? 0) + (syncs.fsync ?? 0) + (syncs.pwrite64 ?? 0) + (syncs.pwritev ?? 0)) / elapsed) : undefined,
    syscalls: syncs,
    threads,
    load: `${loadBefore} → ${load()}`,
  };
  console.log(
    `${label.padEnd(28)} clients=${clients} batch=${String(batch).padStart(3)}  ${String(result.entriesPerSecond).padStart(8)} entries/s  ` +
      `cpu/entry server ${result.serverCpuUsPerEntry} µs client ${result.clientCpuUsPerEntry} µs` +
      `${result.serverWriteBytesPerEntry === undefined ? '' : `  written/entry ${result.serverWriteBytesPerEntry} B`}` +
      `${syncs ? `  syncs/s ${result.syncsPerSecond} (${Object.entries(syncs).map(([k, v]) => `${k} ${v}`).join(', ')})` : ''}   load ${result.load}`,
  );
  if (threads) console.log(`${''.padEnd(28)} threads, µs/entry user+sys: ${Object.entries(threads).map(([name, [user, system]]) => `${name} ${user}+${system}`).join(', ')}`);
  return result;
}

const redisPusher = (url, batch) => async () => {
  const client = createClient({ url });
  await client.connect();
  return {
    push: async () => { await Promise.all(Array.from({ length: batch }, () => client.xAdd('bench', '*', { d: ENTRY }))); },
    close: () => client.quit(),
  };
};

// The mask of client frames is zero (RFC 6455 lets any mask be used; `ws` skips XOR-ing a zero
// mask at both ends), so the client and the server spend no CPU masking, as RESP has none to do.
const zeroMask = (mask) => mask.fill(0);

const hangarPusher = (ws, name, batch) => async () => {
  const socket = await openSocket(`${ws}/data/${name}/push?ack=true${batch > 1 ? '&batch=true' : ''}`, { generateMask: zeroMask });
  const offsets = Array.from({ length: batch }, (_, i) => i * ENTRY.byteLength).join(',');
  const body = Buffer.concat(Array.from({ length: batch }, () => ENTRY));
  return {
    push: async () => { if (batch > 1) socket.send(offsets); socket.send(batch > 1 ? body : ENTRY); await socket.next(); },
    close: () => socket.close(),
  };
};

/** A batch of `count` 1 KB binary entries (the `data` column a binary stream takes over Flight). */
function binaryBatch(count) {
  const schema = new Schema([new Field('data', new Binary(), false)]);
  const valueOffsets = Int32Array.from({ length: count + 1 }, (_, i) => i * ENTRY.byteLength);
  const column = makeData({ type: new Binary(), length: count, nullCount: 0, valueOffsets, data: Buffer.concat(Array.from({ length: count }, () => ENTRY)) });
  return new RecordBatch(schema, makeData({ type: new Struct(schema.fields), length: count, nullCount: 0, children: [column] }));
}

/**
 * Flight pushes (`--parts flight`): each client sends batches of `batch` entries in one DoPut for
 * SECONDS, pipelined (the server answers each batch with its IDs once durable), so this is the
 * server's acked rate with the client never waiting; counted from the acks received.
 */
async function flightThroughput(label, clients, batch, hangar, name) {
  const loadBefore = load();
  const record = binaryBatch(batch);
  const serverBefore = await cpuSeconds(hangar.pid);
  const start = performance.now();
  const deadline = start + SECONDS * 1000;
  const counts = await Promise.all(Array.from({ length: clients }, async () => {
    const client = HangarClient.connect(hangar.grpc);
    try {
      const acks = await client.push(name, (async function* () { while (performance.now() < deadline) { yield record; await new Promise((r) => setImmediate(r)); } })());
      return acks.reduce((sum, ids) => sum + ids.length, 0);
    } finally {
      client.close();
    }
  }));
  const elapsed = (performance.now() - start) / 1000;
  const entries = counts.reduce((a, b) => a + b, 0);
  const result = { label, clients, batch, entriesPerSecond: Math.round(entries / elapsed), serverCpuUsPerEntry: +(((await cpuSeconds(hangar.pid)) - serverBefore) * 1e6 / entries).toFixed(1), load: `${loadBefore} → ${load()}` };
  console.log(`${label.padEnd(28)} clients=${clients} batch=${String(batch).padStart(3)}  ${String(result.entriesPerSecond).padStart(8)} entries/s  cpu/entry server ${result.serverCpuUsPerEntry} µs   load ${result.load}`);
  return result;
}

function percentile(sorted, p) {
  return sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))];
}

function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

/** One pusher sends an entry every `intervalMs` carrying its send time; 8 tailers note when each arrives. */
async function latency(label, tailers, push, intervalMs = 5) {
  const loadBefore = load();
  const samples = [];
  const stops = await Promise.all(Array.from({ length: 8 }, () => tailers((sentAt) => samples.push(performance.now() - sentAt))));
  await new Promise((r) => setTimeout(r, 300));
  const deadline = performance.now() + SECONDS * 1000;
  while (performance.now() < deadline) {
    const entry = Buffer.alloc(1024);
    entry.writeDoubleLE(performance.now(), 0);
    await push(entry);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
  await new Promise((r) => setTimeout(r, 300));
  await Promise.all(stops.map((stop) => stop()));
  samples.sort((a, b) => a - b);
  const result = { label, tailers: 8, samples: samples.length, p50Ms: +percentile(samples, 50).toFixed(3), p99Ms: +percentile(samples, 99).toFixed(3), load: `${loadBefore} → ${load()}` };
  console.log(`${label.padEnd(28)} 8 tailers  p50 ${result.p50Ms.toFixed(2)} ms  p99 ${result.p99Ms.toFixed(2)} ms  (${samples.length} deliveries)  load ${result.load}`);
  return result;
}

async function redisLatency(redis) {
  const pusher = createClient({ url: redis.url });
  await pusher.connect();
  const result = await latency('redis XREAD BLOCK (always)', async (onEntry) => {
    const client = createClient({ url: redis.url, RESP: 2 });
    await client.connect();
    let last = '$';
    let running = true;
    const loop = (async () => {
      while (running) {
        const reply = await client.xRead({ key: 'lat', id: last }, { BLOCK: 200, COUNT: 100 }, { }).catch(() => null);
        if (!reply) continue;
        for (const message of reply[0].messages) { onEntry(Buffer.from(message.message.d, 'binary').readDoubleLE(0)); last = message.id; }
      }
    })();
    return async () => { running = false; await loop; await client.quit(); };
  }, async (entry) => { await pusher.xAdd('lat', '*', { d: entry.toString('binary') }); });
  await pusher.quit();
  return result;
}

async function hangarLatency(hangar, label) {
  const out = [];
  const pusher = await openSocket(`${hangar.ws}/data/lat/push?ack=true`, { generateMask: zeroMask });
  const push = async (entry) => { pusher.send(entry); await pusher.next(); };
  await push(Buffer.alloc(1024)); // the stream exists before the tailers start
  out.push(await latency(`${label} WebSocket pull`, async (onEntry) => {
    const socket = await openSocket(`${hangar.ws}/data/lat/pull?last_entry_id=$`);
    let index = null;
    socket.removeAllListeners('message');
    socket.on('message', (data, binary) => {
      if (!binary) { index = JSON.parse(String(data)); return; }
      for (const [, offset] of index) onEntry(data.readDoubleLE(offset));
    });
    return async () => socket.close();
  }, push));
  out.push(await latency(`${label} Flight DoGet follow`, async (onEntry) => {
    const client = HangarClient.connect(hangar.grpc);
    const stop = new AbortController();
    const loop = (async () => {
      try {
        for await (const batch of client.tail('lat', { signal: stop.signal })) {
          const data = batch.getChild('data');
          for (let i = 0; i < batch.numRows; i++) onEntry(Buffer.from(data.get(i)).readDoubleLE(0));
        }
      } catch { /* cancelled */ }
    })();
    return async () => { stop.abort(); await loop; client.close(); };
  }, push));
  pusher.close();
  return out;
}

const results = { startedAt: new Date().toISOString(), seconds: SECONDS, warmupSeconds: WARMUP, warmupBytes: WARMUP_BYTES, dataDir: DATA_DIR, entryBytes: ENTRY.byteLength, rounds: ROUNDS, builds: BUILDS.map((build, i) => ({ label: buildLabel(i), dir: build })), throughput: [], latency: [], medians: [] };
let streamCounter = 0;

/** One system's run of the throughput shapes. */
async function runShapes(system) {
  if (system.kind === 'redis') {
    const redis = await startRedis(system.fsync);
    try {
      for (const [clients, batch] of SHAPES) results.throughput.push(await throughput(system.label, clients, batch, redisPusher(redis.url, batch), redis.pid));
    } finally {
      await redis.close();
    }
  } else {
    const hangar = await startHangar(system.build);
    try {
      for (const [clients, batch] of SHAPES) results.throughput.push(await throughput(system.label, clients, batch, hangarPusher(hangar.ws, `bench-${clients}-${batch}-${++streamCounter}`, batch), hangar.pid, hangar.profiler));
    } finally {
      await hangar.close();
    }
  }
}

if (PARTS.includes('throughput')) {
  const systems = [
    ...(REDIS ? [{ kind: 'redis', fsync: 'always', label: 'redis appendfsync always' }] : []),
    ...BUILDS.map((build, i) => ({ kind: 'hangar', build, label: `${buildLabel(i)} (WebSocket, acked)` })),
  ];
  for (let round = 0; round < ROUNDS; round++) {
    if (ROUNDS > 1) console.log(`-- round ${round + 1} of ${ROUNDS}`);
    // Rotate the order round to round, so no system always runs first (or last) on a warming machine.
    for (let i = 0; i < systems.length; i++) await runShapes(systems[(i + round) % systems.length]);
  }
  if (REDIS && EVERYSEC) await runShapes({ kind: 'redis', fsync: 'everysec', label: 'redis appendfsync everysec' });
}
if (PARTS.includes('flight')) {
  for (let round = 0; round < ROUNDS; round++) {
    for (let j = 0; j < BUILDS.length; j++) {
      const i = (j + round) % BUILDS.length;
      const hangar = await startHangar(BUILDS[i]);
      for (const [clients, batch] of SHAPES) results.throughput.push(await flightThroughput(`${buildLabel(i)} (Flight, pipelined)`, clients, batch, hangar, `flight-${clients}-${batch}-${++streamCounter}`));
      await hangar.close();
    }
  }
}
if (PARTS.includes('latency')) {
  if (REDIS) {
    const redis = await startRedis('always');
    results.latency.push(await redisLatency(redis));
    await redis.close();
  }
  for (let i = 0; i < BUILDS.length; i++) {
    const hangar = await startHangar(BUILDS[i]);
    results.latency.push(...(await hangarLatency(hangar, buildLabel(i))));
    await hangar.close();
  }
}

// Medians over the rounds, and each Hangar build against Redis appendfsync always.
const labels = [...new Set(results.throughput.map((r) => r.label))];
for (const label of labels) {
  for (const [clients, batch] of SHAPES) {
    const rows = results.throughput.filter((r) => r.label === label && r.clients === clients && r.batch === batch);
    if (rows.length === 0) continue;
    const syncs = rows.map((r) => r.syncsPerSecond).filter((v) => v !== undefined);
    results.medians.push({
      label, clients, batch, rounds: rows.length,
      entriesPerSecond: Math.round(median(rows.map((r) => r.entriesPerSecond))),
      all: rows.map((r) => r.entriesPerSecond),
      serverCpuUsPerEntry: +median(rows.map((r) => r.serverCpuUsPerEntry)).toFixed(1),
      clientCpuUsPerEntry: rows[0].clientCpuUsPerEntry === undefined ? undefined : +median(rows.map((r) => r.clientCpuUsPerEntry)).toFixed(1),
      serverWriteBytesPerEntry: rows[0].serverWriteBytesPerEntry === undefined ? undefined : Math.round(median(rows.map((r) => r.serverWriteBytesPerEntry))),
      syncsPerSecond: syncs.length ? Math.round(median(syncs)) : undefined,
    });
  }
}
const always = (clients, batch) => results.medians.find((r) => r.label === 'redis appendfsync always' && r.clients === clients && r.batch === batch);
console.log(`\nmedians of ${ROUNDS} round(s); hangar / redis appendfsync always (acked throughput; target ≥ 1):`);
for (const r of results.medians) {
  const redis = always(r.clients, r.batch);
  const ratio = redis && r.label.startsWith('hangar') ? `  ${(r.entriesPerSecond / redis.entriesPerSecond).toFixed(2)}×` : '';
  if (r.label.startsWith('hangar') && redis) r.ratioToRedisAlways = +(r.entriesPerSecond / redis.entriesPerSecond).toFixed(2);
  console.log(`  ${r.label.padEnd(28)} clients=${r.clients} batch=${String(r.batch).padStart(3)}  ${String(r.entriesPerSecond).padStart(8)} entries/s [${r.all.join(', ')}]${ratio}  cpu/entry server ${r.serverCpuUsPerEntry} µs${r.clientCpuUsPerEntry === undefined ? '' : ` client ${r.clientCpuUsPerEntry} µs`}${r.serverWriteBytesPerEntry === undefined ? '' : ` written ${r.serverWriteBytesPerEntry} B`}${r.syncsPerSecond === undefined ? '' : `  syncs/s ${r.syncsPerSecond}`}`);
}
results.finishedAt = new Date().toISOString();
results.loadAtEnd = load();
if (JSON_PATH) await writeFile(JSON_PATH, `${JSON.stringify(results, null, 2)}\n`);
