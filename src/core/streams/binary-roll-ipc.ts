/**
 * A binary stream's pushed entries as Arrow IPC record batch messages (`_id`, `_ts`, `data`) written
 * straight from the pushed bytes: each entry is copied once, into the message body a roll hands the
 * segment writer (or a Flight tail sends, for one push).
 * Building Arrow batches first and encoding them with `tableToIPC` copied every byte twice more
 * (the joined batch, then the writer's joined stream) and was most of a roll's main-thread time.
 */
import { Message } from 'apache-arrow';
import { BufferRegion, FieldNode, RecordBatch as RecordBatchHeader } from 'apache-arrow/ipc/metadata/message';
import { type IpcMessage, pad8 } from '../../format/ipc-message.js';
import type { BinaryRun } from './stream-batches.js';
import type { StreamIdRange } from './stream-id.js';

/** Entry bytes per record batch message: runs are joined until a message holds about this much. */
const MESSAGE_PAYLOAD_BYTES = 1024 * 1024;

/** Decimal digits of every integer from `from` to `to` inclusive (both non-negative). */
function digitsBetween(from: number, to: number): number {
  let total = 0;
  let width = 1;
  for (let low = 0, high = 9; low <= to; low = high + 1, high = high * 10 + 9, width++) {
    const start = Math.max(from, low);
    const end = Math.min(to, high);
    if (start <= end) total += (end - start + 1) * width;
  }
  return total;
}

/** Bytes of the `_id` texts (`<ms>-<seq>`, ASCII) of a range. */
function idBytesOf(range: StreamIdRange): number {
  return range.count * (String(range.ms).length + 1) + digitsBetween(range.seq, range.seq + range.count - 1);
}

/** Writes the IDs of a range as text at `at` of `out`, their end offsets into `ends` from `row`; returns the new `at`. */
function writeIds(out: Uint8Array, at: number, range: StreamIdRange, ends: Int32Array, row: number, base: number): number {
  const prefix = `${range.ms}-`;
  const digits = new Uint8Array(16);
  for (let i = 0; i < range.count; i++) {
    for (let c = 0; c < prefix.length; c++) out[at++] = prefix.charCodeAt(c);
    let seq = range.seq + i;
    let n = 0;
    do {
      digits[n++] = 48 + (seq % 10);
      seq = Math.floor(seq / 10);
    } while (seq > 0);
    while (n > 0) out[at++] = digits[--n]!;
    ends[row + i + 1] = at - base;
  }
  return at;
}

/** One record batch message of consecutive runs. */
function encodeGroup(runs: readonly BinaryRun[]): IpcMessage {
  let rows = 0;
  let payloadBytes = 0;
  let idBytes = 0;
  for (const run of runs) {
    rows += run.range.count;
    payloadBytes += run.offsets[run.range.count]!;
    idBytes += idBytesOf(run.range);
  }
  const offsetsBytes = pad8(4 * (rows + 1));
  const idOffsetsAt = 0;
  const idDataAt = idOffsetsAt + offsetsBytes;
  const timesAt = idDataAt + pad8(idBytes);
  const payloadOffsetsAt = timesAt + 8 * rows;
  const payloadDataAt = payloadOffsetsAt + offsetsBytes;
  const bodyLength = payloadDataAt + pad8(payloadBytes);
  // Not zero-filled: every byte is written below, the padding explicitly.
  const body = new Uint8Array(Buffer.allocUnsafeSlow(bodyLength).buffer, 0, bodyLength);
  body.fill(0, idDataAt + idBytes, timesAt);
  body.fill(0, payloadDataAt + payloadBytes, bodyLength);
  body.fill(0, idOffsetsAt + 4 * (rows + 1), idDataAt);
  body.fill(0, payloadOffsetsAt + 4 * (rows + 1), payloadDataAt);
  const idEnds = new Int32Array(body.buffer, idOffsetsAt, rows + 1);
  const times = new BigInt64Array(body.buffer, timesAt, rows);
  const payloadEnds = new Int32Array(body.buffer, payloadOffsetsAt, rows + 1);
  idEnds[0] = 0;
  payloadEnds[0] = 0;
  let idAt = idDataAt;
  let payloadAt = 0;
  let row = 0;
  for (const run of runs) {
    const { range, offsets, values } = run;
    idAt = writeIds(body, idAt, range, idEnds, row, idDataAt);
    times.fill(BigInt(range.ms), row, row + range.count);
    for (let i = 1; i <= range.count; i++) payloadEnds[row + i] = payloadAt + offsets[i]!;
    const length = offsets[range.count]!;
    body.set(length === values.byteLength ? values : values.subarray(0, length), payloadDataAt + payloadAt);
    payloadAt += length;
    row += range.count;
  }
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
  return { header, body };
}

/**
 * The record batch messages of a roll of binary runs, in the stored schema's column order (`_id`
 * Utf8, `_ts` Timestamp(ms), `data` Binary; no nulls): consecutive runs joined into messages of
 * about `messageBytes` of entries (a run is never split). The schema message is the caller's.
 */
export function binaryRunMessages(runs: readonly BinaryRun[], messageBytes = MESSAGE_PAYLOAD_BYTES): IpcMessage[] {
  const out: IpcMessage[] = [];
  let group: BinaryRun[] = [];
  let groupBytes = 0;
  for (const run of runs) {
    if (run.range.count === 0) continue;
    group.push(run);
    groupBytes += run.offsets[run.range.count]!;
    if (groupBytes >= messageBytes) {
      out.push(encodeGroup(group));
      group = [];
      groupBytes = 0;
    }
  }
  if (group.length > 0) out.push(encodeGroup(group));
  return out;
}
