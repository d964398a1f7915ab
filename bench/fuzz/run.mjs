// The long run of the protocol fuzzer (docs/protocol.md, "Protocol fuzzing"); CI runs the same
// generators with 10,000 cases per message type in process (tests/fuzz/protocol-fuzz.test.ts).
//   npm run build && node bench/fuzz/run.mjs [--cases 1000000] [--server-cases 100000] [--seed N]
//        [--type FlightData,Ticket] [--json bench/results/fuzz.json]
//   replay one case:  node bench/fuzz/run.mjs --seed N --type T --case I
//   the HTTP API:     node bench/fuzz/run.mjs --http [--http-cases 1000000] [--http-minutes M] [--seed N] [--case I]
//                     (raw HTTP/1.1 requests to `hangar serve --http-port`, open and with --secret;
//                     --http-minutes stops sending after M minutes and reports how many ran;
//                     --http-from I starts at case I; --answer-timeout S bounds each answer, default 10 s)
// In process, every case of every request message goes through the server's decoders (in a
// watched worker: a case still running after 10 s fails the run). Then two `hangar serve`
// processes (without authentication, and with --secret) get the server cases as raw gRPC frames;
// each must be answered with a status other than INTERNAL/UNKNOWN within 10 s, while health checks
// (ListActions and a read of a frame the fuzz never touches) keep being answered.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { fuzzDecoders } from '../../dist/testing/decoder-fuzz.js';
import { FUZZED_MESSAGE_TYPES, describeCase, fuzzToken, generateCase } from '../../dist/testing/protocol-fuzz-cases.js';
import { fuzzServer } from '../../dist/testing/server-fuzz.js';
import { startServerProcess } from '../../dist/testing/server-process.js';
import { describeHttpCase, fuzzHttp, generateHttpCase } from '../../dist/testing/http-fuzz.js';

const { values } = parseArgs({
  options: {
    cases: { type: 'string', default: '1000000' },
    'server-cases': { type: 'string' },
    seed: { type: 'string' },
    type: { type: 'string' },
    case: { type: 'string' },
    'no-server': { type: 'boolean', default: false },
    http: { type: 'boolean', default: false },
    'http-cases': { type: 'string', default: '1000000' },
    'http-minutes': { type: 'string' },
    'http-from': { type: 'string' },
    'answer-timeout': { type: 'string' },
    json: { type: 'string' },
  },
});
const SECRET = 'protocol-fuzz-secret';
const seed = values.seed === undefined ? Math.floor(Math.random() * 2 ** 31) : Number(values.seed);
const types = values.type === undefined ? FUZZED_MESSAGE_TYPES : values.type.split(',');
for (const type of types) if (!FUZZED_MESSAGE_TYPES.includes(type)) throw new Error(`unknown message type ${type}; the types are ${FUZZED_MESSAGE_TYPES.join(', ')}`);
const replay = values.case === undefined ? undefined : Number(values.case);
const cases = replay === undefined ? Number(values.cases) : 1;
const from = replay ?? Number(values['http-from'] ?? 0);
const serverCases = replay === undefined ? Number(values['server-cases'] ?? Math.max(1, Math.floor(cases / 10))) : 1;
console.log(`protocol fuzz: seed ${seed}; ${cases} cases per message type in process, ${values['no-server'] ? 0 : serverCases} per server; types ${types.join(', ')}`);
if (replay !== undefined) for (const type of types) console.log(describeCase(generateCase(type, seed, replay, { token: fuzzToken(SECRET) })));

const results = { seed, startedAt: new Date().toISOString(), inProcess: [], inProcessWithSecret: [], server: [], serverWithSecret: [] };

/** --http: the HTTP API fuzzer against an open server and one with --secret, in chunks of 10,000 cases (so --http-minutes can stop it). */
async function runHttp() {
  if (replay !== undefined) console.log(describeHttpCase(generateHttpCase(seed, replay)));
  const total = replay === undefined ? Number(values['http-cases']) : 1;
  // A longer bound for runs on a loaded machine at low priority (nice), where a starved server can
  // take seconds to answer; a hang is still caught.
  const answerTimeoutMs = Number(values['answer-timeout'] ?? 10) * 1000;
  const deadline = values['http-minutes'] === undefined ? Infinity : Date.now() + Number(values['http-minutes']) * 60_000;
  const dir = await mkdtemp(join(tmpdir(), 'hangar-http-fuzz-'));
  const out = { seed, startedAt: new Date().toISOString(), open: undefined, secured: undefined };
  try {
    for (const [label, extra] of [['open', []], ['secured', ['--secret', SECRET]]]) {
      // Aggressive retention and frequent vacuums, so reads race removals (as in tests/fuzz/http-fuzz.test.ts).
      const retention = ['--keep-versions', '2', '--keep-for', '0', '--vacuum-grace', '0', '--vacuum-every', '10s'];
      const server = await startServerProcess({ args: ['--port', '0', '--http-port', '0', '--data', join(dir, label), ...retention, ...extra] });
      const headers = server.adminToken ? { authorization: `Bearer ${server.adminToken}` } : {};
      // The server with --secret gets a tenth of the cases: most are refused before any handler runs.
      const cases = label === 'open' ? total : Math.max(1, Math.ceil(total / 10));
      const merged = { cases: 0, statuses: {}, slowestMs: 0, slowestCase: from, healthChecks: 0, slowestHealthMs: 0 };
      try {
        for (let at = from; at < from + cases && Date.now() < deadline; at += 10_000) {
          const report = await fuzzHttp({ url: server.httpUrl, seed, cases: Math.min(10_000, from + cases - at), from: at, healthHeaders: headers, answerTimeoutMs });
          merged.cases += report.cases;
          for (const [status, count] of Object.entries(report.statuses)) merged.statuses[status] = (merged.statuses[status] ?? 0) + count;
          if (report.slowestMs > merged.slowestMs) Object.assign(merged, { slowestMs: report.slowestMs, slowestCase: report.slowestCase });
          merged.healthChecks += report.healthChecks;
          merged.slowestHealthMs = Math.max(merged.slowestHealthMs, report.slowestHealthMs);
          process.stdout.write(`  http ${label}: ${merged.cases}\r`);
        }
      } finally {
        const code = await server.stop();
        if (code !== 0) throw new Error(`the ${label} server exited with ${code} on SIGTERM: ${server.stderr().slice(-2000)}`);
      }
      console.log(`http ${label}: ${JSON.stringify(merged)}`);
      out[label] = merged;
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
  out.finishedAt = new Date().toISOString();
  console.log(`HTTP fuzz: passed; ${out.open.cases + out.secured.cases} cases (seed ${seed})`);
  if (values.json) await writeFile(values.json, `${JSON.stringify(out, null, 2)}\n`);
}
const time = async (label, fn) => {
  const started = performance.now();
  const value = await fn();
  console.log(`${label}: ${((performance.now() - started) / 1000).toFixed(1)} s`);
  return value;
};

try {
  if (values.http) {
    await runHttp();
    process.exit(0);
  }
  for (const type of types) {
    const [report] = await time(`in process ${type}`, () => fuzzDecoders({ seed, cases, from, messageTypes: [type] }));
    console.log(JSON.stringify(report));
    results.inProcess.push(report);
  }
  if (types.includes('HandshakeRequest')) {
    const [report] = await time('in process HandshakeRequest with a secret', () => fuzzDecoders({ seed, cases, from, messageTypes: ['HandshakeRequest'], secret: SECRET }));
    console.log(JSON.stringify(report));
    results.inProcessWithSecret.push(report);
  }
  if (!values['no-server']) {
    const dir = await mkdtemp(join(tmpdir(), 'hangar-fuzz-run-'));
    const common = ['--port', '0', '--keep-versions', '2', '--keep-for', '0', '--vacuum-grace', '0', '--vacuum-every', '1m'];
    const progress = (type, done) => process.stdout.write(`  ${type}: ${done}\r`);
    try {
      const open = await startServerProcess({ args: [...common, '--data', join(dir, 'open')] });
      try {
        for (const type of types) {
          const [report] = await time(`server ${type}`, () => fuzzServer({ url: open.url, seed, cases: serverCases, from, messageTypes: [type], onProgress: progress }));
          console.log(JSON.stringify(report));
          results.server.push(report);
        }
      } finally {
        const code = await open.stop();
        if (code !== 0) throw new Error(`the server without authentication exited with ${code} on SIGTERM: ${open.stderr()}`);
      }
      const secured = await startServerProcess({ args: [...common, '--data', join(dir, 'secured'), '--secret', SECRET] });
      try {
        const health = { authorization: `Bearer ${secured.adminToken}` };
        for (const type of types) {
          const n = type === 'HandshakeRequest' ? serverCases : Math.max(1, Math.ceil(serverCases / 10));
          const [report] = await time(`server with --secret ${type}`, () => fuzzServer({ url: secured.url, seed, cases: n, from, messageTypes: [type], token: fuzzToken(SECRET), healthMetadata: health, onProgress: progress }));
          console.log(JSON.stringify(report));
          results.serverWithSecret.push(report);
        }
      } finally {
        const code = await secured.stop();
        if (code !== 0) throw new Error(`the server with --secret exited with ${code} on SIGTERM: ${secured.stderr()}`);
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }
  results.finishedAt = new Date().toISOString();
  const total = (reports) => reports.reduce((sum, report) => sum + report.cases, 0);
  results.totals = { inProcess: total(results.inProcess) + total(results.inProcessWithSecret), server: total(results.server) + total(results.serverWithSecret) };
  console.log(`protocol fuzz: passed; ${results.totals.inProcess} cases in process, ${results.totals.server} against servers (seed ${seed})`);
  if (values.json) await writeFile(values.json, `${JSON.stringify(results, null, 2)}\n`);
} catch (error) {
  console.error(`protocol fuzz: FAILED with seed ${seed}\n${error instanceof Error ? error.message : String(error)}`);
  process.exitCode = 1;
}
