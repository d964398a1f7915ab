/**
 * The one place where Hangar errors become gRPC statuses. Every error carries a JSON detail
 * `{"type","message","code"}`, sent in the `grpc-status-details-bin` trailer (pyarrow exposes it
 * as `extra_info`). Two client families need special care, decided by their user-agent:
 * - grpc-go rejects a `grpc-status-details-bin` that is not a google.rpc.Status protobuf, turning
 *   every error into INTERNAL; Go clients get the detail in `x-hangar-error-bin` instead.
 * - Arrow C++ clients (pyarrow, R, C++) attach `extra_info` only to FlightServerError, which they
 *   raise only for gRPC UNKNOWN; shoots' client translates exactly those. For the error types shoots
 *   translates (not found, already exists, bucket not empty, SQL errors), these clients get UNKNOWN.
 * See docs/protocol.md, "Errors".
 */
import { Metadata, type ServiceError, status } from '@grpc/grpc-js';
import { type HangarErrorCode, toHangarError } from '../core/errors.js';

const GRPC_CODES: Record<HangarErrorCode, status> = {
  NOT_FOUND: status.NOT_FOUND,
  ALREADY_EXISTS: status.ALREADY_EXISTS,
  INVALID_ARGUMENT: status.INVALID_ARGUMENT,
  FAILED_PRECONDITION: status.FAILED_PRECONDITION,
  UNAUTHENTICATED: status.UNAUTHENTICATED,
  PERMISSION_DENIED: status.PERMISSION_DENIED,
  RESOURCE_EXHAUSTED: status.RESOURCE_EXHAUSTED,
  UNIMPLEMENTED: status.UNIMPLEMENTED,
  CANCELLED: status.CANCELLED,
  DEADLINE_EXCEEDED: status.DEADLINE_EXCEEDED,
  INTERNAL: status.INTERNAL,
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
const CODES_WITH_FLIGHT_DETAIL = new Set<status>([
  status.UNKNOWN,
  status.INTERNAL,
  status.UNAUTHENTICATED,
  status.PERMISSION_DENIED,
  status.CANCELLED,
  status.UNAVAILABLE,
  status.DEADLINE_EXCEEDED,
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
export type ClientFamily = 'arrow-cpp' | 'go' | 'other';

/** Classifies a client by the user-agent of its request metadata. */
export function clientFamily(metadata: Metadata | undefined): ClientFamily {
  const agent = String(metadata?.get('user-agent')[0] ?? '');
  if (agent.includes('grpc-c++')) return 'arrow-cpp';
  if (agent.includes('grpc-go')) return 'go';
  return 'other';
}

/** Converts any thrown value into the ServiceError grpc-js sends, with trailers for the detail. */
export function toServiceError(error: unknown, requestMetadata?: Metadata): Partial<ServiceError> {
  const hangar = toHangarError(error);
  const detail: ErrorDetail = { type: hangar.type, message: hangar.message, code: hangar.code };
  const detailBytes = Buffer.from(JSON.stringify(detail), 'utf8');
  const family = clientFamily(requestMetadata);
  const trailers = new Metadata();
  trailers.set(HANGAR_ERROR_TRAILER, detailBytes);
  if (family !== 'go') trailers.set('grpc-status-details-bin', detailBytes);
  const code = family === 'arrow-cpp' && SHOOTS_TRANSLATED_TYPES.has(hangar.type) ? status.UNKNOWN : GRPC_CODES[hangar.code];
  if (family === 'arrow-cpp' && CODES_WITH_FLIGHT_DETAIL.has(code)) {
    trailers.set('x-arrow-status', String(ARROW_STATUS_CODES[hangar.code] ?? ARROW_IO_ERROR));
    trailers.set('x-arrow-status-message-bin', Buffer.from(hangar.message, 'utf8'));
  }
  return { code, details: hangar.message, metadata: trailers };
}
