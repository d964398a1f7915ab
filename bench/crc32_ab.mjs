// CRC-32 implementations A/B, one thread: Node's zlib.crc32 against @node-rs/crc32 (SIMD, what
// src/core/crc32.ts uses) and the table-driven fallback (slice-by-8), on buffers of several sizes.
// Throughput is bytes per CPU-second of this process; rounds interleave the implementations, so
// drift hits all alike, and zlib runs twice per round: its A-against-A spread is the noise floor.
// Usage: npm run build && node bench/crc32_ab.mjs [--rounds 7] [--mib 256] [--json PATH]
import { writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { parseArgs } from 'node:util';
import * as zlib from 'node:zlib';
import { tableCrc32 } from '../dist/format/crc32.js';

const { values } = parseArgs({ options: { rounds: { type: 'string', default: '7' }, mib: { type: 'string', default: '256' }, json: { type: 'string' } } });
const ROUNDS = Number(values.rounds);
const TOTAL = Number(values.mib) * 1048576;
const simd = createRequire(import.meta.url)('@node-rs/crc32').crc32;
const implementations = {
  zlib: (bytes) => zlib.crc32(bytes) >>> 0,
  'zlib (A/A)': (bytes) => zlib.crc32(bytes) >>> 0,
  simd: (bytes) => simd(bytes) >>> 0,
  tables: (bytes) => tableCrc32(bytes),
};
const cpuSeconds = () => {
  const usage = process.cpuUsage();
  return (usage.user + usage.system) / 1e6;
};
const median = (numbers) => [...numbers].sort((a, b) => a - b)[Math.floor(numbers.length / 2)];

const report = { rounds: ROUNDS, bytesPerMeasurement: TOTAL, sizes: {} };
for (const size of [4 << 10, 64 << 10, 1 << 20, 16 << 20, 64 << 20]) {
  const bytes = new Uint8Array(size);
  for (let i = 0; i < size; i++) bytes[i] = Math.imul(i, 2654435761) >>> 24;
  const expected = zlib.crc32(bytes) >>> 0;
  for (const [name, fn] of Object.entries(implementations)) if (fn(bytes) !== expected) throw new Error(`${name} disagrees with zlib at ${size} bytes`);
  const repeats = Math.max(1, Math.round(TOTAL / size));
  const gbps = {};
  for (let round = 0; round < ROUNDS; round++) {
    for (const [name, fn] of Object.entries(implementations)) {
      // The tables are ~25× slower: a tenth of the bytes, three rounds.
      if (name === 'tables' && round >= 3) continue;
      const n = name === 'tables' ? Math.max(1, Math.round(repeats / 10)) : repeats;
      const start = cpuSeconds();
      for (let r = 0; r < n; r++) fn(bytes);
      (gbps[name] ??= []).push((n * size) / (cpuSeconds() - start) / 1e9);
    }
  }
  const medians = Object.fromEntries(Object.entries(gbps).map(([name, list]) => [name, Number(median(list).toFixed(2))]));
  const noise = Math.abs(medians.zlib - medians['zlib (A/A)']) / medians.zlib;
  report.sizes[size] = { gbPerCpuSecond: medians, simdOverZlib: Number((medians.simd / medians.zlib).toFixed(1)), zlibAANoisePercent: Number((noise * 100).toFixed(1)) };
  console.log(`${String(size).padStart(9)} B: ${Object.entries(medians).map(([name, value]) => `${name} ${value} GB/s`).join('  ')}  simd÷zlib ${report.sizes[size].simdOverZlib}×  (zlib A/A ${report.sizes[size].zlibAANoisePercent} %)`);
}
report.loadAverage = (await import('node:os')).loadavg()[0];
if (values.json) await writeFile(values.json, `${JSON.stringify(report, null, 2)}\n`);
