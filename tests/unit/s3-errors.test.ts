// How the S3 connector classifies the errors of S3-compatible stores: space and quota refusals
// (MinIO, Ceph RGW, HTTP 507) are StoreFullError, never a permission problem or INTERNAL.
import { describe, expect, it } from 'vitest';
import { toS3HangarError } from '../../src/connectors/s3/s3-errors.js';
import { PermissionDeniedError, ResourceExhaustedError, StorageError, StoreFullError } from '../../src/errors.js';

/** An error shaped as the AWS SDK throws it for an S3 error document. */
const sdkError = (name: string, status: number) => Object.assign(new Error(`${name} message`), { name, $metadata: { httpStatusCode: status } });
const map = (error: unknown) => toS3HangarError(error, "write segment s of 'f'", 's3://b/p at http://127.0.0.1:9000');

describe('S3 error classification', () => {
  it.each([
    ['XMinioStorageFull', 507],
    ['QuotaExceeded', 403],
    ['XMinioAdminBucketQuotaExceeded', 400],
    ['InsufficientStorage', 507],
    ['SomethingElse', 507],
  ])('%s (HTTP %i) is StoreFullError, RESOURCE_EXHAUSTED, saying what to do', (name, status) => {
    const error = map(sdkError(name, status));
    expect(error).toBeInstanceOf(StoreFullError);
    expect(error.code).toBe('RESOURCE_EXHAUSTED');
    expect(error.message).toMatch(/^\[s3\] the store is full: could not write segment s of 'f'/);
    expect(error.message).toContain(name);
    expect(error.message).toMatch(/hangar purge NAME/);
  });

  it('EntityTooLarge is RESOURCE_EXHAUSTED naming the upload settings, not a full store', () => {
    const error = map(sdkError('EntityTooLarge', 400));
    expect(error).toBeInstanceOf(ResourceExhaustedError);
    expect(error).not.toBeInstanceOf(StoreFullError);
    expect(error.message).toMatch(/multipartThreshold and partSize/);
  });

  it('other refusals keep their meaning', () => {
    expect(map(sdkError('AccessDenied', 403))).toBeInstanceOf(PermissionDeniedError);
    const other = map(sdkError('InternalError', 500));
    expect(other).toBeInstanceOf(StorageError);
    expect(other.code).toBe('INTERNAL');
  });
});
