/**
 * Worker thread of resample's split pass (resample-split.ts): reduces its share of a frame's bins
 * over value columns that live in shared memory (the decoded cache's SharedArrayBuffers), so the
 * main thread and this one each read half of the values and nothing is copied between them.
 */
import { parentPort } from 'node:worker_threads';
import { type Aggregated, type PackedColumns, type PackedWords, type PassAggregation, aggregateColumns, binsOf, unpackColumns, unpackWords } from './resample-bins.js';

/** What the main thread posts: bins `[0, count)` over the rows of the packed columns, in row order. */
export interface SplitRequest {
  /** Matches the reply to its request. */
  readonly id: number;
  /** The aggregation. */
  readonly aggregation: PassAggregation;
  /** Row index (from the share's first row) where each bin starts; `starts[count]` = the share's rows (absent with `time`). */
  readonly starts?: Int32Array;
  /** Number of bins (absent with `time`). */
  readonly count?: number;
  /** Instead of bins: the share's time column, known sorted, whose bins the worker finds (see binsOf). */
  readonly time?: { readonly words: PackedWords; readonly scale: number; readonly phase: number; readonly step: number };
  /** The value columns of the share. */
  readonly columns: PackedColumns;
}

/** The worker's answer: per column, its results (four for ohlc), or why it failed. */
export type SplitReply =
  | {
      readonly id: number;
      readonly ok: true;
      readonly results: readonly (readonly Aggregated[])[];
      /** With `time`: the bins found (`count` bins starting at `edges` µs), or null when its times pass 2^53 µs. */
      readonly bins?: { readonly count: number; readonly edges: Float64Array } | null;
    }
  | { readonly id: number; readonly ok: false; readonly message: string };

parentPort?.on('message', (request: SplitRequest) => {
  try {
    const time = request.time;
    const found = time ? binsOf(unpackWords(time.words), time.scale, time.phase, time.step, true) : undefined;
    if (time && !found) {
      parentPort!.postMessage({ id: request.id, ok: true, results: [], bins: null } satisfies SplitReply);
      return;
    }
    const bins = found ?? { count: request.count!, starts: request.starts! };
    const results = aggregateColumns(unpackColumns(request.columns), bins, request.aggregation);
    const transfers = new Set<ArrayBuffer>();
    for (const column of results) for (const { values, present } of column) transfers.add(values.buffer as ArrayBuffer).add(present.buffer as ArrayBuffer);
    if (found) transfers.add(found.edges.buffer as ArrayBuffer);
    const reply: SplitReply = { id: request.id, ok: true, results, ...(found ? { bins: { count: found.count, edges: found.edges } } : {}) };
    parentPort!.postMessage(reply, [...transfers]);
  } catch (error) {
    const reply: SplitReply = { id: request.id, ok: false, message: error instanceof Error ? error.message : String(error) };
    parentPort!.postMessage(reply);
  }
});
