/**
 * Flight's protobuf messages (format/Flight.proto, package arrow.flight.protocol) as plain
 * TypeScript objects with hand-written encoders and decoders. Field numbers follow the spec.
 */
import { ProtoWriter, readFields } from './protobuf-wire.js';

const utf8 = new TextDecoder('utf-8');
const text = (bytes: Uint8Array | undefined): string => (bytes ? utf8.decode(bytes) : '');

/** FlightDescriptor.DescriptorType. */
export enum DescriptorType {
  Unknown = 0,
  Path = 1,
  Cmd = 2,
}

/** Identifies a dataset: an opaque command or a path of strings. */
export interface FlightDescriptor {
  /** PATH or CMD. */
  type: DescriptorType;
  /** The command bytes (CMD). */
  cmd?: Uint8Array;
  /** The path segments (PATH). */
  path?: string[];
}

/** Where a stream can be fetched. */
export interface Location {
  /** A URI such as grpc://127.0.0.1:8815. */
  uri: string;
}

/** An opaque token DoGet redeems. */
export interface Ticket {
  /** The ticket bytes. */
  ticket: Uint8Array;
}

/** One place (and ticket) to fetch part of a dataset. */
export interface FlightEndpoint {
  /** The ticket to hand to DoGet. */
  ticket?: Ticket;
  /** Where to call DoGet; empty means "this server". */
  location?: Location[];
  /** Application metadata. */
  appMetadata?: Uint8Array;
}

/** Describes a dataset: schema, endpoints, sizes. */
export interface FlightInfo {
  /** Encapsulated IPC schema message. */
  schema: Uint8Array;
  /** The descriptor this info answers. */
  flightDescriptor?: FlightDescriptor;
  /** The endpoints to DoGet from. */
  endpoint: FlightEndpoint[];
  /** Row count, or -1 when unknown. */
  totalRecords: number;
  /** Byte size, or -1 when unknown. */
  totalBytes: number;
  /** Whether endpoints are ordered. */
  ordered?: boolean;
  /** Application metadata. */
  appMetadata?: Uint8Array;
}

/** An action request: a type name and an opaque body. */
export interface Action {
  /** The action's name. */
  type: string;
  /** The action's argument bytes. */
  body: Uint8Array;
}

/** One result of an action. */
export interface ActionResult {
  /** The result bytes. */
  body: Uint8Array;
}

/** An action the server offers. */
export interface ActionType {
  /** The action's name. */
  type: string;
  /** What it does. */
  description: string;
}

/** A Handshake message in either direction. */
export interface HandshakeMessage {
  /** Protocol version (unused by Hangar). */
  protocolVersion: number;
  /** Auth payload. */
  payload: Uint8Array;
}

/** The criteria of ListFlights. */
export interface Criteria {
  /** Opaque filter expression. */
  expression: Uint8Array;
}

function encodeDescriptorTo(descriptor: FlightDescriptor): Buffer {
  const writer = new ProtoWriter().varint(1, descriptor.type).bytes(2, descriptor.cmd);
  for (const segment of descriptor.path ?? []) writer.string(3, segment);
  return writer.finish();
}

/** Encodes a FlightDescriptor. */
export function encodeFlightDescriptor(descriptor: FlightDescriptor): Buffer {
  return encodeDescriptorTo(descriptor);
}

/** Decodes a FlightDescriptor. */
export function decodeFlightDescriptor(bytes: Uint8Array): FlightDescriptor {
  const descriptor: FlightDescriptor = { type: DescriptorType.Unknown };
  for (const f of readFields(bytes, 'FlightDescriptor')) {
    if (f.field === 1) descriptor.type = f.varint ?? 0;
    else if (f.field === 2) descriptor.cmd = f.bytes;
    else if (f.field === 3) (descriptor.path ??= []).push(text(f.bytes));
  }
  return descriptor;
}

/** Encodes a Ticket. */
export function encodeTicket(ticket: Ticket): Buffer {
  return new ProtoWriter().bytes(1, ticket.ticket).finish();
}

/** Decodes a Ticket. */
export function decodeTicket(bytes: Uint8Array): Ticket {
  let ticket: Uint8Array = new Uint8Array(0);
  for (const f of readFields(bytes, 'Ticket')) if (f.field === 1 && f.bytes) ticket = f.bytes;
  return { ticket };
}

function encodeEndpoint(endpoint: FlightEndpoint): Buffer {
  const writer = new ProtoWriter();
  if (endpoint.ticket) writer.bytes(1, encodeTicket(endpoint.ticket));
  for (const location of endpoint.location ?? []) writer.bytes(2, new ProtoWriter().string(1, location.uri).finish());
  return writer.bytes(4, endpoint.appMetadata).finish();
}

function decodeEndpoint(bytes: Uint8Array): FlightEndpoint {
  const endpoint: FlightEndpoint = { location: [] };
  for (const f of readFields(bytes, 'FlightEndpoint')) {
    if (f.field === 1 && f.bytes) endpoint.ticket = decodeTicket(f.bytes);
    else if (f.field === 2 && f.bytes) {
      let uri = '';
      for (const g of readFields(f.bytes, 'Location')) if (g.field === 1) uri = text(g.bytes);
      endpoint.location!.push({ uri });
    } else if (f.field === 4) endpoint.appMetadata = f.bytes;
  }
  return endpoint;
}

/** Encodes a FlightInfo. total_records/total_bytes are int64 and may be -1 (two's complement). */
export function encodeFlightInfo(info: FlightInfo): Buffer {
  const writer = new ProtoWriter().bytes(1, info.schema);
  if (info.flightDescriptor) writer.bytes(2, encodeFlightDescriptor(info.flightDescriptor));
  for (const endpoint of info.endpoint) writer.bytes(3, encodeEndpoint(endpoint));
  const head = writer.finish();
  const tail = new ProtoWriter().varint(6, info.ordered).bytes(7, info.appMetadata).finish();
  return Buffer.concat([head, encodeInt64Field(4, info.totalRecords), encodeInt64Field(5, info.totalBytes), tail]);
}

/** Encodes an int64 varint field, including negative values as 10-byte two's complement. */
function encodeInt64Field(field: number, value: number): Buffer {
  if (value === 0) return Buffer.alloc(0);
  const tag = field << 3;
  let big = BigInt.asUintN(64, BigInt(value));
  const bytes = [tag];
  do {
    let byte = Number(big & 0x7fn);
    big >>= 7n;
    if (big !== 0n) byte |= 0x80;
    bytes.push(byte);
  } while (big !== 0n);
  return Buffer.from(bytes);
}

/** Decodes a FlightInfo. */
export function decodeFlightInfo(bytes: Uint8Array): FlightInfo {
  const info: FlightInfo = { schema: new Uint8Array(0), endpoint: [], totalRecords: -1, totalBytes: -1 };
  for (const f of readFields(bytes, 'FlightInfo')) {
    if (f.field === 1 && f.bytes) info.schema = f.bytes;
    else if (f.field === 2 && f.bytes) info.flightDescriptor = decodeFlightDescriptor(f.bytes);
    else if (f.field === 3 && f.bytes) info.endpoint.push(decodeEndpoint(f.bytes));
    else if (f.field === 4) info.totalRecords = f.varint ?? 0;
    else if (f.field === 5) info.totalBytes = f.varint ?? 0;
    else if (f.field === 6) info.ordered = f.varint === 1;
    else if (f.field === 7) info.appMetadata = f.bytes;
  }
  return info;
}

/** Encodes a SchemaResult. */
export function encodeSchemaResult(schema: Uint8Array): Buffer {
  return new ProtoWriter().bytes(1, schema).finish();
}

/** Decodes a SchemaResult into the encapsulated schema bytes. */
export function decodeSchemaResult(bytes: Uint8Array): Uint8Array {
  for (const f of readFields(bytes, 'SchemaResult')) if (f.field === 1 && f.bytes) return f.bytes;
  return new Uint8Array(0);
}

/** Encodes an Action. */
export function encodeAction(action: Action): Buffer {
  return new ProtoWriter().string(1, action.type).bytes(2, action.body).finish();
}

/** Decodes an Action. */
export function decodeAction(bytes: Uint8Array): Action {
  const action: Action = { type: '', body: new Uint8Array(0) };
  for (const f of readFields(bytes, 'Action')) {
    if (f.field === 1) action.type = text(f.bytes);
    else if (f.field === 2 && f.bytes) action.body = f.bytes;
  }
  return action;
}

/** Encodes a Result. */
export function encodeResult(result: ActionResult): Buffer {
  return new ProtoWriter().bytes(1, result.body).finish();
}

/** Decodes a Result. */
export function decodeResult(bytes: Uint8Array): ActionResult {
  for (const f of readFields(bytes, 'Result')) if (f.field === 1 && f.bytes) return { body: f.bytes };
  return { body: new Uint8Array(0) };
}

/** Encodes an ActionType. */
export function encodeActionType(action: ActionType): Buffer {
  return new ProtoWriter().string(1, action.type).string(2, action.description).finish();
}

/** Decodes an ActionType. */
export function decodeActionType(bytes: Uint8Array): ActionType {
  const action: ActionType = { type: '', description: '' };
  for (const f of readFields(bytes, 'ActionType')) {
    if (f.field === 1) action.type = text(f.bytes);
    else if (f.field === 2) action.description = text(f.bytes);
  }
  return action;
}

/**
 * Encodes a HandshakeRequest or HandshakeResponse (same layout). protocol_version is a uint64 the
 * reader returns as int64, so a version past 2^63 (read as negative) is written back as it came:
 * ten bytes of two's complement (found by the protocol fuzzer: the echo used to fail with INTERNAL).
 */
export function encodeHandshake(message: HandshakeMessage): Buffer {
  const payload = new ProtoWriter().bytes(2, message.payload).finish();
  if (message.protocolVersion < 0) return Buffer.concat([encodeInt64Field(1, message.protocolVersion), payload]);
  return Buffer.concat([new ProtoWriter().varint(1, message.protocolVersion).finish(), payload]);
}

/** Decodes a HandshakeRequest or HandshakeResponse. */
export function decodeHandshake(bytes: Uint8Array): HandshakeMessage {
  const message: HandshakeMessage = { protocolVersion: 0, payload: new Uint8Array(0) };
  for (const f of readFields(bytes, 'Handshake')) {
    if (f.field === 1) message.protocolVersion = f.varint ?? 0;
    else if (f.field === 2 && f.bytes) message.payload = f.bytes;
  }
  return message;
}

/** Encodes Criteria. */
export function encodeCriteria(criteria: Criteria): Buffer {
  return new ProtoWriter().bytes(1, criteria.expression).finish();
}

/** Decodes Criteria. */
export function decodeCriteria(bytes: Uint8Array): Criteria {
  for (const f of readFields(bytes, 'Criteria')) if (f.field === 1 && f.bytes) return { expression: f.bytes };
  return { expression: new Uint8Array(0) };
}

/** Encodes a PutResult. */
export function encodePutResult(appMetadata: Uint8Array | undefined): Buffer {
  return new ProtoWriter().bytes(1, appMetadata).finish();
}

/** Decodes a PutResult into its app_metadata. */
export function decodePutResult(bytes: Uint8Array): Uint8Array {
  for (const f of readFields(bytes, 'PutResult')) if (f.field === 1 && f.bytes) return f.bytes;
  return new Uint8Array(0);
}

/** The empty message. */
export const EMPTY_MESSAGE = Buffer.alloc(0);
