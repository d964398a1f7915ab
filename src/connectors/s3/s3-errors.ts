/**
 * Turns errors of the AWS SDK into Hangar's error hierarchy, with messages that say what to fix:
 * a missing bucket, rejected credentials, access denied, an unreachable endpoint, a full store.
 */
import { FailedPreconditionError, HangarError, PermissionDeniedError, ResourceExhaustedError, StorageError } from '../../errors.js';
import { storeFullError } from '../store-full.js';

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

/**
 * Error codes with which S3-compatible stores refuse a write for lack of space or quota: Ceph RGW's
 * user and bucket quotas (`QuotaExceeded`, HTTP 403), MinIO's free-drive threshold
 * (`XMinioStorageFull`, HTTP 507) and bucket quota (`XMinioAdminBucketQuotaExceeded`, HTTP 400),
 * and the generic `InsufficientStorage` (HTTP 507, which counts whatever its code).
 */
const STORE_FULL_ERRORS: ReadonlySet<string> = new Set(['QuotaExceeded', 'XMinioStorageFull', 'XMinioAdminBucketQuotaExceeded', 'InsufficientStorage']);
const INSUFFICIENT_STORAGE = 507;

/** Whether the store refused a write because it is full or over a quota. */
export function isStoreFull(error: unknown): boolean {
  return STORE_FULL_ERRORS.has(errorName(error)) || httpStatus(error) === INSUFFICIENT_STORAGE;
}

const CREDENTIAL_ERRORS = new Set(['InvalidAccessKeyId', 'SignatureDoesNotMatch', 'ExpiredToken', 'InvalidToken', 'TokenRefreshRequired']);
const NETWORK_CODES = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'ECONNRESET', 'EHOSTUNREACH', 'ENETUNREACH', 'ETIMEDOUT']);

/**
 * Maps an SDK error to a HangarError: StoreFullError for a store out of space or over a quota,
 * ResourceExhaustedError for an object over the store's size limit, PermissionDeniedError for
 * denied access and rejected or missing credentials, FailedPreconditionError for a missing S3
 * bucket, StorageError otherwise. HangarErrors pass through unchanged.
 * @param what - what the connector was doing, e.g. `read the manifest of 'prices'`
 * @param where - the store, e.g. `s3://bucket/prefix at http://127.0.0.1:9000`
 */
export function toS3HangarError(error: unknown, what: string, where: string): HangarError {
  if (error instanceof HangarError) return error;
  const name = errorName(error);
  const status = httpStatus(error);
  // Before the 403 test below: Ceph answers a quota refusal with 403, which is not a permission problem.
  if (isStoreFull(error)) return storeFullError('s3', what, `${where} answered ${name || 'an error'}, HTTP ${status ?? '?'}`, error);
  if (name === 'EntityTooLarge') {
    return new ResourceExhaustedError(
      `[s3] could not ${what}: ${where} refused an object as too large for one upload (EntityTooLarge); ` +
        'lower the connector\'s multipartThreshold and partSize (URL parameters) so segments go up in smaller parts',
      { type: 'StorageError', cause: error },
    );
  }
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
