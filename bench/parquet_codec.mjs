// Micro-benchmark of the Parquet codec alone (parquet-wasm, one thread, no gRPC): how fast one
// segment encodes and decodes with the settings src/core/parquet/parquet-worker.ts uses, and with
// a few alternatives, beside the plain writer (uncompressed, the default; needs `npm run build`). Usage: node bench/parquet_codec.mjs SEGMENT.arrows [REPS]
// (bench/parquet_codec.py writes a segment-sized IPC stream of the put_get frame and runs this.)
// Rates are Arrow bytes (the IPC stream's size) per second of one core; MB = 10^6 bytes.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tableFromIPC } from 'apache-arrow';
import { encapsulateMessage, splitIpcStream } from '../dist/format/ipc-message.js';
import { readPlainParquet } from '../dist/format/parquet/plain-parquet-reader.js';
import { writePlainParquet } from '../dist/format/parquet/plain-parquet-writer.js';

const require = createRequire(import.meta.url);
const pq = require('parquet-wasm/node');

const [path, repsArg] = process.argv.slice(2);
if (!path) {
  console.error('usage: node bench/parquet_codec.mjs SEGMENT.arrows [REPS]');
  process.exit(2);
}
const reps = Number(repsArg ?? 3);
const ipc = new Uint8Array(readFileSync(path));
const MB = 1e6;

// The engine's sizing (src/core/engine.ts): 16 MiB row groups, 3 MiB batches on the way out.
const probe = pq.Table.fromIPCStream(ipc);
const rows = probe.recordBatches().reduce((sum, batch) => sum + batch.numRows, 0);
probe.free();
const bytesPerRow = ipc.byteLength / rows;
const rowGroupRows = Math.max(1024, Math.floor((16 * 1024 * 1024) / bytesPerRow));
const batchRows = Math.max(1024, Math.min(1 << 20, Math.floor((3 * 1024 * 1024) / bytesPerRow)));
const dictionaryColumns = ['category'];

function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

function time(fn) {
  fn(); // warm-up (JIT tiers, wasm memory growth)
  const samples = [];
  let result;
  for (let i = 0; i < reps; i++) {
    const started = performance.now();
    result = fn();
    samples.push(performance.now() - started);
  }
  return { ms: median(samples), result };
}

function report(label, { ms, result }, extra = '') {
  const rate = ipc.byteLength / MB / (ms / 1000);
  console.log(`  ${label.padEnd(58)} ${ms.toFixed(0).padStart(6)} ms  ${rate.toFixed(0).padStart(5)} MB/s${extra}`);
  return result;
}

function properties({ compression = pq.Compression.LZ4_RAW, statistics = pq.EnabledStatistics.Chunk } = {}) {
  let builder = new pq.WriterPropertiesBuilder()
    .setCompression(compression)
    .setDictionaryEnabled(false)
    .setStatisticsEnabled(statistics)
    .setMaxRowGroupSize(rowGroupRows)
    .setCreatedBy('hangar-bench');
  for (const column of dictionaryColumns) builder = builder.setColumnDictionaryEnabled(column, true);
  return builder.build();
}

function encodeWith(options) {
  return () => {
    const table = pq.Table.fromIPCStream(ipc);
    const inWasm = pq.writeParquet(table, properties(options));
    const out = new Uint8Array(inWasm.byteLength); // the worker's copy into a transferable buffer
    out.set(inWasm);
    return out;
  };
}

console.log(`segment: ${rows.toLocaleString()} rows, ${ipc.byteLength.toLocaleString()} IPC bytes; ` +
  `row groups of ${rowGroupRows.toLocaleString()} rows, batches of ${batchRows.toLocaleString()} rows; ` +
  `median of ${reps} after a warm-up`);

// Variants run interleaved, round after round, so drift (other load, memory growth) hits all alike.
function timeInterleaved(variants) {
  for (const variant of variants) variant.fn(); // warm-up
  const samples = variants.map(() => []);
  const results = [];
  for (let round = 0; round < reps; round++) {
    variants.forEach((variant, i) => {
      const started = performance.now();
      results[i] = variant.fn();
      samples[i].push(performance.now() - started);
    });
  }
  return variants.map((variant, i) => ({ label: variant.label, ms: median(samples[i]), result: results[i] }));
}

console.log('encode (Arrow IPC -> Parquet):');
const plainOptions = { rowGroupRows, statisticsColumns: ['ts'], arrowSchemaMessage: encapsulateMessage(splitIpcStream(ipc)[0]) };
const encodeResults = timeInterleaved([
  { label: 'Table.fromIPCStream only', fn: () => pq.Table.fromIPCStream(ipc).free() },
  { label: 'plain writer (the default): uncompressed, ts statistics', fn: () => writePlainParquet(tableFromIPC(ipc), plainOptions) },
  { label: 'as the server does: LZ4_RAW, chunk statistics', fn: encodeWith({}) },
  { label: 'UNCOMPRESSED, chunk statistics', fn: encodeWith({ compression: pq.Compression.UNCOMPRESSED }) },
  { label: 'LZ4_RAW, no statistics', fn: encodeWith({ statistics: pq.EnabledStatistics.None }) },
  { label: 'UNCOMPRESSED, no statistics', fn: encodeWith({ compression: pq.Compression.UNCOMPRESSED, statistics: pq.EnabledStatistics.None }) },
  { label: 'SNAPPY, chunk statistics', fn: encodeWith({ compression: pq.Compression.SNAPPY }) },
]);
for (const { label, ms, result } of encodeResults) {
  const size = result ? `  -> ${result.byteLength.toLocaleString()} bytes (${(result.byteLength / ipc.byteLength).toFixed(3)} of IPC)` : '';
  report(label, { ms, result }, size);
}
const parquet = encodeResults[2].result;
const plainParquet = encodeResults[1].result;

const groups = Math.ceil(rows / rowGroupRows);
const shared = new Uint8Array(new SharedArrayBuffer(parquet.byteLength));
shared.set(parquet);

function copyOut(inWasm) {
  const out = new Uint8Array(inWasm.byteLength);
  out.set(inWasm);
  return out;
}

console.log(`decode (Parquet -> Arrow IPC, ${groups} row groups):`);
report('as the server does: per row group, new Uint8Array(shared) + readParquet', time(() => {
  for (let group = 0; group < groups; group++) {
    copyOut(pq.readParquet(new Uint8Array(shared), { batchSize: batchRows, rowGroups: [group] }).intoIPCStream());
  }
}));
report('per row group, passing the shared view without the copy', time(() => {
  for (let group = 0; group < groups; group++) {
    copyOut(pq.readParquet(shared, { batchSize: batchRows, rowGroups: [group] }).intoIPCStream());
  }
}));
// The plain writer's file through both decoders, interleaved, without the copy into the worker:
// the server now tries the plain reader first.
for (const { label, ms, result } of timeInterleaved([
  {
    label: 'plain writer\'s file, parquet-wasm, per row group',
    fn: () => {
      for (let group = 0; group < groups; group++) copyOut(pq.readParquet(plainParquet, { batchSize: batchRows, rowGroups: [group] }).intoIPCStream());
    },
  },
  {
    label: 'plain writer\'s file, plain reader (the default), per row group',
    fn: () => {
      for (let group = 0; group < groups; group++) readPlainParquet(plainParquet, { batchRows, rowGroups: [group] });
    },
  },
])) {
  report(label, { ms, result });
}
report('whole segment in one readParquet call', time(() => {
  copyOut(pq.readParquet(parquet, { batchSize: batchRows }).intoIPCStream());
}));
report('only the copies: new Uint8Array(shared) x row groups', time(() => {
  for (let group = 0; group < groups; group++) new Uint8Array(shared);
}));
