/**
 * Reading a Delta Lake table written by another engine (Spark, delta-rs): replays its log's actions
 * (PROTOCOL.md "Action Reconciliation") into the table's state at one version — its schema and the
 * data files live at that version, removes honoured — and refuses what Hangar cannot serve
 * (reader features other than timestampNtz: column mapping, deletion vectors, …; partitioned tables).
 * Pure functions over the commit files' text; the mounted store (storage/delta-table-store.ts) reads them.
 */
import { DataLossError, FailedPreconditionError, HangarError } from '../errors.js';

/** One data file live in the table. */
export interface DeltaDataFile {
  /** The path relative to the table root, decoded from the action's URI form. */
  readonly path: string;
  /** Bytes of the file. */
  readonly size: number;
  /** Rows, from the add action's statistics when it has them. */
  readonly numRecords?: number;
}

/** A table's state at one version. */
export interface DeltaTableSnapshot {
  /** The Delta version. */
  readonly version: number;
  /** The commit's time (commitInfo.timestamp), epoch milliseconds; 0 when the commit records none. */
  readonly timestamp: number;
  /** The table schema, Delta's JSON form. */
  readonly schemaString: string;
  /** Live data files, in the order they were added. */
  readonly files: readonly DeltaDataFile[];
}

/** The state a replay carries from one commit to the next. */
export interface DeltaReplayState {
  version: number;
  timestamp: number;
  schemaString: string | undefined;
  readonly files: Map<string, DeltaDataFile>;
}

/** Reader features Hangar serves (others change what the data files mean). */
const SUPPORTED_READER_FEATURES = new Set(['timestampNtz']);

/** A fresh replay. */
export function newDeltaReplay(): DeltaReplayState {
  return { version: -1, timestamp: 0, schemaString: undefined, files: new Map() };
}

function refuse(table: string, why: string): FailedPreconditionError {
  return new FailedPreconditionError(`the Delta table '${table}' cannot be served by Hangar: ${why}. Mounts serve Delta tables of reader protocol 1-3 without column mapping, deletion vectors or partitions`);
}

function decodePath(path: string): string {
  try {
    return decodeURIComponent(path);
  } catch {
    return path;
  }
}

/** Applies one action (one parsed JSON line of a commit, or one row of a checkpoint). */
export function applyDeltaAction(state: DeltaReplayState, action: Record<string, unknown>, table: string): void {
  const protocol = action['protocol'] as { minReaderVersion?: number; readerFeatures?: string[] } | undefined;
  if (protocol) {
    const reader = protocol.minReaderVersion ?? 1;
    if (reader > 3) throw refuse(table, `it needs reader protocol ${reader}`);
    const unsupported = (protocol.readerFeatures ?? []).filter((feature) => !SUPPORTED_READER_FEATURES.has(feature));
    if (unsupported.length > 0) throw refuse(table, `it uses the reader feature(s) ${unsupported.join(', ')}`);
    if (reader === 2) throw refuse(table, 'it needs reader protocol 2 (column mapping)');
  }
  const metaData = action['metaData'] as { schemaString?: string; partitionColumns?: string[]; configuration?: Record<string, string> } | undefined;
  if (metaData) {
    if ((metaData.partitionColumns ?? []).length > 0) throw refuse(table, `it is partitioned by ${metaData.partitionColumns!.join(', ')}`);
    const mapping = metaData.configuration?.['delta.columnMapping.mode'];
    if (mapping !== undefined && mapping !== 'none') throw refuse(table, `it uses column mapping (mode ${mapping})`);
    if (metaData.configuration?.['delta.enableDeletionVectors'] === 'true') throw refuse(table, 'it has deletion vectors enabled');
    if (typeof metaData.schemaString === 'string') state.schemaString = metaData.schemaString;
  }
  const add = action['add'] as { path?: string; size?: number | bigint; stats?: string | null; deletionVector?: unknown } | null | undefined;
  if (add && typeof add.path === 'string') {
    if (add.deletionVector) throw refuse(table, `its file ${add.path} has a deletion vector`);
    let numRecords: number | undefined;
    if (typeof add.stats === 'string') {
      try {
        const parsed = (JSON.parse(add.stats) as { numRecords?: unknown }).numRecords;
        if (typeof parsed === 'number') numRecords = parsed;
      } catch {
        // statistics are optional
      }
    }
    const path = decodePath(add.path);
    state.files.delete(path); // a re-add moves the file to the end, as a new file would be
    state.files.set(path, { path, size: Number(add.size ?? 0), ...(numRecords === undefined ? {} : { numRecords }) });
  }
  const remove = action['remove'] as { path?: string } | null | undefined;
  if (remove && typeof remove.path === 'string') state.files.delete(decodePath(remove.path));
  const commitInfo = action['commitInfo'] as { timestamp?: number } | undefined;
  if (commitInfo && typeof commitInfo.timestamp === 'number') state.timestamp = commitInfo.timestamp;
}

/** Applies one commit file (newline-delimited JSON actions) as Delta version `version`. */
export function applyDeltaCommitFile(state: DeltaReplayState, text: string, version: number, table: string): void {
  state.timestamp = 0;
  text.split('\n').forEach((line, index) => {
    if (line.trim() === '') return;
    // A line that is no JSON object, or an action whose fields have the wrong types, is a damaged
    // log: said as such, naming where, rather than a TypeError from deep in the replay.
    const damaged = (cause?: unknown): DataLossError =>
      new DataLossError(`the Delta log of table '${table}' is damaged: line ${index + 1} of commit ${version} is not a valid action; repair the table with the engine that wrote it`, cause);
    let action: unknown;
    try {
      action = JSON.parse(line);
    } catch (error) {
      throw damaged(error);
    }
    if (typeof action !== 'object' || action === null || Array.isArray(action)) throw damaged();
    try {
      applyDeltaAction(state, action as Record<string, unknown>, table);
    } catch (error) {
      throw error instanceof HangarError ? error : damaged(error);
    }
  });
  state.version = version;
}

/** The snapshot a replay has reached. @throws FailedPreconditionError when no metaData was seen */
export function deltaSnapshotOf(state: DeltaReplayState, table: string): DeltaTableSnapshot {
  if (state.schemaString === undefined) throw refuse(table, 'its log has no metaData action');
  return { version: state.version, timestamp: state.timestamp, schemaString: state.schemaString, files: [...state.files.values()] };
}
