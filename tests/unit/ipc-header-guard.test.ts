// The IPC header guard: valid headers of many types pass; headers whose vectors claim more elements
// than their bytes hold (which made apache-arrow exhaust memory) are refused.
import { Dictionary, Field, Int32, List, Struct, Utf8, tableFromArrays, tableToIPC, vectorFromArray, Table } from 'apache-arrow';
import { describe, expect, it } from 'vitest';
import { assertSafeIpcHeader } from '../../src/format/ipc-header-guard.js';
import { inspectMessage, splitIpcStream } from '../../src/format/ipc-message.js';

function headersOf(table: Table): Uint8Array[] {
  return splitIpcStream(tableToIPC(table, 'stream')).map((message) => message.header);
}

describe('IPC header guard', () => {
  it('accepts the headers apache-arrow writes, nested and dictionary types included', () => {
    const nested = new Table({
      s: vectorFromArray([{ a: 1, b: 'x' }], new Struct([new Field('a', new Int32()), new Field('b', new Utf8())])),
      l: vectorFromArray([[1, 2]], new List(new Field('item', new Int32()))),
      d: vectorFromArray(['p', 'q'].slice(0, 1), new Dictionary(new Utf8(), new Int32())),
    });
    for (const table of [tableFromArrays({ x: Int32Array.from([1, 2]), y: ['a', 'b'] }), nested]) {
      for (const header of headersOf(table)) expect(() => assertSafeIpcHeader(header)).not.toThrow();
    }
  });

  it('refuses a vector length beyond the header, before apache-arrow allocates it', () => {
    const table = tableFromArrays({ x: Int32Array.from([1, 2]) });
    const messages = splitIpcStream(tableToIPC(table, 'stream'));
    const batch = messages[1]!;
    // Find the nodes vector (length 1, one 16-byte FieldNode {length: 2, null_count: 0}) and inflate its length.
    const header = Buffer.from(batch.header);
    let patched = 0;
    for (let i = 0; i + 12 <= header.length; i += 4) {
      if (header.readUInt32LE(i) === 1 && header.readBigInt64LE(i + 4) === 2n && header.readBigInt64LE(i + 12) === 0n) {
        header.writeUInt32LE(0x7fffffff, i);
        patched++;
        break;
      }
    }
    expect(patched).toBe(1);
    expect(() => assertSafeIpcHeader(header)).toThrow(/malformed IPC message header/);
    expect(() => inspectMessage({ header, body: batch.body })).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
  });

  it('refuses truncated and empty headers', () => {
    const [schema] = headersOf(tableFromArrays({ x: Int32Array.from([1]) }));
    expect(() => assertSafeIpcHeader(schema!.subarray(0, 10))).toThrow(/malformed/);
    expect(() => assertSafeIpcHeader(new Uint8Array(0))).toThrow(/malformed/);
  });
});
