/**
 * Schema evolution on append (`"schema": "evolve"`): the frame's schema becomes the union of the
 * stored and the incoming columns, and segments whose columns differ from it are marked with their
 * own schema in the manifest, so reads fill their missing columns with nulls (evolved-read.ts).
 * Nothing stored is rewritten.
 */
import { DataType, Field, Schema } from 'apache-arrow';
import { InvalidArgumentError } from '../errors.js';
import { encodeSchemaHeader } from '../format/ipc-message.js';
import type { SegmentEntry } from '../format/manifest.js';
import { schemaDifferences } from './schema-compat.js';

/** A type's identity for comparison (as schema-compat.ts compares them). */
function sameType(a: DataType, b: DataType): boolean {
  return schemaDifferences(new Schema([new Field('c', a)]), new Schema([new Field('c', b)])).length === 0;
}

/**
 * The schema after an evolving append: every stored column in its place, then the incoming
 * columns the frame did not have, in their order. Columns one side lacks become nullable.
 * @param timeColumn - the frame's time column, which the append must carry
 * @throws InvalidArgumentError (detail type SchemaMismatchError) naming each column whose type
 *   changed, for dictionary (categorical) columns, and for an append without the time column
 */
export function evolvedSchema(frame: string, stored: Schema, incoming: Schema, timeColumn: string | undefined): Schema {
  const incomingByName = new Map(incoming.fields.map((field) => [field.name, field] as const));
  const storedNames = new Set(stored.fields.map((field) => field.name));
  const problems: string[] = [];
  for (const field of stored.fields) {
    const other = incomingByName.get(field.name);
    if (other && !sameType(field.type, other.type)) problems.push(`column '${field.name}' is ${String(other.type)}, stored as ${String(field.type)} (a type cannot change)`);
  }
  for (const field of [...stored.fields, ...incoming.fields]) {
    if (DataType.isDictionary(field.type)) problems.push(`column '${field.name}' is a dictionary (categorical) column, which schema evolution does not support`);
  }
  if (timeColumn !== undefined && !incomingByName.has(timeColumn)) problems.push(`the time column '${timeColumn}' is missing (an evolving append must carry it)`);
  if (problems.length > 0) {
    throw new InvalidArgumentError(
      `cannot append to '${frame}' with "schema": "evolve": ${[...new Set(problems)].join('; ')}. Send those columns as stored, or use mode "replace".`,
      { type: 'SchemaMismatchError' },
    );
  }
  const fields = [
    ...stored.fields.map((field) => (incomingByName.has(field.name) || field.nullable ? field : field.clone({ nullable: true }))),
    ...incoming.fields.filter((field) => !storedNames.has(field.name)).map((field) => (field.nullable ? field : field.clone({ nullable: true }))),
  ];
  return new Schema(fields, stored.metadata);
}

/** Whether two schemas have the same column names in the same order. */
export function sameColumns(a: Schema, b: Schema): boolean {
  return a.fields.length === b.fields.length && a.fields.every((field, i) => field.name === b.fields[i]!.name);
}

/**
 * The segments of an evolving append's commit: each marked with the schema it was written with
 * when its columns differ from the new frame schema (segments marked already keep their mark).
 */
export function markedSegments(segments: readonly SegmentEntry[], writtenWith: Schema, frameSchema: Schema): SegmentEntry[] {
  if (sameColumns(writtenWith, frameSchema)) return [...segments];
  const mark = Buffer.from(encodeSchemaHeader(writtenWith)).toString('base64');
  return segments.map((segment) => (segment.schema !== undefined ? segment : { ...segment, schema: mark }));
}

/** Whether any segment was written with other columns than the frame's (then reads conform them). */
export function hasEvolvedSegments(segments: readonly SegmentEntry[]): boolean {
  return segments.some((segment) => segment.schema !== undefined);
}
