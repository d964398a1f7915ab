/**
 * Fetches a segment for a decode. A projected read on a connector with ranged reads fetches only
 * the Parquet footer and the column chunks the projection decodes, laid out at their offsets in a
 * buffer of the object's size (zeros elsewhere, which the projected decode never reads); every
 * other read, and anything unexpected on the way, fetches the object whole. A segment whose pages
 * carry no CRCs (written by parquet-wasm) but whose whole object has one is fetched whole, so that
 * what is read can be verified.
 */
import type { ByteRange, FrameStore } from '../storage/frame-store.js';
import { NotFoundError } from '../errors.js';
import type { SegmentEntry } from '../format/manifest.js';
import type { FrameRef } from '../names.js';
import { rangedReadVerifiable, segmentVerification } from '../format/segment-integrity.js';
import { crc32, parseCrc32 } from '../format/crc32.js';
import type { SegmentVerification } from '../format/parquet/parquet-codec.js';
import { PARQUET_TRAILER_BYTES, ParquetFooterError, type ParquetFileMetaData, footerLength, parseFileMetaData, projectedRanges } from '../format/parquet/parquet-footer.js';
import { SpliceDeclined, type SpliceLayout, readSpliceFooter, splicePiecesForReading } from '../format/parquet/row-group-splice.js';

/** Segments smaller than this are fetched whole: a ranged read costs two rounds of requests. */
export const RANGED_READ_MIN_BYTES = 1024 * 1024;
/** The end of the segment fetched first, in the hope that it holds the whole footer. */
const FOOTER_GUESS_BYTES = 64 * 1024;
/** When the footer and the projected chunks are more than this share of a segment, fetch it whole. */
const RANGED_READ_MAX_SHARE = 0.75;

/** A segment's bytes as fetched for one decode. */
export interface FetchedSegment {
  /** The object's bytes; with `partial`, only the footer and the projected chunks are filled in. */
  readonly bytes: Uint8Array;
  /** Only the projection's chunks were fetched: a decode of other columns would fail. */
  readonly partial: boolean;
  /** Bytes the connector returned. */
  readonly fetchedBytes: number;
}

/**
 * The segment's bytes for a decode of `columns` (all when absent). Ranged when the connector
 * declares `rangedReads`, the segment is at least {@link RANGED_READ_MIN_BYTES}, and the
 * projection leaves out some stored column; whole otherwise, or whenever the ranged path meets
 * anything unexpected (an unreadable footer, a short range, a failed request).
 * @throws NotFoundError if the segment does not exist
 */
export async function fetchSegment(
  connector: FrameStore,
  ref: FrameRef,
  segment: SegmentEntry,
  columns: readonly string[] | undefined,
  storedColumns: readonly string[],
): Promise<FetchedSegment> {
  if (connector.capabilities.rangedReads && columns && segment.storedBytes >= RANGED_READ_MIN_BYTES && rangedReadVerifiable(segment)) {
    const wanted = new Set(columns);
    if (storedColumns.some((column) => !wanted.has(column))) {
      try {
        const ranged = await fetchProjected(connector, ref, segment, wanted);
        if (ranged) return ranged;
      } catch (error) {
        if (error instanceof NotFoundError) throw error;
        // Anything else: the whole object below, which reports a real failure of the store itself.
      }
    }
  }
  return fetchWhole(connector, ref, segment);
}

/** The whole segment object. */
export async function fetchWhole(connector: FrameStore, ref: FrameRef, segment: SegmentEntry): Promise<FetchedSegment> {
  const bytes = await connector.getSegment(ref, segment.id);
  return { bytes, partial: false, fetchedBytes: bytes.byteLength };
}

/** A segment's footer as fetched from its end: the bytes fetched, where they and the footer start, and the metadata. */
interface FetchedFooter {
  readonly end: Uint8Array;
  readonly endStart: number;
  readonly footerStart: number;
  readonly metadata: ParquetFileMetaData;
}

/** The footer and the projected chunks, or undefined when they are most of the segment anyway. */
async function fetchProjected(
  connector: FrameStore,
  ref: FrameRef,
  segment: SegmentEntry,
  columns: ReadonlySet<string>,
): Promise<FetchedSegment | undefined> {
  const footer = await fetchFooter(connector, ref, segment);
  const groups = footer.metadata.rowGroups.map((_, index) => index);
  return fetchChunks(connector, ref, segment, footer, groups, columns);
}

/** The row groups of a segment a range read needs, found from its footer, and how to fetch them. */
export interface OverlappingGroups {
  /** The groups whose time statistics overlap the range (a group without statistics is kept). */
  readonly groups: readonly number[];
  /**
   * Fetches the footer's and those groups' chunks of the read's columns; undefined when they are
   * most of the segment anyway (then read it whole).
   * @throws NotFoundError if the segment is gone; other errors mean: read it whole
   */
  fetch(): Promise<FetchedSegment | undefined>;
}

/**
 * For a range read of a segment of several row groups: fetches the footer and picks the row groups
 * whose time statistics overlap the bounds (`overlaps` gets the time column's min and max as stored,
 * in its unit). Undefined when the connector reads no ranges, the segment is small or unverifiable
 * piecewise, or every group overlaps: then read it whole.
 * @throws NotFoundError if the segment does not exist; other errors mean: read it whole
 */
export async function overlappingGroups(
  connector: FrameStore,
  ref: FrameRef,
  segment: SegmentEntry,
  columns: readonly string[] | undefined,
  storedColumns: readonly string[],
  timeColumn: string,
  overlaps: (min: bigint, max: bigint) => boolean,
): Promise<OverlappingGroups | undefined> {
  if (!connector.capabilities.rangedReads || segment.rowGroups < 2 || segment.storedBytes < RANGED_READ_MIN_BYTES || !rangedReadVerifiable(segment)) return undefined;
  const footer = await fetchFooter(connector, ref, segment);
  const groups: number[] = [];
  // Nanoseconds stored as whole microseconds have microsecond statistics (plain-parquet-writer.ts).
  const scale = segment.microsecondColumns?.includes(timeColumn) === true ? 1000n : 1n;
  footer.metadata.rowGroups.forEach((group, index) => {
    const chunk = group.columns.find((candidate) => candidate.path.length === 1 && candidate.path[0] === timeColumn);
    const range = chunk && statisticsRange(chunk.physicalType, chunk.statistics);
    if (!range || overlaps(range.min * scale, range.max * scale)) groups.push(index);
  });
  if (groups.length === footer.metadata.rowGroups.length) return undefined;
  return { groups, fetch: () => fetchChunks(connector, ref, segment, footer, groups, new Set(columns ?? storedColumns)) };
}

/** The last row groups of a segment as fetched for a tail read. */
export interface FetchedLastGroups extends FetchedSegment {
  /** The row groups of `bytes` to decode. */
  readonly groups: readonly number[];
  /** The rows they hold. */
  readonly groupRows: number;
  /** What the decode of `bytes` checks. */
  readonly verification: SegmentVerification | undefined;
}

/**
 * For a tail read: the last row groups of a segment that hold at least `rows` rows, and how many
 * rows they hold. Their bytes are fetched in one range and made a small Parquet file of their own
 * (the groups spliced under a new footer, see row-group-splice.ts), its pages checked by their
 * CRCs and its footer made from the stored one, checked here against the manifest's footer CRC; a
 * segment the splice does not take (a dictionary page, say) gets the footer and those groups'
 * chunks of `columns` (all when absent) at their offsets in a segment-sized buffer instead.
 * Undefined under the conditions of {@link overlappingGroups}: then read the segment whole.
 * @throws NotFoundError if the segment does not exist; other errors mean: read it whole
 */
export async function fetchLastGroups(
  connector: FrameStore,
  ref: FrameRef,
  segment: SegmentEntry,
  columns: readonly string[] | undefined,
  storedColumns: readonly string[],
  rows: number,
): Promise<FetchedLastGroups | undefined> {
  if (!connector.capabilities.rangedReads || segment.rowGroups < 2 || segment.storedBytes < RANGED_READ_MIN_BYTES || !rangedReadVerifiable(segment)) return undefined;
  const { footer, prefetched } = await tailFooter(connector, ref, segment, rows);
  const groups: number[] = [];
  let groupRows = 0;
  for (let index = footer.metadata.rowGroups.length - 1; index >= 0 && groupRows < rows; index--) {
    groups.unshift(index);
    groupRows += footer.metadata.rowGroups[index]!.rows;
  }
  if (groups.length === footer.metadata.rowGroups.length) return undefined;
  const compact = await fetchGroupsAsFile(connector, ref, segment, footer, groups, prefetched);
  if (compact) return { ...compact, groupRows };
  const fetched = await fetchChunks(connector, ref, segment, footer, groups, new Set(columns ?? storedColumns));
  return fetched && { ...fetched, groups, groupRows, verification: segmentVerification(segment, fetched.partial) };
}

/** Footers' splice layouts, read once per cached footer. */
const spliceLayouts = new WeakMap<FetchedFooter, SpliceLayout | 'declined'>();

/**
 * Consecutive row groups of a segment as a Parquet file of their own: their bytes in one ranged
 * read, spliced under a footer made from the stored one. Undefined when the splice does not take
 * the segment's footer. @throws ParquetFooterError when the stored footer's CRC is not the manifest's
 */
async function fetchGroupsAsFile(
  connector: FrameStore,
  ref: FrameRef,
  segment: SegmentEntry,
  footer: FetchedFooter,
  groups: readonly number[],
  prefetched?: EndOfObject,
): Promise<Omit<FetchedLastGroups, 'groupRows'> | undefined> {
  const expected = parseCrc32(segment.footerCrc32);
  if (expected === undefined || segment.pageCrcs !== true) return undefined;
  let layout = spliceLayouts.get(footer);
  if (!layout) {
    try {
      layout = readSpliceFooter(footer.end, footer.endStart, undefined);
    } catch (error) {
      if (!(error instanceof SpliceDeclined)) throw error;
      layout = 'declined';
    }
    spliceLayouts.set(footer, layout);
  }
  if (layout === 'declined') return undefined;
  // The new footer is made from the stored one: that must be the one the manifest recorded.
  const stored = crc32(footer.end.subarray(footer.footerStart - footer.endStart));
  if (stored !== expected) throw new ParquetFooterError(`the footer of segment ${segment.id} does not have the CRC-32 the manifest records`);
  // One read from the 4 bytes before the groups to the end of the object: the new file is made in
  // that buffer, the magic over those 4 bytes and the new footer over the stored one (no copy of the groups).
  const start = layout.groups[groups[0]!]!.start;
  const from = start - MAGIC.byteLength;
  // Read with the footer already when it was not kept (see tailFooter); else read now.
  const [fetched] = prefetched && prefetched.start <= from
    ? [prefetched.bytes.subarray(from - prefetched.start)]
    : await fetchExactly(connector, ref, segment.id, [{ start: from, end: segment.storedBytes }]);
  let spliced;
  try {
    spliced = splicePiecesForReading([{ file: fetched!, offset: from, layout, groups }]);
  } catch (error) {
    if (error instanceof SpliceDeclined) return undefined;
    throw error;
  }
  return {
    bytes: fileInPlace(fetched!, spliced.pieces, spliced.byteLength),
    partial: true,
    fetchedBytes: fetched!.byteLength,
    groups: groups.map((_, index) => index),
    verification: { footerCrc32: spliced.footerCrc32, pageCrcs: true, partial: true },
  };
}

const MAGIC = new TextEncoder().encode('PAR1');

/**
 * A spliced file whose groups' run (`pieces[1]`) is a view of `buffer` right after its first 4
 * bytes, laid out in `buffer` itself: the magic before the run, the other pieces after it. The
 * pieces are joined into a fresh buffer instead when they do not fit there.
 */
function fileInPlace(buffer: Uint8Array, pieces: readonly Uint8Array[], byteLength: number): Uint8Array {
  const run = pieces[1];
  const inPlace = pieces.length >= 2 && byteLength <= buffer.byteLength && run !== undefined && run.buffer === buffer.buffer && run.byteOffset === buffer.byteOffset + MAGIC.byteLength;
  const file = inPlace ? buffer.subarray(0, byteLength) : new Uint8Array(byteLength);
  let at = 0;
  for (const [index, piece] of pieces.entries()) {
    if (!(inPlace && index === 1)) file.set(piece, at);
    at += piece.byteLength;
  }
  return file;
}

/** A chunk's min and max as signed integers, for INT32 and INT64 columns with both statistics. */
function statisticsRange(physicalType: number | undefined, statistics: { min?: Uint8Array; max?: Uint8Array } | undefined): { min: bigint; max: bigint } | undefined {
  const { min, max } = statistics ?? {};
  if (!min || !max) return undefined;
  const value = (bytes: Uint8Array): bigint | undefined => {
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    if (physicalType === INT64 && bytes.byteLength === 8) return view.getBigInt64(0, true);
    if (physicalType === INT32 && bytes.byteLength === 4) return BigInt(view.getInt32(0, true));
    return undefined;
  };
  const low = value(min);
  const high = value(max);
  return low === undefined || high === undefined ? undefined : { min: low, max: high };
}

/** parquet.thrift physical types. */
const INT32 = 1;
const INT64 = 2;

/** Footers kept per store, by frame and segment: segments never change, and range reads of a hot frame read the same footers again. */
const footerCache = new WeakMap<FrameStore, Map<string, FetchedFooter>>();
/** Footers kept per store (each holds the segment's last 64 KiB): 4 MiB at most. */
const FOOTER_CACHE_ENTRIES = 64;

/** The segment's footer: from the cache, else fetched from its end and kept. */
async function fetchFooter(connector: FrameStore, ref: FrameRef, segment: SegmentEntry): Promise<FetchedFooter> {
  const kept = keptFooter(connector, ref, segment);
  if (kept) return kept;
  const footer = await fetchFooterFromStore(connector, ref, segment);
  keepFooter(connector, ref, segment, footer);
  return footer;
}

/** The footer kept for the segment, if any (then it is the most recently used). */
function keptFooter(connector: FrameStore, ref: FrameRef, segment: SegmentEntry): FetchedFooter | undefined {
  const footers = footerCache.get(connector);
  const key = footerKey(ref, segment);
  const kept = footers?.get(key);
  if (kept) {
    footers!.delete(key);
    footers!.set(key, kept);
  }
  return kept;
}

/** Keeps a segment's footer, dropping the least recently used past {@link FOOTER_CACHE_ENTRIES}. */
function keepFooter(connector: FrameStore, ref: FrameRef, segment: SegmentEntry, footer: FetchedFooter): void {
  let footers = footerCache.get(connector);
  if (!footers) {
    footers = new Map();
    footerCache.set(connector, footers);
  }
  footers.set(footerKey(ref, segment), footer);
  if (footers.size > FOOTER_CACHE_ENTRIES) footers.delete(footers.keys().next().value!);
}

function footerKey(ref: FrameRef, segment: SegmentEntry): string {
  return `${ref.bucket}/${ref.name}/${segment.id}|${segment.storedBytes}`;
}

/** Bytes read from some offset to the end of an object. */
interface EndOfObject {
  readonly bytes: Uint8Array;
  readonly start: number;
}

/**
 * A tail's footer: the kept one, else one read from the object's end that also takes the last row
 * groups a tail of `rows` rows most likely needs (the segment's average group size, with a margin),
 * so a new last segment costs one request rather than two (one round trip less on object stores).
 * The footer kept is a copy of its own bytes, so the rest of the read is the caller's to reuse.
 */
async function tailFooter(connector: FrameStore, ref: FrameRef, segment: SegmentEntry, rows: number): Promise<{ footer: FetchedFooter; prefetched?: EndOfObject }> {
  const kept = keptFooter(connector, ref, segment);
  if (kept) return { footer: kept };
  const size = segment.storedBytes;
  const groupRows = Math.max(1, Math.floor(segment.rows / segment.rowGroups));
  // A tail of most of the segment reads it whole (fetchLastGroups): then only the footer.
  if (Math.ceil(rows / groupRows) >= segment.rowGroups - 1) return { footer: await fetchFooter(connector, ref, segment) };
  const groupBytes = (Math.ceil(rows / groupRows) * size * TAIL_READ_MARGIN) / segment.rowGroups;
  const start = Math.max(0, size - FOOTER_GUESS_BYTES - Math.ceil(groupBytes));
  const [bytes] = await fetchExactly(connector, ref, segment.id, [{ start, end: size }]);
  const footerStart = size - PARQUET_TRAILER_BYTES - footerLength(bytes!);
  // A footer longer than the read (or a damaged length): the usual way, which reports it.
  if (footerStart < Math.max(start, 4)) return { footer: await fetchFooter(connector, ref, segment) };
  // A copy (the read may be a Buffer, whose slice is a view): the caller writes into the read.
  const end = new Uint8Array(bytes!.subarray(footerStart - start));
  const metadata = parseFileMetaData(end.subarray(0, end.byteLength - PARQUET_TRAILER_BYTES));
  if (metadata.rowGroups.length !== segment.rowGroups) {
    throw new ParquetFooterError(`the footer lists ${metadata.rowGroups.length} row groups, the manifest ${segment.rowGroups}`);
  }
  const footer: FetchedFooter = { end, endStart: footerStart, footerStart, metadata };
  keepFooter(connector, ref, segment, footer);
  return { footer, prefetched: { bytes: bytes!, start } };
}

/** How much more than the average size of the groups a tail needs a new segment's first read takes. */
const TAIL_READ_MARGIN = 1.25;

/** The segment's footer, fetched from its end (one request, two when the footer is longer than the guess). */
async function fetchFooterFromStore(connector: FrameStore, ref: FrameRef, segment: SegmentEntry): Promise<FetchedFooter> {
  const size = segment.storedBytes;
  const guess = Math.min(size, FOOTER_GUESS_BYTES);
  const [tail] = await fetchExactly(connector, ref, segment.id, [{ start: size - guess, end: size }]);
  const footerStart = size - PARQUET_TRAILER_BYTES - footerLength(tail!);
  if (footerStart < 4) throw new ParquetFooterError('the footer is longer than the file');
  // What was fetched from the end: the tail, or the whole footer when it is longer.
  let end = tail!;
  if (footerStart < size - guess) {
    const [head] = await fetchExactly(connector, ref, segment.id, [{ start: footerStart, end: size - guess }]);
    end = concat(head!, tail!);
  }
  const endStart = size - end.byteLength;
  const metadata = parseFileMetaData(end.subarray(footerStart - endStart, end.byteLength - PARQUET_TRAILER_BYTES));
  if (metadata.rowGroups.length !== segment.rowGroups) {
    throw new ParquetFooterError(`the footer lists ${metadata.rowGroups.length} row groups, the manifest ${segment.rowGroups}`);
  }
  return { end, endStart, footerStart, metadata };
}

/** The footer and the chunks of `columns` in `groups`, laid out at their offsets; undefined when they are most of the segment. */
async function fetchChunks(
  connector: FrameStore,
  ref: FrameRef,
  segment: SegmentEntry,
  footer: FetchedFooter,
  groups: readonly number[],
  columns: ReadonlySet<string>,
): Promise<FetchedSegment | undefined> {
  const { end, endStart, footerStart, metadata } = footer;
  const size = segment.storedBytes;
  // Ranges inside the fetched end (often the page index, written just before the footer) are had already.
  const ranges = projectedRanges(metadata, groups, columns, footerStart).filter((range) => range.start < endStart);
  const wanted = ranges.reduce((sum, range) => sum + range.end - range.start, end.byteLength);
  if (wanted > size * RANGED_READ_MAX_SHARE) return undefined;
  const chunks = await fetchExactly(connector, ref, segment.id, ranges);
  const bytes = new Uint8Array(size);
  ranges.forEach((range, index) => bytes.set(chunks[index]!, range.start));
  bytes.set(end, endStart);
  const fetchedBytes = chunks.reduce((sum, chunk) => sum + chunk.byteLength, end.byteLength);
  return { bytes, partial: true, fetchedBytes };
}

/** The ranges, each checked to be complete (a short one means the object is not what the manifest says). */
async function fetchExactly(connector: FrameStore, ref: FrameRef, id: string, ranges: readonly ByteRange[]): Promise<Uint8Array[]> {
  const got = await connector.getSegmentRanges(ref, id, ranges);
  got.forEach((bytes, index) => {
    const { start, end } = ranges[index]!;
    if (bytes.byteLength !== end - start) {
      throw new ParquetFooterError(`range ${start}-${end} of segment ${id} returned ${bytes.byteLength} bytes`);
    }
  });
  return got;
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const joined = new Uint8Array(a.byteLength + b.byteLength);
  joined.set(a, 0);
  joined.set(b, a.byteLength);
  return joined;
}
