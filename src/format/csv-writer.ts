/** Writes Arrow record batches as RFC 4180 CSV: nulls as empty fields, empty strings as "". */
import type { RecordBatch, Schema } from 'apache-arrow';
import { cellFormatter } from './value-format.js';

const NEEDS_QUOTES = /[",\r\n]/;

/** Quotes a field when it holds a delimiter, quote or line break, or is the empty string. */
export function csvField(value: string | undefined): string {
  if (value === undefined) return '';
  if (value === '' || NEEDS_QUOTES.test(value)) return `"${value.replaceAll('"', '""')}"`;
  return value;
}

/** The header line (with its line ending). */
export function csvHeader(schema: Schema): string {
  return `${schema.fields.map((field) => csvField(field.name)).join(',')}\n`;
}

/** The lines of one batch, as one string. */
export function csvRows(batch: RecordBatch): string {
  const formatters = batch.schema.fields.map((_, index) => cellFormatter(batch.getChildAt(index)!));
  const lines: string[] = new Array<string>(batch.numRows);
  for (let row = 0; row < batch.numRows; row++) {
    lines[row] = formatters.map((format) => csvField(format(row))).join(',');
  }
  return batch.numRows === 0 ? '' : `${lines.join('\n')}\n`;
}
