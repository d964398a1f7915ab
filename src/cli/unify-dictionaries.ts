/**
 * Gives each dictionary column one dictionary across all batches. The Arrow IPC file format
 * cannot replace a dictionary between batches, yet a frame read back from several stored segments
 * has one dictionary per segment. Only the indices are rewritten (a typed-array pass per batch).
 */
import {
  type Data,
  type DataType,
  type Dictionary,
  RecordBatch,
  Struct,
  Table,
  Type,
  type Vector,
  makeData,
  vectorFromArray,
} from 'apache-arrow';
import { InvalidArgumentError } from '../errors.js';

/** The index arrays a dictionary column can have. */
type TypedArray = Int8Array | Int16Array | Int32Array | Uint8Array | Uint16Array | Uint32Array;

/** Largest index each signed index width can hold. */
const INDEX_MAX: Record<number, number> = { 8: 127, 16: 32_767, 32: 2_147_483_647, 64: Number.MAX_SAFE_INTEGER };

/** A merged dictionary and, per original dictionary, where its entries went. */
interface Merged {
  readonly dictionary: Vector;
  readonly remaps: Map<Vector, Int32Array>;
}

function merge(type: Dictionary, dictionaries: readonly Vector[], column: string): Merged {
  const positions = new Map<unknown, number>();
  const values: unknown[] = [];
  const remaps = new Map<Vector, Int32Array>();
  for (const dictionary of dictionaries) {
    const remap = new Int32Array(dictionary.length);
    for (let i = 0; i < dictionary.length; i++) {
      const value: unknown = dictionary.get(i);
      let position = positions.get(value);
      if (position === undefined) {
        position = values.length;
        positions.set(value, position);
        values.push(value);
      }
      remap[i] = position;
    }
    remaps.set(dictionary, remap);
  }
  if (values.length - 1 > (INDEX_MAX[type.indices.bitWidth] ?? 0)) {
    throw new InvalidArgumentError(
      `column '${column}' has ${values.length} distinct dictionary values across batches, more than its ${String(type.indices)} indices hold`,
    );
  }
  return { dictionary: vectorFromArray(values, type.dictionary as DataType), remaps };
}

function remapIndices(data: Data<Dictionary>, merged: Merged): Data<Dictionary> {
  const remap = merged.remaps.get(data.dictionary!)!;
  const indices = data.values as unknown as TypedArray | BigInt64Array;
  const out = new (indices.constructor as new (length: number) => typeof indices)(indices.length);
  if (out instanceof BigInt64Array || out instanceof BigUint64Array) {
    const source = indices as BigInt64Array;
    for (let i = 0; i < source.length; i++) out[i] = BigInt(remap[Number(source[i])] ?? 0);
  } else {
    const source = indices as TypedArray;
    for (let i = 0; i < source.length; i++) (out as TypedArray)[i] = remap[source[i]!] ?? 0;
  }
  return makeData({
    type: data.type,
    offset: data.offset,
    length: data.length,
    nullCount: data.nullCount,
    nullBitmap: data.nullBitmap,
    data: out as never,
    dictionary: merged.dictionary,
  });
}

/** Returns the table with one dictionary per top-level dictionary column (the same table if already so). */
export function unifyDictionaries(table: Table): Table {
  const merges = new Map<number, Merged>();
  table.schema.fields.forEach((field, index) => {
    if (field.type.typeId !== Type.Dictionary) return;
    const dictionaries = [...new Set(table.batches.map((batch) => batch.data.children[index]!.dictionary!))];
    if (dictionaries.length > 1) merges.set(index, merge(field.type as Dictionary, dictionaries, field.name));
  });
  if (merges.size === 0) return table;
  const batches = table.batches.map((batch) => {
    const children = batch.data.children.map((child, index) => {
      const merged = merges.get(index);
      return merged ? remapIndices(child as Data<Dictionary>, merged) : child;
    });
    return new RecordBatch(
      table.schema,
      makeData({ type: new Struct(table.schema.fields), length: batch.numRows, nullCount: 0, children }),
    );
  });
  return new Table(table.schema, batches);
}
