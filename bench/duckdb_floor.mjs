// DuckDB alone on a frame's stored Parquet segments: the physical floor of Hangar's SQL (bench/compare.py W7).
// Reads a JSON job on stdin: {"frames": {"name": ["/path/seg.parquet", ...]}, "queries": {"S1": "SELECT ..."},
// "repeat": N, "memory": true|false, "enum_columns": ["category"]}. Each frame becomes a plain view over
// read_parquet of its files (dictionary columns stay as stored: no label mapping, no Hangar view, no gRPC,
// no Arrow conversion). Every query runs once untimed, then N times; each run streams its result chunk by
// chunk to the end. With "memory", each frame is then also copied into a DuckDB in-memory table (what
// Hangar's hot frames are; the enum_columns, the frame's dictionary columns, as ENUMs as Hangar's views
// make them) and every query runs again on those, materialized (as Hangar runs a repeated small result):
// `memory_times_ms`, `memory_rows`. Prints {"S1": {"times_ms": [...], "rows": n, "memory_times_ms": [...], ...} | {"error": "..."}}
// as JSON. Usage: node bench/duckdb_floor.mjs < job.json
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
if (job.memory) {
  await connection.run('CREATE SCHEMA hot');
  let enums = 0;
  for (const name of Object.keys(job.frames)) {
    const columns = (await connection.runAndReadAll(`SELECT column_name FROM (DESCRIBE main."${name}")`)).getRows().map((row) => String(row[0]));
    const replaced = [];
    for (const column of columns.filter((c) => (job.enum_columns ?? []).includes(c))) {
      const type = `enum_${++enums}`;
      await connection.run(`CREATE TYPE ${type} AS ENUM (SELECT DISTINCT "${column}"::VARCHAR FROM main."${name}" WHERE "${column}" IS NOT NULL)`);
      replaced.push(`"${column}"::VARCHAR::${type} AS "${column}"`);
    }
    const select = replaced.length ? `SELECT * REPLACE (${replaced.join(', ')})` : 'SELECT *';
    await connection.run(`CREATE TABLE hot."${name}" AS ${select} FROM main."${name}"`);
  }
  await connection.run("SET search_path = 'hot'");
  for (const [key, sql] of Object.entries(job.queries)) {
    if (!out[key]?.times_ms) continue;
    try {
      const run = async () => {
        const result = await connection.run(sql);
        let rows = 0;
        for (let i = 0; i < result.chunkCount; i++) rows += result.getChunk(i).rowCount;
        return rows;
      };
      await run();
      const times = [];
      let rows = 0;
      for (let i = 0; i < job.repeat; i++) {
        const started = performance.now();
        rows = await run();
        times.push(performance.now() - started);
      }
      out[key].memory_times_ms = times;
      out[key].memory_rows = rows;
    } catch (error) {
      out[key].memory_error = String(error?.message ?? error).split('\n')[0];
    }
  }
}
process.stdout.write(JSON.stringify(out) + '\n');
