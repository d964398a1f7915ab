// The segment codec decision (issue 20 item 3, docs/storage-layout.md): one segment of the benchmark
// frame (bench/put_get.py's make_table, dictionary column as its indices, as the engine stores it)
// encoded with no compression (Hangar's plain writer, the default), LZ4_RAW, SNAPPY and ZSTD
// (parquet-wasm, as the `lz4` setting writes), then decoded (plain reader; parquet-wasm per row
// group): stored size, encode and decode time on one core. Variants run interleaved, round after
// round, so a shared machine's drift hits all alike; medians of REPS after a warm-up.
// Usage: npm run build && python bench/segment_codecs.py [--rows N] [--reps N]   (writes the segment, runs this)
//        node bench/segment_codecs.mjs SEGMENT.arrows [REPS]
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { loadavg } from 'node:os';
import { tableFromIPC } from 'apache-arrow';
import { encapsulateMessage, splitIpcStream } from '../dist/format/ipc-message.js';
import { readPlainParquet } from '../dist/format/parquet/plain-parquet-reader.js';
import { writePlainParquet } from '../dist/format/parquet/plain-parquet-writer.js';

const pq = createRequire(import.meta.url)('parquet-wasm/node');
const [path, repsArg] = process.argv.slice(2);
if (!path) throw new Error('usage: node bench/segment_codecs.mjs SEGMENT.arrows [REPS]');
const reps = Number(repsArg ?? 5);
const ipc = new Uint8Array(readFileSync(path));
const table = tableFromIPC(ipc);
const rowGroupRows = Math.max(1024, Math.ceil(table.numRows / Math.max(1, Math.round(ipc.byteLength / (2 * 1024 * 1024)))));
const batchRows = 65536;
const median = (values) => [...values].sort((a, b) => a - b)[values.length >> 1];

function wasmEncoder(compression) {
  return () => {
    const builder = new pq.WriterPropertiesBuilder()
      .setCompression(compression)
      .setDictionaryEnabled(false)
      .setStatisticsEnabled(pq.EnabledStatistics.Chunk)
      .setMaxRowGroupSize(rowGroupRows)
      .setColumnDictionaryEnabled('category', true);
    const inWasm = pq.writeParquet(pq.Table.fromIPCStream(ipc), builder.build());
    return new Uint8Array(inWasm);
  };
}
const groups = Math.ceil(table.numRows / rowGroupRows);
const wasmDecode = (file) => {
  for (let group = 0; group < groups; group++) new Uint8Array(pq.readParquet(file, { batchSize: batchRows, rowGroups: [group] }).intoIPCStream());
};
const codecs = [
  {
    name: 'none (plain writer/reader)',
    encode: () => writePlainParquet(table, { rowGroupRows, statisticsColumns: ['ts'], arrowSchemaMessage: encapsulateMessage(splitIpcStream(ipc)[0]) }),
    decode: (file) => {
      for (let group = 0; group < groups; group++) readPlainParquet(file, { batchRows, rowGroups: [group] });
    },
  },
  { name: 'lz4 (LZ4_RAW, parquet-wasm)', encode: wasmEncoder(pq.Compression.LZ4_RAW), decode: wasmDecode },
  { name: 'snappy (parquet-wasm)', encode: wasmEncoder(pq.Compression.SNAPPY), decode: wasmDecode },
  { name: 'zstd (level 1, parquet-wasm)', encode: wasmEncoder(pq.Compression.ZSTD), decode: wasmDecode },
];
const files = codecs.map((codec) => codec.encode()); // warm-up
codecs.forEach((codec, i) => codec.decode(files[i]));
const times = codecs.map(() => ({ encode: [], decode: [] }));
for (let round = 0; round < reps; round++) {
  codecs.forEach((codec, i) => {
    let started = performance.now();
    files[i] = codec.encode();
    times[i].encode.push(performance.now() - started);
    started = performance.now();
    codec.decode(files[i]);
    times[i].decode.push(performance.now() - started);
  });
}
const result = {
  rows: table.numRows,
  ipcBytes: ipc.byteLength,
  rowGroups: groups,
  reps,
  load: loadavg().map((value) => Number(value.toFixed(2))),
  codecs: codecs.map((codec, i) => ({
    codec: codec.name,
    bytes: files[i].byteLength,
    ofIpc: Number((files[i].byteLength / ipc.byteLength).toFixed(3)),
    encodeMs: Number(median(times[i].encode).toFixed(1)),
    decodeMs: Number(median(times[i].decode).toFixed(1)),
    encodeRangeMs: [Math.min(...times[i].encode), Math.max(...times[i].encode)].map((v) => Number(v.toFixed(1))),
    decodeRangeMs: [Math.min(...times[i].decode), Math.max(...times[i].decode)].map((v) => Number(v.toFixed(1))),
  })),
};
console.log(JSON.stringify(result, null, 2));
