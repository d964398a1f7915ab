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

async function decode(request) {
  const options = { batchSize: request.batchRows, rowGroups: request.rowGroups };
  if (!request.columns) return pq.readParquet(request.parquet, options).intoIPCStream();
  const wanted = [...new Set(request.columns)];
  // parquet-wasm's synchronous reader ignores its `columns` option; its file reader honours it and
  // touches only the projected column chunks, which is what lets ranged reads leave the other
  // chunks unfetched (zeros). Should it fail, the synchronous reader decodes all and we project.
  let ipc;
  try {
    const file = await pq.ParquetFile.fromFile(new Blob([request.parquet]));
    try {
      ipc = (await file.read({ ...options, columns: wanted })).intoIPCStream();
    } finally {
      file.free();
    }
  } catch {
    ipc = pq.readParquet(request.parquet, options).intoIPCStream();
  }
  // Table.select returns the columns in the requested order, which the engine's schema follows;
  // it also drops extra columns the reader matched by dotted name (a flat 'p.q' for a struct 'p').
  return arrow.tableToIPC(arrow.tableFromIPC(ipc).select(wanted), 'stream');
}

parentPort.on('message', async (request) => {
  try {
    const result = request.op === 'encode' ? encode(request) : await decode(request);
    // parquet-wasm returns results already copied out of wasm memory: transfer them as they are.
    const out = result.byteOffset === 0 && result.byteLength === result.buffer.byteLength ? result : result.slice();
    parentPort.postMessage({ id: request.id, ok: true, bytes: out.buffer }, [out.buffer]);
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    parentPort.postMessage({ id: request.id, ok: false, message });
  }
});
