// Hangar's gRPC transport on the wire, driven by a bare node:http2 client: what stock clients may
// send (deadlines, compression, early ends, resets) and what they must get back.
import { type ClientHttp2Session, connect, constants } from 'node:http2';
import { gzipSync } from 'node:zlib';
import { Client, Metadata, credentials, status as grpcStatus } from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { toHangarError } from '../../src/errors.js';
import { type CallHandler, GrpcServer } from '../../src/server/transport/grpc-server.js';
import { GrpcStatus } from '../../src/grpc/status.js';
import { PREFIX_LENGTH } from '../../src/grpc/message-framing.js';
import { CALLS_AHEAD_MAX, WRITE_BUDGET_BYTES } from '../../src/server/transport/server-call.js';
import { framed, reply } from './fixtures/grpc-replies.js';




describe('gRPC transport on the wire', () => {
  let server: GrpcServer;
  let session: ClientHttp2Session;
  const seen: { aborted?: boolean; messages?: number } = {};
  const handlers = new Map<string, CallHandler>([
    ['/t.T/Echo', async (call) => call.write(await call.request())],
    [
      '/t.T/Count',
      async (call) => {
        let count = 0;
        let bytes = 0;
        for await (const message of call.messages()) {
          count++;
          bytes += message.byteLength;
        }
        call.setTrailers({ 'x-count': String(count) });
        await call.write(Buffer.from(String(bytes)));
      },
    ],
    [
      '/t.T/Wait',
      async (call) => {
        await new Promise<void>((resolve) => call.signal.addEventListener('abort', () => resolve()));
        seen.aborted = true;
        throw call.signal.reason;
      },
    ],
    [
      '/t.T/Refuse',
      async () => {
        throw new Error('refused at once');
      },
    ],
  ]);

  beforeAll(async () => {
    server = await GrpcServer.listen('127.0.0.1', 0, {
      handlers,
      toStatus: (error) => {
        const hangar = toHangarError(error);
        return { code: GrpcStatus[hangar.code], message: hangar.message };
      },
      maxMessageBytes: 1 << 20,
      idleTimeoutMs: 60_000,
    });
    session = connect(`http://127.0.0.1:${server.port}`);
  });
  afterAll(async () => {
    session.close();
    await server.shutdown();
  });

  const grpcHeaders = (path: string, extra: Record<string, string> = {}) => ({
    ':method': 'POST',
    ':path': path,
    'content-type': 'application/grpc',
    te: 'trailers',
    ...extra,
  });

  it('answers a unary call with headers, one framed message and OK trailers', async () => {
    const stream = session.request(grpcHeaders('/t.T/Echo'));
    stream.end(framed(Buffer.from('hello')));
    const got = await reply(stream);
    expect(got.status).toBe(200);
    expect(got.headers['content-type']).toBe('application/grpc');
    expect(got.body).toEqual(framed(Buffer.from('hello')));
    expect(got.grpcStatus).toBe(GrpcStatus.OK);
  });

  it('reads a stream of messages, whatever its chunking, and sends extra trailers with the status', async () => {
    const stream = session.request(grpcHeaders('/t.T/Count'));
    const body = Buffer.concat(Array.from({ length: 50 }, (_, i) => framed(Buffer.alloc(i * 1000, i))));
    for (let at = 0; at < body.byteLength; at += 7777) stream.write(body.subarray(at, at + 7777));
    stream.end();
    const got = await reply(stream);
    expect(got.grpcStatus).toBe(GrpcStatus.OK);
    expect(got.trailers['x-count']).toBe('50');
    expect(got.body.subarray(PREFIX_LENGTH).toString()).toBe(String((49 * 50 * 1000) / 2));
  });

  it('decompresses a gzip request', async () => {
    const stream = session.request(grpcHeaders('/t.T/Echo', { 'grpc-encoding': 'gzip' }));
    stream.end(framed(gzipSync(Buffer.from('squeezed')), 1));
    expect((await reply(stream)).body.subarray(PREFIX_LENGTH).toString()).toBe('squeezed');
  });

  it('refuses what is not gRPC in HTTP terms, and an unknown method with UNIMPLEMENTED', async () => {
    const get = session.request({ ':method': 'GET', ':path': '/t.T/Echo' });
    get.end();
    expect((await reply(get)).status).toBe(405);
    const json = session.request({ ':method': 'POST', ':path': '/t.T/Echo', 'content-type': 'application/json' });
    json.end();
    expect((await reply(json)).status).toBe(415);
    const unknown = session.request(grpcHeaders('/t.T/Nope'));
    unknown.end(framed(Buffer.alloc(1)));
    const got = await reply(unknown);
    expect(got.grpcStatus).toBe(GrpcStatus.UNIMPLEMENTED);
    expect(got.headers['grpc-message']).toBe('this server does not implement /t.T/Nope');
  });

  it('refuses an unsupported encoding, a message over the limit and a body ending inside a message', async () => {
    const snappy = session.request(grpcHeaders('/t.T/Echo', { 'grpc-encoding': 'snappy' }));
    snappy.end(framed(Buffer.alloc(1), 1));
    expect((await reply(snappy)).grpcStatus).toBe(GrpcStatus.UNIMPLEMENTED);
    const big = session.request(grpcHeaders('/t.T/Count'));
    big.end(framed(Buffer.alloc((1 << 20) + 1)));
    expect((await reply(big)).grpcStatus).toBe(GrpcStatus.RESOURCE_EXHAUSTED);
    const cut = session.request(grpcHeaders('/t.T/Count'));
    cut.end(framed(Buffer.alloc(100)).subarray(0, 50));
    const got = await reply(cut);
    expect(got.grpcStatus).toBe(GrpcStatus.INVALID_ARGUMENT);
    expect(decodeURIComponent(String(got.headers['grpc-message']))).toMatch(/ended inside a message/);
  });

  it('ends a call at its deadline with DEADLINE_EXCEEDED and aborts the handler', async () => {
    const started = Date.now();
    const stream = session.request(grpcHeaders('/t.T/Wait', { 'grpc-timeout': '100m' }));
    stream.end(framed(Buffer.alloc(1)));
    const got = await reply(stream);
    expect(got.grpcStatus).toBe(GrpcStatus.DEADLINE_EXCEEDED);
    expect(Date.now() - started).toBeGreaterThanOrEqual(95);
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(seen.aborted).toBe(true);
  });

  it('aborts the handler when the client resets the stream', async () => {
    seen.aborted = false;
    const stream = session.request(grpcHeaders('/t.T/Wait'));
    stream.write(framed(Buffer.alloc(1)));
    await new Promise((resolve) => setTimeout(resolve, 50));
    stream.close(constants.NGHTTP2_CANCEL);
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(seen.aborted).toBe(true);
    expect(server.runningCalls).toBe(0);
  });

  it('answers an early failure at once and tells a client still sending to stop (RST_STREAM NO_ERROR)', async () => {
    const stream = session.request(grpcHeaders('/t.T/Refuse'));
    stream.write(framed(Buffer.alloc(1000)));
    const got = await reply(stream);
    expect(got.grpcStatus).toBe(GrpcStatus.INTERNAL);
    expect(got.reset).toBe(constants.NGHTTP2_NO_ERROR);
  });

  it('holds back a client whose messages are not read (flow control), then takes them all', async () => {
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    handlers.set('/t.T/Slow', async (call) => {
      await gate;
      let bytes = 0;
      for await (const message of call.messages()) bytes += message.byteLength;
      await call.write(Buffer.from(String(bytes)));
    });
    const stream = session.request(grpcHeaders('/t.T/Slow'));
    const message = framed(Buffer.alloc(1 << 19));
    let written = 0;
    const writing = (async () => {
      for (let i = 0; i < 160; i++) {
        written++;
        if (!stream.write(message)) await new Promise((resolve) => stream.once('drain', resolve));
      }
      stream.end();
    })();
    await new Promise((resolve) => setTimeout(resolve, 300));
    // 80 MiB offered; the stream's 16 MiB window (and the client's own buffer) stop it well short.
    expect(written).toBeLessThan(100);
    release();
    await writing;
    const got = await reply(stream);
    expect(got.body.subarray(PREFIX_LENGTH).toString()).toBe(String(160 * (1 << 19)));
  });

  it('writes a reply the client does not read up to the write budget without waiting, then waits; every message arrives in order', async () => {
    const size = 1 << 19;
    const count = 100;
    let written = 0;
    handlers.set('/t.T/Flood', async (call) => {
      await call.request();
      for (let i = 0; i < count; i++) {
        written++;
        await call.write(Buffer.alloc(size, i));
      }
    });
    const stream = session.request(grpcHeaders('/t.T/Flood'));
    stream.end(framed(Buffer.alloc(0)));
    stream.pause();
    await new Promise((resolve) => setTimeout(resolve, 300));
    // 50 MiB offered and nothing read: the handler went on while less than the budget waited to
    // be sent (before, each write waited for the one before it to leave), and stopped past it.
    expect(written).toBeGreaterThan(8);
    expect(written).toBeLessThanOrEqual(Math.ceil(WRITE_BUDGET_BYTES / size) + 1);
    const got = reply(stream);
    stream.resume();
    const { body, grpcStatus } = await got;
    expect(grpcStatus).toBe(GrpcStatus.OK);
    expect(body.byteLength).toBe(count * (PREFIX_LENGTH + size));
    for (let i = 0; i < count; i++) {
      const at = i * (PREFIX_LENGTH + size);
      expect(body.readUInt32BE(at + 1)).toBe(size);
      expect(body[at + PREFIX_LENGTH]).toBe(i % 256);
      expect(body[at + PREFIX_LENGTH + size - 1]).toBe(i % 256);
    }
  });

  it(`lets at most ${CALLS_AHEAD_MAX} calls run ahead of clients that do not read; the others send a message at a time`, async () => {
    const size = 1 << 19;
    const count = 40;
    const calls = CALLS_AHEAD_MAX + 3;
    const written = new Array<number>(calls).fill(0);
    handlers.set('/t.T/FloodMany', async (call) => {
      const index = (await call.request()).readUInt8(0);
      for (let i = 0; i < count; i++) {
        written[index]!++;
        await call.write(Buffer.alloc(size, i));
      }
    });
    const streams = Array.from({ length: calls }, (_, index) => {
      const stream = session.request(grpcHeaders('/t.T/FloodMany'));
      stream.end(framed(Buffer.from([index])));
      stream.pause();
      return stream;
    });
    await new Promise((resolve) => setTimeout(resolve, 500));
    const perBudget = Math.ceil(WRITE_BUDGET_BYTES / size) + 1;
    // Those that ran ahead stopped at the budget; the rest stopped after about one message each
    // (what the connection's flow-control window and the stream's buffer take).
    expect(written.filter((n) => n > 4)).toHaveLength(CALLS_AHEAD_MAX);
    for (const n of written) expect(n).toBeLessThanOrEqual(perBudget);
    const replies = streams.map((stream) => reply(stream));
    for (const stream of streams) stream.resume();
    for (const { body, grpcStatus } of await Promise.all(replies)) {
      expect(grpcStatus).toBe(GrpcStatus.OK);
      expect(body.byteLength).toBe(count * (PREFIX_LENGTH + size));
    }
  });

  it("gives grpc-js clients their deadline's status", async () => {
    const client = new Client(`127.0.0.1:${server.port}`, credentials.createInsecure());
    const error = await new Promise<{ code: number }>((resolve) =>
      client.makeUnaryRequest('/t.T/Wait', (b: Buffer) => b, (b: Buffer) => b, Buffer.alloc(1), new Metadata(), { deadline: Date.now() + 100 }, (e) => resolve(e!)),
    );
    expect(error.code).toBe(grpcStatus.DEADLINE_EXCEEDED);
    client.close();
  });
});

describe('gRPC transport connections', () => {
  it('closes a connection idle for longer than the idle timeout', async () => {
    const server = await GrpcServer.listen('127.0.0.1', 0, { handlers: new Map(), toStatus: () => ({ code: 13, message: '' }), maxMessageBytes: 1024, idleTimeoutMs: 100 });
    const session = connect(`http://127.0.0.1:${server.port}`);
    const goaway = new Promise<boolean>((resolve) => session.once('goaway', () => resolve(true)));
    expect(await Promise.race([goaway, new Promise((resolve) => setTimeout(() => resolve(false), 2000))])).toBe(true);
    session.destroy();
    await server.shutdown();
  });

  it('lets a running call finish on shutdown and refuses new connections', async () => {
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const handlers = new Map<string, CallHandler>([['/t.T/Hold', async (call) => (await gate, call.write(Buffer.from('done')))]]);
    const server = await GrpcServer.listen('127.0.0.1', 0, { handlers, toStatus: () => ({ code: 13, message: '' }), maxMessageBytes: 1024, idleTimeoutMs: 60_000 });
    const session = connect(`http://127.0.0.1:${server.port}`);
    const stream = session.request({ ':method': 'POST', ':path': '/t.T/Hold', 'content-type': 'application/grpc' });
    stream.end(framed(Buffer.alloc(1)));
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(server.runningCalls).toBe(1);
    const shutdown = server.shutdown();
    release();
    const got = await reply(stream);
    expect(got.grpcStatus).toBe(GrpcStatus.OK);
    expect(got.body.subarray(PREFIX_LENGTH).toString()).toBe('done');
    await shutdown;
    const late = connect(`http://127.0.0.1:${server.port}`);
    const failed = await new Promise<boolean>((resolve) => {
      late.once('error', () => resolve(true));
      late.once('connect', () => resolve(false));
    });
    expect(failed).toBe(true);
    late.destroy();
  });
});
