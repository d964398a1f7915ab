/** What the engine reports about a stored frame. */
import type { Schema } from 'apache-arrow';
import type { FrameMetadata } from '../format/frame-metadata.js';
import type { FrameRef } from '../names.js';

/** A frame's identity, schema and size at its current version. */
export interface FrameInfo extends FrameRef {
  /** The frame's Arrow schema. */
  readonly schema: Schema;
  /** The bare IPC Schema message header, as stored. */
  readonly schemaHeader: Uint8Array;
  /** Total rows. */
  readonly rows: number;
  /** Total Arrow (in-memory) bytes. */
  readonly bytes: number;
  /** Current version number. */
  readonly version: number;
  /** ISO-8601 time of the commit that made this version. */
  readonly committedAt: string;
  /** The frame's user metadata (`{}` when none was given). */
  readonly metadata: FrameMetadata;
}

/** What a put reports back. */
export interface PutSummary extends FrameRef {
  /** Rows written by this put. */
  readonly rowsWritten: number;
  /** Rows in the frame after the put. */
  readonly rows: number;
  /** The version the put created. */
  readonly version: number;
}
