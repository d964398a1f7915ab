/**
 * The routes of the REST API under /api/v1: buckets, frames, versions, data in and out, SQL. Each
 * handler calls the authorised engine, as the Flight handlers do, so both APIs allow, refuse and
 * report exactly the same things.
 */
import type { FrameInfo } from '../../core/frame-info.js';
import { parseFrameMetadata } from '../../format/frame-metadata.js';
import { frameRef, resolveBucket } from '../../names.js';
import { parseBucketDeleteMode, parsePutMode } from '../../core/put-mode.js';
import { parseTimeBound } from '../../format/time-range.js';
import { frameDescription, parseJsonObject, parseVersionSelector, versionDescription } from '../dataframe-protocol.js';
import { DOWNLOAD_FORMATS, DOWNLOAD_MEDIA_TYPES, negotiateFormat, streamDownload } from './frame-download.js';
import { UPLOAD_MEDIA_TYPES, type UploadLimits, uploadFormatOf, uploadMessages } from './frame-upload.js';
import type { ApiRequest, JsonSchema, ParameterSchema, RouteDefinition } from './route-definition.js';

/** Counts what the data routes move, for the metrics. */
export interface DataCounters {
  /** Bytes of a response body sent. */
  readonly sent: (bytes: number) => void;
  /** Bytes of a request body received. */
  readonly received: (bytes: number) => void;
}

const NAME = { type: 'string', minLength: 1, maxLength: 200 } as const;
const BUCKET_PARAMS: ParameterSchema = { type: 'object', properties: { bucket: { ...NAME, description: 'the bucket' } }, required: ['bucket'] };
const FRAME_PARAMS: ParameterSchema = {
  type: 'object',
  properties: { bucket: { ...NAME, description: 'the bucket' }, name: { ...NAME, description: 'the frame' } },
  required: ['bucket', 'name'],
};
const VERSION_QUERY = {
  version: { type: 'integer', minimum: 1, description: 'read this version' },
  as_of: { type: 'string', description: 'read the version current at this instant (ISO-8601, or epoch seconds)' },
  snapshot: { type: 'string', description: 'read the version this snapshot of the bucket holds' },
} as const;
const FIELD_SCHEMA = {
  type: 'object',
  properties: { name: { type: 'string' }, type: { type: 'string' }, nullable: { type: 'boolean' } },
} as const;
const FRAME_SCHEMA: JsonSchema = {
  type: 'object',
  properties: {
    name: { type: 'string' },
    bucket: { type: 'string' },
    version: { type: 'integer' },
    committed_at: { type: 'string', format: 'date-time' },
    rows: { type: 'integer' },
    bytes: { type: 'integer' },
    metadata: { type: 'object' },
    schema: { type: 'array', items: FIELD_SCHEMA },
  },
};
const VERSION_SCHEMA: JsonSchema = {
  type: 'object',
  properties: {
    version: { type: 'integer' },
    committed_at: { type: 'string' },
    operation: { type: 'string' },
    rows: { type: 'integer' },
    bytes: { type: 'integer' },
    segments: { type: 'integer' },
    deleted: { type: 'boolean' },
    restored_from: { type: 'integer' },
  },
};
const PUT_SUMMARY_SCHEMA: JsonSchema = {
  type: 'object',
  properties: { bucket: { type: 'string' }, name: { type: 'string' }, rowsWritten: { type: 'integer' }, rows: { type: 'integer' }, version: { type: 'integer' } },
};
const DATA_RESPONSE = {
  description: 'the rows, streamed in the format asked for by `format` or `Accept` (default Arrow IPC stream)',
  content: Object.fromEntries(DOWNLOAD_FORMATS.map((format) => [DOWNLOAD_MEDIA_TYPES[format].split(';')[0]!, undefined])),
};

function json(request: ApiRequest, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  request.reply.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  request.reply.end(text);
}

/** The JSON of a frame: as the Flight `stat` action answers it. */
function frameJson(info: FrameInfo, withSchema: boolean): Record<string, unknown> {
  return {
    ...frameDescription(info),
    ...(withSchema ? { schema: info.schema.fields.map((field) => ({ name: field.name, type: String(field.type), nullable: field.nullable })) } : {}),
  };
}

function versionSelector(query: Readonly<Record<string, unknown>>): ReturnType<typeof parseVersionSelector> {
  return parseVersionSelector({ version: query.version, as_of: asTimeValue(query.as_of), snapshot: query.snapshot });
}

/** A time given in a query string: digits are epoch seconds, anything else ISO-8601. */
function asTimeValue(value: unknown): string | number | undefined {
  if (typeof value !== 'string') return undefined;
  return /^-?\d+(\.\d+)?$/.test(value) ? Number(value) : value;
}

/**
 * The API's routes.
 * @param limits - the upload limits (as DoPut's)
 * @param counters - what the data routes report to the metrics
 */
export function apiRoutes(limits: UploadLimits, counters: DataCounters): RouteDefinition[] {
  return [
    {
      method: 'GET',
      path: '/buckets',
      operationId: 'listBuckets',
      summary: 'Lists the buckets the caller may read',
      responses: { 200: { description: 'bucket names', content: { 'application/json': { type: 'object', properties: { buckets: { type: 'array', items: { type: 'string' } } } } } } },
      handle: async (request) => json(request, 200, { buckets: await request.engine.buckets() }),
    },
    {
      method: 'DELETE',
      path: '/buckets/{bucket}',
      operationId: 'deleteBucket',
      summary: 'Deletes a bucket (admin of the bucket)',
      params: BUCKET_PARAMS,
      query: { type: 'object', properties: { mode: { type: 'string', enum: ['error', 'delete'], default: 'error', description: '`delete` also removes its frames' } }, additionalProperties: false },
      responses: { 204: { description: 'deleted' } },
      handle: async (request) => {
        await request.engine.deleteBucket(resolveBucket(request.params.bucket), parseBucketDeleteMode(request.query.mode));
        request.reply.writeHead(204).end();
      },
    },
    {
      method: 'GET',
      path: '/buckets/{bucket}/frames',
      operationId: 'listFrames',
      summary: 'Lists the frames of a bucket',
      params: BUCKET_PARAMS,
      query: {
        type: 'object',
        properties: { regex: { type: 'string', description: 'only names matching this regular expression' } },
        patternProperties: { '^metadata\\.': { type: 'string', 'x-parameter-name': 'metadata.{key}', description: 'only frames whose metadata has this key with this value (JSON or text)' } },
        additionalProperties: false,
      },
      responses: { 200: { description: 'the frames, by name', content: { 'application/json': { type: 'object', properties: { frames: { type: 'array', items: FRAME_SCHEMA } } } } } },
      handle: async (request) => {
        const filter: Record<string, unknown> = {};
        for (const [key, value] of Object.entries(request.query)) {
          if (key.startsWith('metadata.')) filter[key.slice('metadata.'.length)] = parseMetadataValue(String(value));
        }
        const metadata = Object.keys(filter).length > 0 ? parseFrameMetadata(filter) : undefined;
        const regex = typeof request.query.regex === 'string' ? request.query.regex : undefined;
        const infos = await request.engine.list(resolveBucket(request.params.bucket), regex, metadata);
        json(request, 200, { frames: infos.map((info) => frameJson(info, false)) });
      },
    },
    {
      method: 'GET',
      path: '/buckets/{bucket}/frames/{name}',
      operationId: 'statFrame',
      summary: 'Describes a frame: schema, rows, bytes, metadata, version',
      params: FRAME_PARAMS,
      query: { type: 'object', properties: VERSION_QUERY, additionalProperties: false },
      responses: { 200: { description: 'the frame', content: { 'application/json': FRAME_SCHEMA } } },
      handle: async (request) => {
        const info = await request.engine.stat(frameRef(request.params.name, request.params.bucket), versionSelector(request.query));
        json(request, 200, frameJson(info, true));
      },
    },
    {
      method: 'DELETE',
      path: '/buckets/{bucket}/frames/{name}',
      operationId: 'deleteFrame',
      summary: 'Deletes a frame (a new version; restore brings it back)',
      params: FRAME_PARAMS,
      responses: { 204: { description: 'deleted' } },
      handle: async (request) => {
        await request.engine.delete(frameRef(request.params.name, request.params.bucket));
        request.reply.writeHead(204).end();
      },
    },
    {
      method: 'GET',
      path: '/buckets/{bucket}/frames/{name}/versions',
      operationId: 'listVersions',
      summary: "Lists a frame's kept versions, oldest first",
      params: FRAME_PARAMS,
      responses: { 200: { description: 'the versions', content: { 'application/json': { type: 'object', properties: { versions: { type: 'array', items: VERSION_SCHEMA } } } } } },
      handle: async (request) => {
        const versions = await request.engine.versions(frameRef(request.params.name, request.params.bucket));
        json(request, 200, { versions: versions.map(versionDescription) });
      },
    },
    {
      method: 'POST',
      path: '/buckets/{bucket}/frames/{name}/restore',
      operationId: 'restoreVersion',
      summary: 'Makes an old version current again, as a new version',
      params: FRAME_PARAMS,
      jsonBody: { type: 'object', properties: { version: { type: 'integer', minimum: 1 } }, required: ['version'], additionalProperties: false },
      responses: { 200: { description: 'the new version', content: { 'application/json': PUT_SUMMARY_SCHEMA } } },
      handle: async (request) => {
        const { version } = request.body as { version: number };
        json(request, 200, await request.engine.restore(frameRef(request.params.name, request.params.bucket), version));
      },
    },
    {
      method: 'GET',
      path: '/buckets/{bucket}/frames/{name}/data',
      operationId: 'readFrame',
      summary: "Streams a frame's rows",
      description: 'Never buffered whole: batches go out as they are read. `Accept: application/vnd.apache.arrow.stream` (or text/csv, application/json, application/vnd.apache.parquet) chooses the format when `format` is absent.',
      params: FRAME_PARAMS,
      query: {
        type: 'object',
        properties: {
          format: { type: 'string', enum: [...DOWNLOAD_FORMATS], description: 'overrides Accept' },
          columns: { type: 'string', description: 'comma-separated columns, in this order' },
          start: { type: 'string', description: 'rows whose time column is at or after this instant (ISO-8601 or epoch seconds)' },
          end: { type: 'string', description: 'rows whose time column is before this instant' },
          limit: { type: 'integer', minimum: 0, description: 'at most this many rows' },
          tail: { type: 'integer', minimum: 0, description: "only the frame's last this many rows (not with start, end or limit)" },
          ...VERSION_QUERY,
        },
        additionalProperties: false,
      },
      responses: { 200: DATA_RESPONSE },
      handle: async (request) => {
        const { query } = request;
        const start = parseTimeBound(asTimeValue(query.start), 'start');
        const end = parseTimeBound(asTimeValue(query.end), 'end');
        const columns = typeof query.columns === 'string' ? query.columns.split(',').map((column) => column.trim()).filter(Boolean) : undefined;
        const format = negotiateFormat(query.format as string | undefined, request.raw.headers.accept);
        const ref = frameRef(request.params.name, request.params.bucket);
        const stream = await request.engine.read(ref, {
          ...versionSelector(query),
          ...(columns ? { columns } : {}),
          ...(start === undefined ? {} : { start }),
          ...(end === undefined ? {} : { end }),
          ...(typeof query.limit === 'number' ? { limit: query.limit } : {}),
          ...(typeof query.tail === 'number' ? { tail: query.tail } : {}),
        });
        counters.sent(await streamDownload(request.reply, stream.messages, format, ref.name));
      },
    },
    {
      method: 'PUT',
      path: '/buckets/{bucket}/frames/{name}',
      operationId: 'writeFrame',
      summary: 'Stores a frame from an Arrow IPC stream, Parquet or CSV body',
      description:
        'The body is streamed, under the same limits and checks as Flight DoPut; nothing is stored unless all of it is. CSV is read by DuckDB (types sniffed, dates and timestamps included).',
      params: FRAME_PARAMS,
      query: {
        type: 'object',
        properties: {
          mode: { type: 'string', enum: ['error', 'append', 'replace'], default: 'error', description: 'what to do when the frame exists' },
          expected_version: { type: 'integer', minimum: 0, description: 'commit only if the frame is at this version (0: must not exist)' },
          metadata: { type: 'string', description: "the frame's metadata, a JSON object (replaces the previous version's)" },
        },
        additionalProperties: false,
      },
      streamedBody: Object.keys(UPLOAD_MEDIA_TYPES),
      responses: { 200: { description: 'stored', content: { 'application/json': PUT_SUMMARY_SCHEMA } } },
      handle: async (request) => {
        const ref = frameRef(request.params.name, request.params.bucket);
        const metadata = typeof request.query.metadata === 'string' ? parseFrameMetadata(parseJsonObject(Buffer.from(request.query.metadata), '"metadata"')) : undefined;
        const expected = request.query.expected_version;
        const mode = parsePutMode(request.query.mode);
        // CSV carries no types: an append reads its columns as the frame's (sniffed when it cannot be read).
        const target = mode === 'append' && uploadFormatOf(request.raw.headers['content-type']) === 'csv' ? await request.engine.stat(ref).catch(() => undefined) : undefined;
        const summary = await request.engine.put(ref, mode, uploadMessages(request.raw, limits, counters.received, target?.schema), {
          ...(metadata ? { metadata } : {}),
          ...(typeof expected === 'number' ? { expectedVersion: expected } : {}),
          signal: request.signal,
        });
        json(request, 200, summary);
      },
    },
    {
      method: 'POST',
      path: '/sql',
      operationId: 'query',
      summary: "Runs a read-only SQL query over a bucket's frames",
      jsonBody: {
        type: 'object',
        properties: {
          sql: { type: 'string', minLength: 1 },
          bucket: { type: 'string', description: 'the bucket whose frames are unqualified tables (default: default)' },
          as_of: { type: ['string', 'number'], description: 'query every frame as it was at this instant' },
          snapshot: { type: 'string', description: "query every frame of the bucket as this snapshot holds it" },
          format: { type: 'string', enum: [...DOWNLOAD_FORMATS], description: 'overrides Accept' },
        },
        required: ['sql'],
        additionalProperties: false,
      },
      responses: { 200: DATA_RESPONSE },
      handle: async (request) => {
        const body = request.body as { sql: string; bucket?: string; as_of?: string | number; snapshot?: string; format?: string };
        const { asOf, snapshot } = parseVersionSelector({ as_of: body.as_of, snapshot: body.snapshot });
        const format = negotiateFormat(body.format, request.raw.headers.accept);
        const stream = await request.engine.query(body.sql, {
          bucket: resolveBucket(body.bucket),
          signal: request.signal,
          ...(asOf ? { asOf } : {}),
          ...(snapshot === undefined ? {} : { snapshot }),
        });
        counters.sent(await streamDownload(request.reply, stream.messages, format, 'query'));
      },
    },
  ];
}

/** A metadata filter value from a query string: JSON when it parses, else the text itself. */
function parseMetadataValue(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}
