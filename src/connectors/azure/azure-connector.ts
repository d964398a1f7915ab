/**
 * The Azure Blob Storage connector (`azure://container/prefix?…`): a byte store of block blobs whose
 * compare-and-swap is an upload with `If-None-Match: *`, with ranged downloads. The SDK
 * (`@azure/storage-blob`) loads in {@link AzureConnector.open}, so servers on other stores never load it.
 */
import { randomUUID } from 'node:crypto';
import type { BlobServiceClient, ContainerClient, StoragePipelineOptions } from '@azure/storage-blob';
import { StorageError } from '../../errors.js';
import { Connector, type ObjectInfo, type PutOptions, checkRange } from '../../storage/connector.js';
import { type AzureConnectorOptions, type ResolvedAzureOptions, resolveAzureOptions } from './azure-config.js';
import { azureErrorCode, isAlreadyThere, isBlobMissing, toAzureHangarError } from './azure-errors.js';

/** Blob deletes in flight at once. */
const DELETE_CONCURRENCY = 16;
const RANGE_NOT_SATISFIABLE = 416;

/**
 * A store in one Azure blob container, under a prefix. Every object is a block blob named
 * `prefix/key`; writes are atomic (one Put Blob, or a block list committed at once), and
 * `ifAbsent` holds across every process and machine, so several servers may share a store.
 */
export class AzureConnector extends Connector {
  /** The URL scheme. */
  readonly name = 'azure';
  /** The options in force: container, prefix, credentials, attempts. */
  readonly options: ResolvedAzureOptions;
  private container: ContainerClient | undefined;
  private where: string;

  /**
   * Checks the options and finds the credentials; nothing connects before {@link open}.
   * @throws InvalidArgumentError for a bad option; PermissionDeniedError when no credentials are found
   */
  constructor(options: AzureConnectorOptions) {
    super();
    this.options = resolveAzureOptions(options);
    this.where = `azure://${this.options.container}/${this.options.root}`;
  }

  /**
   * Loads the SDK and lists one blob, so a missing container (FailedPreconditionError), rejected
   * credentials (PermissionDeniedError) or an unreachable endpoint (StorageError) fail here.
   */
  override async open(): Promise<void> {
    const sdk = await import('@azure/storage-blob');
    const { credentials: c, maxAttempts } = this.options;
    const pipeline: StoragePipelineOptions = { retryOptions: { maxTries: maxAttempts } };
    let service: BlobServiceClient;
    if (c.kind === 'connection-string') service = sdk.BlobServiceClient.fromConnectionString(c.connectionString, pipeline);
    else if (c.kind === 'shared-key') service = new sdk.BlobServiceClient(c.endpoint, new sdk.StorageSharedKeyCredential(c.account, c.accountKey), pipeline);
    else service = new sdk.BlobServiceClient(`${c.endpoint}?${c.sas}`, new sdk.AnonymousCredential(), pipeline);
    this.where = `azure://${this.options.container}/${this.options.root} at ${service.url.split('?')[0]}`;
    const container = service.getContainerClient(this.options.container);
    try {
      await container.listBlobsFlat({ prefix: this.options.root }).byPage({ maxPageSize: 1 }).next();
    } catch (error) {
      throw toAzureHangarError(error, 'open the store', this.where);
    }
    this.container = container;
  }

  /** Forgets the client; the SDK holds no connections that need closing. */
  override async close(): Promise<void> {
    this.container = undefined;
  }

  /** The blob's bytes, or `undefined` if there is none. */
  async get(key: string): Promise<Uint8Array | undefined> {
    return this.download(key, 0, undefined);
  }

  /** A ranged download (`Range: bytes=…`); see {@link Connector.getRange}. */
  override async getRange(key: string, offset: number, length: number): Promise<Uint8Array | undefined> {
    checkRange(offset, length);
    if (length === 0) return (await this.head(key)) === undefined ? undefined : new Uint8Array(0);
    return this.download(key, offset, length);
  }

  /**
   * Uploads the blob, with `If-None-Match: *` when `ifAbsent` is set. A 409 or 412 then means
   * `false`, unless the blob carries this write's token: the SDK retried after a lost response.
   */
  async put(key: string, data: Uint8Array, options: PutOptions = {}): Promise<boolean> {
    const blob = this.blobs().getBlockBlobClient(this.options.root + key);
    const token = options.ifAbsent ? randomUUID() : undefined;
    try {
      await blob.uploadData(data, token ? { conditions: { ifNoneMatch: '*' }, metadata: { hangarwrite: token } } : {});
      return true;
    } catch (error) {
      if (token && isAlreadyThere(error)) return (await blob.getProperties().catch(() => undefined))?.metadata?.hangarwrite === token;
      throw toAzureHangarError(error, `write '${key}'`, this.where);
    }
  }

  /** Deletes blobs, {@link DELETE_CONCURRENCY} at a time; missing ones are fine. */
  async delete(keys: readonly string[]): Promise<void> {
    const pending = [...keys];
    const worker = async (): Promise<void> => {
      for (let key = pending.pop(); key !== undefined; key = pending.pop()) {
        try {
          await this.blobs().deleteBlob(this.options.root + key);
        } catch (error) {
          if (!isBlobMissing(error)) throw toAzureHangarError(error, `delete '${key}'`, this.where);
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(DELETE_CONCURRENCY, pending.length) }, worker));
  }

  /** Every blob under the prefix, by `listBlobsFlat` (5,000 a page), directories of Data Lake accounts left out. */
  async *list(prefix: string): AsyncIterable<ObjectInfo> {
    const root = this.options.root;
    try {
      for await (const blob of this.blobs().listBlobsFlat({ prefix: root + prefix, includeMetadata: true })) {
        // Accounts with a hierarchical namespace (Data Lake Storage) list directories as empty blobs.
        if (blob.metadata?.hdi_isfolder === 'true') continue;
        yield { key: blob.name.slice(root.length), size: blob.properties.contentLength ?? 0, modifiedAt: blob.properties.lastModified };
      }
    } catch (error) {
      throw toAzureHangarError(error, `list '${prefix}'`, this.where);
    }
  }

  /** The blob's size and time from its properties (one HEAD request). */
  override async head(key: string): Promise<ObjectInfo | undefined> {
    try {
      const properties = await this.blobs().getBlobClient(this.options.root + key).getProperties();
      return { key, size: properties.contentLength ?? 0, modifiedAt: properties.lastModified ?? new Date(0) };
    } catch (error) {
      if (isBlobMissing(error)) return undefined;
      throw toAzureHangarError(error, `read the properties of '${key}'`, this.where);
    }
  }

  private async download(key: string, offset: number, count: number | undefined): Promise<Uint8Array | undefined> {
    try {
      const response = await this.blobs().getBlobClient(this.options.root + key).download(offset, count);
      const chunks: Buffer[] = [];
      for await (const chunk of response.readableStreamBody ?? []) chunks.push(chunk as Buffer);
      // A fresh buffer, never the SDK's or Node's pooled memory: the caller may transfer it.
      const bytes = new Uint8Array(chunks.reduce((sum, chunk) => sum + chunk.byteLength, 0));
      chunks.reduce((at, chunk) => (bytes.set(chunk, at), at + chunk.byteLength), 0);
      return bytes;
    } catch (error) {
      if (isBlobMissing(error)) return undefined;
      // The blob exists but the range starts at or past its end (any range of an empty blob).
      if (azureErrorCode(error).status === RANGE_NOT_SATISFIABLE) return new Uint8Array(0);
      throw toAzureHangarError(error, `read '${key}'`, this.where);
    }
  }

  private blobs(): ContainerClient {
    if (!this.container) throw new StorageError('azure', `${this.where} is not open; call open() first`);
    return this.container;
  }
}
