// bench/streams: Hangar's live streams side by side with Redis streams (Debian's redis-server,
// started here on 127.0.0.1 with appendonly yes and appendfsync always, then everysec), in one run:
// acked pushes of 1 KB entries one at a time and in batches of 100, from 1 and 8 clients; and the
// push-to-tail latency (p50/p99) seen by 8 tailers. Hangar runs as `hangar serve` with its tuned V8
// flags; its pushes go over PTG's WebSocket protocol (push?ack=true, each entry acknowledged once
// durable, like an XADD reply under appendfsync always) and its tailers over WebSocket pull and
// Flight DoGet follow. The machine is shared: the load average is printed beside every figure.
//
//   npm run build && node bench/streams/run.mjs [--seconds 3] [--json bench/results/streams.json]
import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { performance } from 'node:perf_hooks';
import { createClient } from 'redis';
import WebSocket from 'ws';
import { HangarClient } from '../../dist/client/index.js';

const args = process.argv.slice(2);
const option = (name, fallback) => {
  const at = args.indexOf(name);
  return at >= 0 ? args[at + 1] : fallback;
};
const SECONDS = Number(option('--seconds', '3'));
const JSON_PATH = option('--json', undefined);
const PARTS = option('--parts', 'throughput,latency').split(',');
const REDIS = option('--redis', 'yes') === 'yes';
const ENTRY = Buffer.alloc(1024, 7);
const CLI = new URL('../../dist/cli/main.js', import.meta.url).pathname;
const load = () => loadavg().map((x) => x.toFixed(2)).join(' ');

async function freePort() {
  const probe = createServer();
  await new Promise((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const { port } = probe.address();
  await new Promise((resolve) => probe.close(resolve));
  return port;
}

async function startRedis(fsync) {
  const dir = await mkdtemp(join(tmpdir(), 'bench-redis-'));
  const port = await freePort();
  const child = spawn('redis-server', ['--bind', '127.0.0.1', '--port', String(port), '--dir', dir, '--save', '', '--appendonly', 'yes', '--appendfsync', fsync, '--daemonize', 'no'], { stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise((resolve, reject) => {
    child.stdout.on('data', (chunk) => String(chunk).includes('Ready to accept connections') && resolve());
    child.once('exit', (code) => reject(new Error(`redis-server exited ${code}`)));
  });
  return { url: `redis://127.0.0.1:${port}`, close: async () => { child.kill('SIGTERM'); await new Promise((r) => child.once('exit', r)); await rm(dir, { recursive: true, force: true }); } };
}

async function startHangar() {
  const dir = await mkdtemp(join(tmpdir(), 'bench-hangar-'));
  const child = spawn(process.execPath, ['--single-threaded-gc', '--initial-old-space-size=256', CLI, 'serve', '--port', '0', '--http-port', '0', '--data', dir], { env: { ...process.env, HANGAR_NODE_RELAUNCH: '0' }, stdio: ['ignore', 'pipe', 'inherit'] });
  const lines = createInterface({ input: child.stdout });
  const seen = [];
  await new Promise((resolve) => lines.on('line', (line) => { seen.push(line); if (seen.length === 2) resolve(); }));
  const grpc = seen[0].replace('hangar listening on ', '');
  const http = seen[1].replace('http listening on ', '');
  return { grpc, ws: http.replace('http', 'ws'), close: async () => { child.kill('SIGTERM'); await new Promise((r) => child.once('exit', r)); await rm(dir, { recursive: true, force: true }); } };
}

function openSocket(url) {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(url);
    const acks = [];
    let waiting;
    socket.on('message', (data) => { acks.push(data); waiting?.(); });
    socket.next = async () => { while (acks.length === 0) await new Promise((r) => (waiting = r)); return acks.shift(); };
    socket.once('open', () => resolve(socket));
    socket.once('error', reject);
  });
}

/** Runs `clients` loops for SECONDS; each loop iteration pushes `batch` entries and waits for the ack. */
async function throughput(label, clients, batch, makeClient) {
  const loadBefore = load();
  const workers = await Promise.all(Array.from({ length: clients }, (_, i) => makeClient(i)));
  await workers[0].push(); // the stream exists and is warm before the clock starts
  let entries = 0;
  const deadline = performance.now() + SECONDS * 1000;
  const start = performance.now();
  await Promise.all(workers.map(async (worker) => { while (performance.now() < deadline) { await worker.push(); entries += batch; } }));
  const elapsed = (performance.now() - start) / 1000;
  await Promise.all(workers.map((worker) => worker.close()));
  const result = { label, clients, batch, entriesPerSecond: Math.round(entries / elapsed), load: `${loadBefore} → ${load()}` };
  console.log(`${label.padEnd(28)} clients=${clients} batch=${String(batch).padStart(3)}  ${String(result.entriesPerSecond).padStart(8)} entries/s   load ${result.load}`);
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

const hangarPusher = (ws, name, batch) => async () => {
  const socket = await openSocket(`${ws}/data/${name}/push?ack=true${batch > 1 ? '&batch=true' : ''}`);
  const offsets = Array.from({ length: batch }, (_, i) => i * ENTRY.byteLength).join(',');
  const body = Buffer.concat(Array.from({ length: batch }, () => ENTRY));
  return {
    push: async () => { if (batch > 1) socket.send(offsets); socket.send(batch > 1 ? body : ENTRY); await socket.next(); },
    close: () => socket.close(),
  };
};

function percentile(sorted, p) {
  return sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))];
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

const results = { startedAt: new Date().toISOString(), seconds: SECONDS, entryBytes: ENTRY.byteLength, throughput: [], latency: [] };
for (const fsync of REDIS ? ['always', 'everysec'] : []) {
  const redis = await startRedis(fsync);
  if (PARTS.includes('throughput')) for (const clients of [1, 8]) for (const batch of [1, 100]) results.throughput.push(await throughput(`redis appendfsync ${fsync}`, clients, batch, redisPusher(redis.url, batch)));
  if (fsync === 'always' && PARTS.includes('latency')) {
    const pusher = createClient({ url: redis.url });
    await pusher.connect();
    results.latency.push(await latency('redis XREAD BLOCK (always)', async (onEntry) => {
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
    }, async (entry) => { await pusher.xAdd('lat', '*', { d: entry.toString('binary') }); }));
    await pusher.quit();
  }
  await redis.close();
}

const hangar = await startHangar();
if (PARTS.includes('throughput')) for (const clients of [1, 8]) for (const batch of [1, 100]) results.throughput.push(await throughput('hangar (WebSocket, acked)', clients, batch, hangarPusher(hangar.ws, `bench-${clients}-${batch}`, batch)));
if (PARTS.includes('latency')) {
  const pusher = await openSocket(`${hangar.ws}/data/lat/push?ack=true`);
  const push = async (entry) => { pusher.send(entry); await pusher.next(); };
  await push(Buffer.alloc(1024)); // the stream exists before the tailers start
  results.latency.push(await latency('hangar WebSocket pull', async (onEntry) => {
    const socket = await openSocket(`${hangar.ws}/data/lat/pull?last_entry_id=$`);
    let index = null;
    socket.removeAllListeners('message');
    socket.on('message', (data, binary) => {
      if (!binary) { index = JSON.parse(String(data)); return; }
      for (const [, offset] of index) onEntry(data.readDoubleLE(offset));
    });
    return async () => socket.close();
  }, push));
  results.latency.push(await latency('hangar Flight DoGet follow', async (onEntry) => {
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
}
await hangar.close();

const always = (clients, batch) => results.throughput.find((r) => r.label === 'redis appendfsync always' && r.clients === clients && r.batch === batch);
console.log('\nhangar / redis appendfsync always (acked throughput; target ≥ 1):');
for (const r of results.throughput.filter((r) => r.label.startsWith('hangar'))) {
  const redis = always(r.clients, r.batch);
  if (redis) console.log(`  clients=${r.clients} batch=${r.batch}: ${(r.entriesPerSecond / redis.entriesPerSecond).toFixed(2)}×`);
}
if (JSON_PATH) await writeFile(JSON_PATH, `${JSON.stringify(results, null, 2)}\n`);
