/**
 * The one place where Hangar errors become gRPC statuses. Every error carries a JSON detail
 * `{"type","message","code"}` in the `x-hangar-error-bin` trailer. Arrow C++ clients (pyarrow, R,
 * C++), recognised by their user-agent, need more:
 * - they read the detail from `grpc-status-details-bin` (pyarrow exposes it as `extra_info`). Other
 *   clients do not get that trailer: gRPC reserves it for a google.rpc.Status protobuf, and grpc-go
 *   turns any other content into INTERNAL (grpc-java's StatusProto fails on it too);
 * - they attach `extra_info` only to FlightServerError, which they raise only for gRPC UNKNOWN;
 *   shoots' client translates exactly those. For the error types shoots translates (not found,
 *   already exists, bucket not empty, SQL errors), these clients get UNKNOWN.
 * See docs/protocol.md, "Errors".
 */
import type { CallMetadata } from '../grpc/metadata.js';
import { type CallStatus, GrpcStatus, type GrpcStatusCode } from '../grpc/status.js';
import { type HangarErrorCode, toHangarError } from '../errors.js';

const GRPC_CODES: Record<HangarErrorCode, GrpcStatusCode> = {
  NOT_FOUND: GrpcStatus.NOT_FOUND,
  ALREADY_EXISTS: GrpcStatus.ALREADY_EXISTS,
  INVALID_ARGUMENT: GrpcStatus.INVALID_ARGUMENT,
  FAILED_PRECONDITION: GrpcStatus.FAILED_PRECONDITION,
  UNAUTHENTICATED: GrpcStatus.UNAUTHENTICATED,
  PERMISSION_DENIED: GrpcStatus.PERMISSION_DENIED,
  RESOURCE_EXHAUSTED: GrpcStatus.RESOURCE_EXHAUSTED,
  UNIMPLEMENTED: GrpcStatus.UNIMPLEMENTED,
  CANCELLED: GrpcStatus.CANCELLED,
  DEADLINE_EXCEEDED: GrpcStatus.DEADLINE_EXCEEDED,
  DATA_LOSS: GrpcStatus.DATA_LOSS,
  INTERNAL: GrpcStatus.INTERNAL,
};

/** Detail types that shoots' Python client turns into typed exceptions. */
const SHOOTS_TRANSLATED_TYPES = new Set(['FileNotFoundError', 'FileExistsError', 'BucketNotEmptyError', 'DataFusionError']);

/** Arrow C++ StatusCode numbers, sent in `x-arrow-status` so C++ clients rebuild a matching Status. */
const ARROW_STATUS_CODES: Partial<Record<HangarErrorCode, number>> = {
  NOT_FOUND: 2, // KeyError
  INVALID_ARGUMENT: 4, // Invalid
  CANCELLED: 8, // Cancelled
  UNIMPLEMENTED: 10, // NotImplemented
  ALREADY_EXISTS: 45, // AlreadyExists
};
const ARROW_IO_ERROR = 5;

/**
 * gRPC codes for which Arrow C++ attaches a FlightStatusDetail. Only with one does it keep the
 * detail bytes as `extra_info` under the right exception; for other codes sending `x-arrow-status`
 * would turn e.g. NOT_FOUND into FlightInternalError, so those go without it.
 */
const CODES_WITH_FLIGHT_DETAIL = new Set<GrpcStatusCode>([
  GrpcStatus.UNKNOWN,
  GrpcStatus.INTERNAL,
  GrpcStatus.UNAUTHENTICATED,
  GrpcStatus.PERMISSION_DENIED,
  GrpcStatus.CANCELLED,
  GrpcStatus.UNAVAILABLE,
  GrpcStatus.DEADLINE_EXCEEDED,
]);

/** The trailer carrying the JSON detail for clients that cannot take it in grpc-status-details-bin. */
export const HANGAR_ERROR_TRAILER = 'x-hangar-error-bin';

/** The JSON detail every error carries. */
export interface ErrorDetail {
  /** Error type name (shoots-compatible where one exists). */
  readonly type: string;
  /** Human-readable message. */
  readonly message: string;
  /** Hangar's error code (the precise gRPC status name). */
  readonly code: HangarErrorCode;
}

/** Which conventions the calling client follows, from its user-agent. */
export type ClientFamily = 'arrow-cpp' | 'other';

/** Classifies a client by the user-agent of its request metadata. */
export function clientFamily(metadata: CallMetadata | undefined): ClientFamily {
  const agent = metadata?.get('user-agent') ?? '';
  if (agent.includes('grpc-c++')) return 'arrow-cpp';
  return 'other';
}

/**
 * Longest status message sent, in characters. Messages quote what the client sent (an action's
 * name, a value), and the message travels in three trailers at once: unbounded, a 30 KB action
 * name made the trailers too large for HTTP/2 and the reply was reset instead of answered (found
 * by the protocol fuzzer); grpc-java refuses trailers over 8 KiB.
 */
export const MAX_STATUS_MESSAGE_CHARS = 1024;

/** The message, cut to {@link MAX_STATUS_MESSAGE_CHARS} with a note saying how much was left out. */
function boundedMessage(message: string): string {
  if (message.length <= MAX_STATUS_MESSAGE_CHARS) return message;
  return `${message.slice(0, MAX_STATUS_MESSAGE_CHARS)}… (${message.length - MAX_STATUS_MESSAGE_CHARS} more characters left out)`;
}

/** Converts any thrown value into the status a call ends with, with trailers for the detail. */
export function toCallStatus(error: unknown, requestMetadata?: CallMetadata): CallStatus {
  const hangar = toHangarError(error);
  const message = boundedMessage(hangar.message);
  const detail: ErrorDetail = { type: hangar.type, message, code: hangar.code };
  const detailBytes = Buffer.from(JSON.stringify(detail), 'utf8');
  const family = clientFamily(requestMetadata);
  const trailers: Record<string, string | Uint8Array> = { [HANGAR_ERROR_TRAILER]: detailBytes };
  if (family === 'arrow-cpp') trailers['grpc-status-details-bin'] = detailBytes;
  const code = family === 'arrow-cpp' && SHOOTS_TRANSLATED_TYPES.has(hangar.type) ? GrpcStatus.UNKNOWN : GRPC_CODES[hangar.code];
  if (family === 'arrow-cpp' && CODES_WITH_FLIGHT_DETAIL.has(code)) {
    trailers['x-arrow-status'] = String(ARROW_STATUS_CODES[hangar.code] ?? ARROW_IO_ERROR);
    trailers['x-arrow-status-message-bin'] = Buffer.from(message, 'utf8');
  }
  return { code, message, trailers };
}
