/** A binary stream's roll encoded straight into IPC messages reads back as the stored batches built by apache-arrow. */
import { tableFromIPC } from 'apache-arrow';
import { describe, expect, it } from 'vitest';
import { binaryRollMessages, binaryRunMessages } from '../../src/core/streams/binary-roll-ipc.js';
import { SegmentBuilder } from '../../src/core/segment-builder.js';
import { BINARY_ENTRY_SCHEMA, type BinaryRun, stampBinaryRuns, storedSchema } from '../../src/core/streams/stream-batches.js';
import { type IpcMessage, encodeSchemaHeader, joinInPlace, joinIpcStream } from '../../src/format/ipc-message.js';

const schema = storedSchema(BINARY_ENTRY_SCHEMA);

/** A run of `sizes.length` entries of those sizes, filled with bytes derived from the ID, after `pad` leading bytes not in the run. */
function run(ms: number, seq: number, sizes: number[], tail = 0): BinaryRun {
  const offsets = new Int32Array(sizes.length + 1);
  for (let i = 0; i < sizes.length; i++) offsets[i + 1] = offsets[i]! + sizes[i]!;
  const values = new Uint8Array(offsets[sizes.length]! + tail).fill(255);
  for (let i = 0; i < sizes.length; i++) for (let b = offsets[i]!; b < offsets[i + 1]!; b++) values[b] = (seq + i + b) % 251;
  return { range: { ms, seq, count: sizes.length }, offsets, values };
}

function decode(runs: BinaryRun[], messageBytes?: number) {
  const messages = binaryRunMessages(runs, messageBytes);
  const table = tableFromIPC(joinIpcStream([{ header: encodeSchemaHeader(schema), body: new Uint8Array(0) }, ...messages]));
  return { messages, rows: table.toArray().map((row) => ({ id: row._id as string, ts: Number(row._ts), data: Buffer.from(row.data as Uint8Array).toString('hex') })) };
}

describe('binaryRunMessages', () => {
  it('writes the IDs, times and payloads apache-arrow builds for the same runs, across digit-width changes and empty entries', () => {
    // Sequence numbers crossing 9 -> 10 and 99 -> 100, an empty entry, a run whose bytes go on after its last entry.
    const runs = [run(1_733_600_000_000, 0, [3, 0, 5]), run(1_733_600_000_000, 8, [1, 2, 3, 4], 7), run(1_733_600_000_001, 97, [10, 11, 12, 13]), run(1_733_600_000_002, 0, [1024])];
    const expected = stampBinaryRuns(schema, runs);
    const want = expected.toArray().map((row) => ({ id: row._id as string, ts: Number(row._ts), data: Buffer.from(row.data as Uint8Array).toString('hex') }));
    const { messages, rows } = decode(runs);
    expect(messages).toHaveLength(1);
    expect(rows).toEqual(want);
    expect(rows.map((row) => row.id)).toEqual(['1733600000000-0', '1733600000000-1', '1733600000000-2', '1733600000000-8', '1733600000000-9', '1733600000000-10', '1733600000000-11', '1733600000001-97', '1733600000001-98', '1733600000001-99', '1733600000001-100', '1733600000002-0']);
  });

  it('joins runs into messages of about the given size, never splitting a run', () => {
    const runs = Array.from({ length: 10 }, (_, i) => run(1_000 + i, 0, [300, 300]));
    const { messages, rows } = decode(runs, 1000);
    // 600 bytes per run: a message closes once it holds 1000 or more (two runs).
    expect(messages).toHaveLength(5);
    expect(rows).toHaveLength(20);
    expect(rows[19]!.id).toBe('1009-1');
    expect(rows[19]!.ts).toBe(1009);
    for (const message of messages) expect(message.body.byteLength % 8).toBe(0);
  });
});

describe('binaryRollMessages', () => {
  const runs = [run(1_733_600_000_000, 0, [3, 0, 5]), run(1_733_600_000_000, 8, [1, 2, 3, 4], 7), ...Array.from({ length: 6 }, (_, i) => run(1_733_600_000_001 + i, 0, [300, 301]))];
  /** A copy of each message in a buffer of its own, so a join must copy them. */
  const copies = (messages: IpcMessage[]) => messages.map((message) => ({ header: message.header.slice(), body: message.body.slice() }));

  it('lays the roll out as one IPC stream that a segment takes without a copy, with the bytes a join of the messages writes', () => {
    const header = encodeSchemaHeader(schema);
    const messages = binaryRollMessages(header, runs, 1000);
    expect(messages.length).toBeGreaterThan(2);
    const buffer = messages[1]!.body.buffer;
    for (const message of messages) expect(message.header.buffer).toBe(buffer);
    const joined = joinIpcStream(copies(messages));
    expect(Buffer.from(new Uint8Array(buffer)).equals(Buffer.from(joined))).toBe(true);
    expect(tableFromIPC(joined).numRows).toBe(19);
    // The segment writer's schema header is an equal copy; the builder takes the buffer itself, once.
    const builder = new SegmentBuilder(header.slice(), 1 << 30, false);
    for (const message of messages.slice(1)) builder.addBatch(message, 1, undefined as never);
    const segment = builder.take()!;
    const ipc = segment.ipc as Uint8Array;
    expect(ipc.buffer).toBe(buffer);
    expect(ipc.byteLength).toBe(buffer.byteLength);
    expect(joinInPlace(messages)).toBeUndefined();
  });

  it('is joined by copy when the messages are not the whole stream laid out in place', () => {
    const header = encodeSchemaHeader(schema);
    const messages = binaryRollMessages(header, runs, 1000);
    // A segment cut before the roll's end, a different schema header, or messages not handed over.
    expect(joinInPlace(messages.slice(0, -1))).toBeUndefined();
    expect(joinInPlace([{ header: encodeSchemaHeader(storedSchema(BINARY_ENTRY_SCHEMA)).fill(0, 0, 1), body: new Uint8Array(0) }, ...messages.slice(1)])).toBeUndefined();
    expect(joinInPlace(copies(messages))).toBeUndefined();
    const joined = joinInPlace(messages);
    expect(joined?.buffer).toBe(messages[0]!.header.buffer);
    const rows = tableFromIPC(joined!).toArray().map((row) => ({ id: row._id as string, data: Buffer.from(row.data as Uint8Array).toString('hex') }));
    const want = stampBinaryRuns(schema, runs).toArray().map((row) => ({ id: row._id as string, data: Buffer.from(row.data as Uint8Array).toString('hex') }));
    expect(rows).toEqual(want);
  });
});
