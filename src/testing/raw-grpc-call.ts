/**
 * A gRPC call made byte for byte on `node:http2`, for fuzzers and soak tests: the caller chooses
 * every request message's bytes (framed as given, never re-encoded) and gets back the status, the
 * reply messages and how long the answer took, or a timeout if none came.
 */
import { type ClientHttp2Session, connect, constants } from 'node:http2';
import { PREFIX_LENGTH, writeMessagePrefix } from '../grpc/message-framing.js';

/** What came back from a raw call. */
export interface RawReply {
  /** The gRPC status (from trailers, or the headers of a trailers-only reply); undefined if none came. */
  readonly grpcStatus: number | undefined;
  /** `grpc-message`, percent-decoded. */
  readonly grpcMessage: string;
  /** The HTTP status. */
  readonly httpStatus: number | undefined;
  /** The reply messages, deframed. */
  readonly messages: readonly Buffer[];
  /** The RST_STREAM code the stream closed with (0 = none or NO_ERROR). */
  readonly rstCode: number;
  /** Milliseconds from the request to the stream's close. */
  readonly elapsedMs: number;
  /** Whether no answer came within the timeout (the stream was then cancelled). */
  readonly timedOut: boolean;
}

/** Frames one message with gRPC's 5-byte prefix (uncompressed). */
export function frameMessage(message: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(PREFIX_LENGTH + message.byteLength);
  writeMessagePrefix(out, 0, message.byteLength);
  out.set(message, PREFIX_LENGTH);
  return out;
}

/** Splits a reply body into messages (a trailing partial message is dropped). */
function deframe(body: Buffer): Buffer[] {
  const messages: Buffer[] = [];
  let at = 0;
  while (at + PREFIX_LENGTH <= body.byteLength) {
    const length = body.readUInt32BE(at + 1);
    if (at + PREFIX_LENGTH + length > body.byteLength) break;
    messages.push(body.subarray(at + PREFIX_LENGTH, at + PREFIX_LENGTH + length));
    at += PREFIX_LENGTH + length;
  }
  return messages;
}

function decodeGrpcMessage(value: unknown): string {
  if (value === undefined) return '';
  try {
    return decodeURIComponent(String(value));
  } catch {
    return String(value);
  }
}

/**
 * Makes one call: sends `messages` framed, half-closes, and waits for the stream to close or for
 * `timeoutMs`, after which it cancels the stream and reports a timeout.
 * @param path - `/package.Service/Method`
 * @param metadata - extra request headers (ASCII values; `-bin` ones base64)
 */
export function rawCall(session: ClientHttp2Session, path: string, messages: readonly Uint8Array[], metadata: Readonly<Record<string, string>>, timeoutMs: number): Promise<RawReply> {
  const started = performance.now();
  return new Promise((resolve) => {
    const stream = session.request({ ':method': 'POST', ':path': path, 'content-type': 'application/grpc', te: 'trailers', ...metadata });
    let headers: Record<string, unknown> = {};
    let trailers: Record<string, unknown> = {};
    const chunks: Buffer[] = [];
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      stream.close(constants.NGHTTP2_CANCEL);
    }, timeoutMs);
    stream.on('response', (h) => (headers = h));
    stream.on('trailers', (t) => (trailers = t));
    stream.on('data', (chunk: Buffer) => chunks.push(chunk));
    stream.on('error', () => undefined);
    stream.on('close', () => {
      clearTimeout(timer);
      const status = trailers['grpc-status'] ?? headers['grpc-status'];
      resolve({
        grpcStatus: status === undefined ? undefined : Number(status),
        grpcMessage: decodeGrpcMessage(trailers['grpc-message'] ?? headers['grpc-message']),
        httpStatus: headers[':status'] === undefined ? undefined : Number(headers[':status']),
        messages: deframe(Buffer.concat(chunks)),
        rstCode: stream.rstCode ?? 0,
        elapsedMs: performance.now() - started,
        timedOut,
      });
    });
    // One write per message; a server that answers early may reset the stream meanwhile.
    for (const message of messages) stream.write(frameMessage(message));
    stream.end();
  });
}

/**
 * One HTTP/2 connection to a server, opened again when it has closed (the server closes idle
 * connections, and a fuzz case may provoke a GOAWAY).
 */
export class RawConnection {
  private session: ClientHttp2Session | undefined;
  /** Connections opened so far. */
  opened = 0;

  /** @param url - `http://host:port` */
  constructor(private readonly url: string) {}

  /** The open session, connecting if needed. */
  get current(): ClientHttp2Session {
    if (!this.session || this.session.closed || this.session.destroyed) {
      const session = connect(this.url);
      session.on('error', () => undefined);
      // After a GOAWAY no new stream may start on it; the next call opens another connection.
      session.on('goaway', () => this.session === session && (this.session = undefined));
      this.session = session;
      this.opened++;
    }
    return this.session!;
  }

  /** Makes a call on the current session (see {@link rawCall}). */
  call(path: string, messages: readonly Uint8Array[], metadata: Readonly<Record<string, string>> = {}, timeoutMs = 10_000): Promise<RawReply> {
    return rawCall(this.current, path, messages, metadata, timeoutMs);
  }

  /** Closes the connection. */
  close(): void {
    this.session?.close();
    this.session = undefined;
  }
}
