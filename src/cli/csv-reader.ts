/**
 * Reads RFC 4180 CSV into an Arrow Table, inferring int64, float64, bool or utf8 per column.
 * An unquoted empty field is null; a quoted one ("") is the empty string.
 */
import { Bool, type DataType, Float64, Int64, Table, Utf8, type Vector, vectorFromArray } from 'apache-arrow';
import { InvalidArgumentError } from '../core/errors.js';

/** A field's text, or null for an unquoted empty field. */
type Field = string | null;

/** The header and the data records of a CSV text. */
export interface CsvRecords {
  /** Column names, as written. */
  readonly header: string[];
  /** Data records, each as long as the header. */
  readonly records: Field[][];
}

function lineAt(text: string, index: number): number {
  let line = 1;
  for (let i = text.indexOf('\n'); i !== -1 && i < index; i = text.indexOf('\n', i + 1)) line++;
  return line;
}

/**
 * Splits CSV text into records. Accepts LF and CRLF line endings, a UTF-8 BOM, quoted fields with
 * embedded commas, quotes ("") and line breaks; skips blank lines.
 * @throws InvalidArgumentError for text after a closing quote, an unclosed quote, or a record
 *   whose field count differs from the header's
 */
export function parseCsv(text: string): CsvRecords {
  const rows: Field[][] = [];
  let record: Field[] = [];
  let i = text.charCodeAt(0) === 0xfeff ? 1 : 0;
  const n = text.length;
  for (;;) {
    let field: Field;
    if (text[i] === '"') {
      let value = '';
      let from = i + 1;
      for (;;) {
        const quote = text.indexOf('"', from);
        if (quote === -1) throw new InvalidArgumentError(`CSV line ${lineAt(text, i)}: a quoted field is never closed`);
        value += text.slice(from, quote);
        if (text[quote + 1] === '"') {
          value += '"';
          from = quote + 2;
          continue;
        }
        i = quote + 1;
        break;
      }
      const next = text[i];
      if (next !== undefined && next !== ',' && next !== '\n' && next !== '\r') {
        throw new InvalidArgumentError(`CSV line ${lineAt(text, i)}: unexpected ${JSON.stringify(next)} after a closing quote`);
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
    record.push(field);
    const c = text[i];
    if (c === ',') {
      i++;
      continue;
    }
    if (c === '\r') i++;
    if (text[i] === '\n') i++;
    // A line holding nothing at all is blank, not a record with one null field.
    if (!(record.length === 1 && record[0] === null)) rows.push(record);
    record = [];
    if (i >= n) break;
  }
  const [header, ...records] = rows;
  if (!header) throw new InvalidArgumentError('the CSV file is empty; it needs at least a header line');
  records.forEach((row, index) => {
    if (row.length !== header.length) {
      throw new InvalidArgumentError(`CSV record ${index + 1} has ${row.length} fields but the header has ${header.length}`);
    }
  });
  return { header: header.map((name) => name ?? ''), records };
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

function toVector(values: Field[], type: DataType): Vector {
  const missing = (value: Field): value is null | '' => value === null || value === '';
  if (type instanceof Int64) return vectorFromArray(values.map((v) => (missing(v) ? null : BigInt(v))), type);
  if (type instanceof Float64) return vectorFromArray(values.map((v) => (missing(v) ? null : parseFloatText(v))), type);
  if (type instanceof Bool) return vectorFromArray(values.map((v) => (missing(v) ? null : v.toLowerCase() === 'true')), type);
  return vectorFromArray(values, new Utf8());
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
  const { header, records } = parseCsv(text);
  const names = uniqueNames(header);
  const columns: Record<string, Vector> = {};
  names.forEach((name, index) => {
    const values = records.map((record) => record[index] ?? null);
    columns[name] = toVector(values, inferType(values));
  });
  return new Table(columns);
}
