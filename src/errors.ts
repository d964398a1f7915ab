/**
 * The one error hierarchy of Hangar. Every layer throws these; the Flight layer maps them to
 * gRPC status codes in exactly one place (src/server/flight/status-mapping.ts).
 */

/** Stable machine-readable error codes; each maps to one gRPC status code. */
export type HangarErrorCode =
  | 'NOT_FOUND'
  | 'ALREADY_EXISTS'
  | 'INVALID_ARGUMENT'
  | 'FAILED_PRECONDITION'
  | 'UNAUTHENTICATED'
  | 'PERMISSION_DENIED'
  | 'RESOURCE_EXHAUSTED'
  | 'UNIMPLEMENTED'
  | 'CANCELLED'
  | 'DEADLINE_EXCEEDED'
  | 'DATA_LOSS'
  | 'INTERNAL';

/** Base class of every error Hangar raises on purpose. `type` is the name clients see in error details. */
export class HangarError extends Error {
  /** The machine-readable code, mapped to a gRPC status by the server. */
  readonly code: HangarErrorCode;
  /** The error type clients see in the JSON detail (shoots' clients map some of these to exceptions). */
  readonly type: string;

  /**
   * @param code - machine-readable code
   * @param message - what was wrong and what to do about it
   * @param options - `type` overrides the detail type; `cause` keeps the underlying error
   */
  constructor(code: HangarErrorCode, message: string, options: { type?: string; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.type = options.type ?? new.target.name;
  }
}

/** A frame or bucket does not exist. Detail type `FileNotFoundError`, as shoots' client expects. */
export class NotFoundError extends HangarError {
  /** @param message - names what was not found */
  constructor(message: string, options: { cause?: unknown } = {}) {
    super('NOT_FOUND', message, { type: 'FileNotFoundError', ...options });
  }
}

/** A frame already exists and the put mode was `error`. Detail type `FileExistsError`. */
export class AlreadyExistsError extends HangarError {
  /** @param message - names what already exists */
  constructor(message: string, options: { cause?: unknown } = {}) {
    super('ALREADY_EXISTS', message, { type: 'FileExistsError', ...options });
  }
}

/** The request itself is malformed: a bad name, bad JSON, a schema that does not match. */
export class InvalidArgumentError extends HangarError {
  /** @param message - what was wrong and how to fix it */
  constructor(message: string, options: { type?: string; cause?: unknown } = {}) {
    super('INVALID_ARGUMENT', message, options);
  }
}

/** The request is well-formed but the store's state forbids it (e.g. deleting a non-empty bucket). */
export class FailedPreconditionError extends HangarError {
  /** @param message - which state blocks the request */
  constructor(message: string, options: { type?: string; cause?: unknown } = {}) {
    super('FAILED_PRECONDITION', message, options);
  }
}

/** A bucket still holds frames and the delete mode was `error`. Detail type `BucketNotEmptyError`. */
export class BucketNotEmptyError extends FailedPreconditionError {
  /** @param bucket - the bucket that is not empty */
  constructor(bucket: string) {
    super(`bucket '${bucket}' is not empty; delete its frames first or use mode "delete"`, {
      type: 'BucketNotEmptyError',
    });
  }
}

/** Two writers raced on one frame and this one lost the compare-and-swap. */
export class ConflictError extends FailedPreconditionError {
  /** @param message - which frame and which versions collided */
  constructor(message: string) {
    super(message, { type: 'ConflictError' });
  }
}

/** The caller did not prove who they are. */
export class UnauthenticatedError extends HangarError {
  /** @param message - why authentication failed */
  constructor(message: string) {
    super('UNAUTHENTICATED', message);
  }
}

/** The caller is known but may not do this. */
export class PermissionDeniedError extends HangarError {
  /**
   * @param message - what was refused
   * @param options - detail type and cause
   */
  constructor(message: string, options: { type?: string; cause?: unknown } = {}) {
    super('PERMISSION_DENIED', message, options);
  }
}

/** A configured limit was exceeded (message size, put size). */
export class ResourceExhaustedError extends HangarError {
  /**
   * @param message - which limit, and its value
   * @param options - detail type and cause
   */
  constructor(message: string, options: { type?: string; cause?: unknown } = {}) {
    super('RESOURCE_EXHAUSTED', message, options);
  }
}

/**
 * The store is full: the disk (ENOSPC), a user quota (EDQUOT) or an object store's quota refused a
 * write. Nothing of the failed write is visible; reads, deletes and vacuum keep working.
 */
export class StoreFullError extends ResourceExhaustedError {
  /**
   * @param message - which write failed, and what the operator can do (delete frames, vacuum, grow the volume)
   * @param cause - the backend's own error
   */
  constructor(message: string, cause?: unknown) {
    super(message, { type: 'StoreFullError', cause });
  }
}

/** The feature is not available (yet) in this server. */
export class UnimplementedError extends HangarError {
  /** @param message - what is missing */
  constructor(message: string) {
    super('UNIMPLEMENTED', message);
  }
}

/** The client went away or cancelled the call. */
export class CancelledError extends HangarError {
  /** @param message - what was cancelled */
  constructor(message: string) {
    super('CANCELLED', message);
  }
}

/** An operation ran past its time limit (e.g. the SQL timeout) and was stopped. */
export class DeadlineExceededError extends HangarError {
  /**
   * @param message - which limit, and what to do
   * @param options - detail type and cause
   */
  constructor(message: string, options: { type?: string; cause?: unknown } = {}) {
    super('DEADLINE_EXCEEDED', message, options);
  }
}

/**
 * Stored bytes failed verification (a checksum mismatch, a truncated or unreadable segment): the
 * data is not served. The message names the bucket, frame, version and segment.
 */
export class DataLossError extends HangarError {
  /**
   * @param message - where the damage is and what to do (restore an earlier version, `hangar verify --repair-from`)
   * @param cause - the underlying error
   */
  constructor(message: string, cause?: unknown) {
    super('DATA_LOSS', message, { type: 'DataLossError', cause });
  }
}

/** A storage backend failed. Keeps the backend's error as `cause` and names the connector. */
export class StorageError extends HangarError {
  /**
   * @param connector - the connector's name, used as the message prefix
   * @param message - what the backend was doing
   * @param cause - the backend's own error
   */
  constructor(connector: string, message: string, cause?: unknown) {
    const why = cause instanceof Error ? `: ${cause.message}` : '';
    super('INTERNAL', `[${connector}] ${message}${why}`, { type: 'ShootsIOError', cause });
  }
}

/** Wraps anything that is not a HangarError so it can be reported without leaking internals. */
export function toHangarError(error: unknown): HangarError {
  if (error instanceof HangarError) return error;
  const message = error instanceof Error ? error.message : String(error);
  return new HangarError('INTERNAL', `internal error: ${message}`, { type: 'InternalError', cause: error });
}
