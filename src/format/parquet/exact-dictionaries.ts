/**
 * Keeps the exact Arrow dictionaries of the files parquet-wasm writes with their dictionaries as
 * values (schemas with a dictionary nested in a list or struct, see dictionary-layout.ts).
 *
 * Such a column is stored as its values, dictionary-encoded by parquet-wasm, so other engines read
 * strings; but parquet-wasm builds each file's dictionary in first-use order and drops unused
 * values, which would change an ordered pandas categorical. So the writer records every dictionary
 * of the segment, in its own order, in the file's key-value metadata ({@link EXACT_DICTIONARIES_KEY}),
 * and the reader puts it back: each decoded code is mapped, by value, to its index in the recorded
 * dictionary. Codes come back exactly when the dictionary's values are distinct and not null (every
 * pandas categorical); a repeated value reads back as its first index.
 */
import { type Data, DataType, type Dictionary, type Field, RecordBatch, Struct, Table, type Vector, makeData, tableFromIPC, tableToIPC } from 'apache-arrow';
import { inspectMessage, splitIpcStream } from '../ipc-message.js';

/** The Parquet key-value metadata key holding a file's exact dictionaries. */
export const EXACT_DICTIONARIES_KEY = 'hangar.dictionaries';

/** One recorded dictionary: where it is (top-level column, then child indices) and its values. */
interface RecordedDictionary {
  readonly column: string;
  readonly path: readonly number[];
  /** An Arrow IPC stream (base64) of a one-column table `values`: the dictionary in its order. */
  readonly values: string;
}

interface DictionarySite {
  readonly column: number;
  readonly path: readonly number[];
}

/** Whether a type is or holds an Arrow dictionary. */
export function holdsDictionary(type: DataType): boolean {
  return DataType.isDictionary(type) || (type.children ?? []).some((child: Field) => holdsDictionary(child.type));
}

function sitesIn(type: DataType, column: number, path: number[], into: DictionarySite[]): void {
  if (DataType.isDictionary(type)) {
    into.push({ column, path: [...path] });
    return;
  }
  (type.children ?? []).forEach((child: Field, index: number) => sitesIn(child.type, column, [...path, index], into));
}

function dataAt(data: Data, path: readonly number[]): Data {
  return path.reduce((node, index) => node.children[index]!, data);
}

/**
 * The segment's dictionaries as the key-value metadata value to store, or undefined when its
 * schema has none. Per dictionary, the longest of its batches' dictionaries is recorded: a segment
 * holds one dictionary and its deltas, so the others are its prefixes.
 */
export function recordDictionaries(table: Table): string | undefined {
  const sites: DictionarySite[] = [];
  table.schema.fields.forEach((field, column) => sitesIn(field.type, column, [], sites));
  if (sites.length === 0) return undefined;
  const recorded: RecordedDictionary[] = [];
  for (const site of sites) {
    let longest: Vector | undefined;
    for (const batch of table.batches) {
      const dictionary = dataAt(batch.data.children[site.column]!, site.path).dictionary;
      if (dictionary && (!longest || dictionary.length > longest.length)) longest = dictionary;
    }
    if (!longest) continue;
    const values = Buffer.from(tableToIPC(new Table({ values: longest }), 'stream')).toString('base64');
    recorded.push({ column: table.schema.fields[site.column]!.name, path: site.path, values });
  }
  return recorded.length > 0 ? JSON.stringify(recorded) : undefined;
}

/** A value as a Map key: strings and numbers as they are, byte values and others as text. */
function keyOf(value: unknown): unknown {
  if (value === null || typeof value !== 'object') return value;
  if (ArrayBuffer.isView(value)) return `bytes:${Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('latin1')}`;
  return `json:${JSON.stringify(value, (_key, v: unknown) => (typeof v === 'bigint' ? v.toString() : v))}`;
}

type Codes = Int8Array | Int16Array | Int32Array | Uint8Array | Uint16Array | Uint32Array | BigInt64Array | BigUint64Array;

/**
 * A decoded dictionary column with its codes mapped to the recorded dictionary's indices.
 * @throws Error when a decoded value is not in the recorded dictionary (the file is not as written)
 */
function rekeyed(data: Data, recorded: Vector, where: string): Data {
  const type = data.type as Dictionary;
  const decoded = data.dictionary;
  if (!decoded) return data;
  if (decoded.type.typeId !== recorded.type.typeId) {
    throw new Error(`the recorded dictionary of ${where} is ${String(recorded.type)} but the file's is ${String(decoded.type)}; the segment may be damaged (run \`hangar verify\`)`);
  }
  const indexOf = new Map<unknown, number>();
  for (let i = recorded.length - 1; i >= 0; i--) indexOf.set(keyOf(recorded.get(i)), i);
  const mapping = new Int32Array(decoded.length);
  for (let j = 0; j < decoded.length; j++) {
    const value = decoded.get(j);
    const index = indexOf.get(keyOf(value));
    if (index === undefined) {
      throw new Error(`${where} holds the value ${JSON.stringify(String(value))}, which its recorded dictionary lacks; the segment may be damaged (run \`hangar verify\`)`);
    }
    mapping[j] = index;
  }
  // Arrow's values start at the data's first row (its validity bits at its offset).
  const codes = data.values as Codes;
  const Codes = codes.constructor as new (length: number) => Codes;
  const out = new Codes(data.length);
  if (out instanceof BigInt64Array || out instanceof BigUint64Array) {
    for (let i = 0; i < data.length; i++) {
      const code = Number(codes[i]!);
      out[i] = BigInt(code >= 0 && code < mapping.length ? mapping[code]! : 0);
    }
  } else {
    // A null row's code may be anything, so any code outside the decoded dictionary becomes 0.
    const small = codes as Exclude<Codes, BigInt64Array | BigUint64Array>;
    for (let i = 0; i < data.length; i++) {
      const code = small[i]!;
      out[i] = code >= 0 && code < mapping.length ? mapping[code]! : 0;
    }
  }
  return makeData({ type, offset: data.offset, length: data.length, nullCount: data.nullCount, nullBitmap: data.nullBitmap, data: out as never, dictionary: recorded as never });
}

function replacedAt(data: Data, path: readonly number[], recorded: Vector, where: string): Data {
  if (path.length === 0) return rekeyed(data, recorded, where);
  const children = data.children.slice();
  children[path[0]!] = replacedAt(children[path[0]!]!, path.slice(1), recorded, where);
  return data.clone(data.type, data.offset, data.length, data.nullCount, data.buffers, children);
}

/**
 * The decoded IPC stream with each recorded dictionary put back in its order, the codes mapped to
 * it; columns projected away are skipped.
 * @param recordedText the file's {@link EXACT_DICTIONARIES_KEY} value
 * @throws Error when the value is malformed or a decoded value is missing from its dictionary
 */
export function restoreDictionaries(ipc: Uint8Array, recordedText: string): Uint8Array {
  let recorded: RecordedDictionary[];
  try {
    recorded = JSON.parse(recordedText) as RecordedDictionary[];
    if (!Array.isArray(recorded)) throw new Error('not a list');
    const malformed = recorded.findIndex((entry) => !isRecordedDictionary(entry));
    if (malformed >= 0) throw new Error(`entry ${malformed} is not {"column": name, "path": [child indices], "values": base64}`);
  } catch (error) {
    throw new Error(`the file's ${EXACT_DICTIONARIES_KEY} metadata is not a list of dictionaries (${(error as Error).message}); the segment may be damaged (run \`hangar verify\`)`);
  }
  const table = tableFromIPC(ipc);
  const wanted = recorded
    .map((entry) => ({ ...entry, column: table.schema.fields.findIndex((field) => field.name === entry.column), name: entry.column }))
    .filter((entry) => {
      const type = entry.column >= 0 ? dataTypeAt(table.schema.fields[entry.column]!.type, entry.path) : undefined;
      return type !== undefined && DataType.isDictionary(type);
    });
  if (wanted.length === 0) return ipc;
  const dictionaries = wanted.map((entry) => recordedValues(entry.values, entry.name));
  const batches = table.batches.map((batch) => {
    const children = batch.data.children.slice();
    wanted.forEach((entry, k) => {
      const where = `column '${entry.name}'${entry.path.length > 0 ? ` (child ${entry.path.join('.')})` : ''}`;
      children[entry.column] = replacedAt(children[entry.column]!, entry.path, dictionaries[k]!, where);
    });
    return new RecordBatch(table.schema, makeData({ type: new Struct(table.schema.fields), length: batch.numRows, nullCount: 0, children }));
  });
  return tableToIPC(new Table(table.schema, batches), 'stream');
}

/**
 * A recorded dictionary's values, decoded from its IPC stream only after every message is checked:
 * apache-arrow trusts lengths in the bytes it reads, so damaged metadata could otherwise make it
 * allocate without bound or loop for billions of rows.
 * @throws Error naming the column when the stream is not one well-formed column `values`
 */
function recordedValues(base64: string, column: string): Vector {
  try {
    const bytes = Buffer.from(base64, 'base64');
    for (const message of splitIpcStream(bytes)) {
      const info = inspectMessage(message);
      if (info.kind === 'dictionary') throw new Error('a dictionary batch, which a recorded dictionary never holds');
      // Every value of a recorded dictionary takes at least one bit of its body.
      if (info.kind === 'batch' && info.rows > info.bodyLength * 8) throw new Error(`a batch of ${info.rows} rows in ${info.bodyLength} bytes`);
    }
    const table = tableFromIPC(bytes);
    const values = table.numCols === 1 ? table.getChild('values') : null;
    if (!values || DataType.isDictionary(values.type) || DataType.isNull(values.type)) throw new Error(`columns [${table.schema.fields.map((field) => String(field.type)).join(', ')}] instead of one column 'values'`);
    return values;
  } catch (error) {
    throw new Error(`the recorded dictionary of column '${column}' in the file's ${EXACT_DICTIONARIES_KEY} metadata is damaged (${(error as Error).message}); the segment may be damaged (run \`hangar verify\`)`, { cause: error });
  }
}

/** Whether a parsed entry has the shape of a {@link RecordedDictionary}. */
function isRecordedDictionary(entry: unknown): entry is RecordedDictionary {
  if (typeof entry !== 'object' || entry === null) return false;
  const { column, path, values } = entry as Record<string, unknown>;
  return typeof column === 'string' && typeof values === 'string' && Array.isArray(path) && path.every((index) => Number.isSafeInteger(index) && (index as number) >= 0);
}

/** The type at a path of child indices below a column's type; undefined where the path leads nowhere. */
function dataTypeAt(type: DataType, path: readonly number[]): DataType | undefined {
  let node: DataType | undefined = type;
  for (const index of path) node = (node?.children as Field[] | undefined)?.[index]?.type;
  return node;
}
