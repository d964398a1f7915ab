/** A stream's definition as stored beside its log: the entry schema (Arrow IPC, base64) and the retention. */
import { type Schema } from 'apache-arrow';
import { decodeEncapsulatedSchema, encapsulateMessage, encodeSchemaHeader } from '../../format/ipc-message.js';
import { DataLossError } from '../../errors.js';
import type { StreamRetention } from './live-stream.js';

/** What a stream is. */
export interface StreamDefinition {
  /** `binary`: entries are opaque bytes (one `data` column); `arrow`: rows of `entrySchema`. */
  readonly kind: 'arrow' | 'binary';
  /** The columns of one entry. */
  readonly entrySchema: Schema;
  readonly retention: StreamRetention;
  /** ISO-8601 creation time. */
  readonly createdAt: string;
}

/** The definition as JSON text. */
export function encodeDefinition(definition: StreamDefinition): string {
  const schema = Buffer.from(encapsulateMessage({ header: encodeSchemaHeader(definition.entrySchema), body: new Uint8Array(0) })).toString('base64');
  return JSON.stringify({
    format: 1,
    kind: definition.kind,
    schema,
    created_at: definition.createdAt,
    ...(definition.retention.maxLen === undefined ? {} : { max_len: definition.retention.maxLen }),
    ...(definition.retention.maxAgeMs === undefined ? {} : { max_age_ms: definition.retention.maxAgeMs }),
  });
}

/** Reads a definition. @throws DataLossError when it is not one */
export function decodeDefinition(text: string, where: string): StreamDefinition {
  try {
    const json = JSON.parse(text) as { format: number; kind: 'arrow' | 'binary'; schema: string; created_at: string; max_len?: number; max_age_ms?: number };
    if (json.format !== 1 || (json.kind !== 'arrow' && json.kind !== 'binary')) throw new Error('unknown format');
    return {
      kind: json.kind,
      entrySchema: decodeEncapsulatedSchema(Buffer.from(json.schema, 'base64')),
      createdAt: json.created_at,
      retention: { ...(json.max_len === undefined ? {} : { maxLen: json.max_len }), ...(json.max_age_ms === undefined ? {} : { maxAgeMs: json.max_age_ms }) },
    };
  } catch (error) {
    throw new DataLossError(`the stream definition ${where} is damaged (${(error as Error).message}); restore it or remove the stream's folder`);
  }
}
