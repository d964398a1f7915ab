/** Schema comparison for appends: which columns differ, in words a user can act on. */
import type { DataType, Field, Schema } from 'apache-arrow';
import { InvalidArgumentError } from '../errors.js';

/** A type's identity for comparison: its printed form plus its children, ignoring dictionary ids. */
function typeKey(type: DataType): string {
  const children = (type.children ?? []).map((child: Field) => `${child.name}:${typeKey(child.type)}`);
  return children.length > 0 ? `${String(type)}<${children.join(',')}>` : String(type);
}

/**
 * Lists how `incoming` differs from `stored` by column name and type (nullability and metadata are
 * ignored: pandas chunks differ there without differing in data). Empty when compatible.
 */
export function schemaDifferences(stored: Schema, incoming: Schema): string[] {
  const differences: string[] = [];
  const storedByName = new Map(stored.fields.map((field) => [field.name, field] as const));
  const incomingByName = new Map(incoming.fields.map((field) => [field.name, field] as const));
  for (const field of stored.fields) {
    const other = incomingByName.get(field.name);
    if (!other) differences.push(`missing column '${field.name}' (${typeKey(field.type)})`);
    else if (typeKey(other.type) !== typeKey(field.type)) {
      differences.push(`column '${field.name}' is ${typeKey(other.type)}, stored as ${typeKey(field.type)}`);
    }
  }
  for (const field of incoming.fields) {
    if (!storedByName.has(field.name)) differences.push(`unexpected column '${field.name}' (${typeKey(field.type)})`);
  }
  if (differences.length === 0) {
    const storedOrder = stored.fields.map((field) => field.name).join(',');
    const incomingOrder = incoming.fields.map((field) => field.name).join(',');
    if (storedOrder !== incomingOrder) differences.push(`column order is [${incomingOrder}], stored as [${storedOrder}]`);
  }
  return differences;
}

/** @throws InvalidArgumentError listing every differing column when the schemas do not match. */
export function assertAppendable(frame: string, stored: Schema, incoming: Schema): void {
  const differences = schemaDifferences(stored, incoming);
  if (differences.length > 0) {
    throw new InvalidArgumentError(
      `cannot append to '${frame}': schema does not match the stored frame: ${differences.join('; ')}. ` +
        'Send the same columns and types, or use mode "replace".',
      { type: 'SchemaMismatchError' },
    );
  }
}
