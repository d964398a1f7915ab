/** The engine's public types: its options and what its operations take and report. */
import type { Schema } from 'apache-arrow';
import type { FrameMetadata } from '../format/frame-metadata.js';
import type { IpcMessage } from '../format/ipc-message.js';
import type { FrameOperation } from '../format/manifest.js';
import type { SegmentCompression } from '../format/parquet/parquet-codec.js';
import type { FrameRef } from '../names.js';
import type { SinceVersion } from './appended-since.js';
import type { FrameInfo } from './frame-info.js';
import type { RetentionPolicy } from './retention.js';
import type { SqlOptions } from './sql/sql-engine.js';
import type { VersionSelector } from './version-selection.js';

/** Tuning of the engine; defaults suit a 2-core machine. */
export interface EngineOptions {
  /** Arrow bytes per stored segment (default 16 MiB). Bounds memory on put and get. */
  readonly segmentBytes?: number;
  /**
   * Arrow bytes per Parquet row group (default, and at most, 2 MiB: range reads fetch and decode
   * only the row groups their time range overlaps; a get decodes a segment's groups in one call).
   */
  readonly rowGroupBytes?: number;
  /** Arrow bytes per record batch sent to clients (default 3 MiB; Go clients accept 4 MiB). */
  readonly batchBytes?: number;
  /**
   * Bytes of decoded segments kept in memory for repeated reads (default 512 MiB; 0 turns the cache
   * off). Segments are immutable, so cached data is never stale.
   */
  readonly readCacheBytes?: number;
  /**
   * Compression of stored segments (default `none`: uncompressed pages from the plain writer,
   * several times faster to write and read; `lz4`: LZ4_RAW by parquet-wasm, smaller files).
   * Segments written either way stay readable whatever the setting later is.
   */
  readonly segmentCompression?: SegmentCompression;
  /** Segments being encoded at once during one put (default 2). */
  readonly encodeConcurrency?: number;
  /** SQL limits and tuning (DuckDB starts on the first query). */
  readonly sql?: SqlOptions;
  /** Which old versions `HangarEngine.vacuum` removes (default `DEFAULT_RETENTION`, retention.ts). */
  readonly retention?: RetentionPolicy;
  /** Run `HangarEngine.vacuum` over every bucket this often, in milliseconds (default 0: never). */
  readonly vacuumIntervalMs?: number;
  /**
   * An append that leaves the frame with at least this many small segments (under half the segment
   * size) starts a compaction in the background (default 64; 0 turns it off).
   */
  readonly compactThreshold?: number;
}

/** Options of a put. */
export interface PutOptions {
  /** User metadata for the frame; replaces the previous version's. Absent: the previous version's is kept. */
  readonly metadata?: FrameMetadata;
  /**
   * Optimistic concurrency: the version the caller last saw (0 = the frame must not exist). If the
   * frame is at another version when the put commits, it fails with ConflictError and writes nothing.
   */
  readonly expectedVersion?: number;
  /**
   * Store an append whose first time lies before the frame's last one. Without it such an append
   * fails with FailedPreconditionError (detail type `UnorderedAppendError`) and stores nothing.
   */
  readonly allowUnordered?: boolean;
  /**
   * Mode `update`: the time range [start, end) (epoch nanoseconds) whose stored rows the incoming
   * ones replace; default: from the incoming data's first to its last time, inclusive.
   */
  readonly range?: readonly [bigint, bigint];
  /**
   * `evolve`: an append may add columns (earlier rows read as null) and omit stored ones (stored as
   * null); a changed type is still refused. Default `strict`: the append's schema must match.
   */
  readonly schema?: SchemaRule;
  /**
   * Cancels the put: checked under the frame's commit lock, just before the commit, so a caller
   * that goes away while the segments are written stores nothing (CancelledError).
   */
  readonly signal?: AbortSignal;
}

/** How an append's schema must relate to the stored one: equal (`strict`) or allowed to grow (`evolve`). */
export type SchemaRule = 'strict' | 'evolve';

/** One version of a frame, as the `versions` action lists it. */
export interface VersionInfo {
  /** The version number. */
  readonly version: number;
  /** ISO-8601 commit time. */
  readonly committedAt: string;
  /** What made it (absent for versions written before operations were recorded). */
  readonly operation?: FrameOperation;
  /** Rows and Arrow bytes of the frame at this version (0 for a deletion). */
  readonly rows: number;
  readonly bytes: number;
  /** Stored segments at this version. */
  readonly segments: number;
  /** The frame was deleted by this version. */
  readonly deleted: boolean;
  /** For a restore: the version it brought back. */
  readonly restoredFrom?: number;
}

/** What `HangarEngine.vacuum` removed (or, in a dry run, would remove). */
export interface VacuumReport {
  /** Frames examined. */
  readonly frames: number;
  /** Old manifests removed. */
  readonly versionsRemoved: number;
  /** Segment objects removed (those of removed versions, and strays no version references). */
  readonly segmentsRemoved: number;
  /** Stored bytes of the removed Parquet segments (strays and sidecars not counted). */
  readonly bytesFreed: number;
}

/** What `HangarEngine.purge` removed. */
export interface PurgeReport extends FrameRef {
  /** Versions removed (every kept one, the tombstone of a deleted frame included). */
  readonly versionsRemoved: number;
  /** Segment objects the removed versions referenced. */
  readonly segmentsRemoved: number;
  /** Stored bytes of those Parquet segments (dictionary sidecars and strays not counted). */
  readonly bytesFreed: number;
}

/** What `HangarEngine.deleteRange` (and a put in mode `update`) changed. */
export interface RangeRewriteSummary extends FrameRef {
  /** The version made (the unchanged current one when no row was in the range). */
  readonly version: number;
  /** Rows of the frame afterwards. */
  readonly rows: number;
  /** Rows removed: their time lay in the range. */
  readonly rowsRemoved: number;
  /** Stored segments read and rewritten (those overlapping the range); the others were kept as they are. */
  readonly segmentsRewritten: number;
}

/** What `HangarEngine.compact` did. */
export interface CompactionReport extends FrameRef {
  /** The version compaction created, or the unchanged current one when there was nothing to do. */
  readonly version: number;
  /** Whether a new version was made. */
  readonly compacted: boolean;
  readonly segmentsBefore: number;
  readonly segmentsAfter: number;
}

/** Options of a read. */
export interface ReadOptions extends VersionSelector, SinceVersion {
  /** Columns to return, in this order; all when absent. */
  readonly columns?: readonly string[];
  /** Only rows whose time column is at or after this instant (epoch nanoseconds, see time-range.ts). */
  readonly start?: bigint;
  /** Only rows whose time column is before this instant (epoch nanoseconds). */
  readonly end?: bigint;
  /** At most this many rows (after filtering by time). */
  readonly limit?: number;
  /**
   * Only the last this many rows: only the segments holding them are read. Combines with
   * `columns` and a version; not with `start`/`end`, `limit` or `since_version`.
   */
  readonly tail?: number;
  /**
   * Decode into SharedArrayBuffers (cached apart from other reads' decodes), so a worker thread can
   * read the batches where they lie: resample's split pass (resample-split.ts) asks it.
   */
  readonly sharedMemory?: boolean;
}

/** A frame being read: its schema up front, then its messages. */
export interface FrameStream {
  /** The frame at the version being read. */
  readonly info: FrameInfo;
  /** The schema of the stream (projected when columns were given). */
  readonly schema: Schema;
  /**
   * The stream's messages: first the Schema message, then dictionary and record batches.
   * Iterate at most once; breaking early releases the read. The read holds the version's segments
   * from `read()` on, so iterate it: a stream never started keeps them until the process ends.
   */
  readonly messages: AsyncIterable<IpcMessage>;
  /**
   * Whether the segments read say, from their statistics alone, that the rows come in time order
   * without null times (every one flagged `timeSorted`, each starting at or after the end of the
   * one before); false when anything is unknown. Asked on demand (resample's single pass); set on
   * whole-frame and range reads.
   */
  readonly timeSorted?: () => boolean;
}
