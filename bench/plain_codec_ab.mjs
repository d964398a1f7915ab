// Same-run A/B of two builds' plain Parquet writer and reader, in process, on one segment of the
// W1/W2 benchmark frame (bench/store_ab.mjs's frame: a UTC nanosecond time column of whole seconds,
// three float64 columns, an int64 column): encode (encodePlainParquet) and decode of every row group
// with page CRCs checked (what a get of a whole segment does). Each build is loaded twice (two module
// instances), so the run also gives an A/A pair per build: the noise floor. Variants run interleaved,
// round after round, so a shared machine's drift hits all alike; medians (and minima) of --reps.
// Usage: npm run build && node bench/plain_codec_ab.mjs --baseline /path/to/other/checkout [--rows N] [--reps N] [--json PATH]
import { writeFile } from 'node:fs/promises';
import { loadavg } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Float64, Table, TimestampNanosecond, makeData, makeVector, tableFromIPC, tableToIPC } from 'apache-arrow';

const arg = (name, fallback) => {
  const at = process.argv.indexOf(`--${name}`);
  return at >= 0 ? process.argv[at + 1] : fallback;
};
const ROWS = Number(arg('rows', 400_000));
const REPS = Number(arg('reps', 15));
const BASELINE = arg('baseline', undefined);
if (!BASELINE) throw new Error('--baseline DIR (a built checkout to compare with) is required');
const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];

function frame(rows) {
  const ts = BigInt64Array.from({ length: rows }, (_, i) => 1_700_000_000_000_000_000n + BigInt(i) * 1_000_000_000n);
  const column = (seed) => Float64Array.from({ length: rows }, (_, i) => (i * seed) % 1000);
  return new Table({
    ts: makeVector(makeData({ type: new TimestampNanosecond('UTC'), length: rows, data: ts })),
    f0: makeVector(column(7)),
    f1: makeVector(column(13)),
    f2: makeVector(column(31)),
    n: makeVector(BigInt64Array.from({ length: rows }, (_, i) => BigInt(i))),
  });
}

async function load(label, dist, instance) {
  const at = (path) => import(`${pathToFileURL(join(dist, path)).href}?instance=${instance}`);
  const writer = await at('format/parquet/plain-parquet-writer.js');
  const reader = await at('format/parquet/plain-parquet-reader.js');
  const ipc = await at('format/ipc-message.js');
  return { label, writer, reader, ipc };
}

const segment = tableToIPC(frame(ROWS), 'stream');
// 2 MiB row groups, as the engine cuts a 16 MiB segment.
const rowGroupRows = Math.max(1024, Math.ceil(ROWS / Math.max(1, Math.round(segment.byteLength / (2 * 1024 * 1024)))));
const variants = [
  await load('this', resolve('dist'), 1),
  await load('this-again', resolve('dist'), 2),
  await load('baseline', resolve(BASELINE, 'dist'), 1),
  await load('baseline-again', resolve(BASELINE, 'dist'), 2),
];

function encodeWith(variant) {
  const table = tableFromIPC(segment);
  return variant.writer.encodePlainParquet(table, {
    rowGroupRows,
    statisticsColumns: ['ts', 'n'],
    arrowSchemaMessage: variant.ipc.encapsulateMessage(variant.ipc.splitIpcStream(segment)[0]),
  });
}

const files = Object.fromEntries(variants.map((variant) => [variant.label, encodeWith(variant).file]));
const groups = Array.from({ length: Math.ceil(ROWS / rowGroupRows) }, (_, i) => i);
const results = Object.fromEntries(variants.map((variant) => [variant.label, { encode: [], decode: [] }]));
const loads = [loadavg()[0]];
for (let rep = 0; rep < REPS; rep++) {
  const order = rep % 2 === 0 ? variants : [...variants].reverse();
  for (const variant of order) {
    let started = process.hrtime.bigint();
    encodeWith(variant);
    results[variant.label].encode.push(Number(process.hrtime.bigint() - started) / 1e6);
    started = process.hrtime.bigint();
    variant.reader.readPlainParquet(files[variant.label], { rowGroups: groups, batchRows: 65536, verifyPageCrcs: true });
    results[variant.label].decode.push(Number(process.hrtime.bigint() - started) / 1e6);
  }
}
loads.push(loadavg()[0]);
const summary = Object.fromEntries(
  Object.entries(results).map(([label, r]) => [
    label,
    {
      encodeMs: Number(median(r.encode).toFixed(2)),
      decodeMs: Number(median(r.decode).toFixed(2)),
      encodeMinMs: Number(Math.min(...r.encode).toFixed(2)),
      decodeMinMs: Number(Math.min(...r.decode).toFixed(2)),
      bytes: files[label].byteLength,
    },
  ]),
);
const ratio = (a, b, op) => Number((summary[a][op] / summary[b][op]).toFixed(3));
const report = {
  rows: ROWS,
  reps: REPS,
  rowGroupRows,
  loadAverage: loads.map((value) => Number(value.toFixed(2))),
  summary,
  ab: { encode: ratio('this', 'baseline', 'encodeMs'), decode: ratio('this', 'baseline', 'decodeMs') },
  abMin: { encode: ratio('this', 'baseline', 'encodeMinMs'), decode: ratio('this', 'baseline', 'decodeMinMs') },
  aaThis: { encode: ratio('this', 'this-again', 'encodeMs'), decode: ratio('this', 'this-again', 'decodeMs') },
  aaBaseline: { encode: ratio('baseline', 'baseline-again', 'encodeMs'), decode: ratio('baseline', 'baseline-again', 'decodeMs') },
  aaMin: { encode: ratio('this', 'this-again', 'encodeMinMs'), decode: ratio('baseline', 'baseline-again', 'decodeMinMs') },
};
console.log(JSON.stringify(report, null, 2));
const json = arg('json', undefined);
if (json) await writeFile(json, `${JSON.stringify(report, null, 2)}\n`);
