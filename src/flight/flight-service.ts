/**
 * The gRPC service definition of arrow.flight.protocol.FlightService. Messages cross grpc-js as
 * raw Buffers: each handler (and the client) encodes and decodes with the hand-written codecs.
 */
import type { ServiceDefinition } from '@grpc/grpc-js';
import { type FlightDataInput, encodeFlightDataTransient } from './flight-data.js';

/** The fully-qualified gRPC service name of Arrow Flight. */
export const FLIGHT_SERVICE_NAME = 'arrow.flight.protocol.FlightService';

const passThrough = (value: Buffer): Buffer => value;

/**
 * What a server handler may write: encoded bytes, or FlightData that is encoded only as grpc-js
 * sends it, into a reused buffer (grpc-js copies it at once; see encodeFlightDataTransient).
 */
export type FlightResponse = Buffer | FlightDataInput;

const serializeResponse = (value: FlightResponse): Buffer => (Buffer.isBuffer(value) ? value : encodeFlightDataTransient(value));

function method(name: string, requestStream: boolean, responseStream: boolean) {
  return {
    path: `/${FLIGHT_SERVICE_NAME}/${name}`,
    requestStream,
    responseStream,
    requestSerialize: passThrough,
    requestDeserialize: passThrough,
    responseSerialize: serializeResponse,
    responseDeserialize: passThrough,
    originalName: name.charAt(0).toLowerCase() + name.slice(1),
  };
}

/** Every Flight RPC with its streaming shape. */
export const FLIGHT_SERVICE = {
  Handshake: method('Handshake', true, true),
  ListFlights: method('ListFlights', false, true),
  GetFlightInfo: method('GetFlightInfo', false, false),
  PollFlightInfo: method('PollFlightInfo', false, false),
  GetSchema: method('GetSchema', false, false),
  DoGet: method('DoGet', false, true),
  DoPut: method('DoPut', true, true),
  DoExchange: method('DoExchange', true, true),
  DoAction: method('DoAction', false, true),
  ListActions: method('ListActions', false, true),
} satisfies ServiceDefinition;

/** The RPC names of Flight. */
export type FlightMethod = keyof typeof FLIGHT_SERVICE;
