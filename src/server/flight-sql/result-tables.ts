/**
 * Small Arrow results built in memory (catalog metadata, SqlInfo, type info): columns from plain
 * arrays under an exact schema (the spec fixes names, types and nullability), encoded as the IPC
 * messages DoGet streams and the encapsulated schema FlightInfo carries.
 */
import {
  type Data,
  type DataType,
  Field,
  RecordBatch,
  Schema,
  Struct,
  Table,
  makeData,
  tableToIPC,
  vectorFromArray,
} from 'apache-arrow';
import { type IpcMessage, encapsulateMessage, encodeSchemaHeader, splitIpcStream } from '../../format/ipc-message.js';

/** A column's name, type and nullability. */
export type ColumnSpec = readonly [name: string, type: DataType, nullable: boolean];

/** Builds a schema from column specs. */
export function schemaOf(columns: readonly ColumnSpec[]): Schema {
  return new Schema(columns.map(([name, type, nullable]) => new Field(name, type, nullable)));
}

/** One column's data from plain values (null for SQL NULL). */
export function columnData(type: DataType, values: readonly unknown[]): Data {
  return vectorFromArray(values as unknown[], type).data[0]!;
}

/**
 * A table of `schema` whose columns are `columns` (one Data each, all of `rows` rows); zero rows
 * makes an empty table that still carries the schema.
 */
export function tableOf(schema: Schema, columns: readonly Data[], rows: number): Table {
  if (rows === 0) return new Table(schema);
  const struct = makeData({ type: new Struct(schema.fields), length: rows, nullCount: 0, children: [...columns] });
  return new Table(schema, [new RecordBatch(schema, struct)]);
}

/** A table from row objects keyed by column name. */
export function tableOfRows(columns: readonly ColumnSpec[], rows: readonly Record<string, unknown>[]): Table {
  const schema = schemaOf(columns);
  return tableOf(
    schema,
    columns.map(([name, type]) => columnData(type, rows.map((row) => row[name] ?? null))),
    rows.length,
  );
}

/** The IPC messages of a table: its schema, then its batches. */
export function tableMessages(table: Table): IpcMessage[] {
  return splitIpcStream(tableToIPC(table, 'stream'));
}

/** The encapsulated IPC schema message FlightInfo, SchemaResult and prepared statements carry. */
export function encapsulatedSchema(schema: Schema): Uint8Array {
  return encapsulateMessage({ header: encodeSchemaHeader(schema), body: new Uint8Array(0) });
}
