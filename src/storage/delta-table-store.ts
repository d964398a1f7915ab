/**
 * A read-only bucket of Delta Lake tables written by other engines (delta-rs, Spark): each
 * directory under the mount's root with a `_delta_log/` is a frame, each Delta version a Hangar
 * version (n + 1), its live data files (removes honoured) the frame's segments. Mounted with
 * `"buckets": {"lake": "delta+file:///…"}` or `--mount lake=…` (docs/open-format.md).
 */
import { Schema } from 'apache-arrow';
import { FailedPreconditionError, NotFoundError, PermissionDeniedError } from '../errors.js';
import { applyDeltaCommitFile, deltaSnapshotOf, newDeltaReplay, type DeltaReplayState, type DeltaTableSnapshot } from '../format/delta-log-replay.js';
import { decodeEncapsulatedSchema, decodeSchemaHeader, encodeSchemaHeader } from '../format/ipc-message.js';
import type { FrameManifest, SegmentEntry } from '../format/manifest.js';
import { type ParquetFileMetaData, footerLength, readParquetFooter, PARQUET_TRAILER_BYTES } from '../format/parquet/parquet-footer.js';
import { parquetArrowSchema } from '../format/parquet/parquet-arrow-schema.js';
import type { SnapshotDocument } from '../format/snapshot-document.js';
import { timeColumnOf } from '../format/time-column.js';
import { type FrameRef, validateName } from '../names.js';
import type { Connector } from './connector.js';
import { mapLimited } from './concurrency.js';
import { type ByteRange, FrameStore, type FrameStoreCapabilities, type StoredObject } from './frame-store.js';

const COMMIT_NAME = /^(\d{20})\.json$/;
const FOOTER_PROBE_BYTES = 64 * 1024;

/** What is known of one data file once its footer was read (files are immutable). */
interface FileFacts {
  readonly rows: number;
  readonly rowGroups: number;
  readonly schema: string;
}

/**
 * A {@link FrameStore} over a byte store holding Delta tables, serving them read-only in one bucket.
 * Writes of any kind are refused with PERMISSION_DENIED; vacuum and compaction leave the tables alone.
 */
export class DeltaTableStore extends FrameStore {
  /** @inheritdoc */
  readonly name: string;
  /** @inheritdoc */
  override capabilities: FrameStoreCapabilities;
  private readonly files = new Map<string, FileFacts>();
  private readonly replays = new Map<string, DeltaReplayState>();

  /**
   * @param connector - the byte store whose root holds the tables (opened and closed by this store)
   * @param bucket - the bucket the tables are served in
   */
  constructor(
    readonly connector: Connector,
    readonly bucket: string,
  ) {
    super();
    this.name = `delta:${connector.name}`;
    this.capabilities = { crossProcessCommits: false, rangedReads: connector.readsRanges };
  }

  /** @inheritdoc */
  override async open(): Promise<void> {
    await this.connector.open();
    this.capabilities = { crossProcessCommits: false, rangedReads: this.connector.readsRanges };
  }

  /** @inheritdoc */
  override async close(): Promise<void> {
    await this.connector.close();
  }

  private readOnly(what: string): PermissionDeniedError {
    return new PermissionDeniedError(`bucket '${this.bucket}' is a read-only mount of Delta tables: ${what} is not allowed; write to the tables with the engine that owns them`);
  }

  // ---- reads --------------------------------------------------------------------------------

  /** The Delta versions of a table's commit files, ascending. */
  private async commitVersions(table: string): Promise<number[]> {
    const prefix = `${table}/_delta_log/`;
    const names: string[] = [];
    if (this.connector.listsChildren) names.push(...(await this.connector.listChildren(prefix)));
    else for await (const { key } of this.connector.list(prefix)) names.push(key.slice(prefix.length));
    return names.flatMap((name) => {
      const match = COMMIT_NAME.exec(name);
      return match ? [Number.parseInt(match[1]!, 10)] : [];
    }).sort((a, b) => a - b);
  }

  /** The table at a Delta version, replaying commits on from the nearest state already replayed. */
  private async snapshot(table: string, version: number): Promise<DeltaTableSnapshot> {
    const known = this.replays.get(table);
    const state = known && known.version <= version ? known : newDeltaReplay();
    for (let next = state.version + 1; next <= version; next++) {
      const bytes = await this.connector.get(`${table}/_delta_log/${String(next).padStart(20, '0')}.json`);
      if (!bytes) throw new NotFoundError(`Delta version ${next} of table '${table}' is missing from its log (a log cleaned up after a checkpoint is not served yet)`);
      applyDeltaCommitFile(state, Buffer.from(bytes).toString('utf8'), next, table);
    }
    const snapshot = deltaSnapshotOf(state, table);
    if (!known || known.version < state.version) this.replays.set(table, { ...state, files: new Map(state.files) });
    return snapshot;
  }

  /** Rows, row groups and Arrow schema of a data file, from its footer. */
  private async fileFacts(table: string, path: string, size: number): Promise<FileFacts> {
    const key = `${table}/${path}`;
    const cached = this.files.get(key);
    if (cached) return cached;
    let tail: Uint8Array | undefined;
    if (this.connector.readsRanges && size > FOOTER_PROBE_BYTES) {
      tail = await this.connector.getRange(key, size - FOOTER_PROBE_BYTES, FOOTER_PROBE_BYTES);
      if (tail && footerLength(tail) + PARQUET_TRAILER_BYTES > tail.byteLength) tail = await this.connector.get(key);
    } else {
      tail = await this.connector.get(key);
    }
    if (!tail) throw new NotFoundError(`data file ${path} of Delta table '${table}' is missing`);
    const footer: ParquetFileMetaData = readParquetFooter(tail);
    const arrowSchema = footer.keyValues.get('ARROW:schema');
    let schema: string;
    if (arrowSchema) {
      schema = Buffer.from(encodeSchemaHeader(decodeEncapsulatedSchema(Buffer.from(arrowSchema, 'base64')))).toString('base64');
    } else {
      // Spark's files embed no Arrow schema: the one parquet-wasm, which decodes them, reads them as.
      const whole = tail.byteLength === size ? tail : await this.connector.get(key);
      if (!whole) throw new NotFoundError(`data file ${path} of Delta table '${table}' is missing`);
      schema = Buffer.from(encodeSchemaHeader(parquetArrowSchema(whole))).toString('base64');
    }
    const facts = { rows: footer.rows, rowGroups: footer.rowGroups.length, schema };
    this.files.set(key, facts);
    return facts;
  }

  /** The manifest of a table at a Delta version. */
  private async manifestAt(ref: FrameRef, deltaVersion: number): Promise<FrameManifest> {
    const snapshot = await this.snapshot(ref.name, deltaVersion);
    const facts = await mapLimited(snapshot.files, 16, (file) => this.fileFacts(ref.name, file.path, file.size));
    const schema = facts[0]?.schema ?? Buffer.from(encodeSchemaHeader(new Schema([]))).toString('base64');
    const segments: SegmentEntry[] = snapshot.files.map((file, index) => ({
      id: file.path,
      rows: facts[index]!.rows,
      bytes: file.size,
      storedBytes: file.size,
      rowGroups: facts[index]!.rowGroups,
      ...(facts[index]!.schema === schema ? {} : { schema: facts[index]!.schema }),
    }));
    const arrow = schemaOfHeader(schema);
    const timeColumn = arrow ? timeColumnOf(arrow) : undefined;
    return {
      format: 1,
      version: deltaVersion + 1,
      committedAt: new Date(snapshot.timestamp).toISOString(),
      schema,
      rows: segments.reduce((sum, segment) => sum + segment.rows, 0),
      bytes: segments.reduce((sum, segment) => sum + segment.bytes, 0),
      segments,
      ...(timeColumn === undefined ? {} : { timeColumn }),
      operation: 'put',
    };
  }

  /** @inheritdoc */
  async getManifest(ref: FrameRef): Promise<FrameManifest | undefined> {
    if (ref.bucket !== this.bucket) return undefined;
    const latest = (await this.commitVersions(ref.name)).at(-1);
    return latest === undefined ? undefined : this.manifestAt(ref, latest);
  }

  /**
   * Current manifests of several tables; a table Hangar cannot serve (deletion vectors, column
   * mapping, partitions, no Arrow schema) is left out of listings, and a read of it says why.
   */
  override async getManifests(bucket: string, names: readonly string[]): Promise<Map<string, FrameManifest>> {
    const found = await mapLimited(names, 16, async (name) => {
      try {
        return [name, await this.getManifest({ bucket, name })] as const;
      } catch (error) {
        if (error instanceof FailedPreconditionError || error instanceof PermissionDeniedError) return [name, undefined] as const;
        throw error;
      }
    });
    return new Map(found.flatMap(([name, manifest]) => (manifest ? [[name, manifest] as const] : [])));
  }

  /** @inheritdoc */
  async listVersions(ref: FrameRef): Promise<number[]> {
    if (ref.bucket !== this.bucket) return [];
    return (await this.commitVersions(ref.name)).map((version) => version + 1);
  }

  /** @inheritdoc */
  async getManifestVersion(ref: FrameRef, version: number): Promise<FrameManifest | undefined> {
    if (ref.bucket !== this.bucket || !(await this.commitVersions(ref.name)).includes(version - 1)) return undefined;
    return this.manifestAt(ref, version - 1);
  }

  /** @inheritdoc */
  async getSegment(ref: FrameRef, id: string): Promise<Uint8Array> {
    const bytes = await this.connector.get(`${ref.name}/${id}`);
    if (!bytes) throw new NotFoundError(`data file ${id} of Delta table '${ref.name}' no longer exists`);
    return bytes;
  }

  /** @inheritdoc */
  override async getSegmentRanges(ref: FrameRef, id: string, ranges: readonly ByteRange[]): Promise<Uint8Array[]> {
    if (!this.connector.readsRanges) return super.getSegmentRanges(ref, id, ranges);
    return Promise.all(ranges.map(async (range) => (await this.connector.getRange(`${ref.name}/${id}`, range.start, range.end - range.start)) ?? new Uint8Array(0)));
  }

  /** The data file's local path, when the store keeps objects as files (SQL reads it in place). */
  override segmentFile(ref: FrameRef, id: string): string | undefined {
    return this.connector.localPath(`${ref.name}/${id}`);
  }

  /** The store's root directory, when it keeps objects as files. */
  override fileRoots(): readonly string[] {
    const root = this.connector.localPath('');
    return root === undefined ? [] : [root];
  }

  /** Tables of the mount: directories of valid frame names holding a commit. */
  async listFrames(bucket: string): Promise<string[]> {
    if (bucket !== this.bucket) return [];
    const names = new Set<string>();
    if (this.connector.listsChildren) {
      for (const name of await this.connector.listChildren('')) names.add(name);
    } else {
      for await (const { key } of this.connector.list('')) {
        const slash = key.indexOf('/');
        if (slash > 0) names.add(key.slice(0, slash));
      }
    }
    const valid = [...names].filter((name) => {
      try {
        validateName('frame', name);
        return true;
      } catch {
        return false;
      }
    });
    const tables = await mapLimited(valid, 16, async (name) => (await this.commitVersions(name)).length > 0);
    return valid.filter((_, index) => tables[index]);
  }

  /** The mount's one bucket. */
  async listBuckets(): Promise<string[]> {
    return [this.bucket];
  }

  /** A mounted table has no Hangar snapshots. */
  async getSnapshot(): Promise<SnapshotDocument | undefined> {
    return undefined;
  }

  /** A mounted table has no Hangar snapshots. */
  async listSnapshots(): Promise<string[]> {
    return [];
  }

  /** Vacuum finds no stray objects here: the tables' files belong to their own engine. */
  override async listSegmentObjects(): Promise<StoredObject[]> {
    return [];
  }

  // ---- writes: refused (vacuum's deletions are no-ops) ----------------------------------------

  /** @inheritdoc */
  async putSegment(): Promise<void> {
    throw this.readOnly('a put');
  }

  /** Vacuum never deletes a mounted table's files. */
  async deleteSegments(): Promise<void> {}

  /** Vacuum never deletes a mounted table's versions. */
  async deleteManifests(): Promise<void> {}

  /** @inheritdoc */
  async commitManifest(): Promise<void> {
    throw this.readOnly('a commit');
  }

  /** @inheritdoc */
  async deleteFrame(): Promise<void> {
    throw this.readOnly('deleting a table');
  }

  /** @inheritdoc */
  async putSnapshot(): Promise<boolean> {
    throw this.readOnly('a snapshot');
  }

  /** @inheritdoc */
  async deleteSnapshot(): Promise<boolean> {
    throw this.readOnly('deleting a snapshot');
  }

  /** @inheritdoc */
  async createBucket(): Promise<void> {
    throw this.readOnly('creating a bucket');
  }

  /** @inheritdoc */
  async deleteBucket(): Promise<void> {
    throw this.readOnly('deleting the bucket');
  }
}

/** The Arrow schema of a manifest's base64 schema header, if it decodes. */
function schemaOfHeader(base64: string): Schema | undefined {
  try {
    return decodeSchemaHeader(Buffer.from(base64, 'base64'));
  } catch {
    return undefined;
  }
}
