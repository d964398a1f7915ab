// Soak: mixed load against one `hangar serve` process for a long time, watching whether its
// memory (VmRSS) and open handles (/proc/PID/fd) stay flat after a warm-up.
//   npm run build && node bench/soak/run.mjs [--minutes 30] [--sample-seconds 60] [--clients 2]
//        [--pause-ms 50] [--warmup-minutes 5] [--only sql,cancel-get] [--json bench/results/soak.json]
//        [--table bench/results/soak.md]
// Load, per client loop (seeded, so runs are comparable): puts (replace, and appends reset now and
// then), gets (whole, time ranges with a limit, projections), SQL, listings (list, stat, versions,
// buckets), reconnects (a new HTTP/2 connection), cancelled calls (a get aborted after its first
// batch, a put aborted mid-stream, a query past a 1 ms deadline) and deletes. The server runs with
// a 64 MiB read cache, so its cache fills during the warm-up, and vacuums every minute.
// Verdict: flat when the median RSS of the last five samples is within the tolerance (10 %, and at
// least 24 MiB) of the median of the samples taken in the minutes after the warm-up, and when the
// open handles at the end are at most 8 above the most seen during the warm-up.
import { appendFileSync, readFileSync, readdirSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { RecordBatch, Table, tableFromArrays } from 'apache-arrow';
import { HangarClient } from '../../dist/client/index.js';
import { FuzzRandom } from '../../dist/testing/fuzz-random.js';
import { startServerProcess } from '../../dist/testing/server-process.js';

const { values } = parseArgs({
  options: {
    minutes: { type: 'string', default: '30' },
    'sample-seconds': { type: 'string', default: '60' },
    clients: { type: 'string', default: '2' },
    'pause-ms': { type: 'string', default: '50' },
    'warmup-minutes': { type: 'string', default: '5' },
    rows: { type: 'string', default: '50000' },
    seed: { type: 'string', default: '1' },
    only: { type: 'string' },
    'trace-gc': { type: 'boolean', default: false },
    probe: { type: 'boolean', default: false },
    'server-args': { type: 'string' },
    'node-flags': { type: 'string', default: '--single-threaded-gc --initial-old-space-size=256' },
    'read-cache-bytes': { type: 'string', default: String(64 * 1024 * 1024) },
    json: { type: 'string' },
    table: { type: 'string' },
  },
});
const MINUTES = Number(values.minutes);
const SAMPLE_MS = Number(values['sample-seconds']) * 1000;
const CLIENTS = Number(values.clients);
const PAUSE_MS = Number(values['pause-ms']);
const WARMUP_MS = Number(values['warmup-minutes']) * 60_000;
const ROWS = Number(values.rows);
const RSS_TOLERANCE = 0.1;
const RSS_TOLERANCE_FLOOR_MB = 24;
const FD_TOLERANCE = 8;
const BUCKET = 'soak';
/** Each operation and the top of its share of [0, 1): the mix every client loop draws from. */
const OPERATIONS = [['put-replace', 0.12], ['put-append', 0.22], ['get-whole', 0.42], ['get-range', 0.52], ['sql', 0.62], ['listing', 0.72], ['reconnect', 0.77], ['cancel-get', 0.83], ['cancel-put', 0.88], ['sql-deadline', 0.93], ['delete', 0.97], ['ping', 1]];
/** `--only a,b`: run only these operations (to find which one a growth comes from). */
const ONLY = values.only === undefined ? undefined : new Set(values.only.split(','));

/** A frame of `rows` rows: a time column, two floats and a symbol. */
function makeTable(rows, offset) {
  const start = Date.UTC(2024, 0, 1) + offset * 1000;
  return tableFromArrays({
    ts: Array.from({ length: rows }, (_, i) => new Date(start + i * 1000)),
    x: Float64Array.from({ length: rows }, (_, i) => Math.sin(i + offset)),
    y: Float64Array.from({ length: rows }, (_, i) => i * 0.5),
    sym: Array.from({ length: rows }, (_, i) => ['AAA', 'BBB', 'CCC', 'DDD'][i % 4]),
  });
}
const BIG = [makeTable(ROWS, 0), makeTable(ROWS, 7)];
const SMALL = [makeTable(1000, 0), makeTable(1000, 3)];

/** Reads the server's resident memory, peak, threads and open file descriptors from /proc. */
function sampleProcess(pid) {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (field) => Number(new RegExp(`^${field}:\\s+(\\d+)`, 'm').exec(status)?.[1] ?? NaN);
  return {
    rssMiB: kb('VmRSS') / 1024,
    anonMiB: kb('RssAnon') / 1024,
    fileMiB: kb('RssFile') / 1024,
    hwmMiB: kb('VmHWM') / 1024,
    threads: Number(/^Threads:\s+(\d+)/m.exec(status)?.[1] ?? NaN),
    fds: readdirSync(`/proc/${pid}/fd`).length,
  };
}

const median = (numbers) => {
  const sorted = [...numbers].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
};

/** Least-squares slope of y over x. */
function slope(points) {
  const n = points.length;
  if (n < 2) return 0;
  const mx = points.reduce((s, p) => s + p.x, 0) / n;
  const my = points.reduce((s, p) => s + p.y, 0) / n;
  const num = points.reduce((s, p) => s + (p.x - mx) * (p.y - my), 0);
  const den = points.reduce((s, p) => s + (p.x - mx) ** 2, 0);
  return den === 0 ? 0 : num / den;
}

const counts = {};
const errors = {};
const count = (op) => (counts[op] = (counts[op] ?? 0) + 1);
/** Runs one operation; expected refusals (cancellations, deadlines) are counted, others too. */
async function attempt(op, fn, expected = []) {
  try {
    await fn();
    count(op);
  } catch (error) {
    const code = error?.code ?? error?.name ?? 'Error';
    const key = `${op}:${code}`;
    errors[key] = (errors[key] ?? 0) + 1;
    if (!expected.includes(code)) {
      errors.unexpected = (errors.unexpected ?? 0) + 1;
      if ((errors.unexpected ?? 0) <= 5) console.error(`soak: unexpected ${key}: ${error?.message ?? error}`);
    }
  }
}

/** An async source of record batches that aborts `controller` after the first batch. */
async function* abortingSource(table, controller) {
  const batches = table.batches;
  yield batches[0];
  controller.abort();
  await new Promise((resolve) => setTimeout(resolve, 5));
  for (const batch of batches.slice(1)) yield batch;
}

async function clientLoop(id, location, deadline) {
  const random = new FuzzRandom(Number(values.seed) * 1000 + id);
  let client = HangarClient.connect(location);
  let appends = 0;
  while (Date.now() < deadline) {
    const frame = `p${random.int(4)}`;
    const op = random.next();
    if (ONLY && !ONLY.has(OPERATIONS.find(([, upTo]) => op < upTo)[0])) continue;
    if (op < 0.12) await attempt('put-replace', () => client.put(frame, random.pick(BIG), { bucket: BUCKET, mode: 'replace', metadata: { writer: id } }));
    else if (op < 0.22) {
      const target = `a${id}`;
      const mode = appends++ % 40 === 0 ? 'replace' : 'append';
      await attempt('put-append', () => client.put(target, random.pick(SMALL), { bucket: BUCKET, mode, allowUnordered: true }));
    } else if (op < 0.42) await attempt('get-whole', () => client.get(frame, { bucket: BUCKET }), ['NOT_FOUND']);
    else if (op < 0.52) {
      const from = Date.UTC(2024, 0, 1) + random.int(ROWS) * 1000;
      await attempt('get-range', () => client.get(frame, { bucket: BUCKET, start: new Date(from), end: new Date(from + 3_600_000), limit: 500, columns: ['ts', 'x'] }), ['NOT_FOUND']);
    } else if (op < 0.62) {
      const sql = random.pick([`SELECT sym, avg(x) AS x, count(*) AS n FROM ${frame} GROUP BY sym ORDER BY sym`, `SELECT count(*) AS n FROM a${id}`, `SELECT * FROM ${frame} WHERE y > ${random.int(ROWS / 2)} LIMIT 100`]);
      await attempt('sql', () => client.query(sql, { bucket: BUCKET }), ['NOT_FOUND', 'INVALID_ARGUMENT']);
    } else if (op < 0.72) {
      const which = random.int(4);
      if (which === 0) await attempt('list', () => client.list({ bucket: BUCKET }), ['NOT_FOUND']);
      else if (which === 1) await attempt('stat', () => client.stat(frame, { bucket: BUCKET }), ['NOT_FOUND']);
      else if (which === 2) await attempt('versions', () => client.versions(frame, { bucket: BUCKET }), ['NOT_FOUND']);
      else await attempt('buckets', () => client.buckets());
    } else if (op < 0.77) {
      await attempt('reconnect', async () => {
        client.close();
        client = HangarClient.connect(location);
        await client.ping();
      });
    } else if (op < 0.83) {
      // A get cancelled after its first batch.
      await attempt(
        'cancel-get',
        async () => {
          const controller = new AbortController();
          const stream = client.getStream(frame, { bucket: BUCKET, signal: controller.signal });
          for await (const _ of stream) {
            controller.abort();
            break;
          }
        },
        ['NOT_FOUND', 'CANCELLED', 'AbortError'],
      );
    } else if (op < 0.88) {
      // A put cancelled mid-stream: nothing may be stored.
      await attempt(
        'cancel-put',
        async () => {
          const controller = new AbortController();
          const table = new Table(random.pick(BIG).batches.flatMap((batch) => [batch.slice(0, batch.numRows >> 1), batch.slice(batch.numRows >> 1)]).filter((batch) => batch instanceof RecordBatch));
          await client.put(`c${id}`, abortingSource(table, controller), { bucket: BUCKET, mode: 'replace', signal: controller.signal });
          throw Object.assign(new Error('a cancelled put succeeded'), { code: 'PUT_NOT_CANCELLED' });
        },
        ['CANCELLED', 'AbortError'],
      );
    } else if (op < 0.93) {
      await attempt('sql-deadline', () => client.query(`SELECT count(*) FROM ${frame} a, ${frame} b WHERE a.x < b.x`, { bucket: BUCKET, timeoutMs: 1 }), ['DEADLINE_EXCEEDED', 'NOT_FOUND']);
    } else if (op < 0.97) {
      await attempt('delete', async () => {
        await client.put(`d${id}`, random.pick(SMALL), { bucket: BUCKET, mode: 'replace' });
        await client.delete(`d${id}`, { bucket: BUCKET });
      });
    } else await attempt('ping', () => client.ping());
    await new Promise((resolve) => setTimeout(resolve, PAUSE_MS));
  }
  client.close();
}

const dir = await mkdtemp(join(tmpdir(), 'hangar-soak-'));
const PROBE = fileURLToPath(new URL('./memory-probe.mjs', import.meta.url));
const probeFile = join(dir, 'memory-probe.jsonl');
if (values.probe) Object.assign(process.env, { HANGAR_MEMORY_PROBE_FILE: probeFile, HANGAR_MEMORY_PROBE_MS: String(SAMPLE_MS) });
/** The latest memory-probe line of each server thread: JS heap and array buffers after a full GC. */
function probedThreads() {
  if (!values.probe) return {};
  let text = '';
  try {
    text = readFileSync(probeFile, 'utf8');
  } catch {
    return {};
  }
  const latest = new Map();
  for (const line of text.trim().split('\n').filter(Boolean)) {
    const entry = JSON.parse(line);
    latest.set(entry.thread, entry);
  }
  const threads = [...latest.values()];
  const sum = (key) => Number(threads.reduce((s, t) => s + t[key], 0).toFixed(1));
  return { jsHeapMiB: sum('heapUsedMiB'), arrayBuffersMiB: sum('arrayBuffersMiB'), externalMiB: sum('externalMiB'), probedThreads: threads.length };
}
const server = await startServerProcess({
  // --trace-gc: the JavaScript heap after each full collection goes into every sample, so a growth
  // of RSS can be told apart as the JavaScript heap's or native memory's (DuckDB, buffers).
  // --probe: every thread of the server (codec workers too) logs process.memoryUsage() after a full
  // collection each sample (memory-probe.mjs), so RSS can be split into JS heap, array buffers and
  // native memory.
  // --node-flags: the server's Node/V8 flags (default: those `npm start` uses).
  nodeFlags: [...values['node-flags'].split(' ').filter(Boolean), ...(values['trace-gc'] ? ['--trace-gc'] : []), ...(values.probe ? ['--expose-gc', '--import', PROBE] : [])],
  args: ['--port', '0', '--data', join(dir, 'store'), '--read-cache-size', values['read-cache-bytes'], '--keep-versions', '3', '--keep-for', '0', '--vacuum-grace', '0', '--vacuum-every', '1m', ...(values['server-args']?.split(' ') ?? [])],
});
console.log(`soak: server pid ${server.pid} at ${server.location}; ${MINUTES} min, ${CLIENTS} clients, a sample every ${SAMPLE_MS / 1000} s`);
const started = Date.now();
const deadline = started + MINUTES * 60_000;
const samples = [];
/** The JavaScript heap in use after the latest full (mark-compact) collection, from --trace-gc. */
function heapAfterFullGc() {
  const matches = [...gcLog.slice(-20_000).matchAll(/Mark-Compact[^\n]*?-> ([\d.]+) \(([\d.]+)\) MB/g)];
  return matches.length === 0 ? undefined : Number(matches.at(-1)[1]);
}
let gcLog = '';
if (values['trace-gc']) server.child.stdout.on('data', (chunk) => (gcLog = (gcLog + chunk.toString()).slice(-100_000)));
// SOAK_GC_LOG=FILE: the whole --trace-gc log (every isolate's, codec workers' too) goes to FILE.
if (values['trace-gc'] && process.env.SOAK_GC_LOG) server.child.stdout.on('data', (chunk) => appendFileSync(process.env.SOAK_GC_LOG, chunk));
const takeSample = () => {
  const heap = values['trace-gc'] ? { heapAfterFullGcMiB: heapAfterFullGc() } : {};
  const sample = { minute: Number(((Date.now() - started) / 60_000).toFixed(2)), ...sampleProcess(server.pid), ...heap, ...probedThreads(), ops: Object.values(counts).reduce((a, b) => a + b, 0), errors: Object.entries(errors).filter(([k]) => k !== 'unexpected').reduce((a, [, b]) => a + b, 0) };
  samples.push(sample);
  const heapNote = (sample.heapAfterFullGcMiB === undefined ? '' : `  JS heap after full GC ${sample.heapAfterFullGcMiB} MB`) + (sample.jsHeapMiB === undefined ? '' : `  anon ${sample.anonMiB.toFixed(1)} file ${sample.fileMiB.toFixed(1)} MiB; ${sample.probedThreads} threads: JS heap ${sample.jsHeapMiB} external ${sample.externalMiB} array buffers ${sample.arrayBuffersMiB} MiB`);
  console.log(`soak: ${sample.minute.toFixed(1)} min  RSS ${sample.rssMiB.toFixed(1)} MiB  peak ${sample.hwmMiB.toFixed(1)} MiB  fds ${sample.fds}  threads ${sample.threads}  ops ${sample.ops}  refused/cancelled ${sample.errors}${heapNote}`);
};
takeSample();
const sampler = setInterval(takeSample, SAMPLE_MS);
await Promise.all(Array.from({ length: CLIENTS }, (_, id) => clientLoop(id, server.location, deadline)));
clearInterval(sampler);
takeSample();
// Idle: what the server holds once the load stops.
await new Promise((resolve) => setTimeout(resolve, 5000));
const idle = sampleProcess(server.pid);
const exitCode = await server.stop();
await rm(dir, { recursive: true, force: true });

const warm = samples.filter((s) => s.minute * 60_000 >= WARMUP_MS);
const settled = warm.filter((s) => s.minute * 60_000 < WARMUP_MS + 5 * 60_000);
const last = samples.slice(-5);
const baselineRss = median(settled.length > 0 ? settled.map((s) => s.rssMiB) : samples.map((s) => s.rssMiB));
const finalRss = median(last.map((s) => s.rssMiB));
const allowedRss = Math.max(baselineRss * RSS_TOLERANCE, RSS_TOLERANCE_FLOOR_MB);
const warmupFds = Math.max(...samples.filter((s) => s.minute * 60_000 < WARMUP_MS + 60_000).map((s) => s.fds));
const finalFds = samples.at(-1).fds;
const result = {
  startedAt: new Date(started).toISOString(),
  minutes: MINUTES,
  clients: CLIENTS,
  pauseMs: PAUSE_MS,
  rows: ROWS,
  operations: counts,
  refusedOrCancelled: errors,
  samples,
  idleAfterLoad: idle,
  serverExitCode: exitCode,
  verdict: {
    rss: { baselineMiB: baselineRss, finalMiB: finalRss, growthMiB: finalRss - baselineRss, allowedMiB: allowedRss, slopeMiBPerHourAfterWarmup: slope(warm.map((s) => ({ x: s.minute / 60, y: s.rssMiB }))), flat: finalRss - baselineRss <= allowedRss },
    fds: { warmupMax: warmupFds, final: finalFds, allowed: FD_TOLERANCE, flat: finalFds <= warmupFds + FD_TOLERANCE },
    unexpectedErrors: errors.unexpected ?? 0,
  },
};
result.verdict.flat = result.verdict.rss.flat && result.verdict.fds.flat;
console.log(`soak: RSS ${baselineRss.toFixed(1)} → ${finalRss.toFixed(1)} MiB after the warm-up (allowed +${allowedRss.toFixed(1)}), slope ${result.verdict.rss.slopeMiBPerHourAfterWarmup.toFixed(1)} MiB/h; fds ${warmupFds} → ${finalFds}; unexpected errors ${result.verdict.unexpectedErrors}; ${result.verdict.flat ? 'FLAT' : 'GROWING'}`);
if (values.json) await writeFile(values.json, `${JSON.stringify(result, null, 2)}\n`);
if (values.table) {
  const rows = samples.map((s) => `| ${s.minute.toFixed(1)} | ${s.rssMiB.toFixed(1)} | ${s.hwmMiB.toFixed(1)} | ${s.fds} | ${s.threads} | ${s.ops} |`);
  const table = [
    `# Soak: ${MINUTES} minutes, ${CLIENTS} clients (${new Date(started).toISOString()})`,
    '',
    `Verdict: **${result.verdict.flat ? 'flat' : 'growing'}** — RSS median ${baselineRss.toFixed(1)} MiB after the ${values['warmup-minutes']}-minute warm-up, ${finalRss.toFixed(1)} MiB over the last five samples (allowed +${allowedRss.toFixed(1)} MiB); slope ${result.verdict.rss.slopeMiBPerHourAfterWarmup.toFixed(1)} MiB/h; open handles ${warmupFds} (warm-up max) → ${finalFds}. Operations: ${Object.values(counts).reduce((a, b) => a + b, 0)}; unexpected errors: ${result.verdict.unexpectedErrors}.`,
    '',
    '| minute | RSS MiB | peak RSS MiB | open fds | threads | operations so far |',
    '| ---: | ---: | ---: | ---: | ---: | ---: |',
    ...rows,
    '',
  ].join('\n');
  await writeFile(values.table, table);
}
if (!result.verdict.flat || result.verdict.unexpectedErrors > 0) process.exitCode = 1;
