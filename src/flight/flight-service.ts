/** Arrow Flight's gRPC service: its name and its RPCs (paths are `/${FLIGHT_SERVICE_NAME}/${method}`). */

/** The fully-qualified gRPC service name of Arrow Flight. */
export const FLIGHT_SERVICE_NAME = 'arrow.flight.protocol.FlightService';

/** The RPCs of Flight. */
export type FlightMethod =
  | 'Handshake'
  | 'ListFlights'
  | 'GetFlightInfo'
  | 'PollFlightInfo'
  | 'GetSchema'
  | 'DoGet'
  | 'DoPut'
  | 'DoExchange'
  | 'DoAction'
  | 'ListActions';
