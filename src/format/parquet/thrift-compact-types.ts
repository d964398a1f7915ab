/**
 * Type ids of the Thrift compact protocol, as they appear in field headers (list element types use
 * the same numbers; in a list, booleans are `TRUE`). Shared by the footer reader and the writer.
 */
export const ThriftType = {
  TRUE: 1,
  FALSE: 2,
  BYTE: 3,
  I16: 4,
  I32: 5,
  I64: 6,
  DOUBLE: 7,
  BINARY: 8,
  LIST: 9,
  SET: 10,
  MAP: 11,
  STRUCT: 12,
} as const;
