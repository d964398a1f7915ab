// The gRPC transport's pure parts: message framing, metadata encoding, timeouts.
import { deflateSync, gzipSync } from 'node:zlib';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { InvalidArgumentError, ResourceExhaustedError, UnimplementedError } from '../../src/errors.js';
import { CallMetadata, encodeGrpcMessage, grpcTimeoutHeader, metadataHeaders, parseGrpcTimeout } from '../../src/grpc/metadata.js';
import { type DeframedMessage, MessageDeframer, PREFIX_LENGTH, writeMessagePrefix } from '../../src/grpc/message-framing.js';
import { MAX_TIMER_DELAY_MS, setLongTimeout } from '../../src/grpc/long-timer.js';

/** Frames messages as a gRPC request body. */
function frame(messages: Uint8Array[], flag = 0): Buffer {
  return Buffer.concat(
    messages.flatMap((message) => {
      const prefix = Buffer.alloc(PREFIX_LENGTH);
      writeMessagePrefix(prefix, 0, message.byteLength);
      prefix[0] = flag;
      return [prefix, Buffer.from(message)];
    }),
  );
}

/** Deframes synchronously; compressed messages stay promises. */
function deframeRaw(body: Buffer, cuts: number[], deframer = new MessageDeframer(1 << 20)): DeframedMessage[] {
  const out: DeframedMessage[] = [];
  let at = 0;
  for (const cut of [...cuts, body.byteLength]) {
    deframer.push(body.subarray(at, cut), (message) => out.push(message instanceof Buffer ? Buffer.from(message) : message));
    at = cut;
  }
  return out;
}

function deframe(body: Buffer, cuts: number[], deframer = new MessageDeframer(1 << 20)): Buffer[] {
  return deframeRaw(body, cuts, deframer).map((message) => {
    if (!(message instanceof Buffer)) throw new Error('a compressed message; use deframeAll');
    return message;
  });
}

/** Deframes and waits for every message, compressed ones too. */
function deframeAll(body: Buffer, cuts: number[], deframer = new MessageDeframer(1 << 20)): Promise<Buffer[]> {
  return Promise.all(deframeRaw(body, cuts, deframer));
}

describe('MessageDeframer', () => {
  const messages = [Buffer.from('first message'), Buffer.alloc(0), Buffer.from('x'.repeat(300)), Buffer.from('last')];
  const body = frame(messages);

  it('reassembles messages cut at every offset, and several in one chunk', () => {
    expect(deframe(body, [])).toEqual(messages);
    for (let cut = 1; cut < body.byteLength; cut++) expect(deframe(body, [cut])).toEqual(messages);
    expect(deframe(body, Array.from({ length: body.byteLength - 1 }, (_, i) => i + 1))).toEqual(messages);
  });

  it('hands out a message inside one chunk as a view, without copying', () => {
    const seen: DeframedMessage[] = [];
    new MessageDeframer(1024).push(body, (message) => seen.push(message));
    expect(seen[0]).toBeInstanceOf(Buffer);
    expect((seen[0] as Buffer).buffer).toBe(body.buffer);
  });

  it('knows when the body stops inside a message', () => {
    const deframer = new MessageDeframer(1024);
    deframer.push(body.subarray(0, 7), () => undefined);
    expect(deframer.partial).toBe(true);
    deframer.push(body.subarray(7), () => undefined);
    expect(deframer.partial).toBe(false);
  });

  it('refuses a message over the limit from its prefix, before buffering it', () => {
    const deframer = new MessageDeframer(100);
    // A prefix announcing 4 GiB − 1 bytes alone is refused: nothing waits for (or allocates) the rest.
    expect(() => deframer.push(Buffer.from([0, 0xff, 0xff, 0xff, 0xff]), () => undefined)).toThrow(ResourceExhaustedError);
    expect(() => deframe(frame([Buffer.alloc(101)]), [], new MessageDeframer(100))).toThrow(/101 bytes exceeds the limit of 100/);
  });

  it('reserves memory only as a message\'s bytes arrive, not from its untrusted length prefix', () => {
    // Eight prefixes announcing 2 GiB - 1 bytes each, followed by 1 KiB: once reserved 16 GiB.
    const before = process.memoryUsage().arrayBuffers;
    const deframers = Array.from({ length: 8 }, () => new MessageDeframer(2 ** 31 - 1));
    for (const deframer of deframers) {
      const prefix = Buffer.from([0, 0x7f, 0xff, 0xff, 0xff]);
      deframer.push(Buffer.concat([prefix, Buffer.alloc(1024, 7)]), () => undefined);
      expect(deframer.partial).toBe(true);
      expect(deframer.bufferedBytes).toBe(1024);
    }
    expect(process.memoryUsage().arrayBuffers - before).toBeLessThan(64 * 1024 * 1024);
  });

  it('allocates a spanning message once half of it has come, and reassembles it exactly', () => {
    const message = Buffer.from(Array.from({ length: 10_000 }, (_, i) => i % 251));
    const body = frame([message, Buffer.from('next')]);
    const deframer = new MessageDeframer(1 << 20);
    const out: DeframedMessage[] = [];
    deframer.push(body.subarray(0, 2000), (m) => out.push(m));
    expect(deframer.bufferedBytes).toBe(2000 - PREFIX_LENGTH);
    deframer.push(body.subarray(2000, 6000), (m) => out.push(m));
    expect(deframer.bufferedBytes).toBe(10_000);
    deframer.push(body.subarray(6000), (m) => out.push(m));
    expect(out).toEqual([message, Buffer.from('next')]);
    // A message split in two pieces, both held as views, is joined in one copy.
    expect(deframe(frame([message]), [PREFIX_LENGTH + 100, PREFIX_LENGTH + 9000])).toEqual([message]);
  });

  it('delivers an empty message whose prefix ends a chunk', () => {
    expect(deframe(frame([Buffer.alloc(0)]), [3])).toEqual([Buffer.alloc(0)]);
  });

  it('decompresses gzip and deflate messages and refuses unknown flags and encodings', async () => {
    const plain = Buffer.from('compressed payload '.repeat(20));
    expect(await deframeAll(frame([gzipSync(plain)], 1), [9], new MessageDeframer(1024, 'gzip'))).toEqual([plain]);
    expect(await deframeAll(frame([deflateSync(plain)], 1), [3], new MessageDeframer(1024, 'deflate'))).toEqual([plain]);
    expect(() => deframe(frame([plain], 1), [])).toThrow(InvalidArgumentError);
    expect(() => deframe(frame([plain], 2), [])).toThrow(/flag 2/);
    expect(() => new MessageDeframer(1024, 'snappy')).toThrow(UnimplementedError);
    await expect(deframeAll(frame([gzipSync(Buffer.alloc(4096))], 1), [], new MessageDeframer(1024, 'gzip'))).rejects.toThrow(ResourceExhaustedError);
    await expect(deframeAll(frame([Buffer.from('not gzip')], 1), [], new MessageDeframer(1024, 'gzip'))).rejects.toThrow(/does not decompress/);
  });

  it('inflates off the event loop: other work runs while a 16 MiB message inflates', async () => {
    const deframer = new MessageDeframer(128 << 20, 'gzip');
    let message: DeframedMessage | undefined;
    deframer.push(frame([gzipSync(Buffer.alloc(16 << 20, 1))], 1), (m) => (message = m));
    let turns = 0;
    let done = false;
    const turn = (): void => {
      if (done) return;
      turns++;
      setImmediate(turn);
    };
    setImmediate(turn);
    const inflated = await message!;
    done = true;
    expect(inflated.byteLength).toBe(16 << 20);
    expect(inflated[12345]).toBe(1);
    expect(turns).toBeGreaterThan(0);
  });

  it('keeps message order across compressed and plain messages', async () => {
    const compressed = (text: string): Buffer => frame([gzipSync(Buffer.from(text))], 1);
    const body = Buffer.concat([compressed('a'.repeat(100_000)), frame([Buffer.from('b')]), compressed('c'), frame([Buffer.from('d')])]);
    const out = await deframeAll(body, [7, 500], new MessageDeframer(1 << 20, 'gzip'));
    expect(out.map((m) => m.toString().slice(0, 1) + m.byteLength)).toEqual(['a100000', 'b1', 'c1', 'd1']);
  });
});

describe('setLongTimeout', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('fires a delay past setTimeout\'s 24.8-day range when it is due, not after 1 ms', () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'performance', 'Date'] });
    const thirtyDays = 30 * 24 * 3_600_000;
    let fired = 0;
    setLongTimeout(() => fired++, thirtyDays);
    vi.advanceTimersByTime(10);
    expect(fired).toBe(0);
    vi.advanceTimersByTime(MAX_TIMER_DELAY_MS);
    expect(fired).toBe(0);
    vi.advanceTimersByTime(thirtyDays - MAX_TIMER_DELAY_MS - 20);
    expect(fired).toBe(0);
    vi.advanceTimersByTime(20);
    expect(fired).toBe(1);
    vi.advanceTimersByTime(thirtyDays);
    expect(fired).toBe(1);
  });

  it('fires short delays, and never once cleared', () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'performance', 'Date'] });
    let fired = 0;
    setLongTimeout(() => fired++, 50);
    const cleared = setLongTimeout(() => fired++, 3 * MAX_TIMER_DELAY_MS);
    vi.advanceTimersByTime(50);
    expect(fired).toBe(1);
    cleared.clear();
    vi.advanceTimersByTime(4 * MAX_TIMER_DELAY_MS);
    expect(fired).toBe(1);
  });
});

describe('gRPC metadata', () => {
  it('parses grpc-timeout in every unit, long deadlines included, and refuses anything else', () => {
    expect(parseGrpcTimeout('2H')).toBe(7_200_000);
    expect(parseGrpcTimeout('3M')).toBe(180_000);
    expect(parseGrpcTimeout('5S')).toBe(5000);
    expect(parseGrpcTimeout('250m')).toBe(250);
    expect(parseGrpcTimeout('1500u')).toBe(1.5);
    expect(parseGrpcTimeout('2000000n')).toBe(2);
    expect(parseGrpcTimeout('2592000S')).toBe(2_592_000_000);
    expect(parseGrpcTimeout('99999999H')).toBe(99_999_999 * 3_600_000);
    expect(parseGrpcTimeout(undefined)).toBeUndefined();
    for (const malformed of ['123456789S', '10', '-1S', '+1S', ' 5S', '5S ', '5s', '5.0S', '1\uFF10S', 'S', '', '5SS']) {
      expect(() => parseGrpcTimeout(malformed), malformed).toThrow(InvalidArgumentError);
    }
  });

  it('writes grpc-timeout in the finest unit whose 8 digits hold the deadline', () => {
    expect(grpcTimeoutHeader(100)).toBe('100m');
    expect(grpcTimeoutHeader(0.2)).toBe('1m');
    expect(grpcTimeoutHeader(99_999_999)).toBe('99999999m');
    expect(grpcTimeoutHeader(100_000_000)).toBe('100000S');
    expect(grpcTimeoutHeader(30 * 24 * 3_600_000)).toBe('2592000S');
    expect(grpcTimeoutHeader(100_000_000_001)).toBe('1666667M');
    expect(grpcTimeoutHeader(99_999_999 * 60_000 + 1)).toBe('1666667H');
    expect(grpcTimeoutHeader(Number.POSITIVE_INFINITY)).toBe('99999999H');
    for (const ms of [1, 99_999_999, 100_000_000, 2_592_000_000, 10 * 365 * 86_400_000]) {
      expect(parseGrpcTimeout(grpcTimeoutHeader(ms))).toBeGreaterThanOrEqual(ms);
    }
  });

  it('percent-encodes grpc-message outside printable ASCII, and % itself', () => {
    expect(encodeGrpcMessage('plain text')).toBe('plain text');
    expect(encodeGrpcMessage('100% sure\nnext')).toBe('100%25 sure%0Anext');
    expect(encodeGrpcMessage('naïve')).toBe('na%C3%AFve');
  });

  it('sends binary values as unpadded base64 and reads padded or unpadded ones', () => {
    const headers = metadataHeaders({ 'x-text': 'as is', 'x-detail-bin': Buffer.from('{"a":1}') });
    expect(headers).toEqual({ 'x-text': 'as is', 'x-detail-bin': 'eyJhIjoxfQ' });
    const metadata = new CallMetadata({ 'x-padded-bin': 'eyJhIjoxfQ==', 'x-unpadded-bin': 'eyJhIjoxfQ', 'x-list': ['one', 'two'] });
    expect(metadata.getBinary('x-padded-bin')!.toString()).toBe('{"a":1}');
    expect(metadata.getBinary('x-unpadded-bin')!.toString()).toBe('{"a":1}');
    expect(metadata.get('x-list')).toBe('one');
    expect(metadata.get('absent')).toBeUndefined();
  });

  it('splits repeated binary values joined with commas before decoding each', () => {
    const metadata = new CallMetadata({ 'x-joined-bin': 'YQ, Yg==,Yw ,  ZGQ', 'x-list-bin': ['YQ', 'Yg, Yw'] });
    expect(metadata.getBinaryValues('x-joined-bin').map(String)).toEqual(['a', 'b', 'c', 'dd']);
    expect(metadata.getBinary('x-joined-bin')!.toString()).toBe('a');
    expect(metadata.getBinaryValues('x-list-bin').map(String)).toEqual(['a', 'b', 'c']);
    expect(metadata.getBinaryValues('absent-bin')).toEqual([]);
  });
});
