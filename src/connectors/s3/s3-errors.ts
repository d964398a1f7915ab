/**
 * Turns errors of the AWS SDK into Hangar's error hierarchy, with messages that say what to fix:
 * a missing bucket, rejected credentials, access denied, an unreachable endpoint.
 */
import { FailedPreconditionError, HangarError, PermissionDeniedError, StorageError } from '../../core/errors.js';

/** The fields of an SDK service or network error that the mapping reads. */
interface SdkErrorLike {
  readonly name?: string;
  readonly code?: string;
  readonly Code?: string;
  readonly $metadata?: { readonly httpStatusCode?: number };
}

function errorName(error: unknown): string {
  const e = error as SdkErrorLike | undefined;
  return e?.name ?? e?.Code ?? e?.code ?? '';
}

/** HTTP status of an SDK error, if it got a response. */
export function httpStatus(error: unknown): number | undefined {
  return (error as SdkErrorLike | undefined)?.$metadata?.httpStatusCode;
}

/** The object (or bucket) does not exist. */
export function isMissing(error: unknown): boolean {
  const name = errorName(error);
  return name === 'NoSuchKey' || name === 'NotFound' || (httpStatus(error) === 404 && name !== 'NoSuchBucket');
}

/** A conditional write lost: the key exists (412) or another conditional write on it is in flight (409). */
export function isPreconditionFailed(error: unknown): boolean {
  const name = errorName(error);
  return name === 'PreconditionFailed' || name === 'ConditionalRequestConflict' || httpStatus(error) === 412;
}

const CREDENTIAL_ERRORS = new Set(['InvalidAccessKeyId', 'SignatureDoesNotMatch', 'ExpiredToken', 'InvalidToken', 'TokenRefreshRequired']);
const NETWORK_CODES = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'ECONNRESET', 'EHOSTUNREACH', 'ENETUNREACH', 'ETIMEDOUT']);

/**
 * Maps an SDK error to a HangarError: PermissionDeniedError for denied access and rejected or
 * missing credentials, FailedPreconditionError for a missing S3 bucket, StorageError otherwise.
 * HangarErrors pass through unchanged.
 * @param what - what the connector was doing, e.g. `read the manifest of 'prices'`
 * @param where - the store, e.g. `s3://bucket/prefix at http://127.0.0.1:9000`
 */
export function toS3HangarError(error: unknown, what: string, where: string): HangarError {
  if (error instanceof HangarError) return error;
  const name = errorName(error);
  const status = httpStatus(error);
  if (name === 'NoSuchBucket') {
    return new FailedPreconditionError(`[s3] could not ${what}: the S3 bucket of ${where} does not exist; create it first`, {
      type: 'StorageError',
      cause: error,
    });
  }
  if (CREDENTIAL_ERRORS.has(name)) {
    return new PermissionDeniedError(
      `[s3] could not ${what}: ${where} rejected the credentials (${name}); check AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN or the profile`,
      { type: 'StorageError', cause: error },
    );
  }
  if (name === 'CredentialsProviderError') {
    return new PermissionDeniedError(
      `[s3] could not ${what}: no AWS credentials found; set AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, AWS_PROFILE, or pass credentials`,
      { type: 'StorageError', cause: error },
    );
  }
  if (name === 'AccessDenied' || name === 'AllAccessDisabled' || status === 403) {
    return new PermissionDeniedError(`[s3] could not ${what}: access denied by ${where} (${name || 'HTTP 403'})`, {
      type: 'StorageError',
      cause: error,
    });
  }
  const code = (error as SdkErrorLike | undefined)?.code ?? '';
  if (NETWORK_CODES.has(code) || name === 'TimeoutError' || name === 'RequestTimeout') {
    return new StorageError('s3', `could not ${what}: the endpoint of ${where} is unreachable (${code || name}), after retries`, error);
  }
  return new StorageError('s3', `could not ${what} (${where}${status ? `, HTTP ${status}` : ''})`, error);
}
