/**
 * A binary stream's pushed entries as Arrow IPC record batch messages (`_id`, `_ts`, `data`) written
 * straight from the pushed bytes: each entry is copied once, into the message body a roll hands the
 * segment writer (or a Flight tail sends, for one push).
 * Building Arrow batches first and encoding them with `tableToIPC` copied every byte twice more
 * (the joined batch, then the writer's joined stream) and was most of a roll's main-thread time.
 */
import { Message } from 'apache-arrow';
import { BufferRegion, FieldNode, RecordBatch as RecordBatchHeader } from 'apache-arrow/ipc/metadata/message';
import { type IpcMessage, framedLength, handOverFramedStream, pad8, writeEndOfStream, writeFramedHeader } from '../../format/ipc-message.js';
import type { BinaryRun } from './stream-batches.js';
import { type StreamIdRange, idTextBytes, writeIdTexts } from './stream-id.js';

/** Entry bytes per record batch message: runs are joined until a message holds about this much. */
const MESSAGE_PAYLOAD_BYTES = 1024 * 1024;

/** Where a record batch message of consecutive runs puts its buffers, and its header. */
interface GroupLayout {
  readonly runs: readonly BinaryRun[];
  readonly rows: number;
  readonly idBytes: number;
  readonly payloadBytes: number;
  readonly idOffsetsAt: number;
  readonly idDataAt: number;
  readonly timesAt: number;
  readonly payloadOffsetsAt: number;
  readonly payloadDataAt: number;
  readonly bodyLength: number;
  readonly header: Uint8Array;
}

/** Lays out one record batch message of consecutive runs and encodes its header. */
function layoutGroup(runs: readonly BinaryRun[]): GroupLayout {
  let rows = 0;
  let payloadBytes = 0;
  let idBytes = 0;
  for (const run of runs) {
    rows += run.range.count;
    payloadBytes += run.offsets[run.range.count]!;
    idBytes += idTextBytes(run.range);
  }
  const offsetsBytes = pad8(4 * (rows + 1));
  const idOffsetsAt = 0;
  const idDataAt = idOffsetsAt + offsetsBytes;
  const timesAt = idDataAt + pad8(idBytes);
  const payloadOffsetsAt = timesAt + 8 * rows;
  const payloadDataAt = payloadOffsetsAt + offsetsBytes;
  const bodyLength = payloadDataAt + pad8(payloadBytes);
  const nodes = [new FieldNode(rows, 0), new FieldNode(rows, 0), new FieldNode(rows, 0)];
  const buffers = [
    new BufferRegion(idOffsetsAt, 0),
    new BufferRegion(idOffsetsAt, 4 * (rows + 1)),
    new BufferRegion(idDataAt, idBytes),
    new BufferRegion(timesAt, 0),
    new BufferRegion(timesAt, 8 * rows),
    new BufferRegion(payloadOffsetsAt, 0),
    new BufferRegion(payloadOffsetsAt, 4 * (rows + 1)),
    new BufferRegion(payloadDataAt, payloadBytes),
  ];
  const header = Message.encode(Message.from(new RecordBatchHeader(rows, nodes, buffers, null), bodyLength) as Message);
  return { runs, rows, idBytes, payloadBytes, idOffsetsAt, idDataAt, timesAt, payloadOffsetsAt, payloadDataAt, bodyLength, header };
}

/** Writes a group's body into `body` (exactly `bodyLength` bytes, at an 8-byte aligned offset of its buffer). */
function writeGroupBody(layout: GroupLayout, body: Uint8Array): void {
  const { runs, rows, idBytes, payloadBytes, idOffsetsAt, idDataAt, timesAt, payloadOffsetsAt, payloadDataAt, bodyLength } = layout;
  // Not zero-filled: every byte is written below, the padding explicitly.
  body.fill(0, idDataAt + idBytes, timesAt);
  body.fill(0, payloadDataAt + payloadBytes, bodyLength);
  body.fill(0, idOffsetsAt + 4 * (rows + 1), idDataAt);
  body.fill(0, payloadOffsetsAt + 4 * (rows + 1), payloadDataAt);
  const idEnds = new Int32Array(body.buffer, body.byteOffset + idOffsetsAt, rows + 1);
  const times = new BigInt64Array(body.buffer, body.byteOffset + timesAt, rows);
  const payloadEnds = new Int32Array(body.buffer, body.byteOffset + payloadOffsetsAt, rows + 1);
  idEnds[0] = 0;
  payloadEnds[0] = 0;
  let idAt = idDataAt;
  let payloadAt = 0;
  let row = 0;
  for (const run of runs) {
    const { range, offsets, values } = run;
    idAt = writeIdTexts(body, idAt, range, idEnds, row, idDataAt);
    times.fill(BigInt(range.ms), row, row + range.count);
    for (let i = 1; i <= range.count; i++) payloadEnds[row + i] = payloadAt + offsets[i]!;
    const length = offsets[range.count]!;
    body.set(length === values.byteLength ? values : values.subarray(0, length), payloadDataAt + payloadAt);
    payloadAt += length;
    row += range.count;
  }
}

/** One record batch message of consecutive runs, in a buffer of its own. */
function encodeGroup(runs: readonly BinaryRun[]): IpcMessage {
  const layout = layoutGroup(runs);
  const body = new Uint8Array(Buffer.allocUnsafeSlow(layout.bodyLength).buffer, 0, layout.bodyLength);
  writeGroupBody(layout, body);
  return { header: layout.header, body };
}

/** Consecutive runs cut into groups of about `messageBytes` of entries (a run is never split; empty runs left out). */
function groupRuns(runs: readonly BinaryRun[], messageBytes: number): BinaryRun[][] {
  const groups: BinaryRun[][] = [];
  let group: BinaryRun[] = [];
  let groupBytes = 0;
  for (const run of runs) {
    if (run.range.count === 0) continue;
    group.push(run);
    groupBytes += run.offsets[run.range.count]!;
    if (groupBytes >= messageBytes) {
      groups.push(group);
      group = [];
      groupBytes = 0;
    }
  }
  if (group.length > 0) groups.push(group);
  return groups;
}

/**
 * The record batch messages of a roll of binary runs, in the stored schema's column order (`_id`
 * Utf8, `_ts` Timestamp(ms), `data` Binary; no nulls): consecutive runs joined into messages of
 * about `messageBytes` of entries (a run is never split). The schema message is the caller's.
 */
export function binaryRunMessages(runs: readonly BinaryRun[], messageBytes = MESSAGE_PAYLOAD_BYTES): IpcMessage[] {
  return groupRuns(runs, messageBytes).map(encodeGroup);
}

/**
 * A roll of binary runs as the messages of one IPC stream (the schema message given, then record
 * batch messages as {@link binaryRunMessages} cuts them) laid out in one buffer with the framing
 * and the end-of-stream marker, and handed over (handOverFramedStream): the segment writer takes
 * that buffer as the segment's stream and transfers it to its Parquet worker, instead of joining the
 * messages into a second copy. The messages must not be used once the roll's put has taken them.
 */
export function binaryRollMessages(schemaHeader: Uint8Array, runs: readonly BinaryRun[], messageBytes = MESSAGE_PAYLOAD_BYTES): IpcMessage[] {
  const layouts = groupRuns(runs, messageBytes).map(layoutGroup);
  let total = framedLength(schemaHeader.byteLength, 0) + 8;
  for (const layout of layouts) total += framedLength(layout.header.byteLength, layout.bodyLength);
  const buffer = Buffer.allocUnsafeSlow(total).buffer;
  if (buffer.byteLength !== total) throw new Error(`a ${total}-byte buffer came back with ${buffer.byteLength} bytes`);
  const out = new Uint8Array(buffer);
  let offset = writeFramedHeader(out, 0, schemaHeader);
  // Header views end where the header does (writeFramedHeader pads after it).
  const messages: IpcMessage[] = [{ header: out.subarray(8, 8 + schemaHeader.byteLength), body: new Uint8Array(0) }];
  for (const layout of layouts) {
    const headerAt = offset + 8;
    const bodyAt = writeFramedHeader(out, offset, layout.header);
    const body = out.subarray(bodyAt, bodyAt + layout.bodyLength);
    writeGroupBody(layout, body);
    messages.push({ header: out.subarray(headerAt, headerAt + layout.header.byteLength), body });
    offset = bodyAt + layout.bodyLength;
  }
  writeEndOfStream(out, offset);
  handOverFramedStream(buffer);
  return messages;
}
