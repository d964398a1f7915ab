// The request path's reassembly alone, A/B: two builds' MessageDeframer fed the same DoPut-shaped
// body (messages of the put_get frame's 64K-row batch size, ~2.6 MB, cut into 1 MiB DATA chunks as
// the server's maxFrameSize allows, so every message spans chunks). Alternates A and B per round;
// prints the median CPU time per pass and GiB/s. One thread, no I/O: CPU cost only.
// Usage: node bench/deframer_ab.mjs DIST_A DIST_B [--mib 512] [--rounds 15]
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

const [distA, distB] = process.argv.slice(2, 4).map((dir) => resolve(dir));
const flag = (name, fallback) => {
  const at = process.argv.indexOf(name);
  return at < 0 ? fallback : Number(process.argv[at + 1]);
};
const totalMiB = flag('--mib', 512);
const rounds = flag('--rounds', 15);
const MESSAGE_BYTES = 2_621_600;
const CHUNK_BYTES = 1 << 20;

const load = async (dist) => (await import(pathToFileURL(`${dist}/grpc/message-framing.js`).href)).MessageDeframer;
const builds = { A: await load(distA), B: await load(distB) };

// The body: framed messages back to back, then cut into chunks that are views of one buffer (as
// node:http2 hands out DATA chunks).
const count = Math.ceil((totalMiB << 20) / (MESSAGE_BYTES + 5));
const body = Buffer.allocUnsafe(count * (MESSAGE_BYTES + 5));
for (let i = 0; i < count; i++) {
  const at = i * (MESSAGE_BYTES + 5);
  body[at] = 0;
  body.writeUInt32BE(MESSAGE_BYTES, at + 1);
  body.fill(i & 0xff, at + 5, at + 5 + MESSAGE_BYTES);
}
const chunks = [];
for (let at = 0; at < body.byteLength; at += CHUNK_BYTES) chunks.push(body.subarray(at, at + CHUNK_BYTES));

function pass(Deframer) {
  const deframer = new Deframer(2 ** 31 - 1);
  let messages = 0;
  // CPU time (user + system, page faults included) rather than wall time: on a loaded machine it
  // measures the work, not the waiting for a core.
  const started = process.cpuUsage();
  for (const chunk of chunks) deframer.push(chunk, () => messages++);
  const used = process.cpuUsage(started);
  const seconds = (used.user + used.system) / 1e6;
  if (messages !== count) throw new Error(`got ${messages} messages, expected ${count}`);
  return seconds;
}

for (const name of ['A', 'B']) pass(builds[name]);
const times = { A: [], B: [] };
for (let round = 0; round < rounds; round++) for (const name of round % 2 ? ['B', 'A'] : ['A', 'B']) times[name].push(pass(builds[name]));
const median = (values) => [...values].sort((x, y) => x - y)[Math.floor(values.length / 2)];
for (const name of ['A', 'B']) {
  const m = median(times[name]);
  console.log(`${name}: median ${(m * 1000).toFixed(1)} ms per ${(body.byteLength / 2 ** 20).toFixed(0)} MiB (${(body.byteLength / 2 ** 30 / m).toFixed(2)} GiB/s); min ${(Math.min(...times[name]) * 1000).toFixed(1)} ms`);
}
