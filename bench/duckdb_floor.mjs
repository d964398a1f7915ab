// DuckDB alone on a frame's stored Parquet segments: the physical floor of Hangar's SQL (bench/compare.py W7).
// Reads a JSON job on stdin: {"frames": {"name": ["/path/seg.parquet", ...]}, "queries": {"S1": "SELECT ..."},
// "repeat": N}. Each frame becomes a plain view over read_parquet of its files (dictionary columns stay
// the stored int32 indices: no label mapping, no Hangar view, no gRPC, no Arrow conversion). Every query
// runs once untimed, then N times; each run streams its result chunk by chunk to the end. Prints
// {"S1": {"times_ms": [...], "rows": n} | {"error": "..."}} as JSON. Usage: node bench/duckdb_floor.mjs < job.json
import { DuckDBInstance } from '@duckdb/node-api';

const job = JSON.parse(await new Promise((resolve) => {
  let text = '';
  process.stdin.on('data', (chunk) => (text += chunk)).on('end', () => resolve(text));
}));
const instance = await DuckDBInstance.create(':memory:');
const connection = await instance.connect();
const quote = (text) => `'${text.replaceAll("'", "''")}'`;
for (const [name, files] of Object.entries(job.frames)) {
  await connection.run(`CREATE VIEW "${name}" AS SELECT * FROM read_parquet([${files.map(quote).join(', ')}])`);
}

async function drain(sql) {
  const result = await connection.stream(sql);
  let rows = 0;
  for (let chunk = await result.fetchChunk(); chunk !== null && chunk.rowCount > 0; chunk = await result.fetchChunk()) rows += chunk.rowCount;
  return rows;
}

const out = {};
for (const [key, sql] of Object.entries(job.queries)) {
  try {
    await drain(sql);
    const times = [];
    let rows = 0;
    for (let i = 0; i < job.repeat; i++) {
      const started = performance.now();
      rows = await drain(sql);
      times.push(performance.now() - started);
    }
    out[key] = { times_ms: times, rows };
  } catch (error) {
    out[key] = { error: String(error?.message ?? error).split('\n')[0] };
  }
}
process.stdout.write(JSON.stringify(out) + '\n');
