/**
 * The protobuf wire format as Flight's messages need it: a small writer of varint and
 * length-delimited fields (so FlightData bodies are never copied; see flight-data.ts) and a field
 * reader over @bufbuild/protobuf's BinaryReader.
 */
import { BinaryReader, WireType } from '@bufbuild/protobuf/wire';
import { InvalidArgumentError } from '../errors.js';

/** Protobuf wire types (the library's enum: Varint 0, Bit64 1, LengthDelimited 2, StartGroup 3, EndGroup 4, Bit32 5). */
export { WireType };

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

/**
 * Reads the fields of a serialised message with @bufbuild/protobuf's BinaryReader (bytes fields
 * come back as views into `input`, not copies). Decoding moved to the library after an A/B
 * (bench/protobuf_decode.mjs, docs/design/protobuf-decoding.md): it was faster than the
 * hand-written generator it replaced, and the hand-written one had looped forever on a negative
 * length. What the reader guarantees, per the protobuf encoding spec:
 * - tags are uint32 varints with a field number >= 1 and a wire type 0-5; anything else is refused;
 * - a length is an unsigned varint and must fit the bytes left (so never moves backwards);
 * - unknown fields of every wire type are skipped (groups to a nesting depth of 100);
 * - truncated input is refused.
 * @throws InvalidArgumentError for truncated or malformed input, naming the message
 */
export function readFields(input: Uint8Array, messageName: string): ProtoField[] {
  const fields: ProtoField[] = [];
  const reader = new BinaryReader(input);
  try {
    while (reader.pos < reader.len) {
      const [field, wireType] = reader.tag();
      if (wireType === WireType.Varint) fields.push({ field, wireType, varint: Number(reader.int64()) });
      else if (wireType === WireType.LengthDelimited) fields.push({ field, wireType, bytes: reader.bytes() });
      else if (wireType === WireType.EndGroup) throw new Error(`end of group ${field} without its start`);
      else reader.skip(wireType, field);
    }
  } catch (error) {
    if (error instanceof InvalidArgumentError) throw error;
    const why = error instanceof RangeError ? 'a field runs past the end (truncated input, or a negative or oversized length)' : (error as Error).message;
    throw new InvalidArgumentError(`malformed ${messageName} message: ${why}`, { cause: error });
  }
  return fields;
}

/**
 * Where the bytes of length-delimited field `field` start in the leading bytes of a serialised
 * message (the fields before it skipped with the same BinaryReader as {@link readFields});
 * `undefined` when the lead ends before that field's length, or holds a wire type other than
 * varint and length-delimited before it.
 */
export function lengthDelimitedStart(lead: Uint8Array, field: number): number | undefined {
  const reader = new BinaryReader(lead);
  try {
    while (reader.pos < reader.len) {
      const [number, wireType] = reader.tag();
      if (wireType !== WireType.Varint && wireType !== WireType.LengthDelimited) return undefined;
      if (number === field && wireType === WireType.LengthDelimited) {
        reader.uint32();
        return reader.pos;
      }
      reader.skip(wireType, number);
    }
  } catch {
    // The lead ends inside a field before it (a RangeError), or is not such a message.
  }
  return undefined;
}
