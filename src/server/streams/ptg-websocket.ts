/**
 * PTG's WebSocket protocol on the HTTP listener, so PTG's clients work unchanged (docs/streams.md):
 * `POST /token` (OAuth2 password form) issues a bearer token from the users file;
 * `/data/{stream_id}/push?batch=&ack=` takes entries (one binary message each, or with `batch` a
 * text message of start offsets then one binary message of the entries concatenated) and, with
 * `ack`, answers each entry or batch with its comma-separated entry IDs once durable;
 * `/data/{stream_id}/pull?count=&last_entry_id=` blocks and delivers new entries as a text message
 * `[[entry_id, offset], …]` then one binary message of their bytes. A `stream_id` is `NAME` (bucket
 * `default`) or `BUCKET:NAME`. WebSocket framing is the `ws` package's.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import type { RecordBatch } from 'apache-arrow';
import { type RawData, type WebSocket, WebSocketServer } from 'ws';
import { HangarError, InvalidArgumentError, NotFoundError, UnauthenticatedError, toHangarError } from '../../errors.js';
import { type FrameRef, frameRef } from '../../names.js';
import { type StreamIdRange, formatIdRange, parseStreamId } from '../../core/streams/stream-id.js';
import type { LiveStream } from '../../core/streams/live-stream.js';
import { parseTailStart, tailStream } from '../../core/streams/stream-tail.js';
import type { Authenticator } from '../auth/authenticator.js';
import { runAsPrincipal } from '../auth/call-guard.js';
import { type Principal, UNRESTRICTED, authorize } from '../auth/scopes.js';
import { toProblem, PROBLEM_MEDIA_TYPE } from '../http-status-mapping.js';
import type { StreamAccess } from './stream-access.js';

/** Largest WebSocket message accepted (one entry, or one batch's bytes). */
const MAX_MESSAGE_BYTES = 64 * 1024 * 1024;
/** Acks outstanding before the server stops reading a pusher's messages. */
const MAX_PENDING = 1024;
/** Bytes queued to a puller before the server waits for the socket to drain. */
const MAX_BUFFERED = 4 * 1024 * 1024;
/** Entries in one pull delivery when the client gives no `count`. */
const DEFAULT_DELIVERY_ENTRIES = 10_000;
const ROUTE = /^\/data\/([^/]+)\/(push|pull)$/;
const QUERY_FIELDS: Readonly<Record<string, readonly string[]>> = { push: ['batch', 'ack', 'token'], pull: ['count', 'last_entry_id', 'token'] };

/** A push waiting for its acknowledgement: its IDs once durable. */
interface QueuedAck {
  range: StreamIdRange | undefined;
}

/** Maps PTG's `stream_id` to a frame: `NAME` in bucket `default`, or `BUCKET:NAME`. */
export function streamRefOf(streamId: string): FrameRef {
  const decoded = decodeURIComponent(streamId);
  if (decoded.includes('+')) {
    throw new InvalidArgumentError(`"${decoded}" names several streams ('+'); Hangar serves one stream per connection: open one per stream`);
  }
  const colon = decoded.indexOf(':');
  return colon < 0 ? frameRef(decoded) : frameRef(decoded.slice(colon + 1), decoded.slice(0, colon));
}

/** Parses a query flag as FastAPI does (`true/1/yes/on`, `false/0/no/off`). */
function flag(value: string | null, name: string): boolean {
  if (value === null) return false;
  const text = value.toLowerCase();
  if (['true', '1', 'yes', 'on'].includes(text)) return true;
  if (['false', '0', 'no', 'off'].includes(text)) return false;
  throw new InvalidArgumentError(`"${name}" must be true or false, got ${JSON.stringify(value)}`);
}

/** Reads a batch's entry start offsets, checking them against its bytes. @throws InvalidArgumentError */
export function parseOffsets(offsetsText: string, bytes: Buffer): number[] {
  const offsets = offsetsText.trim() === '' ? [] : offsetsText.split(',').map((part) => Number(part.trim()));
  for (let i = 0; i < offsets.length; i++) {
    const offset = offsets[i]!;
    if (!Number.isSafeInteger(offset) || offset < 0 || offset > bytes.byteLength || (i > 0 && offset < offsets[i - 1]!)) {
      throw new InvalidArgumentError(`the batch's offsets must be ascending integers within its ${bytes.byteLength} bytes, got ${JSON.stringify(offsetsText.slice(0, 100))}`);
    }
  }
  return offsets;
}

/** An entry's bytes for a puller: the payload of a binary stream; a row of an Arrow stream as JSON. */
function entryBytes(batch: RecordBatch): Buffer[] {
  const payloads = batch.getChild('data');
  if (batch.schema.fields.length === 3 && payloads && batch.schema.fields[2]!.name === 'data' && String(payloads.type) === 'Binary') {
    return Array.from({ length: batch.numRows }, (_, i) => Buffer.from(payloads.get(i) as Uint8Array));
  }
  const replacer = (_key: string, value: unknown): unknown => (typeof value === 'bigint' ? value.toString() : value instanceof Uint8Array ? Buffer.from(value).toString('base64') : value);
  return Array.from({ length: batch.numRows }, (_, i) => {
    const row = batch.get(i)!.toJSON() as Record<string, unknown>;
    delete row['_id'];
    delete row['_ts'];
    return Buffer.from(JSON.stringify(row, replacer), 'utf8');
  });
}

/** Closes a socket with a status and a reason (WebSocket reasons are at most 123 bytes). */
function closeWith(socket: WebSocket, error: unknown): void {
  const failure = toHangarError(error);
  const code = failure.code === 'PERMISSION_DENIED' || failure.code === 'UNAUTHENTICATED' ? 1008 : failure.code === 'INVALID_ARGUMENT' ? 1007 : 1011;
  let reason = failure.message;
  while (Buffer.byteLength(reason) > 123) reason = reason.slice(0, -2);
  socket.close(code, reason);
}

/** The PTG gateway of one HTTP listener. */
export class PtgGateway {
  private readonly server = new WebSocketServer({ noServer: true, maxPayload: MAX_MESSAGE_BYTES });
  private readonly sockets = new Set<WebSocket>();

  constructor(
    private readonly streams: StreamAccess,
    private readonly authenticator: Authenticator,
  ) {}

  /** Whether a request path belongs to the gateway (`/token`, `/data/…`). */
  owns(path: string): boolean {
    return path === '/token' || ROUTE.test(path);
  }

  /** Answers a plain HTTP request to the gateway: `POST /token`, or 426 for `/data/…` without an upgrade. */
  async handle(request: IncomingMessage, reply: ServerResponse, path: string): Promise<void> {
    if (path !== '/token') {
      reply.writeHead(426, { upgrade: 'websocket', connection: 'Upgrade', 'content-type': 'text/plain' }).end('connect with a WebSocket\n');
      return;
    }
    if (request.method !== 'POST') throw new HangarError('UNIMPLEMENTED', 'POST /token with the form fields username and password', { type: 'UnimplementedError' });
    const chunks: Buffer[] = [];
    let length = 0;
    for await (const chunk of request as AsyncIterable<Buffer>) {
      length += chunk.byteLength;
      if (length > 64 * 1024) throw new InvalidArgumentError('the /token form may have at most 64 KiB');
      chunks.push(chunk);
    }
    const text = Buffer.concat(chunks).toString('utf8');
    const form = (request.headers['content-type'] ?? '').includes('application/json')
      ? new URLSearchParams(Object.entries(JSON.parse(text || '{}') as Record<string, string>))
      : new URLSearchParams(text);
    const username = form.get('username');
    const password = form.get('password');
    if (!username || password === null) throw new InvalidArgumentError('POST /token needs the form fields username and password (OAuth2 password flow)');
    // Without authentication every caller is let in; the token is then a placeholder.
    const token = this.authenticator.enabled ? await this.authenticator.login(username, password) : 'anonymous';
    const body = JSON.stringify({ access_token: token, token_type: 'bearer' });
    reply.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), 'cache-control': 'no-store' }).end(body);
  }

  /** Takes over an upgrade request to `/data/{stream_id}/push|pull`, or refuses it with an HTTP error. */
  upgrade(request: IncomingMessage, socket: Duplex, head: Buffer): void {
    const url = new URL(request.url ?? '/', 'http://localhost');
    try {
      const match = ROUTE.exec(url.pathname);
      if (!match) throw new NotFoundError(`no WebSocket route ${url.pathname}: use /data/{stream_id}/push or /data/{stream_id}/pull`);
      const kind = match[2] as 'push' | 'pull';
      for (const name of url.searchParams.keys()) {
        if (!QUERY_FIELDS[kind]!.includes(name)) throw new InvalidArgumentError(`unknown query parameter "${name}" of ${kind}; it takes: ${QUERY_FIELDS[kind]!.join(', ')}`);
      }
      const ref = streamRefOf(match[1]!);
      const principal = this.principalOf(request, url);
      // Refused before the upgrade, as an HTTP 403 the client can read (StreamAccess checks again).
      authorize(principal, kind === 'push' ? 'write' : 'read', [ref.bucket], kind === 'push' ? 'push to streams' : 'read streams');
      const options = kind === 'push'
        ? { batch: flag(url.searchParams.get('batch'), 'batch'), ack: flag(url.searchParams.get('ack'), 'ack') }
        : { count: this.parseCount(url.searchParams.get('count')), start: parseTailStart(url.searchParams.get('last_entry_id') ?? '$', '"last_entry_id"') };
      // A pull may wait for hours: the listener's idle timeout is for HTTP requests, not for these.
      if ('setTimeout' in socket) (socket as Duplex & { setTimeout(ms: number): void }).setTimeout(0);
      this.server.handleUpgrade(request, socket, head, (ws) => {
        this.sockets.add(ws);
        ws.once('close', () => this.sockets.delete(ws));
        if (kind === 'push') void this.push(ws, principal, ref, options as { batch: boolean; ack: boolean });
        else void this.pull(ws, principal, ref, options as { count: number | undefined; start: ReturnType<typeof parseTailStart> });
      });
    } catch (error) {
      const problem = toProblem(error, url.pathname);
      const body = JSON.stringify(problem);
      socket.end(
        `HTTP/1.1 ${problem.status} ${problem.title}\r\ncontent-type: ${PROBLEM_MEDIA_TYPE}\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n` +
          `${problem.status === 401 ? 'www-authenticate: Bearer realm="hangar"\r\n' : ''}\r\n${body}`,
      );
    }
  }

  /** Closes every WebSocket (server shutdown: 1001 going away). */
  close(): void {
    for (const socket of this.sockets) socket.close(1001, 'the server is shutting down');
    this.server.close();
  }

  private parseCount(text: string | null): number | undefined {
    if (text === null) return undefined;
    const count = Number(text);
    if (!Number.isSafeInteger(count) || count < 1) throw new InvalidArgumentError(`"count" must be a positive number of entries, got ${JSON.stringify(text)}`);
    return count;
  }

  /**
   * The caller: a bearer token in `Authorization` or in the `token` query parameter (browsers'
   * WebSockets cannot set headers). The console's cookie is not accepted here: a WebSocket upgrade
   * is a GET any site's page may start, so a cookie would let other sites push as the user.
   */
  private principalOf(request: IncomingMessage, url: URL): Principal {
    if (!this.authenticator.enabled) return UNRESTRICTED;
    const header = request.headers.authorization;
    const bearer = header ? /^Bearer\s+(\S+)$/i.exec(header)?.[1] : undefined;
    const token = bearer ?? url.searchParams.get('token') ?? undefined;
    if (!token) throw new UnauthenticatedError('send "Authorization: Bearer TOKEN" or ?token=TOKEN (get one from POST /token)');
    return this.authenticator.principalOfToken(token);
  }

  private async push(ws: WebSocket, principal: Principal, ref: FrameRef, options: { batch: boolean; ack: boolean }): Promise<void> {
    let stream: LiveStream;
    // Messages may arrive while the stream opens: they wait in order.
    const early: [RawData, boolean][] = [];
    const onEarly = (data: RawData, isBinary: boolean): void => void early.push([data, isBinary]);
    ws.on('message', onEarly);
    try {
      stream = await runAsPrincipal(principal, () => this.streams.forPush(ref, 'binary'));
    } catch (error) {
      closeWith(ws, error);
      return;
    }
    ws.off('message', onEarly);
    let offsets: string | undefined;
    const queue: QueuedAck[] = [];
    const sendReady = (): void => {
      while (queue.length > 0 && queue[0]!.range !== undefined) {
        const range = queue.shift()!.range!;
        if (options.ack && ws.readyState === ws.OPEN) ws.send(formatIdRange(range));
      }
      if (queue.length < MAX_PENDING / 2 && ws.isPaused) ws.resume();
    };
    const take = (data: RawData, isBinary: boolean): void => {
      try {
        const bytes = Buffer.isBuffer(data) ? data : Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data);
        let values: Uint8Array;
        let ends: Int32Array;
        if (!options.batch) {
          if (!isBinary) throw new InvalidArgumentError('without ?batch each entry is one binary message; text messages belong to batches');
          values = bytes;
          ends = Int32Array.of(0, bytes.byteLength);
        } else if (!isBinary) {
          if (offsets !== undefined) throw new InvalidArgumentError('two offset messages in a row: send the batch\'s binary message after its offsets');
          offsets = bytes.toString('latin1');
          return;
        } else {
          if (offsets === undefined) throw new InvalidArgumentError('with ?batch=true send a text message of offsets before each binary batch');
          // The entries stay where they arrived: the log is written from the message itself.
          const starts = parseOffsets(offsets, bytes);
          const base = starts[0] ?? bytes.byteLength;
          values = bytes.subarray(base);
          ends = new Int32Array(starts.length + 1);
          for (let i = 0; i < starts.length; i++) ends[i] = starts[i]! - base;
          ends[starts.length] = values.byteLength;
          offsets = undefined;
        }
        // Acks leave in push order: each waits in the queue until those before it are answered
        // (one stream resolves its appends in order, so in practice none waits).
        const waiting: QueuedAck = { range: undefined };
        queue.push(waiting);
        if (queue.length >= MAX_PENDING) ws.pause();
        stream.appendBinary(values, ends).then(
          (range) => {
            waiting.range = range;
            sendReady();
          },
          (error: unknown) => closeWith(ws, error),
        );
      } catch (error) {
        closeWith(ws, error);
      }
    };
    for (const [data, isBinary] of early) take(data, isBinary);
    ws.on('message', take);
  }

  private async pull(ws: WebSocket, principal: Principal, ref: FrameRef, options: { count: number | undefined; start: ReturnType<typeof parseTailStart> }): Promise<void> {
    const aborter = new AbortController();
    ws.once('close', () => aborter.abort());
    ws.on('message', () => undefined);
    try {
      const stream = await runAsPrincipal(principal, () => this.streams.forTailWhenCreated(ref, aborter.signal));
      if (!stream) return;
      let after = options.start === '$' ? stream.lastId : options.start;
      while (!aborter.signal.aborted) {
        // One delivery: whatever is committed after `after`, up to `count` entries.
        const batches: RecordBatch[] = [];
        for await (const batch of tailStream(stream, after, { count: options.count ?? DEFAULT_DELIVERY_ENTRIES })) if (batch.numRows > 0) batches.push(batch);
        if (batches.length === 0) {
          if (!(await stream.waitForEntries(after, aborter.signal))) return;
          continue;
        }
        const index: [string, number][] = [];
        const payloads: Buffer[] = [];
        let offset = 0;
        for (const batch of batches) {
          const bytes = entryBytes(batch);
          for (let i = 0; i < batch.numRows; i++) {
            index.push([batch.getChild('_id')!.get(i) as string, offset]);
            offset += bytes[i]!.byteLength;
            payloads.push(bytes[i]!);
          }
        }
        after = parseStreamId(index.at(-1)![0]);
        ws.send(JSON.stringify(index));
        // A slow puller: wait until this delivery has left, instead of queueing without bound.
        if (ws.bufferedAmount > MAX_BUFFERED) await new Promise<void>((resolve) => ws.send(Buffer.concat(payloads), () => resolve()));
        else ws.send(Buffer.concat(payloads));
      }
    } catch (error) {
      if (!aborter.signal.aborted) closeWith(ws, error);
    }
  }
}
