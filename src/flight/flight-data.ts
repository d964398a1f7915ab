/**
 * The FlightData codec: the hot path. Encodes an IPC message as pieces that leave the body where it
 * lies (or into one buffer with a single copy of the body), and decodes incoming FlightData into
 * views of the received buffer (no body copy).
 */
import { type FlightDescriptor, decodeFlightDescriptor, encodeFlightDescriptor } from './flight-messages.js';
import { WireType, lengthDelimitedStart, readFields, varintLength, writeVarint } from './protobuf-wire.js';

/** One FlightData message: an IPC message plus the optional descriptor and app metadata. */
export interface FlightData {
  /** Present only on the first message of DoPut/DoExchange. */
  flightDescriptor?: FlightDescriptor;
  /** The bare IPC flatbuffer Message; empty for metadata-only messages. */
  dataHeader: Uint8Array;
  /** Application metadata. */
  appMetadata?: Uint8Array;
  /** The IPC body. */
  dataBody: Uint8Array;
}

const FIELD_DESCRIPTOR = 1;
const FIELD_HEADER = 2;
const FIELD_APP_METADATA = 3;
const FIELD_BODY = 1000;
const EMPTY = new Uint8Array(0);

function lengthDelimitedSize(field: number, length: number): number {
  return varintLength((field << 3) | WireType.LengthDelimited) + varintLength(length) + length;
}

function writeLengthDelimited(out: Uint8Array, offset: number, field: number, value: Uint8Array): number {
  offset = writeVarint(out, offset, (field << 3) | WireType.LengthDelimited);
  offset = writeVarint(out, offset, value.byteLength);
  out.set(value, offset);
  return offset + value.byteLength;
}

/** FlightData to encode; the body may come in pieces (e.g. views of an Arrow batch's buffers). */
export interface FlightDataInput extends Omit<FlightData, 'dataBody'> {
  /** The IPC body, whole or as pieces in order; pieces are gathered straight into the output. */
  dataBody: Uint8Array | readonly Uint8Array[];
}

/** The encoded size of FlightData, and its body pieces. */
function measure(data: FlightDataInput): { size: number; bodyParts: readonly Uint8Array[]; bodyLength: number; descriptor?: Uint8Array } {
  const bodyParts = data.dataBody instanceof Uint8Array ? [data.dataBody] : data.dataBody;
  let bodyLength = 0;
  for (const part of bodyParts) bodyLength += part.byteLength;
  const descriptor = data.flightDescriptor ? encodeFlightDescriptor(data.flightDescriptor) : undefined;
  let size = 0;
  if (descriptor) size += lengthDelimitedSize(FIELD_DESCRIPTOR, descriptor.byteLength);
  if (data.dataHeader.byteLength > 0) size += lengthDelimitedSize(FIELD_HEADER, data.dataHeader.byteLength);
  if (data.appMetadata && data.appMetadata.byteLength > 0) {
    size += lengthDelimitedSize(FIELD_APP_METADATA, data.appMetadata.byteLength);
  }
  if (bodyLength > 0) size += lengthDelimitedSize(FIELD_BODY, bodyLength);
  return { size, bodyParts, bodyLength, ...(descriptor ? { descriptor } : {}) };
}

/** Writes the fields before the body's bytes (the body's tag and length included); returns where the body starts. */
function writeLead(out: Uint8Array, data: FlightDataInput, measured: ReturnType<typeof measure>): number {
  let offset = 0;
  if (measured.descriptor) offset = writeLengthDelimited(out, offset, FIELD_DESCRIPTOR, measured.descriptor);
  if (data.dataHeader.byteLength > 0) offset = writeLengthDelimited(out, offset, FIELD_HEADER, data.dataHeader);
  if (data.appMetadata && data.appMetadata.byteLength > 0) {
    offset = writeLengthDelimited(out, offset, FIELD_APP_METADATA, data.appMetadata);
  }
  if (measured.bodyLength > 0) {
    offset = writeVarint(out, offset, (FIELD_BODY << 3) | WireType.LengthDelimited);
    offset = writeVarint(out, offset, measured.bodyLength);
  }
  return offset;
}

/** Encodes FlightData into one freshly allocated buffer: each byte of the body is copied once. */
export function encodeFlightData(data: FlightDataInput): Buffer {
  const measured = measure(data);
  const out = Buffer.allocUnsafe(measured.size);
  let offset = writeLead(out, data, measured);
  for (const part of measured.bodyParts) {
    out.set(part, offset);
    offset += part.byteLength;
  }
  return out;
}

/**
 * Encodes FlightData as pieces that, sent in order, are its encoding: the fields before the body in
 * one small new buffer, then the body's own pieces, not copied. The body is last on the wire, so a
 * transport can write it from where it lies; it must not change until written.
 */
export function encodeFlightDataPieces(data: FlightDataInput): Uint8Array[] {
  const measured = measure(data);
  const lead = Buffer.allocUnsafe(measured.size - measured.bodyLength);
  writeLead(lead, data, measured);
  return measured.bodyLength > 0 ? [lead, ...measured.bodyParts.filter((part) => part.byteLength > 0)] : [lead];
}

/** Decodes FlightData; header, metadata and body are views into `bytes`. */
export function decodeFlightData(bytes: Uint8Array): FlightData {
  const data: FlightData = { dataHeader: EMPTY, dataBody: EMPTY };
  for (const f of readFields(bytes, 'FlightData')) {
    if (f.field === FIELD_DESCRIPTOR && f.bytes) data.flightDescriptor = decodeFlightDescriptor(f.bytes);
    else if (f.field === FIELD_HEADER && f.bytes) data.dataHeader = f.bytes;
    else if (f.field === FIELD_APP_METADATA && f.bytes) data.appMetadata = f.bytes;
    else if (f.field === FIELD_BODY && f.bytes) data.dataBody = f.bytes;
  }
  return data;
}

/**
 * Where a FlightData's IPC body starts in its encoding, read from the encoding's first bytes
 * (the body is the last field as writers send it); `undefined` when those bytes do not reach the
 * body's tag and length, or are not FlightData's fields.
 */
export function flightDataBodyOffset(lead: Uint8Array): number | undefined {
  return lengthDelimitedStart(lead, FIELD_BODY);
}

/**
 * Where a received FlightData should lie in its buffer so its IPC body starts 8-byte aligned: Arrow
 * reads an aligned body's columns in place, a misaligned one it copies (pyarrow's bodies arrive at
 * an offset of 1 mod 8). A MessagePlacement for the transport's deframer.
 */
export function alignFlightDataBody(lead: Uint8Array): number {
  const offset = flightDataBodyOffset(lead);
  return offset === undefined ? 0 : (8 - (offset % 8)) % 8;
}
