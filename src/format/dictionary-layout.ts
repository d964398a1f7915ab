/**
 * Keeps dictionary columns exact. Parquet rebuilds dictionaries in first-use order and drops unused
 * values, which changes an ordered pandas Categorical. So top-level dictionary columns are stored in
 * Parquet as their integer indices, and each segment keeps the client's own dictionary batches
 * beside it; a read sends those dictionaries and the unchanged batches (their layout is the same).
 * Dictionary ids are renumbered to the column's index so appended segments agree with the stored
 * schema. Schemas with dictionaries nested inside other types leave them to parquet-wasm, which
 * stores them as values; the segment records their order (exact-dictionaries.ts).
 */
import { DataType, Dictionary, Field, Message, Schema } from 'apache-arrow';
import { InvalidArgumentError } from '../errors.js';
import type { IpcMessage } from './ipc-message.js';

/** How a schema with top-level dictionary columns is stored. */
export interface DictionaryLayout {
  /** The schema kept in the manifest: dictionary ids renumbered to their column index. */
  readonly storedSchema: Schema;
  /** The schema of the Parquet data: each dictionary column as its index type. */
  readonly storageSchema: Schema;
  /** Maps the incoming stream's dictionary ids to the stored ids. */
  readonly storedIdOf: ReadonlyMap<number, number>;
}

/**
 * Whether a type is an Arrow dictionary the plain Parquet writer stores as dictionary-encoded
 * Parquet strings (other engines read strings): string or large string values, indices of at most
 * 32 bits. Other dictionaries are stored as their codes.
 */
export function stringDictionary(type: DataType): boolean {
  if (!DataType.isDictionary(type)) return false;
  const { dictionary, indices } = type as Dictionary;
  return (DataType.isUtf8(dictionary) || DataType.isLargeUtf8(dictionary)) && indices.bitWidth <= 32;
}

function containsDictionary(type: DataType): boolean {
  return DataType.isDictionary(type) || (type.children ?? []).some((child: Field) => containsDictionary(child.type));
}

/**
 * The layout for a schema, or `undefined` when there is nothing to keep apart (no top-level
 * dictionaries) or when dictionaries are nested (Parquet handles those, re-encoding them).
 */
export function dictionaryLayout(schema: Schema): DictionaryLayout | undefined {
  const topLevel = schema.fields.filter((field) => DataType.isDictionary(field.type));
  const nested = schema.fields.some((field) => (field.type.children ?? []).some((child: Field) => containsDictionary(child.type)));
  if (topLevel.length === 0 || nested) return undefined;
  const storedIdOf = new Map<number, number>();
  const stored: Field[] = [];
  const storage: Field[] = [];
  schema.fields.forEach((field, index) => {
    if (!DataType.isDictionary(field.type)) {
      stored.push(field);
      storage.push(field);
      return;
    }
    const type = field.type as Dictionary;
    storedIdOf.set(type.id, index);
    stored.push(new Field(field.name, new Dictionary(type.dictionary, type.indices, index, type.isOrdered), field.nullable, field.metadata));
    storage.push(new Field(field.name, type.indices, field.nullable, field.metadata));
  });
  return {
    storedSchema: new Schema(stored, schema.metadata),
    storageSchema: new Schema(storage, schema.metadata),
    storedIdOf,
  };
}

/** Returns the dictionary batch with its id replaced (the body is shared, not copied). */
export function renumberDictionary(message: IpcMessage, id: number): IpcMessage {
  const decoded = Message.decode(message.header);
  const batch = decoded.header() as unknown as { id: number; data: unknown; isDelta: boolean; constructor: new (data: unknown, id: number, isDelta: boolean) => unknown };
  if (Number(batch.id) === id) return message;
  const renumbered = new batch.constructor(batch.data, id, batch.isDelta);
  return { header: Message.encode(Message.from(renumbered as never, Number(decoded.bodyLength))), body: message.body };
}

/** The stored id for an incoming dictionary id. @throws InvalidArgumentError for an unknown id */
export function storedDictionaryId(layout: DictionaryLayout, incomingId: number): number {
  const id = layout.storedIdOf.get(incomingId);
  if (id === undefined) {
    throw new InvalidArgumentError(`dictionary batch for id ${incomingId}, which no column of the schema uses`);
  }
  return id;
}
