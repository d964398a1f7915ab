/**
 * The gRPC service definition of arrow.flight.protocol.FlightService, for grpc-js clients. Messages
 * cross grpc-js as raw Buffers, encoded and decoded with the hand-written codecs. (The server has
 * its own transport, src/server/transport.)
 */
import type { ServiceDefinition } from '@grpc/grpc-js';

/** The fully-qualified gRPC service name of Arrow Flight. */
export const FLIGHT_SERVICE_NAME = 'arrow.flight.protocol.FlightService';

const passThrough = (value: Buffer): Buffer => value;

function method(name: string, requestStream: boolean, responseStream: boolean) {
  return {
    path: `/${FLIGHT_SERVICE_NAME}/${name}`,
    requestStream,
    responseStream,
    requestSerialize: passThrough,
    requestDeserialize: passThrough,
    responseSerialize: passThrough,
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
