/**
 * Hangar's dataframe protocol over Flight (docs/protocol.md): how descriptors, tickets, criteria
 * and action bodies name frames. Speaks shoots' JSON forms and plain Flight PATH descriptors.
 */
import { InvalidArgumentError } from '../errors.js';
import { type FrameMetadata, parseFrameMetadata } from '../format/frame-metadata.js';
import type { FrameInfo } from '../core/frame-info.js';
import { type FrameRef, frameRef, resolveBucket, validateName } from '../names.js';
import { type PutMode, parsePutMode } from '../core/put-mode.js';
import { parseTimeBound } from '../format/time-range.js';
import type { VersionSelector } from '../core/version-selection.js';
import type { SinceVersion } from '../core/appended-since.js';
import type { SchemaRule } from '../core/engine-types.js';
import type { VersionInfo } from '../core/engine.js';
import { DescriptorType, type FlightDescriptor } from '../flight/flight-messages.js';

const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * The deepest nesting of arrays and objects a request's JSON may have. JSON.parse takes any depth,
 * but what reads the value afterwards (JSON.stringify of metadata, comparisons) recurses, and a few
 * thousand levels overflow the stack (found by the protocol fuzzer: an INTERNAL error, not a refusal).
 */
export const MAX_JSON_DEPTH = 64;

/** The deepest nesting of `[` and `{` in JSON text, strings skipped; stops counting past `limit`. */
function jsonDepth(text: string, limit: number): number {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i++;
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x5b || c === 0x7b) {
      if (++depth > limit) return depth;
    } else if (c === 0x5d || c === 0x7d) depth--;
  }
  return depth;
}

/** Parses bytes as a JSON object. An empty body is `{}`. @throws InvalidArgumentError */
export function parseJsonObject(bytes: Uint8Array, what: string): Record<string, unknown> {
  if (bytes.byteLength === 0) return {};
  let parsed: unknown;
  try {
    const text = utf8.decode(bytes);
    if (jsonDepth(text, MAX_JSON_DEPTH) > MAX_JSON_DEPTH) throw new Error(`it nests arrays and objects deeper than ${MAX_JSON_DEPTH} levels`);
    parsed = JSON.parse(text);
  } catch (error) {
    throw new InvalidArgumentError(`${what} is not valid UTF-8 JSON: ${(error as Error).message}`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new InvalidArgumentError(`${what} must be a JSON object, got ${Array.isArray(parsed) ? 'an array' : typeof parsed}`);
  }
  return parsed as Record<string, unknown>;
}

/**
 * Refuses fields a request does not know, so a misspelt option (`"colums"`, `"tial"`) is an error
 * instead of being silently ignored. `known` lists every field the request takes.
 * @throws InvalidArgumentError naming the unknown field(s) and the known ones
 */
export function rejectUnknownFields(body: Record<string, unknown>, known: readonly string[], what: string): void {
  const unknown = Object.keys(body).filter((key) => !known.includes(key));
  if (unknown.length === 0) return;
  throw new InvalidArgumentError(
    `unknown field${unknown.length > 1 ? 's' : ''} ${unknown.map((key) => JSON.stringify(key)).join(', ')} in ${what}; ` +
      `the fields it takes are: ${known.join(', ')}`,
  );
}

/** Fields of a DoGet ticket that reads a frame (`"sql": null` is a plain read, as shoots sends it). */
export const FRAME_TICKET_FIELDS = ['name', 'bucket', 'columns', 'start', 'end', 'limit', 'tail', 'version', 'as_of', 'snapshot', 'since_version', 'since_committed_at', 'sql'] as const;
/** Fields of a ticket or CMD descriptor that runs a query (shoots sends the frame's `name` along; `version` is refused with its own message). */
export const SQL_FIELDS = ['sql', 'bucket', 'as_of', 'snapshot', 'name', 'version'] as const;
/** Fields of a DoPut CMD descriptor; `batch_size` is shoots' client's own (its upload batch size), accepted and unused. */
export const PUT_FIELDS = ['name', 'bucket', 'mode', 'metadata', 'expected_version', 'allow_unordered', 'range', 'schema', 'batch_size'] as const;
/** Fields of a GetFlightInfo / GetSchema CMD descriptor naming a frame (DoPut's `mode` and `batch_size` accepted, unused). */
export const INFO_FIELDS = ['name', 'bucket', 'version', 'as_of', 'snapshot', 'mode', 'batch_size'] as const;
/** Fields of ListFlights criteria. */
export const CRITERIA_FIELDS = ['bucket', 'regex', 'metadata'] as const;

/** Reads an optional list of column names. */
function parseColumns(value: unknown): string[] | undefined {
  if (value === undefined || value === null) return undefined;
  if (!Array.isArray(value) || value.some((column) => typeof column !== 'string')) {
    throw new InvalidArgumentError('"columns" must be a list of column names');
  }
  return value as string[];
}

/** A frame named by a descriptor: PATH [name] / [name, bucket], or CMD JSON {"name","bucket"}. */
export function frameFromDescriptor(descriptor: FlightDescriptor | undefined): FrameRef & { cmd?: Record<string, unknown> } {
  if (!descriptor) throw new InvalidArgumentError('the request carries no FlightDescriptor');
  if (descriptor.type === DescriptorType.Path) {
    const path = descriptor.path ?? [];
    if (path.length < 1 || path.length > 2) {
      throw new InvalidArgumentError(`a PATH descriptor must be [name] or [name, bucket], got ${path.length} segments`);
    }
    return frameRef(path[0], path[1]);
  }
  if (descriptor.type === DescriptorType.Cmd) {
    const cmd = parseJsonObject(descriptor.cmd ?? new Uint8Array(0), 'the descriptor command');
    return { ...frameRef(cmd.name, cmd.bucket), cmd };
  }
  throw new InvalidArgumentError('the FlightDescriptor type must be PATH or CMD');
}

/** What DoPut is asked to do. */
export interface PutRequest extends FrameRef {
  /** The put mode; PATH descriptors always use `error`. */
  readonly mode: PutMode;
  /** User metadata for the frame (CMD `"metadata"`), if given. */
  readonly metadata?: FrameMetadata;
  /** CMD `"expected_version"`: commit only if the frame is at this version (0 = absent). */
  readonly expectedVersion?: number;
  /** CMD `"allow_unordered": true`: an append may start before the frame's last time. */
  readonly allowUnordered?: boolean;
  /** CMD `"range": [start, end]` of mode `update`, epoch nanoseconds. */
  readonly range?: readonly [bigint, bigint];
  /** CMD `"schema": "evolve"` (mode `append`): the frame's schema may grow. */
  readonly schema?: SchemaRule;
}

/** Parses the DoPut descriptor (shoots: CMD JSON {"name","mode","bucket"}). */
export function parsePutDescriptor(descriptor: FlightDescriptor | undefined): PutRequest {
  const { cmd, ...ref } = frameFromDescriptor(descriptor);
  if (cmd) rejectUnknownFields(cmd, PUT_FIELDS, 'the DoPut descriptor');
  const metadata = parseFrameMetadata(cmd?.metadata);
  const expected = parseExpectedVersion(cmd?.expected_version);
  const allowUnordered = cmd?.allow_unordered;
  if (allowUnordered !== undefined && allowUnordered !== null && typeof allowUnordered !== 'boolean') {
    throw new InvalidArgumentError('"allow_unordered" must be true or false');
  }
  const mode = parsePutMode(cmd?.mode);
  const range = parseUpdateRange(cmd?.range, mode);
  const schema = parseSchemaRule(cmd?.schema, mode);
  return {
    ...ref,
    mode,
    ...(schema ? { schema } : {}),
    ...(range ? { range } : {}),
    ...(metadata ? { metadata } : {}),
    ...(expected === undefined ? {} : { expectedVersion: expected }),
    ...(allowUnordered === true ? { allowUnordered } : {}),
  };
}

/** Reads `"schema"`: `"strict"` (the default) or `"evolve"`, which belongs to mode `append`. @throws InvalidArgumentError */
function parseSchemaRule(value: unknown, mode: PutMode): SchemaRule | undefined {
  if (value === undefined || value === null || value === 'strict') return undefined;
  if (value !== 'evolve') throw new InvalidArgumentError(`"schema" must be "strict" or "evolve", got ${JSON.stringify(value)}`);
  if (mode !== 'append') throw new InvalidArgumentError('"schema": "evolve" belongs to mode "append" (a put or replace sets the schema anyway)');
  return value;
}

/** Reads mode `update`'s optional `"range": [start, end]` (time literals as in range reads). @throws InvalidArgumentError */
function parseUpdateRange(value: unknown, mode: PutMode): readonly [bigint, bigint] | undefined {
  if (value === undefined || value === null) return undefined;
  if (mode !== 'update') throw new InvalidArgumentError('"range" belongs to mode "update"');
  if (!Array.isArray(value) || value.length !== 2) throw new InvalidArgumentError('"range" must be [start, end] (end exclusive)');
  const start = parseTimeBound(value[0], 'range start');
  const end = parseTimeBound(value[1], 'range end');
  if (start === undefined || end === undefined) throw new InvalidArgumentError('"range" must be [start, end] with both given');
  return [start, end];
}

/** Reads an optional `"expected_version"` (0 = the frame must not exist yet). @throws InvalidArgumentError */
export function parseExpectedVersion(expected: unknown): number | undefined {
  if (expected === undefined || expected === null) return undefined;
  if (typeof expected !== 'number' || !Number.isSafeInteger(expected) || expected < 0) {
    throw new InvalidArgumentError('"expected_version" must be a version number (0 = the frame must not exist yet)');
  }
  return expected;
}

/**
 * Reads `"version"` (a version number) or `"as_of"` (ISO-8601 or epoch seconds, like `start`) from
 * a ticket, descriptor command or action body. @throws InvalidArgumentError
 */
export function parseVersionSelector(body: Record<string, unknown> | undefined): VersionSelector {
  const version = body?.version;
  const asOf = parseTimeBound(body?.as_of, 'as_of');
  if (version !== undefined && version !== null && (typeof version !== 'number' || !Number.isSafeInteger(version) || version < 1)) {
    throw new InvalidArgumentError(`"version" must be a version number (1 or more), got ${JSON.stringify(version)}`);
  }
  if (typeof version === 'number' && asOf !== undefined) throw new InvalidArgumentError('give either "version" or "as_of", not both');
  const snapshot = body?.snapshot === undefined || body.snapshot === null ? undefined : validateName('snapshot', body.snapshot);
  if (snapshot !== undefined && (typeof version === 'number' || asOf !== undefined)) {
    throw new InvalidArgumentError('give one of "version", "as_of" and "snapshot", not several');
  }
  return {
    ...(typeof version === 'number' ? { version } : {}),
    ...(asOf === undefined ? {} : { asOf: new Date(Number(asOf / 1_000_000n)) }),
    ...(snapshot === undefined ? {} : { snapshot }),
  };
}

/** What DoGet is asked to return: a stored frame (possibly projected, filtered by time, limited, at a past version). */
export interface GetRequest extends FrameRef, VersionSelector, SinceVersion {
  readonly kind: 'frame';
  /** Projection. */
  readonly columns?: string[];
  /** Inclusive lower time bound, epoch nanoseconds. */
  readonly start?: bigint;
  /** Exclusive upper time bound, epoch nanoseconds. */
  readonly end?: bigint;
  /** At most this many rows. */
  readonly limit?: number;
  /** Only the last this many rows. */
  readonly tail?: number;
}

/** Reads an optional row count (`limit`, `tail`): a non-negative integer. */
function parseLimit(value: unknown, field = 'limit'): number | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
    throw new InvalidArgumentError(`"${field}" must be a non-negative integer number of rows, got ${JSON.stringify(value)}`);
  }
  return value;
}

/**
 * Reads an incremental read's `since_version` (a version number) and `since_committed_at` (its
 * commit time, ISO-8601 or epoch seconds): only the rows appended after that version are returned.
 */
function parseSince(body: Record<string, unknown>): SinceVersion {
  const version = body.since_version;
  if (version === undefined || version === null) {
    if (body.since_committed_at !== undefined && body.since_committed_at !== null) {
      throw new InvalidArgumentError('"since_committed_at" needs "since_version" (the version the client holds)');
    }
    return {};
  }
  if (typeof version !== 'number' || !Number.isSafeInteger(version) || version < 1) {
    throw new InvalidArgumentError(`"since_version" must be a version number (1 or more), got ${JSON.stringify(version)}`);
  }
  const committedAt = parseTimeBound(body.since_committed_at, 'since_committed_at');
  return { sinceVersion: version, ...(committedAt === undefined ? {} : { sinceCommittedAt: new Date(Number(committedAt / 1_000_000n)) }) };
}

/** A DoGet ticket asking for the result of a SQL query run against a bucket's frames. */
export interface SqlRequest {
  readonly kind: 'sql';
  /** The query (DuckDB dialect). */
  readonly sql: string;
  /** The bucket whose frames are the query's unqualified tables. */
  readonly bucket: string;
  /** Time travel: read every frame as it was at this instant. */
  readonly asOf?: Date;
  /** Read every frame of the bucket as the snapshot of this name holds it. */
  readonly snapshot?: string;
}

/**
 * Parses a DoGet ticket: JSON {"name","bucket","columns"?,"start"?,"end"?,"limit"?,"since_version"?} for a frame,
 * or {"sql","bucket"?, "name"?} for a query (shoots sends the frame's name along; it is not needed).
 * `start`/`end` are ISO-8601 strings or epoch seconds (see time-range.ts); `null` means absent.
 */
export function parseTicket(ticket: Uint8Array): GetRequest | SqlRequest {
  const body = parseJsonObject(ticket, 'the ticket');
  if (body.sql !== undefined && body.sql !== null) return parseSqlCommand(body);
  rejectUnknownFields(body, FRAME_TICKET_FIELDS, 'the ticket');
  const columns = parseColumns(body.columns);
  const start = parseTimeBound(body.start, 'start');
  const end = parseTimeBound(body.end, 'end');
  const limit = parseLimit(body.limit);
  const tail = parseLimit(body.tail, 'tail');
  return {
    kind: 'frame',
    ...frameRef(body.name, body.bucket),
    ...(columns ? { columns } : {}),
    ...(start === undefined ? {} : { start }),
    ...(end === undefined ? {} : { end }),
    ...(limit === undefined ? {} : { limit }),
    ...(tail === undefined ? {} : { tail }),
    ...parseVersionSelector(body),
    ...parseSince(body),
  };
}

/** Reads `{"sql","bucket"?}` from a ticket or descriptor command. @throws InvalidArgumentError */
export function parseSqlCommand(body: Record<string, unknown>): SqlRequest {
  rejectUnknownFields(body, SQL_FIELDS, 'the query command');
  if (typeof body.sql !== 'string' || body.sql.trim() === '') {
    throw new InvalidArgumentError('"sql" must be a non-empty string holding one SELECT query');
  }
  if (body.version !== undefined && body.version !== null) {
    throw new InvalidArgumentError(
      'a query takes "as_of" (every frame as it was then), not "version"; to query one version of a frame, give its ' +
        'committed_at (from the "versions" action) as "as_of"',
    );
  }
  const { asOf, snapshot } = parseVersionSelector(body);
  return { kind: 'sql', sql: body.sql, bucket: resolveBucket(body.bucket), ...(asOf ? { asOf } : {}), ...(snapshot === undefined ? {} : { snapshot }) };
}

/**
 * What GetFlightInfo / GetSchema describe: a frame (PATH, or CMD {"name","bucket"}) or a query
 * (CMD {"sql","bucket"?}).
 */
export function parseInfoDescriptor(descriptor: FlightDescriptor | undefined): (FrameRef & VersionSelector & { kind: 'frame' }) | SqlRequest {
  if (descriptor?.type === DescriptorType.Cmd) {
    const cmd = parseJsonObject(descriptor.cmd ?? new Uint8Array(0), 'the descriptor command');
    if (cmd.sql !== undefined && cmd.sql !== null) return parseSqlCommand(cmd);
  }
  const { cmd, ...ref } = frameFromDescriptor(descriptor);
  if (cmd) rejectUnknownFields(cmd, INFO_FIELDS, 'the descriptor command');
  return { kind: 'frame', ...ref, ...parseVersionSelector(cmd) };
}

/** Encodes the ticket that runs a query. */
export function encodeSqlTicket(request: SqlRequest): Uint8Array {
  return Buffer.from(
    JSON.stringify({
      sql: request.sql,
      bucket: request.bucket,
      ...(request.asOf ? { as_of: request.asOf.toISOString() } : {}),
      ...(request.snapshot === undefined ? {} : { snapshot: request.snapshot }),
    }),
    'utf8',
  );
}

/**
 * Encodes the ticket a FlightInfo endpoint carries for a frame; `version` pins it to the version
 * the FlightInfo describes (for time travel; a plain ticket reads whatever is current).
 */
export function encodeTicketFor(ref: FrameRef, version?: number): Uint8Array {
  return Buffer.from(JSON.stringify({ name: ref.name, bucket: ref.bucket, ...(version === undefined ? {} : { version }) }), 'utf8');
}

/**
 * Parses ListFlights criteria: JSON {"bucket","regex","metadata"}; empty criteria = default
 * bucket. `metadata` keeps frames whose metadata has every given key with an equal value.
 */
export function parseCriteria(expression: Uint8Array): { bucket: string; regex?: string; metadata?: FrameMetadata } {
  const body = parseJsonObject(expression, 'the ListFlights criteria');
  rejectUnknownFields(body, CRITERIA_FIELDS, 'the ListFlights criteria');
  if (body.regex !== undefined && body.regex !== null && typeof body.regex !== 'string') {
    throw new InvalidArgumentError('"regex" must be a string');
  }
  const metadata = parseFrameMetadata(body.metadata);
  return {
    bucket: resolveBucket(body.bucket),
    ...(typeof body.regex === 'string' ? { regex: body.regex } : {}),
    ...(metadata ? { metadata } : {}),
  };
}

/**
 * The JSON a frame's FlightInfo carries in `app_metadata` and the `stat` action returns (with the
 * schema added there): name, bucket, version, commit time, rows, bytes and the user metadata.
 */
export function frameDescription(info: FrameInfo): Record<string, unknown> {
  return {
    name: info.name,
    bucket: info.bucket,
    version: info.version,
    committed_at: info.committedAt,
    rows: info.rows,
    bytes: info.bytes,
    metadata: info.metadata,
  };
}

/** The JSON the `versions` action returns for one version (snake_case, as every protocol field). */
export function versionDescription(version: VersionInfo): Record<string, unknown> {
  return {
    version: version.version,
    committed_at: version.committedAt,
    operation: version.operation ?? null,
    rows: version.rows,
    bytes: version.bytes,
    segments: version.segments,
    deleted: version.deleted,
    ...(version.restoredFrom === undefined ? {} : { restored_from: version.restoredFrom }),
  };
}
