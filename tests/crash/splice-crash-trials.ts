// Crash trials of the row-group splice: a real `hangar serve` is SIGKILLed while an update of a time
// range or a delete_range splices a segment of several row groups (segment-splice.ts: the groups
// around the range copied into files of their own, the overlapping ones re-encoded), restarted,
// and the frame must read as exactly the state before or the state after the operation, with
// `hangar verify` finding every object intact. The frame's rows carry ~1 KiB strings, so its one
// segment of ~6 MB holds three row groups of 2 MiB (the writer's size), as a 10M-row frame's do.
// Half the kills fire as soon as the server has staged a file of over 1 MiB (only the splice's
// copied or re-encoded groups are that large: an operation's own rows are at most 60 KiB), so they
// land inside the splice, before its commit; the other half at a random moment of the operation.
import { execFile } from 'node:child_process';
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { promisify } from 'node:util';
import { Int32, Table, TimestampMillisecond, Utf8, makeVector, vectorFromArray } from 'apache-arrow';
import { HangarClient } from '../../src/client/index.js';
import { LocalConnector } from '../../src/connectors/local/local-connector.js';
import { ObjectLayout } from '../../src/storage/object-layout.js';
import { HANGAR_CLI, type HangarProcess, startHangarProcess } from '../helpers/hangar-process.js';
import { seededRandom } from '../helpers/seeded-random.js';

/** What a run of splice crash trials found. */
export interface SpliceCrashReport {
  trials: number;
  /** Kills that fired while a splice's large file was staged (inside the splice, before its commit). */
  killedInSplice: number;
  /** Kills at a random moment that came before the operation's answer. */
  killedInFlight: number;
  /** Operations found committed, and found not committed, after the restart. */
  committed: number;
  discarded: number;
  /** Segments the first (unkilled) update added: 4 when it spliced (two copied, two re-encoded). */
  segmentsAddedBySplice: number;
  /** Everything wrong: reads that are neither state, objects `hangar verify` finds damaged. */
  readonly findings: string[];
}

const BUCKET = 'crash';
const FRAME = 'groups';
/** Rows of the frame: ~6 MB of Arrow data, one segment of three 2 MiB row groups. */
const FRAME_ROWS = 6_000;
/** Characters of each row's string. */
const LABEL_CHARS = 1_000;
/** Rows an operation's range covers: 1 to this many (always inside one row group or two). */
const MAX_RANGE_ROWS = 60;
/** A staged file this large is the splice's. */
const SPLICE_FILE_BYTES = 1024 * 1024;
/** No background compaction (it would merge the spliced pieces) nor vacuum during the trials. */
const SERVE_ARGS = ['--compact-threshold', '0', '--vacuum-every', '0'];

const run = promisify(execFile);

/** The string column's value of row `x`. */
function label(x: number): string {
  return `${x}:`.padEnd(LABEL_CHARS, String.fromCharCode(97 + (x % 26)));
}

/** The frame's rows: `x` in time order and each one's time. */
interface FrameState {
  readonly rows: readonly number[];
  readonly times: ReadonlyMap<number, number>;
}

function tableOf(rows: readonly number[], times: ReadonlyMap<number, number>): Table {
  return new Table({
    x: makeVector(Int32Array.from(rows)),
    s: vectorFromArray(rows.map(label), new Utf8()),
    t: vectorFromArray(rows.map((x) => times.get(x)!), new TimestampMillisecond()),
  });
}

/** What the server shows: `x` in order, or why the read is unusable. */
async function observe(client: HangarClient, times: ReadonlyMap<number, number>): Promise<number[] | string> {
  let table: Table;
  try {
    table = await client.get(FRAME, { bucket: BUCKET });
  } catch (error) {
    return `the read failed: ${(error as Error).message}`;
  }
  const x = table.getChild('x');
  const s = table.getChild('s');
  const t = table.getChild('t');
  if (!x || !s || !t || x.type.typeId !== new Int32().typeId) return `unexpected schema ${table.schema.fields.map(String).join(', ')}`;
  const rows = Array.from(x.toArray() as Int32Array);
  for (let i = 0; i < rows.length; i++) {
    if (s.get(i) !== label(rows[i]!)) return `row ${i}: s does not belong to x = ${rows[i]}`;
    if (Number(t.get(i)) !== times.get(rows[i]!)) return `row ${i}: t = ${t.get(i)} is not x = ${rows[i]}'s time ${times.get(rows[i]!)}`;
  }
  return rows;
}

const same = (a: readonly number[], b: readonly number[]): boolean => a.length === b.length && a.every((x, i) => x === b[i]);

/** Resolves with true once the server has a staged file of at least `bytes`, false once `done()` says stop. */
async function largeFileStaged(data: string, pid: number, bytes: number, done: () => boolean): Promise<boolean> {
  const staging = join(data, '.staging');
  while (!done()) {
    const mine = (await readdir(staging).catch(() => [] as string[])).filter((entry) => entry.startsWith(`${pid}-`));
    for (const directory of mine) {
      for (const file of await readdir(join(staging, directory)).catch(() => [] as string[])) {
        const info = await stat(join(staging, directory, file)).catch(() => undefined);
        if (info && info.size >= bytes) return true;
      }
    }
    await new Promise((resolve) => setImmediate(resolve));
  }
  return false;
}

/** The segments of the frame's current version, read from the store's files. */
async function segmentCount(data: string): Promise<number> {
  const store = new ObjectLayout(new LocalConnector({ root: data }));
  await store.open();
  try {
    return (await store.getManifest({ bucket: BUCKET, name: FRAME }))?.segments.length ?? 0;
  } finally {
    await store.close();
  }
}

/** `hangar verify` of the store (offline, the server killed): the findings, none if intact. */
async function verify(data: string): Promise<string[]> {
  try {
    await run(process.execPath, [HANGAR_CLI, 'verify', '--data', data, '--json'], { maxBuffer: 16 * 1024 * 1024 });
    return [];
  } catch (error) {
    const failed = error as { stdout?: string; stderr?: string; message: string };
    return [`hangar verify failed: ${failed.stdout || failed.stderr || failed.message}`.slice(0, 2000)];
  }
}

/**
 * Runs `trials` kills on a local store at `data` (an empty directory). Each trial sends one update
 * (fresh rows over the range) or delete_range of a random range of up to 60 rows of the frame.
 */
export async function runSpliceCrashTrials(data: string, options: { readonly trials: number; readonly seed: number }): Promise<SpliceCrashReport> {
  const next = seededRandom(options.seed);
  const report: SpliceCrashReport = { trials: 0, killedInSplice: 0, killedInFlight: 0, committed: 0, discarded: 0, segmentsAddedBySplice: 0, findings: [] };
  const times = new Map<number, number>();
  let counter = 0;
  const fresh = (n: number): number[] => Array.from({ length: n }, () => ++counter);
  const initial = fresh(FRAME_ROWS);
  for (const x of initial) times.set(x, x * 1000);
  let state: FrameState = { rows: initial, times };
  let server: HangarProcess = await startHangarProcess([...SERVE_ARGS, '--data', data]);
  try {
    let client = HangarClient.connect(server.location);
    await client.put(FRAME, tableOf(initial, times), { bucket: BUCKET, mode: 'replace' });

    /** Plans an operation on a random range: what it sends and the rows it leaves. */
    const plan = (): { kind: 'update' | 'delete_range'; after: number[]; send: (to: HangarClient) => Promise<unknown> } => {
      const rows = state.rows;
      const i = Math.floor(next() * rows.length);
      const j = Math.min(rows.length - 1, i + Math.floor(next() * MAX_RANGE_ROWS));
      const start = times.get(rows[i]!)!;
      const end = times.get(rows[j]!)! + 1;
      const before = rows.filter((x) => times.get(x)! < start);
      const after = rows.filter((x) => times.get(x)! >= end);
      if (next() < 0.5) {
        return { kind: 'delete_range', after: [...before, ...after], send: (to) => to.deleteRange(FRAME, new Date(start), new Date(end), { bucket: BUCKET }) };
      }
      const incoming = fresh(1 + Math.floor(next() * MAX_RANGE_ROWS));
      incoming.forEach((x, k) => times.set(x, start + Math.floor(((end - start) * k) / incoming.length)));
      return {
        kind: 'update',
        after: [...before, ...incoming, ...after],
        send: (to) => to.put(FRAME, tableOf(incoming, times), { bucket: BUCKET, mode: 'update', range: [new Date(start), new Date(end)] }),
      };
    };

    // One update that completes: it must add the splice's pieces (a whole rewrite adds two segments).
    {
      const segments = await segmentCount(data);
      const middle = state.rows.slice(Math.floor(FRAME_ROWS / 2), Math.floor(FRAME_ROWS / 2) + 10);
      const incoming = fresh(10);
      const start = times.get(middle[0]!)!;
      const end = times.get(middle.at(-1)!)! + 1;
      incoming.forEach((x, k) => times.set(x, start + k));
      await client.put(FRAME, tableOf(incoming, times), { bucket: BUCKET, mode: 'update', range: [new Date(start), new Date(end)] });
      state = { rows: [...state.rows.filter((x) => times.get(x)! < start), ...incoming, ...state.rows.filter((x) => times.get(x)! >= end)], times };
      report.segmentsAddedBySplice = (await segmentCount(data)) - segments;
    }

    let mean = 100;
    for (let trial = 0; trial < options.trials; trial++) {
      // The frame put again as one segment of three row groups: splices leave pieces of one or two
      // groups, and a segment of one group is rewritten whole.
      await client.put(FRAME, tableOf(state.rows, times), { bucket: BUCKET, mode: 'replace' });
      const operation = plan();
      const waitForSplice = trial % 2 === 0;
      let answered = false;
      let inSplice = false;
      const started = performance.now();
      const sent = operation.send(client).then(
        () => {
          answered = true;
          mean = 0.8 * mean + 0.2 * (performance.now() - started);
        },
        () => undefined,
      );
      if (waitForSplice) {
        inSplice = await largeFileStaged(data, server.child.pid!, SPLICE_FILE_BYTES, () => answered);
      } else {
        await new Promise((resolve) => setTimeout(resolve, next() * mean * 1.2));
      }
      server.child.kill('SIGKILL');
      if (inSplice) report.killedInSplice++;
      else if (!waitForSplice && !answered) report.killedInFlight++;
      await server.exited;
      await sent;
      client.close();
      for (const finding of await verify(data)) report.findings.push(`trial ${trial} (${operation.kind}): ${finding}`);
      server = await startHangarProcess([...SERVE_ARGS, '--data', data]);
      client = HangarClient.connect(server.location);
      const seen = await observe(client, times);
      if (typeof seen === 'string') report.findings.push(`trial ${trial} (${operation.kind}): ${seen}`);
      else if (same(seen, operation.after)) {
        report.committed++;
        state = { rows: operation.after, times };
      } else if (same(seen, state.rows)) {
        if (answered) report.findings.push(`trial ${trial} (${operation.kind}): acknowledged but not visible after the restart`);
        report.discarded++;
      } else {
        report.findings.push(`trial ${trial} (${operation.kind}): ${seen.length} rows, neither the ${state.rows.length} before nor the ${operation.after.length} after`);
      }
      report.trials++;
    }
    client.close();
  } finally {
    await server.kill();
  }
  return report;
}
