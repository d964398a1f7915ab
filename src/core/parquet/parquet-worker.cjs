// Worker thread for Parquet encode/decode (parquet-wasm), so the event loop never runs the codec.
// Plain CommonJS because parquet-wasm's Node build is CommonJS and workers load files, not TS.
'use strict';
const { parentPort } = require('node:worker_threads');
const pq = require('parquet-wasm/node');
const arrow = require('apache-arrow');

function encode(request) {
  let builder = new pq.WriterPropertiesBuilder()
    .setCompression(pq.Compression.LZ4_RAW)
    // Dictionary-encoding high-cardinality numeric columns triples write time for no gain;
    // keep it where it pays: strings, binaries and Arrow dictionary columns.
    .setDictionaryEnabled(false)
    .setStatisticsEnabled(pq.EnabledStatistics.None)
    .setMaxRowGroupSize(request.rowGroupRows)
    .setCreatedBy('hangar');
  for (const column of request.dictionaryColumns) builder = builder.setColumnDictionaryEnabled(column, true);
  for (const column of request.statisticsColumns) {
    builder = builder.setColumnStatisticsEnabled(column, pq.EnabledStatistics.Chunk);
  }
  const table = pq.Table.fromIPCStream(new Uint8Array(request.ipc));
  return pq.writeParquet(table, builder.build());
}

function decode(request) {
  const options = { batchSize: request.batchRows, rowGroups: request.rowGroups };
  const ipc = pq.readParquet(request.parquet, options).intoIPCStream();
  if (!request.columns) return ipc;
  // parquet-wasm's synchronous reader ignores its `columns` option, so project after decoding.
  // Table.select returns the columns in the requested order, which the engine's schema follows.
  return arrow.tableToIPC(arrow.tableFromIPC(ipc).select([...new Set(request.columns)]), 'stream');
}

parentPort.on('message', (request) => {
  try {
    const result = request.op === 'encode' ? encode(request) : decode(request);
    // parquet-wasm returns results already copied out of wasm memory: transfer them as they are.
    const out = result.byteOffset === 0 && result.byteLength === result.buffer.byteLength ? result : result.slice();
    parentPort.postMessage({ id: request.id, ok: true, bytes: out.buffer }, [out.buffer]);
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    parentPort.postMessage({ id: request.id, ok: false, message });
  }
});
