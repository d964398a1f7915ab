/**
 * Frames as Parquet segments plus JSON manifests in an S3 bucket (AWS or any S3-compatible store).
 * The manifest compare-and-swap is a conditional PutObject (`If-None-Match: *`) of the next
 * version's key; layout and guarantees are in docs/storage-layout.md. The AWS SDK is imported
 * lazily in {@link S3Connector.open}, so servers on other connectors never load it.
 */
import { randomUUID } from 'node:crypto';
import type { S3Client } from '@aws-sdk/client-s3';
import { ConflictError, NotFoundError } from '../../core/errors.js';
import { KeyedMutex } from '../../core/keyed-mutex.js';
import { type FrameManifest, decodeManifest, encodeManifest, segmentObjectIds } from '../../core/manifest.js';
import type { FrameRef } from '../../core/names.js';
import { type ByteRange, FrameStore, type FrameStoreCapabilities, type StoredObject, checkRanges } from '../../storage/frame-store.js';
import { type ResolvedS3Options, type S3ConnectorOptions, resolveS3Options } from './s3-config.js';
import { ManifestCache } from '../../storage/manifest-cache.js';
import { httpStatus, isMissing, isPreconditionFailed, toS3HangarError } from './s3-errors.js';
import { mapLimited } from '../concurrency.js';

type S3Sdk = typeof import('@aws-sdk/client-s3');

/** One object of a listing. */
interface ListedObject {
  readonly key: string;
  readonly etag: string | undefined;
  /** Last-modified time, epoch milliseconds. */
  readonly modifiedAt: number;
}

/** A manifest object of a frame. */
interface ManifestObject extends ListedObject {
  readonly version: number;
}

const MANIFEST_DIGITS = 12;
/** Bucket markers live under a name no Hangar bucket can have (`~` is not a name character). */
const BUCKET_MARKERS = '~buckets/';
/** Probe objects of the conditional-write check at open. */
const PROBES = '~probe/';
/** How long getManifests may reuse the listing of the listFrames call that preceded it. */
const LISTING_REUSE_MS = 2000;
/** DeleteObjects takes at most this many keys. */
const DELETE_BATCH = 1000;

/**
 * Merges ranges into the spans to request, sorted: a range starting at most `gap` bytes after the
 * previous span's end (or overlapping it) extends that span.
 */
export function coalesceRanges(ranges: readonly ByteRange[], gap: number): ByteRange[] {
  const sorted = [...ranges].sort((a, b) => a.start - b.start);
  const spans: { start: number; end: number }[] = [];
  for (const range of sorted) {
    const last = spans.at(-1);
    if (last && range.start - last.end <= gap) last.end = Math.max(last.end, range.end);
    else spans.push({ start: range.start, end: range.end });
  }
  return spans;
}

function manifestVersion(key: string): number | undefined {
  const match = /\/manifests\/(\d+)\.json$/.exec(key);
  return match ? Number.parseInt(match[1]!, 10) : undefined;
}

/** Stores each frame as `<prefix>/<bucket>/<frame>/{segments,manifests}/` in one S3 bucket. */
export class S3Connector extends FrameStore {
  /** @inheritdoc */
  readonly name = 's3';
  /**
   * Persistent; commits are atomic across processes when the store honours conditional writes
   * (decided at {@link open}: see the `conditionalWrites` option).
   */
  override capabilities: FrameStoreCapabilities = { persistent: true, crossProcessCommits: true, versions: true, rangedReads: true };
  /** The options in force, defaults applied. */
  readonly options: ResolvedS3Options;
  private sdk: S3Sdk | undefined;
  private s3: S3Client | undefined;
  private conditional = true;
  /** In-process serialisation of commits per frame; across processes the conditional write decides. */
  private readonly commits = new KeyedMutex();
  /** Buckets whose marker this instance wrote or saw, to skip re-writing it on every commit. */
  private readonly knownBuckets = new Set<string>();
  /** Segment keys written by this instance and not yet referenced by a committed manifest. */
  private readonly uncommitted = new Set<string>();
  private readonly manifests = new ManifestCache();
  /**
   * The last listFrames listing. The engine lists a bucket with listFrames and then getManifests of
   * those names; the next getManifests (within 2 s) reuses it once, which halves the requests. Any
   * commit or delete by this instance drops it, so this process always reads its own writes.
   */
  private recentListing: { readonly bucket: string; readonly at: number; readonly latest: Map<string, ManifestObject> } | undefined;

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

  /** Whether manifests are committed with conditional writes (known after {@link open}). */
  get usesConditionalWrites(): boolean {
    return this.conditional;
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

  /** Checks the bucket and credentials, and decides whether commits use conditional writes. */
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
    this.conditional = o.conditionalWrites === 'off' ? false : await this.probeConditionalWrites();
    if (!this.conditional && o.conditionalWrites === 'on') {
      throw toS3HangarError(new Error('the store ignores If-None-Match on PutObject'), 'open the store with conditionalWrites=on', this.location);
    }
    if (!this.conditional) {
      this.capabilities = { ...this.capabilities, crossProcessCommits: false };
      if (o.conditionalWrites === 'auto') {
        process.emitWarning(
          `${this.location} does not support conditional writes: commits are atomic within this server only; ` +
            'never let two servers write the same store',
          { code: 'HANGAR_S3_NO_CONDITIONAL_WRITES' },
        );
      }
    }
  }

  /** Deletes the segments this instance wrote but never committed, then releases the client. */
  override async close(): Promise<void> {
    if (!this.s3) return;
    const keys = [...this.uncommitted];
    this.uncommitted.clear();
    await this.deleteKeys(keys).catch(() => undefined);
    this.s3.destroy();
    this.s3 = undefined;
  }

  /** Writes one key twice with `If-None-Match: *`; the store supports conditional writes if the second fails. */
  private async probeConditionalWrites(): Promise<boolean> {
    const { PutObjectCommand } = this.sdk!;
    const key = `${this.options.root}${PROBES}${randomUUID()}`;
    const put = (s3: S3Client) => s3.send(new PutObjectCommand({ Bucket: this.options.bucket, Key: key, Body: 'probe', IfNoneMatch: '*' }));
    await this.call('probe conditional writes', put);
    try {
      await this.client().send(new PutObjectCommand({ Bucket: this.options.bucket, Key: key, Body: 'probe', IfNoneMatch: '*' }));
      return false;
    } catch (error) {
      if (isPreconditionFailed(error)) return true;
      throw toS3HangarError(error, 'probe conditional writes', this.location);
    } finally {
      await this.deleteKeys([key]).catch(() => undefined);
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

  private frameRoot(ref: FrameRef): string {
    return `${this.options.root}${ref.bucket}/${ref.name}/`;
  }

  private segmentKey(ref: FrameRef, id: string): string {
    return `${this.frameRoot(ref)}segments/${id}`;
  }

  private manifestKey(ref: FrameRef, version: number): string {
    return `${this.frameRoot(ref)}manifests/${String(version).padStart(MANIFEST_DIGITS, '0')}.json`;
  }

  /** Every key under a prefix, page by page (ListObjectsV2 is strongly consistent on S3). */
  private async *listObjects(prefix: string): AsyncGenerator<ListedObject[]> {
    const { ListObjectsV2Command } = this.sdk!;
    let token: string | undefined;
    do {
      const page = await this.call(`list ${prefix}`, (s3) =>
        s3.send(new ListObjectsV2Command({
          Bucket: this.options.bucket,
          Prefix: prefix,
          ...(token ? { ContinuationToken: token } : {}),
        })),
      );
      yield (page.Contents ?? []).flatMap((object) =>
        object.Key ? [{ key: object.Key, etag: object.ETag, modifiedAt: object.LastModified?.getTime() ?? Date.now() }] : [],
      );
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
  }

  /** Deletes keys in batches; missing keys are fine. */
  private async deleteKeys(keys: readonly string[]): Promise<void> {
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

  /** The frame's highest manifest version and its key, or undefined. */
  private async latestManifest(ref: FrameRef): Promise<ManifestObject | undefined> {
    return (await this.manifestObjects(ref)).at(-1);
  }

  /** Reads a listed manifest object, from the cache when its ETag matches; undefined if it is gone. */
  private async readManifest(object: ManifestObject, ref: FrameRef): Promise<FrameManifest | undefined> {
    const cached = this.manifests.get(object.key, object.etag);
    if (cached) return cached;
    const { GetObjectCommand } = this.sdk!;
    try {
      const response = await this.client().send(new GetObjectCommand({ Bucket: this.options.bucket, Key: object.key }));
      const manifest = decodeManifest(await response.Body!.transformToByteArray(), `s3://${this.options.bucket}/${object.key}`, { ref, version: object.version });
      this.manifests.set(object.key, response.ETag, manifest);
      return manifest;
    } catch (error) {
      if (isMissing(error)) return undefined;
      throw toS3HangarError(error, `read the manifest of '${ref.name}'`, this.location);
    }
  }

  private async getObject(key: string, what: string): Promise<Uint8Array | undefined> {
    const { GetObjectCommand } = this.sdk!;
    try {
      const response = await this.client().send(new GetObjectCommand({ Bucket: this.options.bucket, Key: key }));
      if (!response.Body) return new Uint8Array(0);
      return await response.Body.transformToByteArray();
    } catch (error) {
      if (isMissing(error)) return undefined;
      throw toS3HangarError(error, what, this.location);
    }
  }

  /**
   * Uploads a segment: one PutObject, or a multipart upload above `multipartThreshold` (aborted on
   * failure, so no partial object ever appears under the key). The segment stays under its frame's
   * prefix, invisible until a manifest references it; {@link close} deletes it if none did.
   */
  async putSegment(ref: FrameRef, id: string, bytes: Uint8Array): Promise<void> {
    const key = this.segmentKey(ref, id);
    const what = `write segment ${id} of '${ref.name}'`;
    this.uncommitted.add(key);
    if (bytes.byteLength > this.options.multipartThreshold) {
      await this.multipartUpload(key, bytes, what);
    } else {
      const { PutObjectCommand } = this.sdk!;
      await this.call(what, (s3) => s3.send(new PutObjectCommand({ Bucket: this.options.bucket, Key: key, Body: bytes, ContentLength: bytes.byteLength })));
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
  async getSegment(ref: FrameRef, id: string): Promise<Uint8Array> {
    const bytes = await this.getObject(this.segmentKey(ref, id), `read segment ${id} of '${ref.name}'`);
    if (!bytes) throw new NotFoundError(`segment ${id} of frame '${ref.name}' does not exist`);
    return bytes;
  }

  /**
   * Fetches byte ranges with HTTP Range GETs: ranges less than `rangeCoalesceBytes` apart share one
   * request, and at most `rangeConcurrency` requests are in flight. Each request is retried as
   * every call is (the SDK's `maxAttempts`).
   */
  override async getSegmentRanges(ref: FrameRef, id: string, ranges: readonly ByteRange[]): Promise<Uint8Array[]> {
    checkRanges(ranges);
    const key = this.segmentKey(ref, id);
    const what = `read ranges of segment ${id} of '${ref.name}'`;
    const spans = coalesceRanges(ranges.filter((range) => range.end > range.start), this.options.rangeCoalesceBytes);
    const fetched = await mapLimited(spans, this.options.rangeConcurrency, (span) => this.getObjectRange(key, span, what));
    if (fetched.some((bytes) => bytes === undefined)) throw new NotFoundError(`segment ${id} of frame '${ref.name}' does not exist`);
    return ranges.map((range) => {
      if (range.end <= range.start) return new Uint8Array(0);
      const index = spans.findIndex((span) => span.start <= range.start && range.end <= span.end);
      const bytes = fetched[index]!;
      // A span reaching past the end of the object comes back short; so does any range in it.
      return bytes.subarray(Math.min(range.start - spans[index]!.start, bytes.byteLength), Math.min(range.end - spans[index]!.start, bytes.byteLength));
    });
  }

  /** One Range GET; undefined if the object is missing, empty if the range starts past its end. */
  private async getObjectRange(key: string, range: ByteRange, what: string): Promise<Uint8Array | undefined> {
    const { GetObjectCommand } = this.sdk!;
    try {
      const response = await this.client().send(
        new GetObjectCommand({ Bucket: this.options.bucket, Key: key, Range: `bytes=${range.start}-${range.end - 1}` }),
      );
      const bytes = response.Body ? await response.Body.transformToByteArray() : new Uint8Array(0);
      // A store that ignores Range answers 200 with the whole object: cut the range out of it.
      if (response.ContentRange === undefined && bytes.byteLength > range.end - range.start) return bytes.slice(range.start, range.end);
      return bytes;
    } catch (error) {
      if (isMissing(error)) return undefined;
      if (httpStatus(error) === 416 || (error as { name?: string }).name === 'InvalidRange') return new Uint8Array(0);
      throw toS3HangarError(error, what, this.location);
    }
  }

  /** @inheritdoc */
  async deleteSegments(ref: FrameRef, ids: readonly string[]): Promise<void> {
    const keys = ids.map((id) => this.segmentKey(ref, id));
    for (const key of keys) this.uncommitted.delete(key);
    await this.deleteKeys(keys);
  }

  /** @inheritdoc */
  async getManifest(ref: FrameRef): Promise<FrameManifest | undefined> {
    // A concurrent delete may remove the object between listing and reading: look again once.
    for (let attempt = 0; attempt < 2; attempt++) {
      const latest = await this.latestManifest(ref);
      if (!latest) return undefined;
      const manifest = await this.readManifest(latest, ref);
      if (manifest) return manifest;
    }
    return undefined;
  }

  /** @inheritdoc */
  override async listVersions(ref: FrameRef): Promise<number[]> {
    return (await this.manifestObjects(ref)).map((object) => object.version);
  }

  /** The frame's manifest objects, ascending by version. */
  private async manifestObjects(ref: FrameRef): Promise<ManifestObject[]> {
    const found: ManifestObject[] = [];
    for await (const objects of this.listObjects(`${this.frameRoot(ref)}manifests/`)) {
      for (const object of objects) {
        const version = manifestVersion(object.key);
        if (version !== undefined) found.push({ ...object, version });
      }
    }
    return found.sort((a, b) => a.version - b.version);
  }

  /** @inheritdoc */
  override async getManifestVersion(ref: FrameRef, version: number): Promise<FrameManifest | undefined> {
    const object = (await this.manifestObjects(ref)).find((candidate) => candidate.version === version);
    return object ? this.readManifest(object, ref) : undefined;
  }

  /** @inheritdoc */
  override async deleteManifests(ref: FrameRef, versions: readonly number[]): Promise<void> {
    this.recentListing = undefined;
    await this.deleteKeys(versions.map((version) => this.manifestKey(ref, version)));
  }

  /** @inheritdoc */
  override async listSegmentObjects(ref: FrameRef): Promise<StoredObject[]> {
    const prefix = `${this.frameRoot(ref)}segments/`;
    const found: StoredObject[] = [];
    for await (const objects of this.listObjects(prefix)) {
      for (const { key, modifiedAt } of objects) found.push({ id: key.slice(prefix.length), modifiedAt });
    }
    return found;
  }

  /**
   * Reads many manifests with one listing of the bucket's keys (1,000 keys a request) instead of one
   * listing per frame, then GETs the current manifests with at most `listConcurrency` in flight.
   */
  override async getManifests(bucket: string, names: readonly string[]): Promise<Map<string, FrameManifest>> {
    const recent = this.recentListing;
    this.recentListing = undefined; // used once, by the call that follows listFrames
    const reusable = recent?.bucket === bucket && Date.now() - recent.at < LISTING_REUSE_MS;
    const latest = reusable ? recent.latest : names.length > 1 ? await this.latestManifestsIn(bucket) : new Map<string, ManifestObject>();
    const found = await mapLimited(names, this.options.listConcurrency, async (name) => {
      const known = latest.get(name);
      // Deleted since the listing (or a single name): read it the careful way.
      const manifest = (known && (await this.readManifest(known, { bucket, name }))) || (await this.getManifest({ bucket, name }));
      return [name, manifest] as const;
    });
    return new Map(found.flatMap(([name, manifest]) => (manifest ? [[name, manifest] as const] : [])));
  }

  /** The highest manifest key of every frame in a bucket, from one paginated listing of its keys. */
  private async latestManifestsIn(bucket: string): Promise<Map<string, ManifestObject>> {
    const prefix = `${this.options.root}${bucket}/`;
    const latest = new Map<string, ManifestObject>();
    for await (const objects of this.listObjects(prefix)) {
      for (const object of objects) {
        const version = manifestVersion(object.key);
        if (version === undefined) continue;
        const name = object.key.slice(prefix.length, object.key.indexOf('/', prefix.length));
        const best = latest.get(name);
        if (!best || version > best.version) latest.set(name, { ...object, version });
      }
    }
    return latest;
  }

  /**
   * Creates `manifests/<version>.json` with `If-None-Match: *`: of two writers (in any processes)
   * that both read version n, the store lets exactly one create n+1; the other gets ConflictError.
   * Old manifests are kept, so a stale writer can never reuse a version number. Without conditional
   * writes the check-then-put is atomic only within this process (see docs/connectors.md).
   */
  async commitManifest(ref: FrameRef, manifest: FrameManifest): Promise<void> {
    this.recentListing = undefined;
    await this.commits.run(`${ref.bucket}/${ref.name}`, async () => {
      const current = (await this.latestManifest(ref))?.version ?? 0;
      if (current !== manifest.version - 1) {
        throw new ConflictError(`frame '${ref.name}' is at version ${current}, not ${manifest.version - 1}; retry the write`);
      }
      await this.ensureBucketMarker(ref.bucket);
      const { PutObjectCommand } = this.sdk!;
      const key = this.manifestKey(ref, manifest.version);
      const body = encodeManifest(manifest);
      try {
        const { ETag } = await this.client().send(new PutObjectCommand({
          Bucket: this.options.bucket,
          Key: key,
          Body: body,
          ContentType: 'application/json',
          ...(this.conditional ? { IfNoneMatch: '*' } : {}),
        }));
        this.manifests.set(key, ETag, manifest);
      } catch (error) {
        // A retried request whose first attempt was stored (its answer lost) also gets 412: then
        // the object holds exactly our bytes, and the commit has succeeded.
        // (Another writer's manifest never has the same bytes: segment ids are unique.)
        if (!isPreconditionFailed(error)) throw toS3HangarError(error, `commit '${ref.name}'`, this.location);
        if (!(await this.holds(key, body))) {
          throw new ConflictError(`another writer committed version ${manifest.version} of '${ref.name}' first; retry`);
        }
      }
      for (const id of segmentObjectIds(manifest.segments)) this.uncommitted.delete(this.segmentKey(ref, id));
    }).finally(() => {
      this.recentListing = undefined; // a listing taken during the commit may predate it
    });
  }

  /** Whether the object at `key` holds exactly `bytes`. */
  private async holds(key: string, bytes: Uint8Array): Promise<boolean> {
    const stored = await this.getObject(key, 'check a contested manifest');
    return stored !== undefined && Buffer.from(stored).equals(Buffer.from(bytes));
  }

  private async ensureBucketMarker(bucket: string): Promise<void> {
    if (this.knownBuckets.has(bucket)) return;
    const { PutObjectCommand } = this.sdk!;
    await this.call(`create bucket '${bucket}'`, (s3) =>
      s3.send(new PutObjectCommand({ Bucket: this.options.bucket, Key: `${this.options.root}${BUCKET_MARKERS}${bucket}`, Body: new Uint8Array(0), ContentLength: 0 })),
    );
    this.knownBuckets.add(bucket);
  }

  /**
   * Deletes the frame's old manifests first, then the current one (the frame disappears at that
   * moment, never falling back to an older version), then its segments.
   */
  async deleteFrame(ref: FrameRef): Promise<void> {
    this.recentListing = undefined;
    const prefix = this.frameRoot(ref);
    for (const key of this.uncommitted) if (key.startsWith(prefix)) this.uncommitted.delete(key);
    const manifests: { key: string; version: number }[] = [];
    const others: string[] = [];
    this.manifests.forget(prefix);
    for await (const objects of this.listObjects(prefix)) {
      for (const { key } of objects) {
        const version = manifestVersion(key);
        if (version === undefined) others.push(key);
        else manifests.push({ key, version });
      }
    }
    manifests.sort((a, b) => a.version - b.version);
    const current = manifests.pop();
    await this.deleteKeys(manifests.map((m) => m.key));
    if (current) await this.deleteKeys([current.key]);
    await this.deleteKeys(others);
  }

  /**
   * Frames of the bucket with at least one manifest (frames holding only segments are uncommitted
   * puts), from one listing of the bucket's keys: no per-frame request, and no reliance on
   * delimiter listings, which some S3-compatible servers get wrong for nested keys.
   */
  async listFrames(bucket: string): Promise<string[]> {
    const latest = await this.latestManifestsIn(bucket);
    this.recentListing = { bucket, at: Date.now(), latest };
    return [...latest.keys()];
  }

  /** Buckets that have a marker: written by createBucket or by the first commit into the bucket. */
  async listBuckets(): Promise<string[]> {
    const prefix = `${this.options.root}${BUCKET_MARKERS}`;
    const names: string[] = [];
    for await (const objects of this.listObjects(prefix)) names.push(...objects.map(({ key }) => key.slice(prefix.length)));
    return names;
  }

  /** @inheritdoc */
  async createBucket(bucket: string): Promise<void> {
    this.knownBuckets.delete(bucket);
    await this.ensureBucketMarker(bucket);
  }

  /** Removes the marker first (the bucket leaves listings at once), then every frame's manifests, then the rest. */
  async deleteBucket(bucket: string): Promise<void> {
    this.recentListing = undefined;
    this.knownBuckets.delete(bucket);
    await this.deleteKeys([`${this.options.root}${BUCKET_MARKERS}${bucket}`]);
    const prefix = `${this.options.root}${bucket}/`;
    for (const key of this.uncommitted) if (key.startsWith(prefix)) this.uncommitted.delete(key);
    const manifests: string[] = [];
    const others: string[] = [];
    this.manifests.forget(prefix);
    for await (const objects of this.listObjects(prefix)) {
      for (const { key } of objects) (manifestVersion(key) === undefined ? others : manifests).push(key);
    }
    await this.deleteKeys(manifests);
    await this.deleteKeys(others);
  }
}
