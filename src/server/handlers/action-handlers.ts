/** DoAction and ListActions: shoots' actions plus Hangar's own, with JSON bodies and results. */
import type { HangarEngine, RangeRewriteSummary } from '../../core/engine.js';
import { parseTimeBound } from '../../format/time-range.js';
import { InvalidArgumentError } from '../../errors.js';
import { frameRef, resolveBucket, validateName } from '../../names.js';
import type { SnapshotInfo } from '../../core/snapshots.js';
import { parseBucketDeleteMode } from '../../core/put-mode.js';
import { parseResampleRequest, resample } from '../../core/resample.js';
import { frameDescription, parseExpectedVersion, parseJsonObject, parseVersionSelector, rejectUnknownFields, versionDescription } from '../dataframe-protocol.js';
import { parseFrameMetadata } from '../../format/frame-metadata.js';
import { decodeAction, encodeActionType, encodeResult } from '../../flight/flight-messages.js';
import type { CallHandler } from '../transport/grpc-server.js';

/** An action: its description for ListActions and what it does. */
interface ActionDefinition {
  readonly description: string;
  /** The body fields it takes (others are INVALID_ARGUMENT); absent when `run` checks them itself. */
  readonly fields?: readonly string[];
  run(body: Record<string, unknown>): Promise<unknown>;
}

/** What the action handlers need from the server beyond the engine. */
export interface ActionContext {
  /** The engine. */
  readonly engine: HangarEngine;
  /** Asks the server to shut down after the current reply. */
  requestShutdown(): void;
}

/** The JSON of a range rewrite's summary (snake_case, as every protocol field). */
function rangeRewriteDescription(summary: RangeRewriteSummary): Record<string, unknown> {
  return { ...commitDescription(summary), rows_removed: summary.rowsRemoved, segments_rewritten: summary.segmentsRewritten };
}

/** The JSON of a commit's result: the frame, its new version and its rows. */
function commitDescription(summary: { name: string; bucket: string; version: number; rows: number }): Record<string, unknown> {
  return { name: summary.name, bucket: summary.bucket, version: summary.version, rows: summary.rows };
}

/** The JSON of a snapshot (snake_case, as every protocol field). */
function snapshotDescription(snapshot: SnapshotInfo): Record<string, unknown> {
  return { name: snapshot.name, bucket: snapshot.bucket, created_at: snapshot.createdAt, frames: snapshot.frames };
}

const json = (value: unknown): Buffer => Buffer.from(typeof value === 'string' ? value : JSON.stringify(value), 'utf8');

function actions(context: ActionContext): Map<string, ActionDefinition> {
  const { engine } = context;
  return new Map<string, ActionDefinition>([
    ['ping', { fields: [], description: 'Health check; answers "pong".', run: async () => 'pong' }],
    ['buckets', { fields: [], description: 'Lists bucket names as a JSON array.', run: async () => engine.buckets() }],
    [
      'stat',
      {
        fields: ['name', 'bucket', 'version', 'as_of', 'snapshot'],
        description:
          'Describes one frame: {"name","bucket","version"?|"as_of"?|"snapshot"?} → JSON {name, bucket, version, committed_at, rows, bytes, metadata, schema}.',
        run: async (body) => {
          const info = await engine.stat(frameRef(body.name, body.bucket), parseVersionSelector(body));
          return {
            ...frameDescription(info),
            schema: info.schema.fields.map((field) => ({ name: field.name, type: String(field.type), nullable: field.nullable })),
          };
        },
      },
    ],
    [
      'delete',
      {
        fields: ['name', 'bucket'],
        description: 'Deletes a frame: {"name","bucket"}.',
        run: async (body) => {
          const ref = frameRef(body.name, body.bucket);
          await engine.delete(ref);
          return `deleted frame '${ref.name}' from bucket '${ref.bucket}'`;
        },
      },
    ],
    [
      'versions',
      {
        fields: ['name', 'bucket'],
        description:
          'Lists a frame\'s kept versions, oldest first: {"name","bucket"} → JSON [{version, committed_at, operation, rows, bytes, segments, deleted, restored_from?}].',
        run: async (body) => (await engine.versions(frameRef(body.name, body.bucket))).map(versionDescription),
      },
    ],
    [
      'restore',
      {
        fields: ['name', 'bucket', 'version'],
        description: 'Makes an old version current again, as a new version: {"name","bucket","version"} → JSON {name, bucket, version, rows}.',
        run: async (body) => {
          const { version } = parseVersionSelector(body);
          if (version === undefined) throw new InvalidArgumentError('"restore" needs the "version" to bring back (see the "versions" action)');
          const summary = await engine.restore(frameRef(body.name, body.bucket), version);
          return commitDescription(summary);
        },
      },
    ],
    [
      'delete_range',
      {
        fields: ['name', 'bucket', 'start', 'end'],
        description:
          'Removes the rows whose time lies in [start, end) as a new version, rewriting only the segments that overlap: ' +
          '{"name","bucket","start","end"} (as range reads) → JSON {name, bucket, version, rows, rows_removed, segments_rewritten}.',
        run: async (body) => {
          const start = parseTimeBound(body.start, 'start');
          const end = parseTimeBound(body.end, 'end');
          if (start === undefined || end === undefined) throw new InvalidArgumentError('"delete_range" needs "start" and "end" (end exclusive, as in range reads)');
          const summary = await engine.deleteRange(frameRef(body.name, body.bucket), start, end);
          return rangeRewriteDescription(summary);
        },
      },
    ],
    [
      'set_metadata',
      {
        fields: ['name', 'bucket', 'metadata', 'expected_version'],
        description:
          'Replaces a frame\'s metadata as a new version, rows untouched: {"name","bucket","metadata","expected_version"?} → ' +
          'JSON {name, bucket, version, rows}.',
        run: async (body) => {
          const metadata = parseFrameMetadata(body.metadata);
          if (metadata === undefined) throw new InvalidArgumentError('"set_metadata" needs "metadata", a JSON object ({} clears it)');
          const summary = await engine.setMetadata(frameRef(body.name, body.bucket), metadata, parseExpectedVersion(body.expected_version));
          return commitDescription(summary);
        },
      },
    ],
    [
      'snapshot',
      {
        fields: ['bucket', 'name', 'frames'],
        description:
          'Takes a snapshot of the current version of every frame of a bucket (or of the frames named), readable later with ' +
          '"snapshot" in tickets and stat and kept from vacuum: {"bucket","name","frames"?} → JSON {name, bucket, created_at, frames: {frame: version}}.',
        run: async (body) => {
          const frames = body.frames;
          if (frames !== undefined && frames !== null && (!Array.isArray(frames) || frames.some((frame) => typeof frame !== 'string'))) {
            throw new InvalidArgumentError('"frames" must be a list of frame names');
          }
          const name = validateName('snapshot', body.name);
          return snapshotDescription(await engine.createSnapshot(resolveBucket(body.bucket), name, (frames as string[] | null | undefined) ?? undefined));
        },
      },
    ],
    [
      'snapshots',
      {
        fields: ['bucket'],
        description: 'Lists a bucket\'s snapshots by name: {"bucket"} → JSON [{name, bucket, created_at, frames: {frame: version}}].',
        run: async (body) => (await engine.snapshots(resolveBucket(body.bucket))).map(snapshotDescription),
      },
    ],
    [
      'delete_snapshot',
      {
        fields: ['bucket', 'name'],
        description: 'Deletes a snapshot (the versions it held fall under retention again): {"bucket","name"}.',
        run: async (body) => {
          const bucket = resolveBucket(body.bucket);
          const name = validateName('snapshot', body.name);
          await engine.deleteSnapshot(bucket, name);
          return `deleted snapshot '${name}' of bucket '${bucket}'`;
        },
      },
    ],
    [
      'compact',
      {
        fields: ['name', 'bucket'],
        description:
          'Merges a frame\'s small appended segments into full-size ones, as a new version with the same rows: {"name","bucket"} → ' +
          'JSON {name, bucket, version, compacted, segments_before, segments_after}.',
        run: async (body) => {
          const report = await engine.compact(frameRef(body.name, body.bucket));
          return {
            name: report.name,
            bucket: report.bucket,
            version: report.version,
            compacted: report.compacted,
            segments_before: report.segmentsBefore,
            segments_after: report.segmentsAfter,
          };
        },
      },
    ],
    [
      'vacuum',
      {
        fields: ['bucket', 'name', 'dry_run'],
        description:
          'Removes versions past the retention policy and segments no kept version uses: {"bucket"?,"name"?,"dry_run"?} (no bucket: ' +
          'every bucket) → JSON {frames, versions_removed, segments_removed, bytes_freed}.',
        run: async (body) => {
          const bucket = body.bucket === undefined || body.bucket === null ? undefined : validateName('bucket', body.bucket);
          const name = body.name === undefined || body.name === null ? undefined : validateName('frame', body.name);
          if (body.dry_run !== undefined && typeof body.dry_run !== 'boolean') throw new InvalidArgumentError('"dry_run" must be true or false');
          const report = await engine.vacuum({ ...(bucket ? { bucket } : {}), ...(name ? { name } : {}) }, body.dry_run === true);
          return { frames: report.frames, versions_removed: report.versionsRemoved, segments_removed: report.segmentsRemoved, bytes_freed: report.bytesFreed };
        },
      },
    ],
    [
      'purge',
      {
        fields: ['name', 'bucket'],
        description:
          'Removes a frame at once with every kept version and segment, writing nothing (frees space on a full store; cannot be ' +
          'undone): {"name","bucket"} → JSON {name, bucket, versions_removed, segments_removed, bytes_freed}.',
        run: async (body) => {
          const report = await engine.purge(frameRef(body.name, body.bucket));
          return {
            name: report.name,
            bucket: report.bucket,
            versions_removed: report.versionsRemoved,
            segments_removed: report.segmentsRemoved,
            bytes_freed: report.bytesFreed,
          };
        },
      },
    ],
    [
      'delete_bucket',
      {
        fields: ['name', 'mode'],
        description: 'Deletes a bucket: {"name","mode":"error"|"delete"}; "error" refuses a non-empty bucket.',
        run: async (body) => {
          // No default here: a missing name must never delete the default bucket by accident.
          const bucket = validateName('bucket', body.name);
          await engine.deleteBucket(bucket, parseBucketDeleteMode(body.mode));
          return `deleted bucket '${bucket}'`;
        },
      },
    ],
    [
      'shutdown',
      {
        fields: [],
        description: 'Shuts the server down gracefully after answering.',
        run: async () => {
          context.requestShutdown();
          return 'shutdown';
        },
      },
    ],
    [
      'resample',
      {
        description:
          'Resamples a frame into another, inside DuckDB (docs/resample.md): {"source","target","source_bucket","target_bucket",' +
          '"mode"} with "sql" (its result is written) or "rule","time_col","aggregation_func" (pandas rules and aggregations, ' +
          'empty bins omitted) → JSON {source_rows, target_rows}.',
        run: async (body) => resample(engine, parseResampleRequest(body)),
      },
    ],
  ]);
}

/** DoAction: runs one action and streams its single JSON (or text) result. */
export function doActionHandler(context: ActionContext): CallHandler {
  const table = actions(context);
  return async (call) => {
    const action = decodeAction(await call.request());
    const definition = table.get(action.type);
    if (!definition) {
      throw new InvalidArgumentError(`unknown action '${action.type}'; ListActions lists: ${[...table.keys()].join(', ')}`);
    }
    const body = parseJsonObject(action.body, `the body of action '${action.type}'`);
    if (definition.fields) rejectUnknownFields(body, definition.fields, `the body of action '${action.type}'`);
    const result = await definition.run(body);
    await call.write(encodeResult({ body: json(result) }));
  };
}

/** ListActions: every action with its description. */
export function listActionsHandler(context: ActionContext): CallHandler {
  const table = actions(context);
  return async (call) => {
    await call.request();
    for (const [type, definition] of table) await call.write(encodeActionType({ type, description: definition.description }));
  };
}
