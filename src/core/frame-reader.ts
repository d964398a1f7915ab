/**
 * Streams a frame's stored segments as IPC messages: the Schema first, then for each segment its
 * kept dictionary batches (see dictionary-layout.ts) and its decoded record batches. The next
 * segment decodes on a worker while the current one is sent, so memory holds two at most.
 */
import type { Connector } from '../connectors/connector.js';
import { type IpcMessage, inspectMessage, splitIpcStream } from './ipc-message.js';
import type { SegmentEntry } from './manifest.js';
import type { FrameRef } from './names.js';
import type { ParquetCodec } from './parquet/parquet-codec.js';
import type { SegmentLeases } from './segment-leases.js';

/** What a read needs to stream a frame's messages. */
export interface ReadPlan {
  /** The segments of the version being read, in row order. */
  readonly segments: readonly SegmentEntry[];
  /** The schema message of the stream (the stored schema, or its projection). */
  readonly schemaHeader: Uint8Array;
  /** Column names of the stored schema, by index: kept dictionary ids are column indices. */
  readonly storedColumns: readonly string[];
  /** Rows per record batch sent. */
  readonly batchRows: number;
  /** The projection, in the order to return; all columns when absent. */
  readonly columns: readonly string[] | undefined;
  /** Whether dictionary batches are kept beside the segments. */
  readonly keptDictionaries: boolean;
}

/** Where a reader gets its bytes and decodes them. */
export interface FrameReaderContext {
  readonly connector: Connector;
  readonly codec: ParquetCodec;
  readonly leases: SegmentLeases;
}

const EMPTY = new Uint8Array(0);

/** One decoded row group, and the kept dictionaries to send before it. */
interface DecodedChunk {
  readonly ipc: Uint8Array;
  readonly dictionaries: readonly IpcMessage[];
}

/** Yields the frame's messages, holding a lease on its segments until the stream ends. */
export async function* frameMessages(context: FrameReaderContext, ref: FrameRef, plan: ReadPlan): AsyncGenerator<IpcMessage> {
  const release = context.leases.acquire(ref);
  try {
    // With kept dictionaries the stored schema leads (its ids match the kept batches); otherwise
    // the decoded stream's own schema does, so its dictionary ids match Parquet's dictionaries.
    let first = true;
    if (plan.keptDictionaries) {
      yield { header: plan.schemaHeader, body: EMPTY };
      first = false;
    }
    const wanted = plan.columns ? new Set(plan.columns) : undefined;
    for await (const chunk of decodedChunks(context, ref, plan)) {
      for (const dictionary of chunk.dictionaries) {
        if (!wanted || wanted.has(plan.storedColumns[dictionaryIdOf(dictionary)] ?? '')) yield dictionary;
      }
      const messages = splitIpcStream(chunk.ipc);
      if (first) yield messages[0] ?? { header: plan.schemaHeader, body: EMPTY };
      first = false;
      for (let i = 1; i < messages.length; i++) yield messages[i]!;
    }
    if (first) yield { header: plan.schemaHeader, body: EMPTY };
  } finally {
    release();
  }
}

/**
 * Decodes row groups in order, keeping the next one decoding while the current one is sent. The
 * first chunk of each segment carries the segment's kept dictionary batches.
 */
async function* decodedChunks(context: FrameReaderContext, ref: FrameRef, plan: ReadPlan): AsyncGenerator<DecodedChunk> {
  const { connector, codec } = context;
  const { batchRows, columns } = plan;
  const jobs = (async function* () {
    for (const segment of plan.segments) {
      const stored = await connector.getSegment(ref, segment.id);
      const dictionaries = segment.dictionaries ? splitIpcStream(await connector.getSegment(ref, segment.dictionaries)) : [];
      // Segments have one row group unless a single oversized batch arrived; those decode group by group.
      for (let group = 0; group < segment.rowGroups; group++) {
        const kept = group === 0 ? dictionaries : [];
        yield () => codec.decode(stored, { rowGroups: [group], batchRows, columns }).then((ipc): DecodedChunk => ({ ipc, dictionaries: kept }));
      }
    }
  })();
  let next = await jobs.next();
  let pending = next.done ? undefined : next.value();
  while (pending) {
    const current = pending;
    next = await jobs.next();
    pending = next.done ? undefined : next.value();
    // Keep a rejected prefetch from surfacing as an unhandled rejection if we stop early.
    pending?.catch(() => undefined);
    yield await current;
  }
}

function dictionaryIdOf(message: IpcMessage): number {
  const info = inspectMessage(message);
  return info.kind === 'dictionary' ? info.id : -1;
}
