/** Handler shapes shared by the RPCs. */
import type { CallHandler } from '../transport/grpc-server.js';
import type { ServerCall } from '../transport/server-call.js';
import { UnimplementedError } from '../../errors.js';

/** A unary RPC: one request message in, the body's one reply out. */
export function unary(body: (request: Buffer, call: ServerCall) => Promise<Uint8Array>): CallHandler {
  return async (call) => call.write(await body(await call.request(), call));
}

/** An RPC this version does not offer: UNIMPLEMENTED, with a message saying so. */
export function unimplemented(name: string): CallHandler {
  return async () => {
    throw new UnimplementedError(`${name} is not implemented by this server version`);
  };
}
