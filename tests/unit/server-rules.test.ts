import { describe, expect, it } from 'vitest';
import type { ObjectLayout } from '../../src/storage/object-layout.js';
import { LocalConnector } from '../../src/connectors/local/local-connector.js';
import { MemoryConnector } from '../../src/connectors/memory/memory-connector.js';
import { defaultConnectorRegistry } from '../../src/connectors/registry.js';
import { AlreadyExistsError, BucketNotEmptyError, InvalidArgumentError, NotFoundError } from '../../src/errors.js';
import { parseCriteria, parsePutDescriptor, parseTicket } from '../../src/server/dataframe-protocol.js';
import { DescriptorType } from '../../src/flight/flight-messages.js';
import { HANGAR_ERROR_TRAILER, clientFamily, toCallStatus } from '../../src/server/status-mapping.js';
import { CallMetadata } from '../../src/grpc/metadata.js';
import { GrpcStatus as status } from '../../src/grpc/status.js';

const agent = (value: string): CallMetadata => new CallMetadata({ 'user-agent': value });
const trailer = (status: ReturnType<typeof toCallStatus>, name: string): string | undefined => {
  const value = status.trailers?.[name];
  return value === undefined ? undefined : Buffer.from(value).toString('utf8');
};
const PYARROW = agent('grpc-c++/1.54.3 grpc-c/31.0.0 (linux; chttp2)');
const GO = agent('grpc-go/1.64.0');
const JS = agent('grpc-node-js/1.14.0');

describe('status mapping', () => {
  it('classifies clients by user-agent', () => {
    expect(clientFamily(PYARROW)).toBe('arrow-cpp');
    expect(clientFamily(GO)).toBe('other');
    expect(clientFamily(JS)).toBe('other');
    expect(clientFamily(undefined)).toBe('other');
  });

  it('maps error types to precise gRPC codes with a JSON detail', () => {
    const error = toCallStatus(new NotFoundError('frame x missing'), JS);
    expect(error.code).toBe(status.NOT_FOUND);
    expect(error.message).toBe('frame x missing');
    const detail = JSON.parse(trailer(error, HANGAR_ERROR_TRAILER)!);
    expect(detail).toEqual({ type: 'FileNotFoundError', message: 'frame x missing', code: 'NOT_FOUND' });
    expect(toCallStatus(new InvalidArgumentError('bad'), JS).code).toBe(status.INVALID_ARGUMENT);
    expect(toCallStatus(new AlreadyExistsError('dup'), JS).code).toBe(status.ALREADY_EXISTS);
    expect(toCallStatus(new BucketNotEmptyError('b'), JS).code).toBe(status.FAILED_PRECONDITION);
    expect(toCallStatus(new Error('kaboom'), JS).code).toBe(status.INTERNAL);
  });

  it("gives Arrow C++ clients shoots' convention for the types shoots translates", () => {
    const error = toCallStatus(new AlreadyExistsError('dup'), PYARROW);
    expect(error.code).toBe(status.UNKNOWN);
    expect(trailer(error, 'x-arrow-status')).toBe('45');
    expect(JSON.parse(trailer(error, 'grpc-status-details-bin')!).type).toBe('FileExistsError');
    const invalid = toCallStatus(new InvalidArgumentError('bad'), PYARROW);
    expect(invalid.code).toBe(status.INVALID_ARGUMENT);
    expect(trailer(invalid, 'x-arrow-status')).toBeUndefined();
  });

  it('keeps grpc-status-details-bin, reserved for a protobuf, to Arrow C++ clients, which read JSON there', () => {
    for (const client of [GO, JS]) {
      const error = toCallStatus(new NotFoundError('gone'), client);
      expect(error.code).toBe(status.NOT_FOUND);
      expect(trailer(error, 'grpc-status-details-bin')).toBeUndefined();
      expect(JSON.parse(trailer(error, HANGAR_ERROR_TRAILER)!).code).toBe('NOT_FOUND');
    }
    expect(JSON.parse(trailer(toCallStatus(new NotFoundError('gone'), PYARROW), 'grpc-status-details-bin')!).code).toBe('NOT_FOUND');
  });
});

describe('dataframe protocol parsing', () => {
  const json = (value: unknown): Uint8Array => Buffer.from(JSON.stringify(value));

  it('reads shoots put commands and PATH descriptors', () => {
    expect(parsePutDescriptor({ type: DescriptorType.Cmd, cmd: json({ name: 'f', mode: 'append', bucket: null, batch_size: 5000 }) }))
      .toEqual({ name: 'f', bucket: 'default', mode: 'append' });
    expect(parsePutDescriptor({ type: DescriptorType.Path, path: ['f', 'b'] })).toEqual({ name: 'f', bucket: 'b', mode: 'error' });
    expect(() => parsePutDescriptor({ type: DescriptorType.Path, path: ['a', 'b', 'c'] })).toThrow(/\[name\] or \[name, bucket\]/);
    expect(() => parsePutDescriptor(undefined)).toThrow(/no FlightDescriptor/);
    expect(() => parsePutDescriptor({ type: DescriptorType.Cmd, cmd: Buffer.from('{nope') })).toThrow(/not valid UTF-8 JSON/);
    expect(() => parsePutDescriptor({ type: DescriptorType.Cmd, cmd: json([1]) })).toThrow(/must be a JSON object/);
  });

  it('reads tickets and criteria', () => {
    expect(parseTicket(json({ name: 'f', bucket: 'b', columns: ['x'] }))).toEqual({ kind: 'frame', name: 'f', bucket: 'b', columns: ['x'] });
    expect(() => parseTicket(json({ name: 'f', columns: 'x' }))).toThrow(/"columns" must be a list/);
    expect(parseTicket(json({ name: 'f', sql: 'select 1' }))).toEqual({ kind: 'sql', sql: 'select 1', bucket: 'default' });
    expect(() => parseTicket(json({ sql: '  ' }))).toThrow(/"sql" must be a non-empty string/);
    // Unknown fields are refused (issue 22): a misspelt option must not be silently ignored.
    expect(() => parseTicket(json({ name: 'f', batch_size: 9 }))).toThrow(/unknown field "batch_size" in the ticket/);
    expect(parseTicket(json({ name: 'f', start: '1970-01-01T00:00:01Z', end: 2.5, limit: 3 }))).toEqual({
      kind: 'frame',
      name: 'f',
      bucket: 'default',
      start: 1_000_000_000n,
      end: 2_500_000_000n,
      limit: 3,
    });
    expect(parseTicket(json({ name: 'f', bucket: null, start: null, end: null, limit: null }))).toEqual({ kind: 'frame', name: 'f', bucket: 'default' });
    expect(() => parseTicket(json({ name: 'f', start: 'May 1st' }))).toThrow(/"start" "May 1st" is not valid/);
    expect(() => parseTicket(json({ name: 'f', end: [2024] }))).toThrow(/"end"/);
    expect(() => parseTicket(json({ name: 'f', limit: '10' }))).toThrow(/"limit" must be a non-negative integer/);
    expect(() => parseTicket(json({ name: 'f', limit: 2 ** 60 }))).toThrow(/"limit"/);
    expect(parseCriteria(new Uint8Array(0))).toEqual({ bucket: 'default' });
    expect(parseCriteria(json({ bucket: 'b', regex: '^a' }))).toEqual({ bucket: 'b', regex: '^a' });
    expect(() => parseCriteria(json({ regex: 5 }))).toThrow(/"regex" must be a string/);
  });
});

describe('connector registry', () => {
  it('maps schemes and plain paths to connectors', async () => {
    const registry = defaultConnectorRegistry();
    const connectorOf = async (location: string) => ((await registry.create(location)) as ObjectLayout).connector;
    expect(await connectorOf('memory:')).toBeInstanceOf(MemoryConnector);
    expect(await connectorOf('file:///tmp/x')).toBeInstanceOf(LocalConnector);
    expect(await connectorOf('./relative/dir')).toBeInstanceOf(LocalConnector);
    await expect(registry.create('nosuch://x')).rejects.toThrow(/unknown store location scheme 'nosuch:'.*memory:, file:/);
  });
});
