// The SQLite catalog at 100,000 frames: list, regex search and stat answered from the catalog, and
// a time-range read of a 1,000-segment frame counting the segments it opens.
// Usage: npm run build && node bench/sqlite_catalog.mjs [frames] [segments]
// Frames are created directly through SqliteConnector.commitManifest with small manifests (a real
// schema, one segment entry, no segment file): putting 100,000 real frames through the engine would
// take hours of Parquet encoding and measures nothing the catalog does. The 1,000-segment frame is
// made with real appends, so its range read opens real segment files.
import { mkdtemp, rm, writeFile, mkdir } from 'node:fs/promises';
import { cpus, loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Float64, Table, TimestampNanosecond, makeData, makeVector, tableToIPC } from 'apache-arrow';
import { LocalConnector } from '../dist/connectors/local/local-connector.js';
import { SqliteConnector } from '../dist/connectors/sqlite/sqlite-connector.js';
import { HangarEngine } from '../dist/core/engine.js';
import { encodeSchemaHeader, splitIpcStream } from '../dist/format/ipc-message.js';
import { ParquetCodec } from '../dist/format/parquet/parquet-codec.js';

const FRAMES = Number(process.argv[2] ?? 100_000);
const SEGMENTS = Number(process.argv[3] ?? 1_000);
const RUNS = 15;
const HOUR = 3_600_000_000_000n;
const T0 = 1_700_000_000_000_000_000n;

function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

/** Median milliseconds of `runs` calls after two warm-up calls. */
async function time(run, runs = RUNS) {
  for (let i = 0; i < 2; i++) await run();
  const times = [];
  for (let i = 0; i < runs; i++) {
    const start = performance.now();
    await run();
    times.push(performance.now() - start);
  }
  return median(times);
}

function hourTable(hour) {
  const rows = 60;
  const ts = BigInt64Array.from({ length: rows }, (_, i) => T0 + BigInt(hour) * HOUR + (BigInt(i) * HOUR) / 60n);
  const px = Float64Array.from({ length: rows }, (_, i) => hour + i / rows);
  return new Table({
    ts: makeVector(makeData({ type: new TimestampNanosecond(), length: rows, data: ts })),
    px: makeVector(px),
  });
}

async function* messagesOf(table) {
  yield* splitIpcStream(tableToIPC(table, 'stream'));
}

const directory = await mkdtemp(join(tmpdir(), 'hangar-sqlite-bench-'));
const open = () => new SqliteConnector({
  catalog: join(directory, 'catalog.db'),
  storage: new LocalConnector({ root: join(directory, 'data'), fsync: false }),
  fsync: false,
});
const results = { frames: FRAMES, runs: RUNS, node: process.version, cpus: cpus().length, loadAverageAtStart: loadavg()[0] };
let connector = open();
await connector.open();
const codec = new ParquetCodec(2);
try {
  const schema = Buffer.from(encodeSchemaHeader(hourTable(0).schema)).toString('base64');
  const name = (i) => `frame-${String(i).padStart(6, '0')}`;
  let started = performance.now();
  const batch = 64;
  for (let first = 0; first < FRAMES; first += batch) {
    await Promise.all(Array.from({ length: Math.min(batch, FRAMES - first) }, (_, k) => {
      const i = first + k;
      return connector.commitManifest({ bucket: 'default', name: name(i) }, {
        format: 1, version: 1, committedAt: new Date().toISOString(), schema, rows: 60, bytes: 960, timeColumn: 'ts',
        segments: [{ id: `${i}.parquet`, rows: 60, bytes: 960, storedBytes: 700, rowGroups: 1, timeRange: { min: String(T0), max: String(T0 + HOUR - 1n) }, timeNulls: 0 }],
        metadata: { desk: `d${i % 10}` },
      });
    }));
  }
  results.createFramesSeconds = (performance.now() - started) / 1000;
  console.log(`created ${FRAMES} frames through commitManifest in ${results.createFramesSeconds.toFixed(1)} s`);

  // A fresh instance: the first listing decodes every manifest (cold), later ones reuse decoded ones.
  await connector.close();
  connector = open();
  await connector.open();
  const engine = new HangarEngine(connector, codec, {});
  const regex = '^frame-0001\\d\\d$';
  const pattern = new RegExp(regex);
  started = performance.now();
  const all = await connector.listManifests('default');
  results.listManifestsAllColdMs = performance.now() - started;
  if (all.size !== FRAMES) throw new Error(`listed ${all.size} frames`);
  results.listManifestsAllMs = await time(() => connector.listManifests('default'));
  results.listNamesMs = await time(() => connector.listFrames('default'));
  const selected = await connector.listManifests('default', (n) => pattern.test(n));
  results.regexSelected = selected.size;
  results.listManifestsRegexMs = await time(() => connector.listManifests('default', (n) => pattern.test(n)));
  results.engineListRegexMs = await time(() => engine.list('default', regex));
  results.engineListAllMs = await time(() => engine.list('default'), 5);
  const one = { bucket: 'default', name: name(Math.floor(FRAMES / 2)) };
  // The connector keeps a bucket's listing until the catalog changes, so the figures above are of
  // an unchanged catalog; these commit one frame first (untimed), so each listing is rebuilt.
  const afterCommit = (run) => async () => {
    let elapsed = 0;
    for (let i = 0; i < 5; i++) {
      const current = await connector.getManifest(one);
      await connector.commitManifest(one, { ...current, version: current.version + 1 });
      const start = performance.now();
      await run();
      elapsed += performance.now() - start;
    }
    return elapsed / 5;
  };
  const timeAfterCommit = async (run) => {
    const means = [];
    for (let i = 0; i < RUNS; i++) means.push(await afterCommit(run)());
    return median(means);
  };
  results.listManifestsAllAfterCommitMs = await timeAfterCommit(() => connector.listManifests('default'));
  results.engineListAllAfterCommitMs = await timeAfterCommit(() => engine.list('default'));
  results.engineListRegexAfterCommitMs = await timeAfterCommit(() => engine.list('default', regex));
  results.getManifestMs = await time(async () => {
    for (let i = 0; i < 1000; i++) await connector.getManifest(one);
  }) / 1000;
  results.engineStatMs = await time(async () => {
    for (let i = 0; i < 1000; i++) await engine.stat(one);
  }) / 1000;

  // A frame of SEGMENTS appended one-hour segments; read one hour out of the middle.
  const ref = { bucket: 'default', name: 'ticks' };
  // No background compaction: the 1,000 small appended segments are the case measured.
  const appendEngine = new HangarEngine(connector, codec, { compactThreshold: 0 });
  started = performance.now();
  for (let hour = 0; hour < SEGMENTS; hour++) await appendEngine.put(ref, hour === 0 ? 'error' : 'append', messagesOf(hourTable(hour)));
  results.segmentFrameAppendSeconds = (performance.now() - started) / 1000;
  let opened = 0;
  const getSegment = connector.getSegment.bind(connector);
  connector.getSegment = (...args) => {
    opened++;
    return getSegment(...args);
  };
  const hour = Math.floor(SEGMENTS / 2);
  const start = T0 + BigInt(hour) * HOUR;
  const readRange = async () => {
    const read = await engine.read(ref, { start, end: start + HOUR });
    let rows = 0;
    for await (const message of read.messages) rows += message.body.byteLength > 0 ? 1 : 0;
    return rows;
  };
  opened = 0;
  await readRange();
  results.rangeReadSegmentsOpened = opened;
  results.rangeReadMs = await time(readRange);
  opened = 0;
  results.segmentFrameSegments = (await connector.getManifest(ref)).segments.length;
  results.segmentsOverlappingMs = await time(() => connector.segmentsOverlapping(ref, start, start + HOUR - 1n));
  results.segmentsOverlapping = (await connector.segmentsOverlapping(ref, start, start + HOUR - 1n)).length;
  results.loadAverageAtEnd = loadavg()[0];
  console.log(results);
  const out = join(dirname(fileURLToPath(import.meta.url)), 'results', 'sqlite-catalog.json');
  await mkdir(dirname(out), { recursive: true });
  await writeFile(out, `${JSON.stringify(results, null, 2)}\n`);
} finally {
  await connector.close();
  await codec.close();
  await rm(directory, { recursive: true, force: true });
}
