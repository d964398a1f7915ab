/** Adapts grpc-js streaming and unary calls to promises and async iterators with typed errors. */
import type { ClientReadableStream, ClientDuplexStream, ServiceError } from '@grpc/grpc-js';
import { type ErrorContext, toClientError } from './error-mapping.js';

/** A call whose responses arrive as a stream. */
type ResponseStream = ClientReadableStream<Buffer> | ClientDuplexStream<Buffer, Buffer>;

/** Responses buffered before the call is paused; keeps a slow consumer from buffering a whole stream. */
const HIGH_WATER = 8;

/** The responses of a streaming call, consumable once. */
export interface ResponseMessages extends AsyncIterableIterator<Buffer> {
  /** The typed error the call failed with, as soon as it failed, whether consumed or not. */
  readonly error: Error | undefined;
  /** Cancels the call (a no-op once it has finished). */
  cancel(): void;
}

/**
 * Listens to a streaming call at once (so an error is never an unhandled 'error' event) and
 * exposes its responses as an async iterator. The call is paused while {@link HIGH_WATER}
 * responses wait, which lets HTTP/2 flow control slow the server down. Leaving the loop early
 * cancels the call. Ends only after 'end', because 'status' can arrive while responses are still
 * buffered in a paused stream.
 */
export function responseMessages(call: ResponseStream, context: ErrorContext): ResponseMessages {
  const queue: Buffer[] = [];
  let error: Error | undefined;
  let ended = false;
  let wake: (() => void) | undefined;
  const notify = (): void => {
    const waiting = wake;
    wake = undefined;
    waiting?.();
  };
  call.on('data', (message: Buffer) => {
    queue.push(message);
    if (queue.length >= HIGH_WATER) call.pause();
    notify();
  });
  call.on('end', () => {
    ended = true;
    notify();
  });
  call.on('error', (raw: ServiceError) => {
    error ??= toClientError(raw, context);
    notify();
  });

  async function* iterate(): AsyncGenerator<Buffer> {
    let finished = false;
    try {
      for (;;) {
        if (error) throw error;
        const message = queue.shift();
        if (message) {
          if (queue.length < HIGH_WATER / 2 && call.isPaused()) call.resume();
          yield message;
          continue;
        }
        if (ended) {
          // grpc-js pushes end-of-stream right before emitting the error of a failed status.
          await new Promise<void>((resolve) => setImmediate(resolve));
          if (error) throw error;
          finished = true;
          return;
        }
        await new Promise<void>((resolve) => (wake = resolve));
      }
    } finally {
      if (!finished && !error) call.cancel();
    }
  }
  const iterator = iterate();
  return Object.defineProperties(iterator, {
    error: { get: () => error },
    cancel: { value: () => call.cancel() },
  }) as ResponseMessages;
}

/** Runs a unary call and maps its failure to a typed error. */
export function unaryCall(
  start: (callback: (error: ServiceError | null, response?: Buffer) => void) => void,
  context: ErrorContext,
): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    start((error, response) => {
      if (error) reject(toClientError(error, context));
      else resolve(response ?? Buffer.alloc(0));
    });
  });
}

/** Collects an async iterable into an array. */
export async function collect<T>(items: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of items) out.push(item);
  return out;
}

/**
 * Waits until a call's send buffer drains. Also settles when the call finishes first: rejecting
 * with the typed error of a failed call, resolving on success (nothing more will be read).
 */
export function waitForDrain(call: ClientDuplexStream<Buffer, Buffer>, context: ErrorContext): Promise<void> {
  return new Promise((resolve, reject) => {
    const settle = (error?: Error): void => {
      call.off('drain', onDrain);
      call.off('error', onError);
      call.off('status', onStatus);
      if (error) reject(error);
      else resolve();
    };
    const onDrain = (): void => settle();
    const onError = (error: ServiceError): void => settle(toClientError(error, context));
    const onStatus = (): void => settle();
    call.on('drain', onDrain);
    call.on('error', onError);
    call.on('status', onStatus);
  });
}

/** Cancels a call when the signal aborts; returns a function that stops listening. */
export function cancelOnAbort(call: { cancel(): void }, signal: AbortSignal | undefined): () => void {
  if (!signal) return () => undefined;
  if (signal.aborted) {
    call.cancel();
    return () => undefined;
  }
  const onAbort = (): void => call.cancel();
  signal.addEventListener('abort', onAbort, { once: true });
  return () => signal.removeEventListener('abort', onAbort);
}
