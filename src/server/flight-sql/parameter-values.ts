/**
 * Prepared-statement parameters as Flight SQL clients send them (an Arrow stream, one column per
 * parameter, via DoPut) turned into {@link SqlParameter} values, and those values as JSON for the
 * signed statement tickets.
 */
import { DataType, type Data, type Table, TimeUnit, tableFromIPC } from 'apache-arrow';
import { InvalidArgumentError } from '../../errors.js';
import { type IpcMessage, inspectMessage, joinIpcStream } from '../../format/ipc-message.js';
import type { SqlParameter } from '../../core/sql/sql-parameters.js';

/** The most bytes of Arrow a parameter binding may send (one row of values needs far less). */
export const MAX_PARAMETER_BYTES = 16 * 1024 * 1024;

/** A parameter value (the core's type, re-exported for the Flight SQL modules). */
export type SqlParameterValue = SqlParameter;

const MICROS_PER_UNIT: Record<TimeUnit, [bigint, bigint]> = {
  [TimeUnit.SECOND]: [1_000_000n, 1n],
  [TimeUnit.MILLISECOND]: [1_000n, 1n],
  [TimeUnit.MICROSECOND]: [1n, 1n],
  [TimeUnit.NANOSECOND]: [1n, 1_000n],
};

/** The value at `row` of one column's data, as a bindable parameter. */
function valueAt(data: Data, row: number, name: string): SqlParameter {
  const type = data.type as DataType;
  if (!data.getValid(row) || DataType.isNull(type)) return null;
  const values = data.values as ArrayLike<number | bigint>;
  if (DataType.isBool(type)) return ((data.values as Uint8Array)[(data.offset + row) >> 3]! & (1 << ((data.offset + row) & 7))) !== 0;
  if (DataType.isInt(type)) return BigInt(values[data.offset + row]!);
  if (DataType.isFloat(type)) {
    if (type.precision === 0) throw new InvalidArgumentError(`parameter '${name}' is a half-precision float; send float32 or float64`);
    return Number(values[data.offset + row]);
  }
  if (DataType.isUtf8(type) || DataType.isLargeUtf8(type) || DataType.isBinary(type) || DataType.isLargeBinary(type)) {
    const offsets = data.valueOffsets as ArrayLike<number | bigint>;
    const start = Number(offsets[data.offset + row]);
    const end = Number(offsets[data.offset + row + 1]);
    const bytes = (data.values as Uint8Array).subarray(start, end);
    return DataType.isUtf8(type) || DataType.isLargeUtf8(type) ? new TextDecoder().decode(bytes) : Uint8Array.from(bytes);
  }
  if (DataType.isTimestamp(type)) {
    const [multiply, divide] = MICROS_PER_UNIT[type.unit];
    return { timestampMicros: (BigInt(values[data.offset + row]!) * multiply) / divide };
  }
  if (DataType.isDate(type)) {
    const raw = Number(values[data.offset + row]);
    // DATE32 counts days; DATE64 milliseconds.
    return { dateDays: type.unit === 0 ? raw : Math.floor(raw / 86_400_000) };
  }
  throw new InvalidArgumentError(
    `parameter '${name}' has Arrow type ${String(type)}, which cannot be bound; send integers, floats, booleans, text, binary, dates or timestamps`,
  );
}

/**
 * The parameter values of a DoPut's Arrow stream: one column per parameter, one row per execution.
 * @throws InvalidArgumentError for more than one row or an unsupported type
 */
export function parameterValuesOf(messages: readonly IpcMessage[]): SqlParameter[] {
  if (messages.length === 0) return [];
  let bytes = 0;
  for (const message of messages) {
    // The same checks as a put's messages: a hostile header must not make apache-arrow allocate at will.
    inspectMessage(message);
    bytes += message.header.byteLength + message.body.byteLength;
    if (bytes > MAX_PARAMETER_BYTES) throw new InvalidArgumentError(`the parameters exceed ${MAX_PARAMETER_BYTES} bytes; bind one row of values`);
  }
  let table: Table;
  try {
    table = tableFromIPC(joinIpcStream(messages));
  } catch (error) {
    throw new InvalidArgumentError(`the parameters are not a valid Arrow stream: ${(error as Error).message}`, { cause: error });
  }
  if (table.numRows === 0) return [];
  if (table.numRows > 1) {
    throw new InvalidArgumentError(`${table.numRows} rows of parameters were bound to a query; bind one row per execution`);
  }
  return table.schema.fields.map((field, column) => {
    const vector = table.getChildAt(column)!;
    const data = vector.data.find((chunk) => chunk.length > 0)!;
    return valueAt(data, 0, field.name);
  });
}

type EncodedValue = null | boolean | string | number | { b: string } | { i: string } | { t: string } | { d: number };

/** Encodes parameter values as JSON-safe values (bigints and bytes tagged). */
export function encodeParameterValues(values: readonly SqlParameter[]): EncodedValue[] {
  return values.map((value) => {
    if (value === null || typeof value === 'boolean' || typeof value === 'string' || typeof value === 'number') return value;
    if (typeof value === 'bigint') return { i: value.toString() };
    if (value instanceof Uint8Array) return { b: Buffer.from(value).toString('base64') };
    if ('timestampMicros' in value) return { t: value.timestampMicros.toString() };
    return { d: value.dateDays };
  });
}

/** Decodes what {@link encodeParameterValues} produced. */
export function decodeParameterValues(encoded: unknown): SqlParameter[] {
  if (!Array.isArray(encoded)) throw new InvalidArgumentError('malformed parameters in a statement ticket');
  return (encoded as EncodedValue[]).map((value) => {
    if (value === null || typeof value !== 'object') return value;
    if ('i' in value) return BigInt(value.i);
    if ('b' in value) return Uint8Array.from(Buffer.from(value.b, 'base64'));
    if ('t' in value) return { timestampMicros: BigInt(value.t) };
    return { dateDays: value.d };
  });
}
