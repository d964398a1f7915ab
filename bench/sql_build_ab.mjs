// SQL latency of two builds side by side, in process: each build's HangarEngine (over its own local
// store holding the same 1M-row frame: ts, four float64, a 100-value string) runs the same queries,
// interleaved old/new/new/old…, so a busy machine's load falls on both alike. Prints medians in ms.
// Usage (OLD is a commit):
//   git archive OLD | tar -x -C /tmp/old && ln -s "$PWD/node_modules" /tmp/old/ && (cd /tmp/old && npx tsc)
//   npm run build && node --single-threaded-gc --initial-old-space-size=256 bench/sql_build_ab.mjs /tmp/old "$PWD" [ITERATIONS]
// This is a benchmark, not a test: it asserts nothing about timing.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const [A, B] = [process.argv[2], process.argv[3]];
const iterations = Number(process.argv[4] ?? 60);
const { tableFromArrays, tableToIPC } = await import(`${A}/node_modules/apache-arrow/Arrow.node.mjs`);
const rows = 1_000_000;
const syms = Array.from({ length: 100 }, (_, i) => `SYM${i}`);
const table = tableFromArrays({
  ts: Array.from({ length: rows }, (_, i) => new Date(Date.UTC(2024, 0, 1) + i * 100)),
  f0: Float64Array.from({ length: rows }, () => Math.random()),
  f1: Float64Array.from({ length: rows }, () => Math.random()),
  f2: Float64Array.from({ length: rows }, () => Math.random()),
  f3: Float64Array.from({ length: rows }, () => Math.random()),
  sym: Array.from({ length: rows }, (_, i) => syms[i % 100]),
});
async function setup(root) {
  const { HangarEngine } = await import(`${root}/dist/core/engine.js`);
  const { ParquetCodec } = await import(`${root}/dist/core/parquet/parquet-codec.js`);
  const { LocalConnector } = await import(`${root}/dist/connectors/local/local-connector.js`);
  const { splitIpcStream } = await import(`${root}/dist/core/ipc-message.js`);
  const dir = mkdtempSync(join(tmpdir(), 'hangar-sql-build-ab-'));
  const codec = new ParquetCodec();
  const connector = new LocalConnector({ root: dir, fsync: false });
  await connector.open();
  const engine = new HangarEngine(connector, codec, {});
  await engine.put({ bucket: 'default', name: 'bench' }, 'error', (async function* () { yield* splitIpcStream(tableToIPC(table, 'stream')); })());
  return { engine, close: async () => { await engine.close(); await codec.close(); rmSync(dir, { recursive: true, force: true }); } };
}
const sides = { before: await setup(A), after: await setup(B) }; // A is "before", B "after"
const lo = new Date(Date.UTC(2024, 0, 1) + 300_000 * 100).toISOString().replace('Z', '');
const hi = new Date(Date.UTC(2024, 0, 1) + 310_000 * 100).toISOString().replace('Z', '');
const hi10 = new Date(Date.UTC(2024, 0, 1) + 400_000 * 100).toISOString().replace('Z', '');
const queries = {
  'group-by 1%': `SELECT sym, avg(f0) AS a, count(*) AS n FROM bench WHERE ts >= TIMESTAMP '${lo}' AND ts < TIMESTAMP '${hi}' GROUP BY sym`,
  'rows 10% (100k)': `SELECT * FROM bench WHERE ts >= TIMESTAMP '${lo}' AND ts < TIMESTAMP '${hi10}'`,
  'all rows (1M)': 'SELECT * FROM bench',
};
const med = (v) => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)];
const result = {};
for (const [name, sql] of Object.entries(queries)) {
  const times = { before: [], after: [] };
  const n = name.startsWith('all') ? Math.ceil(iterations / 4) : iterations;
  for (let i = 0; i < n + 2; i++) {
    for (const side of i % 2 ? ['after', 'before'] : ['before', 'after']) {
      const t0 = performance.now();
      const q = await sides[side].engine.query(sql, { bucket: 'default' });
      for await (const m of q.messages) void m;
      if (i >= 2) times[side].push(performance.now() - t0);
    }
  }
  result[name] = { before: +med(times.before).toFixed(2), after: +med(times.after).toFixed(2), n };
  console.log(name, JSON.stringify(result[name]));
}
for (const side of Object.values(sides)) await side.close();
