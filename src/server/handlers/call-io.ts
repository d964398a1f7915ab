/** Helpers shared by the RPC handlers: backpressure-aware writes and error replies. */
import type { Metadata, ServerWritableStream, ServerDuplexStream, sendUnaryData } from '@grpc/grpc-js';
import { CancelledError } from '../../core/errors.js';
import type { FlightResponse } from '../../flight/flight-service.js';
import { toServiceError } from '../status-mapping.js';

type WritableCall = ServerWritableStream<Buffer, FlightResponse> | ServerDuplexStream<Buffer, FlightResponse>;

/**
 * Writes one message, waiting for 'drain' when grpc-js's queue is full, so a slow reader never
 * makes the server buffer more than a few messages.
 * @throws CancelledError if the client went away
 */
export async function writeWithBackpressure(call: WritableCall, message: FlightResponse): Promise<void> {
  if (call.cancelled) throw new CancelledError('the client cancelled the call');
  if (call.write(message)) return;
  await new Promise<void>((resolve, reject) => {
    const onDrain = (): void => {
      cleanup();
      resolve();
    };
    const onCancel = (): void => {
      cleanup();
      reject(new CancelledError('the client cancelled the call'));
    };
    const cleanup = (): void => {
      call.off('drain', onDrain);
      call.off('cancelled', onCancel);
      call.off('close', onCancel);
    };
    call.on('drain', onDrain);
    call.on('cancelled', onCancel);
    call.on('close', onCancel);
  });
}

/** Ends a streaming call with an error status (unless the client already left). */
export function failStream(call: WritableCall, error: unknown): void {
  if (call.cancelled) return;
  call.emit('error', toServiceError(error, call.metadata));
}

/** Runs a streaming handler body and turns exceptions into statuses. */
export function streaming<C extends WritableCall>(body: (call: C) => Promise<void>): (call: C) => void {
  return (call) => {
    body(call).then(
      () => {
        if (!call.cancelled) call.end();
      },
      (error: unknown) => failStream(call, error),
    );
  };
}

/** Runs a unary handler body and turns exceptions into statuses. */
export function unary<Request>(
  body: (request: Request, metadata: Metadata) => Promise<Buffer>,
): (call: { request: Request; metadata: Metadata }, callback: sendUnaryData<Buffer>) => void {
  return (call, callback) => {
    body(call.request, call.metadata).then(
      (response) => callback(null, response),
      (error: unknown) => callback(toServiceError(error, call.metadata), null),
    );
  };
}
