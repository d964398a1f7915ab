/**
 * Resample's split pass: the bins of a large frame cut in two at a bin edge near the middle row, the
 * first half reduced on the main thread while a worker (resample-worker.ts) reduces the second,
 * both reading the value columns where they lie in shared memory (the decoded cache keeps the
 * resample's reads in SharedArrayBuffers). Every bin is reduced whole by one thread with the same
 * code (resample-bins.ts), so the results are bit for bit those of one thread; nothing straddles
 * the cut, so nothing is merged.
 */
import { existsSync } from 'node:fs';
import { Worker } from 'node:worker_threads';
import { type Aggregated, type BinRuns, type PackedColumns, type PassAggregation, type Piece, aggregateColumns, binsOf, firstAtOrAfter, int64At, packColumns, packWords } from './resample-bins.js';
import type { SplitReply, SplitRequest } from './resample-worker.js';

/**
 * Rows below which the pass stays on one thread: a worker's round trip (~0.1–1 ms) then costs
 * more than half the pass (about 10 ns a value).
 */
export const SPLIT_MIN_ROWS = 1 << 20;

/** The compiled worker module (dist's when this module runs from its TypeScript source, as under vitest). */
function workerUrl(): URL {
  const here = import.meta.url;
  if (!here.endsWith('.ts')) return new URL('./resample-worker.js', here);
  const compiled = new URL('./resample-worker.js', here.replace('/src/core/', '/dist/core/'));
  if (!existsSync(compiled)) throw new Error(`the resample worker is not built (${compiled.pathname}): run \`npm run build\` first`);
  return compiled;
}

/** A worker's successful reply. */
type Answer = Extract<SplitReply, { ok: true }>;

interface Waiter {
  resolve(reply: Answer): void;
  reject(error: Error): void;
}

/**
 * Idle time after which the worker stops. Its heap holds the shared buffers it was sent until its
 * collector runs, which in a thread that allocates little may be never: stopping it releases them
 * (a decoded frame the read cache has evicted is then freed). A new one starts in ~30–50 ms.
 */
const IDLE_MS = 20_000;

/** The one resample worker of the process, started on first use, stopped after {@link IDLE_MS} idle (unreferenced meanwhile). */
class ResampleWorker {
  private worker: Worker | undefined;
  private readonly waiting = new Map<number, Waiter>();
  private nextId = 1;
  private idle: NodeJS.Timeout | undefined;
  /** Split passes answered by the worker (for tests). */
  answered = 0;

  private start(): Worker {
    const worker = new Worker(workerUrl());
    worker.unref();
    worker.on('message', (reply: SplitReply) => {
      const waiter = this.waiting.get(reply.id);
      if (!waiter) return;
      this.waiting.delete(reply.id);
      if (this.waiting.size === 0) {
        worker.unref();
        this.idle = setTimeout(() => this.stop(worker), IDLE_MS).unref();
      }
      if (reply.ok) {
        this.answered++;
        waiter.resolve(reply);
      } else waiter.reject(new Error(`the resample worker failed: ${reply.message}`));
    });
    // A crashed worker fails its requests (their shares are then reduced on the main thread) and is
    // replaced on the next use.
    const retire = (why: string): void => {
      // A worker stopped when idle has no requests; those waiting belong to its successor.
      if (this.worker !== worker) return;
      this.worker = undefined;
      for (const waiter of this.waiting.values()) waiter.reject(new Error(`the resample worker stopped: ${why}`));
      this.waiting.clear();
    };
    worker.on('error', (error) => retire(error.message));
    worker.on('exit', (code) => retire(`exit code ${code}`));
    return worker;
  }

  private stop(worker: Worker): void {
    if (this.worker !== worker || this.waiting.size > 0) return;
    this.worker = undefined;
    void worker.terminate();
  }

  /** Sends a request (its id added) and the buffers it hands over. */
  call(request: Omit<SplitRequest, 'id'>, transfer: ArrayBuffer[]): Promise<Answer> {
    clearTimeout(this.idle);
    const worker = (this.worker ??= this.start());
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.waiting.set(id, { resolve, reject });
      worker.ref();
      worker.postMessage({ ...request, id }, transfer);
    });
  }

  /** Reduces bins `[0, bins.count)` over `columns` (in shared memory) on the worker. */
  async reduce(columns: PackedColumns, bins: BinRuns, aggregation: PassAggregation): Promise<readonly (readonly Aggregated[])[]> {
    const starts = bins.starts.slice(0, bins.count + 1);
    return (await this.call({ aggregation, starts, count: bins.count, columns }, [starts.buffer, columns.runs.buffer as ArrayBuffer])).results;
  }
}

const shared = new ResampleWorker();

/** How many split passes the worker has answered in this process (tests check the split ran). */
export function splitPassesAnswered(): number {
  return shared.answered;
}

/** Rows `[from, to)` of a column given as pieces in row order, as pieces (views, no copy). */
function piecesBetween(pieces: readonly Piece[], from: number, to: number): Piece[] {
  const out: Piece[] = [];
  let row = 0;
  for (const piece of pieces) {
    const start = Math.max(from, row);
    const end = Math.min(to, row + piece.rows);
    if (start < end) out.push({ values: piece.values.subarray(start - row, end - row), valid: undefined, offset: 0, rows: end - start });
    row += piece.rows;
    if (row >= to) break;
  }
  return out;
}

/** The first bin starting at or after `row` (bins start in increasing rows). */
function binAtOrAfter(starts: Int32Array, count: number, row: number): number {
  let low = 0;
  let high = count;
  while (low < high) {
    const middle = (low + high) >>> 1;
    if (starts[middle]! < row) low = middle + 1;
    else high = middle;
  }
  return low;
}

/**
 * Each value column's per-bin results from both threads, or undefined when the split does not
 * apply: fewer than {@link SPLIT_MIN_ROWS} rows, fewer than two bins with one near the middle, or a
 * column with nulls or whose values are not in shared memory (the caller then runs one thread).
 * Should the worker fail, its share is reduced here: the results are the same.
 * @param columns - per value column, its pieces covering exactly the bins' rows, in row order
 * @param minRows - the fewest rows split ({@link SPLIT_MIN_ROWS}; tests split small frames)
 */
export async function splitPass(columns: readonly (readonly Piece[])[], bins: BinRuns, aggregation: PassAggregation, minRows = SPLIT_MIN_ROWS): Promise<Aggregated[][] | undefined> {
  const rows = bins.starts[bins.count]!;
  if (rows < minRows || bins.count < 2) return undefined;
  if (!columnsShared(columns)) return undefined;
  const cut = binAtOrAfter(bins.starts, bins.count, rows / 2);
  if (cut <= 0 || cut >= bins.count) return undefined;
  const cutRow = bins.starts[cut]!;
  const second: BinRuns = { count: bins.count - cut, starts: bins.starts.subarray(cut).map((start) => start - cutRow) };
  const secondColumns = columns.map((pieces) => piecesBetween(pieces, cutRow, rows));
  let remote: Promise<readonly (readonly Aggregated[])[]>;
  try {
    remote = shared.reduce(packColumns(secondColumns), second, aggregation);
  } catch {
    return undefined;
  }
  remote.catch(() => undefined);
  const firstBins: BinRuns = { count: cut, starts: bins.starts.subarray(0, cut + 1) };
  const local = aggregateColumns(columns.map((pieces) => piecesBetween(pieces, 0, cutRow)), firstBins, aggregation);
  const far = await remote.catch(() => aggregateColumns(secondColumns, second, aggregation));
  return local.map((parts, column) => parts.map((part, i) => joined(part, far[column]![i]!)));
}

/** One column's results over all bins from the two halves. */
function joined(first: Aggregated, second: Aggregated): Aggregated {
  const values = new Float64Array(first.values.length + second.values.length);
  values.set(first.values);
  values.set(second.values, first.values.length);
  const present = new Uint8Array(values.length);
  present.set(first.present);
  present.set(second.present, first.present.length);
  return { values, present };
}

/** The bins found and each value column's per-bin results, from a split pass that found the bins on both threads. */
export interface BinnedOutcome {
  /** `count` bins, each starting at `edges[b]` µs. */
  readonly bins: { readonly count: number; readonly edges: Float64Array };
  /** Per value column, its results (four for ohlc). */
  readonly results: Aggregated[][];
}

/** Rows `[from, to)` of a time column given as batches of int64 word pairs (views, no copy). */
function wordsBetween(batches: readonly Int32Array[], from: number, to: number): Int32Array[] {
  const out: Int32Array[] = [];
  let row = 0;
  for (const words of batches) {
    const rows = words.length >>> 1;
    const start = Math.max(from, row);
    const end = Math.min(to, row + rows);
    if (start < end) out.push(words.subarray(2 * (start - row), 2 * (end - row)));
    row += rows;
    if (row >= to) break;
  }
  return out;
}

/**
 * The first row at or after the middle that starts a bin (its time at or past the edge after the
 * middle row's bin), or undefined when the middle row's bin runs to the end.
 */
function cutRow(time: readonly Int32Array[], rows: number, scale: number, phase: number, step: number): number | undefined {
  const middle = rows >>> 1;
  let base = 0;
  let at = 0;
  while (base + (time[at]!.length >>> 1) <= middle) base += time[at++]!.length >>> 1;
  const value = int64At(time[at]!, middle - base) * scale;
  const offset = (value - phase) % step;
  const next = value - (offset < 0 ? offset + step : offset) + step;
  let from = middle - base;
  for (; at < time.length; at++) {
    const words = time[at]!;
    const batchRows = words.length >>> 1;
    const found = firstAtOrAfter(words, from, batchRows, next, scale);
    if (found < batchRows) return base + found;
    base += batchRows;
    from = 0;
  }
  return undefined;
}

/** Whether every value column is free of nulls and lies in shared memory (the worker reads it there). */
function columnsShared(columns: readonly (readonly Piece[])[]): boolean {
  return columns.every((pieces) => pieces.every((piece) => piece.valid === undefined && piece.values.buffer instanceof SharedArrayBuffer));
}

function allShared(time: readonly Int32Array[], columns: readonly (readonly Piece[])[]): boolean {
  return time.every((words) => words.buffer instanceof SharedArrayBuffer) && columnsShared(columns);
}

/**
 * The pass on both threads for a time column known sorted (every segment flagged): the rows are cut
 * where a bin starts near the middle, and each thread finds the bins of its half (see binsOf) and
 * reduces them; the worker does not wait for the main thread's search. The bins are those one thread
 * finds, and each is reduced whole by one thread, so the results are bit for bit one thread's.
 * @param time - the time column's batches as int64 word pairs, without nulls
 * @param columns - per value column, its pieces, batched as `time`
 * @returns undefined when the split does not apply (as {@link splitPass}), null when times pass 2^53 µs
 */
export async function splitBinnedPass(
  time: readonly Int32Array[],
  columns: readonly (readonly Piece[])[],
  clock: { readonly scale: number; readonly phase: number; readonly step: number },
  aggregation: PassAggregation,
  minRows = SPLIT_MIN_ROWS,
): Promise<BinnedOutcome | null | undefined> {
  const rows = time.reduce((total, words) => total + (words.length >>> 1), 0);
  if (rows < minRows || !allShared(time, columns)) return undefined;
  const { scale, phase, step } = clock;
  const cut = cutRow(time, rows, scale, phase, step);
  if (cut === undefined) return undefined;
  const farTime = wordsBetween(time, cut, rows);
  const farColumns = columns.map((pieces) => piecesBetween(pieces, cut, rows));
  let remote: Promise<Answer>;
  try {
    const words = packWords(farTime);
    const packed = packColumns(farColumns);
    remote = shared.call({ aggregation, time: { words, scale, phase, step }, columns: packed }, [words.runs.buffer as ArrayBuffer, packed.runs.buffer as ArrayBuffer]);
  } catch {
    return undefined;
  }
  remote.catch(() => undefined);
  const nearBins = binsOf(wordsBetween(time, 0, cut), scale, phase, step, true);
  const near = nearBins ? aggregateColumns(columns.map((pieces) => piecesBetween(pieces, 0, cut)), nearBins, aggregation) : undefined;
  const far = await remote.catch((): Answer | undefined => undefined);
  let farBins = far?.bins;
  let farResults = far?.results;
  if (!far) {
    // The worker failed: its half here, with the same code.
    const found = binsOf(farTime, scale, phase, step, true);
    farBins = found ?? null;
    farResults = found ? aggregateColumns(farColumns, found, aggregation) : [];
  }
  if (!nearBins || !near || !farBins || !farResults) return null;
  const count = nearBins.count + farBins.count;
  const edges = new Float64Array(count);
  edges.set(nearBins.edges.subarray(0, nearBins.count));
  edges.set(farBins.edges.subarray(0, farBins.count), nearBins.count);
  return { bins: { count, edges }, results: near.map((parts, column) => parts.map((part, i) => joined(part, farResults![column]![i]!))) };
}
