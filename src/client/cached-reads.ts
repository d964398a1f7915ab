/**
 * Reads through a client's frame cache: sync the cached copy of a frame (one `stat` call; then only
 * the rows appended since the version held, by a `since_version` ticket, or the frame whole when its
 * history did not only grow), and apply a read's selection (time range, limit, columns) locally
 * with the server's own rules.
 */
import { Table } from 'apache-arrow';
import { FailedPreconditionError, HangarError, InvalidArgumentError, NotFoundError } from '../errors.js';
import { matchingRuns } from '../core/row-selection.js';
import { timeColumnOf } from '../format/time-column.js';
import { columnBounds, parseTimeBound } from '../format/time-range.js';
import { type CacheEntry, type FrameCache, StaleEntryError } from './frame-cache.js';
import type { FlightCallOptions } from './flight-client.js';

/** A time bound as the client takes it (see hangar-client.ts). */
type TimeBound = Date | string | number;

/** What a synced read needs from the client. */
export interface CachedReadSource {
  /** `stat` of the frame (at `version` when given). */
  stat(name: string, options: { bucket: string; version?: number } & FlightCallOptions): Promise<{ version: number; committedAt: string; rows: number }>;
  /** A DoGet of a frame ticket (JSON fields as docs/protocol.md names them). */
  getTicket(ticket: Record<string, unknown>, options: FlightCallOptions): Promise<Table>;
}

/** The error of a read the cache cannot answer in offline mode (detail type `CacheMissError`). */
export class CacheMissError extends FailedPreconditionError {
  /** @param message - what the cache lacks */
  constructor(message: string) {
    super(message, { type: 'CacheMissError' });
  }
}

/** Whether the entry holds exactly the version `stat` describes (same number and commit time). */
const same = (entry: CacheEntry, stat: { version: number; committedAt: string }): boolean =>
  entry.version === stat.version && entry.committedAt === stat.committedAt;

/**
 * The frame at `version` (the current one when absent), from the cache after pulling what changed.
 * @throws NotFoundError (and forgets the entry) when the frame is gone; CacheMissError offline
 */
export async function syncedFrame(
  source: CachedReadSource,
  cache: FrameCache,
  offline: boolean,
  name: string,
  bucket: string,
  version: number | undefined,
  options: FlightCallOptions,
): Promise<Table> {
  const what = `frame '${name}' in bucket '${bucket}'`;
  for (let attempt = 0; attempt < 5; attempt++) {
    let entry = await cache.entry(bucket, name);
    try {
      if (offline) {
        if (!entry) throw new CacheMissError(`offline mode: the cache at ${cache.dir} does not hold ${what}`);
        if (version !== undefined && entry.version !== version) {
          throw new CacheMissError(`offline mode: the cache holds version ${entry.version} of ${what}, not version ${version}`);
        }
        return await cache.load(entry);
      }
      const stat = await source.stat(name, { ...options, bucket, ...(version === undefined ? {} : { version }) }).catch(async (error: unknown) => {
        if (error instanceof NotFoundError && version === undefined) await cache.drop(bucket, name);
        throw error;
      });
      if (entry && same(entry, stat)) return await cache.load(entry);
      if (entry && version !== undefined && entry.version > version) {
        // An older version than the one held: read it, keep the newer entry.
        return await source.getTicket({ name, bucket, version }, options);
      }
      return await cache.withLock(bucket, name, async () => {
        entry = await cache.entry(bucket, name); // another process may have synced meanwhile
        if (entry && same(entry, stat)) return cache.load(entry);
        if (entry && entry.version < stat.version) {
          const ticket = { name, bucket, version: stat.version, since_version: entry.version, since_committed_at: entry.committedAt };
          const appended = await source.getTicket(ticket, options).catch((error: unknown) => {
            if (error instanceof FailedPreconditionError && error.type === 'NotAppendOnlyError') return undefined;
            throw error;
          });
          if (appended && entry.rows + appended.numRows === stat.rows) {
            return cache.load(await cache.store(bucket, name, appended, stat, entry));
          }
        }
        const whole = await source.getTicket({ name, bucket, version: stat.version }, options);
        await cache.store(bucket, name, whole, stat);
        return whole;
      });
    } catch (error) {
      if (error instanceof StaleEntryError) continue;
      throw error;
    }
  }
  throw new HangarError('INTERNAL', `the cache entry of ${what} kept changing while being read; try again`);
}

/** What a read selects, as {@link selectLocally} applies it. */
export interface LocalSelection {
  readonly columns?: readonly string[];
  readonly start?: TimeBound;
  readonly end?: TimeBound;
  readonly limit?: number;
}

function boundNanos(bound: TimeBound | undefined, what: string): bigint | undefined {
  if (bound === undefined) return undefined;
  return parseTimeBound(bound instanceof Date ? bound.toISOString() : bound, what);
}

/**
 * A read's selection applied to a cached frame as the server applies it: rows with
 * `start <= time < end` on the frame's time column (nulls excluded), then at most `limit` rows,
 * then the columns in the order asked.
 * @throws InvalidArgumentError for bad bounds, a range on a frame without a time column, unknown columns
 */
export function selectLocally(table: Table, selection: LocalSelection, what: string): Table {
  const { start, end, limit, columns } = selection;
  let selected = table;
  if (start !== undefined || end !== undefined) {
    const column = timeColumnOf(table.schema);
    const field = table.schema.fields.find((candidate) => candidate.name === column);
    if (column === undefined || !field) {
      throw new InvalidArgumentError(`${what} has no time column (a timestamp or date column), so "start" and "end" cannot be used; read it without them`);
    }
    const bounds = columnBounds(field.type, boundNanos(start, 'start'), boundNanos(end, 'end'));
    const index = table.schema.fields.indexOf(field);
    const batches = table.batches.flatMap((batch) => {
      const runs = matchingRuns(batch.getChildAt(index)!.data[0]!, bounds);
      const pieces = [];
      for (let r = 0; r < runs.length; r += 2) pieces.push(batch.slice(runs[r]!, runs[r + 1]!));
      return pieces;
    });
    selected = new Table(table.schema, batches);
  }
  if (limit !== undefined && limit < selected.numRows) selected = selected.slice(0, limit);
  if (columns) {
    const known = new Set(table.schema.fields.map((field) => field.name));
    const unknown = columns.filter((column) => !known.has(column));
    if (unknown.length > 0) {
      throw new InvalidArgumentError(`unknown column(s) ${unknown.map((c) => `'${c}'`).join(', ')} in ${what}; columns are: ${[...known].join(', ')}`);
    }
    selected = selected.select([...new Set(columns)]);
  }
  return selected;
}
