// W7's S5 (hourly buckets) in DuckDB alone, on an in-memory table like a hot frame (1M rows: ts TIMESTAMP 1 s apart,
// f0..f3 DOUBLE), written three ways: date_trunc (the benchmark's SQL), time_bucket, and integer buckets of
// epoch_us. Two rounds of 9 runs each (the second round is the A/A); prints median and min ms, then EXPLAIN ANALYZE
// of the date_trunc form. Shows where S5's time goes inside DuckDB, before Hangar adds anything.
//   node bench/sql_hour_buckets.mjs [rows]
import { DuckDBInstance } from '@duckdb/node-api';
import { loadavg } from 'node:os';

const rows = Number(process.argv[2] ?? 1_000_000);
const db = await DuckDBInstance.create(':memory:', { threads: '2' });
const connection = await db.connect();
await connection.run(
  `CREATE TABLE t AS SELECT TIMESTAMP '2024-01-01' + to_seconds(i) AS ts, random() AS f0, random() AS f1, random() AS f2, random() AS f3 FROM range(${rows}) r(i)`,
);
const forms = {
  date_trunc: `SELECT date_trunc('hour', ts) AS hour, avg(f0) AS a, max(f1) AS m FROM t GROUP BY date_trunc('hour', ts)`,
  time_bucket: `SELECT time_bucket(INTERVAL '1 hour', ts) AS hour, avg(f0) AS a, max(f1) AS m FROM t GROUP BY 1`,
  epoch_us_div: `SELECT make_timestamp((epoch_us(ts) // 3600000000) * 3600000000) AS hour, avg(f0) AS a, max(f1) AS m FROM t GROUP BY epoch_us(ts) // 3600000000`,
};
console.log(`${rows} rows, load ${loadavg()[0].toFixed(1)}`);
for (let round = 0; round < 2; round++) {
  for (const [name, sql] of Object.entries(forms)) {
    const times = [];
    for (let i = 0; i < 9; i++) {
      const started = performance.now();
      (await connection.runAndReadAll(sql)).getRows();
      times.push(performance.now() - started);
    }
    times.sort((a, b) => a - b);
    console.log(`round ${round + 1} ${name.padEnd(12)} median ${times[4].toFixed(1)} ms  min ${times[0].toFixed(1)} ms`);
  }
}
console.log(`load ${loadavg()[0].toFixed(1)}`);
const plan = await connection.runAndReadAll(`EXPLAIN ANALYZE ${forms.date_trunc}`);
console.log(plan.getRows().map((row) => row[1]).join('\n'));
