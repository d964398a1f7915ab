/** DoGet and DoPut: frames in and out as FlightData streams. */
import type { HangarEngine } from '../../core/engine.js';
import { CancelledError, DeadlineExceededError, InvalidArgumentError, ResourceExhaustedError } from '../../errors.js';
import { type IpcMessage, handOverMessageBuffer } from '../../format/ipc-message.js';
import { holdsBufferAlone } from '../../grpc/message-framing.js';
import { parseJsonObject, parsePutDescriptor, parseTicket } from '../dataframe-protocol.js';
import { clientFamily } from '../status-mapping.js';
import type { StreamAccess } from '../streams/stream-access.js';
import { pushFromFlight, tailToFlight } from '../streams/flight-stream-calls.js';
import { isStreamDescriptor, isStreamTicket } from '../streams/stream-protocol.js';
import { alignFlightDataBody, decodeFlightData, encodeFlightDataPieces } from '../../flight/flight-data.js';
import { decodeTicket, encodePutResult, type FlightDescriptor } from '../../flight/flight-messages.js';
import type { CallHandler } from '../transport/grpc-server.js';
import type { ServerCall } from '../transport/server-call.js';

/** DoGet: redeems a ticket by streaming the frame, schema first, honouring backpressure (stream tickets: docs/streams.md). */
export function doGetHandler(engine: HangarEngine, streams?: StreamAccess): CallHandler {
  return async (call) => {
    const ticket = decodeTicket(await call.request()).ticket;
    if (streams) {
      const body = parseJsonObject(ticket, 'the ticket');
      if (isStreamTicket(body)) return tailToFlight(call, streams, body);
    }
    const request = parseTicket(ticket);
    // A frame request carries the read options (columns, start, end, limit) under their own names.
    const stream =
      request.kind === 'sql'
        ? await engine.query(request.sql, {
            bucket: request.bucket,
            signal: call.signal,
            ...(request.asOf ? { asOf: request.asOf } : {}),
            ...(request.snapshot === undefined ? {} : { snapshot: request.snapshot }),
          })
        : await engine.read(request, request);
    for await (const message of stream.messages) {
      // The body goes to the socket from where it lies; only the fields before it are encoded.
      await call.write(encodeFlightDataPieces({ dataHeader: message.header, dataBody: message.body }));
    }
  };
}

/** Limits of DoPut against hostile or stuck clients. */
export interface PutLimits {
  /** Largest total of FlightData bytes one put may send (default: no limit). */
  readonly maxPutBytes?: number;
  /** Longest wait for the next message of a put before it fails with DEADLINE_EXCEEDED (default: none). */
  readonly idleTimeoutMs?: number;
}

/** The next message of a stream, or DEADLINE_EXCEEDED if none comes within `ms`. */
async function nextWithin<T>(iterator: AsyncIterator<T>, ms: number | undefined): Promise<IteratorResult<T>> {
  if (ms === undefined) return iterator.next();
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new DeadlineExceededError(`the put sent no data for ${ms} ms; it was abandoned and nothing was stored`)), ms);
  });
  const pending = iterator.next();
  // After a timeout the read may still fail when the call is torn down; nobody awaits it then.
  pending.catch(() => undefined);
  try {
    return await Promise.race([pending, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Turns DoPut's FlightData into IPC messages. The descriptor arrives on the first message only;
 * metadata-only messages are skipped. A cancelled call throws instead of ending quietly (see
 * ServerCall.messages), so a client that disconnects mid-put never commits a partial frame; so does
 * one over the limits. (Flight SQL's bulk ingest and parameter binding read their DoPut through it too.)
 */
export async function* ipcMessagesOf(
  call: ServerCall,
  onDescriptor: (descriptor: FlightDescriptor | undefined) => void,
  limits: PutLimits,
): AsyncGenerator<IpcMessage> {
  let first = true;
  let received = 0;
  const incoming = call.messages();
  for (let next = await nextWithin(incoming, limits.idleTimeoutMs); !next.done; next = await nextWithin(incoming, limits.idleTimeoutMs)) {
    const raw = next.value;
    received += raw.byteLength;
    if (limits.maxPutBytes !== undefined && received > limits.maxPutBytes) {
      throw new ResourceExhaustedError(`the put exceeds the server's limit of ${limits.maxPutBytes} bytes; nothing was stored`);
    }
    const data = decodeFlightData(raw);
    if (first) {
      onDescriptor(data.flightDescriptor);
      first = false;
    }
    if (data.dataHeader.byteLength === 0) {
      if (data.dataBody.byteLength > 0) throw new InvalidArgumentError('FlightData has a body but no data_header');
      continue;
    }
    yield { header: data.dataHeader, body: data.dataBody };
  }
  if (first) throw new InvalidArgumentError('DoPut received no messages; send a descriptor and a schema');
  // Node's HTTP/2 client (so grpc-js) cancels a call it is still writing by ending the stream
  // first (END_STREAM) and resetting it just after, so a cancelled put first looks complete. Wait
  // briefly for the reset before committing. gRPC C++ (pyarrow, Arrow C++, ADBC) resets a cancelled
  // stream without ending it, so its puts commit at once: the wait was most of a small append.
  if (clientFamily(call.metadata) !== 'arrow-cpp') await new Promise((resolve) => setTimeout(resolve, CANCELLATION_SETTLE_MS));
  if (call.cancelled) throw new CancelledError('the client cancelled the put; nothing was stored');
}

/** Gives up the buffer a received message lies in alone (see handOverMessageBuffer). */
function handOver(message: IpcMessage): IpcMessage {
  if (holdsBufferAlone(message.body)) handOverMessageBuffer(message.body.buffer as ArrayBuffer);
  return message;
}

/** How long after the end of a put's input to wait for a late reset (measured: under 1 ms). */
const CANCELLATION_SETTLE_MS = 5;

/** DoPut: stores a frame per the descriptor's put mode and answers with one PutResult (`"stream": true`: pushes entries, docs/streams.md). */
export function doPutHandler(engine: HangarEngine, limits: PutLimits = {}, streams?: StreamAccess): CallHandler {
  return async (call) => {
    // Large messages are received so their IPC bodies start 8-byte aligned, in buffers of their own.
    call.placeMessages(alignFlightDataBody);
    let descriptor: FlightDescriptor | undefined;
    // A stream push is long-lived and acknowledges as it goes: neither the idle timeout nor the
    // total of a put applies to it (each message is still bounded by the message size limit).
    const putLimits: { maxPutBytes?: number; idleTimeoutMs?: number } = { ...limits };
    const messages = ipcMessagesOf(call, (first) => {
      descriptor = first;
      if (streams && isStreamDescriptor(first)) {
        delete putLimits.maxPutBytes;
        delete putLimits.idleTimeoutMs;
      }
    }, putLimits);
    // The descriptor rides on the first FlightData: read up to the first IPC message to learn it.
    const head = await messages.next();
    if (streams && isStreamDescriptor(descriptor)) {
      return pushFromFlight(call, streams, descriptor!, (async function* () {
        if (!head.done) yield head.value;
        yield* messages;
      })());
    }
    const request = parsePutDescriptor(descriptor);
    // A frame's batches go to the store and nowhere else: the buffers they arrived in are given up,
    // so a segment's bodies go to the codec worker where they lie, without the join's copy.
    const all = (async function* () {
      if (!head.done) yield handOver(head.value);
      for await (const message of messages) yield handOver(message);
    })();
    const { metadata, expectedVersion, allowUnordered, range, schema } = request;
    const summary = await engine.put(request, request.mode, all, {
      ...(metadata ? { metadata } : {}),
      ...(expectedVersion === undefined ? {} : { expectedVersion }),
      ...(allowUnordered ? { allowUnordered } : {}),
      ...(range ? { range } : {}),
      ...(schema ? { schema } : {}),
      signal: call.signal,
    });
    await call.write(encodePutResult(Buffer.from(JSON.stringify(summary), 'utf8')));
  };
}
