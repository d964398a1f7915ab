// Crash trials: a real `hangar serve` is SIGKILLed at a random moment inside a random operation
// (put, append, replace, update of a time range, delete_range, delete, restore, compaction, vacuum;
// background compaction and vacuum run too), restarted, and every frame is judged by the oracle in crash-oracle.ts. The CI suites
// (local, S3, SQLite-catalog) and `bash bench/crash_trials.sh` run this same code with a count.
import { performance } from 'node:perf_hooks';
import { Dictionary, Int32, Table, TimestampMillisecond, Type, Utf8, makeData, makeVector, vectorFromArray } from 'apache-arrow';
import { HangarClient, NotFoundError } from '../../src/client/index.js';
import { type HangarProcess, startHangarProcess } from '../helpers/hangar-process.js';
import { seededRandom } from '../helpers/seeded-random.js';
import { type FrameContent, FrameModel, type FrameObservation, type ObservedVersion, type Unreadable, frameState, sameContent } from './crash-oracle.js';

/** A store to run trials on: a `--data` location and the environment its server needs. */
export interface CrashStore {
  /** Its name in reports: `local`, `s3`, `sqlite`. */
  readonly name: string;
  /** The `--data` location. */
  readonly data: string;
  /** Extra environment of the server (e.g. S3 credentials). */
  readonly env?: Readonly<Record<string, string>>;
}

/** The operations a trial sends; the kill targets one of them. */
export type CrashOperation = 'create' | 'append' | 'replace' | 'update' | 'delete_range' | 'delete' | 'restore' | 'compact' | 'vacuum';

/** Where the kills landed, per targeted operation. */
export interface KillCounts {
  /** Killed while the operation was in flight (no answer yet). */
  inFlight: number;
  /** Killed after its answer arrived (the delay outlasted it). */
  afterAnswer: number;
}

/** What a run of trials found. Lost, phantom and torn must all be 0. */
export interface CrashTrialReport {
  readonly store: string;
  readonly seed: number;
  trials: number;
  /** Operations acknowledged to the client over all trials. */
  acknowledged: number;
  /** In-flight operations that changed a frame and turned out committed after the restart. */
  inFlightCommitted: number;
  /** In-flight operations that changed a frame and turned out not committed. */
  inFlightDiscarded: number;
  readonly kills: Record<CrashOperation, KillCounts>;
  /** Acknowledged writes not visible after a restart (must be 0). */
  lost: number;
  /** Contents no put sent, or states out of order (must be 0). */
  phantom: number;
  /** Unreadable or changed data (must be 0). */
  torn: number;
  /** Operations refused while the server was alive, which the workload never expects (must be 0). */
  unexpectedErrors: number;
  /** Details of every finding (the first 100). */
  readonly findings: string[];
  elapsedMs: number;
  /** Where the time went: server starts, workloads until the kill, reading back and judging. */
  readonly phasesMs: { start: number; workload: number; judge: number };
}

/** Options of {@link runCrashTrials}. */
export interface CrashTrialOptions {
  readonly trials: number;
  readonly seed: number;
  /** Called after each trial (progress of long runs). */
  readonly onTrial?: (report: CrashTrialReport) => void;
}

/** Versions each frame keeps (`--keep-versions`); the oracle requires exactly these to survive vacuum. */
export const KEEP_VERSIONS = 4;

/**
 * Retention by count only (the default --keep-for of 7 days never applies within a run), so vacuum
 * removes versions in most trials; frequent background vacuums; background compaction after 3 small appends.
 */
const SERVE_ARGS = ['--keep-versions', String(KEEP_VERSIONS), '--vacuum-grace', '0', '--vacuum-every', '200ms', '--compact-threshold', '3'];
const BUCKET = 'crash';
/** Frame `plain` has a Utf8 column; `dict` a dictionary column, so its segments carry dictionary files. */
const FRAMES = [
  { name: 'plain', dictionary: false },
  { name: 'dict', dictionary: true },
] as const;
/** The kill targets one of the first this-many operations of a trial (over all frames). */
const TARGET_OPERATIONS = 10;
/** Rows of one put: 1 to this many. */
const MAX_ROWS_PER_PUT = 48;
/** An append onto a frame larger than this becomes a replace, so frames stay small. */
const MAX_FRAME_ROWS = 2000;
const MAX_FINDINGS = 100;
const LABELS = ['k0', 'k1', 'k2', 'k3', 'k4', 'k5', 'k6'];
const LABEL_DICTIONARY = vectorFromArray(LABELS, new Utf8());
const OPERATIONS: readonly CrashOperation[] = ['create', 'append', 'replace', 'update', 'delete_range', 'delete', 'restore', 'compact', 'vacuum'];

/**
 * Each row's time (column `t`, milliseconds): rows are unique by `x`, so one map serves every frame.
 * A row not in it has time `x` seconds; an update gives its rows times inside the range it replaces.
 * Every operation keeps a frame sorted by time, so update and delete_range have a computable result.
 */
class RowTimes {
  private readonly set = new Map<number, number>();
  of(x: number): number {
    return this.set.get(x) ?? x * 1000;
  }
  assign(x: number, t: number): void {
    this.set.set(x, t);
  }
}

/** The label column's value for row value `x`. */
function label(x: number, dictionary: boolean): string {
  return dictionary ? LABELS[x % LABELS.length]! : String(x);
}

/** The table a put sends: `x` (the rows), `s` (their labels) and `t` (their times, the time column). */
function tableOf(rows: Int32Array, dictionary: boolean, times: RowTimes): Table {
  const s = dictionary
    ? makeVector(
        makeData({
          type: new Dictionary(new Utf8(), new Int32(), 0),
          length: rows.length,
          nullCount: 0,
          data: Int32Array.from(rows, (x) => x % LABELS.length),
          dictionary: LABEL_DICTIONARY,
        }),
      )
    : vectorFromArray(Array.from(rows, (x) => label(x, false)), new Utf8());
  return new Table({ x: makeVector(rows), s, t: vectorFromArray(Array.from(rows, (x) => times.of(x)), new TimestampMillisecond()) });
}

/** What a read returned: the rows, or why they are unusable (wrong columns, nulls, labels not matching). */
function contentOf(table: Table, dictionary: boolean): FrameContent | Unreadable {
  const x = table.getChild('x');
  const s = table.getChild('s');
  if (!x || !s || x.type.typeId !== Type.Int || (x.type as Int32).bitWidth !== 32) {
    return { unreadable: `unexpected schema ${table.schema.fields.map((field) => `${field.name}: ${field.type}`).join(', ')}` };
  }
  if (x.nullCount > 0 || s.nullCount > 0) return { unreadable: 'nulls in a frame written without any' };
  const rows = Int32Array.from(x.toArray() as Int32Array);
  for (let i = 0; i < rows.length; i++) {
    if (s.get(i) !== label(rows[i]!, dictionary)) return { unreadable: `row ${i}: s = ${JSON.stringify(s.get(i))} does not belong to x = ${rows[i]}` };
  }
  return frameState(rows);
}

/** Runs `task` after `ms` milliseconds, to a fraction of a millisecond (timers alone round to 1 ms). */
function after(ms: number, task: () => void): void {
  const due = performance.now() + ms;
  const spin = (): void => {
    if (performance.now() >= due) task();
    else setImmediate(spin);
  };
  if (ms > 2) setTimeout(spin, ms - 1.5);
  else setImmediate(spin);
}

/** Running mean duration of each operation, so the kill delay spans the operation it targets. */
class OperationDurations {
  private readonly means = new Map<CrashOperation, number>();
  /** The mean so far (10 ms before any sample). */
  mean(kind: CrashOperation): number {
    return this.means.get(kind) ?? 10;
  }
  record(kind: CrashOperation, ms: number): void {
    const mean = this.means.get(kind);
    this.means.set(kind, mean === undefined ? ms : 0.8 * mean + 0.2 * ms);
  }
}

/** One trial's kill: fires during (or just after) the target-th operation started. */
class KillSwitch {
  fired = false;
  private started = 0;
  private readonly fallback: NodeJS.Timeout;
  constructor(
    private readonly server: HangarProcess,
    private readonly target: number,
    private readonly delay: (kind: CrashOperation) => number,
    private readonly onFire: (kind: CrashOperation | undefined, inFlight: boolean) => void,
  ) {
    // A trial whose writers stopped early (an unexpected error) still ends.
    this.fallback = setTimeout(() => this.fire(undefined, false), 5_000);
  }

  /** Notes that an operation starts; returns a function to call when it settles. */
  starting(kind: CrashOperation): () => void {
    let settled = false;
    if (this.started++ === this.target) after(this.delay(kind), () => this.fire(kind, !settled));
    return () => (settled = true);
  }

  fire(kind: CrashOperation | undefined, inFlight: boolean): void {
    if (this.fired) return;
    this.fired = true;
    clearTimeout(this.fallback);
    this.server.child.kill('SIGKILL');
    this.onFire(kind, inFlight);
  }
}

/** One frame of the workload: its model and how its rows are labelled. */
interface TrialFrame {
  readonly name: string;
  readonly dictionary: boolean;
  readonly model: FrameModel;
}

/** An operation about to be sent: what it leaves the frame as, and how to send it. */
interface PlannedOperation {
  readonly kind: CrashOperation;
  readonly content: FrameContent;
  /** Sends it; resolves with the version it committed, when the answer names one. */
  readonly send: () => Promise<number | undefined>;
  /** Whether an error means the server refused it, changing nothing (and that is expected). */
  readonly refusal?: (error: unknown) => boolean;
}

/**
 * Runs `options.trials` crash trials against one store, with one server start per trial: the
 * server that a trial restarts is the one the next trial kills.
 */
export async function runCrashTrials(store: CrashStore, options: CrashTrialOptions): Promise<CrashTrialReport> {
  const started = performance.now();
  const next = seededRandom(options.seed);
  const kills = Object.fromEntries(OPERATIONS.map((kind) => [kind, { inFlight: 0, afterAnswer: 0 }])) as Record<CrashOperation, KillCounts>;
  const report: CrashTrialReport = {
    store: store.name, seed: options.seed, trials: 0, acknowledged: 0, inFlightCommitted: 0, inFlightDiscarded: 0,
    kills, lost: 0, phantom: 0, torn: 0, unexpectedErrors: 0, findings: [], elapsedMs: 0,
    phasesMs: { start: 0, workload: 0, judge: 0 },
  };
  const timed = async <T>(phase: keyof CrashTrialReport['phasesMs'], work: () => Promise<T>): Promise<T> => {
    const begun = performance.now();
    try {
      return await work();
    } finally {
      report.phasesMs[phase] += performance.now() - begun;
    }
  };
  const note = (finding: string): void => {
    if (report.findings.length < MAX_FINDINGS) report.findings.push(finding);
  };
  const frames: TrialFrame[] = FRAMES.map(({ name, dictionary }) => ({ name, dictionary, model: new FrameModel() }));
  const durations = new OperationDurations();
  let counter = 0;
  const freshRows = (): Int32Array => Int32Array.from({ length: 1 + Math.floor(next() * MAX_ROWS_PER_PUT) }, () => ++counter);
  const times = new RowTimes();
  const start = () => timed('start', () => startHangarProcess([...SERVE_ARGS, '--data', store.data], store.env ?? {}));

  let server = await start();
  try {
    for (let trial = 0; trial < options.trials; trial++) {
      // The workload, until the kill.
      let killedDuring: CrashOperation | undefined;
      const client = HangarClient.connect(server.location);
      const kill = new KillSwitch(
        server,
        Math.floor(next() * TARGET_OPERATIONS),
        // Half the kills anywhere in the operation (or just after its answer), half near its end,
        // where commits happen.
        (kind) => durations.mean(kind) * (next() < 0.5 ? next() * 1.25 : 0.6 + next() * 0.5),
        (kind, inFlight) => {
          killedDuring = kind;
          if (kind) kills[kind][inFlight ? 'inFlight' : 'afterAnswer']++;
        },
      );
      const plan = (frame: TrialFrame): PlannedOperation => planOperation(frame, client, next, freshRows, times);
      const workload = Promise.all(
        frames.map(async (frame) => {
          while (!kill.fired) {
            const operation = plan(frame);
            frame.model.begin(operation.content);
            const settled = kill.starting(operation.kind);
            const sent = performance.now();
            try {
              const version = await operation.send();
              frame.model.acknowledge(version);
              report.acknowledged++;
              durations.record(operation.kind, performance.now() - sent);
            } catch (error) {
              if (kill.fired) return; // cut off by the kill: the model keeps it in flight
              if (operation.refusal?.(error)) {
                frame.model.refused();
                continue;
              }
              report.unexpectedErrors++;
              note(`trial ${trial}, frame ${frame.name}: ${operation.kind} failed with the server alive: ${(error as Error).message}`);
              frame.model.refused();
              kill.fire(undefined, false);
              return;
            } finally {
              settled();
            }
          }
        }),
      );
      await timed('workload', async () => {
        await workload;
        await server.exited;
      });
      client.close();

      // The restart, and the judgement.
      server = await start();
      const reader = HangarClient.connect(server.location);
      const judged = performance.now();
      try {
        const listed = new Set((await reader.list({ bucket: BUCKET }).catch(absentAs([]))).map((frame) => frame.name));
        const observations = await Promise.all(frames.map((frame) => observe(reader, frame, listed.has(frame.name))));
        frames.forEach((frame, i) => {
          const observation = observations[i]!;
          const before = frame.model.state;
          const verdict = frame.model.judge(observation, KEEP_VERSIONS);
          report.lost += verdict.lost;
          report.phantom += verdict.phantom;
          report.torn += verdict.torn;
          for (const finding of verdict.findings) note(`trial ${trial} (seed ${options.seed}), frame ${frame.name}, killed during ${killedDuring ?? 'nothing'}: ${finding}`);
          const wasInFlight = frame.model.inFlightContent;
          frame.model.settle(observation, verdict);
          if (wasInFlight !== undefined && !sameContent(wasInFlight, before)) {
            if (sameContent(frame.model.state, wasInFlight)) report.inFlightCommitted++;
            else report.inFlightDiscarded++;
          }
        });
      } finally {
        reader.close();
        report.phasesMs.judge += performance.now() - judged;
      }
      report.trials++;
      report.elapsedMs = performance.now() - started;
      options.onTrial?.(report);
    }
  } finally {
    await server.kill();
  }
  report.elapsedMs = performance.now() - started;
  return report;
}

/** A catch handler turning NOT_FOUND into `value`. */
function absentAs<T>(value: T): (error: unknown) => T {
  return (error) => {
    if (error instanceof NotFoundError) return value;
    throw error;
  };
}

/** Reads what the restarted server shows of a frame: every kept version, the current state. */
async function observe(client: HangarClient, frame: TrialFrame, listed: boolean): Promise<FrameObservation> {
  const options = { bucket: BUCKET };
  const read = async (version?: number): Promise<FrameContent | Unreadable | undefined> => {
    try {
      return contentOf(await client.get(frame.name, version === undefined ? options : { ...options, version }), frame.dictionary);
    } catch (error) {
      if (!(error instanceof NotFoundError)) return { unreadable: (error as Error).message };
      // Not found: the current read of an absent frame, or a version a background vacuum removed after the listing.
      return version === undefined ? null : /no longer kept/.test(error.message) ? undefined : { unreadable: error.message };
    }
  };
  const kept = await client.versions(frame.name, options).catch(absentAs([]));
  const [current, ...contents] = await Promise.all([read(), ...kept.map((version) => (version.deleted ? null : read(version.version)))]);
  const versions = kept.flatMap(({ version }, i): ObservedVersion[] => (contents[i] === undefined ? [] : [{ version, content: contents[i]! }]));
  const newest = kept.at(-1);
  if (current === null && newest !== undefined && !newest.deleted) {
    // NOT_FOUND for a frame whose current version is not a tombstone: its data is missing.
    return { versions, current: { unreadable: `NOT_FOUND although version ${newest.version} is current and not a deletion` }, listed };
  }
  return { versions, current: current!, listed };
}

/** Chooses the next operation on a frame from its acknowledged state. */
function planOperation(frame: TrialFrame, client: HangarClient, next: () => number, freshRows: () => Int32Array, times: RowTimes): PlannedOperation {
  const options = { bucket: BUCKET };
  const state = frame.model.state;
  const put = (kind: CrashOperation, mode: 'error' | 'append' | 'replace', rows: Int32Array, content: FrameContent): PlannedOperation => ({
    kind,
    content,
    send: async () => (await client.put(frame.name, tableOf(rows, frame.dictionary, times), { ...options, mode })).version,
  });
  if (state === null) {
    const rows = freshRows();
    return put('create', next() < 0.5 ? 'error' : 'replace', rows, frameState(rows));
  }
  const roll = next();
  if (roll >= 0.46 && roll < 0.58 && state.rows.length >= 2) {
    // A range from one stored row's time to another's (both included), so it removes at least one row.
    const i = Math.floor(next() * state.rows.length);
    const j = Math.min(state.rows.length - 1, i + Math.floor(next() * 60));
    const start = times.of(state.rows[i]!);
    const end = times.of(state.rows[j]!) + 1;
    // The frame is sorted by time: the rows before the range, then those in it, then those after.
    const before = Array.from(state.rows).filter((x) => times.of(x) < start);
    const after = Array.from(state.rows).filter((x) => times.of(x) >= end);
    if (roll < 0.52) {
      return {
        kind: 'delete_range',
        content: frameState(Int32Array.from([...before, ...after])),
        send: async () => (await client.deleteRange(frame.name, new Date(start), new Date(end), options)).version,
      };
    }
    // Update: fresh rows with times spread over [start, end), in order, replacing the range's rows.
    const rows = freshRows();
    rows.forEach((x, k) => times.assign(x, start + Math.floor(((end - start) * k) / rows.length)));
    return {
      kind: 'update',
      content: frameState(Int32Array.from([...before, ...rows, ...after])),
      send: async () =>
        (await client.put(frame.name, tableOf(rows, frame.dictionary, times), { ...options, mode: 'update', range: [new Date(start), new Date(end)] })).version,
    };
  }
  if (roll < 0.34) {
    const rows = freshRows();
    if (state.rows.length + rows.length > MAX_FRAME_ROWS) return put('replace', 'replace', rows, frameState(rows));
    const appended = new Int32Array(state.rows.length + rows.length);
    appended.set(state.rows);
    appended.set(rows, state.rows.length);
    return put('append', 'append', rows, frameState(appended));
  }
  if (roll < 0.46) {
    const rows = freshRows();
    return put('replace', 'replace', rows, frameState(rows));
  }
  if (roll < 0.64) {
    return {
      kind: 'compact',
      content: state,
      send: async () => {
        const result = await client.compact(frame.name, options);
        return result.compacted ? result.version : undefined;
      },
    };
  }
  if (roll < 0.8) {
    const scope = next() < 0.5 ? { ...options, name: frame.name } : options;
    return { kind: 'vacuum', content: state, send: async () => void (await client.vacuum(scope)) };
  }
  const restorable = frame.model.knownVersions.filter(([, content]) => content !== null);
  if (roll < 0.9 || restorable.length === 0) return { kind: 'delete', content: null, send: async () => void (await client.delete(frame.name, options)) };
  const [version, content] = restorable[Math.floor(next() * restorable.length)]!;
  return {
    kind: 'restore',
    content,
    send: () => client.restore(frame.name, version, options),
    // A background vacuum may have removed that version meanwhile.
    refusal: (error) => error instanceof NotFoundError && /no longer kept/.test(error.message),
  };
}

/** Whether a report is clean: nothing lost, phantom, torn or refused. */
export function cleanReport(report: CrashTrialReport): boolean {
  return report.lost === 0 && report.phantom === 0 && report.torn === 0 && report.unexpectedErrors === 0;
}

