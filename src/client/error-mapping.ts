/** Turns gRPC call failures back into Hangar's typed errors, using the server's JSON detail when present. */
import type { CallMetadata } from '../grpc/metadata.js';
import { GRPC_STATUS_NAMES, GrpcStatus } from '../grpc/status.js';
import { GrpcCallFailure } from './transport/grpc-channel.js';
import {
  AlreadyExistsError,
  BucketNotEmptyError,
  CancelledError,
  DeadlineExceededError,
  ConflictError,
  DataLossError,
  FailedPreconditionError,
  HangarError,
  type HangarErrorCode,
  InvalidArgumentError,
  NotFoundError,
  PermissionDeniedError,
  ResourceExhaustedError,
  StoreFullError,
  UnauthenticatedError,
  UnimplementedError,
} from '../errors.js';

/** The trailer in which Hangar sends its JSON error detail to every client family. */
const HANGAR_DETAIL_KEY = 'x-hangar-error-bin';
/** Hangar also sends the detail here; other servers send a google.rpc.Status protobuf, which is skipped. */
const STATUS_DETAIL_KEY = 'grpc-status-details-bin';

/** The JSON detail a Hangar server attaches to an error status. */
export interface ServerErrorDetail {
  /** The server's error type name, e.g. `FileNotFoundError` or `BucketNotEmptyError`. */
  readonly type: string;
  /** The server's message. */
  readonly message: string;
  /** Hangar's error code. */
  readonly code: string;
}

/**
 * A failed call whose gRPC status has no Hangar counterpart (UNAVAILABLE, DEADLINE_EXCEEDED,
 * UNKNOWN...), typically a transport problem or a non-Hangar server's own error.
 */
export class FlightCallError extends HangarError {
  /** The numeric gRPC status code. */
  readonly grpcCode: number;
  /** The gRPC status name, e.g. `UNAVAILABLE`. */
  readonly grpcStatus: string;

  /**
   * @param grpcCode - the numeric gRPC status
   * @param message - the server's (or transport's) message
   * @param cause - the call's failure
   */
  constructor(grpcCode: number, message: string, cause?: unknown) {
    super('INTERNAL', message, { type: 'FlightCallError', cause });
    this.grpcCode = grpcCode;
    this.grpcStatus = GRPC_STATUS_NAMES[grpcCode] ?? `STATUS_${grpcCode}`;
  }
}

/** Reads the JSON detail from the trailers, if a Hangar server sent one. */
export function readErrorDetail(trailers: CallMetadata | undefined): ServerErrorDetail | undefined {
  if (!trailers) return undefined;
  for (const key of [HANGAR_DETAIL_KEY, STATUS_DETAIL_KEY]) {
    const value = trailers.getBinary(key);
    const detail = value && parseDetail(value);
    if (detail) return detail;
  }
  return undefined;
}

function parseDetail(value: Buffer): ServerErrorDetail | undefined {
  const textValue = value.toString('utf8');
  // google.rpc.Status protobufs from other servers start with a field tag, never '{'.
  if (!textValue.startsWith('{')) return undefined;
  try {
    const parsed = JSON.parse(textValue) as Record<string, unknown>;
    if (typeof parsed.message !== 'string') return undefined;
    return {
      type: typeof parsed.type === 'string' ? parsed.type : '',
      message: parsed.message,
      code: typeof parsed.code === 'string' ? parsed.code : '',
    };
  } catch {
    return undefined;
  }
}

const CODE_BY_STATUS: Partial<Record<number, HangarErrorCode>> = {
  [GrpcStatus.NOT_FOUND]: 'NOT_FOUND',
  [GrpcStatus.ALREADY_EXISTS]: 'ALREADY_EXISTS',
  [GrpcStatus.INVALID_ARGUMENT]: 'INVALID_ARGUMENT',
  [GrpcStatus.FAILED_PRECONDITION]: 'FAILED_PRECONDITION',
  [GrpcStatus.UNAUTHENTICATED]: 'UNAUTHENTICATED',
  [GrpcStatus.PERMISSION_DENIED]: 'PERMISSION_DENIED',
  [GrpcStatus.RESOURCE_EXHAUSTED]: 'RESOURCE_EXHAUSTED',
  [GrpcStatus.UNIMPLEMENTED]: 'UNIMPLEMENTED',
  [GrpcStatus.CANCELLED]: 'CANCELLED',
  [GrpcStatus.DEADLINE_EXCEEDED]: 'DEADLINE_EXCEEDED',
  [GrpcStatus.DATA_LOSS]: 'DATA_LOSS',
  [GrpcStatus.INTERNAL]: 'INTERNAL',
};

/** Builds the typed error for a code, keeping the server's message and type. */
function typedError(code: HangarErrorCode, type: string | undefined, message: string): HangarError {
  // Some constructors compose their own message or fix their type; the server's wording wins.
  if (type === 'BucketNotEmptyError') return withMessage(new BucketNotEmptyError(''), message);
  if (type === 'ConflictError') return new ConflictError(message);
  if (type === 'StoreFullError') return new StoreFullError(message);
  const typeOption = type ? { type } : {};
  switch (code) {
    case 'NOT_FOUND':
      return new NotFoundError(message);
    case 'ALREADY_EXISTS':
      return new AlreadyExistsError(message);
    case 'INVALID_ARGUMENT':
      return new InvalidArgumentError(message, typeOption);
    case 'FAILED_PRECONDITION':
      return new FailedPreconditionError(message, typeOption);
    case 'UNAUTHENTICATED':
      return new UnauthenticatedError(message);
    case 'PERMISSION_DENIED':
      return new PermissionDeniedError(message, typeOption);
    case 'RESOURCE_EXHAUSTED':
      return new ResourceExhaustedError(message, typeOption);
    case 'UNIMPLEMENTED':
      return new UnimplementedError(message);
    case 'CANCELLED':
      return new CancelledError(message);
    case 'DEADLINE_EXCEEDED':
      return new DeadlineExceededError(message, typeOption);
    case 'DATA_LOSS':
      return new DataLossError(message);
    case 'INTERNAL':
      return new HangarError('INTERNAL', message, { type: type || 'InternalError' });
  }
}

function withMessage<E extends Error>(error: E, message: string): E {
  error.message = message;
  return error;
}

function isHangarCode(code: string): code is HangarErrorCode {
  return Object.values(CODE_BY_STATUS).includes(code as HangarErrorCode);
}

/** Context that makes transport errors readable. */
export interface ErrorContext {
  /** The server's location, named in connection errors. */
  readonly location?: string;
}

/**
 * Converts anything a call fails with into a typed error: by the detail's `code` (and `type` for
 * BucketNotEmptyError and ConflictError) when the server sent one, else by the gRPC status.
 * Errors that are not call failures (or are already typed) pass through unchanged.
 */
export function toClientError(error: unknown, context: ErrorContext = {}): Error {
  if (error instanceof HangarError || !(error instanceof GrpcCallFailure)) return error instanceof Error ? error : new Error(String(error));
  const detail = readErrorDetail(error.trailers);
  const message = detail?.message ?? error.details;
  const code = detail && isHangarCode(detail.code) ? detail.code : CODE_BY_STATUS[error.code];
  let typed: HangarError;
  if (code) typed = typedError(code, detail?.type, message);
  else if (error.code === GrpcStatus.UNAVAILABLE && context.location) {
    typed = new FlightCallError(error.code, `the Flight server at ${context.location} is unavailable: ${message}`, error);
  } else typed = new FlightCallError(error.code, message, error);
  if (typed.cause === undefined) Object.defineProperty(typed, 'cause', { value: error, configurable: true, writable: true });
  return typed;
}
