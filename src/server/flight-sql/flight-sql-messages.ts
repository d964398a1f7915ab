/**
 * Flight SQL's protobuf messages (FlightSql.proto, package arrow.flight.protocol.sql) as plain
 * objects: the commands a FlightDescriptor CMD, a Ticket or an Action body carries inside a
 * google.protobuf.Any, decoded; and the results Hangar sends, encoded. Field numbers follow the spec.
 */
import { BinaryReader, WireType } from '@bufbuild/protobuf/wire';
import { InvalidArgumentError } from '../../errors.js';
import { type ProtoField, ProtoWriter, readFields } from '../../flight/protobuf-wire.js';

/** The prefix of every Flight SQL message's type URL inside a google.protobuf.Any. */
export const FLIGHT_SQL_TYPE_PREFIX = 'type.googleapis.com/arrow.flight.protocol.sql.';

const utf8 = new TextDecoder('utf-8');
const text = (bytes: Uint8Array | undefined): string => (bytes ? utf8.decode(bytes) : '');

/** A google.protobuf.Any: a type URL and the serialised message. */
export interface AnyMessage {
  /** e.g. `type.googleapis.com/arrow.flight.protocol.sql.CommandStatementQuery`. */
  readonly typeUrl: string;
  /** The packed message's bytes. */
  readonly value: Uint8Array;
}

/** Encodes a google.protobuf.Any {type_url = 1, value = 2}. */
export function encodeAny(messageName: string, value: Uint8Array): Buffer {
  return new ProtoWriter().string(1, FLIGHT_SQL_TYPE_PREFIX + messageName).bytes(2, value).finish();
}

/**
 * Decodes bytes as a google.protobuf.Any, or answers undefined when they are not one (Hangar's own
 * JSON commands start with `{`, which is never a valid first tag of an Any).
 */
export function decodeAny(bytes: Uint8Array): AnyMessage | undefined {
  // An Any starts with field 1 (type_url, length-delimited): tag byte 0x0a.
  if (bytes.byteLength === 0 || bytes[0] !== 0x0a) return undefined;
  let fields: ProtoField[];
  try {
    fields = readFields(bytes, 'google.protobuf.Any');
  } catch {
    return undefined;
  }
  let typeUrl = '';
  let value: Uint8Array = new Uint8Array(0);
  for (const f of fields) {
    if (f.field === 1) typeUrl = text(f.bytes);
    else if (f.field === 2 && f.bytes) value = f.bytes;
  }
  return { typeUrl, value };
}

/** Whether an Any holds a Flight SQL message. */
export function isFlightSqlAny(any: AnyMessage | undefined): any is AnyMessage {
  return any !== undefined && any.typeUrl.startsWith(FLIGHT_SQL_TYPE_PREFIX);
}

/** CommandStatementIngest.TableDefinitionOptions.TableNotExistOption. */
export enum TableNotExistOption {
  Unspecified = 0,
  Create = 1,
  Fail = 2,
}

/** CommandStatementIngest.TableDefinitionOptions.TableExistsOption. */
export enum TableExistsOption {
  Unspecified = 0,
  Fail = 1,
  Append = 2,
  Replace = 3,
}

/** Every Flight SQL command Hangar reads, tagged by its message name. */
export type FlightSqlCommand =
  | { readonly kind: 'CommandStatementQuery'; readonly query: string; readonly transactionId?: Uint8Array }
  | { readonly kind: 'CommandStatementSubstraitPlan' }
  | { readonly kind: 'CommandPreparedStatementQuery'; readonly handle: Uint8Array }
  | { readonly kind: 'CommandStatementUpdate'; readonly query: string }
  | { readonly kind: 'CommandPreparedStatementUpdate'; readonly handle: Uint8Array }
  | {
      readonly kind: 'CommandStatementIngest';
      readonly ifNotExist: TableNotExistOption;
      readonly ifExists: TableExistsOption;
      readonly table: string;
      readonly schema?: string;
      readonly catalog?: string;
      readonly temporary: boolean;
      readonly transactionId?: Uint8Array;
      readonly options: ReadonlyMap<string, string>;
    }
  | { readonly kind: 'CommandGetSqlInfo'; readonly info: readonly number[] }
  | { readonly kind: 'CommandGetXdbcTypeInfo'; readonly dataType?: number }
  | { readonly kind: 'CommandGetCatalogs' }
  | { readonly kind: 'CommandGetDbSchemas'; readonly catalog?: string; readonly dbSchemaFilterPattern?: string }
  | {
      readonly kind: 'CommandGetTables';
      readonly catalog?: string;
      readonly dbSchemaFilterPattern?: string;
      readonly tableNameFilterPattern?: string;
      readonly tableTypes: readonly string[];
      readonly includeSchema: boolean;
    }
  | { readonly kind: 'CommandGetTableTypes' }
  | { readonly kind: 'CommandGetPrimaryKeys' | 'CommandGetExportedKeys' | 'CommandGetImportedKeys'; readonly table: string }
  | { readonly kind: 'CommandGetCrossReference' }
  | { readonly kind: 'TicketStatementQuery'; readonly handle: Uint8Array };

/** The names of the commands above. */
export type FlightSqlCommandKind = FlightSqlCommand['kind'];

/** Reads the values of a `repeated uint32`/`int32` field, packed (the proto3 default) or not. */
function repeatedVarints(fields: readonly ProtoField[], field: number, messageName: string): number[] {
  const values: number[] = [];
  for (const f of fields) {
    if (f.field !== field) continue;
    if (f.wireType === WireType.Varint) values.push(f.varint ?? 0);
    else if (f.bytes) {
      const reader = new BinaryReader(f.bytes);
      try {
        while (reader.pos < reader.len) values.push(reader.uint32());
      } catch (error) {
        throw new InvalidArgumentError(`malformed ${messageName} message: a packed list of numbers is cut short`, { cause: error });
      }
    }
  }
  return values;
}

/** The string of a field when present (proto3 `optional`: an empty string is still present). */
function optionalString(fields: readonly ProtoField[], field: number): string | undefined {
  let value: string | undefined;
  for (const f of fields) if (f.field === field && f.wireType === WireType.LengthDelimited) value = text(f.bytes);
  return value;
}

function bytesField(fields: readonly ProtoField[], field: number): Uint8Array | undefined {
  let value: Uint8Array | undefined;
  for (const f of fields) if (f.field === field && f.bytes) value = f.bytes;
  return value;
}

function varintField(fields: readonly ProtoField[], field: number): number | undefined {
  let value: number | undefined;
  for (const f of fields) if (f.field === field && f.wireType === WireType.Varint) value = f.varint;
  return value;
}

function decodeIngest(fields: readonly ProtoField[]): FlightSqlCommand {
  let ifNotExist = TableNotExistOption.Unspecified;
  let ifExists = TableExistsOption.Unspecified;
  const definition = bytesField(fields, 1);
  if (definition) {
    const inner = readFields(definition, 'TableDefinitionOptions');
    ifNotExist = varintField(inner, 1) ?? TableNotExistOption.Unspecified;
    ifExists = varintField(inner, 2) ?? TableExistsOption.Unspecified;
  }
  const options = new Map<string, string>();
  for (const f of fields) {
    if (f.field !== 1000 || !f.bytes) continue;
    const entry = readFields(f.bytes, 'CommandStatementIngest.OptionsEntry');
    options.set(optionalString(entry, 1) ?? '', optionalString(entry, 2) ?? '');
  }
  const schema = optionalString(fields, 3);
  const catalog = optionalString(fields, 4);
  const transactionId = bytesField(fields, 6);
  return {
    kind: 'CommandStatementIngest',
    ifNotExist,
    ifExists,
    table: optionalString(fields, 2) ?? '',
    ...(schema === undefined ? {} : { schema }),
    ...(catalog === undefined ? {} : { catalog }),
    temporary: varintField(fields, 5) === 1,
    ...(transactionId ? { transactionId } : {}),
    options,
  };
}

/** Decodes a Flight SQL message by its name. @throws InvalidArgumentError for an unknown one or malformed bytes */
function decodeCommand(name: string, bytes: Uint8Array): FlightSqlCommand {
  const fields = readFields(bytes, name);
  switch (name) {
    case 'CommandStatementQuery': {
      const transactionId = bytesField(fields, 2);
      return { kind: name, query: optionalString(fields, 1) ?? '', ...(transactionId ? { transactionId } : {}) };
    }
    case 'CommandStatementSubstraitPlan':
    case 'CommandGetCatalogs':
    case 'CommandGetTableTypes':
    case 'CommandGetCrossReference':
      return { kind: name };
    case 'CommandPreparedStatementQuery':
    case 'CommandPreparedStatementUpdate':
      return { kind: name, handle: bytesField(fields, 1) ?? new Uint8Array(0) };
    case 'TicketStatementQuery':
      return { kind: name, handle: bytesField(fields, 1) ?? new Uint8Array(0) };
    case 'CommandStatementUpdate':
      return { kind: name, query: optionalString(fields, 1) ?? '' };
    case 'CommandStatementIngest':
      return decodeIngest(fields);
    case 'CommandGetSqlInfo':
      return { kind: name, info: repeatedVarints(fields, 1, name) };
    case 'CommandGetXdbcTypeInfo': {
      const dataType = varintField(fields, 1);
      // int32 on the wire: negative type codes (e.g. BIGINT = -5) arrive as 64-bit two's complement.
      return { kind: name, ...(dataType === undefined ? {} : { dataType: dataType | 0 }) };
    }
    case 'CommandGetDbSchemas': {
      const catalog = optionalString(fields, 1);
      const pattern = optionalString(fields, 2);
      return { kind: name, ...(catalog === undefined ? {} : { catalog }), ...(pattern === undefined ? {} : { dbSchemaFilterPattern: pattern }) };
    }
    case 'CommandGetTables': {
      const catalog = optionalString(fields, 1);
      const schemas = optionalString(fields, 2);
      const tables = optionalString(fields, 3);
      return {
        kind: name,
        ...(catalog === undefined ? {} : { catalog }),
        ...(schemas === undefined ? {} : { dbSchemaFilterPattern: schemas }),
        ...(tables === undefined ? {} : { tableNameFilterPattern: tables }),
        tableTypes: fields.filter((f) => f.field === 4).map((f) => text(f.bytes)),
        includeSchema: varintField(fields, 5) === 1,
      };
    }
    case 'CommandGetPrimaryKeys':
    case 'CommandGetExportedKeys':
    case 'CommandGetImportedKeys':
      return { kind: name, table: optionalString(fields, 3) ?? '' };
    default:
      throw new InvalidArgumentError(`this server does not know the Flight SQL command ${name}`);
  }
}

/**
 * Decodes the Flight SQL command an Any holds.
 * @throws InvalidArgumentError for an Any of another package, an unknown command or malformed bytes
 */
export function decodeFlightSqlCommand(any: AnyMessage): FlightSqlCommand {
  if (!any.typeUrl.startsWith(FLIGHT_SQL_TYPE_PREFIX)) {
    throw new InvalidArgumentError(`expected a Flight SQL command, got a message of type '${any.typeUrl}'`);
  }
  return decodeCommand(any.typeUrl.slice(FLIGHT_SQL_TYPE_PREFIX.length), any.value);
}

/** Encodes a CommandStatementQuery (for clients and tests). */
export function encodeCommandStatementQuery(query: string): Buffer {
  return encodeAny('CommandStatementQuery', new ProtoWriter().string(1, query).finish());
}

/** Encodes a command whose only field is a handle (CommandPreparedStatementQuery, TicketStatementQuery, …) inside an Any. */
export function encodeHandleCommand(
  name: 'CommandPreparedStatementQuery' | 'CommandPreparedStatementUpdate' | 'TicketStatementQuery',
  handle: Uint8Array,
): Buffer {
  return encodeAny(name, new ProtoWriter().bytes(1, handle).finish());
}

/** ActionCreatePreparedStatementRequest {query = 1, transaction_id = 2}. */
export interface CreatePreparedStatementRequest {
  /** The SQL to prepare. */
  readonly query: string;
  /** Set when the client asks for a transaction (refused). */
  readonly transactionId?: Uint8Array;
}

/** Decodes an ActionCreatePreparedStatementRequest (an Action body: an Any, or the bare message as some clients send). */
export function decodeCreatePreparedStatementRequest(body: Uint8Array): CreatePreparedStatementRequest {
  const fields = readFields(unwrapActionBody(body, 'ActionCreatePreparedStatementRequest'), 'ActionCreatePreparedStatementRequest');
  const transactionId = bytesField(fields, 2);
  return { query: optionalString(fields, 1) ?? '', ...(transactionId ? { transactionId } : {}) };
}

/** Decodes an ActionClosePreparedStatementRequest into its handle. */
export function decodeClosePreparedStatementRequest(body: Uint8Array): Uint8Array {
  const fields = readFields(unwrapActionBody(body, 'ActionClosePreparedStatementRequest'), 'ActionClosePreparedStatementRequest');
  return bytesField(fields, 1) ?? new Uint8Array(0);
}

/** The message inside an Action body: the spec packs it in an Any. */
function unwrapActionBody(body: Uint8Array, expected: string): Uint8Array {
  const any = decodeAny(body);
  if (any && any.typeUrl.startsWith(FLIGHT_SQL_TYPE_PREFIX)) {
    const name = any.typeUrl.slice(FLIGHT_SQL_TYPE_PREFIX.length);
    if (name !== expected) throw new InvalidArgumentError(`the action body holds a ${name}, expected ${expected}`);
    return any.value;
  }
  return body;
}

/** Encodes ActionCreatePreparedStatementResult {handle = 1, dataset_schema = 2, parameter_schema = 3}, packed in an Any. */
export function encodeCreatePreparedStatementResult(handle: Uint8Array, datasetSchema: Uint8Array, parameterSchema: Uint8Array | undefined): Buffer {
  const message = new ProtoWriter().bytes(1, handle).bytes(2, datasetSchema).bytes(3, parameterSchema).finish();
  return encodeAny('ActionCreatePreparedStatementResult', message);
}

/** Encodes DoPutPreparedStatementResult {prepared_statement_handle = 1} (sent bare in PutResult.app_metadata). */
export function encodeDoPutPreparedStatementResult(handle: Uint8Array): Buffer {
  return new ProtoWriter().bytes(1, handle).finish();
}

/** Encodes DoPutUpdateResult {record_count = 1} (sent bare in PutResult.app_metadata). */
export function encodeDoPutUpdateResult(recordCount: number): Buffer {
  return new ProtoWriter().varint(1, recordCount).finish();
}
