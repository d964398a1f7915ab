// Where a put's time goes, in process (issue 23, W2 without the wire): the benchmark frame (ts µs,
// f0..f3 float64, a 100-value category; 64Ki-row batches, --rows rows) is cut into segments, and each
// phase of the write path is timed on its own, --rounds times, with the process's CPU time beside
// the wall time: joining a segment's batches (the copy on the event loop), Parquet encoding in a
// codec worker, writing the files, fsyncing them, and the whole engine.put into a fresh local
// store (fsync on) under each --logs layout (manifest, delta). `dd conv=fsync` of the frame's Arrow
// size into the same directory is the disk's floor. Prints medians and the load average.
//   node --single-threaded-gc --initial-old-space-size=256 bench/put_phases.mjs --rows 1000000 --rounds 5
import { execFileSync } from 'node:child_process';
import { mkdtemp, open, rm } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildModules } from './build-modules.mjs';

const arg = (name, fallback) => {
  const at = process.argv.indexOf(`--${name}`);
  return at > 0 ? process.argv[at + 1] : fallback;
};
const ROWS = Number(arg('rows', 1_000_000));
const ROUNDS = Number(arg('rounds', 5));
const LOGS = arg('logs', 'manifest,delta').split(',');

/** put_get.py's frame shape, in 64Ki-row batches (the values differ; the sizes and types do not). */
export async function frameIpc(rows) {
  const { Dictionary, Float64, Int32, Utf8, Table, TimestampMicrosecond, makeData, makeVector, tableToIPC, vectorFromArray } = await import('apache-arrow');
  const batches = [];
  const dictionary = vectorFromArray(Array.from({ length: 100 }, (_, i) => `category_${String(i).padStart(3, '0')}`), new Utf8());
  let seed = 1;
  const random = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648);
  for (let start = 0; start < rows; start += 65536) {
    const n = Math.min(65536, rows - start);
    const ts = BigInt64Array.from({ length: n }, (_, i) => (1_704_067_200n + BigInt(start + i)) * 1_000_000n);
    const columns = { ts: makeVector(makeData({ type: new TimestampMicrosecond(), length: n, data: ts })) };
    for (const name of ['f0', 'f1', 'f2', 'f3']) {
      columns[name] = makeVector(makeData({ type: new Float64(), length: n, data: Float64Array.from({ length: n }, () => Math.sqrt(-2 * Math.log(random() + 1e-12)) * Math.cos(6.283 * random())) }));
    }
    const codes = Int32Array.from({ length: n }, () => Math.floor(random() * 100));
    columns.category = makeVector(makeData({ type: new Dictionary(new Utf8(), new Int32(), 0), length: n, data: codes, dictionary }));
    batches.push(new Table(columns).batches[0]);
  }
  return tableToIPC(new Table(batches), 'stream');
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await main();

async function main() {
const dir = resolve(arg('build', '.'));
const { at, LocalConnector, HangarEngine, ParquetCodec, ObjectLayout, splitIpcStream } = await buildModules(dir);
const { joinIpcStream } = await at('format/ipc-message.js');
const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
const cpuMs = (since) => { const u = process.cpuUsage(since); return (u.user + u.system) / 1000; };
async function timed(action) {
  const cpu = process.cpuUsage();
  const started = performance.now();
  const result = await action();
  return { ms: performance.now() - started, cpuMs: cpuMs(cpu), result };
}

const ipc = await frameIpc(ROWS);
const messages = splitIpcStream(ipc);
const SEGMENT = 16 * 1024 * 1024;
/** The segments the writer would cut: schema + dictionary + batches up to 16 MiB of bodies each. */
function segmentsOf() {
  const [schema, dictionary, ...batches] = messages;
  const out = [];
  let pending = [];
  let bytes = 0;
  for (const batch of batches) {
    pending.push(batch);
    bytes += batch.body.byteLength;
    if (bytes >= SEGMENT) { out.push([schema, dictionary, ...pending]); pending = []; bytes = 0; }
  }
  if (pending.length) out.push([schema, dictionary, ...pending]);
  return out;
}
const root = await mkdtemp(join(arg('dir', tmpdir()), 'put-phases-'));
const codec = new ParquetCodec(2);
const schema = (await import('apache-arrow')).tableFromIPC(ipc).schema;
const { dictionaryColumns, statisticsColumns } = await at('core/segment-builder.js');
/** A segment encoded as the writer does it: as runs where the build can (encodeSegmentParts), else whole. */
const encodeOne = async (segment) => (codec.encodeSegmentParts ? (await codec.encodeSegmentParts(segment, encodeOptions)).parts : [(await codec.encodeSegment(segment, encodeOptions)).bytes]);
const encodeOptions = { rowGroupRows: 65536, dictionaryColumns: dictionaryColumns(schema), statisticsColumns: statisticsColumns(schema), compression: 'none' };
const phases = { join: [], encode: [], encodeParallel: [], write: [], fsync: [], dd: [] };
const puts = Object.fromEntries(LOGS.map((log) => [log, []]));
const stores = {};
for (const log of LOGS) {
  const store = new ObjectLayout(new LocalConnector({ root: join(root, log) }), { log });
  await store.open();
  stores[log] = { store, engine: new HangarEngine(store, codec, {}) };
}
const stream = () => (async function* () { yield* messages; })();
let storedBytes = 0;
for (let round = -1; round < ROUNDS; round++) {
  const keep = (phase, value) => { if (round >= 0) phases[phase].push(value); };
  const joined = await timed(async () => segmentsOf().map((segment) => joinIpcStream(segment)));
  keep('join', joined);
  const files = [];
  let encodeMs = 0, encodeCpu = 0;
  for (const segment of joined.result) {
    const one = await timed(() => encodeOne(segment.slice()));
    encodeMs += one.ms;
    files.push(one.result);
  }
  keep('encode', { ms: encodeMs });
  keep('encodeParallel', await timed(() => Promise.all(joined.result.map((segment) => encodeOne(segment.slice())))));
  storedBytes = files.reduce((sum, parts) => sum + parts.reduce((bytes, part) => bytes + part.byteLength, 0), 0);
  const handles = await Promise.all(files.map((_, i) => open(join(root, `segment-${i}`), 'w')));
  keep('write', await timed(() => Promise.all(files.map((parts, i) => handles[i].writev(parts)))));
  keep('fsync', await timed(() => Promise.all(handles.map((handle) => handle.sync()))));
  await Promise.all(handles.map((handle) => handle.close()));
  const dd = performance.now();
  execFileSync('dd', ['if=/dev/zero', `of=${join(root, 'dd.bin')}`, 'bs=4M', `count=${Math.max(1, Math.round(ipc.byteLength / 4194304))}`, 'conv=fsync', 'status=none']);
  keep('dd', { ms: performance.now() - dd });
  for (const log of round % 2 === 0 ? LOGS : [...LOGS].reverse()) {
    const put = await timed(() => stores[log].engine.put({ bucket: 'default', name: 'frame' }, 'replace', stream()));
    if (round >= 0) puts[log].push(put);
  }
}
const row = (label, values) => {
  const cpu = values.some((v) => v.cpuMs !== undefined) ? `  CPU ${median(values.map((v) => v.cpuMs)).toFixed(1).padStart(6)} ms` : '';
  console.log(`${label.padEnd(34)} ${median(values.map((v) => v.ms)).toFixed(1).padStart(7)} ms${cpu}   (${values.map((v) => v.ms.toFixed(0)).join(', ')})`);
};
console.log(`${ROWS} rows, ${(ipc.byteLength / 1e6).toFixed(1)} MB of Arrow IPC, ${joinedCount()} segments, ${(storedBytes / 1e6).toFixed(1)} MB of Parquet; medians of ${ROUNDS}; load ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
function joinedCount() { return segmentsOf().length; }
row('join (copy batches into segments)', phases.join);
row('encode, one segment at a time', phases.encode);
row('encode, all segments at once', phases.encodeParallel);
row('write the Parquet files', phases.write);
row('fsync them', phases.fsync);
row('dd conv=fsync of the Arrow size', phases.dd);
for (const log of LOGS) row(`engine.put, ${log} layout`, puts[log]);
for (const { store, engine } of Object.values(stores)) { await engine.close(); await store.close(); }
await codec.close();
await rm(root, { recursive: true, force: true });
}
