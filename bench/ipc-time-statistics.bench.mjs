// Cost of reading a time column's min/max/nulls out of an IPC record batch (segment statistics).
// Usage: npm run build && node bench/ipc-time-statistics.bench.mjs [rows]
import { Table, TimestampNanosecond, makeData, makeVector, tableToIPC } from 'apache-arrow';
import { splitIpcStream } from '../dist/format/ipc-message.js';
import { batchTimeStatistics, locateTimeColumn } from '../dist/format/ipc-time-statistics.js';

const rows = Number(process.argv[2] ?? 10_000_000);
const sorted = new BigInt64Array(rows);
for (let i = 0; i < rows; i++) sorted[i] = 1_700_000_000_000_000_000n + BigInt(i) * 1_000n;
const shuffled = sorted.slice();
for (let i = rows - 1; i > 0; i--) {
  const j = Math.floor(Math.random() * (i + 1));
  [shuffled[i], shuffled[j]] = [shuffled[j], shuffled[i]];
}
const someNulls = new Uint8Array(Math.ceil(rows / 8)).fill(0xff);
someNulls[0] = 0xfe;

/** Median of several timed runs after warm-up. */
function median(run) {
  for (let i = 0; i < 3; i++) run();
  const times = [];
  for (let i = 0; i < 9; i++) {
    const start = performance.now();
    run();
    times.push(performance.now() - start);
  }
  return times.sort((a, b) => a - b)[4];
}

for (const [label, values, nullBitmap] of [
  ['sorted, no nulls', sorted, undefined],
  ['sorted, with nulls', sorted, someNulls],
  ['shuffled, no nulls', shuffled, undefined],
]) {
  const data = makeData({ type: new TimestampNanosecond(), length: rows, nullCount: nullBitmap ? 1 : 0, nullBitmap, data: values });
  const table = new Table({ ts: makeVector(data) });
  const [, batch] = splitIpcStream(tableToIPC(table, 'stream'));
  const locator = locateTimeColumn(table.schema, 'ts');
  const ms = median(() => batchTimeStatistics(batch, locator));
  console.log(`${label}: ${rows} values in ${ms.toFixed(1)} ms`);
}
