/**
 * A Hangar commit as a Delta Lake commit file (`_delta_log/<version>.json`, newline-delimited JSON
 * actions, as PROTOCOL.md of the Delta Lake project specifies): `commitInfo`, `protocol`, `metaData`
 * and the `add`/`remove` actions that turn the previous version's files into this one's. The
 * Hangar manifest travels inside `commitInfo` (free-form by the protocol), so Hangar reads its own
 * exact state back while every Delta engine reads the actions. Pure functions; see docs/open-format.md.
 */
import { createHash } from 'node:crypto';
import { DataType, type Field, Schema, TimeUnit } from 'apache-arrow';
import { DataLossError } from '../errors.js';
import type { FrameRef } from '../names.js';
import { type FrameManifest, type FrameOperation, type ManifestLocation, type SegmentEntry, decodeManifest, encodeManifest } from './manifest.js';
import { decodeSchemaHeader } from './ipc-message.js';
import { stringDictionary } from './dictionary-layout.js';
import { holdsDictionary } from './parquet/exact-dictionaries.js';

/** A Delta table schema type (PROTOCOL.md "Schema Serialization Format"). */
export type DeltaType =
  | string
  | { readonly type: 'array'; readonly elementType: DeltaType; readonly containsNull: boolean }
  | { readonly type: 'map'; readonly keyType: DeltaType; readonly valueType: DeltaType; readonly valueContainsNull: boolean }
  | DeltaStruct;

/** A Delta struct type: the table schema itself is one. */
export interface DeltaStruct {
  readonly type: 'struct';
  readonly fields: readonly { readonly name: string; readonly type: DeltaType; readonly nullable: boolean; readonly metadata: Record<string, unknown> }[];
}

/** The Delta form of an Arrow schema and what it needs from a reader. */
export interface DeltaSchema {
  /** The table schema; columns of types Delta lacks are left out (see docs/open-format.md). */
  readonly struct: DeltaStruct;
  /** Some column is a timestamp without time zone: the table needs the `timestampNtz` feature. */
  readonly usesTimestampNtz: boolean;
  /** Names of the Arrow columns Delta engines do not see. */
  readonly omitted: readonly string[];
}

/** Where the Delta form of one commit comes from. */
export interface DeltaCommitContext {
  /** The frame: its name is the table's name, and its bucket and name make the table id. */
  readonly ref: FrameRef;
  /** The previous version's manifest (undefined for a frame's first commit). */
  readonly previous: FrameManifest | undefined;
  /** `Hangar/<version>`, recorded as commitInfo.engineInfo. */
  readonly engineInfo: string;
  /** The authenticated caller who made the commit (the token's subject), as commitInfo.userName and userId. */
  readonly user?: string;
}

/** The commitInfo member that carries the Hangar manifest's exact bytes. */
const MANIFEST_MEMBER = 'hangarManifest';
/** The Delta operation name recorded for each Hangar operation. */
const DELTA_OPERATION: Record<FrameOperation, string> = {
  put: 'CREATE OR REPLACE TABLE',
  append: 'WRITE',
  replace: 'WRITE',
  delete: 'DELETE',
  restore: 'RESTORE',
  compact: 'OPTIMIZE',
  set_metadata: 'SET TBLPROPERTIES',
  update: 'MERGE',
  delete_range: 'DELETE',
};

/**
 * How a frame's data files hold its string dictionary columns (see {@link categoryStorage});
 * `values`: every dictionary is stored as its values (a schema with a dictionary nested in a list
 * or struct, which parquet-wasm writes, see exact-dictionaries.ts).
 */
type CategoryStorage = 'strings' | 'codes' | 'mixed' | 'values';

function deltaTypeOf(type: DataType, categories: CategoryStorage = 'codes'): DeltaType | undefined {
  if (stringDictionary(type)) {
    // Parquet strings in the files (the plain writer's), or the codes (older or compressed files).
    if (categories === 'mixed') return undefined;
    if (categories === 'strings') return 'string';
  }
  if (DataType.isDictionary(type)) {
    if (categories === 'values') return deltaTypeOf(type.dictionary, categories);
    return deltaTypeOf(type.indices); // stored as the indices (dictionary-layout.ts)
  }
  if (DataType.isInt(type)) {
    const width = type.bitWidth + (type.isSigned ? 0 : 1); // an unsigned type needs the next wider signed one
    if (width <= 8) return 'byte';
    if (width <= 16) return 'short';
    if (width <= 32) return 'integer';
    return width <= 64 ? 'long' : 'decimal(20,0)'; // uint64: every value fits decimal(20,0), as Spark reads UINT_64
  }
  if (DataType.isFloat(type)) return type.precision === 2 ? 'double' : 'float';
  if (DataType.isBool(type)) return 'boolean';
  if (DataType.isUtf8(type) || DataType.isLargeUtf8(type)) return 'string';
  if (DataType.isBinary(type) || DataType.isLargeBinary(type)) return 'binary';
  if (DataType.isDate(type)) return type.unit === 0 ? 'date' : undefined;
  if (DataType.isTimestamp(type)) {
    if (type.unit === TimeUnit.SECOND) return undefined;
    return type.timezone ? 'timestamp' : 'timestamp_ntz';
  }
  if (DataType.isDecimal(type)) return type.precision <= 38 && type.bitWidth === 128 ? `decimal(${type.precision},${type.scale})` : undefined;
  if (DataType.isList(type)) {
    const element = type.children[0]!;
    const elementType = deltaTypeOf(element.type, 'values'); // a nested dictionary is stored as its values
    return elementType === undefined ? undefined : { type: 'array', elementType, containsNull: element.nullable };
  }
  if (DataType.isStruct(type)) {
    const fields = deltaFieldsOf(type.children, 'values');
    return fields.omitted.length > 0 ? undefined : { type: 'struct', fields: fields.fields };
  }
  return undefined;
}

function deltaFieldsOf(fields: readonly Field[], categories: CategoryStorage = 'codes'): { fields: DeltaStruct['fields']; omitted: string[] } {
  const kept: DeltaStruct['fields'][number][] = [];
  const omitted: string[] = [];
  for (const field of fields) {
    const type = deltaTypeOf(field.type, categories);
    if (type === undefined) omitted.push(field.name);
    else kept.push({ name: field.name, type, nullable: field.nullable, metadata: {} });
  }
  return { fields: kept, omitted };
}

function usesNtz(type: DeltaType): boolean {
  if (typeof type === 'string') return type === 'timestamp_ntz';
  if (type.type === 'array') return usesNtz(type.elementType);
  if (type.type === 'map') return usesNtz(type.keyType) || usesNtz(type.valueType);
  return type.fields.some((field) => usesNtz(field.type));
}

/**
 * How the data files of a version hold string dictionary columns: as Parquet strings when every
 * file with kept dictionaries says so (`stringCategories`, the plain writer's files), as codes when
 * none does (files written before, or compressed by parquet-wasm), or a mix (then Delta engines
 * cannot be given one type for the column).
 */
export function categoryStorage(segments: readonly SegmentEntry[]): CategoryStorage {
  const kept = segments.filter((segment) => segment.dictionaries !== undefined);
  const strings = kept.filter((segment) => segment.stringCategories === true).length;
  return strings === kept.length ? 'strings' : strings === 0 ? 'codes' : 'mixed';
}

/**
 * The Delta schema of an Arrow schema (types as docs/open-format.md maps them). String dictionary
 * columns are `string` when the version's files hold strings, their index type when they hold
 * codes, and left out of the Delta schema when the files differ. In a schema with a dictionary
 * nested in a list or struct, every dictionary is its value type: parquet-wasm stores the values.
 */
export function deltaSchemaOf(schema: Schema, segments: readonly SegmentEntry[] = []): DeltaSchema {
  const nested = schema.fields.some((field) => (field.type.children ?? []).some((child: Field) => holdsDictionary(child.type)));
  const { fields, omitted } = deltaFieldsOf(schema.fields, nested ? 'values' : categoryStorage(segments));
  const struct: DeltaStruct = { type: 'struct', fields };
  return { struct, usesTimestampNtz: usesNtz(struct), omitted };
}

/** A stable table id (a UUID's form) for a frame: Delta requires one in metaData. */
export function deltaTableId(ref: FrameRef): string {
  const hex = createHash('sha256').update(`${ref.bucket}/${ref.name}`).digest('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-8${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}

const MS_PER_UNIT: Record<number, bigint> = { [TimeUnit.MILLISECOND]: 1n, [TimeUnit.MICROSECOND]: 1000n, [TimeUnit.NANOSECOND]: 1_000_000n };

function floorDiv(value: bigint, by: bigint): bigint {
  const quotient = value / by;
  return value % by !== 0n && value < 0n ? quotient - 1n : quotient;
}

/**
 * The time column's min/max as Delta statistics: millisecond ISO strings, the minimum rounded down
 * and the maximum up, so a Delta engine's file skipping never drops a file holding a wanted row.
 */
function timeStatistics(segment: SegmentEntry, field: Field | undefined): { min: string; max: string } | undefined {
  if (!segment.timeRange || !field) return undefined;
  const type = field.type as DataType;
  if (DataType.isDate(type) && type.unit === 0) {
    const day = (text: string): string => new Date(Number(text) * 86_400_000).toISOString().slice(0, 10);
    return { min: day(segment.timeRange.min), max: day(segment.timeRange.max) };
  }
  if (!DataType.isTimestamp(type) || type.unit === TimeUnit.SECOND) return undefined;
  const per = MS_PER_UNIT[type.unit]!;
  const minMs = floorDiv(BigInt(segment.timeRange.min), per);
  const maxMs = -floorDiv(-BigInt(segment.timeRange.max), per);
  const iso = (ms: bigint): string => {
    const text = new Date(Number(ms)).toISOString();
    return type.timezone ? text : text.slice(0, -1); // timestamp_ntz: no zone designator
  };
  return { min: iso(minMs), max: iso(maxMs) };
}

/** The `stats` JSON of a segment's add action: numRecords, and the time column's min, max and nulls. */
function statsOf(segment: SegmentEntry, timeField: Field | undefined, visible: boolean): string {
  const stats: Record<string, unknown> = { numRecords: segment.rows };
  const range = visible ? timeStatistics(segment, timeField) : undefined;
  if (timeField && visible) {
    if (range) {
      stats['minValues'] = { [timeField.name]: range.min };
      stats['maxValues'] = { [timeField.name]: range.max };
    }
    if (segment.timeNulls !== undefined) stats['nullCount'] = { [timeField.name]: segment.timeNulls };
  }
  return JSON.stringify(stats);
}

/** The manifest's Arrow schema; one that does not decode (no Hangar engine writes such) has no columns for Delta. */
function schemaOf(manifest: FrameManifest): Schema {
  try {
    return decodeSchemaHeader(Buffer.from(manifest.schema, 'base64'));
  } catch {
    return new Schema([]);
  }
}

/** The path of a segment relative to the table root (a relative URI: segment ids need no escaping). */
export function deltaPathOf(segmentId: string): string {
  return `segments/${encodeURIComponent(segmentId)}`;
}

/**
 * Encodes one Hangar commit as a Delta commit file: commitInfo (with the Hangar manifest), protocol,
 * metaData, then a `remove` for each Parquet segment of the previous version no longer referenced
 * and an `add` for each new one. Compaction's actions are `dataChange: false`.
 */
export function encodeDeltaCommit(manifest: FrameManifest, context: DeltaCommitContext): Uint8Array {
  const table = deltaTableState(manifest, context.ref);
  const operation = manifest.operation ?? 'put';
  const dataChange = operation !== 'compact';
  const manifestText = Buffer.from(encodeManifest(manifest)).toString('utf8');
  const lines: unknown[] = [
    {
      commitInfo: {
        timestamp: table.timestamp,
        operation: DELTA_OPERATION[operation],
        operationParameters: { mode: operation === 'append' ? 'Append' : 'Overwrite', hangarOperation: operation },
        engineInfo: context.engineInfo,
        ...(context.user === undefined ? {} : { userId: context.user, userName: context.user }),
        isBlindAppend: operation === 'append',
        [MANIFEST_MEMBER]: manifestText,
      },
    },
    { protocol: table.protocol },
    { metaData: table.metaData },
  ];
  const before = new Map((context.previous?.segments ?? []).map((segment) => [segment.id, segment]));
  const after = new Set(manifest.segments.map((segment) => segment.id));
  for (const [id, segment] of before) {
    if (after.has(id)) continue;
    lines.push({
      remove: { path: deltaPathOf(id), deletionTimestamp: table.timestamp, dataChange, extendedFileMetadata: true, partitionValues: {}, size: segment.storedBytes },
    });
  }
  for (const segment of manifest.segments) {
    if (!before.has(segment.id)) lines.push({ add: table.addOf(segment, dataChange) });
  }
  return Buffer.from(`${lines.map((line) => JSON.stringify(line)).join('\n')}\n`, 'utf8');
}

/** A Delta `protocol` action. */
export interface DeltaProtocol {
  readonly minReaderVersion: number;
  readonly minWriterVersion: number;
  readonly readerFeatures?: readonly string[];
  readonly writerFeatures?: readonly string[];
}

/** A Delta `metaData` action. */
export interface DeltaMetaData {
  readonly id: string;
  readonly name: string;
  readonly format: { readonly provider: string; readonly options: Record<string, string> };
  readonly schemaString: string;
  readonly partitionColumns: readonly string[];
  readonly configuration: Record<string, string>;
  readonly createdTime: number;
}

/** A Delta `add` action. */
export interface DeltaAdd {
  readonly path: string;
  readonly partitionValues: Record<string, string>;
  readonly size: number;
  readonly modificationTime: number;
  readonly dataChange: boolean;
  readonly stats: string;
}

/** The Delta table a manifest describes: its protocol, its metaData and the add action of each file. */
export interface DeltaTableState {
  /** The commit time, epoch milliseconds. */
  readonly timestamp: number;
  readonly protocol: DeltaProtocol;
  readonly metaData: DeltaMetaData;
  /** The add action of one of the manifest's segments. */
  readonly addOf: (segment: SegmentEntry, dataChange: boolean) => DeltaAdd;
}

/** The Delta table state of a frame at one version (what a commit repeats and a checkpoint holds). */
export function deltaTableState(manifest: FrameManifest, ref: FrameRef): DeltaTableState {
  const committedAt = Date.parse(manifest.committedAt);
  const timestamp = Number.isFinite(committedAt) ? committedAt : Date.now();
  const schema = schemaOf(manifest);
  const delta = deltaSchemaOf(schema, manifest.segments);
  const timeField = manifest.timeColumn === undefined ? undefined : schema.fields.find((field) => field.name === manifest.timeColumn);
  const timeVisible = timeField !== undefined && !delta.omitted.includes(timeField.name);
  return {
    timestamp,
    protocol: delta.usesTimestampNtz
      ? { minReaderVersion: 3, minWriterVersion: 7, readerFeatures: ['timestampNtz'], writerFeatures: ['timestampNtz'] }
      : { minReaderVersion: 1, minWriterVersion: 2 },
    metaData: {
      id: deltaTableId(ref),
      name: ref.name,
      format: { provider: 'parquet', options: {} },
      schemaString: JSON.stringify(delta.struct),
      partitionColumns: [],
      configuration: {
        'hangar.bucket': ref.bucket,
        ...(manifest.timeColumn === undefined ? {} : { 'hangar.timeColumn': manifest.timeColumn }),
        ...(delta.omitted.length === 0 ? {} : { 'hangar.columnsNotInDelta': JSON.stringify(delta.omitted) }),
      },
      createdTime: timestamp,
    },
    addOf: (segment, dataChange) => ({
      path: deltaPathOf(segment.id),
      partitionValues: {},
      size: segment.storedBytes,
      modificationTime: timestamp,
      dataChange,
      stats: statsOf(segment, timeField, timeVisible),
    }),
  };
}

/**
 * Reads the Hangar manifest back from a Delta commit file written by {@link encodeDeltaCommit}
 * (checked by the manifest's own CRC-32).
 * @throws DataLossError if the commit is damaged or carries no Hangar manifest
 */
export function decodeDeltaCommit(bytes: Uint8Array, where: string, location?: ManifestLocation): FrameManifest {
  const text = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8');
  for (const line of text.split('\n')) {
    if (!line.startsWith('{"commitInfo"')) continue;
    let parsed: { commitInfo?: Record<string, unknown> };
    try {
      parsed = JSON.parse(line) as typeof parsed;
    } catch {
      break;
    }
    const manifest = parsed.commitInfo?.[MANIFEST_MEMBER];
    if (typeof manifest === 'string') return decodeManifest(Buffer.from(manifest, 'utf8'), where, location);
    break;
  }
  const which = location ? `version ${location.version} of frame '${location.ref.name}' in bucket '${location.ref.bucket}'` : 'a frame';
  throw new DataLossError(
    `the Delta commit of ${which} (${where}) carries no intact Hangar manifest in its commitInfo: it was not written by Hangar or is damaged. ` +
      'Serve Delta tables written by other engines with --mount (read-only), or run `hangar verify` to see what else is affected',
  );
}
