/**
 * Reads a Parquet file's footer: where each column chunk lies, so a projected read can fetch only
 * the chunks it decodes. Written from the Parquet format specification (parquet.thrift) and the
 * Thrift compact protocol; it decodes the few fields it needs and skips every other one.
 */
import { ThriftType } from './thrift-compact-types.js';

/** Bytes at the end of every Parquet file: the 4-byte little-endian footer length, then `PAR1`. */
export const PARQUET_TRAILER_BYTES = 8;

/** A byte range of a file: `[start, end)`. */
export interface FileRange {
  readonly start: number;
  readonly end: number;
}

/** One column chunk of a row group, as its ColumnChunk and ColumnMetaData describe it. */
export interface ParquetColumnChunk {
  /** The leaf's path in the schema (one part for a flat column; several for nested ones). */
  readonly path: readonly string[];
  /** ColumnMetaData.type: the physical type (parquet.thrift `Type`). */
  readonly physicalType?: number;
  /** ColumnMetaData.codec (0 = uncompressed). */
  readonly codec?: number;
  /** ColumnMetaData.data_page_offset. */
  readonly dataPageOffset: number;
  /** ColumnMetaData.dictionary_page_offset, when present. */
  readonly dictionaryPageOffset?: number;
  /** ColumnMetaData.total_compressed_size: every page of the chunk, headers included. */
  readonly totalCompressedSize: number;
  /** The chunk's OffsetIndex (page index), when written. */
  readonly offsetIndex?: FileRange;
  /** The chunk's ColumnIndex (page index), when written. */
  readonly columnIndex?: FileRange;
  /** ColumnMetaData.statistics' `min_value`/`max_value` (plain-encoded), when written. */
  readonly statistics?: { readonly min?: Uint8Array; readonly max?: Uint8Array };
}

/** One row group. */
export interface ParquetRowGroup {
  readonly rows: number;
  readonly columns: readonly ParquetColumnChunk[];
}

/**
 * One top-level element of the Parquet schema, with the type annotations a reader must honour:
 * the plain reader checks them against the Arrow type it would produce (see
 * plain-parquet-reader.ts).
 */
export interface ParquetSchemaColumn {
  readonly name: string;
  /** Child elements (0 for a leaf, i.e. a flat column). */
  readonly children: number;
  /** SchemaElement.type: the physical type, absent for groups. */
  readonly physicalType?: number;
  /** SchemaElement.repetition_type: 0 REQUIRED, 1 OPTIONAL, 2 REPEATED. */
  readonly repetition?: number;
  /** SchemaElement.converted_type (the legacy annotation), when present. */
  readonly convertedType?: number;
  /**
   * SchemaElement.logicalType in a canonical text form, when present: `STRING`, `DATE`,
   * `INTEGER(8,signed)`, `TIMESTAMP(MICROS,utc)`, `TIME(MILLIS,local)`, `DECIMAL(10,2)`, `ENUM`,
   * …; a union member this reader does not know is `LOGICAL(<field id>)`.
   */
  readonly logicalType?: string;
}

/** What a projected read needs of FileMetaData. */
export interface ParquetFileMetaData {
  readonly rows: number;
  /** Names of the schema's top-level columns, in order. */
  readonly columnNames: readonly string[];
  /** The schema's top-level elements, in order (the same order as {@link columnNames}). */
  readonly columns: readonly ParquetSchemaColumn[];
  readonly rowGroups: readonly ParquetRowGroup[];
  /** FileMetaData.key_value_metadata (e.g. `ARROW:schema`). */
  readonly keyValues: ReadonlyMap<string, string>;
}

/** The footer is not what this reader understands (the caller then reads the file whole). */
export class ParquetFooterError extends Error {
  override readonly name = 'ParquetFooterError';
}

/**
 * The length of the Thrift-encoded FileMetaData, from the file's last 8 bytes (`tail` may hold
 * more before them). The metadata ends 8 bytes before the end of the file.
 * @throws ParquetFooterError when the file does not end with `PAR1` (e.g. an encrypted footer, `PARE`)
 */
export function footerLength(tail: Uint8Array): number {
  const at = tail.byteLength - PARQUET_TRAILER_BYTES;
  if (at < 0) throw new ParquetFooterError('fewer than 8 bytes: not a Parquet file');
  const magic = String.fromCharCode(tail[at + 4]!, tail[at + 5]!, tail[at + 6]!, tail[at + 7]!);
  if (magic !== 'PAR1') throw new ParquetFooterError(`the file ends with '${magic}', not 'PAR1'`);
  return new DataView(tail.buffer, tail.byteOffset + at, 4).getUint32(0, true);
}

/**
 * Parses a whole Parquet file's footer from its last bytes: `tail` must hold the metadata and the
 * 8-byte trailer (`footerLength(tail) + 8` bytes at least).
 * @throws ParquetFooterError when the tail is too short or the metadata malformed
 */
export function readParquetFooter(tail: Uint8Array): ParquetFileMetaData {
  const length = footerLength(tail);
  const end = tail.byteLength - PARQUET_TRAILER_BYTES;
  if (length > end) throw new ParquetFooterError(`the footer has ${length} bytes but only ${end} were given`);
  return parseFileMetaData(tail.subarray(end - length, end));
}

/** Deeper nesting than any Parquet footer has: a malformed or hostile input. */
const MAX_DEPTH = 64;

/**
 * A cursor over Thrift compact-protocol bytes: the footer, and the page headers a page reader
 * parses (see plain-parquet-reader.ts). Malformed input throws ParquetFooterError.
 */
export class CompactReader {
  private position: number;
  /** @param start - where in `bytes` to begin */
  constructor(
    private readonly bytes: Uint8Array,
    start = 0,
  ) {
    this.position = start;
  }

  /** Where the next read begins. */
  get offset(): number {
    return this.position;
  }

  private fail(what: string): never {
    throw new ParquetFooterError(`malformed Thrift data at byte ${this.position}: ${what}`);
  }

  byte(): number {
    if (this.position >= this.bytes.byteLength) this.fail('unexpected end');
    return this.bytes[this.position++]!;
  }

  /** An unsigned varint; exact up to 2^53 (larger values only ever get skipped). */
  varint(): number {
    let value = 0;
    let scale = 1;
    for (let i = 0; i < 10; i++) {
      const b = this.byte();
      value += (b & 0x7f) * scale;
      if ((b & 0x80) === 0) return value;
      scale *= 128;
    }
    return this.fail('varint longer than 10 bytes');
  }

  /** A zigzag-encoded i16/i32/i64. */
  signed(): number {
    const v = this.varint();
    return v % 2 === 0 ? v / 2 : -(v + 1) / 2;
  }

  /** A non-negative i32/i64 that must be exact (an offset or a size). */
  size(): number {
    const v = this.signed();
    if (v < 0 || !Number.isSafeInteger(v)) this.fail(`offset or size ${v} out of range`);
    return v;
  }

  binary(): Uint8Array {
    const length = this.varint();
    if (length > this.bytes.byteLength - this.position) this.fail(`binary of ${length} bytes past the end`);
    const value = this.bytes.subarray(this.position, this.position + length);
    this.position += length;
    return value;
  }

  string(): string {
    return new TextDecoder('utf-8', { fatal: false }).decode(this.binary());
  }

  /** A list or set header: element type and count. */
  listHeader(): { type: number; size: number } {
    const header = this.byte();
    const short = header >> 4;
    return { type: header & 0x0f, size: short === 15 ? this.varint() : short };
  }

  /**
   * Reads a struct's fields, calling `field` for each; fields it does not consume (returns false)
   * are skipped. Field ids are deltas from the previous one, or given in full after a 0 delta.
   */
  struct(field: (id: number, type: number) => boolean, depth = 0): void {
    if (depth > MAX_DEPTH) this.fail('nesting too deep');
    let id = 0;
    for (;;) {
      const header = this.byte();
      const type = header & 0x0f;
      if (type === 0) return; // stop
      const delta = header >> 4;
      id = delta === 0 ? this.signed() : id + delta;
      if (!field(id, type)) this.skip(type, depth + 1);
    }
  }

  /** Skips one value of a type: needed for every field this reader does not decode. */
  skip(type: number, depth = 0): void {
    if (depth > MAX_DEPTH) this.fail('nesting too deep');
    switch (type) {
      case ThriftType.TRUE:
      case ThriftType.FALSE:
        return; // a struct field's bool lives in its type id
      case ThriftType.BYTE:
        this.byte();
        return;
      case ThriftType.I16:
      case ThriftType.I32:
      case ThriftType.I64:
        this.varint();
        return;
      case ThriftType.DOUBLE:
        if (this.position + 8 > this.bytes.byteLength) this.fail('unexpected end');
        this.position += 8;
        return;
      case ThriftType.BINARY:
        this.binary();
        return;
      case ThriftType.LIST:
      case ThriftType.SET: {
        const { type: element, size } = this.listHeader();
        for (let i = 0; i < size; i++) this.skipElement(element, depth + 1);
        return;
      }
      case ThriftType.MAP: {
        const size = this.varint();
        if (size === 0) return;
        const kinds = this.byte();
        for (let i = 0; i < size; i++) {
          this.skipElement(kinds >> 4, depth + 1);
          this.skipElement(kinds & 0x0f, depth + 1);
        }
        return;
      }
      case ThriftType.STRUCT:
        this.struct(() => false, depth + 1);
        return;
      default:
        this.fail(`unknown type id ${type}`);
    }
  }

  /** Skips a collection element: booleans there take a byte each, unlike struct fields. */
  private skipElement(type: number, depth: number): void {
    if (type === ThriftType.TRUE || type === ThriftType.FALSE) this.byte();
    else this.skip(type, depth);
  }

  /** Reads a list whose elements are read by `element`. */
  list<T>(expected: number, element: () => T): T[] {
    const { type, size } = this.listHeader();
    if (size > 0 && type !== expected) this.fail(`list of type ${type}, expected ${expected}`);
    if (size > this.bytes.byteLength - this.position) this.fail(`list of ${size} elements past the end`);
    const values: T[] = [];
    for (let i = 0; i < size; i++) values.push(element());
    return values;
  }
}

interface SchemaNode {
  name: string;
  children: number;
  physicalType?: number;
  repetition?: number;
  convertedType?: number;
  logicalType?: string;
  precision?: number;
  scale?: number;
}

/**
 * Parses Thrift compact-encoded FileMetaData (the bytes between the data and the trailer).
 * @throws ParquetFooterError when malformed or missing a field this reader needs
 */
export function parseFileMetaData(bytes: Uint8Array): ParquetFileMetaData {
  const reader = new CompactReader(bytes);
  let rows: number | undefined;
  let schema: SchemaNode[] | undefined;
  let rowGroups: ParquetRowGroup[] | undefined;
  const keyValues = new Map<string, string>();
  reader.struct((id, type) => {
    if (id === 2 && type === ThriftType.LIST) schema = reader.list(ThriftType.STRUCT, () => schemaElement(reader));
    else if (id === 3 && type === ThriftType.I64) rows = reader.size();
    else if (id === 4 && type === ThriftType.LIST) rowGroups = reader.list(ThriftType.STRUCT, () => rowGroup(reader));
    else if (id === 5 && type === ThriftType.LIST) reader.list(ThriftType.STRUCT, () => keyValue(reader, keyValues));
    else return false;
    return true;
  });
  if (!schema || schema.length === 0 || rows === undefined || !rowGroups) {
    throw new ParquetFooterError('FileMetaData lacks its schema, num_rows or row_groups');
  }
  const columns = topLevelColumns(schema);
  return { rows, columnNames: columns.map((column) => column.name), columns, rowGroups, keyValues };
}

/** One KeyValue entry into `into` (an entry without a value is kept as ''). */
function keyValue(reader: CompactReader, into: Map<string, string>): void {
  let key: string | undefined;
  let value = '';
  reader.struct((id, type) => {
    if (id === 1 && type === ThriftType.BINARY) key = reader.string();
    else if (id === 2 && type === ThriftType.BINARY) value = reader.string();
    else return false;
    return true;
  });
  if (key !== undefined) into.set(key, value);
}

function schemaElement(reader: CompactReader): SchemaNode {
  const node: SchemaNode = { name: '', children: 0 };
  let named = false;
  reader.struct((id, type) => {
    if (id === 1 && type === ThriftType.I32) node.physicalType = reader.signed();
    else if (id === 3 && type === ThriftType.I32) node.repetition = reader.signed();
    else if (id === 4 && type === ThriftType.BINARY) {
      node.name = reader.string();
      named = true;
    } else if (id === 5 && type === ThriftType.I32) node.children = reader.size();
    else if (id === 6 && type === ThriftType.I32) node.convertedType = reader.signed();
    else if (id === 7 && type === ThriftType.I32) node.scale = reader.signed();
    else if (id === 8 && type === ThriftType.I32) node.precision = reader.signed();
    else if (id === 10 && type === ThriftType.STRUCT) node.logicalType = logicalType(reader);
    else return false;
    return true;
  }, 1);
  if (!named) throw new ParquetFooterError('a SchemaElement has no name');
  return node;
}

/** A struct field read as a bool: compact Thrift carries a struct field's bool in its type id. */
function fieldBool(type: number): boolean | undefined {
  return type === ThriftType.TRUE ? true : type === ThriftType.FALSE ? false : undefined;
}

/** A TimeUnit union (MILLIS 1, MICROS 2, NANOS 3) by name. */
function timeUnit(reader: CompactReader): string {
  let unit = 'UNIT?';
  reader.struct((id, type) => {
    if (type !== ThriftType.STRUCT) return false;
    unit = id === 1 ? 'MILLIS' : id === 2 ? 'MICROS' : id === 3 ? 'NANOS' : `UNIT(${id})`;
    return false; // the member is an empty struct: skipped
  }, 3);
  return unit;
}

/** The LogicalType union (parquet.thrift) in the canonical text form of {@link ParquetSchemaColumn.logicalType}. */
function logicalType(reader: CompactReader): string | undefined {
  let text: string | undefined;
  reader.struct((member, kind) => {
    if (kind !== ThriftType.STRUCT) return false;
    const facts: { utc?: boolean; unit?: string; bits?: number; signed?: boolean; scale?: number; precision?: number } = {};
    reader.struct((id, type) => {
      if ((member === 7 || member === 8) && id === 1 && fieldBool(type) !== undefined) facts.utc = fieldBool(type);
      else if ((member === 7 || member === 8) && id === 2 && type === ThriftType.STRUCT) facts.unit = timeUnit(reader);
      else if (member === 10 && id === 1 && type === ThriftType.BYTE) facts.bits = reader.byte() << 24 >> 24;
      else if (member === 10 && id === 2 && fieldBool(type) !== undefined) facts.signed = fieldBool(type);
      else if (member === 5 && id === 1 && type === ThriftType.I32) facts.scale = reader.signed();
      else if (member === 5 && id === 2 && type === ThriftType.I32) facts.precision = reader.signed();
      else return false;
      return true;
    }, 2);
    const simple: Record<number, string> = { 1: 'STRING', 2: 'MAP', 3: 'LIST', 4: 'ENUM', 6: 'DATE', 11: 'UNKNOWN', 12: 'JSON', 13: 'BSON', 14: 'UUID', 15: 'FLOAT16', 16: 'VARIANT', 17: 'GEOMETRY', 18: 'GEOGRAPHY' };
    if (member === 5) text = `DECIMAL(${facts.precision},${facts.scale})`;
    else if (member === 7 || member === 8) text = `${member === 7 ? 'TIME' : 'TIMESTAMP'}(${facts.unit},${facts.utc === true ? 'utc' : facts.utc === false ? 'local' : '?'})`;
    else if (member === 10) text = `INTEGER(${facts.bits},${facts.signed === true ? 'signed' : facts.signed === false ? 'unsigned' : '?'})`;
    else text = simple[member] ?? `LOGICAL(${member})`;
    return true;
  }, 1);
  return text;
}

/** The root's children, from the depth-first flattened schema tree. */
function topLevelColumns(schema: readonly SchemaNode[]): ParquetSchemaColumn[] {
  const columns: ParquetSchemaColumn[] = [];
  let index = 1;
  // Skips the subtree at `index`, returning the index after it.
  const skipSubtree = (at: number): number => {
    let next = at + 1;
    let pending = schema[at]?.children ?? 0;
    while (pending-- > 0) {
      if (next >= schema.length) throw new ParquetFooterError('the schema tree is truncated');
      next = skipSubtree(next);
    }
    return next;
  };
  for (let child = 0; child < schema[0]!.children; child++) {
    const node = schema[index];
    if (!node) throw new ParquetFooterError('the schema tree is truncated');
    const { name, children, physicalType, repetition, convertedType } = node;
    const logical = node.logicalType ?? (convertedType === 5 ? `DECIMAL(${node.precision},${node.scale})` : undefined);
    columns.push({
      name,
      children,
      ...(physicalType === undefined ? {} : { physicalType }),
      ...(repetition === undefined ? {} : { repetition }),
      ...(convertedType === undefined ? {} : { convertedType }),
      ...(logical === undefined ? {} : { logicalType: logical }),
    });
    index = skipSubtree(index);
  }
  return columns;
}

function rowGroup(reader: CompactReader): ParquetRowGroup {
  let rows: number | undefined;
  let columns: ParquetColumnChunk[] | undefined;
  reader.struct((id, type) => {
    if (id === 1 && type === ThriftType.LIST) columns = reader.list(ThriftType.STRUCT, () => columnChunk(reader));
    else if (id === 3 && type === ThriftType.I64) rows = reader.size();
    else return false;
    return true;
  });
  if (!columns || rows === undefined) throw new ParquetFooterError('a RowGroup lacks its columns or num_rows');
  return { rows, columns };
}

function columnChunk(reader: CompactReader): ParquetColumnChunk {
  let meta: Omit<ParquetColumnChunk, 'offsetIndex' | 'columnIndex'> | undefined;
  let filePath = false;
  const index = { offsetIndexOffset: -1, offsetIndexLength: -1, columnIndexOffset: -1, columnIndexLength: -1 };
  reader.struct((id, type) => {
    if (id === 1 && type === ThriftType.BINARY) {
      reader.binary();
      filePath = true;
    } else if (id === 3 && type === ThriftType.STRUCT) meta = columnMetaData(reader);
    else if (id === 4 && type === ThriftType.I64) index.offsetIndexOffset = reader.size();
    else if (id === 5 && type === ThriftType.I32) index.offsetIndexLength = reader.size();
    else if (id === 6 && type === ThriftType.I64) index.columnIndexOffset = reader.size();
    else if (id === 7 && type === ThriftType.I32) index.columnIndexLength = reader.size();
    else return false;
    return true;
  });
  // Chunks stored in another file, or encrypted ones (no plain meta_data), are not for us.
  if (filePath) throw new ParquetFooterError('a column chunk lives in another file');
  if (!meta) throw new ParquetFooterError('a ColumnChunk has no meta_data');
  return {
    ...meta,
    ...(index.offsetIndexOffset >= 0 && index.offsetIndexLength >= 0
      ? { offsetIndex: { start: index.offsetIndexOffset, end: index.offsetIndexOffset + index.offsetIndexLength } }
      : {}),
    ...(index.columnIndexOffset >= 0 && index.columnIndexLength >= 0
      ? { columnIndex: { start: index.columnIndexOffset, end: index.columnIndexOffset + index.columnIndexLength } }
      : {}),
  };
}

function columnMetaData(reader: CompactReader): Omit<ParquetColumnChunk, 'offsetIndex' | 'columnIndex'> {
  let path: string[] | undefined;
  let size: number | undefined;
  let data: number | undefined;
  let dictionary: number | undefined;
  const facts: { physicalType?: number; codec?: number; statistics?: { min?: Uint8Array; max?: Uint8Array } } = {};
  reader.struct((id, type) => {
    if (id === 1 && type === ThriftType.I32) facts.physicalType = reader.signed();
    else if (id === 12 && type === ThriftType.STRUCT) facts.statistics = statistics(reader);
    else if (id === 3 && type === ThriftType.LIST) path = reader.list(ThriftType.BINARY, () => reader.string());
    else if (id === 4 && type === ThriftType.I32) facts.codec = reader.signed();
    else if (id === 7 && type === ThriftType.I64) size = reader.size();
    else if (id === 9 && type === ThriftType.I64) data = reader.size();
    else if (id === 11 && type === ThriftType.I64) dictionary = reader.size();
    else return false;
    return true;
  }, 1);
  if (!path || size === undefined || data === undefined) {
    throw new ParquetFooterError('a ColumnMetaData lacks path_in_schema, total_compressed_size or data_page_offset');
  }
  return { path, ...facts, dataPageOffset: data, totalCompressedSize: size, ...(dictionary !== undefined ? { dictionaryPageOffset: dictionary } : {}) };
}

/** Statistics' `max_value` (5) and `min_value` (6); the deprecated `max`/`min` (1, 2) are left out (their order is unreliable). */
function statistics(reader: CompactReader): { min?: Uint8Array; max?: Uint8Array } {
  const found: { min?: Uint8Array; max?: Uint8Array } = {};
  reader.struct((id, type) => {
    if (id === 5 && type === ThriftType.BINARY) found.max = reader.binary();
    else if (id === 6 && type === ThriftType.BINARY) found.min = reader.binary();
    else return false;
    return true;
  });
  return found;
}

/**
 * Where a column chunk's pages lie. They start at the dictionary page when there is one, else at
 * the first data page; some old writers store 0 for an absent dictionary offset, which is ignored.
 */
export function columnChunkRange(chunk: ParquetColumnChunk): FileRange {
  const dictionary = chunk.dictionaryPageOffset;
  const start = dictionary !== undefined && dictionary > 0 && dictionary < chunk.dataPageOffset ? dictionary : chunk.dataPageOffset;
  return { start, end: start + chunk.totalCompressedSize };
}

/**
 * Whether a leaf belongs to one of the requested top-level columns. Besides the leaf's first path
 * part, the dotted path is matched too (`a.b` equal to or under a requested name), because the
 * decoder resolves names that way: a flat column named `p.q` and a struct `p` both answer to `p`.
 */
export function chunkIsNeeded(chunk: ParquetColumnChunk, columns: ReadonlySet<string>): boolean {
  if (columns.has(chunk.path[0]!)) return true;
  const dotted = chunk.path.join('.');
  for (const column of columns) if (dotted === column || dotted.startsWith(`${column}.`)) return true;
  return false;
}

/**
 * The byte ranges a decode of `columns` over the given row groups reads: each needed column
 * chunk, and the page index of every chunk when one was written (the decoder loads the whole page
 * index, not only the projected columns'; it lies in one small run before the footer). Sorted by
 * start; overlapping and adjacent ranges merged.
 * @throws ParquetFooterError if a range lies outside `[0, dataEnd)` (the data before the footer)
 */
export function projectedRanges(
  metadata: ParquetFileMetaData,
  rowGroups: readonly number[],
  columns: ReadonlySet<string>,
  dataEnd: number,
): FileRange[] {
  const ranges: FileRange[] = [];
  const add = (range: FileRange | undefined): void => {
    if (!range || range.end === range.start) return;
    if (range.start < 0 || range.end > dataEnd || range.end < range.start) {
      throw new ParquetFooterError(`range ${range.start}-${range.end} lies outside the file's data`);
    }
    ranges.push(range);
  };
  for (const group of rowGroups) {
    const rowGroup = metadata.rowGroups[group];
    if (!rowGroup) throw new ParquetFooterError(`no row group ${group}`);
    for (const chunk of rowGroup.columns) if (chunkIsNeeded(chunk, columns)) add(columnChunkRange(chunk));
  }
  for (const rowGroup of metadata.rowGroups) {
    for (const chunk of rowGroup.columns) {
      add(chunk.offsetIndex);
      add(chunk.columnIndex);
    }
  }
  ranges.sort((a, b) => a.start - b.start);
  const merged: FileRange[] = [];
  for (const range of ranges) {
    const last = merged.at(-1);
    if (last && range.start <= last.end) merged[merged.length - 1] = { start: last.start, end: Math.max(last.end, range.end) };
    else merged.push(range);
  }
  return merged;
}
