// The SQL path's memory over many frame versions, in process: each round replaces a 50,000-row
// frame, appends 1,000 rows to another, runs three queries over them (the soak's SQL) and every
// tenth round vacuums; every N rounds it prints RSS, the JavaScript heap and DuckDB's memory by
// tag (`duckdb_memory()`). A leak per segment or per view generation shows as a steady rise.
// Usage: npm run build && node --expose-gc bench/sql_memory_loop.mjs [rounds=3000] [every=250] [--cancel]
// (`--cancel`: no puts after the first; each round runs three self-joins cancelled after 1 ms.)
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { tableFromArrays, tableFromIPC, tableToIPC } from 'apache-arrow';
import { LocalConnector } from '../dist/connectors/local/local-connector.js';
import { HangarEngine } from '../dist/core/engine.js';
import { joinIpcStream, splitIpcStream } from '../dist/format/ipc-message.js';
import { ParquetCodec } from '../dist/format/parquet/parquet-codec.js';

const positional = process.argv.slice(2).filter((arg) => !arg.startsWith('--'));
const ROUNDS = Number(positional[0] ?? 3000);
const EVERY = Number(positional[1] ?? 250);
const CANCEL = process.argv.includes('--cancel');
const BUCKET = 'default';

const dir = mkdtempSync(join(tmpdir(), 'hangar-sql-memory-'));
const connector = new LocalConnector({ root: dir, fsync: false });
await connector.open();
const codec = new ParquetCodec(1);
const engine = new HangarEngine(connector, codec, { retention: { keepVersions: 3, keepForMs: 0, graceMs: 0 } });

const frame = (rows, offset) =>
  tableToIPC(
    tableFromArrays({
      ts: Float64Array.from({ length: rows }, (_, i) => i + offset),
      x: Float64Array.from({ length: rows }, (_, i) => Math.sin(i + offset)),
      y: Float64Array.from({ length: rows }, (_, i) => i * 0.5),
      sym: Array.from({ length: rows }, (_, i) => ['AAA', 'BBB', 'CCC', 'DDD'][i % 4]),
    }),
    'stream',
  );
const BIG = [frame(50_000, 0), frame(50_000, 7)];
const SMALL = frame(1000, 0);
async function* messages(bytes) {
  yield* splitIpcStream(bytes);
}
const put = (name, mode, bytes) => engine.put({ bucket: BUCKET, name }, mode, messages(bytes));
async function query(sql, signal) {
  const stream = await engine.query(sql, { bucket: BUCKET, ...(signal ? { signal } : {}) });
  const out = [];
  for await (const message of stream.messages) out.push(message);
  return tableFromIPC(joinIpcStream(out));
}
const rssMiB = () => Number(/VmRSS:\s+(\d+)/.exec(readFileSync('/proc/self/status', 'utf8'))[1]) / 1024;

for (let k = 0; k < 4; k++) await put(`p${k}`, 'replace', BIG[0]);
await put('a', 'replace', SMALL);
const started = Date.now();
for (let round = 0; round <= ROUNDS; round++) {
  if (CANCEL) {
    for (let k = 0; k < 3; k++) {
      const controller = new AbortController();
      setTimeout(() => controller.abort(), 1);
      await query(`SELECT count(*) FROM p${(round + k) % 4} a, p${(round + k) % 4} b WHERE a.x < b.x`, controller.signal).catch((error) => {
        if (error?.code !== 'CANCELLED') throw error;
      });
    }
  } else {
    await put(`p${round % 4}`, 'replace', BIG[round % 2]);
    await put('a', round % 40 === 0 ? 'replace' : 'append', SMALL);
    await query(`SELECT * FROM p${(round + 1) % 4} WHERE y > ${round % 20_000} LIMIT 100`);
    await query('SELECT count(*) AS n FROM a');
    if (round % 10 === 0) await engine.vacuum();
  }
  await query(`SELECT sym, avg(x) AS x, count(*) AS n FROM p${round % 4} GROUP BY sym ORDER BY sym`);
  if (round % EVERY === 0) {
    globalThis.gc?.();
    const tags = (await query('SELECT tag, memory_usage_bytes AS bytes FROM duckdb_memory() WHERE memory_usage_bytes > 0'))
      .toArray()
      .map((row) => `${row.tag}=${(Number(row.bytes) / 1048576).toFixed(1)}`)
      .join(' ');
    const heap = process.memoryUsage().heapUsed / 1048576;
    console.log(`round ${round}  ${((Date.now() - started) / 1000).toFixed(0)} s  RSS ${rssMiB().toFixed(1)} MiB  heap ${heap.toFixed(1)} MiB  DuckDB MiB: ${tags || 'none'}`);
  }
}
await engine.close();
await codec.close();
rmSync(dir, { recursive: true, force: true });
