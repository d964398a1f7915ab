// The harness of the read-race tests (issue 24): gets and SQL queries racing deletes, replaces,
// purges and bucket deletes of the frame they read, each answer judged: the rows of exactly one
// put, or NOT_FOUND. Anything else (DATA_LOSS, INTERNAL, mixed or partial rows) is wrong.
import { Table, tableFromArrays, tableToIPC } from 'apache-arrow';
import type { HangarEngine } from '../../src/core/engine.js';
import { HangarError } from '../../src/errors.js';
import { splitIpcStream } from '../../src/format/ipc-message.js';
import type { FrameRef } from '../../src/names.js';
import { collect } from '../../src/testing/fixtures.js';

/** Rows of every put. */
export const ROWS = 60_000;
/** Rows per incoming batch: the frame is stored as several segments, so a get spans several fetches. */
const BATCH_ROWS = 6_000;

/** A put's rows: `g` (its generation, the same in every row) and `i` (0 … ROWS − 1), in batches. */
export async function* generation(g: number) {
  const batches = [];
  for (let start = 0; start < ROWS; start += BATCH_ROWS) {
    const rows = Math.min(BATCH_ROWS, ROWS - start);
    batches.push(...tableFromArrays({ g: new Int32Array(rows).fill(g), i: Int32Array.from({ length: rows }, (_, i) => start + i) }).batches);
  }
  yield* splitIpcStream(tableToIPC(new Table(batches), 'stream'));
}

/** What one racing read answered, judged. */
export type Outcome = { kind: 'rows'; generation: number } | { kind: 'not found' } | { kind: 'wrong'; why: string };

function judgeError(error: unknown): Outcome {
  if (error instanceof HangarError && error.code === 'NOT_FOUND') return { kind: 'not found' };
  const code = error instanceof HangarError ? error.code : 'not a HangarError';
  return { kind: 'wrong', why: `${code}: ${(error as Error).message}` };
}

/** The messages, with a pause after each when `slow` (a client reading slowly). */
async function* paced<T>(messages: AsyncIterable<T>, slow: boolean): AsyncGenerator<T> {
  for await (const message of messages) {
    yield message;
    if (slow) await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** A whole get of the frame, judged. */
export async function racingGet(engine: HangarEngine, ref: FrameRef, slow: boolean): Promise<Outcome> {
  try {
    const table = await collect(paced((await engine.read(ref)).messages, slow));
    const g = [...table.getChild('g')!].map(Number);
    const i = [...table.getChild('i')!].map(Number);
    if (g.length !== ROWS || g.some((value) => value !== g[0]) || i.some((value, at) => value !== at)) {
      return { kind: 'wrong', why: `a get returned ${g.length} rows of generations ${[...new Set(g)].join(',')}` };
    }
    return { kind: 'rows', generation: g[0]! };
  } catch (error) {
    return judgeError(error);
  }
}

/** A SQL query over every row of the frame, judged by its count, sums and generations. */
export async function racingQuery(engine: HangarEngine, ref: FrameRef): Promise<Outcome> {
  try {
    const sql = `SELECT count(*) AS n, min(g) AS lo, max(g) AS hi, sum(i) AS s FROM "${ref.bucket}"."${ref.name}"`;
    const table = await collect((await engine.query(sql, { bucket: ref.bucket })).messages);
    const row = table.get(0)!.toJSON() as { n: bigint; lo: number; hi: number; s: bigint };
    if (Number(row.n) !== ROWS || row.lo !== row.hi || BigInt(row.s) !== BigInt((ROWS * (ROWS - 1)) / 2)) {
      return { kind: 'wrong', why: `SQL answered n=${row.n} g=${row.lo}..${row.hi} sum=${row.s}` };
    }
    return { kind: 'rows', generation: row.lo };
  } catch (error) {
    // A query naming a frame that is gone fails as a missing table, as for any absent frame.
    if (error instanceof HangarError && error.code === 'INVALID_ARGUMENT' && /does not exist/i.test(error.message)) return { kind: 'not found' };
    return judgeError(error);
  }
}

const MUTATIONS = ['delete', 'replace', 'purge', 'bucket'] as const;

/** Removes or replaces the frame, makes it again as generation `next`, and vacuums after a delete or replace. */
async function mutate(engine: HangarEngine, ref: FrameRef, kind: (typeof MUTATIONS)[number], next: number): Promise<void> {
  if (kind === 'delete') await engine.delete(ref);
  else if (kind === 'purge') await engine.purge(ref);
  else if (kind === 'bucket') await engine.deleteBucket(ref.bucket, 'delete');
  await engine.put(ref, 'replace', generation(next));
  if (kind === 'delete' || kind === 'replace') await engine.vacuum({ bucket: ref.bucket, name: ref.name });
}

/** What the rounds' reads answered: counts of good answers and the wrong ones, described. */
export interface RaceReport {
  readonly rows: number;
  readonly notFound: number;
  readonly wrong: string[];
}

/**
 * Runs `rounds` rounds against an engine whose retention vacuums replaced versions at once: in
 * each, six reads (four gets, two of them slow readers, and two SQL queries) start a few
 * milliseconds apart while one mutation (delete + vacuum, replace + vacuum, purge, bucket delete;
 * in turn) runs and the frame is made again. With `writer`, the mutations run there (another
 * engine over the same store: another process, whose vacuum does not wait for this one's reads).
 */
export async function raceRounds(engine: HangarEngine, ref: FrameRef, rounds: number, writer: HangarEngine = engine): Promise<RaceReport> {
  const report = { rows: 0, notFound: 0, wrong: [] as string[] };
  await writer.put(ref, 'replace', generation(0));
  for (let round = 0; round < rounds; round++) {
    const mutation = MUTATIONS[round % MUTATIONS.length]!;
    const reads: Promise<Outcome>[] = [];
    for (let r = 0; r < 6; r++) {
      const delay = (round * 7 + r * 3) % 6;
      const read = (): Promise<Outcome> => (r % 3 === 2 ? racingQuery(engine, ref) : racingGet(engine, ref, r % 3 === 1));
      reads.push(new Promise((resolve) => setTimeout(resolve, delay)).then(read));
    }
    await new Promise((resolve) => setTimeout(resolve, round % 4));
    await mutate(writer, ref, mutation, round + 1);
    for (const outcome of await Promise.all(reads)) {
      if (outcome.kind === 'wrong') report.wrong.push(`round ${round} (${mutation}): ${outcome.why}`);
      else if (outcome.kind === 'rows') report.rows++;
      else report.notFound++;
    }
  }
  return report;
}
