/**
 * Arrow IPC messages as Hangar moves them: a flatbuffer header plus a body, never decoded into
 * JavaScript vectors on the data path. Converts between IPC streams (the encapsulated framing)
 * and message lists, and reads the few header facts the engine needs.
 */
import { assertSafeIpcHeader } from './ipc-header-guard.js';
import { Message, MessageHeader, Schema, Table, tableToIPC } from 'apache-arrow';
import { InvalidArgumentError } from '../errors.js';

/** One IPC message: the bare flatbuffer `Message` and its body (padded buffers). */
export interface IpcMessage {
  /** The flatbuffer-encoded `Message` (no continuation marker, no length prefix). */
  readonly header: Uint8Array;
  /** The message body; empty for schema messages. */
  readonly body: Uint8Array;
}

/** What the engine needs to know about a message without decoding its body. */
export type IpcMessageInfo =
  | { readonly kind: 'schema'; readonly schema: Schema }
  | { readonly kind: 'dictionary'; readonly id: number; readonly isDelta: boolean; readonly bodyLength: number }
  | { readonly kind: 'batch'; readonly rows: number; readonly bodyLength: number; readonly decoded: Message };

const CONTINUATION = 0xffffffff;
const EMPTY = new Uint8Array(0);

/**
 * Reads the type and key facts of a message header, checking that the header is well-formed and the
 * body is as long as the header says and holds every buffer the header lists.
 *
 * @throws InvalidArgumentError for malformed or inconsistent messages
 */
export function inspectMessage(message: IpcMessage): IpcMessageInfo {
  let decoded: Message;
  // apache-arrow trusts vector lengths in the header; a hostile one would exhaust memory.
  assertSafeIpcHeader(message.header);
  try {
    decoded = Message.decode(message.header);
  } catch (error) {
    throw new InvalidArgumentError(`malformed IPC message header: ${(error as Error).message}`, { cause: error });
  }
  try {
    const bodyLength = Number(decoded.bodyLength);
    if (!Number.isSafeInteger(bodyLength) || bodyLength < 0) {
      throw new InvalidArgumentError(`IPC message declares an invalid body length ${decoded.bodyLength}`);
    }
    if (decoded.isSchema()) return { kind: 'schema', schema: decoded.header() };
    if (message.body.byteLength < bodyLength) {
      throw new InvalidArgumentError(
        `IPC message body is ${message.body.byteLength} bytes but its header declares ${bodyLength}`,
      );
    }
    if (decoded.isRecordBatch()) {
      const batch = decoded.header();
      checkBuffers(batch.buffers, bodyLength);
      return { kind: 'batch', rows: Number(batch.length), bodyLength, decoded };
    }
    if (decoded.isDictionaryBatch()) {
      const dictionary = decoded.header();
      checkBuffers(dictionary.data.buffers, bodyLength);
      return { kind: 'dictionary', id: Number(dictionary.id), isDelta: dictionary.isDelta, bodyLength };
    }
  } catch (error) {
    if (error instanceof InvalidArgumentError) throw error;
    throw new InvalidArgumentError(`malformed IPC message: ${(error as Error).message}`, { cause: error });
  }
  throw new InvalidArgumentError(
    `unsupported IPC message type ${MessageHeader[decoded.headerType] ?? decoded.headerType}; ` +
      'expected Schema, DictionaryBatch or RecordBatch',
  );
}

function checkBuffers(buffers: readonly { offset: number | bigint; length: number | bigint }[], bodyLength: number): void {
  for (const buffer of buffers) {
    const end = Number(buffer.offset) + Number(buffer.length);
    if (Number(buffer.offset) < 0 || Number(buffer.length) < 0 || end > bodyLength) {
      throw new InvalidArgumentError(
        `IPC buffer [${buffer.offset}, +${buffer.length}) lies outside the ${bodyLength}-byte message body`,
      );
    }
  }
}

/**
 * Splits an encapsulated IPC stream into messages. The returned headers and bodies are views into
 * `stream`: nothing is copied. Stops at the end-of-stream marker or the end of the bytes.
 */
export function splitIpcStream(stream: Uint8Array): IpcMessage[] {
  const view = new DataView(stream.buffer, stream.byteOffset, stream.byteLength);
  const messages: IpcMessage[] = [];
  let offset = 0;
  while (offset + 4 <= stream.byteLength) {
    let length = view.getInt32(offset, true);
    offset += 4;
    if (length === -1) {
      if (offset + 4 > stream.byteLength) break;
      length = view.getInt32(offset, true);
      offset += 4;
    }
    if (length === 0) break;
    if (length < 0 || offset + length > stream.byteLength) {
      throw new InvalidArgumentError(`truncated IPC stream: message of ${length} bytes at offset ${offset}`);
    }
    const header = stream.subarray(offset, offset + length);
    offset += length;
    const bodyLength = declaredBodyLength(header);
    // A negative length would step back and loop forever over hostile bytes.
    if (bodyLength < 0) {
      throw new InvalidArgumentError(`malformed IPC stream: message at offset ${offset - length} declares a body of ${bodyLength} bytes`);
    }
    if (offset + bodyLength > stream.byteLength) {
      throw new InvalidArgumentError(`truncated IPC stream: body of ${bodyLength} bytes at offset ${offset}`);
    }
    messages.push({ header, body: bodyLength === 0 ? EMPTY : stream.subarray(offset, offset + bodyLength) });
    offset += bodyLength;
  }
  return messages;
}

/**
 * The body length a message header declares (Message.decode reads only the header's top-level
 * fields; the rest it decodes on demand).
 * @throws InvalidArgumentError when the header is not a readable Message or the length is not a safe integer
 */
function declaredBodyLength(header: Uint8Array): number {
  let bodyLength: number;
  try {
    bodyLength = Number(Message.decode(header).bodyLength);
  } catch (error) {
    throw new InvalidArgumentError(`malformed IPC message header: ${(error as Error).message}`, { cause: error });
  }
  if (!Number.isSafeInteger(bodyLength)) throw new InvalidArgumentError(`malformed IPC message header: body length ${bodyLength}`);
  return bodyLength;
}

/** Bytes needed to frame a message whose header and body have these lengths in an encapsulated stream. */
export function framedLength(headerBytes: number, bodyBytes: number): number {
  return 8 + pad8(headerBytes) + bodyBytes;
}

/** Rounds up to a multiple of 8. */
export function pad8(length: number): number {
  return (length + 7) & ~7;
}

/**
 * Writes messages as one encapsulated IPC stream (continuation marker, length, padded header,
 * body), optionally followed by the end-of-stream marker.
 */
export function joinIpcStream(messages: readonly IpcMessage[], endOfStream = true): Uint8Array {
  let total = endOfStream ? 8 : 0;
  for (const message of messages) total += framedLength(message.header.byteLength, message.body.byteLength);
  // Not zero-filled: every byte is written below (header padding explicitly), which spares
  // clearing a segment-sized buffer on each join.
  const out = new Uint8Array(Buffer.allocUnsafeSlow(total).buffer, 0, total);
  let offset = 0;
  for (const message of messages) {
    offset = writeFramedHeader(out, offset, message.header);
    out.set(message.body, offset);
    offset += message.body.byteLength;
  }
  if (endOfStream) writeEndOfStream(out, offset);
  return out;
}

/** Buffers a producer gave up, each holding one received message (see {@link handOverMessageBuffer}). */
const givenUpBuffers = new WeakSet<ArrayBuffer>();

/**
 * Marks a buffer that holds one received message (and nothing anyone else reads) as given up by
 * its producer: {@link ipcStreamPieces} may then leave a record batch body in it where it lies,
 * and the stream's consumer transfer the buffer to a worker, which detaches every view of it.
 */
export function handOverMessageBuffer(buffer: ArrayBuffer): void {
  givenUpBuffers.add(buffer);
}

/** Bodies shorter than this are copied with the framing rather than handed over on their own. */
const OWN_BODY_BYTES = 64 * 1024;

/**
 * An encapsulated IPC stream as pieces in order, each a view of a buffer the stream owns: a body
 * of a buffer handed over with {@link handOverMessageBuffer} stays where it lies; the framing,
 * headers and every other body are copied, one after another, into one new buffer.
 */
export interface IpcStreamPieces {
  /** The stream's bytes in order. */
  readonly pieces: readonly Uint8Array[];
  /** Their total length. */
  readonly byteLength: number;
}

/**
 * The encapsulated stream of `messages` (with the end-of-stream marker) as pieces that leave the
 * bodies of handed-over buffers in place: those `inPlace` allows whose body starts 8-byte aligned
 * (Arrow reads its columns there without a copy). `undefined` when no body qualifies (join then).
 * The caller owns every piece's buffer afterwards and must not use the messages' views again.
 */
export function ipcStreamPieces(messages: readonly IpcMessage[], inPlace: (message: IpcMessage) => boolean): IpcStreamPieces | undefined {
  const kept = messages.map((message) => {
    const { body } = message;
    return body.byteLength >= OWN_BODY_BYTES && body.byteOffset % 8 === 0 && body.buffer instanceof ArrayBuffer &&
      givenUpBuffers.has(body.buffer) && inPlace(message);
  });
  if (!kept.includes(true)) return undefined;
  let copied = 8;
  let total = 8;
  messages.forEach((message, index) => {
    const framed = framedLength(message.header.byteLength, message.body.byteLength);
    total += framed;
    copied += kept[index] ? framed - message.body.byteLength : framed;
  });
  const out = new Uint8Array(Buffer.allocUnsafeSlow(copied).buffer, 0, copied);
  const pieces: Uint8Array[] = [];
  let start = 0;
  let offset = 0;
  messages.forEach((message, index) => {
    offset = writeFramedHeader(out, offset, message.header);
    if (kept[index]) {
      pieces.push(out.subarray(start, offset), message.body);
      start = offset;
      return;
    }
    out.set(message.body, offset);
    offset += message.body.byteLength;
  });
  writeEndOfStream(out, offset);
  pieces.push(out.subarray(start, offset + 8));
  return { pieces, byteLength: total };
}

/**
 * Writes a message's framing and header at `offset` of a stream being assembled (continuation
 * marker, padded length, header, zero padding) and returns where its body goes.
 */
export function writeFramedHeader(out: Uint8Array, offset: number, header: Uint8Array): number {
  const paddedHeader = pad8(header.byteLength);
  const view = new DataView(out.buffer, out.byteOffset + offset, 8);
  view.setUint32(0, CONTINUATION, true);
  view.setInt32(4, paddedHeader, true);
  out.set(header, offset + 8);
  out.fill(0, offset + 8 + header.byteLength, offset + 8 + paddedHeader);
  return offset + 8 + paddedHeader;
}

/** Writes the 8-byte end-of-stream marker at `offset`. */
export function writeEndOfStream(out: Uint8Array, offset: number): void {
  const view = new DataView(out.buffer, out.byteOffset + offset, 8);
  view.setUint32(0, CONTINUATION, true);
  view.setInt32(4, 0, true);
}

/** Encodes a schema as a bare IPC `Message` flatbuffer (the FlightData data_header of a schema). */
export function encodeSchemaHeader(schema: Schema): Uint8Array {
  // tableToIPC of an empty table is the simplest public way to serialise exactly one schema message.
  const stream = tableToIPC(new Table(schema), 'stream');
  const first = splitIpcStream(stream)[0];
  if (!first) throw new Error('apache-arrow produced no schema message');
  return first.header.slice();
}

/** Decodes a bare schema message header. @throws InvalidArgumentError if it is not a schema. */
export function decodeSchemaHeader(header: Uint8Array): Schema {
  // apache-arrow reads a union's type ids as an Int32Array view: it throws on a header at an odd offset (copied, not
  // Buffer#slice, which is a view).
  const info = inspectMessage({ header: header.byteOffset % 8 === 0 ? header : new Uint8Array(header), body: EMPTY });
  if (info.kind !== 'schema') throw new InvalidArgumentError(`expected a Schema message, got a ${info.kind} message`);
  return info.schema;
}

/** Encapsulates one message (as FlightInfo.schema and SchemaResult carry a schema). */
export function encapsulateMessage(message: IpcMessage): Uint8Array {
  return joinIpcStream([message], false);
}

/** Reads an encapsulated schema message (FlightInfo.schema form) back into a Schema. */
export function decodeEncapsulatedSchema(bytes: Uint8Array): Schema {
  const first = splitIpcStream(bytes)[0];
  if (!first) throw new InvalidArgumentError('empty schema bytes');
  return decodeSchemaHeader(first.header);
}

/** Buffers holding one whole encapsulated stream whose messages are views of it (see {@link handOverFramedStream}). */
const framedStreams = new WeakSet<ArrayBuffer>();

/**
 * Marks a buffer as one whole encapsulated IPC stream (messages, then the end-of-stream marker)
 * whose messages, handed to a writer, are views of it: {@link joinInPlace} of exactly those
 * messages returns the buffer itself instead of a copy. The producer gives the buffer up: the
 * joined stream may be transferred to a worker, which detaches every message view.
 */
export function handOverFramedStream(buffer: ArrayBuffer): void {
  framedStreams.add(buffer);
}

/**
 * The encapsulated stream of `messages` (ended by the end-of-stream marker) without copying, when
 * they are the messages of a buffer handed over with {@link handOverFramedStream}, laid out in it
 * exactly as {@link joinIpcStream} would write them and spanning all of it (a header may be an equal
 * copy, as a writer's stored schema header is); `undefined` otherwise. Once per buffer.
 */
export function joinInPlace(messages: readonly IpcMessage[]): Uint8Array | undefined {
  const buffer = messages.at(-1)?.header.buffer;
  if (!(buffer instanceof ArrayBuffer) || !framedStreams.has(buffer)) return undefined;
  let total = 8;
  for (const message of messages) total += framedLength(message.header.byteLength, message.body.byteLength);
  if (total !== buffer.byteLength) return undefined;
  const out = new Uint8Array(buffer);
  const view = new DataView(buffer);
  let offset = 0;
  for (const { header, body } of messages) {
    const headerAt = offset + 8;
    const bodyAt = headerAt + pad8(header.byteLength);
    if (view.getUint32(offset, true) !== CONTINUATION || view.getInt32(offset + 4, true) !== bodyAt - headerAt) return undefined;
    const headerInPlace = header.buffer === buffer && header.byteOffset === headerAt;
    if (!headerInPlace && Buffer.compare(header, out.subarray(headerAt, headerAt + header.byteLength)) !== 0) return undefined;
    for (let at = headerAt + header.byteLength; at < bodyAt; at++) if (out[at] !== 0) return undefined;
    if (body.byteLength > 0 && (body.buffer !== buffer || body.byteOffset !== bodyAt)) return undefined;
    offset = bodyAt + body.byteLength;
  }
  if (view.getUint32(offset, true) !== CONTINUATION || view.getInt32(offset + 4, true) !== 0) return undefined;
  framedStreams.delete(buffer);
  return out;
}
