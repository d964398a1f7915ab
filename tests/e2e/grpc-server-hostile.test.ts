// Hangar's gRPC server against hostile or unusual peers: bare node:http2 clients and a client
// written frame by frame. Long deadlines, malformed timeouts, lying length prefixes, compression,
// joined binary metadata, and more streams than a connection may open.
import { type ClientHttp2Session, connect, constants } from 'node:http2';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { toHangarError } from '../../src/errors.js';
import { type CallHandler, DEFAULT_MAX_CONCURRENT_STREAMS, GrpcServer, type GrpcServerOptions } from '../../src/server/transport/grpc-server.js';
import { GrpcStatus } from '../../src/grpc/status.js';
import { HangarServer } from '../../src/server/hangar-server.js';
import { PREFIX_LENGTH } from '../../src/grpc/message-framing.js';
import { framed, reply } from './fixtures/grpc-replies.js';
import { Flag, FrameType, frame, headerBlock, rawClient, rstStreamFrame } from './fixtures/raw-http2.js';




const grpcHeaders = (path: string, extra: Record<string, string> = {}) => ({
  ':method': 'POST',
  ':path': path,
  'content-type': 'application/grpc',
  te: 'trailers',
  ...extra,
});

describe('gRPC server against hostile peers', () => {
  let server: GrpcServer;
  let session: ClientHttp2Session;
  const started: string[] = [];
  const handlers = new Map<string, CallHandler>([
    ['/t.T/Echo', async (call) => call.write(await call.request())],
    [
      '/t.T/Count',
      async (call) => {
        const sizes: number[] = [];
        for await (const message of call.messages()) sizes.push(message.byteLength);
        await call.write(Buffer.from(JSON.stringify(sizes)));
      },
    ],
    [
      '/t.T/Wait',
      async (call) => {
        started.push('wait');
        await new Promise<void>((resolve) => call.signal.addEventListener('abort', () => resolve()));
        throw call.signal.reason;
      },
    ],
    ['/t.T/Bin', async (call) => call.write(Buffer.from(JSON.stringify(call.metadata.getBinaryValues('x-list-bin').map(String))))],
  ]);
  const options: GrpcServerOptions = {
    handlers,
    toStatus: (error) => {
      const hangar = toHangarError(error);
      return { code: GrpcStatus[hangar.code], message: hangar.message };
    },
    maxMessageBytes: 2 ** 31 - 1,
    idleTimeoutMs: 60_000,
  };

  beforeAll(async () => {
    server = await GrpcServer.listen('127.0.0.1', 0, options);
    session = connect(`http://127.0.0.1:${server.port}`);
  });
  afterAll(async () => {
    session.close();
    await server.shutdown();
  });

  /** Resolves once the server has processed every frame sent before (a PING is answered in order). */
  const roundTrip = (): Promise<void> => new Promise((resolve) => session.ping(() => setImmediate(resolve)));

  it("keeps a call with grpc-go's 30-day deadline (2592000S) running instead of failing it at once", async () => {
    const stream = session.request(grpcHeaders('/t.T/Wait', { 'grpc-timeout': '2592000S' }));
    const got = reply(stream);
    stream.end(framed(Buffer.alloc(1)));
    await roundTrip();
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(stream.closed).toBe(false);
    expect(server.runningCalls).toBe(1);
    stream.close(constants.NGHTTP2_CANCEL);
    await got;
  });

  it('refuses a malformed grpc-timeout with a clear error, without running the call', async () => {
    for (const timeout of ['123456789S', '5s', '-5S', '1.5S']) {
      const before = started.length;
      const stream = session.request(grpcHeaders('/t.T/Wait', { 'grpc-timeout': timeout }));
      stream.end(framed(Buffer.alloc(1)));
      const got = await reply(stream);
      expect(got.grpcStatus, timeout).toBe(GrpcStatus.INVALID_ARGUMENT);
      expect(got.grpcMessage).toMatch(/malformed grpc-timeout/);
      expect(started.length).toBe(before);
    }
  });

  it('reserves no memory for length prefixes whose bytes have not come (8 × 2 GiB announced)', async () => {
    const before = process.memoryUsage().arrayBuffers;
    const streams = Array.from({ length: 8 }, () => {
      const stream = session.request(grpcHeaders('/t.T/Count'));
      stream.on('error', () => undefined);
      stream.write(Buffer.concat([Buffer.from([0, 0x7f, 0xff, 0xff, 0xff]), Buffer.alloc(4096, 1)]));
      return stream;
    });
    await roundTrip();
    expect(process.memoryUsage().arrayBuffers - before).toBeLessThan(256 * 1024 * 1024);
    for (const stream of streams) stream.close(constants.NGHTTP2_CANCEL);
  });

  it('inflates gzip requests in order, and refuses one over the limit once inflated', async () => {
    const stream = session.request(grpcHeaders('/t.T/Count', { 'grpc-encoding': 'gzip' }));
    stream.end(Buffer.concat([framed(gzipSync(Buffer.alloc(300_000, 3)), 1), framed(Buffer.from('b')), framed(gzipSync(Buffer.from('cc')), 1)]));
    const got = await reply(stream);
    expect(got.grpcStatus).toBe(GrpcStatus.OK);
    expect(JSON.parse(got.body.subarray(PREFIX_LENGTH).toString())).toEqual([300_000, 1, 2]);

    const small = await GrpcServer.listen('127.0.0.1', 0, { ...options, maxMessageBytes: 1 << 20 });
    const other = connect(`http://127.0.0.1:${small.port}`);
    const bomb = other.request(grpcHeaders('/t.T/Count', { 'grpc-encoding': 'gzip' }));
    bomb.end(framed(gzipSync(Buffer.alloc(8 << 20)), 1));
    const refused = await reply(bomb);
    expect(refused.grpcStatus).toBe(GrpcStatus.RESOURCE_EXHAUSTED);
    expect(refused.grpcMessage).toMatch(/decompressed message exceeds the limit of 1048576 bytes/);
    other.close();
    await small.shutdown();
  });

  it('splits repeated -bin values joined with commas before decoding them', async () => {
    const stream = session.request(grpcHeaders('/t.T/Bin', { 'x-list-bin': 'YQ, Yg==,Yw' }));
    stream.end(framed(Buffer.alloc(0)));
    const got = await reply(stream);
    expect(JSON.parse(got.body.subarray(PREFIX_LENGTH).toString())).toEqual(['a', 'b', 'c']);
  });

  const requestBlock = (path: string): Buffer =>
    headerBlock({ ':method': 'POST', ':scheme': 'http', ':path': path, ':authority': 'localhost', 'content-type': 'application/grpc', te: 'trailers' });

  it('advertises a cap on concurrent streams, refuses streams past it with REFUSED_STREAM and keeps the connection serving', async () => {
    // 101 calls sent at once, before the client has read the server's SETTINGS.
    const ids = Array.from({ length: DEFAULT_MAX_CONCURRENT_STREAMS + 1 }, (_, i) => 2 * i + 1);
    const raw = await rawClient(server.port, Buffer.concat(ids.map((id) => frame(FrameType.HEADERS, Flag.END_HEADERS, id, requestBlock('/t.T/Echo')))));
    const settings = raw.reader.frames.find((f) => f.type === FrameType.SETTINGS && f.flags === 0)!;
    const advertised = new Map<number, number>();
    for (let at = 0; at + 6 <= settings.payload.byteLength; at += 6) advertised.set(settings.payload.readUInt16BE(at), settings.payload.readUInt32BE(at + 2));
    expect(advertised.get(0x3)).toBe(DEFAULT_MAX_CONCURRENT_STREAMS);

    const extra = ids[ids.length - 1]!;
    const refused = await raw.reader.waitFor((f) => f.type === FrameType.RST_STREAM && f.streamId === extra);
    expect(refused?.payload.readUInt32BE(0)).toBe(constants.NGHTTP2_REFUSED_STREAM);
    // Only the extra stream was refused; the connection is alive.
    raw.send(frame(FrameType.PING, 0, 0, Buffer.from('liveness')));
    expect(await raw.reader.waitFor((f) => f.type === FrameType.PING && (f.flags & Flag.ACK) !== 0)).toBeDefined();
    expect(raw.reader.frames.some((f) => f.type === FrameType.GOAWAY)).toBe(false);
    expect(raw.reader.frames.filter((f) => f.type === FrameType.RST_STREAM).map((f) => f.streamId)).toEqual([extra]);

    // A slot freed, a new call on the same connection is served.
    raw.send(rstStreamFrame(1, constants.NGHTTP2_CANCEL));
    const next = extra + 2;
    raw.send(Buffer.concat([frame(FrameType.HEADERS, Flag.END_HEADERS, next, requestBlock('/t.T/Echo')), frame(FrameType.DATA, Flag.END_STREAM, next, framed(Buffer.from('still here')))]));
    const data = await raw.reader.waitFor((f) => f.type === FrameType.DATA && f.streamId === next && f.payload.byteLength > 0);
    expect(data?.payload.subarray(PREFIX_LENGTH).toString()).toBe('still here');
    raw.socket.destroy();
  });

  it('takes the cap from its options; a client that ignores acknowledged SETTINGS loses only its own connection', async () => {
    const capped = await GrpcServer.listen('127.0.0.1', 0, { ...options, maxConcurrentStreams: 2 });
    const raw = await rawClient(capped.port);
    raw.send(Buffer.concat([1, 3, 5].map((id) => frame(FrameType.HEADERS, Flag.END_HEADERS, id, requestBlock('/t.T/Echo')))));
    // nghttp2 (under node:http2) treats a breach of acknowledged SETTINGS as a connection error.
    expect(await raw.reader.waitFor((f) => f.type === FrameType.GOAWAY)).toBeDefined();
    // Everyone else is served as before; a node:http2 client that has the SETTINGS queues past the cap.
    const other = connect(`http://127.0.0.1:${capped.port}`);
    await new Promise((resolve) => other.once('remoteSettings', resolve));
    const calls = Array.from({ length: 6 }, (_, i) => {
      const stream = other.request(grpcHeaders('/t.T/Echo'));
      stream.end(framed(Buffer.from(`call ${i}`)));
      return reply(stream);
    });
    const replies = await Promise.all(calls);
    expect(replies.map((r) => r.body.subarray(PREFIX_LENGTH).toString())).toEqual(Array.from({ length: 6 }, (_, i) => `call ${i}`));
    other.close();
    raw.socket.destroy();
    await capped.shutdown();
  });

  it("takes HangarServer's maxConcurrentStreams option to the wire", async () => {
    const hangar = await HangarServer.start({ port: 0, data: 'memory:', maxConcurrentStreams: 7 });
    const raw = await rawClient(hangar.port);
    const settings = raw.reader.frames.find((f) => f.type === FrameType.SETTINGS && f.flags === 0)!;
    const advertised = new Map<number, number>();
    for (let at = 0; at + 6 <= settings.payload.byteLength; at += 6) advertised.set(settings.payload.readUInt16BE(at), settings.payload.readUInt32BE(at + 2));
    expect(advertised.get(0x3)).toBe(7);
    raw.socket.destroy();
    await hangar.close();
  });
});
