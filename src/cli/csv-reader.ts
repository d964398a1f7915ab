/**
 * Reads RFC 4180 CSV into an Arrow Table, inferring int64, float64, bool or utf8 per column.
 * An unquoted empty field is null; a quoted one ("") is the empty string.
 */
import { Bool, type DataType, Float64, Int64, Table, Utf8, type Vector, makeData, makeVector, vectorFromArray } from 'apache-arrow';
import { InvalidArgumentError } from '../errors.js';

/** A field's text, or null for an unquoted empty field. */
type Field = string | null;

/** The header and the data of a CSV text, column by column. */
export interface CsvColumns {
  /** Column names, as written. */
  readonly header: string[];
  /** One array of fields per header column, each as long as the number of records. */
  readonly columns: Field[][];
}

function lineAt(text: string, index: number): number {
  let line = 1;
  for (let i = text.indexOf('\n'); i !== -1 && i < index; i = text.indexOf('\n', i + 1)) line++;
  return line;
}

/**
 * Splits CSV text into a header and columns. Accepts LF and CRLF line endings, a UTF-8 BOM,
 * quoted fields with embedded commas, quotes ("") and line breaks; skips blank lines. Fields go
 * straight into per-column arrays: one array per record would dominate the time on big files.
 * @throws InvalidArgumentError for text after a closing quote, an unclosed quote, or a record
 *   whose field count differs from the header's
 */
export function parseCsv(text: string): CsvColumns {
  let header: string[] | undefined;
  let columns: Field[][] = [];
  let record = 0; // data records completed
  let index = 0; // field index within the current line
  let lineFirst: Field = null; // a line's first field waits until we know the line is not blank
  const n = text.length;
  let i = text.charCodeAt(0) === 0xfeff ? 1 : 0;

  const store = (field: Field, at: number): void => {
    if (!header) return;
    const column = columns[index];
    if (!column) {
      throw new InvalidArgumentError(`CSV line ${lineAt(text, at)}: record ${record + 1} has more fields than the header's ${header.length}`);
    }
    column.push(field);
  };
  const headerFields: Field[] = [];

  for (;;) {
    const fieldStart = i;
    let field: Field;
    if (text.charCodeAt(i) === 34 /* " */) {
      let value = '';
      let from = i + 1;
      for (;;) {
        const quote = text.indexOf('"', from);
        if (quote === -1) throw new InvalidArgumentError(`CSV line ${lineAt(text, i)}: a quoted field is never closed`);
        value += text.slice(from, quote);
        if (text.charCodeAt(quote + 1) === 34) {
          value += '"';
          from = quote + 2;
          continue;
        }
        i = quote + 1;
        break;
      }
      const next = text.charCodeAt(i);
      if (i < n && next !== 44 && next !== 10 && next !== 13) {
        throw new InvalidArgumentError(`CSV line ${lineAt(text, i)}: unexpected ${JSON.stringify(text[i])} after a closing quote`);
      }
      field = value;
    } else {
      let end = i;
      while (end < n) {
        const c = text.charCodeAt(end);
        if (c === 44 /* , */ || c === 10 /* \n */ || c === 13 /* \r */) break;
        end++;
      }
      field = end === i ? null : text.slice(i, end);
      i = end;
    }

    if (!header) headerFields.push(field);
    else if (index === 0) lineFirst = field;
    else store(field, fieldStart);

    if (text.charCodeAt(i) === 44) {
      if (header && index === 0) store(lineFirst, fieldStart);
      index++;
      i++;
      continue;
    }
    if (text.charCodeAt(i) === 13) i++;
    if (text.charCodeAt(i) === 10) i++;
    // A line holding nothing at all is blank, not a record with one null field.
    const blank = index === 0 && (header ? lineFirst === null : headerFields.length === 1 && headerFields[0] === null);
    if (!blank) {
      if (!header) {
        header = headerFields.map((name) => name ?? '');
        columns = header.map(() => []);
      } else {
        if (index === 0) store(lineFirst, fieldStart);
        if (index + 1 !== header.length) {
          throw new InvalidArgumentError(`CSV record ${record + 1} has ${index + 1} fields but the header has ${header.length}`);
        }
        record++;
      }
    } else if (!header) headerFields.length = 0;
    index = 0;
    if (i >= n) break;
  }
  if (!header) throw new InvalidArgumentError('the CSV file is empty; it needs at least a header line');
  return { header, columns };
}

const INT = /^[+-]?\d+$/;
const FLOAT = /^[+-]?(\d+\.?\d*(e[+-]?\d+)?|\.\d+(e[+-]?\d+)?|nan|inf|infinity)$/i;
const BOOL = /^(true|false)$/i;
const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

function fitsInt64(text: string): boolean {
  const value = BigInt(text);
  return value >= INT64_MIN && value <= INT64_MAX;
}

function parseFloatText(text: string): number {
  const value = Number(text);
  if (!Number.isNaN(value) || /^[+-]?nan$/i.test(text)) return value;
  const lower = text.toLowerCase().replace(/^\+/, '');
  if (lower === 'inf' || lower === 'infinity') return Infinity;
  if (lower === '-inf' || lower === '-infinity') return -Infinity;
  return Number(text);
}

/** Picks the narrowest of int64, float64, bool and utf8 that holds every non-empty value. */
export function inferType(values: readonly Field[]): DataType {
  let int = true;
  let float = true;
  let bool = true;
  let seen = false;
  for (const value of values) {
    if (value === null || value === '') continue;
    seen = true;
    if (int && !(INT.test(value) && fitsInt64(value))) int = false;
    if (float && !FLOAT.test(value)) float = false;
    if (bool && !BOOL.test(value)) bool = false;
    if (!int && !float && !bool) break;
  }
  if (!seen) return new Utf8();
  if (int) return new Int64();
  if (float) return new Float64();
  if (bool) return new Bool();
  return new Utf8();
}

/** Builds a nullable fixed-width column from its values and a validity bitmap. */
function fixedWidth<T extends Int64 | Float64>(type: T, values: T['TArray'], valid: Uint8Array, nulls: number): Vector {
  return makeVector(makeData({ type, length: values.length, nullCount: nulls, nullBitmap: nulls > 0 ? valid : null, data: values } as never));
}

function toVector(values: Field[], type: DataType): Vector {
  const missing = (value: Field): value is null | '' => value === null || value === '';
  if (type instanceof Int64 || type instanceof Float64) {
    const out = type instanceof Int64 ? new BigInt64Array(values.length) : new Float64Array(values.length);
    const valid = new Uint8Array((values.length + 7) >> 3);
    let nulls = 0;
    values.forEach((value, row) => {
      if (missing(value)) {
        nulls++;
        return;
      }
      valid[row >> 3]! |= 1 << (row & 7);
      if (out instanceof BigInt64Array) out[row] = BigInt(value);
      else out[row] = parseFloatText(value);
    });
    return fixedWidth(type, out, valid, nulls);
  }
  if (type instanceof Bool) return vectorFromArray(values.map((v) => (missing(v) ? null : v.toLowerCase() === 'true')), type);
  return utf8Vector(values);
}

/**
 * Builds a utf8 column by encoding all values at once; per-value encoding through a builder is
 * the slowest step of reading a big CSV. ASCII text (the common case) needs no per-value lengths.
 */
function utf8Vector(values: Field[]): Vector {
  const joined = values.join('');
  const bytes = Buffer.from(joined, 'utf8');
  const ascii = bytes.byteLength === joined.length;
  const offsets = new Int32Array(values.length + 1);
  const valid = new Uint8Array((values.length + 7) >> 3);
  let nulls = 0;
  let offset = 0;
  values.forEach((value, row) => {
    if (value === null) nulls++;
    else {
      valid[row >> 3]! |= 1 << (row & 7);
      offset += ascii ? value.length : Buffer.byteLength(value, 'utf8');
    }
    offsets[row + 1] = offset;
  });
  const data = makeData({
    type: new Utf8(),
    length: values.length,
    nullCount: nulls,
    nullBitmap: nulls > 0 ? valid : null,
    valueOffsets: offsets,
    data: new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength),
  });
  return makeVector(data);
}

/** Makes column names unique the way pandas does (`a`, `a.1`, …) and names blank ones. */
function uniqueNames(header: readonly string[]): string[] {
  const used = new Set<string>();
  return header.map((raw, index) => {
    const base = raw === '' ? `Unnamed: ${index}` : raw;
    let name = base;
    for (let k = 1; used.has(name); k++) name = `${base}.${k}`;
    used.add(name);
    return name;
  });
}

/** Parses CSV text into a Table with inferred column types. */
export function csvToTable(text: string): Table {
  const { header, columns } = parseCsv(text);
  const names = uniqueNames(header);
  const vectors: Record<string, Vector> = {};
  names.forEach((name, index) => {
    const values = columns[index] ?? [];
    vectors[name] = toVector(values, inferType(values));
  });
  return new Table(vectors);
}
