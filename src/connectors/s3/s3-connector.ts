/**
 * Objects in an S3 bucket under a prefix (AWS or any S3-compatible store). `ifAbsent` is a
 * conditional PutObject (`If-None-Match: *`); large objects go up as multipart uploads; ranges are
 * Range GETs. The AWS SDK is imported lazily in {@link S3Connector.open}, so servers on other
 * stores never load it.
 */
import { randomUUID } from 'node:crypto';
import type { S3Client } from '@aws-sdk/client-s3';
import { mapLimited } from '../../storage/concurrency.js';
import { Connector, type ObjectInfo, type PutOptions, type WriteConsistency, checkRange } from '../../storage/connector.js';
import { type ResolvedS3Options, type S3ConnectorOptions, resolveS3Options } from './s3-config.js';
import { httpStatus, isMissing, isPreconditionFailed, toS3HangarError } from './s3-errors.js';

type S3Sdk = typeof import('@aws-sdk/client-s3');

/** Probe objects of the conditional-write check at open (`~` keeps them apart from every bucket). */
const PROBES = '~probe/';
/** DeleteObjects takes at most this many keys. */
const DELETE_BATCH = 1000;

/** Stores each object as `<prefix><key>` in one S3 bucket. */
export class S3Connector extends Connector {
  /** @inheritdoc */
  readonly name = 's3';
  /** `atomic` when the store honours conditional writes (decided at {@link open}: see the `conditionalWrites` option). */
  override consistency: WriteConsistency = 'atomic';
  /** The options in force, defaults applied. */
  readonly options: ResolvedS3Options;
  private sdk: S3Sdk | undefined;
  private s3: S3Client | undefined;

  /** @param options - the bucket, prefix, endpoint and tuning; see docs/connectors.md */
  constructor(options: S3ConnectorOptions) {
    super();
    this.options = resolveS3Options(options);
  }

  /** Where the store is, for messages. */
  get location(): string {
    const at = this.options.endpoint ? ` at ${this.options.endpoint}` : '';
    return `s3://${this.options.bucket}/${this.options.root}${at}`;
  }

  /** Whether `ifAbsent` puts are conditional writes (known after {@link open}). */
  get usesConditionalWrites(): boolean {
    return this.consistency === 'atomic';
  }

  /**
   * Loads the SDK, creates the client, and checks the bucket, the credentials and (with
   * `conditionalWrites: auto|on`) that the store refuses a second `If-None-Match: *` put of one key.
   * @throws FailedPreconditionError for a missing bucket, PermissionDeniedError for bad credentials or denied access,
   *   StorageError for an unreachable endpoint or a store without conditional writes when they are `on`
   */
  override async open(): Promise<void> {
    const sdk = await import('@aws-sdk/client-s3');
    const o = this.options;
    this.sdk = sdk;
    this.s3 = new sdk.S3Client({
      ...(o.endpoint ? { endpoint: o.endpoint } : {}),
      ...(o.region ? { region: o.region } : {}),
      ...(o.credentials ? { credentials: o.credentials } : {}),
      forcePathStyle: o.forcePathStyle,
      maxAttempts: o.maxAttempts,
      retryMode: o.retryMode,
      requestHandler: { connectionTimeout: o.connectionTimeoutMs },
    });
    try {
      await this.checkStore();
    } catch (error) {
      this.s3.destroy();
      this.s3 = undefined;
      throw error;
    }
  }

  /** Checks the bucket and credentials, and decides whether `ifAbsent` uses conditional writes. */
  private async checkStore(): Promise<void> {
    const sdk = this.sdk!;
    const o = this.options;
    await this.call('open the store', async (s3) => {
      try {
        return await s3.send(new sdk.HeadBucketCommand({ Bucket: o.bucket }));
      } catch (error) {
        // HEAD responses have no body, so a missing bucket arrives as a bare 404 'NotFound'.
        if (isMissing(error)) throw Object.assign(new Error(`bucket ${o.bucket} does not exist`), { name: 'NoSuchBucket', cause: error });
        throw error;
      }
    });
    const conditional = o.conditionalWrites === 'off' ? false : await this.probeConditionalWrites();
    if (!conditional && o.conditionalWrites === 'on') {
      throw toS3HangarError(new Error('the store ignores If-None-Match on PutObject'), 'open the store with conditionalWrites=on', this.location);
    }
    this.consistency = conditional ? 'atomic' : 'single-process';
    if (!conditional && o.conditionalWrites === 'auto') {
      process.emitWarning(
        `${this.location} does not support conditional writes: commits are atomic within this server only, and a ` +
          'second server refuses to open the store while this one holds its writer lease',
        { code: 'HANGAR_S3_NO_CONDITIONAL_WRITES' },
      );
    }
  }

  /** Releases the client. */
  override async close(): Promise<void> {
    this.s3?.destroy();
    this.s3 = undefined;
  }

  /** Writes one key twice with `If-None-Match: *`; the store supports conditional writes if the second fails. */
  private async probeConditionalWrites(): Promise<boolean> {
    const { PutObjectCommand } = this.sdk!;
    const key = `${this.options.root}${PROBES}${randomUUID()}`;
    const put = (s3: S3Client) => s3.send(new PutObjectCommand({ Bucket: this.options.bucket, Key: key, Body: 'probe', IfNoneMatch: '*' }));
    await this.call('probe conditional writes', put);
    try {
      await put(this.client());
      return false;
    } catch (error) {
      if (isPreconditionFailed(error)) return true;
      throw toS3HangarError(error, 'probe conditional writes', this.location);
    } finally {
      await this.deleteObjects([key]).catch(() => undefined);
    }
  }

  private client(): S3Client {
    if (!this.s3) throw toS3HangarError(new Error('the S3 connector is not open'), 'use the store', this.location);
    return this.s3;
  }

  /** Runs one SDK call, mapping its errors. */
  private async call<T>(what: string, action: (s3: S3Client) => Promise<T>): Promise<T> {
    try {
      return await action(this.client());
    } catch (error) {
      throw toS3HangarError(error, what, this.location);
    }
  }

  /** @inheritdoc */
  async get(key: string): Promise<Uint8Array | undefined> {
    const { GetObjectCommand } = this.sdk!;
    try {
      const response = await this.client().send(new GetObjectCommand({ Bucket: this.options.bucket, Key: this.options.root + key }));
      return response.Body ? await response.Body.transformToByteArray() : new Uint8Array(0);
    } catch (error) {
      if (isMissing(error)) return undefined;
      throw toS3HangarError(error, `read ${key}`, this.location);
    }
  }

  /** One Range GET; empty if the range starts past the object's end. */
  override async getRange(key: string, offset: number, length: number): Promise<Uint8Array | undefined> {
    checkRange(offset, length);
    if (length === 0) return (await this.head(key)) ? new Uint8Array(0) : undefined;
    const { GetObjectCommand } = this.sdk!;
    try {
      const response = await this.client().send(
        new GetObjectCommand({ Bucket: this.options.bucket, Key: this.options.root + key, Range: `bytes=${offset}-${offset + length - 1}` }),
      );
      const bytes = response.Body ? await response.Body.transformToByteArray() : new Uint8Array(0);
      // A store that ignores Range answers 200 with the whole object: cut the range out of it.
      if (response.ContentRange === undefined && bytes.byteLength > length) return bytes.slice(offset, offset + length);
      return bytes;
    } catch (error) {
      if (isMissing(error)) return undefined;
      if (httpStatus(error) === 416 || (error as { name?: string }).name === 'InvalidRange') return new Uint8Array(0);
      throw toS3HangarError(error, `read ${key}`, this.location);
    }
  }

  /** One HEAD request. */
  override async head(key: string): Promise<ObjectInfo | undefined> {
    const { HeadObjectCommand } = this.sdk!;
    try {
      const response = await this.client().send(new HeadObjectCommand({ Bucket: this.options.bucket, Key: this.options.root + key }));
      return { key, size: response.ContentLength ?? 0, modifiedAt: response.LastModified ?? new Date(0) };
    } catch (error) {
      if (isMissing(error)) return undefined;
      throw toS3HangarError(error, `stat ${key}`, this.location);
    }
  }

  /**
   * One PutObject (conditional with `ifAbsent`), or a multipart upload above `multipartThreshold`
   * (aborted on failure, so no partial object ever appears under the key).
   */
  async put(key: string, data: Uint8Array, options?: PutOptions): Promise<boolean> {
    const what = `write ${key}`;
    const fullKey = this.options.root + key;
    if (!options?.ifAbsent && data.byteLength > this.options.multipartThreshold) {
      await this.multipartUpload(fullKey, data, what);
      return true;
    }
    if (options?.ifAbsent && this.consistency !== 'atomic' && (await this.head(key))) return false;
    const { PutObjectCommand } = this.sdk!;
    try {
      await this.client().send(new PutObjectCommand({
        Bucket: this.options.bucket,
        Key: fullKey,
        Body: data,
        ContentLength: data.byteLength,
        ...(options?.ifAbsent && this.consistency === 'atomic' ? { IfNoneMatch: '*' } : {}),
      }));
      return true;
    } catch (error) {
      if (!isPreconditionFailed(error)) throw toS3HangarError(error, what, this.location);
      // A retried request whose first attempt was stored (its answer lost) also gets 412: then the
      // object holds exactly our bytes, and the put has succeeded.
      const stored = await this.get(key);
      return stored !== undefined && Buffer.from(stored).equals(Buffer.from(data));
    }
  }

  private async multipartUpload(key: string, bytes: Uint8Array, what: string): Promise<void> {
    const { CreateMultipartUploadCommand, UploadPartCommand, CompleteMultipartUploadCommand, AbortMultipartUploadCommand } = this.sdk!;
    const bucket = this.options.bucket;
    const { UploadId } = await this.call(what, (s3) => s3.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: key })));
    const partSize = this.options.partSize;
    const parts = Array.from({ length: Math.ceil(bytes.byteLength / partSize) }, (_, index) => index);
    try {
      const etags = await mapLimited(parts, this.options.uploadConcurrency, async (index) => {
        const body = bytes.subarray(index * partSize, Math.min(bytes.byteLength, (index + 1) * partSize));
        const { ETag } = await this.call(what, (s3) =>
          s3.send(new UploadPartCommand({ Bucket: bucket, Key: key, UploadId, PartNumber: index + 1, Body: body, ContentLength: body.byteLength })),
        );
        return ETag;
      });
      await this.call(what, (s3) =>
        s3.send(new CompleteMultipartUploadCommand({
          Bucket: bucket,
          Key: key,
          UploadId,
          MultipartUpload: { Parts: etags.map((ETag, index) => ({ ETag, PartNumber: index + 1 })) },
        })),
      );
    } catch (error) {
      await this.client().send(new AbortMultipartUploadCommand({ Bucket: bucket, Key: key, UploadId })).catch(() => undefined);
      throw error;
    }
  }

  /** @inheritdoc */
  async delete(keys: readonly string[]): Promise<void> {
    await this.deleteObjects(keys.map((key) => this.options.root + key));
  }

  /** Deletes full keys in batches of 1,000; missing keys are fine. */
  private async deleteObjects(keys: readonly string[]): Promise<void> {
    const { DeleteObjectsCommand } = this.sdk!;
    for (let start = 0; start < keys.length; start += DELETE_BATCH) {
      const batch = keys.slice(start, start + DELETE_BATCH);
      const result = await this.call('delete objects', (s3) =>
        s3.send(new DeleteObjectsCommand({ Bucket: this.options.bucket, Delete: { Objects: batch.map((Key) => ({ Key })), Quiet: true } })),
      );
      const failed = (result.Errors ?? []).filter((error) => error.Code !== 'NoSuchKey');
      if (failed.length > 0) {
        throw toS3HangarError(Object.assign(new Error(failed[0]!.Message ?? 'delete failed'), { name: failed[0]!.Code }), `delete ${failed.length} object(s)`, this.location);
      }
    }
  }

  /** Every key under the prefix, page by page (ListObjectsV2 is strongly consistent on S3). */
  async *list(prefix: string): AsyncIterable<ObjectInfo> {
    const { ListObjectsV2Command } = this.sdk!;
    const root = this.options.root;
    let token: string | undefined;
    do {
      const page = await this.call(`list ${prefix || 'the store'}`, (s3) =>
        s3.send(new ListObjectsV2Command({ Bucket: this.options.bucket, Prefix: root + prefix, ...(token ? { ContinuationToken: token } : {}) })),
      );
      for (const object of page.Contents ?? []) {
        if (object.Key) yield { key: object.Key.slice(root.length), size: object.Size ?? 0, modifiedAt: object.LastModified ?? new Date(0) };
      }
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
  }
}
