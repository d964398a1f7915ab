/**
 * A stream's entries as Arrow: every stored batch has `_id` (the entry ID as text) and `_ts` (its
 * millisecond, a UTC timestamp: the frame's time column) before the stream's own columns, or before
 * one `data` binary column for opaque payloads. Batches travel through the log as Arrow IPC.
 */
import { Binary, Field, RecordBatch, Schema, Struct, Table, TimestampMillisecond, Utf8, makeData, tableFromIPC, tableToIPC, vectorFromArray } from 'apache-arrow';
import { InvalidArgumentError } from '../../errors.js';
import { type StreamId, formatStreamId } from './stream-id.js';

/** The ID column. */
export const ID_COLUMN = '_id';
/** The time column (the ID's millisecond). */
export const TIME_COLUMN = '_ts';
/** The payload column of a binary stream. */
export const PAYLOAD_COLUMN = 'data';

/** The columns of a binary stream's entries (before `_id` and `_ts` are added). */
export const BINARY_ENTRY_SCHEMA = new Schema([new Field(PAYLOAD_COLUMN, new Binary(), false)]);

/** The stored schema of a stream whose entries have `entrySchema`: `_id`, `_ts`, then its fields. */
export function storedSchema(entrySchema: Schema): Schema {
  for (const field of entrySchema.fields) {
    if (field.name === ID_COLUMN || field.name === TIME_COLUMN) {
      throw new InvalidArgumentError(`a stream's entries may not have a column named ${JSON.stringify(field.name)}: the stream adds ${ID_COLUMN} and ${TIME_COLUMN} itself`);
    }
  }
  return new Schema([new Field(ID_COLUMN, new Utf8(), false), new Field(TIME_COLUMN, new TimestampMillisecond('UTC'), false), ...entrySchema.fields]);
}

/** Whether two schemas have the same column names and types, in order (nullability and metadata may differ). */
export function sameColumns(a: Schema, b: Schema): boolean {
  return a.fields.length === b.fields.length && a.fields.every((field, i) => field.name === b.fields[i]!.name && String(field.type) === String(b.fields[i]!.type));
}

/** Describes the columns for messages: `a: Int64, b: Utf8`. */
export function describeColumns(schema: Schema): string {
  return schema.fields.map((field) => `${field.name}: ${String(field.type)}`).join(', ');
}

/** A batch of binary payloads with the binary stream's entry columns. */
export function binaryEntries(payloads: readonly Uint8Array[]): RecordBatch {
  const vector = vectorFromArray(payloads as Uint8Array[], new Binary());
  const data = makeData({ type: new Struct(BINARY_ENTRY_SCHEMA.fields), length: payloads.length, nullCount: 0, children: [vector.data[0]!] });
  return new RecordBatch(BINARY_ENTRY_SCHEMA, data);
}

/** The stored batch: `ids` and their milliseconds added before the entries' own columns. */
export function stampEntries(schema: Schema, ids: readonly StreamId[], entries: RecordBatch): RecordBatch {
  const idVector = vectorFromArray(ids.map(formatStreamId), new Utf8());
  const tsVector = vectorFromArray(ids.map((id) => id.ms), new TimestampMillisecond('UTC'));
  const children = [idVector.data[0]!, tsVector.data[0]!, ...entries.data.children];
  return new RecordBatch(schema, makeData({ type: new Struct(schema.fields), length: ids.length, nullCount: 0, children }));
}

/** One batch as an Arrow IPC stream (schema, dictionaries, batch, end marker). */
export function encodeBatch(batch: RecordBatch): Uint8Array {
  return tableToIPC(new Table([batch]), 'stream');
}

/** The batches of an Arrow IPC stream. */
export function decodeBatches(bytes: Uint8Array): RecordBatch[] {
  return tableFromIPC(bytes).batches;
}

/** The entry IDs of a stored batch, as text. */
export function batchIds(batch: RecordBatch): string[] {
  const column = batch.getChildAt(0)!;
  const ids = new Array<string>(batch.numRows);
  for (let i = 0; i < batch.numRows; i++) ids[i] = column.get(i) as string;
  return ids;
}
