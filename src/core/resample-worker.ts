/**
 * Worker thread of resample's split pass (resample-split.ts): reduces its share of a frame's bins
 * over value columns that live in shared memory (the decoded cache's SharedArrayBuffers), so the
 * main thread and this one each read half of the values and nothing is copied between them.
 */
import { parentPort } from 'node:worker_threads';
import { type Aggregated, type PassAggregation, type Piece, aggregateColumns } from './resample-bins.js';

/** A run of a value column's values lying in shared memory (no nulls). */
export interface SharedValues {
  /** The buffer holding them. */
  readonly buffer: SharedArrayBuffer;
  /** Byte offset of the first value. */
  readonly byteOffset: number;
  /** Number of values. */
  readonly length: number;
  /** float64 or float32. */
  readonly bits: 64 | 32;
}

/** What the main thread posts: bins `[0, count)` over rows given as each column's runs, in row order. */
export interface SplitRequest {
  readonly id: number;
  readonly aggregation: PassAggregation;
  /** Row index (from the share's first row) where each bin starts; `starts[count]` = the share's rows. */
  readonly starts: Int32Array;
  readonly count: number;
  /** Per value column, its runs. */
  readonly columns: readonly (readonly SharedValues[])[];
}

/** The worker's answer: per column, its results (four for ohlc), or why it failed. */
export type SplitReply =
  | { readonly id: number; readonly ok: true; readonly results: readonly (readonly Aggregated[])[] }
  | { readonly id: number; readonly ok: false; readonly message: string };

/** Typed-array views of shared runs as pieces without nulls. */
export function sharedPieces(runs: readonly SharedValues[]): Piece[] {
  return runs.map(({ buffer, byteOffset, length, bits }) => ({
    values: bits === 64 ? new Float64Array(buffer, byteOffset, length) : new Float32Array(buffer, byteOffset, length),
    valid: undefined,
    offset: 0,
    rows: length,
  }));
}

parentPort?.on('message', (request: SplitRequest) => {
  try {
    const bins = { count: request.count, starts: request.starts };
    const results = aggregateColumns(request.columns.map(sharedPieces), bins, request.aggregation);
    const transfers = new Set<ArrayBuffer>();
    for (const column of results) for (const { values, present } of column) transfers.add(values.buffer as ArrayBuffer).add(present.buffer as ArrayBuffer);
    const reply: SplitReply = { id: request.id, ok: true, results };
    parentPort!.postMessage(reply, [...transfers]);
  } catch (error) {
    const reply: SplitReply = { id: request.id, ok: false, message: error instanceof Error ? error.message : String(error) };
    parentPort!.postMessage(reply);
  }
});
