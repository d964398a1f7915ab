/**
 * Streams a frame's stored segments as IPC messages: the Schema first, then for each segment its
 * kept dictionary batches (see dictionary-layout.ts) and its decoded record batches. The next
 * segment decodes on a worker while the current one is sent, so memory holds two at most.
 * Range reads skip segments whose time statistics lie outside the range, stream segments wholly
 * inside it unchanged, and filter the rest (see row-selection.ts). Projections on connectors with
 * ranged reads fetch only the column chunks they decode (see segment-fetch.ts). Every segment is
 * checked against the checksums its manifest records before any of it is sent (segment-integrity.ts).
 */
import type { FrameStore } from '../storage/frame-store.js';
import { type IpcMessage, inspectMessage, splitIpcStream } from '../format/ipc-message.js';
import type { SegmentEntry } from '../format/manifest.js';
import type { FrameRef } from '../names.js';
import type { ParquetCodec } from '../format/parquet/parquet-codec.js';
import { CorruptSegmentError } from '../format/parquet/parquet-codec.js';
import { NotFoundError } from '../errors.js';
import { selectRows } from './row-selection.js';
import { damagedSegmentError, segmentVerification, verifyDictionarySidecar } from '../format/segment-integrity.js';
import { missingObjectError } from './read-races.js';
import { type FetchedSegment, fetchSegment, fetchWhole, overlappingGroups } from './segment-fetch.js';
import type { SegmentLeases } from './segment-leases.js';
import type { ColumnBounds } from '../format/time-range.js';
import type { DecodedChunkCache } from './decoded-cache.js';

/** The rows a range read returns. */
export interface RangePlan {
  /** Keep rows whose time column lies in these bounds (null times excluded); all rows when absent. */
  readonly time?: { readonly column: string; readonly bounds: ColumnBounds };
  /** At most this many rows; unlimited when absent. */
  readonly limit?: number;
}

/** What a read needs to stream a frame's messages. */
export interface ReadPlan {
  /** The version being read, named by integrity errors. */
  readonly version?: number;
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
  /** The top-level dictionary columns (those whose batches are kept); any may be when absent. */
  readonly dictionaryColumns?: readonly string[];
  /** Rows to return when not all of them. */
  readonly range?: RangePlan;
  /** The leases' removal mark taken when the version was resolved (read-races.ts); absent: the store decides alone. */
  readonly removalMark?: number;
  /** Decode into SharedArrayBuffers (see ReadOptions.sharedMemory); such decodes are cached under keys of their own. */
  readonly sharedMemory?: boolean;
}

/** Where a reader gets its bytes and decodes them. */
export interface FrameReaderContext {
  readonly connector: FrameStore;
  readonly codec: ParquetCodec;
  readonly leases: SegmentLeases;
  /** Decoded chunks of whole segments, reused across reads (absent: every read decodes). */
  readonly cache?: DecodedChunkCache;
}

const EMPTY = new Uint8Array(0);

/** One decoded row group, and the kept dictionaries to send before it. */
interface DecodedChunk {
  readonly ipc: Uint8Array;
  readonly dictionaries: readonly IpcMessage[];
  /** `ipc` split into its messages, when split already (kept with the cached chunk). */
  readonly messages?: readonly IpcMessage[];
  /** Its rows must be filtered by time (it straddles the range, or has no statistics). */
  readonly filter: boolean;
}

/** A segment to read, and whether its rows need filtering by time. */
interface SegmentRead {
  readonly segment: SegmentEntry;
  readonly filter: boolean;
}

/**
 * How a segment relates to the time bounds, from its statistics: `outside` (never fetched),
 * `inside` (every row matches: sent unchanged) or `partial` (decoded and filtered). A segment
 * without statistics (older manifests) is `partial`.
 */
function segmentCoverage(segment: SegmentEntry, bounds: ColumnBounds): 'outside' | 'inside' | 'partial' {
  if (bounds.empty) return 'outside';
  const range = segment.timeRange;
  if (!range) return segment.timeNulls === segment.rows ? 'outside' : 'partial';
  const min = BigInt(range.min);
  const max = BigInt(range.max);
  if ((bounds.lower !== undefined && max < bounds.lower) || (bounds.upper !== undefined && min >= bounds.upper)) return 'outside';
  const inside = (bounds.lower === undefined || min >= bounds.lower) && (bounds.upper === undefined || max < bounds.upper);
  return inside && segment.timeNulls === 0 ? 'inside' : 'partial';
}

/** Whether stored time values in [min, max] may lie in the bounds. */
function overlapsBounds(bounds: ColumnBounds, min: bigint, max: bigint): boolean {
  if (bounds.empty) return false;
  return (bounds.lower === undefined || max >= bounds.lower) && (bounds.upper === undefined || min < bounds.upper);
}

/**
 * Arrow bytes a decode call covers at most, in whole row groups: a segment (16 MiB by default, and
 * up to one incoming batch more) is one call; only a segment made of one oversized batch is split.
 */
const callBytesLimit = 64 * 1024 * 1024;

/** The segments a read opens, in order. */
function segmentsToRead(plan: ReadPlan): SegmentRead[] {
  const time = plan.range?.time;
  if (!time) return plan.segments.map((segment) => ({ segment, filter: false }));
  return plan.segments.flatMap((segment) => {
    const coverage = segmentCoverage(segment, time.bounds);
    return coverage === 'outside' ? [] : [{ segment, filter: coverage === 'partial' }];
  });
}

/**
 * Yields the frame's messages, holding a lease on its segments until the stream ends.
 * @param lease - the release of a lease the caller took before choosing the manifest (the
 *   stream then releases it); without it the stream takes its own when iteration starts
 */
export async function* frameMessages(context: FrameReaderContext, ref: FrameRef, plan: ReadPlan, lease?: () => void): AsyncGenerator<IpcMessage> {
  const release = lease ?? context.leases.acquire(ref);
  try {
    // With kept dictionaries the stored schema leads (its ids match the kept batches); otherwise
    // the decoded stream's own schema does, so its dictionary ids match Parquet's dictionaries.
    let first = true;
    if (plan.keptDictionaries) {
      yield { header: plan.schemaHeader, body: EMPTY };
      first = false;
    }
    const wanted = plan.columns ? new Set(plan.columns) : undefined;
    const limit = plan.range?.limit ?? Infinity;
    const time = plan.range?.time;
    let sent = 0;
    // With a limit, the next segment is fetched only if the current one may not complete it.
    const mayNeedMore = (guaranteedRows: number): boolean => sent + guaranteedRows < limit;
    const chunks = limit > 0 ? decodedChunks(context, ref, plan, mayNeedMore) : [];
    for await (const chunk of chunks) {
      for (const dictionary of chunk.dictionaries) {
        if (!wanted || wanted.has(plan.storedColumns[dictionaryIdOf(dictionary)] ?? '')) yield dictionary;
      }
      let messages = chunk.messages ?? splitIpcStream(chunk.ipc);
      // Rows are only counted for a limit: a plain get never re-reads its own batch headers.
      let rows = limit === Infinity ? 0 : rowsOf(messages);
      if (chunk.filter || sent + rows > limit) {
        const filter = chunk.filter && time !== undefined;
        const selected = selectRows(chunk.ipc, {
          ...(filter ? { bounds: { column: time.column, range: time.bounds } } : {}),
          dropLastColumn: filter && wanted !== undefined && !wanted.has(time.column),
          maxRows: limit - sent,
        });
        messages = [selected.schema, ...selected.messages];
        rows = selected.rows;
      }
      if (first) yield messages[0] ?? { header: plan.schemaHeader, body: EMPTY };
      first = false;
      for (let i = 1; i < messages.length; i++) yield messages[i]!;
      sent += rows;
      if (sent >= limit) break;
    }
    if (first) yield { header: plan.schemaHeader, body: EMPTY };
  } finally {
    release();
  }
}

/** Rows in the record batches among the messages. */
function rowsOf(messages: readonly IpcMessage[]): number {
  let rows = 0;
  for (const message of messages) {
    const info = inspectMessage(message);
    if (info.kind === 'batch') rows += info.rows;
  }
  return rows;
}

/**
 * Decodes row groups in order, keeping the next one decoding while the current one is sent (unless
 * `mayNeedMore` says the current one completes the read). The first chunk of each segment carries
 * the segment's kept dictionary batches. Segments to filter also decode the time column, last.
 */
async function* decodedChunks(
  context: FrameReaderContext,
  ref: FrameRef,
  plan: ReadPlan,
  mayNeedMore: (guaranteedRows: number) => boolean,
): AsyncGenerator<DecodedChunk> {
  const { connector, codec } = context;
  const { batchRows, columns } = plan;
  const time = plan.range?.time;
  const timeColumn = time?.column;
  const filterColumns = columns && timeColumn !== undefined && !columns.includes(timeColumn) ? [...columns, timeColumn] : columns;
  type Job = { readonly start: () => Promise<DecodedChunk>; readonly guaranteedRows: number };
  const cache = context.cache;
  const jobs = (async function* (): AsyncGenerator<Job> {
    for (const { segment, filter } of segmentsToRead(plan)) {
      const decodeColumns = filter ? filterColumns : columns;
      // Decoded segments are cached per projection (what repeated gets of a frame do); a range
      // read that decodes a whole segment before filtering it shares the entry of a get of the same
      // columns (its time column added last when the projection lacks it).
      const key = cache ? `${ref.bucket}/${ref.name}/${segment.id}|${batchRows}|${decodeColumns?.join('\u0000') ?? '*'}${plan.sharedMemory ? '|shared' : ''}` : undefined;
      const hit = key === undefined ? undefined : cache!.get(key);
      // Rows a chunk surely yields: a whole unfiltered segment.
      const guaranteedRows = filter ? 0 : segment.rows;
      if (hit) {
        yield { start: async () => ({ ...hit, filter }), guaranteedRows };
        continue;
      }
      const missing = (error: unknown): Promise<never> => missingObject(context, ref, plan, segment.id, error);
      const orWhole = (error: unknown): Promise<undefined> => (error instanceof NotFoundError ? missing(error) : Promise.resolve(undefined));
      // A range read of a segment of several row groups fetches and decodes only the groups whose
      // time statistics overlap the range (see segment-fetch.ts), cached under the segment and those
      // groups; anything unexpected: the whole segment.
      let pruned: { readonly groups: readonly number[]; readonly fetched: FetchedSegment; readonly key: string | undefined } | undefined;
      if (filter && time !== undefined) {
        const overlapping = await overlappingGroups(connector, ref, segment, decodeColumns, plan.storedColumns, time.column, (min, max) => overlapsBounds(time.bounds, min, max)).catch(orWhole);
        if (overlapping) {
          const groupsKey = key === undefined ? undefined : `${key}|${overlapping.groups.join(',')}`;
          const groupsHit = groupsKey === undefined ? undefined : cache!.get(groupsKey);
          if (groupsHit) {
            yield { start: async () => ({ ...groupsHit, filter }), guaranteedRows };
            continue;
          }
          const fetched = await overlapping.fetch().catch(orWhole);
          if (fetched) pruned = { groups: overlapping.groups, fetched, key: groupsKey };
        }
      }
      // A projection may fetch only its column chunks (see segment-fetch.ts).
      const fetched = pruned?.fetched ?? (await fetchSegment(connector, ref, segment, decodeColumns, plan.storedColumns).catch(missing));
      const groups = pruned?.groups ?? Array.from({ length: segment.rowGroups }, (_, group) => group);
      // A projection without dictionary columns sends no kept dictionaries: skip fetching them.
      const needsDictionaries = !columns || !plan.dictionaryColumns || plan.dictionaryColumns.some((column) => columns.includes(column));
      let dictionaries: IpcMessage[] = [];
      if (segment.dictionaries && needsDictionaries) {
        const sidecar = await connector.getSegment(ref, segment.dictionaries).catch((error: unknown) => missingObject(context, ref, plan, segment.dictionaries!, error));
        verifyDictionarySidecar(ref, plan.version, segment, sidecar);
        dictionaries = splitIpcStream(sidecar);
      }
      // The row groups decode in calls of about a segment's worth of rows (a segment has several
      // groups; only a single oversized incoming batch makes a segment much larger), so a get copies
      // a segment into a worker once, not once per group.
      const perCall = segment.bytes <= callBytesLimit ? segment.rowGroups : Math.max(1, Math.floor((segment.rowGroups * callBytesLimit) / segment.bytes));
      const calls: number[][] = [];
      for (let at = 0; at < groups.length; at += perCall) calls.push(groups.slice(at, at + perCall));
      // Should a decode of the partial bytes fail, or any check of the bytes, the segment is fetched
      // whole (once) and decoded again: a fault of the read path then is not reported as damage.
      const check = segmentVerification(segment, fetched.partial);
      let whole: Promise<FetchedSegment> | undefined;
      // Whole bytes are checked once, by the first call's decode. Later calls decode the same bytes
      // meanwhile, unchecked, and are sent only after the first (so after its check); should the
      // first have needed a re-fetch, they decode the re-fetched bytes.
      let checkedBytes: Promise<Uint8Array> | undefined;
      const decode = (index: number): Promise<Uint8Array> => {
        // Kept dictionaries go out as they were put: the decode gives their columns' codes.
        const options = { rowGroups: calls[index]!, batchRows, ...(decodeColumns ? { columns: decodeColumns } : {}), ...(plan.keptDictionaries ? { dictionaryCodes: true } : {}), ...(plan.sharedMemory ? { sharedMemory: true } : {}) };
        // The last call's decode hands the bytes over (earlier ones are copied when posted).
        const handOver = index === calls.length - 1;
        const checkedBefore = index > 0 && !fetched.partial ? checkedBytes : undefined;
        const attempt = (async (): Promise<{ ipc: Uint8Array; bytes: Uint8Array }> => {
          try {
            return { ipc: await codec.decode(fetched.bytes, options, handOver, checkedBefore ? undefined : check), bytes: fetched.bytes };
          } catch (error) {
            if (!fetched.partial && !(error instanceof CorruptSegmentError)) throw error;
            whole ??= fetchWhole(connector, ref, segment).catch(missing);
            const bytes = (await whole).bytes;
            try {
              return { ipc: await codec.decode(bytes, options, false, segmentVerification(segment, false)), bytes };
            } catch (again) {
              if (again instanceof CorruptSegmentError) throw damagedSegmentError(ref, plan.version, segment.id, again.message, again);
              throw again;
            }
          }
        })();
        if (index === 0 && check && !fetched.partial && calls.length > 1) {
          checkedBytes = attempt.then((result) => result.bytes);
          checkedBytes.catch(() => undefined);
        }
        if (!checkedBefore) return attempt.then((result) => result.ipc);
        return Promise.all([attempt, checkedBefore]).then(([result, passed]) =>
          passed === result.bytes ? result.ipc : codec.decode(passed, options, false),
        );
      };
      // A decode in one call is cached: the whole segment's under its key, a pruned one's under its groups'.
      const cacheKey = calls.length !== 1 ? undefined : pruned ? pruned.key : key;
      for (let index = 0; index < calls.length; index++) {
        const kept = index === 0 ? dictionaries : [];
        yield {
          start: () =>
            decode(index).then((ipc): DecodedChunk => {
              // Split once and kept with the cached chunk: a get of a hot frame re-reads no headers.
              const messages = splitIpcStream(ipc);
              if (cacheKey !== undefined) cache!.set(cacheKey, { ipc, dictionaries: kept, messages });
              return { ipc, dictionaries: kept, filter, messages };
            }),
          guaranteedRows: calls.length === 1 ? guaranteedRows : 0,
        };
      }
    }
  })();
  const startNext = async (): Promise<{ pending: Promise<DecodedChunk>; guaranteedRows: number } | undefined> => {
    const next = await jobs.next();
    if (next.done) return undefined;
    const pending = next.value.start();
    // Keep a rejected prefetch from surfacing as an unhandled rejection if we stop early.
    pending.catch(() => undefined);
    return { pending, guaranteedRows: next.value.guaranteedRows };
  };
  let current = await startNext();
  while (current) {
    const prefetch = mayNeedMore(current.guaranteedRows) ? await startNext() : undefined;
    yield await current.pending;
    current = prefetch ?? (await startNext());
  }
}

function dictionaryIdOf(message: IpcMessage): number {
  const info = inspectMessage(message);
  return info.kind === 'dictionary' ? info.id : -1;
}

/**
 * Rethrows a failed fetch of an object the read's manifest lists. A missing object is damage
 * (DATA_LOSS naming it) only while the store still lists it in the version being read; otherwise
 * the version was removed under the read (purge, bucket delete, another process's vacuum; vacuum
 * in this process waits for the read's lease) and the read answers NOT_FOUND (read-races.ts).
 */
async function missingObject(context: FrameReaderContext, ref: FrameRef, plan: ReadPlan, objectId: string, error: unknown): Promise<never> {
  if (!(error instanceof NotFoundError)) throw error;
  const removed = plan.removalMark !== undefined && context.leases.removedSince(plan.removalMark);
  throw await missingObjectError(context.connector, ref, plan.version, objectId, error, removed);
}
