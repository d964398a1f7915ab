// bench/cache (TypeScript client): what HangarClient's pull-on-demand cache saves — the same
// measurements as run.py (full get, unchanged cached read, synced read after an append of --append
// rows) on a frame of --rows rows (ts + 4 float64 + int64). Needs `npm run build`.
//   node bench/cache/run-ts.mjs [--rows 10000000] [--append 1000] [--repeats 5] [--json out.json]
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir, loadavg, cpus } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Float64, Int64, Table, TimestampNanosecond, makeData, makeVector } from 'apache-arrow';
import { HangarServer } from '../../dist/index.js';
import { HangarClient } from '../../dist/client/index.js';

const { values } = parseArgs({
  options: {
    rows: { type: 'string', default: '10000000' },
    append: { type: 'string', default: '1000' },
    repeats: { type: 'string', default: '5' },
    json: { type: 'string' },
  },
});
const rows = Number(values.rows);
const appendRows = Number(values.append);
const repeats = Number(values.repeats);

function frame(start, n) {
  const ts = new BigInt64Array(n);
  const ids = new BigInt64Array(n);
  for (let i = 0; i < n; i++) {
    ids[i] = BigInt(start + i);
    ts[i] = ids[i] * 1_000_000_000n;
  }
  const floats = () => {
    const a = new Float64Array(n);
    for (let i = 0; i < n; i++) a[i] = Math.random();
    return makeVector(makeData({ type: new Float64(), length: n, data: a }));
  };
  return new Table({
    ts: makeVector(makeData({ type: new TimestampNanosecond(), length: n, data: ts })),
    a: floats(),
    b: floats(),
    c: floats(),
    d: floats(),
    n: makeVector(makeData({ type: new Int64(), length: n, data: ids })),
  });
}

const summary = (xs) => {
  const sorted = [...xs].sort((a, b) => a - b);
  return { median: sorted[Math.floor(sorted.length / 2)], min: sorted[0], max: sorted.at(-1), n: xs.length };
};
const time = async (work) => {
  const started = performance.now();
  const result = await work();
  return [performance.now() - started, result];
};

const dir = await mkdtemp(join(tmpdir(), 'hangar-bench-cache-ts-'));
const server = await HangarServer.start({ port: 0, data: join(dir, 'store') });
try {
  const plain = HangarClient.connect(server.location);
  const cached = new HangarClient({ location: server.location, cache: { dir: join(dir, 'cache') } });
  const [putMs] = await time(() => plain.put('bench', frame(0, rows), { mode: 'replace' }));
  const frameBytes = (await plain.stat('bench')).bytes;
  const [coldMs] = await time(() => cached.get('bench'));
  const full = [];
  const unchanged = [];
  const synced = [];
  let total = rows;
  for (let r = 0; r < repeats; r++) {
    full.push((await time(() => plain.get('bench')))[0]);
    for (let i = 0; i < 10; i++) unchanged.push((await time(() => cached.get('bench')))[0]);
    await plain.put('bench', frame(total, appendRows), { mode: 'append' });
    total += appendRows;
    const [ms, table] = await time(() => cached.get('bench'));
    if (table.numRows !== total) throw new Error(`synced read has ${table.numRows} rows, expected ${total}`);
    synced.push(ms);
  }
  const entry = await cached.cache.entry('default', 'bench');
  const result = {
    client: 'typescript',
    rows,
    append_rows: appendRows,
    frame_bytes: frameBytes,
    put_ms: putMs,
    cold_cached_read_ms: coldMs,
    full_get_ms: summary(full),
    unchanged_cached_read_ms: summary(unchanged),
    synced_read_after_append_ms: summary(synced),
    synced_time_fraction_of_full_get: summary(synced).median / summary(full).median,
    cache_chunks: entry.chunks.map((chunk) => ({ rows: chunk.rows, bytes: chunk.bytes })),
    machine: { cpus: cpus().length, load_avg_1m: loadavg()[0] },
  };
  console.log(JSON.stringify(result, null, 2));
  if (values.json) await writeFile(values.json, `${JSON.stringify(result, null, 2)}\n`);
  plain.close();
  cached.close();
} finally {
  await server.close();
  await rm(dir, { recursive: true, force: true });
}
