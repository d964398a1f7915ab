/**
 * Turns errors of the Azure SDK into Hangar's error hierarchy, with messages that say what to fix:
 * a missing container, rejected credentials, denied access, an unreachable endpoint.
 */
import { FailedPreconditionError, HangarError, PermissionDeniedError, StorageError } from '../../errors.js';

/** The fields of an SDK `RestError` (or a network error) that the mapping reads. */
interface AzureErrorLike {
  readonly code?: string;
  readonly statusCode?: number;
  readonly details?: { readonly errorCode?: string };
  readonly cause?: { readonly code?: string };
}

/** The Blob service's error code (`BlobNotFound`, `ContainerNotFound`, `AuthenticationFailed` …) and HTTP status. */
export function azureErrorCode(error: unknown): { code: string; status: number | undefined } {
  const e = error as AzureErrorLike | undefined;
  // A HEAD answer has no body: its code comes from the x-ms-error-code header, in `details`.
  return { code: e?.details?.errorCode ?? e?.code ?? '', status: e?.statusCode };
}

/** The blob does not exist (its container does). */
export function isBlobMissing(error: unknown): boolean {
  const { code, status } = azureErrorCode(error);
  return code === 'BlobNotFound' || (status === 404 && code !== 'ContainerNotFound');
}

/** A write with `If-None-Match: *` found the blob there: 409 `BlobAlreadyExists` or 412 `ConditionNotMet`. */
export function isAlreadyThere(error: unknown): boolean {
  const { status } = azureErrorCode(error);
  return status === 409 || status === 412;
}

const NETWORK_CODES = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'ECONNRESET', 'EHOSTUNREACH', 'ENETUNREACH', 'ETIMEDOUT', 'REQUEST_SEND_ERROR']);

/**
 * Maps an SDK error to a HangarError: FailedPreconditionError for a missing container,
 * PermissionDeniedError for rejected credentials or denied access, StorageError otherwise (an
 * unreachable endpoint says so). HangarErrors pass through; the SDK's error stays as `cause`.
 * @param what - what the connector was doing, e.g. `read 'a/b'`
 * @param where - the store, e.g. `azure://container/prefix at http://127.0.0.1:10000/devstoreaccount1`
 */
export function toAzureHangarError(error: unknown, what: string, where: string): HangarError {
  if (error instanceof HangarError) return error;
  const { code, status } = azureErrorCode(error);
  const reason = `${code || 'an error'}${status ? `, HTTP ${status}` : ''}`;
  if (code === 'ContainerNotFound') {
    return new FailedPreconditionError(`[azure] could not ${what}: the container of ${where} does not exist; create it first`, { type: 'StorageError', cause: error });
  }
  if (status === 401 || status === 403) {
    const hint = 'check the credentials (account name and key, SAS token and its permissions, connection string) and the account\'s network rules';
    return new PermissionDeniedError(`[azure] could not ${what}: ${where} refused access (${reason}); ${hint}`, { type: 'StorageError', cause: error });
  }
  const network = (error as AzureErrorLike | undefined)?.cause?.code ?? code;
  if (NETWORK_CODES.has(network)) {
    return new StorageError('azure', `could not ${what}: the endpoint of ${where} is unreachable (${network}), after retries`, error);
  }
  return new StorageError('azure', `could not ${what} (${where}, ${reason})`, error);
}
