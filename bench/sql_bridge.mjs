// The DuckDB→Arrow bridge alone, in rows/s: a table materialised in DuckDB is streamed through
// resultBatches (dist/) for a numeric-only and a string-heavy shape. Median of --runs (default 5).
// Usage: node --expose-gc <the node flags of package.json's start script> bench/sql_bridge.mjs
//          [--rows N] [--runs N] [--shape numeric|string-heavy] [--json PATH]
// bench/run.sh passes the server's flags: the bridge's speed depends on them (docs/performance.md, "V8 flags").
import { writeFileSync } from 'node:fs';
import { DuckDBInstance } from '@duckdb/node-api';
import { resultBatches } from '../dist/core/sql/result-batches.js';

const arg = (name, fallback) => {
  const at = process.argv.indexOf(`--${name}`);
  return at >= 0 ? process.argv[at + 1] : fallback;
};
const rows = Number(arg('rows', 10_000_000));
const runs = Number(arg('runs', 5));
const instance = await DuckDBInstance.create(':memory:', { threads: '2' });
const connection = await instance.connect();
const shapes = {
  numeric: `SELECT TIMESTAMP '2024-01-01' + to_microseconds(i) AS ts, random() AS a, random() AS b, random() AS c, random() AS d FROM range(${rows}) t(i)`,
  'string-heavy': `SELECT 'sensor-' || lpad((i % 9973)::VARCHAR, 13, '0') AS s1, 'location-' || lpad((i % 7919)::VARCHAR, 11, '0') AS s2, md5(i::VARCHAR)[1:20] AS s3 FROM range(${rows}) t(i)`,
};
const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
const results = {};
const only = arg('shape');
for (const [shape, sql] of Object.entries(shapes).filter(([name]) => !only || name === only)) {
  await connection.run(`CREATE OR REPLACE TABLE t AS ${sql}`);
  const seconds = [];
  let bytes = 0;
  for (let run = 0; run <= runs; run++) {
    globalThis.gc?.(); // DuckDB frees native results in finalizers: collect between runs, not during
    const started = performance.now();
    const result = await connection.stream('SELECT * FROM t');
    let seen = 0;
    bytes = 0;
    for await (const batch of resultBatches(result, 3 * 1024 * 1024)) {
      seen += batch.numRows;
      for (const child of batch.data.children) bytes += child.byteLength;
    }
    if (seen !== rows) throw new Error(`${shape}: expected ${rows} rows, got ${seen}`);
    if (run > 0) seconds.push((performance.now() - started) / 1000); // run 0 warms up
  }
  const s = median(seconds);
  results[shape] = { rows, medianSeconds: s, rowsPerSecond: rows / s, arrowMB: bytes / 1e6 };
  console.log(`${shape.padEnd(13)} ${(rows / s / 1e6).toFixed(2)} M rows/s  (${s.toFixed(3)} s median of ${runs}, ${(bytes / 1e6).toFixed(0)} MB Arrow)`);
}
const json = arg('json');
if (json) writeFileSync(json, JSON.stringify({ bench: 'sql-bridge', results }, null, 2));
