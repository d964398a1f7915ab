/** Turns encoded IPC messages into FlightData with a single copy of the body. */
import { encodeFlightData } from '../flight/flight-data.js';
import type { FlightDescriptor } from '../flight/flight-messages.js';
import { varintLength, writeVarint } from '../flight/protobuf-wire.js';
import type { EncodedMessage } from './ipc-encoder.js';

/** FlightData.data_body is field 1000, length-delimited. */
const BODY_TAG = (1000 << 3) | 2;
const EMPTY = new Uint8Array(0);

/**
 * Encodes a message as FlightData. The body's pieces are views of the caller's Arrow buffers;
 * gathering them straight into the output saves joining them into a body first.
 */
export function messageToFlightData(message: EncodedMessage, descriptor?: FlightDescriptor): Buffer {
  const head = encodeFlightData({ flightDescriptor: descriptor, dataHeader: message.header, dataBody: EMPTY });
  if (message.bodyLength === 0) return head;
  const prefix = Buffer.allocUnsafe(varintLength(BODY_TAG) + varintLength(message.bodyLength));
  writeVarint(prefix, writeVarint(prefix, 0, BODY_TAG), message.bodyLength);
  return Buffer.concat([head, prefix, ...message.bodyParts], head.byteLength + prefix.byteLength + message.bodyLength);
}
