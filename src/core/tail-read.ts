/**
 * Tail reads (`"tail": N`): the last N rows of a frame. The last segments holding them are read,
 * and of the first of those only its last row groups holding the rows still needed (fetched by byte
 * range and verified by page CRCs, see segment-fetch.ts), so a tail of 100 rows decodes one row
 * group rather than a whole segment (on the calling thread when it is small, inline-decode.ts).
 * Anything the pruned path cannot do (kept dictionaries, stores without ranged reads, small or
 * older segments, any failure) reads the segments whole.
 */
import { type IpcMessage, inspectMessage, splitIpcStream } from '../format/ipc-message.js';
import { decodeInline } from '../format/parquet/inline-decode.js';
import type { FrameRef } from '../names.js';
import { type FrameReaderContext, type ReadPlan, frameMessages } from './frame-reader.js';
import { fetchLastGroups } from './segment-fetch.js';
import { skipLeadingRows } from './skip-leading-rows.js';

/** The decoded last row groups of a plan's first segment, and how many of their rows to leave out. */
interface PrunedHead {
  readonly messages: IpcMessage[];
  readonly skip: number;
}

/** Decodes only the last row groups of the first segment holding `rows` rows; undefined when it cannot. */
async function prunedHead(context: FrameReaderContext, ref: FrameRef, plan: ReadPlan, rows: number): Promise<PrunedHead | undefined> {
  const segment = plan.segments[0]!;
  if (plan.keptDictionaries || rows <= 0 || rows >= segment.rows) return undefined;
  // Repeated tails of a segment are served from the decoded-segment cache (segments never change).
  const key = `${ref.bucket}/${ref.name}/${segment.id}|tail ${rows}|${plan.columns?.join('\u0000') ?? '*'}`;
  const cached = context.cache?.get(key);
  if (cached) return headOf(cached.ipc, rows);
  try {
    const fetched = await fetchLastGroups(context.connector, ref, segment, plan.columns, plan.storedColumns, rows);
    if (!fetched) return undefined;
    // Small batches, so cutting the rows before the tail drops whole batches unread and slices a small one.
    const batchRows = Math.min(plan.batchRows, Math.max(1024, rows));
    // The rows before the tail are left out by the decoder (their pages still checked), which
    // the plain reader does; the rows returned are counted, so any decoder gives the same tail.
    const options = { rowGroups: [...fetched.groups], batchRows, skipRows: fetched.groupRows - rows, ...(plan.columns ? { columns: [...plan.columns] } : {}) };
    // A row group or two decodes here faster than a codec worker's round trip; larger ones go to a worker.
    const ipc = decodeInline(fetched.bytes, options, fetched.verification) ?? (await context.codec.decode(fetched.bytes, options, true, fetched.verification));
    context.cache?.set(key, { ipc, dictionaries: [] });
    return headOf(ipc, rows);
  } catch {
    // Missing, damaged or unexpected: the whole-segment path reads it again and reports it properly.
    return undefined;
  }
}

/** A decoded head's messages, and how many of their leading rows are before the last `rows`. */
function headOf(ipc: Uint8Array, rows: number): PrunedHead {
  const messages = splitIpcStream(ipc);
  const decoded = messages.reduce((sum, message) => {
    const info = inspectMessage(message);
    return sum + (info.kind === 'batch' ? info.rows : 0);
  }, 0);
  return { messages, skip: Math.max(0, decoded - rows) };
}

/**
 * The messages of a tail read of `tail` rows over `plan.segments` (the last segments, holding at
 * least that many rows): the schema, then exactly the last `tail` rows in order.
 * @param release - the read's lease, released when the stream ends
 */
export async function* tailMessages(context: FrameReaderContext, ref: FrameRef, plan: ReadPlan, tail: number, release: () => void): AsyncGenerator<IpcMessage> {
  const planned = plan.segments.reduce((sum, segment) => sum + segment.rows, 0);
  const rest = plan.segments.slice(1);
  const restRows = rest.reduce((sum, segment) => sum + segment.rows, 0);
  const head = plan.segments.length > 0 ? await prunedHead(context, ref, plan, tail - restRows) : undefined;
  if (!head) {
    const messages = frameMessages(context, ref, plan, release);
    const skip = Math.max(0, planned - tail);
    yield* skip > 0 ? skipLeadingRows(messages, skip) : messages;
    return;
  }
  try {
    const decoded = (async function* () {
      yield* head.messages;
    })();
    yield* head.skip > 0 ? skipLeadingRows(decoded, head.skip) : decoded;
    if (rest.length === 0) return;
    for await (const message of frameMessages(context, ref, { ...plan, segments: rest }, () => undefined)) {
      if (inspectMessage(message).kind !== 'schema') yield message;
    }
  } finally {
    release();
  }
}
