/** The RPCs this version does not offer. (Handshake is answered by auth/authenticator.ts.) */
import type { Metadata, ServerDuplexStream, sendUnaryData } from '@grpc/grpc-js';
import { UnimplementedError } from '../../core/errors.js';
import { toServiceError } from '../status-mapping.js';
import { failStream } from './call-io.js';

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
