/**
 * A range rewrite (`delete_range`, put mode `update`) of one segment by row-group splicing: the row
 * groups before and after those the range overlaps are copied byte for byte into segments of their
 * own (stored at once, while the rest is done), and only the overlapping groups are decoded,
 * filtered and encoded again, as ordinary new segments. Whenever anything is not
 * as expected the answer is undefined, and the caller rewrites the segment whole (range-rewrite.ts).
 */
import { DataType, RecordBatchReader, type Schema, TimeUnit } from 'apache-arrow';
import { crc32, crc32Combine, formatCrc32, parseCrc32 } from '../format/crc32.js';
import type { SegmentEntry } from '../format/manifest.js';
import type { ParquetCodec } from '../format/parquet/parquet-codec.js';
import { PARQUET_TRAILER_BYTES, footerLength, parseFileMetaData } from '../format/parquet/parquet-footer.js';
import {
  SpliceDeclined,
  type SpliceLayout,
  type SpliceRowGroup,
  type SplicedPieces,
  readSpliceLayout,
  splicePiecesForReading,
} from '../format/parquet/row-group-splice.js';
import type { ColumnBounds } from '../format/time-range.js';
import type { FrameRef } from '../names.js';
import { joinRuns } from '../storage/connector.js';
import type { FrameStore } from '../storage/frame-store.js';
import { batchMessages, keptRows } from './range-rewrite.js';
import type { SegmentWriter } from './segment-writer.js';

/** Set HANGAR_ROW_GROUP_SPLICE=0 to rewrite overlapping segments whole (for A/B benchmarks). */
export const rowGroupSpliceEnabled = (): boolean => process.env['HANGAR_ROW_GROUP_SPLICE'] !== '0';

/** Counts of the splices this process made (for tests and benchmarks): segments, and their row groups copied and encoded. */
export const spliceCounts = { segments: 0, copiedGroups: 0, encodedGroups: 0 };

/**
 * Milliseconds this process's splices spent in each phase (for benchmarks, bench/profile_update_tail.mjs):
 * fetching the segment, checking its CRC, reading its footer, decoding the overlapping groups,
 * keeping the rows outside the range, encoding them, joining the files, and storing them.
 */
export const splicePhases = { fetch: 0, verify: 0, layout: 0, decode: 0, filter: 0, encode: 0, join: 0, store: 0 };

/** A stopwatch adding the time since its last lap to a phase of {@link splicePhases}. */
function phaseClock(): (phase: keyof typeof splicePhases) => void {
  let last = performance.now();
  return (phase) => {
    const now = performance.now();
    splicePhases[phase] += now - last;
    last = now;
  };
}

/** What a splice made of one overlapping segment. */
export interface SplicedSegment {
  /** The new segments holding the rows before the first removed row, and after it (each may be empty). */
  readonly before: readonly SegmentEntry[];
  readonly after: readonly SegmentEntry[];
  /** Rows removed; 0 means the segment is kept as it is (nothing was written). */
  readonly removed: number;
  /** Row groups copied as they were, and encoded again. */
  readonly copiedGroups: number;
  readonly encodedGroups: number;
}

/** What {@link spliceSegment} uses. */
export interface SpliceContext {
  readonly connector: FrameStore;
  readonly codec: ParquetCodec;
  readonly writer: SegmentWriter;
}

/** The bytes of a Parquet file's leading magic, `PAR1`. */
const MAGIC_BYTES = 4;

/** Rows per record batch of the decode of the overlapping groups. */
const DECODE_BATCH_ROWS = 64 * 1024;

/** Bytes of the segment's CRC check between two turns of the event loop. */
const VERIFY_SLICE_BYTES = 2 * 1024 * 1024;

/** Resolves on the event loop's next turn (after pending I/O callbacks). */
const nextTurn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/**
 * Rewrites one segment whose time statistics overlap `bounds` by splicing, storing the new segments
 * (uncommitted; added to `written` once all are stored and checked, and discarded by the splice
 * itself when it fails or declines). Undefined when the segment is
 * not one this covers (dictionary sidecar, evolved schema, no checksums, one row group, a file not
 * written by the plain writer, a damaged object, every group overlapping): rewrite it whole then.
 * @param timeType - the Arrow type of the time column `column`
 */
export async function spliceSegment(
  context: SpliceContext,
  ref: FrameRef,
  segment: SegmentEntry,
  column: string,
  timeType: DataType,
  bounds: ColumnBounds,
  written: SegmentEntry[],
): Promise<SplicedSegment | undefined> {
  const expectedCrc = parseCrc32(segment.crc32);
  if (!rowGroupSpliceEnabled() || segment.dictionaries || segment.schema !== undefined || expectedCrc === undefined || segment.pageCrcs !== true || segment.rowGroups < 2) return undefined;
  // Nanoseconds the plain writer stored as whole microseconds carry microsecond statistics.
  const micros = segment.microsecondColumns?.includes(column) === true;
  const unit = micros ? 'TIMESTAMP(MICROS,' : parquetTimeAnnotation(timeType);
  if (!unit) return undefined;
  const scale = micros ? 1000n : 1n;
  const lap = phaseClock();
  const bytes = await context.connector.getSegment(ref, segment.id);
  lap('fetch');
  // The footer is read before the CRC is checked (a damaged one is declined, or caught below).
  let layout: SpliceLayout;
  try {
    layout = readSpliceLayout(bytes, column);
    if (layout.groups.length !== segment.rowGroups || !timeColumnAnnotated(bytes, column, unit)) return undefined;
  } catch {
    // Declined, or a footer damaged past reading: the whole rewrite reads the segment and reports it.
    return undefined;
  }
  lap('layout');
  const overlapping = layout.groups.flatMap((group, index) => (groupOverlaps(group, bounds, scale) ? [index] : []));
  const first = overlapping[0] ?? 0;
  const last = overlapping[overlapping.length - 1] ?? -1;
  // Copied bytes get a fresh CRC: the segment must be checked (damage: the whole rewrite reports it).
  // It is checked in runs — the magic, the groups before the overlapping ones, those, the groups
  // after, the footer — whose CRCs the new files reuse.
  const groupStart = (index: number): number => layout.groups[index]?.start ?? layout.footerStart;
  const cuts = [0, MAGIC_BYTES, groupStart(first), groupStart(last + 1), layout.footerStart, bytes.byteLength];
  // In slices with a turn of the event loop between them: the copied files' writes (and the
  // decode's answer) go on meanwhile instead of waiting for the whole check.
  const checkRuns = async (): Promise<{ crc: number; length: number }[] | undefined> => {
    const runs: { crc: number; length: number }[] = [];
    for (let index = 0; index + 1 < cuts.length; index++) {
      const [from, end] = [cuts[index]!, cuts[index + 1]!];
      let crc = 0;
      for (let at = from; at < end; at += VERIFY_SLICE_BYTES) {
        crc = crc32(bytes.subarray(at, Math.min(end, at + VERIFY_SLICE_BYTES)), crc);
        if (end - at > VERIFY_SLICE_BYTES) await nextTurn();
      }
      runs.push({ crc, length: end - from });
    }
    return runs.reduce((crc, run) => crc32Combine(crc, run.crc, run.length), 0) === expectedCrc ? runs : undefined;
  };
  if (overlapping.length === 0) {
    if (!(await checkRuns())) return undefined;
    lap('verify');
    return { before: [], after: [], removed: 0, copiedGroups: 0, encodedGroups: 0 };
  }
  if (first === 0 && last === layout.groups.length - 1) return undefined;
  // The groups before and after the overlapping ones become segments of their own, copied byte for
  // byte; they are stored at once, so the disk writes them while the overlapping groups are
  // decoded, cut and encoded (and the CRC is checked: a damaged segment discards them all).
  let copied: (Omit<SplicedPieces, 'crc32'> | undefined)[];
  try {
    copied = [range(0, first), range(last + 1, layout.groups.length)].map((groups) => (groups.length === 0 ? undefined : splicePiecesForReading([{ file: bytes, layout, groups }])));
  } catch (error) {
    if (error instanceof SpliceDeclined) return undefined;
    throw error;
  }
  // What is stored is discarded if the splice is declined or fails; on success it goes to `written`.
  const storedIds: string[] = [];
  const stored: SegmentEntry[] = [];
  const storing = copied.map(async (spliced) => {
    if (!spliced) return undefined;
    const id = await context.writer.storeFile(ref, spliced.pieces);
    storedIds.push(id);
    return id;
  });
  // Awaited below (or settled by `declined`); a failure meanwhile must not be an unhandled rejection.
  for (const promise of storing) promise.catch(() => undefined);
  const declined = async (): Promise<undefined> => {
    await Promise.allSettled(storing);
    // Entries naming only the copied files (the source's sidecar, which a splice never has, is not theirs).
    const { dictionaries: _sidecar, ...plain } = segment;
    const objects = [...stored, ...storedIds.map((id): SegmentEntry => ({ ...plain, id }))];
    await context.writer.discard(ref, objects);
    context.writer.forget(ref, objects);
    return undefined;
  };
  let verifying: Promise<{ crc: number; length: number }[] | undefined> | undefined;
  try {
    // The worker gets a file of only the overlapping groups (its own copy), and decodes it while this
    // thread checks the CRC. The check goes on, between the other steps, while the kept rows are
    // encoded; nothing is returned before it passed (a failure discards everything stored).
    const overlapped = joinRuns(splicePiecesForReading([{ file: bytes, layout, groups: range(first, last + 1) }]).pieces);
    lap('join');
    const decoding = context.codec.decode(overlapped, { rowGroups: range(0, last + 1 - first), batchRows: DECODE_BATCH_ROWS }, true);
    decoding.catch(() => undefined);
    verifying = checkRuns();
    verifying.catch(() => undefined);
    const decoded = await decoding;
    lap('decode');
    const reader = RecordBatchReader.from(decoded);
    const batches = reader.readAll();
    if (batches.length === 0) return await declined();
    const schema: Schema = batches[0]!.schema;
    const kept = keptRows(batches, column, bounds, segment.timeSorted === true);
    if (kept.removed === 0) {
      await declined();
      return { before: [], after: [], removed: 0, copiedGroups: 0, encodedGroups: 0 };
    }
    lap('filter');
    // The rows of the overlapping groups outside the range: ordinary new segments (on two codec workers).
    // Both are settled before a failure is reported, so `declined` discards whatever one of them stored.
    const writes = await Promise.allSettled([kept.before, kept.after].map(async (part) => {
      if (part.every((batch) => batch.numRows === 0)) return [];
      const segments = (await context.writer.write(ref, batchMessages(schema, part), () => column)).segments;
      stored.push(...segments);
      return segments;
    }));
    const failed = writes.find((result): result is PromiseRejectedResult => result.status === 'rejected');
    if (failed) throw failed.reason;
    const fresh = writes.map((result) => (result as PromiseFulfilledResult<SegmentEntry[]>).value);
    lap('encode');
    const runs = await verifying;
    lap('verify');
    if (!runs) return await declined();
    const [, beforeRun, , afterRun] = runs;
    const ids = await Promise.all(storing);
    lap('store');
    const copiedEntry = (index: number, run: { crc: number }): SegmentEntry[] => {
      const spliced = copied[index];
      const id = ids[index];
      if (!spliced || !id) return [];
      const time = timeStatistics(spliced.groups, scale);
      if (!time) throw new SpliceDeclined('a copied row group has no time statistics');
      const footerBytes = spliced.byteLength - (spliced.pieces.slice(0, -2).reduce((sum, piece) => sum + piece.byteLength, 0));
      const body = crc32Combine(crc32(bytes.subarray(0, MAGIC_BYTES)), run.crc, spliced.byteLength - MAGIC_BYTES - footerBytes);
      return [{
        id,
        rows: spliced.rows,
        // Arrow bytes of the rows kept, in proportion (a copied group's Arrow size is not recorded).
        bytes: Math.round((segment.bytes * spliced.rows) / segment.rows),
        storedBytes: spliced.byteLength,
        rowGroups: spliced.groups.length,
        ...time,
        crc32: formatCrc32(crc32Combine(body, spliced.footerCrc32, footerBytes)),
        footerCrc32: formatCrc32(spliced.footerCrc32),
        pageCrcs: true,
        // The copied groups keep the segment's footer schema, and a run of sorted rows is sorted.
        ...(segment.microsecondColumns ? { microsecondColumns: segment.microsecondColumns } : {}),
        ...(segment.timeSorted ? { timeSorted: true as const } : {}),
      }];
    };
    const before = [...copiedEntry(0, beforeRun!), ...fresh[0]!];
    const after = [...fresh[1]!, ...copiedEntry(1, afterRun!)];
    // Every row not removed is in exactly one of the new segments.
    if ([...before, ...after].reduce((sum, entry) => sum + entry.rows, 0) !== segment.rows - kept.removed) return await declined();
    written.push(...before, ...after);
    const copiedGroups = layout.groups.length - (last + 1 - first);
    const encodedGroups = fresh.flat().reduce((sum, entry) => sum + entry.rowGroups, 0);
    spliceCounts.segments++;
    spliceCounts.copiedGroups += copiedGroups;
    spliceCounts.encodedGroups += encodedGroups;
    return { before, after, removed: kept.removed, copiedGroups, encodedGroups };
  } catch (error) {
    await declined();
    if (error instanceof SpliceDeclined) return undefined;
    // Damaged groups may fail the decode before the CRC check says so: declined, the whole rewrite
    // reads the segment and reports the damage as such.
    if (verifying && (await verifying.catch(() => undefined)) === undefined) return undefined;
    throw error;
  }
}

function range(from: number, to: number): number[] {
  return Array.from({ length: Math.max(0, to - from) }, (_, i) => from + i);
}

/** The Parquet annotation a time column must carry for its statistics to be in the Arrow unit (the manifest's). */
function parquetTimeAnnotation(type: DataType): string | undefined {
  if (DataType.isTimestamp(type)) {
    const unit = { [TimeUnit.MILLISECOND]: 'MILLIS', [TimeUnit.MICROSECOND]: 'MICROS', [TimeUnit.NANOSECOND]: 'NANOS' }[type.unit as TimeUnit.MILLISECOND];
    return unit === undefined ? undefined : `TIMESTAMP(${unit},`;
  }
  if (DataType.isDate(type) && type.unit === 0) return 'DATE';
  return undefined;
}

/** Whether the file's time column carries that annotation. */
function timeColumnAnnotated(file: Uint8Array, column: string, annotation: string): boolean {
  const end = file.byteLength - PARQUET_TRAILER_BYTES;
  const metadata = parseFileMetaData(file.subarray(end - footerLength(file), end));
  const element = metadata.columns.find((candidate) => candidate.name === column && candidate.children === 0);
  return element?.logicalType?.startsWith(annotation) === true;
}

/** A little-endian signed statistics value (4 or 8 bytes). */
function statisticsValue(bytes: Uint8Array | undefined): bigint | undefined {
  if (!bytes) return undefined;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (bytes.byteLength === 8) return view.getBigInt64(0, true);
  if (bytes.byteLength === 4) return BigInt(view.getInt32(0, true));
  return undefined;
}

/** Whether a row group may hold rows in the bounds: a group without usable statistics may. */
function groupOverlaps(group: SpliceRowGroup, bounds: ColumnBounds, scale: bigint): boolean {
  if (bounds.empty) return false;
  if (group.time?.nulls === group.rows) return false;
  const stored = [statisticsValue(group.time?.min), statisticsValue(group.time?.max)];
  if (stored[0] === undefined || stored[1] === undefined) return true;
  const [min, max] = [stored[0] * scale, stored[1] * scale];
  return (bounds.lower === undefined || max >= bounds.lower) && (bounds.upper === undefined || min < bounds.upper);
}

/** The manifest's time statistics of a spliced file, from its groups' statistics; undefined when a group lacks them. */
function timeStatistics(groups: readonly SpliceRowGroup[], scale: bigint): Pick<SegmentEntry, 'timeRange' | 'timeNulls'> | undefined {
  let min: bigint | undefined;
  let max: bigint | undefined;
  let nulls = 0;
  for (const group of groups) {
    if (group.time?.nulls === undefined) return undefined;
    nulls += group.time.nulls;
    if (group.time.nulls === group.rows) continue;
    const storedLow = statisticsValue(group.time.min);
    const storedHigh = statisticsValue(group.time.max);
    if (storedLow === undefined || storedHigh === undefined) return undefined;
    const [low, high] = [storedLow * scale, storedHigh * scale];
    if (min === undefined || low < min) min = low;
    if (max === undefined || high > max) max = high;
  }
  return { ...(min !== undefined && max !== undefined ? { timeRange: { min: min.toString(), max: max.toString() } } : {}), timeNulls: nulls };
}
