/**
 * Writes Thrift compact-protocol structs, the encoding of Parquet's page headers and footer.
 * Written from the Thrift compact protocol specification: a field header carries the field-id
 * delta and the type in one byte when the delta is 1–15, integers are zigzag varints, booleans
 * live in their field header, and a struct ends with a stop byte.
 */
import { ThriftType } from './thrift-compact-types.js';

const utf8 = new TextEncoder();

/** Appends compact-protocol fields to a growing buffer; field ids must ascend within a struct. */
export class ThriftCompactWriter {
  private bytes = new Uint8Array(256);
  private length = 0;
  private lastFieldId = 0;
  private readonly enclosingFieldIds: number[] = [];

  /** The bytes written so far (a view; copy it before writing more). */
  finish(): Uint8Array {
    return this.bytes.subarray(0, this.length);
  }

  /** An i8 field. */
  i8(id: number, value: number): this {
    this.fieldHeader(id, ThriftType.BYTE);
    this.byte(value & 0xff);
    return this;
  }

  /** An i16 field. */
  i16(id: number, value: number): this {
    this.fieldHeader(id, ThriftType.I16);
    this.zigzag(value);
    return this;
  }

  /** An i32 field (also for enums). */
  i32(id: number, value: number): this {
    this.fieldHeader(id, ThriftType.I32);
    this.zigzag(value);
    return this;
  }

  /** An i64 field; exact for safe integers, which every Parquet offset and count is. */
  i64(id: number, value: number): this {
    this.fieldHeader(id, ThriftType.I64);
    this.zigzag(value);
    return this;
  }

  /** A bool field. */
  bool(id: number, value: boolean): this {
    this.fieldHeader(id, value ? ThriftType.TRUE : ThriftType.FALSE);
    return this;
  }

  /** A binary field. */
  binary(id: number, value: Uint8Array): this {
    this.fieldHeader(id, ThriftType.BINARY);
    this.bytesWithLength(value);
    return this;
  }

  /** A string field (UTF-8 binary). */
  string(id: number, value: string): this {
    return this.binary(id, utf8.encode(value));
  }

  /** A struct field whose own fields `body` writes. */
  struct(id: number, body: (writer: this) => void): this {
    this.fieldHeader(id, ThriftType.STRUCT);
    this.structBody(body);
    return this;
  }

  /** A list<i32> field (also for lists of enums). */
  i32List(id: number, values: readonly number[]): this {
    this.fieldHeader(id, ThriftType.LIST);
    this.listHeader(values.length, ThriftType.I32);
    for (const value of values) this.zigzag(value);
    return this;
  }

  /** A list<string> field. */
  stringList(id: number, values: readonly string[]): this {
    this.fieldHeader(id, ThriftType.LIST);
    this.listHeader(values.length, ThriftType.BINARY);
    for (const value of values) this.bytesWithLength(utf8.encode(value));
    return this;
  }

  /** A list<struct> field: `body` writes the fields of each element. */
  structList<T>(id: number, items: readonly T[], body: (writer: this, item: T) => void): this {
    this.fieldHeader(id, ThriftType.LIST);
    this.listHeader(items.length, ThriftType.STRUCT);
    for (const item of items) this.structBody((writer) => body(writer, item));
    return this;
  }

  /** Ends the outermost struct (what {@link struct} and {@link structList} do for nested ones). */
  stop(): this {
    this.byte(0);
    return this;
  }

  private structBody(body: (writer: this) => void): void {
    this.enclosingFieldIds.push(this.lastFieldId);
    this.lastFieldId = 0;
    body(this);
    this.byte(0);
    this.lastFieldId = this.enclosingFieldIds.pop()!;
  }

  private fieldHeader(id: number, type: number): void {
    const delta = id - this.lastFieldId;
    if (delta > 0 && delta <= 15) {
      this.byte((delta << 4) | type);
    } else {
      this.byte(type);
      this.zigzag(id);
    }
    this.lastFieldId = id;
  }

  private listHeader(size: number, elementType: number): void {
    if (size < 15) {
      this.byte((size << 4) | elementType);
    } else {
      this.byte(0xf0 | elementType);
      this.varint(size);
    }
  }

  private bytesWithLength(value: Uint8Array): void {
    this.varint(value.byteLength);
    this.reserve(value.byteLength);
    this.bytes.set(value, this.length);
    this.length += value.byteLength;
  }

  /** Zigzag varint of a safe integer (arithmetic, not bit operations, so beyond 32 bits works). */
  private zigzag(value: number): void {
    this.varint(value >= 0 ? value * 2 : -value * 2 - 1);
  }

  private varint(value: number): void {
    let rest = value;
    while (rest >= 0x80) {
      this.byte((rest % 0x80) | 0x80);
      rest = Math.floor(rest / 0x80);
    }
    this.byte(rest);
  }

  private byte(value: number): void {
    this.reserve(1);
    this.bytes[this.length++] = value;
  }

  private reserve(extra: number): void {
    if (this.length + extra <= this.bytes.byteLength) return;
    const grown = new Uint8Array(Math.max(this.bytes.byteLength * 2, this.length + extra));
    grown.set(this.bytes.subarray(0, this.length));
    this.bytes = grown;
  }
}
