/**
 * A bounds check of untrusted IPC message headers (flatbuffers) before apache-arrow decodes them.
 * apache-arrow trusts a header's vector lengths, so a few corrupted bytes (found by the fuzz test)
 * make it allocate billions of elements and the process dies of memory exhaustion. This walks the
 * tables of a Message — vector lengths, offsets, nesting — and refuses anything that does not fit
 * in the header's bytes or nests too deep, in time proportional to the header's size.
 */
import { InvalidArgumentError } from '../errors.js';

/** Deepest field nesting accepted (Arrow's own C++ reader allows 64). */
const MAX_DEPTH = 64;

const HEADER_SCHEMA = 1;
const HEADER_DICTIONARY_BATCH = 2;
const HEADER_RECORD_BATCH = 3;
const TYPE_UNION = 14;

/** Reads a flatbuffer, checking every offset against its length. */
class FlatReader {
  private readonly view: DataView;
  /** Tables and vector elements visited; bounded so shared (DAG) subtrees cannot blow up the walk. */
  private visits = 0;

  constructor(private readonly bytes: Uint8Array) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  private fail(why: string): never {
    throw new InvalidArgumentError(`malformed IPC message header: ${why}`);
  }

  private need(offset: number, length: number): void {
    if (!Number.isInteger(offset) || offset < 0 || length < 0 || offset + length > this.bytes.byteLength) this.fail(`offset ${offset}+${length} is outside its ${this.bytes.byteLength} bytes`);
  }

  private uint32(offset: number): number {
    this.need(offset, 4);
    return this.view.getUint32(offset, true);
  }

  /** Counts work done; refuses headers whose walk would exceed a multiple of their size. */
  visit(count = 1): void {
    this.visits += count;
    if (this.visits > 16 * this.bytes.byteLength + 1024) this.fail('it refers to more elements than its size allows');
  }

  /** The position of the root table. */
  root(): number {
    return this.table(0);
  }

  /** Follows the uoffset at `at` to a table and checks its vtable. */
  table(at: number): number {
    const position = at + this.uint32(at);
    this.need(position, 4);
    const vtable = position - this.view.getInt32(position, true);
    this.need(vtable, 4);
    const vtableLength = this.view.getUint16(vtable, true);
    if (vtableLength < 4 || vtableLength % 2 !== 0) this.fail('a vtable has an invalid length');
    this.need(vtable, vtableLength);
    this.visit();
    return position;
  }

  /** Where field `index` of the table at `position` lies, or undefined if absent. */
  field(position: number, index: number): number | undefined {
    const vtable = position - this.view.getInt32(position, true);
    const vtableLength = this.view.getUint16(vtable, true);
    const slot = 4 + 2 * index;
    if (slot + 2 > vtableLength) return undefined;
    const offset = this.view.getUint16(vtable + slot, true);
    if (offset === 0) return undefined;
    this.need(position + offset, 1);
    return position + offset;
  }

  /** A byte field's value (e.g. a union's type), 0 if absent. */
  byte(position: number, index: number): number {
    const at = this.field(position, index);
    return at === undefined ? 0 : this.bytes[at]!;
  }

  /** Checks the vector that field `index` points to; returns its element positions' start and length. */
  vector(position: number, index: number, elementBytes: number): { start: number; length: number } | undefined {
    const at = this.field(position, index);
    if (at === undefined) return undefined;
    const vector = at + this.uint32(at);
    const length = this.uint32(vector);
    this.need(vector + 4, length * elementBytes);
    return { start: vector + 4, length };
  }

  /** The tables of a vector of tables. */
  tables(position: number, index: number): number[] {
    const vector = this.vector(position, index, 4);
    if (!vector) return [];
    this.visit(vector.length);
    return Array.from({ length: vector.length }, (_, i) => this.table(vector.start + 4 * i));
  }

  /** Follows a table-valued field. */
  child(position: number, index: number): number | undefined {
    const at = this.field(position, index);
    return at === undefined ? undefined : this.table(at);
  }
}

function checkKeyValues(reader: FlatReader, table: number, index: number): void {
  for (const pair of reader.tables(table, index)) {
    reader.vector(pair, 0, 1);
    reader.vector(pair, 1, 1);
  }
}

function checkField(reader: FlatReader, field: number, depth: number): void {
  if (depth > MAX_DEPTH) throw new InvalidArgumentError(`malformed IPC message header: fields nest deeper than ${MAX_DEPTH} levels`);
  reader.vector(field, 0, 1); // name
  const type = reader.child(field, 3);
  if (type !== undefined && reader.byte(field, 2) === TYPE_UNION) reader.vector(type, 1, 4); // typeIds
  const dictionary = reader.child(field, 4);
  if (dictionary !== undefined) reader.child(dictionary, 1); // indexType
  for (const child of reader.tables(field, 5)) checkField(reader, child, depth + 1);
  checkKeyValues(reader, field, 6);
}

function checkRecordBatch(reader: FlatReader, batch: number): void {
  const nodes = reader.vector(batch, 1, 16);
  const buffers = reader.vector(batch, 2, 16);
  const counts = reader.vector(batch, 4, 8);
  reader.visit((nodes?.length ?? 0) + (buffers?.length ?? 0) + (counts?.length ?? 0));
  reader.child(batch, 3); // compression
}

/**
 * Checks that an untrusted IPC Message header is structurally sound enough to decode safely.
 * @throws InvalidArgumentError for offsets or vector lengths outside the header, or excessive nesting
 */
export function assertSafeIpcHeader(header: Uint8Array): void {
  const reader = new FlatReader(header);
  const message = reader.root();
  checkKeyValues(reader, message, 4);
  const headerType = reader.byte(message, 1);
  const body = reader.child(message, 2);
  if (body === undefined) return;
  if (headerType === HEADER_SCHEMA) {
    for (const field of reader.tables(body, 1)) checkField(reader, field, 0);
    checkKeyValues(reader, body, 2);
    reader.vector(body, 3, 8);
  } else if (headerType === HEADER_RECORD_BATCH) {
    checkRecordBatch(reader, body);
  } else if (headerType === HEADER_DICTIONARY_BATCH) {
    const data = reader.child(body, 1);
    if (data !== undefined) checkRecordBatch(reader, data);
  }
}
