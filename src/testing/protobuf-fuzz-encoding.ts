/**
 * Protobuf messages as the fuzzers build them: a tree of fields that can say anything the wire
 * format can (every wire type, padded and overlong varints, lying lengths, deep nesting), the
 * encoder that writes it byte for byte, and the mutators that make valid messages hostile.
 */
import type { FuzzRandom } from './fuzz-random.js';

/** A field's value, by how it is written on the wire. */
export type FuzzValue =
  /** Wire type 0; the value is taken modulo 2^64, so -1n is the 10-byte two's complement. */
  | { readonly kind: 'varint'; readonly value: bigint; readonly padTo?: number }
  /** Wire type 0 with its bytes given verbatim (e.g. 11 bytes, or a 10th byte over 1). */
  | { readonly kind: 'raw-varint'; readonly bytes: Uint8Array }
  /** Wire type 2 with opaque contents. */
  | { readonly kind: 'bytes'; readonly value: Uint8Array }
  /** Wire type 2 holding a nested message. */
  | { readonly kind: 'message'; readonly fields: readonly FuzzField[] }
  /** `depth` nested wire-type-2 fields `field`, the innermost holding `inner`. */
  | { readonly kind: 'nested'; readonly depth: number; readonly inner: Uint8Array }
  /** Wire type 3 … 4: a group of fields, closed or (unterminated) not. */
  | { readonly kind: 'group'; readonly fields: readonly FuzzField[]; readonly unterminated?: boolean }
  /** `depth` nested groups (start tags, then as many end tags unless unterminated). */
  | { readonly kind: 'deep-group'; readonly depth: number; readonly unterminated?: boolean }
  /** Wire type 1 (8 bytes) or 5 (4 bytes); `bytes` may be short, to truncate. */
  | { readonly kind: 'fixed64' | 'fixed32'; readonly bytes: Uint8Array }
  /** Any wire type (4 = a lone END_GROUP, 6, 7 = reserved), followed by `bytes` verbatim. */
  | { readonly kind: 'raw'; readonly wireType: number; readonly bytes: Uint8Array };

/** One field: its number (anything, 0 and past 2^29 included), its value, and encoding quirks. */
export interface FuzzField {
  /** The field number written in the tag (bigint so tags past 32 bits can be written). */
  readonly field: bigint;
  /** The value. */
  readonly value: FuzzValue;
  /** Write the tag as a varint of this many bytes (non-minimal; over 10 is malformed). */
  readonly tagPadTo?: number;
  /** For wire type 2: declare this length instead of the real one (taken modulo 2^64). */
  readonly declaredLength?: bigint;
  /** For wire type 2: write the length as a varint of this many bytes. */
  readonly lengthPadTo?: number;
}

/** A varint field. */
export const varintField = (field: number, value: bigint | number): FuzzField => ({ field: BigInt(field), value: { kind: 'varint', value: BigInt(value) } });
/** A length-delimited field with opaque bytes. */
export const bytesField = (field: number, value: Uint8Array): FuzzField => ({ field: BigInt(field), value: { kind: 'bytes', value } });
/** A length-delimited UTF-8 string field. */
export const stringField = (field: number, value: string): FuzzField => bytesField(field, Buffer.from(value, 'utf8'));
/** A nested message field. */
export const messageField = (field: number, fields: readonly FuzzField[]): FuzzField => ({ field: BigInt(field), value: { kind: 'message', fields } });

const U64 = (value: bigint): bigint => BigInt.asUintN(64, value);

/** Appends a varint: `value` modulo 2^64, minimal unless `padTo` asks for more bytes. */
export function pushVarint(out: number[], value: bigint | number, padTo = 0): void {
  const start = out.length;
  if (typeof value === 'number' && Number.isSafeInteger(value) && value >= 0) {
    // The common case without BigInt: lengths and small values.
    let v = value;
    do {
      out.push(v % 128);
      v = Math.floor(v / 128);
    } while (v > 0);
  } else {
    let v = U64(BigInt(value));
    do {
      out.push(Number(v & 0x7fn));
      v >>= 7n;
    } while (v > 0n);
  }
  while (out.length - start < padTo) out.push(0);
  for (let i = start; i < out.length - 1; i++) out[i]! |= 0x80;
}

/** The bytes of a varint (`value` modulo 2^64, so -1n is the 10-byte two's complement a hostile client may send). */
export function varintBytes(value: bigint | number): number[] {
  const out: number[] = [];
  pushVarint(out, value);
  return out;
}

/** The wire type a value is written with. */
function wireTypeOf(value: FuzzValue): number {
  switch (value.kind) {
    case 'varint':
    case 'raw-varint':
      return 0;
    case 'fixed64':
      return 1;
    case 'bytes':
    case 'message':
    case 'nested':
      return 2;
    case 'group':
    case 'deep-group':
      return 3;
    case 'fixed32':
      return 5;
    case 'raw':
      return value.wireType;
  }
}

/** Bytes built from number arrays and large views, concatenated once. */
class ByteSink {
  private readonly pieces: Uint8Array[] = [];
  private small: number[] = [];

  get bytes(): number[] {
    return this.small;
  }

  add(piece: Uint8Array): void {
    if (piece.byteLength < 64) {
      for (const byte of piece) this.small.push(byte);
      return;
    }
    this.flush();
    this.pieces.push(piece);
  }

  flush(): void {
    if (this.small.length > 0) this.pieces.push(Uint8Array.from(this.small));
    this.small = [];
  }

  finish(): Uint8Array {
    this.flush();
    return Buffer.concat(this.pieces);
  }
}

function tag(field: bigint, wireType: number): bigint {
  return (U64(field) << 3n) | BigInt(wireType & 7);
}

function writeField(sink: ByteSink, f: FuzzField): void {
  const { value } = f;
  pushVarint(sink.bytes, tag(f.field, wireTypeOf(value)), f.tagPadTo);
  switch (value.kind) {
    case 'varint':
      pushVarint(sink.bytes, value.value, value.padTo);
      return;
    case 'raw-varint':
    case 'fixed64':
    case 'fixed32':
    case 'raw':
      sink.add(value.bytes);
      return;
    case 'bytes':
    case 'message': {
      const content = value.kind === 'bytes' ? value.value : encodeFields(value.fields);
      pushVarint(sink.bytes, f.declaredLength ?? content.byteLength, f.lengthPadTo);
      sink.add(content);
      return;
    }
    case 'nested': {
      // Built outside in without recursion: level k's length is that of everything inside it.
      const levelTag = varintBytes(tag(f.field, 2));
      const lengths: number[] = new Array<number>(value.depth);
      let inner = value.inner.byteLength;
      for (let level = value.depth - 1; level >= 0; level--) {
        lengths[level] = inner;
        inner += varintBytes(inner).length + levelTag.length;
      }
      pushVarint(sink.bytes, f.declaredLength ?? inner, f.lengthPadTo);
      const out = new Uint8Array(inner);
      let at = 0;
      for (let level = 0; level < value.depth; level++) {
        out.set(levelTag, at);
        at += levelTag.length;
        const length = varintBytes(lengths[level]!);
        out.set(length, at);
        at += length.length;
      }
      out.set(value.inner, at);
      sink.add(out);
      return;
    }
    case 'group':
      for (const inner of value.fields) writeField(sink, inner);
      if (!value.unterminated) pushVarint(sink.bytes, tag(f.field, 4));
      return;
    case 'deep-group': {
      const start = varintBytes(tag(f.field, 3));
      const end = varintBytes(tag(f.field, 4));
      const out = new Uint8Array((value.depth - 1) * start.length + (value.unterminated ? 0 : value.depth * end.length));
      let at = 0;
      for (let level = 1; level < value.depth; level++, at += start.length) out.set(start, at);
      if (!value.unterminated) for (let level = 0; level < value.depth; level++, at += end.length) out.set(end, at);
      sink.add(out);
      return;
    }
  }
}

/** Writes fields in order, exactly as described (no validation: that is the point). */
export function encodeFields(fields: readonly FuzzField[]): Uint8Array {
  const sink = new ByteSink();
  for (const f of fields) writeField(sink, f);
  return sink.finish();
}

/** Byte sequences that are not UTF-8: stray continuation, overlong, surrogate, cut, out of range. */
export const INVALID_UTF8: readonly (readonly number[])[] = [[0xff], [0x80], [0xc0, 0x80], [0xed, 0xa0, 0x80], [0xe2, 0x82], [0xf4, 0x90, 0x80, 0x80], [0xf8, 0x88, 0x80, 0x80, 0x80], [0xfe, 0xfe, 0xff, 0xff]];

/** Inserts an invalid UTF-8 sequence at a random position. */
export function withInvalidUtf8(random: FuzzRandom, bytes: Uint8Array): Uint8Array {
  const at = random.int(bytes.byteLength + 1);
  return Buffer.concat([bytes.subarray(0, at), Uint8Array.from(random.pick(INVALID_UTF8)), bytes.subarray(at)]);
}

/** Lengths a hostile client may declare: negative (10-byte varints), past the end, past 2^31, 2^64 - 1. */
function hostileLength(random: FuzzRandom, real: number): bigint {
  return random.pick<() => bigint>([
    () => -1n,
    () => -11n,
    () => -BigInt(random.between(1, 1 << 20)),
    () => -(2n ** 31n),
    () => -(2n ** 63n),
    () => BigInt(real + 1),
    () => BigInt(real + random.between(2, 1 << 16)),
    () => BigInt(Math.max(0, real - random.between(1, 8))),
    () => 2n ** 31n - 1n,
    () => 2n ** 31n,
    () => 2n ** 32n + BigInt(real),
    () => 2n ** 53n + 1n,
    () => 2n ** 63n - 1n,
    () => 2n ** 64n - 1n,
  ])();
}

/** Varint values at the edges: 2^64 - 1 (= -1 as int64), 2^63, 2^53 + 1, 2^32, 2^31, … */
function hostileVarint(random: FuzzRandom): FuzzValue {
  if (random.chance(0.2)) {
    // Malformed on purpose: eleven bytes, or a tenth byte carrying more than the 64th bit.
    return random.chance(0.5)
      ? { kind: 'raw-varint', bytes: Uint8Array.from([...new Array<number>(10).fill(0xff), 0x01]) }
      : { kind: 'raw-varint', bytes: Uint8Array.from([...new Array<number>(9).fill(0xff), random.between(2, 0x7f)]) };
  }
  const value = random.pick([-1n, -2n, 2n ** 63n, 2n ** 63n - 1n, 2n ** 53n + 1n, 2n ** 32n, 2n ** 32n - 1n, 2n ** 31n, 2n ** 31n - 1n, 3n, 255n, 0n]);
  return { kind: 'varint', value, ...(random.chance(0.3) ? { padTo: random.between(1, 11) } : {}) };
}

/** Field numbers a hostile client may use: unknown ones, 0, the largest legal, past it, past 32 bits. */
function hostileFieldNumber(random: FuzzRandom): bigint {
  return random.pick<() => bigint>([
    () => BigInt(random.between(1, 20)),
    () => BigInt(random.between(21, 100_000)),
    () => 0n,
    () => 2n ** 29n - 1n,
    () => 2n ** 29n,
    () => 2n ** 32n,
    () => 2n ** 61n - 1n,
    () => 1000n,
  ])();
}

/** A value of any wire type 0–7, well-formed for its type or not. */
export function anyValue(random: FuzzRandom, depth = 0): FuzzValue {
  switch (random.int(8)) {
    case 0:
      return random.chance(0.5) ? { kind: 'varint', value: BigInt(random.int(1000)) } : hostileVarint(random);
    case 1:
      return { kind: 'fixed64', bytes: random.bytes(random.chance(0.8) ? 8 : random.int(8)) };
    case 2:
      return depth < 3 && random.chance(0.3) ? { kind: 'message', fields: anyFields(random, depth + 1) } : { kind: 'bytes', value: random.bytes(random.size(64)) };
    case 3:
      return random.chance(0.3)
        ? { kind: 'deep-group', depth: random.between(1, 20_000), unterminated: random.chance(0.3) }
        : { kind: 'group', fields: depth < 3 ? anyFields(random, depth + 1) : [], unterminated: random.chance(0.3) };
    case 4:
      return { kind: 'raw', wireType: 4, bytes: random.bytes(random.size(8)) };
    case 5:
      return { kind: 'fixed32', bytes: random.bytes(random.chance(0.8) ? 4 : random.int(4)) };
    default:
      return { kind: 'raw', wireType: random.pick([6, 7]), bytes: random.bytes(random.size(8)) };
  }
}

/** A few fields of any numbers and wire types. */
function anyFields(random: FuzzRandom, depth: number): FuzzField[] {
  return Array.from({ length: random.int(4) }, () => ({ field: hostileFieldNumber(random), value: anyValue(random, depth) }));
}

/** What a structural mutation may do, by name (the names go into failure reports). */
export const STRUCTURAL_MUTATIONS = ['duplicate', 'unknown-field', 'wrong-wire-type', 'lying-length', 'padded-varint', 'huge-varint', 'deep-nesting', 'drop', 'invalid-utf8', 'reorder'] as const;

/**
 * Applies one structural mutation to a message's fields (recursing into nested messages at
 * random); appends what it did to `log`.
 */
export function mutateFields(random: FuzzRandom, fields: readonly FuzzField[], log: string[]): FuzzField[] {
  const out = [...fields];
  const at = random.int(out.length + 1);
  const target = out.length > 0 ? random.int(out.length) : -1;
  const chosen = target >= 0 ? out[target]! : undefined;
  if (chosen?.value.kind === 'message' && random.chance(0.35)) {
    log.push(`inside field ${chosen.field}:`);
    out[target] = { ...chosen, value: { kind: 'message', fields: mutateFields(random, chosen.value.fields, log) } };
    return out;
  }
  const mutation = random.pick(STRUCTURAL_MUTATIONS);
  log.push(mutation);
  switch (mutation) {
    case 'duplicate':
      if (chosen) out.splice(at, 0, random.chance(0.5) ? chosen : { field: chosen.field, value: anyValue(random) });
      break;
    case 'unknown-field':
      out.splice(at, 0, { field: hostileFieldNumber(random), value: anyValue(random) });
      break;
    case 'wrong-wire-type':
      if (chosen) out[target] = { field: chosen.field, value: anyValue(random) };
      break;
    case 'lying-length': {
      const lengthDelimited = out.map((f, i) => [f, i] as const).filter(([f]) => wireTypeOf(f.value) === 2);
      if (lengthDelimited.length === 0) {
        out.splice(at, 0, { field: hostileFieldNumber(random), value: { kind: 'bytes', value: random.bytes(random.size(16)) }, declaredLength: hostileLength(random, 0) });
        break;
      }
      const [f, i] = random.pick(lengthDelimited);
      const real = f.value.kind === 'bytes' ? f.value.value.byteLength : 0;
      out[i] = { ...f, declaredLength: hostileLength(random, real), ...(random.chance(0.3) ? { lengthPadTo: random.between(1, 11) } : {}) };
      break;
    }
    case 'padded-varint':
      if (chosen) {
        // Non-minimal varints up to 10 bytes are legal protobuf; 11 are not.
        const padTo = random.chance(0.8) ? 10 : random.between(2, 11);
        out[target] = random.chance(0.5) ? { ...chosen, tagPadTo: padTo } : chosen.value.kind === 'varint' ? { ...chosen, value: { ...chosen.value, padTo } } : { ...chosen, lengthPadTo: padTo };
      }
      break;
    case 'huge-varint':
      if (chosen && random.chance(0.6)) out[target] = { field: chosen.field, value: hostileVarint(random) };
      else out.splice(at, 0, { field: hostileFieldNumber(random), value: hostileVarint(random) });
      break;
    case 'deep-nesting': {
      const field = chosen?.field ?? hostileFieldNumber(random);
      const depth = random.chance(0.8) ? random.between(2, 1000) : random.between(1000, 100_000);
      const value: FuzzValue = random.chance(0.7) ? { kind: 'nested', depth, inner: random.bytes(random.size(16)) } : { kind: 'deep-group', depth, unterminated: random.chance(0.5) };
      if (chosen) out[target] = { field, value };
      else out.splice(at, 0, { field, value });
      break;
    }
    case 'drop':
      if (chosen) out.splice(target, 1);
      break;
    case 'invalid-utf8':
      if (chosen?.value.kind === 'bytes') out[target] = { ...chosen, value: { kind: 'bytes', value: withInvalidUtf8(random, chosen.value.value) } };
      break;
    case 'reorder':
      out.reverse();
      break;
  }
  return out;
}

/** What a byte-level mutation may do, by name. */
export const BYTE_MUTATIONS = ['truncate', 'flip', 'insert', 'append', 'random'] as const;

/** Applies one byte-level mutation to encoded bytes; appends what it did to `log`. */
export function mutateBytes(random: FuzzRandom, input: Uint8Array, log: string[]): Uint8Array {
  const mutation = random.pick(BYTE_MUTATIONS);
  const bytes = Buffer.from(input);
  switch (mutation) {
    case 'truncate': {
      const at = random.int(bytes.byteLength + 1);
      log.push(`truncate at ${at}`);
      return bytes.subarray(0, at);
    }
    case 'flip': {
      const count = random.between(1, 8);
      log.push(`flip ${count}`);
      if (bytes.byteLength > 0) for (let i = 0; i < count; i++) bytes[random.int(bytes.byteLength)] = random.int(256);
      return bytes;
    }
    case 'insert': {
      const at = random.int(bytes.byteLength + 1);
      log.push(`insert at ${at}`);
      const junk = random.chance(0.5) ? random.bytes(random.between(1, 16)) : Uint8Array.from(random.pick([[0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01], [0x0a, 0xf5, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01], [0x80, 0x80, 0x80], [0x0b], [0x0c], [0x0e], [0x0f]]));
      return Buffer.concat([bytes.subarray(0, at), junk, bytes.subarray(at)]);
    }
    case 'append':
      log.push('append');
      return Buffer.concat([bytes, random.bytes(random.between(1, 32))]);
    case 'random':
      log.push('random');
      return random.bytes(random.size(128));
  }
}
