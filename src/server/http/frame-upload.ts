/**
 * Turns an HTTP request body into the IPC messages a put stores, under the same limits as DoPut
 * (largest total, idle timeout): an Arrow IPC stream is cut into messages as it arrives; CSV and
 * Parquet are spooled to a temporary file (never a string in memory) and read by DuckDB.
 */
import { createWriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import type { IncomingMessage } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { finished } from 'node:stream/promises';
import { Message, type Schema } from 'apache-arrow';
import { CancelledError, DeadlineExceededError, InvalidArgumentError, ResourceExhaustedError } from '../../errors.js';
import type { IpcMessage } from '../../format/ipc-message.js';
import { importTableFile } from '../../core/table-import.js';
import { PAYLOAD_TOO_LARGE_TYPE } from '../http-status-mapping.js';

/** The body formats a put accepts, by media type. */
export const UPLOAD_MEDIA_TYPES = {
  'application/vnd.apache.arrow.stream': 'arrow',
  'application/vnd.apache.parquet': 'parquet',
  'text/csv': 'csv',
} as const;

/** Limits of an upload (as DoPut's). */
export interface UploadLimits {
  /** Largest body in bytes (default: none). */
  readonly maxPutBytes?: number;
  /** Longest wait for the next chunk of the body, in milliseconds (default: none). */
  readonly idleTimeoutMs?: number;
  /** Largest single IPC message in bytes. */
  readonly maxMessageBytes?: number;
}

/** The upload format of a Content-Type. @throws InvalidArgumentError for any other */
export function uploadFormatOf(contentType: string | undefined): 'arrow' | 'parquet' | 'csv' {
  const type = (contentType ?? '').split(';')[0]!.trim().toLowerCase();
  if (type === 'application/x-parquet') return 'parquet';
  const format = (UPLOAD_MEDIA_TYPES as Record<string, 'arrow' | 'parquet' | 'csv'>)[type];
  if (!format) {
    throw new InvalidArgumentError(
      `cannot store a body of type ${JSON.stringify(type || '(none)')}; send one of ${Object.keys(UPLOAD_MEDIA_TYPES).join(', ')} as Content-Type`,
    );
  }
  return format;
}

/** The body's chunks, failing on a stall, on a body over the limit and on a client that leaves. */
async function* bodyChunks(request: IncomingMessage, limits: UploadLimits, counted: (bytes: number) => void): AsyncGenerator<Buffer> {
  let received = 0;
  const iterator = request[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
  for (;;) {
    let timer: NodeJS.Timeout | undefined;
    const next = iterator.next();
    next.catch(() => undefined);
    const stalled =
      limits.idleTimeoutMs === undefined
        ? undefined
        : new Promise<never>((_, reject) => {
            timer = setTimeout(() => reject(new DeadlineExceededError(`the upload sent no data for ${limits.idleTimeoutMs} ms; it was abandoned and nothing was stored`)), limits.idleTimeoutMs);
          });
    let result: IteratorResult<Buffer>;
    try {
      result = await (stalled ? Promise.race([next, stalled]) : next);
    } catch (error) {
      if (error instanceof DeadlineExceededError) throw error;
      throw new CancelledError('the client went away during the upload; nothing was stored');
    } finally {
      clearTimeout(timer);
    }
    if (result.done) break;
    received += result.value.byteLength;
    counted(result.value.byteLength);
    if (limits.maxPutBytes !== undefined && received > limits.maxPutBytes) {
      throw new ResourceExhaustedError(`the upload exceeds the server's limit of ${limits.maxPutBytes} bytes; nothing was stored`, { type: PAYLOAD_TOO_LARGE_TYPE });
    }
    yield result.value;
  }
  if (!request.complete) throw new CancelledError('the client went away during the upload; nothing was stored');
}

/** The request body as IPC messages (Schema first), in the format its Content-Type names. */
export async function* uploadMessages(
  request: IncomingMessage,
  limits: UploadLimits,
  counted: (bytes: number) => void = () => undefined,
  targetSchema?: Schema,
): AsyncGenerator<IpcMessage> {
  const format = uploadFormatOf(request.headers['content-type']);
  if (format === 'arrow') {
    yield* ipcStreamMessages(bodyChunks(request, limits, counted), limits.maxMessageBytes ?? 2 ** 31 - 1);
    return;
  }
  const directory = await mkdtemp(join(tmpdir(), 'hangar-upload-'));
  try {
    const path = join(directory, `body.${format}`);
    const file = createWriteStream(path);
    try {
      for await (const chunk of bodyChunks(request, limits, counted)) {
        if (!file.write(chunk)) await new Promise<void>((resolve) => file.once('drain', () => resolve()));
      }
    } finally {
      file.end();
      await finished(file);
    }
    yield* importTableFile(path, format, { displayName: 'the body', ...(targetSchema ? { targetSchema } : {}) });
  } finally {
    await rm(directory, { recursive: true, force: true });
  }
}

/** Bytes received but not yet cut into messages. */
class ByteQueue {
  private chunks: Buffer[] = [];
  length = 0;

  push(chunk: Buffer): void {
    this.chunks.push(chunk);
    this.length += chunk.byteLength;
  }

  /** Removes and returns the first `n` bytes (a view when they lie in one chunk). */
  take(n: number): Uint8Array {
    const first = this.chunks[0];
    if (first && first.byteLength >= n) {
      const out = first.subarray(0, n);
      if (first.byteLength === n) this.chunks.shift();
      else this.chunks[0] = first.subarray(n);
      this.length -= n;
      return out;
    }
    const out = Buffer.allocUnsafe(n);
    let filled = 0;
    while (filled < n) {
      const chunk = this.chunks[0]!;
      const part = Math.min(chunk.byteLength, n - filled);
      chunk.copy(out, filled, 0, part);
      filled += part;
      if (part === chunk.byteLength) this.chunks.shift();
      else this.chunks[0] = chunk.subarray(part);
    }
    this.length -= n;
    return out;
  }

  /** The little-endian int32 at `offset` without removing anything. */
  peekInt32(offset: number): number {
    const bytes = this.take(offset + 4);
    // Put them back in front: peeking is rare (once per message), so the copy does not matter.
    this.chunks.unshift(Buffer.from(bytes));
    this.length += bytes.byteLength;
    return new DataView(bytes.buffer, bytes.byteOffset + offset, 4).getInt32(0, true);
  }
}

/**
 * Cuts an encapsulated Arrow IPC stream arriving in chunks into messages, holding at most one
 * message (plus one chunk) at a time.
 * @throws InvalidArgumentError for a malformed or truncated stream, or a message over `maxMessageBytes`
 */
export async function* ipcStreamMessages(chunks: AsyncIterable<Buffer>, maxMessageBytes: number): AsyncGenerator<IpcMessage> {
  const queue = new ByteQueue();
  const iterator = chunks[Symbol.asyncIterator]();
  let ended = false;
  const fill = async (n: number): Promise<boolean> => {
    while (queue.length < n && !ended) {
      const next = await iterator.next();
      if (next.done) ended = true;
      else queue.push(next.value);
    }
    return queue.length >= n;
  };
  let sawAny = false;
  for (;;) {
    if (!(await fill(4))) {
      if (queue.length > 0) throw new InvalidArgumentError('truncated Arrow IPC stream: it ends inside a message prefix');
      break;
    }
    let length = queue.peekInt32(0);
    let prefix = 4;
    if (length === -1) {
      if (!(await fill(8))) throw new InvalidArgumentError('truncated Arrow IPC stream: it ends inside a message prefix');
      length = queue.peekInt32(4);
      prefix = 8;
    }
    queue.take(prefix);
    if (length === 0) break;
    if (length < 0 || length > maxMessageBytes) throw new InvalidArgumentError(`malformed Arrow IPC stream: a message header of ${length} bytes`);
    if (!(await fill(length))) throw new InvalidArgumentError('truncated Arrow IPC stream: it ends inside a message header');
    const header = queue.take(length).slice();
    let bodyLength: number;
    try {
      bodyLength = Number(Message.decode(header).bodyLength);
    } catch (error) {
      throw new InvalidArgumentError(`malformed Arrow IPC message header: ${(error as Error).message}`, { cause: error });
    }
    if (!Number.isSafeInteger(bodyLength) || bodyLength < 0 || bodyLength > maxMessageBytes) {
      throw new InvalidArgumentError(`malformed Arrow IPC stream: a message body of ${bodyLength} bytes (limit ${maxMessageBytes})`);
    }
    if (!(await fill(bodyLength))) throw new InvalidArgumentError('truncated Arrow IPC stream: it ends inside a message body');
    const body = bodyLength === 0 ? new Uint8Array(0) : queue.take(bodyLength);
    sawAny = true;
    yield { header, body };
  }
  if (!sawAny) throw new InvalidArgumentError('the body holds no Arrow IPC messages; send a stream starting with its schema');
  // Drain what follows the end-of-stream marker so the limits still apply to the whole body.
  while (!ended) {
    const next = await iterator.next();
    if (next.done) ended = true;
  }
}
