/**
 * Row-group splicing: a new Parquet file made of whole row groups of other files, their column
 * chunks (pages, page headers and page CRCs) copied byte for byte, with a new footer whose offsets
 * are shifted to where the chunks now lie. Row groups are independent in the Parquet format
 * (parquet.thrift: a RowGroup's ColumnChunks locate their own pages), so a range rewrite can keep
 * the groups it does not touch and re-encode only the others. Written from the Parquet format
 * specification; only the forms Hangar's plain writer makes are taken (no page index, bloom
 * filter, dictionary page, encryption or external chunk) and anything else is declined with
 * {@link SpliceDeclined}, for the caller to rewrite the file whole.
 */
import { crc32, crc32Combine } from '../crc32.js';
import { CompactReader, PARQUET_TRAILER_BYTES, footerLength } from './parquet-footer.js';
import { ThriftType } from './thrift-compact-types.js';

/** The file is not one this module splices (the caller then rewrites it the ordinary way). */
export class SpliceDeclined extends Error {
  override readonly name = 'SpliceDeclined';
}

/** One row group of a source file, as the splice needs it. */
export interface SpliceRowGroup {
  readonly rows: number;
  /** Where its column chunks lie in the file: `[start, end)`, every chunk inside, contiguous. */
  readonly start: number;
  readonly end: number;
  /** The time column's chunk statistics, as stored (plain-encoded little-endian min/max), when written. */
  readonly time?: { readonly min?: Uint8Array; readonly max?: Uint8Array; readonly nulls?: number };
  /** The RowGroup struct's Thrift bytes in the footer (from its first field header to its stop byte). */
  readonly thrift: Uint8Array;
}

/** A source file's footer as the splice reads it. */
export interface SpliceLayout {
  readonly groups: readonly SpliceRowGroup[];
  /** Every FileMetaData field but num_rows (3) and row_groups (4), in order, as stored: they must match across sources. */
  readonly otherFields: readonly { readonly id: number; readonly type: number; readonly bytes: Uint8Array }[];
  /** Where the footer starts (the byte after the last row group). */
  readonly footerStart: number;
}

/** A part of the new file: some row groups of one source file, in order and adjacent. */
export interface SplicePart {
  /** The source file's bytes: all of them, or from `offset` on (holding at least the groups taken). */
  readonly file: Uint8Array;
  /** Where `file` begins in the source file; 0 (the default) when it is the whole file. */
  readonly offset?: number;
  readonly layout: SpliceLayout;
  /** Indices into `layout.groups`, ascending and consecutive. */
  readonly groups: readonly number[];
  /** The CRC-32 of those groups' bytes (from the first's start to the last's end), when the caller has it: then they are not read again. */
  readonly crc32?: number;
}

/** A spliced file and its checksums (as the plain writer reports them). */
export interface SplicedFile {
  readonly file: Uint8Array;
  readonly crc32: number;
  /** CRC-32 of the FileMetaData and the 8-byte trailer. */
  readonly footerCrc32: number;
  readonly rows: number;
  readonly groups: readonly SpliceRowGroup[];
}

/**
 * A spliced file as the runs of bytes it is made of, in order, without joining them: the copied
 * chunks are views of the source files, so a store that writes the runs one after another
 * (`FrameStore.putSegmentParts`) never holds a second copy of them.
 */
export interface SplicedPieces {
  readonly pieces: readonly Uint8Array[];
  readonly byteLength: number;
  readonly crc32: number;
  /** CRC-32 of the FileMetaData and the 8-byte trailer. */
  readonly footerCrc32: number;
  readonly rows: number;
  readonly groups: readonly SpliceRowGroup[];
}

const MAGIC = new TextEncoder().encode('PAR1');

/** Bytes of Thrift compact output, built by appending. */
class ByteSink {
  private readonly parts: Uint8Array[] = [];
  private pending: number[] = [];
  length = 0;

  push(byte: number): void {
    this.pending.push(byte);
    this.length++;
  }

  append(bytes: Uint8Array): void {
    if (this.pending.length > 0) this.parts.push(Uint8Array.from(this.pending));
    this.pending = [];
    this.parts.push(bytes);
    this.length += bytes.byteLength;
  }

  /** A field header in the compact protocol, after the field `previous`. */
  fieldHeader(id: number, previous: number, type: number): void {
    const delta = id - previous;
    if (delta > 0 && delta <= 15) this.push((delta << 4) | type);
    else {
      this.push(type);
      this.varint(zigzag(id));
    }
  }

  varint(value: number): void {
    let v = value;
    while (v >= 0x80) {
      this.push((v % 0x80) | 0x80);
      v = Math.floor(v / 0x80);
    }
    this.push(v);
  }

  finish(): Uint8Array {
    if (this.pending.length > 0) this.parts.push(Uint8Array.from(this.pending));
    this.pending = [];
    const out = new Uint8Array(this.length);
    let at = 0;
    for (const part of this.parts) {
      out.set(part, at);
      at += part.byteLength;
    }
    return out;
  }
}

function zigzag(value: number): number {
  return value >= 0 ? value * 2 : -value * 2 - 1;
}

/** Reads a struct field by field; `field` gets the reader at the value, and skips it when it returns false. */
function eachField(reader: CompactReader, field: (id: number, type: number, start: number) => boolean): void {
  reader.struct((id, type) => field(id, type, reader.offset));
}

/**
 * Reads a Parquet file's footer for splicing: its row groups' extents, rows and time statistics.
 * @param timeColumn - the flat column whose statistics are reported (none when absent)
 * @throws SpliceDeclined when the file has anything this module does not splice
 */
export function readSpliceLayout(file: Uint8Array, timeColumn: string | undefined): SpliceLayout {
  return readSpliceFooter(file, 0, timeColumn);
}

/**
 * As {@link readSpliceLayout}, from the file's last bytes only: `end` is the file from `endStart`
 * to its end, and must hold the whole footer (a ranged read of the footer, as tail reads fetch it).
 * Offsets in the layout are the file's; the leading magic is checked only when `endStart` is 0.
 * @throws SpliceDeclined as {@link readSpliceLayout}, and when `end` does not hold the footer
 */
export function readSpliceFooter(end: Uint8Array, endStart: number, timeColumn: string | undefined): SpliceLayout {
  try {
    return readLayout(end, endStart, timeColumn);
  } catch (error) {
    if (error instanceof SpliceDeclined) throw error;
    throw new SpliceDeclined(`the footer cannot be read for splicing: ${(error as Error).message}`);
  }
}

function readLayout(file: Uint8Array, base: number, timeColumn: string | undefined): SpliceLayout {
  const length = footerLength(file);
  const footerEnd = base + file.byteLength - PARQUET_TRAILER_BYTES;
  const footerStart = footerEnd - length;
  if (footerStart < MAGIC.byteLength) throw new SpliceDeclined('the footer is longer than the file');
  if (footerStart < base) throw new SpliceDeclined('the bytes given do not hold the whole footer');
  if (base === 0) for (let i = 0; i < MAGIC.byteLength; i++) if (file[i] !== MAGIC[i]) throw new SpliceDeclined('the file does not start with PAR1');
  const reader = new CompactReader(file, footerStart - base);
  const groups: SpliceRowGroup[] = [];
  const otherFields: { id: number; type: number; bytes: Uint8Array }[] = [];
  eachField(reader, (id, type, start) => {
    if (id === 4 && type === ThriftType.LIST) {
      const { size } = reader.listHeader();
      for (let i = 0; i < size; i++) groups.push(readRowGroup(file, base, reader, timeColumn));
      return true;
    }
    reader.skip(type);
    if (id !== 3) otherFields.push({ id, type, bytes: file.subarray(start, reader.offset) });
    return true;
  });
  if (base + reader.offset !== footerEnd) throw new SpliceDeclined('the footer has bytes after its FileMetaData');
  // Every byte between the magic and the footer belongs to exactly one group, in order.
  let expected = MAGIC.byteLength;
  for (const group of groups) {
    if (group.start !== expected) throw new SpliceDeclined(`a row group starts at ${group.start}, not at ${expected} where the one before ended`);
    expected = group.end;
  }
  if (expected !== footerStart) throw new SpliceDeclined('the row groups do not end where the footer starts');
  return { groups, otherFields, footerStart };
}

function readRowGroup(file: Uint8Array, base: number, reader: CompactReader, timeColumn: string | undefined): SpliceRowGroup {
  const begin = reader.offset;
  let rows: number | undefined;
  let start = Number.POSITIVE_INFINITY;
  let end = 0;
  let covered = 0;
  let time: SpliceRowGroup['time'];
  eachField(reader, (id, type) => {
    if (id === 1 && type === ThriftType.LIST) {
      const { size } = reader.listHeader();
      for (let i = 0; i < size; i++) {
        const chunk = readColumnChunk(reader);
        start = Math.min(start, chunk.start);
        end = Math.max(end, chunk.end);
        covered += chunk.end - chunk.start;
        if (timeColumn !== undefined && chunk.path.length === 1 && chunk.path[0] === timeColumn) time = chunk.statistics ?? {};
      }
      return true;
    }
    if (id === 3) {
      rows = reader.size();
      return true;
    }
    return false;
  });
  if (rows === undefined || end === 0) throw new SpliceDeclined('a row group has no rows or no column chunks');
  if (end - start !== covered) throw new SpliceDeclined('a row group has bytes between its column chunks');
  if (end > base + file.byteLength) throw new SpliceDeclined('a column chunk lies past the end of the file');
  return { rows, start, end, ...(time ? { time } : {}), thrift: file.subarray(begin, reader.offset) };
}

interface ChunkFacts {
  readonly path: string[];
  readonly start: number;
  readonly end: number;
  readonly statistics?: { min?: Uint8Array; max?: Uint8Array; nulls?: number };
}

function readColumnChunk(reader: CompactReader): ChunkFacts {
  let facts: ChunkFacts | undefined;
  let fileOffset: number | undefined;
  eachField(reader, (id, type) => {
    if (id === 2) {
      fileOffset = reader.size();
      return true;
    }
    if (id === 3 && type === ThriftType.STRUCT) {
      facts = readColumnMetaData(reader);
      return true;
    }
    // file_path (1), page index (4-7), encryption (8, 9): not spliced.
    if (id === 1 || (id >= 4 && id <= 9)) throw new SpliceDeclined(`a column chunk has field ${id} (an external chunk, a page index or encryption)`);
    return false;
  });
  if (!facts) throw new SpliceDeclined('a column chunk has no metadata');
  if (fileOffset !== undefined && fileOffset !== facts.start && fileOffset !== facts.end) {
    throw new SpliceDeclined(`a column chunk's file_offset ${fileOffset} is neither its first page nor its end`);
  }
  return facts;
}

function readColumnMetaData(reader: CompactReader): ChunkFacts {
  const path: string[] = [];
  let codec: number | undefined;
  let dataPageOffset: number | undefined;
  let compressed: number | undefined;
  let statistics: ChunkFacts['statistics'];
  eachField(reader, (id, type) => {
    switch (id) {
      case 3: {
        const { size } = reader.listHeader();
        for (let i = 0; i < size; i++) path.push(reader.string());
        return true;
      }
      case 4:
        codec = reader.signed();
        return true;
      case 7:
        compressed = reader.size();
        return true;
      case 9:
        dataPageOffset = reader.size();
        return true;
      case 10:
      case 11:
      case 14:
      case 15:
        throw new SpliceDeclined(`a column chunk has field ${id} of ColumnMetaData (an index or dictionary page, or a bloom filter)`);
      case 12: {
        if (type !== ThriftType.STRUCT) return false;
        const found: { min?: Uint8Array; max?: Uint8Array; nulls?: number } = {};
        eachField(reader, (statId) => {
          if (statId === 3) found.nulls = reader.size();
          else if (statId === 5) found.max = reader.binary().slice();
          else if (statId === 6) found.min = reader.binary().slice();
          else return false;
          return true;
        });
        statistics = found;
        return true;
      }
      default:
        return false;
    }
  });
  if (codec === undefined || dataPageOffset === undefined || compressed === undefined) throw new SpliceDeclined('a column chunk lacks its codec, data page offset or size');
  return { path, start: dataPageOffset, end: dataPageOffset + compressed, ...(statistics ? { statistics } : {}) };
}

/**
 * Writes a RowGroup struct again with every file offset moved by `shift` and its ordinal set:
 * RowGroup.file_offset (5), ordinal (7), ColumnChunk.file_offset (2), ColumnMetaData.data_page_offset (9).
 */
function shiftedRowGroup(thrift: Uint8Array, shift: number, ordinal: number, sink: ByteSink): void {
  const reader = new CompactReader(thrift);
  copyStruct(reader, thrift, sink, (path, id) => {
    if (path === 'group' && id === 5) return (value) => value + shift;
    if (path === 'group' && id === 7) return () => ordinal;
    if (path === 'chunk' && id === 2) return (value) => value + shift;
    if (path === 'meta' && id === 9) return (value) => value + shift;
    return undefined;
  }, 'group');
}

type Level = 'group' | 'chunk' | 'meta' | 'other';

/** Copies a struct, re-encoding the integer fields `patch` names with new values and every other field as it is. */
function copyStruct(
  reader: CompactReader,
  source: Uint8Array,
  sink: ByteSink,
  patch: (level: Level, id: number) => ((value: number) => number) | undefined,
  level: Level,
): void {
  let previous = 0;
  eachField(reader, (id, type, start) => {
    sink.fieldHeader(id, previous, type);
    previous = id;
    const change = patch(level, id);
    if (change && (type === ThriftType.I16 || type === ThriftType.I32 || type === ThriftType.I64)) {
      sink.varint(zigzag(change(reader.signed())));
      return true;
    }
    const inner: Level | undefined = level === 'group' && id === 1 ? 'chunk' : level === 'chunk' && id === 3 ? 'meta' : undefined;
    if (inner && type === ThriftType.LIST) {
      const header = reader.offset;
      const { size } = reader.listHeader();
      sink.append(source.subarray(header, reader.offset));
      for (let i = 0; i < size; i++) copyStruct(reader, source, sink, patch, inner);
      return true;
    }
    if (inner && type === ThriftType.STRUCT) {
      copyStruct(reader, source, sink, patch, inner);
      return true;
    }
    reader.skip(type);
    sink.append(source.subarray(start, reader.offset));
    return true;
  });
  sink.push(0);
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.byteLength === b.byteLength && Buffer.compare(a, b) === 0;
}

/**
 * Joins row groups of several files into one file: their chunks copied as they are, in the order
 * given, under a footer with every other FileMetaData field (schema, key-value metadata,
 * created_by, column orders) taken from the first part.
 * @throws SpliceDeclined when the parts' files differ in those fields (another schema or writer),
 *   or a part's groups are not consecutive
 */
export function spliceRowGroups(parts: readonly SplicePart[]): SplicedFile {
  const { pieces, byteLength, ...spliced } = splicePieces(parts);
  const file = new Uint8Array(Buffer.allocUnsafeSlow(byteLength).buffer, 0, byteLength);
  let at = 0;
  for (const piece of pieces) {
    file.set(piece, at);
    at += piece.byteLength;
  }
  return { file, ...spliced };
}

/**
 * As {@link spliceRowGroups}, leaving the file as its runs of bytes (see {@link SplicedPieces}).
 * Its CRC-32 is combined from the runs' CRCs, so a part whose `crc32` is given is not read again.
 * @throws SpliceDeclined as {@link spliceRowGroups}
 */
export function splicePieces(parts: readonly SplicePart[]): SplicedPieces {
  return assemble(parts, true) as SplicedPieces;
}

/**
 * As {@link splicePieces}, without the whole file's CRC-32, for a file made only to be read: its
 * reader checks the copied pages by their own CRCs and the footer by `footerCrc32`, so a pass over
 * the copied bytes here would be spent for nothing (a tail read's ~2 MiB row group).
 * @throws SpliceDeclined as {@link spliceRowGroups}
 */
export function splicePiecesForReading(parts: readonly SplicePart[]): Omit<SplicedPieces, 'crc32'> {
  return assemble(parts, false);
}

/** {@link splicePieces}, with the whole file's CRC-32 only when `wholeCrc` is set. */
function assemble(parts: readonly SplicePart[], wholeCrc: boolean): Omit<SplicedPieces, 'crc32'> & { readonly crc32?: number } {
  const first = parts.find((part) => part.groups.length > 0);
  if (!first) throw new SpliceDeclined('no row groups to splice');
  for (const part of parts) {
    const mine = part.layout.otherFields;
    const theirs = first.layout.otherFields;
    if (mine.length !== theirs.length || mine.some((field, i) => field.id !== theirs[i]!.id || !sameBytes(field.bytes, theirs[i]!.bytes))) {
      throw new SpliceDeclined('the files differ in schema, key-value metadata or writer');
    }
    part.groups.forEach((group, i) => {
      if (group !== part.groups[0]! + i || !part.layout.groups[group]) throw new SpliceDeclined('the row groups of a part are not consecutive');
    });
  }
  const chunks: Uint8Array[] = [MAGIC];
  let position = MAGIC.byteLength;
  let crc = crc32(MAGIC);
  const groups: SpliceRowGroup[] = [];
  const rowGroups = new ByteSink();
  let rows = 0;
  let count = 0;
  for (const part of parts) {
    if (part.groups.length === 0) continue;
    const from = part.layout.groups[part.groups[0]!]!.start;
    const to = part.layout.groups[part.groups[part.groups.length - 1]!]!.end;
    const shift = position - from;
    const offset = part.offset ?? 0;
    if (from < offset || to - offset > part.file.byteLength) throw new SpliceDeclined('a part does not hold the row groups it names');
    const run = part.file.subarray(from - offset, to - offset);
    chunks.push(run);
    if (wholeCrc) crc = crc32Combine(crc, part.crc32 ?? crc32(run), run.byteLength);
    for (const index of part.groups) {
      const group = part.layout.groups[index]!;
      shiftedRowGroup(group.thrift, shift, count++, rowGroups);
      groups.push({ ...group, start: group.start + shift, end: group.end + shift });
      rows += group.rows;
    }
    position += to - from;
  }
  const footer = new ByteSink();
  let previous = 0;
  const emitGroups = (): void => {
    footer.fieldHeader(3, previous, ThriftType.I64);
    footer.varint(zigzag(rows));
    footer.fieldHeader(4, 3, ThriftType.LIST);
    if (count < 15) footer.push((count << 4) | ThriftType.STRUCT);
    else {
      footer.push(0xf0 | ThriftType.STRUCT);
      footer.varint(count);
    }
    footer.append(rowGroups.finish());
    previous = 4;
  };
  for (const field of first.layout.otherFields) {
    if (field.id > 4 && previous < 4) emitGroups();
    footer.fieldHeader(field.id, previous, field.type);
    footer.append(field.bytes);
    previous = field.id;
  }
  if (previous < 4) emitGroups();
  footer.push(0);
  const metadata = footer.finish();
  const trailer = new Uint8Array(PARQUET_TRAILER_BYTES);
  new DataView(trailer.buffer).setUint32(0, metadata.byteLength, true);
  trailer.set(MAGIC, 4);
  chunks.push(metadata, trailer);
  const footerCrc32 = crc32(trailer, crc32(metadata));
  const byteLength = position + metadata.byteLength + trailer.byteLength;
  return { pieces: chunks, byteLength, ...(wholeCrc ? { crc32: crc32Combine(crc, footerCrc32, metadata.byteLength + trailer.byteLength) } : {}), footerCrc32, rows, groups };
}
