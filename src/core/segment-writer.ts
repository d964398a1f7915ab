/**
 * The write path below put and compaction: a stream of Arrow IPC messages cut into segments, each
 * encoded as Parquet (with its dictionary sidecar and time statistics) and stored, not committed.
 */
import { randomUUID } from 'node:crypto';
import type { Schema } from 'apache-arrow';
import { InvalidArgumentError } from '../errors.js';
import { recycleBuffers } from '../format/buffer-pool.js';
import { crc32, formatCrc32 } from '../format/crc32.js';
import { dictionaryLayout, renumberDictionary, storedDictionaryId, type DictionaryLayout } from '../format/dictionary-layout.js';
import { type IpcMessage, encodeSchemaHeader, inspectMessage, joinIpcStream } from '../format/ipc-message.js';
import { type TimeStatistics, locateTimeColumn } from '../format/ipc-time-statistics.js';
import { type SegmentEntry, segmentObjectIds } from '../format/manifest.js';
import type { EncodedSegment, ParquetCodec, SegmentCompression } from '../format/parquet/parquet-codec.js';
import { isTimeType } from '../format/time-column.js';
import { type FrameRef, describeFrame } from '../names.js';
import type { FrameStore } from '../storage/frame-store.js';
import { type BuiltSegment, SegmentBuilder, dictionaryColumns, statisticsColumns } from './segment-builder.js';

/**
 * Arrow bytes per Parquet row group at most. Range reads fetch and decode only the row groups
 * whose time statistics overlap their range (frame-reader.ts), so smaller groups cut what a short
 * range reads from a 16 MiB segment; a get still decodes a segment's groups in one call.
 */
export const MAX_ROW_GROUP_BYTES = 2 * 1024 * 1024;

/** A stream stored as segments, not yet committed. */
export interface WrittenSegments {
  /** The incoming schema, and the stored form of its header. */
  readonly schema: Schema;
  readonly schemaHeader: Uint8Array;
  /** The segments written, and the time column their statistics describe. */
  readonly segments: readonly SegmentEntry[];
  readonly timeColumn: string | undefined;
  readonly rowsWritten: number;
  readonly bytesWritten: number;
}

/** What {@link SegmentWriter.write} tells its caller while it writes. */
export interface WriteEvents {
  /**
   * The input has ended and every segment is cut: the time statistics of each, in order (undefined
   * without a time column), while the last ones are still being encoded and stored.
   */
  readonly onInputEnd?: (times: readonly (TimeStatistics | undefined)[]) => void;
}

/** How segments are cut and encoded. */
export interface SegmentWriterOptions {
  /** Arrow bytes per segment. */
  readonly segmentBytes: number;
  /** Arrow bytes per Parquet row group. */
  readonly rowGroupBytes: number;
  /** Segments being encoded at once. */
  readonly encodeConcurrency: number;
  /** How segment files are compressed. */
  readonly segmentCompression: SegmentCompression;
}

/** Writes segments for one engine, and knows which it wrote that no commit has named yet. */
export class SegmentWriter {
  /** Segments written but not yet committed or discarded (vacuum leaves them). */
  private readonly uncommitted = new Set<string>();

  /**
   * @param connector - where segments are stored
   * @param codec - the Parquet worker pool
   * @param options - segment sizes, concurrency and compression
   */
  constructor(
    private readonly connector: FrameStore,
    private readonly codec: ParquetCodec,
    private readonly options: SegmentWriterOptions,
  ) {}

  /** Whether this writer stored the segment object and no commit has named it yet. */
  isUncommitted(ref: FrameRef, id: string): boolean {
    return this.uncommitted.has(objectKey(ref, id));
  }

  /**
   * Stores a stream of IPC messages (Schema first) as new segments, without committing them. On
   * any error the segments written so far are deleted.
   * @param timeColumnFor - the time column the segments' statistics should describe
   */
  async write(
    ref: FrameRef,
    input: AsyncIterable<IpcMessage>,
    timeColumnFor: (schema: Schema) => string | undefined,
    events: WriteEvents = {},
  ): Promise<WrittenSegments> {
    let timeColumn: string | undefined;
    const written: SegmentEntry[] = [];
    const inFlight: Promise<SegmentEntry>[] = [];
    let schemaHeader: Uint8Array | undefined;
    let schema: Schema | undefined;
    let layout: DictionaryLayout | undefined;
    let builder: SegmentBuilder | undefined;
    let rowsWritten = 0;
    let bytesWritten = 0;
    const times: (TimeStatistics | undefined)[] = [];
    const drainOne = async (): Promise<void> => {
      written.push(await inFlight.shift()!);
    };
    const flush = async (): Promise<void> => {
      const segment = builder?.take();
      if (!segment) return;
      rowsWritten += segment.rows;
      bytesWritten += segment.bytes;
      times.push(segment.time);
      inFlight.push(this.writeOne(ref, schema!, segment));
      while (inFlight.length >= this.options.encodeConcurrency) await drainOne();
    };
    try {
      for await (const message of input) {
        const info = inspectMessage(message);
        if (info.kind === 'schema') {
          if (schemaHeader) throw new InvalidArgumentError('the stream sent a second Schema message; send one schema per put');
          schema = info.schema;
          layout = dictionaryLayout(schema);
          schemaHeader = layout ? encodeSchemaHeader(layout.storedSchema) : message.header.slice();
          timeColumn = timeColumnFor(schema);
          const locator = timeColumn !== undefined && hasTimeColumn(schema, timeColumn) ? locateTimeColumn(schema, timeColumn) : undefined;
          builder = new SegmentBuilder(schemaHeader, this.options.segmentBytes, layout !== undefined, locator);
          continue;
        }
        if (!builder) throw new InvalidArgumentError(`the stream must start with a Schema message, not a ${info.kind}`);
        const body = message.body.subarray(0, info.bodyLength);
        if (info.kind === 'dictionary') {
          let dictionary: IpcMessage = { header: message.header, body };
          let id = info.id;
          if (layout) {
            id = storedDictionaryId(layout, info.id);
            dictionary = renumberDictionary(dictionary, id);
          }
          if (builder.replacesDictionaryInUse(id, info.isDelta)) await flush();
          builder.addDictionary(dictionary, id, info.isDelta);
        } else if (builder.addBatch({ header: message.header, body }, info.rows, info.decoded)) {
          await flush();
        }
      }
      if (!schemaHeader || !schema) throw new InvalidArgumentError('the stream ended before its Schema message; nothing was stored');
      // The last segment is taken (its statistics known) before flush's first await.
      const last = flush();
      try {
        events.onInputEnd?.(times);
      } finally {
        await last;
      }
      while (inFlight.length > 0) await drainOne();
    } catch (error) {
      const settled = await Promise.allSettled(inFlight);
      for (const result of settled) if (result.status === 'fulfilled') written.push(result.value);
      await this.discard(ref, written);
      this.forget(ref, written);
      throw error;
    }
    return { schema, schemaHeader, segments: written, timeColumn, rowsWritten, bytesWritten };
  }

  /** Encodes and stores one segment, and its dictionary batches beside it when kept apart. */
  private async writeOne(ref: FrameRef, schema: Schema, segment: BuiltSegment): Promise<SegmentEntry> {
    const { rows, bytes } = segment;
    // Segments end past segmentBytes by up to one batch: that overshoot must not make a second,
    // small row group (each row group is one decode call, and a copy of the file into a worker).
    const rowGroupBytes = Math.min(this.options.rowGroupBytes, MAX_ROW_GROUP_BYTES);
    const groups = Math.max(1, Math.round(bytes / rowGroupBytes));
    const rowGroupRows = Math.max(1024, Math.ceil(rows / groups));
    // The file comes back as runs (its values are views of the segment's own bytes): the store
    // writes them one after another, so no joined copy of the file is ever made.
    const { parts: parquet, byteLength: storedBytes, checksums, bodyBuffers } = await this.codec
      .encodeSegmentParts(segment.ipc, {
        rowGroupRows,
        dictionaryColumns: dictionaryColumns(schema),
        statisticsColumns: statisticsColumns(schema),
        compression: this.options.segmentCompression,
        ...(segment.dictionaries.length > 0 ? { keptDictionaries: true } : {}),
      })
      .catch((error: unknown) => {
        throw new InvalidArgumentError(
          `cannot store ${describeFrame(ref)} as Parquet (${(error as Error).message}); a column type may not be ` +
            `supported by the store (e.g. month_day_nano intervals): convert or drop that column. Nothing was stored.`,
          { cause: error },
        );
      });
    const base = randomUUID();
    const id = `${base}.parquet`;
    this.uncommitted.add(objectKey(ref, id));
    await this.connector.putSegmentParts(ref, id, parquet).catch((error: unknown) => {
      this.uncommitted.delete(objectKey(ref, id));
      throw error;
    });
    // Written: nothing views the received bodies any more, so their buffers take the next messages.
    if (bodyBuffers) recycleBuffers(bodyBuffers);
    let dictionaries: string | undefined;
    let dictionariesCrc32: string | undefined;
    if (segment.dictionaries.length > 0) {
      dictionaries = `${base}.dictionaries.arrows`;
      this.uncommitted.add(objectKey(ref, dictionaries));
      const sidecar = joinIpcStream(segment.dictionaries, false);
      dictionariesCrc32 = formatCrc32(crc32(sidecar));
      // If the sidecar fails (a full store), the put never learns of the stored segment: drop it here.
      await this.connector.putSegment(ref, dictionaries, sidecar).catch(async (error: unknown) => {
        await this.connector.deleteSegments(ref, [id]).catch(() => undefined);
        this.uncommitted.delete(objectKey(ref, id));
        this.uncommitted.delete(objectKey(ref, dictionaries!));
        throw error;
      });
    }
    return {
      id,
      rows,
      bytes,
      storedBytes,
      rowGroups: Math.ceil(rows / rowGroupRows),
      ...(dictionaries ? { dictionaries, dictionariesCrc32 } : {}),
      ...timeStatisticsEntry(segment.time),
      crc32: formatCrc32(checksums.crc32),
      footerCrc32: formatCrc32(checksums.footerCrc32),
      ...(checksums.pageCrcs ? { pageCrcs: true as const } : {}),
      ...(checksums.stringCategories ? { stringCategories: true as const } : {}),
      ...(checksums.microsecondColumns ? { microsecondColumns: checksums.microsecondColumns } : {}),
    };
  }

  /**
   * Encodes an IPC stream as one Parquet file with the options {@link write} uses, without storing
   * it: the re-encoded row groups of a spliced segment (segment-splice.ts).
   */
  encodeFile(schema: Schema, ipc: Uint8Array, rowGroupRows: number): Promise<EncodedSegment> {
    return this.codec.encodeSegment(ipc, {
      rowGroupRows,
      dictionaryColumns: dictionaryColumns(schema),
      statisticsColumns: statisticsColumns(schema),
      compression: this.options.segmentCompression,
    });
  }

  /**
   * Stores a finished segment file under a new id as an uncommitted segment (a spliced one, given
   * as its runs of bytes in order), and returns the id.
   */
  async storeFile(ref: FrameRef, parquet: readonly Uint8Array[]): Promise<string> {
    const id = `${randomUUID()}.parquet`;
    this.uncommitted.add(objectKey(ref, id));
    await this.connector.putSegmentParts(ref, id, parquet).catch((error: unknown) => {
      this.uncommitted.delete(objectKey(ref, id));
      throw error;
    });
    return id;
  }

  /** Deletes written segments (an abandoned put); failures are ignored (vacuum removes strays). */
  async discard(ref: FrameRef, segments: readonly SegmentEntry[]): Promise<void> {
    if (segments.length === 0) return;
    await this.connector.deleteSegments(ref, segmentObjectIds(segments)).catch(() => undefined);
  }

  /** Forgets segments once committed or discarded. */
  forget(ref: FrameRef, segments: readonly SegmentEntry[]): void {
    for (const id of segmentObjectIds(segments)) this.uncommitted.delete(objectKey(ref, id));
  }
}

function hasTimeColumn(schema: Schema, column: string): boolean {
  const field = schema.fields.find((candidate) => candidate.name === column);
  return field !== undefined && isTimeType(field.type);
}

/** The manifest fields recording a segment's time statistics (none when there are none). */
function timeStatisticsEntry(time: TimeStatistics | undefined): Pick<SegmentEntry, 'timeRange' | 'timeNulls' | 'timeSorted'> {
  if (!time) return {};
  const range = time.min !== undefined && time.max !== undefined ? { timeRange: { min: time.min.toString(), max: time.max.toString() } } : {};
  // Found for free while the minimum and maximum were computed; resample's single pass relies on it.
  const sorted = time.sorted === true && time.min !== undefined ? { timeSorted: true as const } : {};
  return { ...range, timeNulls: time.nulls, ...sorted };
}

/** A segment entry without time statistics (they describe a column that is no longer the time column). */
export function withoutTimeStatistics(segment: SegmentEntry): SegmentEntry {
  const { timeRange: _range, timeNulls: _nulls, timeSorted: _sorted, ...rest } = segment;
  return rest;
}

function objectKey(ref: FrameRef, id: string): string {
  return `${ref.bucket}/${ref.name}/${id}`;
}
