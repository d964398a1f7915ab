/**
 * Encodes record batches into IPC messages for DoPut with apache-arrow's stream writer, one
 * message at a time (so a streaming source is never read ahead), slicing oversized batches.
 */
import { Message, MessageHeader, type RecordBatch, RecordBatchStreamWriter, type Schema, Table } from 'apache-arrow';
import { InvalidArgumentError } from '../errors.js';
import { encodeSchemaHeader } from './ipc-message.js';

/** Anything DoPut can send: a table, or record batches sharing one schema. */
export type RecordBatchSource = Table | Iterable<RecordBatch> | AsyncIterable<RecordBatch>;

/** One IPC message whose body is still in pieces (views of the batch's own buffers). */
export interface EncodedMessage {
  /** The bare flatbuffer `Message`, padded to 8 bytes. */
  readonly header: Uint8Array;
  /** The body, in order; their lengths add up to `bodyLength`. */
  readonly bodyParts: readonly Uint8Array[];
  /** The body length the header declares. */
  readonly bodyLength: number;
  /** Schema, DictionaryBatch or RecordBatch. */
  readonly kind: MessageHeader;
}

/**
 * Cuts the writer's output (prefixes, headers, padding and body buffers as separate chunks) back
 * into messages. Headers are copied (they are small); body chunks are kept as views.
 */
class ChunkFramer {
  private stage: 'length' | 'header' | 'body' = 'length';
  private readonly lengthBytes = new Uint8Array(4);
  private lengthFilled = 0;
  private header = new Uint8Array(0);
  private headerFilled = 0;
  private bodyParts: Uint8Array[] = [];
  private bodyRemaining = 0;
  private bodyLength = 0;
  private kind: MessageHeader = MessageHeader.NONE;
  private ended = false;

  /** Feeds one chunk; complete messages are appended to `out`. */
  push(chunk: Uint8Array, out: EncodedMessage[]): void {
    let offset = 0;
    while (offset < chunk.byteLength && !this.ended) {
      if (this.stage === 'length') {
        const take = Math.min(4 - this.lengthFilled, chunk.byteLength - offset);
        this.lengthBytes.set(chunk.subarray(offset, offset + take), this.lengthFilled);
        this.lengthFilled += take;
        offset += take;
        if (this.lengthFilled < 4) return;
        this.lengthFilled = 0;
        const length = new DataView(this.lengthBytes.buffer).getInt32(0, true);
        if (length === -1) continue; // continuation marker: the real length follows
        if (length === 0) {
          this.ended = true;
          return;
        }
        this.header = new Uint8Array(length);
        this.headerFilled = 0;
        this.stage = 'header';
      } else if (this.stage === 'header') {
        const take = Math.min(this.header.byteLength - this.headerFilled, chunk.byteLength - offset);
        this.header.set(chunk.subarray(offset, offset + take), this.headerFilled);
        this.headerFilled += take;
        offset += take;
        if (this.headerFilled < this.header.byteLength) return;
        const message = Message.decode(this.header);
        this.kind = message.headerType;
        this.bodyLength = Number(message.bodyLength);
        this.bodyRemaining = this.bodyLength;
        this.bodyParts = [];
        this.stage = 'body';
        if (this.bodyRemaining === 0) this.complete(out);
      } else {
        const take = Math.min(this.bodyRemaining, chunk.byteLength - offset);
        this.bodyParts.push(chunk.subarray(offset, offset + take));
        this.bodyRemaining -= take;
        offset += take;
        if (this.bodyRemaining === 0) this.complete(out);
      }
    }
  }

  private complete(out: EncodedMessage[]): void {
    out.push({ header: this.header, bodyParts: this.bodyParts, bodyLength: this.bodyLength, kind: this.kind });
    this.stage = 'length';
  }
}

/**
 * Yields the IPC messages of a source: Schema, then per batch the dictionaries it needs and the
 * batch. Zero-row batches are skipped. A batch whose body exceeds `maxBodyBytes` is re-sent as
 * row slices (its dictionaries are shared, so they go once); a single huge row is sent as is.
 *
 * @throws InvalidArgumentError when the batches disagree on the schema, or when an empty
 *   non-Table source leaves the schema unknown
 */
export async function* encodeIpcMessages(source: RecordBatchSource, maxBodyBytes: number): AsyncGenerator<EncodedMessage> {
  const writer = new RecordBatchStreamWriter();
  const chunks = writer[Symbol.asyncIterator]();
  const framer = new ChunkFramer();
  let schema: Schema | undefined = source instanceof Table ? source.schema : undefined;
  let sentBatch = false;

  // The writer writes each batch synchronously into its queue, so pulling until the batch's own
  // message appears consumes exactly that batch's output.
  const encode = async (batch: RecordBatch): Promise<EncodedMessage[]> => {
    writer.write(batch);
    const out: EncodedMessage[] = [];
    while (out.at(-1)?.kind !== MessageHeader.RecordBatch) {
      const next = await chunks.next();
      if (next.done) {
        throw new InvalidArgumentError('every record batch of a put must have the schema of the first batch');
      }
      framer.push(next.value, out);
    }
    return out;
  };

  async function* send(batch: RecordBatch): AsyncGenerator<EncodedMessage> {
    const messages = await encode(batch);
    const last = messages[messages.length - 1]!;
    if (last.bodyLength <= maxBodyBytes || batch.numRows < 2) {
      yield* messages;
      return;
    }
    yield* messages.slice(0, -1);
    const rowsPerSlice = Math.max(1, Math.floor(batch.numRows / Math.ceil(last.bodyLength / maxBodyBytes)));
    for (let start = 0; start < batch.numRows; start += rowsPerSlice) {
      yield* send(batch.slice(start, Math.min(start + rowsPerSlice, batch.numRows)));
    }
  }

  try {
    for await (const batch of source instanceof Table ? source.batches : source) {
      schema ??= batch.schema;
      if (batch.numRows === 0) continue;
      yield* send(batch);
      sentBatch = true;
    }
    if (!sentBatch) {
      if (!schema) {
        throw new InvalidArgumentError('nothing to put: the source yielded no record batch, so its schema is unknown; pass a Table');
      }
      yield { header: encodeSchemaHeader(schema), bodyParts: [], bodyLength: 0, kind: MessageHeader.Schema };
    }
  } finally {
    writer.close();
  }
}
