// Hangar's gRPC client against servers that fail: a bare node:http2 server that resets streams,
// drops connections, answers in plain HTTP or with broken framing; a frame-by-frame server that
// sends GOAWAY; a proxy that goes silent. Each failure must get the status the gRPC specification
// maps it to, a call the server never processed is retried once, and keepalive finds dead links.
import { type Server, type Socket, createServer as createTcpServer, connect as connectTcp } from 'node:net';
import { type Http2Server, type ServerHttp2Stream, constants, createServer } from 'node:http2';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CancelledError, ResourceExhaustedError, PermissionDeniedError } from '../../src/errors.js';
import { FlightCallError, toClientError } from '../../src/client/error-mapping.js';
import { FlightClient } from '../../src/client/flight-client.js';
import { GrpcCallFailure, GrpcChannel, type CallSettings } from '../../src/client/transport/grpc-channel.js';
import { GrpcStatus } from '../../src/grpc/status.js';
import { PREFIX_LENGTH, writeMessagePrefix } from '../../src/grpc/message-framing.js';
import { GrpcServer } from '../../src/server/transport/grpc-server.js';
import { CLIENT_PREFACE, Flag, FrameReader, FrameType, frame, goawayFrame } from './fixtures/raw-http2.js';

function framed(message: Uint8Array): Buffer {
  const out = Buffer.alloc(PREFIX_LENGTH + message.byteLength);
  writeMessagePrefix(out, 0, message.byteLength);
  out.set(message, PREFIX_LENGTH);
  return out;
}

const GRPC_OK_HEADERS = { ':status': 200, 'content-type': 'application/grpc' };

/** What a call came to: its status code and the replies read. */
interface Outcome {
  readonly code: number;
  readonly message: string;
  readonly replies: string[];
}

async function outcome(channel: GrpcChannel, path: string, settings: Partial<CallSettings> = {}, body = 'request', endRequest = true): Promise<Outcome> {
  const call = channel.start(path, { headers: {}, mapError: (failure) => failure, ...settings });
  call.write(Buffer.from(body)).catch(() => undefined);
  if (endRequest) call.end();
  const replies: string[] = [];
  try {
    for await (const reply of call) replies.push(reply.toString());
    return { code: GrpcStatus.OK, message: '', replies };
  } catch (error) {
    if (!(error instanceof GrpcCallFailure)) throw error;
    return { code: error.code, message: error.details, replies };
  }
}

/** Reads a request's one message from a server stream. */
function requestOf(stream: ServerHttp2Stream): Promise<string> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    stream.on('data', (chunk: Buffer) => chunks.push(chunk));
    stream.on('end', () => resolve(Buffer.concat(chunks).subarray(PREFIX_LENGTH).toString()));
  });
}

describe('gRPC client against failing servers', () => {
  let http2: Http2Server;
  let channel: GrpcChannel;
  let port: number;
  /** Attempts seen per path. */
  const attempts = new Map<string, number>();
  const seenHeaders = new Map<string, Record<string, unknown>>();

  beforeAll(async () => {
    http2 = createServer();
    http2.on('sessionError', () => undefined);
    http2.on('stream', (stream, headers) => {
      stream.on('error', () => undefined);
      const path = String(headers[':path']);
      attempts.set(path, (attempts.get(path) ?? 0) + 1);
      seenHeaders.set(path, { ...headers });
      const [, kind, arg] = path.split('/');
      const code = Number(arg);
      switch (kind) {
        case 'reset-before-headers':
          stream.close(code);
          return;
        case 'reset-after-headers':
          stream.respond(GRPC_OK_HEADERS);
          stream.write(framed(Buffer.from('partial')), () => stream.close(code));
          return;
        case 'lose-connection-after-headers':
          stream.respond(GRPC_OK_HEADERS);
          stream.write(framed(Buffer.from('partial')), () => stream.session?.destroy());
          return;
        case 'http-status':
          stream.respond({ ':status': code, 'content-type': 'text/html' }, { endStream: true });
          return;
        case 'html':
          stream.respond({ ':status': 200, 'content-type': 'text/html' });
          stream.end('<html></html>');
          return;
        case 'raw-body':
          // The reply's body, as hex in the path, then OK trailers.
          stream.respond(GRPC_OK_HEADERS, { waitForTrailers: true });
          stream.on('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '0' }));
          stream.end(Buffer.from(arg!, 'hex'));
          return;
        case 'encoded': {
          // One message compressed with the encoding named in the path.
          stream.respond({ ...GRPC_OK_HEADERS, 'grpc-encoding': arg! }, { waitForTrailers: true });
          stream.on('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '0' }));
          const zipped = gzipSync(Buffer.from('zipped reply'));
          const message = framed(zipped);
          message[0] = 1;
          stream.end(message);
          return;
        }
        case 'status':
          stream.respond({ ...GRPC_OK_HEADERS, 'grpc-status': arg!, 'grpc-message': 'odd' }, { endStream: true });
          return;
        case 'refuse-once':
          if (attempts.get(path) === 1) {
            stream.close(constants.NGHTTP2_REFUSED_STREAM);
            return;
          }
          void requestOf(stream).then((request) => {
            stream.respond(GRPC_OK_HEADERS, { waitForTrailers: true });
            stream.on('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '0' }));
            stream.end(framed(Buffer.from(`echo ${request}`)));
          });
          return;
        case 'slow-ok':
          setTimeout(() => {
            if (stream.closed) return;
            stream.respond(GRPC_OK_HEADERS, { waitForTrailers: true });
            stream.on('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '0' }));
            stream.end(framed(Buffer.from('late but fine')));
          }, code);
          return;
        default:
          stream.respond({ ...GRPC_OK_HEADERS, 'grpc-status': '12' }, { endStream: true });
      }
    });
    await new Promise<void>((resolve) => http2.listen(0, '127.0.0.1', resolve));
    port = (http2.address() as { port: number }).port;
    channel = new GrpcChannel(`127.0.0.1:${port}`, undefined);
  });
  afterAll(async () => {
    channel.close();
    await new Promise((resolve) => http2.close(resolve));
  });

  it('maps every RST_STREAM code as the gRPC specification does, before and after the reply headers', async () => {
    const expected: Record<number, number> = {
      [constants.NGHTTP2_NO_ERROR]: GrpcStatus.INTERNAL,
      [constants.NGHTTP2_PROTOCOL_ERROR]: GrpcStatus.INTERNAL,
      [constants.NGHTTP2_INTERNAL_ERROR]: GrpcStatus.INTERNAL,
      [constants.NGHTTP2_FLOW_CONTROL_ERROR]: GrpcStatus.INTERNAL,
      [constants.NGHTTP2_SETTINGS_TIMEOUT]: GrpcStatus.INTERNAL,
      [constants.NGHTTP2_FRAME_SIZE_ERROR]: GrpcStatus.INTERNAL,
      [constants.NGHTTP2_REFUSED_STREAM]: GrpcStatus.UNAVAILABLE,
      [constants.NGHTTP2_CANCEL]: GrpcStatus.CANCELLED,
      [constants.NGHTTP2_COMPRESSION_ERROR]: GrpcStatus.INTERNAL,
      [constants.NGHTTP2_CONNECT_ERROR]: GrpcStatus.INTERNAL,
      [constants.NGHTTP2_ENHANCE_YOUR_CALM]: GrpcStatus.RESOURCE_EXHAUSTED,
      [constants.NGHTTP2_INADEQUATE_SECURITY]: GrpcStatus.PERMISSION_DENIED,
    };
    for (const [rst, code] of Object.entries(expected)) {
      const before = await outcome(channel, `/reset-before-headers/${rst}`);
      expect(before.code, `RST_STREAM ${rst} before headers`).toBe(code);
      // The request side stays open: node:http2 ends a stream it resets, and a stream ended on both
      // sides is closed before the RST_STREAM arrives.
      const after = await outcome(channel, `/reset-after-headers/${rst}`, {}, 'request', false);
      expect(after.code, `RST_STREAM ${rst} after headers: ${after.message}`).toBe(code);
    }
    // REFUSED_STREAM before the headers was retried once (on a fresh stream) before failing.
    expect(attempts.get(`/reset-before-headers/${constants.NGHTTP2_REFUSED_STREAM}`)).toBe(2);
    expect(attempts.get(`/reset-after-headers/${constants.NGHTTP2_REFUSED_STREAM}`)).toBe(1);
    expect(attempts.get(`/reset-before-headers/${constants.NGHTTP2_CANCEL}`)).toBe(1);
  });

  it('fails a call whose connection is lost after the headers, or never made, with UNAVAILABLE', async () => {
    const lost = await outcome(channel, '/lose-connection-after-headers/0');
    expect(lost.code).toBe(GrpcStatus.UNAVAILABLE);
    expect(lost.message).toMatch(/connection to the server was lost/);
    // The next call opens a new connection.
    expect((await outcome(channel, '/status/0')).code).toBe(GrpcStatus.OK);

    const closed = createTcpServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const deadPort = (closed.address() as { port: number }).port;
    await new Promise((resolve) => closed.close(resolve));
    const nowhere = new GrpcChannel(`127.0.0.1:${deadPort}`, undefined);
    const refused = await outcome(nowhere, '/status/0');
    expect(refused.code).toBe(GrpcStatus.UNAVAILABLE);
    expect(refused.message).toMatch(/ECONNREFUSED/);
    nowhere.close();
  });

  it('maps a non-gRPC HTTP reply by its status, as the specification does', async () => {
    const expected: Record<number, number> = {
      400: GrpcStatus.INTERNAL,
      401: GrpcStatus.UNAUTHENTICATED,
      403: GrpcStatus.PERMISSION_DENIED,
      404: GrpcStatus.UNIMPLEMENTED,
      429: GrpcStatus.UNAVAILABLE,
      502: GrpcStatus.UNAVAILABLE,
      503: GrpcStatus.UNAVAILABLE,
      504: GrpcStatus.UNAVAILABLE,
      500: GrpcStatus.UNKNOWN,
      302: GrpcStatus.UNKNOWN,
    };
    for (const [status, code] of Object.entries(expected)) {
      expect((await outcome(channel, `/http-status/${status}`)).code, `HTTP ${status}`).toBe(code);
    }
    const html = await outcome(channel, '/html/0');
    expect(html.code).toBe(GrpcStatus.UNKNOWN);
    expect(html.message).toMatch(/content-type 'text\/html'/);
    expect((await outcome(channel, '/status/99')).code).toBe(GrpcStatus.UNKNOWN);
    expect((await outcome(channel, '/status/7')).code).toBe(GrpcStatus.PERMISSION_DENIED);
  });

  it('fails a reply over its size limit with RESOURCE_EXHAUSTED, malformed framing with INTERNAL', async () => {
    const huge = await outcome(channel, `/raw-body/${Buffer.from([0, 0xff, 0xff, 0xff, 0xff]).toString('hex')}`);
    expect(huge.code).toBe(GrpcStatus.RESOURCE_EXHAUSTED);
    const badFlag = await outcome(channel, `/raw-body/${Buffer.from([2, 0, 0, 0, 1, 0]).toString('hex')}`);
    expect(badFlag.code).toBe(GrpcStatus.INTERNAL);
    expect(badFlag.message).toMatch(/flag 2/);
    const compressedWithoutEncoding = await outcome(channel, `/raw-body/${Buffer.from([1, 0, 0, 0, 1, 0]).toString('hex')}`);
    expect(compressedWithoutEncoding.code).toBe(GrpcStatus.INTERNAL);
    expect(await outcome(channel, '/encoded/gzip')).toEqual({ code: GrpcStatus.OK, message: '', replies: ['zipped reply'] });
    const unknownEncoding = await outcome(channel, '/encoded/snappy');
    expect(unknownEncoding.code).toBe(GrpcStatus.INTERNAL);
    expect(unknownEncoding.message).toMatch(/snappy/);
    const cut = await outcome(channel, `/raw-body/${Buffer.from([0, 0, 0, 0, 9, 1, 2]).toString('hex')}`);
    expect(cut.code).toBe(GrpcStatus.INTERNAL);
    expect(cut.message).toMatch(/ended inside a message/);
  });

  it('sends a 30-day deadline as 2592000S and keeps the call alive past setTimeout\'s range', async () => {
    const got = await outcome(channel, '/slow-ok/150', { timeoutMs: 30 * 24 * 3_600_000 });
    expect(got).toEqual({ code: GrpcStatus.OK, message: '', replies: ['late but fine'] });
    expect(seenHeaders.get('/slow-ok/150')?.['grpc-timeout']).toBe('2592000S');
    const short = await outcome(channel, '/slow-ok/5000', { timeoutMs: 50 });
    expect(short.code).toBe(GrpcStatus.DEADLINE_EXCEEDED);
  });

  it('retries a call the server refused unprocessed (REFUSED_STREAM) once, resending its request', async () => {
    const got = await outcome(channel, '/refuse-once/0', {}, 'payload');
    expect(got).toEqual({ code: GrpcStatus.OK, message: '', replies: ['echo payload'] });
    expect(attempts.get('/refuse-once/0')).toBe(2);
  });

  it('gives FlightClient callers typed errors for the transport failures', async () => {
    expect(toClientError(new GrpcCallFailure(GrpcStatus.CANCELLED, 'reset'))).toBeInstanceOf(CancelledError);
    expect(toClientError(new GrpcCallFailure(GrpcStatus.RESOURCE_EXHAUSTED, 'calm'))).toBeInstanceOf(ResourceExhaustedError);
    expect(toClientError(new GrpcCallFailure(GrpcStatus.PERMISSION_DENIED, 'tls'))).toBeInstanceOf(PermissionDeniedError);
    const unavailable = toClientError(new GrpcCallFailure(GrpcStatus.UNAVAILABLE, 'gone'), { location: 'grpc://x:1' });
    expect(unavailable).toBeInstanceOf(FlightCallError);
    expect((unavailable as FlightCallError).grpcStatus).toBe('UNAVAILABLE');
  });
});

describe('gRPC client retries and keepalive against real servers', () => {
  it('retries a call whose stream a GOAWAY left unprocessed (id above last-stream-id) on a new connection', async () => {
    const http2 = createServer();
    http2.on('stream', (stream) => {
      stream.on('error', () => undefined);
      void requestOf(stream).then((request) => {
        stream.respond(GRPC_OK_HEADERS, { waitForTrailers: true });
        stream.on('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '0' }));
        stream.end(framed(Buffer.from(`served ${request}`)));
      });
    });
    await new Promise<void>((resolve) => http2.listen(0, '127.0.0.1', resolve));
    const upstream = (http2.address() as { port: number }).port;
    // The first connection answers the handshake, then a GOAWAY naming stream 0 as the last it
    // processed; later connections go to the real server.
    let connections = 0;
    let goawaySent = false;
    const front = createTcpServer((socket) => {
      socket.on('error', () => undefined);
      if (connections++ > 0) {
        const back = connectTcp(upstream, '127.0.0.1');
        back.on('error', () => socket.destroy());
        socket.pipe(back).pipe(socket);
        return;
      }
      const reader = new FrameReader(socket, CLIENT_PREFACE.byteLength);
      socket.write(frame(FrameType.SETTINGS, 0, 0));
      void reader.waitFor((f) => f.type === FrameType.SETTINGS && f.flags === 0).then(() => socket.write(frame(FrameType.SETTINGS, Flag.ACK, 0)));
      void reader.waitFor((f) => f.type === FrameType.HEADERS).then((headers) => {
        if (!headers) return;
        goawaySent = true;
        socket.write(goawayFrame(0, constants.NGHTTP2_NO_ERROR));
      });
    });
    await new Promise<void>((resolve) => front.listen(0, '127.0.0.1', resolve));
    const channel = new GrpcChannel(`127.0.0.1:${(front.address() as { port: number }).port}`, undefined);
    const got = await outcome(channel, '/any/0', {}, 'once');
    expect(goawaySent).toBe(true);
    expect(got).toEqual({ code: GrpcStatus.OK, message: '', replies: ['served once'] });
    expect(connections).toBe(2);
    channel.close();
    front.close();
    await new Promise((resolve) => http2.close(resolve));
  });

  it('gets a burst of calls past the server\'s stream cap through, retrying the refused ones', async () => {
    const server = await GrpcServer.listen('127.0.0.1', 0, {
      handlers: new Map([['/t.T/Echo', async (call) => call.write(await call.request())]]),
      toStatus: () => ({ code: GrpcStatus.INTERNAL, message: 'failed' }),
      maxMessageBytes: 1024,
      idleTimeoutMs: 60_000,
      maxConcurrentStreams: 2,
    });
    const channel = new GrpcChannel(`127.0.0.1:${server.port}`, undefined);
    // All sent at once on a new connection, before the client has the server's SETTINGS.
    const results = await Promise.all(Array.from({ length: 6 }, (_, i) => outcome(channel, '/t.T/Echo', {}, `call ${i}`)));
    expect(results.map((r) => r.replies[0] ?? GrpcStatus[r.code as never])).toEqual(Array.from({ length: 6 }, (_, i) => `call ${i}`));
    channel.close();
    await server.shutdown();
  });

  it('closes a connection whose keepalive ping goes unanswered, failing its calls with UNAVAILABLE; the next call reconnects', async () => {
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    const server = await GrpcServer.listen('127.0.0.1', 0, {
      handlers: new Map([
        ['/arrow.flight.protocol.FlightService/ListActions', async () => undefined],
        ['/arrow.flight.protocol.FlightService/DoAction', async (call) => Promise.race([released, new Promise((resolve) => call.signal.addEventListener('abort', resolve))]).then(() => undefined)],
      ]),
      toStatus: () => ({ code: GrpcStatus.INTERNAL, message: 'failed' }),
      maxMessageBytes: 1024,
      idleTimeoutMs: 60_000,
    });
    // A proxy whose existing links can be made to go silent, as a dead peer or a broken path would.
    const links: Array<{ client: Socket; frozen: boolean }> = [];
    const proxy: Server = createTcpServer((client) => {
      const link = { client, frozen: false };
      links.push(link);
      const back = connectTcp(server.port, '127.0.0.1');
      client.on('error', () => back.destroy());
      back.on('error', () => client.destroy());
      client.on('close', () => back.destroy());
      client.on('data', (chunk: Buffer) => link.frozen || back.write(chunk));
      back.on('data', (chunk: Buffer) => link.frozen || client.write(chunk));
    });
    await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
    const client = FlightClient.connect(`grpc://127.0.0.1:${(proxy.address() as { port: number }).port}`, { keepaliveIntervalMs: 100, keepaliveTimeoutMs: 300 });
    expect(await client.listActions()).toEqual([]);
    const hanging = client.doAction('wait').toArray();
    hanging.catch(() => undefined);
    await new Promise((resolve) => setTimeout(resolve, 50));
    for (const link of links) link.frozen = true;
    const closed = new Promise<boolean>((resolve) => {
      links[0]!.client.once('close', () => resolve(true));
      setTimeout(() => resolve(false), 5000);
    });
    expect(await closed).toBe(true);
    const failure = await hanging.then(() => undefined, (error: unknown) => error);
    expect(failure).toBeInstanceOf(FlightCallError);
    expect((failure as FlightCallError).grpcStatus).toBe('UNAVAILABLE');
    expect((failure as Error).message).toMatch(/keepalive ping/);
    // A new connection, through the same (working) proxy.
    expect(await client.listActions()).toEqual([]);
    expect(links.length).toBe(2);
    release();
    client.close();
    proxy.close();
    server.forceShutdown();
    await server.shutdown();
  });
});
