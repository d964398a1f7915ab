/** What the engine reports about a stored frame. */
import type { Schema } from 'apache-arrow';
import { decodeSchemaHeader } from '../format/ipc-message.js';
import type { FrameManifest } from '../format/manifest.js';
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
  /** Mode `update`: stored rows replaced (removed from the range), and stored segments rewritten. */
  readonly rowsRemoved?: number;
  readonly segmentsRewritten?: number;
}

/** Decoded schemas by their stored base64 form: frames mostly share a few, and listing 100,000 frames decoded each one. */
const decodedSchemas = new Map<string, { readonly schema: Schema; readonly schemaHeader: Uint8Array }>();
const DECODED_SCHEMAS = 1024;

/** The stored schema decoded, shared by every frame with the same one (never mutate it). */
function storedSchema(base64: string): { readonly schema: Schema; readonly schemaHeader: Uint8Array } {
  let entry = decodedSchemas.get(base64);
  if (!entry) {
    const schemaHeader = Buffer.from(base64, 'base64');
    entry = { schema: decodeSchemaHeader(schemaHeader), schemaHeader };
    if (decodedSchemas.size >= DECODED_SCHEMAS) decodedSchemas.delete(decodedSchemas.keys().next().value!);
    decodedSchemas.set(base64, entry);
  }
  return entry;
}

/** What the engine reports of a frame at the version a manifest describes. */
export function toFrameInfo(ref: FrameRef, manifest: FrameManifest): FrameInfo {
  const { schema, schemaHeader } = storedSchema(manifest.schema);
  return {
    bucket: ref.bucket,
    name: ref.name,
    schema,
    schemaHeader,
    rows: manifest.rows,
    bytes: manifest.bytes,
    version: manifest.version,
    committedAt: manifest.committedAt,
    metadata: manifest.metadata ?? {},
  };
}
