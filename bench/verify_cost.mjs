// The read cost of checksum verification on W1 (a whole-frame get of the 10M-row put/get frame:
// ts, f0..f3 float64, a dictionary category; 440 MB of Arrow), in process: the engine reads the
// frame whole from a local store with the decoded-segment cache off (so every run fetches, verifies
// and decodes every segment) at two versions that share the very same segment files — one whose
// manifest records the checksums (verified), one committed with them stripped (read as segments
// written before checksums are: unverified). Runs alternate A/B/B/A so drift hits both alike;
// the noise floor is the spread of A against A (the same variant's runs split in halves).
// Also reported: CRC-32 throughput, and W1 with the cache on (what the harness's repeated gets do).
// Usage: npm run build && node --single-threaded-gc --initial-old-space-size=256 bench/verify_cost.mjs [--rows N] [--runs N] [--json PATH] [--keep DIR [--build-only]]
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Dictionary, Float64, Int32, Table, TimestampNanosecond, Utf8, makeData, makeVector, tableToIPC, vectorFromArray } from 'apache-arrow';
import { LocalConnector } from '../dist/connectors/local/local-connector.js';
import { ObjectLayout } from '../dist/storage/object-layout.js';
import { crc32 } from '../dist/format/crc32.js';
import { HangarEngine } from '../dist/core/engine.js';
import { splitIpcStream } from '../dist/format/ipc-message.js';
import { ParquetCodec } from '../dist/format/parquet/parquet-codec.js';

const arg = (name, fallback) => {
  const at = process.argv.indexOf(`--${name}`);
  return at >= 0 ? process.argv[at + 1] : fallback;
};
const ROWS = Number(arg('rows', 10_000_000));
const RUNS = Number(arg('runs', 9));
const BATCH = 65_536;
const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
const round = (value, digits = 1) => Number(value.toFixed(digits));

/** The put/get frame of bench/compare.py's shape, deterministic. */
function frame(rows) {
  let state = 12345;
  const next = () => ((state = (state * 1664525 + 1013904223) >>> 0) / 2 ** 32);
  const ts = BigInt64Array.from({ length: rows }, (_, i) => 1_700_000_000_000_000_000n + BigInt(i) * 1_000_000_000n);
  const floats = () => Float64Array.from({ length: rows }, () => next() * 100);
  const categories = ['alpha', 'beta', 'gamma', 'delta', 'epsilon', 'zeta', 'eta', 'theta'];
  const dictionary = vectorFromArray(categories, new Utf8());
  const indices = Int32Array.from({ length: rows }, () => Math.floor(next() * categories.length));
  const category = makeVector(makeData({ type: new Dictionary(new Utf8(), new Int32()), length: rows, data: indices, dictionary }));
  return new Table({
    ts: makeVector(makeData({ type: new TimestampNanosecond(), length: rows, data: ts })),
    f0: makeVector(floats()),
    f1: makeVector(floats()),
    f2: makeVector(floats()),
    f3: makeVector(floats()),
    category,
  });
}

/** The table as a client sends it: 64Ki-row batches sharing one dictionary, sent once. */
async function* messagesOf(table) {
  const batches = [];
  for (let start = 0; start < table.numRows; start += BATCH) batches.push(...table.slice(start, start + BATCH).batches);
  yield* splitIpcStream(tableToIPC(new Table(batches), 'stream'));
}

async function drain(stream) {
  let bytes = 0;
  for await (const message of stream.messages) bytes += message.body.byteLength;
  return bytes;
}

function stripChecksums(manifest) {
  return {
    ...manifest,
    segments: manifest.segments.map(({ crc32: _a, footerCrc32: _b, pageCrcs: _c, dictionariesCrc32: _d, ...segment }) => segment),
  };
}

// --keep DIR: build the store there and leave it (bench/verify_cost_w1.py then gets through a server).
const keep = arg('keep');
const root = keep ?? (await mkdtemp(join(tmpdir(), 'hangar-verify-cost-')));
const connector = new ObjectLayout(new LocalConnector({ root, fsync: false }));
await connector.open();
const codec = new ParquetCodec();
const uncached = new HangarEngine(connector, codec, { readCacheBytes: 0, compactThreshold: 0 });
const cached = new HangarEngine(connector, codec, { compactThreshold: 0 });
const ref = { bucket: 'bench', name: 'w1' };
const results = { rows: ROWS, runs: RUNS, node: process.version };
try {
  const table = frame(ROWS);
  const put = await uncached.put(ref, 'replace', messagesOf(table));
  const verifiedManifest = await connector.getManifest(ref);
  await connector.commitManifest(ref, { ...stripChecksums(verifiedManifest), version: put.version + 1, committedAt: new Date().toISOString() });
  const versions = { verified: put.version, unverified: put.version + 1 };
  // --build-only (with --keep): also a twin of the verified version (the same segments, checksums
  // kept) for bench/verify_cost_w1.py's A/A pair, then stop.
  if (process.argv.includes('--build-only')) {
    await connector.commitManifest(ref, { ...verifiedManifest, version: put.version + 2, committedAt: new Date().toISOString() });
    console.log(JSON.stringify({ built: root, versions: { verified: put.version, unverified: put.version + 1, verifiedTwin: put.version + 2 } }));
    for (const closing of [uncached, cached, codec, connector]) await closing.close();
    process.exit(0);
  }
  results.segments = verifiedManifest.segments.length;
  results.storedBytes = verifiedManifest.segments.reduce((sum, s) => sum + s.storedBytes, 0);
  results.arrowBytes = verifiedManifest.bytes;

  // CRC-32 throughput on one segment's bytes (the verification's arithmetic alone).
  const one = await connector.getSegment(ref, verifiedManifest.segments[0].id);
  const crcTimes = [];
  for (let i = 0; i < 15; i++) {
    const started = performance.now();
    crc32(one);
    crcTimes.push(performance.now() - started);
  }
  results.crc32GBps = round(one.byteLength / median(crcTimes) / 1e6, 2);

  // Wall time, and the CPU time of the whole process (main thread and codec workers), which a
  // shared machine's other load disturbs less.
  const cpu = { verified: [], unverified: [] };
  const read = async (engine, variant, cpuTimes) => {
    const cpuBefore = process.cpuUsage();
    const started = performance.now();
    const bytes = await drain(await engine.read(ref, { version: versions[variant] }));
    if (bytes < results.arrowBytes * 0.9) throw new Error(`short read: ${bytes} bytes`);
    const elapsed = performance.now() - started;
    const used = process.cpuUsage(cpuBefore);
    cpuTimes?.[variant].push((used.user + used.system) / 1000);
    return elapsed;
  };
  // Warm-up: the page cache, the workers, the JIT.
  for (let i = 0; i < 2; i++) for (const variant of ['verified', 'unverified']) await read(uncached, variant);
  const times = { verified: [], unverified: [] };
  for (let run = 0; run < RUNS; run++) {
    const order = run % 2 === 0 ? ['verified', 'unverified', 'unverified', 'verified'] : ['unverified', 'verified', 'verified', 'unverified'];
    const pair = { verified: [], unverified: [] };
    for (const variant of order) pair[variant].push(await read(uncached, variant, cpu));
    for (const variant of ['verified', 'unverified']) times[variant].push(Math.min(...pair[variant]));
  }
  const a = median(times.verified);
  const b = median(times.unverified);
  // A against A: the two halves of each variant's runs (what the machine alone varies).
  const halves = (values) => Math.abs(median(values.filter((_, i) => i % 2 === 0)) - median(values.filter((_, i) => i % 2 === 1))) / median(values);
  results.cacheOff = {
    verifiedMs: round(a),
    unverifiedMs: round(b),
    costPercent: round(((a - b) / b) * 100),
    noiseFloorPercent: round(Math.max(halves(times.verified), halves(times.unverified)) * 100),
    verifiedCpuMs: round(median(cpu.verified)),
    unverifiedCpuMs: round(median(cpu.unverified)),
    cpuCostPercent: round(((median(cpu.verified) - median(cpu.unverified)) / median(cpu.unverified)) * 100),
    cpuNoiseFloorPercent: round(Math.max(halves(cpu.verified), halves(cpu.unverified)) * 100),
    verifiedRuns: times.verified.map((t) => round(t)),
    unverifiedRuns: times.unverified.map((t) => round(t)),
  };

  // With the cache on (the harness's W1: repeated gets of one frame): decoded once, verified once.
  await read(cached, 'verified');
  await read(cached, 'unverified');
  const hits = { verified: [], unverified: [] };
  for (let run = 0; run < RUNS; run++) for (const variant of run % 2 ? ['verified', 'unverified'] : ['unverified', 'verified']) hits[variant].push(await read(cached, variant));
  results.cacheOn = { verifiedMs: round(median(hits.verified)), unverifiedMs: round(median(hits.unverified)) };
  console.log(JSON.stringify(results, null, 2));
  const out = arg('json');
  if (out) await writeFile(out, `${JSON.stringify(results, null, 2)}\n`);
} finally {
  await uncached.close();
  await cached.close();
  await codec.close();
  await connector.close();
  if (!keep) await rm(root, { recursive: true, force: true });
}
