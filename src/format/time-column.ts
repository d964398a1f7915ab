/**
 * Which column of a frame is its time column, the one range reads (`start`, `end`) filter on and
 * segment statistics are kept for.
 */
import { DataType, type Schema } from 'apache-arrow';

/** Whether range reads can filter on a column of this type: timestamps and dates. */
export function isTimeType(type: DataType): boolean {
  return DataType.isTimestamp(type) || DataType.isDate(type);
}

/** The index columns named by pandas' schema metadata (RangeIndex descriptors are skipped). */
function pandasIndexColumns(schema: Schema): string[] {
  const text = schema.metadata.get('pandas');
  if (!text) return [];
  try {
    const pandas = JSON.parse(text) as { index_columns?: unknown };
    return Array.isArray(pandas.index_columns) ? pandas.index_columns.filter((name): name is string => typeof name === 'string') : [];
  } catch {
    return []; // metadata that is not pandas' JSON names no index
  }
}

/**
 * The frame's time column: the first pandas index column of a timestamp or date type, else the
 * first top-level timestamp column, else the first date32/date64 column; `undefined` when the
 * schema has none.
 */
export function timeColumnOf(schema: Schema): string | undefined {
  const fields = schema.fields;
  for (const name of pandasIndexColumns(schema)) {
    const field = fields.find((candidate) => candidate.name === name);
    if (field && isTimeType(field.type)) return field.name;
  }
  return (fields.find((field) => DataType.isTimestamp(field.type)) ?? fields.find((field) => DataType.isDate(field.type)))?.name;
}
