/** Handshake and the RPCs this version does not offer. */
import type { Metadata, ServerDuplexStream, sendUnaryData } from '@grpc/grpc-js';
import { UnimplementedError } from '../../core/errors.js';
import { decodeHandshake, encodeHandshake } from '../../flight/flight-messages.js';
import { toServiceError } from '../status-mapping.js';
import { failStream } from './call-io.js';

/**
 * Handshake without authentication: answers each request with an empty payload, echoing the
 * protocol version, so clients that always handshake (pyarrow's `authenticate`) proceed.
 */
export function handshakeHandler() {
  return (call: ServerDuplexStream<Buffer, Buffer>): void => {
    call.on('data', (raw: Buffer) => {
      try {
        const request = decodeHandshake(raw);
        call.write(encodeHandshake({ protocolVersion: request.protocolVersion, payload: new Uint8Array(0) }));
      } catch (error) {
        failStream(call, error);
      }
    });
    call.on('end', () => call.end());
    call.on('error', () => undefined);
  };
}

/** A unary RPC that answers UNIMPLEMENTED with a message saying so. */
export function unimplementedUnary(name: string) {
  return (call: { metadata: Metadata }, callback: sendUnaryData<Buffer>): void => {
    callback(toServiceError(new UnimplementedError(`${name} is not implemented by this server version`), call.metadata), null);
  };
}

/** A bidirectional RPC that answers UNIMPLEMENTED. */
export function unimplementedStream(name: string) {
  return (call: ServerDuplexStream<Buffer, Buffer>): void => {
    failStream(call, new UnimplementedError(`${name} is not implemented by this server version`));
  };
}
