/** Parses Flight location URIs (grpc://, grpc+tcp://, grpc+tls://) into the address to connect to. */
import { InvalidArgumentError } from '../errors.js';

/** Where and how to connect. */
export interface FlightTarget {
  /** `host:port` to connect to (IPv6 hosts in brackets). */
  readonly address: string;
  /** Whether the channel uses TLS. */
  readonly tls: boolean;
  /** The location normalised to a URI, for messages. */
  readonly uri: string;
}

const SCHEMES: Record<string, boolean> = { 'grpc:': false, 'grpc+tcp:': false, 'grpc+tls:': true };

/**
 * Parses a location. A bare `host:port` means `grpc://host:port`.
 * @throws InvalidArgumentError for other schemes or a missing port
 */
export function parseLocation(location: string): FlightTarget {
  const text = location.includes('://') ? location : `grpc://${location}`;
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new InvalidArgumentError(`invalid Flight location ${JSON.stringify(location)}; expected grpc://HOST:PORT`);
  }
  const tls = SCHEMES[url.protocol];
  if (tls === undefined) {
    throw new InvalidArgumentError(
      `unsupported Flight location scheme '${url.protocol.slice(0, -1)}' in ${JSON.stringify(location)}; use grpc://, grpc+tcp:// or grpc+tls://`,
    );
  }
  if (!url.hostname || !url.port) {
    throw new InvalidArgumentError(`Flight location ${JSON.stringify(location)} needs a host and a port, e.g. grpc://127.0.0.1:8815`);
  }
  const address = `${url.hostname}:${url.port}`;
  return { address, tls, uri: `${url.protocol}//${address}` };
}
