/**
 * The one place where Hangar errors become HTTP statuses and RFC 9457 problem details, as the
 * Flight side's status-mapping.ts is for gRPC. The problem's `type` and `code` are the error type
 * and code Flight clients see in their JSON detail, so both APIs report the same errors.
 */
import { type HangarErrorCode, toHangarError } from '../errors.js';

/** The error type of an upload over the server's put limit (413 rather than 429). */
export const PAYLOAD_TOO_LARGE_TYPE = 'PayloadTooLargeError';

const HTTP_STATUSES: Record<HangarErrorCode, number> = {
  NOT_FOUND: 404,
  ALREADY_EXISTS: 409,
  INVALID_ARGUMENT: 400,
  FAILED_PRECONDITION: 409,
  UNAUTHENTICATED: 401,
  PERMISSION_DENIED: 403,
  // As Google's canonical mapping of gRPC codes: a limit was hit, retry later or ask for less.
  RESOURCE_EXHAUSTED: 429,
  UNIMPLEMENTED: 501,
  // nginx's "client closed request": nobody reads it, but logs and metrics should not say 500.
  CANCELLED: 499,
  DEADLINE_EXCEEDED: 504,
  DATA_LOSS: 500,
  INTERNAL: 500,
};

/** Error types whose HTTP status is more precise than their code's. */
const TYPE_STATUSES: Readonly<Record<string, number>> = {
  StoreFullError: 507,
  [PAYLOAD_TOO_LARGE_TYPE]: 413,
};

/** The media type of a problem document. */
export const PROBLEM_MEDIA_TYPE = 'application/problem+json';

/** Base of the problem `type` URIs: relative references to docs/http-api.md#errors. */
const PROBLEM_TYPE_BASE = '/docs/http-api#';

/** An RFC 9457 problem details object, with Hangar's `code` as an extension member. */
export interface ProblemDetails {
  /** A URI reference naming the problem type (the Flight error type as fragment). */
  readonly type: string;
  /** The error type, e.g. `FileNotFoundError` (what Flight clients see as the detail type). */
  readonly title: string;
  /** The HTTP status. */
  readonly status: number;
  /** What was wrong and what to do. */
  readonly detail: string;
  /** Hangar's error code (the gRPC status name Flight answers with). */
  readonly code: HangarErrorCode;
  /** The request path. */
  readonly instance?: string;
}

/** The HTTP status a thrown value is answered with. */
export function httpStatusOf(error: unknown): number {
  const hangar = toHangarError(error);
  return TYPE_STATUSES[hangar.type] ?? HTTP_STATUSES[hangar.code];
}

/** Converts any thrown value into the problem document answering it. */
export function toProblem(error: unknown, instance?: string): ProblemDetails {
  const hangar = toHangarError(error);
  return {
    type: `${PROBLEM_TYPE_BASE}${hangar.type}`,
    title: hangar.type,
    status: httpStatusOf(hangar),
    detail: hangar.message,
    code: hangar.code,
    ...(instance === undefined ? {} : { instance }),
  };
}
