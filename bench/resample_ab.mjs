// Same-run A/B of the resample action's single pass (issue 23), in process: one local store holding
// W4's numeric frame (ts µs 1 s apart, f0..f3 float64; 64Ki-row batches), one engine. Per
// aggregation (1-minute mean, sum, last, ohlc) and round: the DuckDB statement streamed into a put
// of the target (what the action ran before), the action (now the single pass), and the statement
// again (the A/A pair: its spread is the noise); order rotates each round. Medians in ms.
// Usage: npm run build && node --single-threaded-gc --initial-old-space-size=256 bench/resample_ab.mjs [--rows N] [--runs N] [--json PATH]
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Float64, Table, TimestampMicrosecond, makeData, makeVector, tableToIPC } from 'apache-arrow';
import { LocalConnector } from '../dist/connectors/local/local-connector.js';
import { HangarEngine } from '../dist/core/engine.js';
import { splitIpcStream } from '../dist/format/ipc-message.js';
import { ParquetCodec } from '../dist/format/parquet/parquet-codec.js';
import { ObjectLayout } from '../dist/storage/object-layout.js';
import { parseResampleRequest, planResample, resample, resampleSql } from '../dist/core/resample.js';

const arg = (name, fallback) => {
  const at = process.argv.indexOf(`--${name}`);
  return at >= 0 ? process.argv[at + 1] : fallback;
};
const ROWS = Number(arg('rows', 1_000_000));
const RUNS = Number(arg('runs', 7));
const T0 = 1_704_067_200_000_000n;
const rows = ROWS;
const ts = BigInt64Array.from({ length: rows }, (_, i) => T0 + BigInt(i) * 1_000_000n);
const column = (seed) => makeVector(Float64Array.from({ length: rows }, (_, i) => Math.sin(i * seed) * 100));
const whole = new Table({ ts: makeVector(makeData({ type: new TimestampMicrosecond(), length: rows, data: ts })), f0: column(1), f1: column(2), f2: column(3), f3: column(4) });
const batches = [];
for (let start = 0; start < rows; start += 65_536) batches.push(...whole.slice(start, Math.min(rows, start + 65_536)).batches);

const store = new ObjectLayout(new LocalConnector({ root: mkdtempSync(join(tmpdir(), 'hangar-resample-ab-')) }));
await store.open();
const codec = new ParquetCodec(2);
const engine = new HangarEngine(store, codec, {});
const source = { bucket: 'default', name: 'numeric' };
await engine.put(source, 'replace', (async function* () { yield* splitIpcStream(tableToIPC(new Table(batches), 'stream')); })());
const info = await engine.stat(source);

async function statement(aggregation) {
  const request = parseResampleRequest({ source: 'numeric', target: `sql_${aggregation}`, mode: 'replace', rule: '1min', time_col: 'ts', aggregation_func: aggregation });
  const started = performance.now();
  const plan = planResample(source, info.schema, 'ts', request.rule, aggregation);
  const stream = await engine.query(resampleSql(plan), { bucket: 'default' });
  await engine.put(request.target, 'replace', stream.messages, { allowUnordered: true });
  return performance.now() - started;
}
async function action(aggregation) {
  const request = parseResampleRequest({ source: 'numeric', target: `pass_${aggregation}`, mode: 'replace', rule: '1min', time_col: 'ts', aggregation_func: aggregation });
  const started = performance.now();
  await resample(engine, request);
  return performance.now() - started;
}
const variants = [['statement (A)', statement], ['single pass', action], ['statement (A again)', statement]];
const aggregations = ['mean', 'sum', 'last', 'ohlc'];
const times = Object.fromEntries(aggregations.map((a) => [a, variants.map(() => [])]));
for (let round = -2; round < RUNS; round++) {
  for (const aggregation of aggregations) {
    for (let k = 0; k < variants.length; k++) {
      const v = (k + Math.max(round, 0)) % variants.length;
      const elapsed = await variants[v][1](aggregation);
      if (round >= 0) times[aggregation][v].push(elapsed);
    }
  }
}
const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
const report = aggregations.map((aggregation) => ({ aggregation, ...Object.fromEntries(variants.map(([label], v) => [label, Number(median(times[aggregation][v]).toFixed(1))])) }));
console.table(report);
const json = arg('json', undefined);
if (json) writeFileSync(json, JSON.stringify({ rows: ROWS, runs: RUNS, date: new Date().toISOString(), report, times }, null, 1));
process.exit(0);
