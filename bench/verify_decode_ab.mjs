// The worker-side cost of verifying a whole segment before serving it, in one thread and in
// isolation (no transport, no second thread): the plain reader decoding W1's segments as they are
// (unverified), after a CRC-32 of the whole file (how whole files were checked before), and with
// each page's CRC computed while its values are copied out (how they are checked now). Rounds
// rotate the variants; `plain` twice is the A/A that shows the noise. CPU time, medians.
//   npm run build && node bench/verify_cost.mjs --runs 1 --keep DIR && node bench/verify_decode_ab.mjs DIR [--rounds 15] [--segments 8]
import { loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { LocalConnector } from '../dist/connectors/local/local-connector.js';
import { ObjectLayout } from '../dist/storage/object-layout.js';
import { readPlainParquet } from '../dist/format/parquet/plain-parquet-reader.js';
import { crc32 } from '../dist/format/crc32.js';

const { values, positionals } = parseArgs({ allowPositionals: true, options: { rounds: { type: 'string', default: '15' }, segments: { type: 'string', default: '8' } } });
if (positionals.length !== 1) throw new Error('usage: node bench/verify_decode_ab.mjs DIR (a store made by bench/verify_cost.mjs --keep DIR)');
const store = new ObjectLayout(new LocalConnector({ root: positionals[0], fsync: false }));
await store.open();
const ref = { bucket: 'bench', name: 'w1' };
const manifest = await store.getManifestVersion(ref, 1);
const segments = await Promise.all(manifest.segments.slice(0, Number(values.segments)).map(async (segment) => ({ segment, bytes: await store.getSegment(ref, segment.id) })));
const options = (segment) => ({ rowGroups: Array.from({ length: segment.rowGroups }, (_, i) => i), batchRows: 65_536 });
const variants = {
  plain: () => { for (const { segment, bytes } of segments) readPlainParquet(bytes, options(segment)); },
  'plain (A/A)': () => { for (const { segment, bytes } of segments) readPlainParquet(bytes, options(segment)); },
  'whole-file CRC, then plain': () => { for (const { segment, bytes } of segments) { crc32(bytes); readPlainParquet(bytes, options(segment)); } },
  'page CRCs while copying': () => { for (const { segment, bytes } of segments) readPlainParquet(bytes, { ...options(segment), verifyPageCrcs: true, everyRowGroup: true }); },
};
const cpu = Object.fromEntries(Object.keys(variants).map((name) => [name, []]));
const load = [loadavg()[0]];
for (let round = 0; round < Number(values.rounds); round++) {
  const names = Object.keys(variants);
  for (const name of round % 2 ? names.reverse() : names) {
    const before = process.cpuUsage();
    variants[name]();
    const used = process.cpuUsage(before);
    cpu[name].push((used.user + used.system) / 1000);
  }
}
load.push(loadavg()[0]);
const median = (list) => [...list].sort((a, b) => a - b)[Math.floor(list.length / 2)];
const mib = segments.reduce((sum, { bytes }) => sum + bytes.byteLength, 0) / 1048576;
const base = median(cpu.plain);
console.log(`${segments.length} segments, ${mib.toFixed(0)} MiB, ${values.rounds} rounds, load ${load.map((l) => l.toFixed(1)).join(' → ')}`);
for (const [name, list] of Object.entries(cpu)) console.log(`${name.padEnd(28)} ${median(list).toFixed(0).padStart(5)} ms CPU  ${name === 'plain' ? '' : `${(((median(list) - base) / base) * 100).toFixed(1)} %`}`);
await store.close();
