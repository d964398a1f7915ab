// The gRPC transport's pure parts: message framing, metadata encoding, timeouts.
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { InvalidArgumentError, ResourceExhaustedError, UnimplementedError } from '../../src/core/errors.js';
import { CallMetadata, encodeGrpcMessage, metadataHeaders, parseGrpcTimeout } from '../../src/grpc/metadata.js';
import { MessageDeframer, PREFIX_LENGTH, writeMessagePrefix } from '../../src/grpc/message-framing.js';

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

function deframe(body: Buffer, cuts: number[], deframer = new MessageDeframer(1 << 20)): Buffer[] {
  const out: Buffer[] = [];
  let at = 0;
  for (const cut of [...cuts, body.byteLength]) {
    deframer.push(body.subarray(at, cut), (message) => out.push(Buffer.from(message)));
    at = cut;
  }
  return out;
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
    const seen: Buffer[] = [];
    new MessageDeframer(1024).push(body, (message) => seen.push(message));
    expect(seen[0]!.buffer).toBe(body.buffer);
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

  it('decompresses gzip and deflate messages and refuses unknown flags and encodings', () => {
    const plain = Buffer.from('compressed payload '.repeat(20));
    expect(deframe(frame([gzipSync(plain)], 1), [9], new MessageDeframer(1024, 'gzip'))).toEqual([plain]);
    expect(() => deframe(frame([plain], 1), [])).toThrow(InvalidArgumentError);
    expect(() => deframe(frame([plain], 2), [])).toThrow(/flag 2/);
    expect(() => new MessageDeframer(1024, 'snappy')).toThrow(UnimplementedError);
    expect(() => deframe(frame([gzipSync(Buffer.alloc(4096))], 1), [], new MessageDeframer(1024, 'gzip'))).toThrow(ResourceExhaustedError);
    expect(() => deframe(frame([Buffer.from('not gzip')], 1), [], new MessageDeframer(1024, 'gzip'))).toThrow(/does not decompress/);
  });
});

describe('gRPC metadata', () => {
  it('parses grpc-timeout in every unit and ignores malformed values', () => {
    expect(parseGrpcTimeout('2H')).toBe(7_200_000);
    expect(parseGrpcTimeout('3M')).toBe(180_000);
    expect(parseGrpcTimeout('5S')).toBe(5000);
    expect(parseGrpcTimeout('250m')).toBe(250);
    expect(parseGrpcTimeout('1500u')).toBe(1.5);
    expect(parseGrpcTimeout('2000000n')).toBe(2);
    expect(parseGrpcTimeout(undefined)).toBeUndefined();
    expect(parseGrpcTimeout('123456789S')).toBeUndefined();
    expect(parseGrpcTimeout('10')).toBeUndefined();
    expect(parseGrpcTimeout('-1S')).toBeUndefined();
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
});
