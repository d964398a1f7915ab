/**
 * A range rewrite (`delete_range`, put mode `update`) of one segment by row-group splicing: the row
 * groups before and after those the range overlaps are copied into the new segments byte for byte,
 * and only the overlapping groups are decoded, filtered and encoded again. Whenever anything is not
 * as expected the answer is undefined, and the caller rewrites the segment whole (range-rewrite.ts).
 */
import { DataType, RecordBatchReader, type Schema, Table, TimeUnit, tableToIPC } from 'apache-arrow';
import { crc32, crc32Combine, formatCrc32, parseCrc32 } from '../format/crc32.js';
import type { SegmentEntry } from '../format/manifest.js';
import type { ParquetCodec } from '../format/parquet/parquet-codec.js';
import { PARQUET_TRAILER_BYTES, footerLength, parseFileMetaData } from '../format/parquet/parquet-footer.js';
import {
  SpliceDeclined,
  type SpliceLayout,
  type SplicePart,
  type SpliceRowGroup,
  type SplicedPieces,
  readSpliceLayout,
  splicePieces,
  spliceRowGroups,
} from '../format/parquet/row-group-splice.js';
import type { ColumnBounds } from '../format/time-range.js';
import type { FrameRef } from '../names.js';
import type { FrameStore } from '../storage/frame-store.js';
import { keptRows } from './range-rewrite.js';
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

/**
 * Rewrites one segment whose time statistics overlap `bounds` by splicing, storing the new segments
 * (uncommitted; each is added to `written` as soon as it is stored). Undefined when the segment is
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
  // Copied bytes get a fresh CRC: the segment must be checked first, and before its footer is
  // trusted (damage: the whole rewrite reports it). It is checked in runs — the magic, the groups
  // before the overlapping ones, those, the groups after, the footer — whose CRCs the new files reuse.
  const groupStart = (index: number): number => layout.groups[index]?.start ?? layout.footerStart;
  const cuts = [0, MAGIC_BYTES, groupStart(first), groupStart(last + 1), layout.footerStart, bytes.byteLength];
  const runs = cuts.slice(1).map((end, index) => ({ crc: crc32(bytes.subarray(cuts[index]!, end)), length: end - cuts[index]! }));
  if (runs.reduce((crc, run) => crc32Combine(crc, run.crc, run.length), 0) !== expectedCrc) return undefined;
  const [, beforeRun, overlappedRun, afterRun] = runs;
  lap('verify');
  if (overlapping.length === 0) return { before: [], after: [], removed: 0, copiedGroups: 0, encodedGroups: 0 };
  if (first === 0 && last === layout.groups.length - 1) return undefined;
  // The worker gets a file of only the overlapping groups (spliced too), handed over instead of a copy of the segment.
  let overlapped: Uint8Array;
  try {
    overlapped = spliceRowGroups([{ file: bytes, layout, groups: range(first, last + 1), crc32: overlappedRun!.crc }]).file;
  } catch (error) {
    if (error instanceof SpliceDeclined) return undefined;
    throw error;
  }
  lap('join');
  const decoded = await context.codec.decode(overlapped, { rowGroups: range(0, last + 1 - first), batchRows: DECODE_BATCH_ROWS }, true);
  lap('decode');
  const reader = RecordBatchReader.from(decoded);
  const batches = reader.readAll();
  if (batches.length === 0) return undefined;
  const schema: Schema = batches[0]!.schema;
  const kept = keptRows(batches, column, bounds);
  if (kept.removed === 0) return { before: [], after: [], removed: 0, copiedGroups: 0, encodedGroups: 0 };
  lap('filter');
  const groupRows = Math.max(1024, layout.groups[first]!.rows);
  const encode = async (part: typeof kept.before): Promise<SplicePart | undefined> => {
    if (part.every((batch) => batch.numRows === 0)) return undefined;
    const encoded = await context.writer.encodeFile(schema, tableToIPC(new Table(schema, [...part]), 'stream'), groupRows);
    if (!encoded.checksums.pageCrcs) throw new SpliceDeclined('the re-encoded rows were not written by the plain writer');
    const freshLayout = readSpliceLayout(encoded.bytes, column);
    return { file: encoded.bytes, layout: freshLayout, groups: range(0, freshLayout.groups.length) };
  };
  let parts: [SplicePart | undefined, SplicePart | undefined];
  try {
    parts = await Promise.all([encode(kept.before), encode(kept.after)]);
  } catch (error) {
    if (error instanceof SpliceDeclined) return undefined;
    throw error;
  }
  lap('encode');
  const [freshBefore, freshAfter] = parts;
  const source = (groups: number[], crc: number): SplicePart => ({ file: bytes, layout, groups, crc32: crc });
  const sides = [
    [source(range(0, first), beforeRun!.crc), freshBefore],
    [freshAfter, source(range(last + 1, layout.groups.length), afterRun!.crc)],
  ].map((side) => side.filter((part): part is SplicePart => part !== undefined && part.groups.length > 0));
  // The new files stay as runs of bytes (the copied ones views of `bytes`), stored run by run.
  let files: (SplicedPieces | undefined)[];
  try {
    files = sides.map((side) => (side.length === 0 ? undefined : splicePieces(side)));
  } catch (error) {
    if (error instanceof SpliceDeclined) return undefined;
    throw error;
  }
  // Every row not removed is in exactly one of the two files.
  if (files.reduce((sum, spliced) => sum + (spliced?.rows ?? 0), 0) !== segment.rows - kept.removed) return undefined;
  const times = files.map((spliced) => spliced && timeStatistics(spliced.groups, scale));
  if (files.some((spliced, index) => spliced && !times[index])) return undefined;
  lap('join');
  const entries: SegmentEntry[][] = [[], []];
  // Both sides are stored at once; each one stored is in `written` (to be discarded) even if the other fails.
  const store = async (spliced: (typeof files)[number], index: number): Promise<void> => {
    if (!spliced) return;
    const time = times[index]!;
    const id = await context.writer.storeFile(ref, spliced.pieces);
    const entry: SegmentEntry = {
      id,
      rows: spliced.rows,
      // Arrow bytes of the rows kept, in proportion (a copied group's Arrow size is not recorded).
      bytes: Math.round((segment.bytes * spliced.rows) / segment.rows),
      storedBytes: spliced.byteLength,
      rowGroups: spliced.groups.length,
      ...time,
      crc32: formatCrc32(spliced.crc32),
      footerCrc32: formatCrc32(spliced.footerCrc32),
      pageCrcs: true,
      // The copied and re-encoded groups share one footer schema (spliceRowGroups checks it).
      ...(segment.microsecondColumns ? { microsecondColumns: segment.microsecondColumns } : {}),
    };
    written.push(entry);
    entries[index]!.push(entry);
  };
  const stored = await Promise.allSettled(files.map(store));
  const failed = stored.find((result): result is PromiseRejectedResult => result.status === 'rejected');
  if (failed) throw failed.reason;
  lap('store');
  const copiedGroups = layout.groups.length - (last + 1 - first);
  const encodedGroups = (freshBefore?.groups.length ?? 0) + (freshAfter?.groups.length ?? 0);
  spliceCounts.segments++;
  spliceCounts.copiedGroups += copiedGroups;
  spliceCounts.encodedGroups += encodedGroups;
  return { before: entries[0]!, after: entries[1]!, removed: kept.removed, copiedGroups, encodedGroups };
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
