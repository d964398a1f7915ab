/**
 * The few protobuf wire-format primitives Flight's messages need: varints, length-delimited fields.
 * Written by hand so FlightData bodies are never copied through a generic protobuf library.
 */
import { InvalidArgumentError } from '../core/errors.js';

/** Protobuf wire types used by Flight. */
export const enum WireType {
  Varint = 0,
  Fixed64 = 1,
  LengthDelimited = 2,
  Fixed32 = 5,
}

/** Number of bytes a varint takes. */
export function varintLength(value: number): number {
  let length = 1;
  while (value >= 0x80) {
    value = Math.floor(value / 128);
    length++;
  }
  return length;
}

/** Writes a non-negative varint at `offset`; returns the new offset. */
export function writeVarint(out: Uint8Array, offset: number, value: number): number {
  while (value >= 0x80) {
    out[offset++] = (value & 0x7f) | 0x80;
    value = Math.floor(value / 128);
  }
  out[offset++] = value;
  return offset;
}

/** Accumulates fields of one message, then produces its bytes in one allocation. */
export class ProtoWriter {
  private readonly parts: { tag: number; bytes?: Uint8Array; varint?: number }[] = [];

  /** Adds a length-delimited field (bytes, string, or nested message). Skips undefined. */
  bytes(field: number, value: Uint8Array | undefined): this {
    if (value !== undefined) this.parts.push({ tag: (field << 3) | WireType.LengthDelimited, bytes: value });
    return this;
  }

  /** Adds a UTF-8 string field. Skips undefined. */
  string(field: number, value: string | undefined): this {
    return value === undefined ? this : this.bytes(field, Buffer.from(value, 'utf8'));
  }

  /** Adds a varint field (int32/int64/enum/bool). Skips undefined and zero (proto3 defaults). */
  varint(field: number, value: number | boolean | undefined): this {
    const numeric = typeof value === 'boolean' ? (value ? 1 : 0) : value;
    if (numeric !== undefined && numeric !== 0) {
      if (numeric < 0) {
        throw new RangeError('negative varints are not used by Flight messages');
      }
      this.parts.push({ tag: (field << 3) | WireType.Varint, varint: numeric });
    }
    return this;
  }

  /** Serialises the accumulated fields. */
  finish(): Buffer {
    let size = 0;
    for (const part of this.parts) {
      size += varintLength(part.tag);
      size += part.bytes ? varintLength(part.bytes.byteLength) + part.bytes.byteLength : varintLength(part.varint ?? 0);
    }
    const out = Buffer.allocUnsafe(size);
    let offset = 0;
    for (const part of this.parts) {
      offset = writeVarint(out, offset, part.tag);
      if (part.bytes) {
        offset = writeVarint(out, offset, part.bytes.byteLength);
        out.set(part.bytes, offset);
        offset += part.bytes.byteLength;
      } else {
        offset = writeVarint(out, offset, part.varint ?? 0);
      }
    }
    return out;
  }
}

/** One decoded field: its number and either a varint or a view of its bytes. */
export interface ProtoField {
  /** The field number. */
  readonly field: number;
  /** The wire type it arrived with. */
  readonly wireType: WireType;
  /** Set for varint fields. */
  readonly varint?: number;
  /** Set for length-delimited fields: a view into the input, not a copy. */
  readonly bytes?: Uint8Array;
}

/** The largest length a length-delimited field may declare (protobuf limits messages to 2 GiB - 1). */
const MAX_FIELD_LENGTH = 0x7fff_ffff;
/** The largest field number protobuf allows (2^29 - 1). */
const MAX_FIELD_NUMBER = 0x1fff_ffff;

/**
 * Iterates the fields of a serialised message. Length-delimited values are views into `input`.
 *
 * Spec checklist (protobuf encoding, docs/protocol.md "Protobuf decoding"): varints are at most 10
 * bytes; a tag's field number is 1..2^29-1; a length is read as unsigned and must fit both 2^31-1
 * and the bytes left; wire types 0, 1, 2 and 5 are skipped when unknown; groups (3, 4) and the
 * reserved types 6 and 7 are refused; truncated input is refused. Every field moves the read
 * position forward, so decoding ends after at most `input.byteLength` fields.
 * @throws InvalidArgumentError for truncated or malformed input
 */
export function* readFields(input: Uint8Array, messageName: string): Generator<ProtoField> {
  let offset = 0;
  const fail = (why: string): never => {
    throw new InvalidArgumentError(`malformed ${messageName} message: ${why}`);
  };
  // Varint values are read as int64: values past 2^53 go through BigInt so -1 (ten bytes) stays -1.
  const readVarint = (): number => {
    let result = 0;
    let multiplier = 1;
    for (let i = 0; i < 7; i++) {
      if (offset >= input.byteLength) fail('truncated varint');
      const byte = input[offset++]!;
      result += (byte & 0x7f) * multiplier;
      if (byte < 0x80) return result;
      multiplier *= 128;
    }
    return readLongVarintTail(result);
  };
  // Bytes 8 to 10 of a varint; the 10th may only carry the 64th bit.
  const readLongVarintTail = (low: number): number => {
    let value = BigInt(low);
    for (let shift = 49n; shift <= 63n; shift += 7n) {
      if (offset >= input.byteLength) fail('truncated varint');
      const byte = input[offset++]!;
      value += BigInt(byte & 0x7f) << shift;
      if (byte < 0x80) {
        if (shift === 63n && byte > 1) fail('varint overflows 64 bits');
        return Number(BigInt.asIntN(64, value));
      }
    }
    return fail('varint longer than 10 bytes');
  };
  // Tags and lengths are unsigned; a negative int64 reading of one is malformed, never a step back.
  const readUnsigned = (what: string, max: number): number => {
    const value = readVarint();
    if (value < 0 || value > max) fail(`${what} ${value} is out of range`);
    return value;
  };
  while (offset < input.byteLength) {
    const tag = readUnsigned('tag', 0xffff_ffff);
    const field = Math.floor(tag / 8);
    const wireType = tag & 7;
    if (field === 0 || field > MAX_FIELD_NUMBER) fail(`field number ${field}`);
    switch (wireType) {
      case WireType.Varint:
        yield { field, wireType, varint: readVarint() };
        break;
      case WireType.LengthDelimited: {
        const length = readUnsigned(`field ${field}'s length`, MAX_FIELD_LENGTH);
        if (length > input.byteLength - offset) fail(`field ${field} declares ${length} bytes past the end`);
        yield { field, wireType, bytes: input.subarray(offset, offset + length) };
        offset += length;
        break;
      }
      case WireType.Fixed64:
        if (offset + 8 > input.byteLength) fail('truncated fixed64');
        offset += 8;
        break;
      case WireType.Fixed32:
        if (offset + 4 > input.byteLength) fail('truncated fixed32');
        offset += 4;
        break;
      default:
        fail(`unsupported wire type ${wireType} in field ${field} (groups and reserved types are not accepted)`);
    }
  }
}
