import { Message, Table, Utf8, tableFromIPC, tableToIPC, vectorFromArray } from 'apache-arrow';
import { describe, expect, it } from 'vitest';
import { InvalidArgumentError } from '../../src/errors.js';
import {
  decodeEncapsulatedSchema,
  encapsulateMessage,
  encodeSchemaHeader,
  inspectMessage,
  joinIpcStream,
  splitIpcStream,
} from '../../src/format/ipc-message.js';

const table = new Table({ a: vectorFromArray(Int32Array.of(1, 2, 3)), b: vectorFromArray(['x', 'y', 'z'], new Utf8()) });

describe('IPC messages', () => {
  it('splits a stream into views and joins it back to an equal table', () => {
    const stream = tableToIPC(table, 'stream');
    const messages = splitIpcStream(stream);
    expect(messages.map((m) => inspectMessage(m).kind)).toEqual(['schema', 'batch']);
    expect(messages[1]!.body.buffer).toBe(stream.buffer);
    const back = tableFromIPC(joinIpcStream(messages));
    expect(back.toArray().map((row) => row.toJSON())).toEqual(table.toArray().map((row) => row.toJSON()));
  });

  it('joins into an exactly sized buffer with zeroed header padding (it is not zero-filled first)', () => {
    const header = Uint8Array.from({ length: 13 }, () => 0xab);
    const body = Uint8Array.from({ length: 16 }, (_, i) => i + 1);
    for (let round = 0; round < 50; round++) {
      const joined = joinIpcStream([{ header, body }], true);
      expect(joined.byteLength).toBe(8 + 16 + 16 + 8);
      expect(joined.buffer.byteLength).toBe(joined.byteLength);
      expect([...joined.subarray(8 + 13, 8 + 16)]).toEqual([0, 0, 0]);
      expect([...joined.subarray(24, 40)]).toEqual([...body]);
      expect([...joined.subarray(40)]).toEqual([0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0]);
    }
  });

  it('reports rows and body length of batches', () => {
    const [, batch] = splitIpcStream(tableToIPC(table, 'stream'));
    const info = inspectMessage(batch!);
    expect(info).toMatchObject({ kind: 'batch', rows: 3 });
  });

  it('refuses a body shorter than the header declares', () => {
    const [, batch] = splitIpcStream(tableToIPC(table, 'stream'));
    expect(() => inspectMessage({ header: batch!.header, body: batch!.body.subarray(0, 4) })).toThrow(/declares/);
  });

  it('refuses garbage headers', () => {
    expect(() => inspectMessage({ header: Uint8Array.of(1, 2, 3), body: new Uint8Array(0) })).toThrow(InvalidArgumentError);
    const random = Uint8Array.from({ length: 64 }, (_, i) => (i * 37) & 0xff);
    expect(() => inspectMessage({ header: random, body: new Uint8Array(0) })).toThrow(InvalidArgumentError);
  });

  it('refuses a truncated stream', () => {
    const stream = tableToIPC(table, 'stream');
    expect(() => splitIpcStream(stream.subarray(0, stream.length - 30))).toThrow(/truncated/);
  });

  it('encodes a schema header and reads an encapsulated schema back', () => {
    const header = encodeSchemaHeader(table.schema);
    expect(Message.decode(header).isSchema()).toBe(true);
    const schema = decodeEncapsulatedSchema(encapsulateMessage({ header, body: new Uint8Array(0) }));
    expect(schema.fields.map((field) => `${field.name}:${field.type}`)).toEqual(['a:Int32', 'b:Utf8']);
  });
});
