/** gRPC status codes (the numbers are fixed by the gRPC specification). */
export const GrpcStatus = {
  OK: 0,
  CANCELLED: 1,
  UNKNOWN: 2,
  INVALID_ARGUMENT: 3,
  DEADLINE_EXCEEDED: 4,
  NOT_FOUND: 5,
  ALREADY_EXISTS: 6,
  PERMISSION_DENIED: 7,
  RESOURCE_EXHAUSTED: 8,
  FAILED_PRECONDITION: 9,
  ABORTED: 10,
  OUT_OF_RANGE: 11,
  UNIMPLEMENTED: 12,
  INTERNAL: 13,
  UNAVAILABLE: 14,
  DATA_LOSS: 15,
  UNAUTHENTICATED: 16,
} as const;

/** One gRPC status code. */
export type GrpcStatusCode = (typeof GrpcStatus)[keyof typeof GrpcStatus];

/** gRPC status names by code. */
export const GRPC_STATUS_NAMES: Readonly<Record<number, string>> = Object.fromEntries(Object.entries(GrpcStatus).map(([name, code]) => [code, name]));

/** How a call ends: its code, a message for people, and trailers (e.g. error details). */
export interface CallStatus {
  /** The gRPC status code. */
  readonly code: GrpcStatusCode;
  /** The status message (sent percent-encoded in `grpc-message`). */
  readonly message: string;
  /** Further trailers; names ending in `-bin` carry bytes. */
  readonly trailers?: OutgoingMetadata;
}

/** Metadata to send: lower-case names to text, or to bytes for names ending in `-bin`. */
export type OutgoingMetadata = Readonly<Record<string, string | Uint8Array>>;
