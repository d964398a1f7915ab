/** Which rows a read returns when not all: time bounds in the frame's time column, and a limit. */
import type { Schema } from 'apache-arrow';
import { InvalidArgumentError } from '../errors.js';
import { decodeSchemaHeader } from '../format/ipc-message.js';
import type { FrameManifest } from '../format/manifest.js';
import { timeColumnOf } from '../format/time-column.js';
import { columnBounds } from '../format/time-range.js';
import { type FrameRef, describeFrame } from '../names.js';
import type { ReadOptions } from './engine-types.js';
import type { RangePlan } from './frame-reader.js';

/**
 * The rows a read returns when not all: time bounds in the time column's unit, and the limit.
 * @throws InvalidArgumentError for `start`/`end` on a frame without a time column
 */
export function rangePlan(ref: FrameRef, manifest: FrameManifest, schema: Schema, options: ReadOptions): RangePlan | undefined {
  const { start, end, limit } = options;
  const limited = limit === undefined ? {} : { limit };
  if (start === undefined && end === undefined) return limit === undefined ? undefined : limited;
  const column = frameTimeColumn(manifest);
  const field = schema.fields.find((candidate) => candidate.name === column);
  if (column === undefined || !field) {
    throw new InvalidArgumentError(
      `${describeFrame(ref)} has no time column (a timestamp or date column), so "start" and "end" cannot be used; ` +
        'read it without them',
    );
  }
  return { time: { column, bounds: columnBounds(field.type, start, end) }, ...limited };
}

/** The time column of a stored frame: the manifest's, or for older manifests the schema's. */
export function frameTimeColumn(manifest: FrameManifest): string | undefined {
  return manifest.timeColumn ?? timeColumnOf(decodeSchemaHeader(Buffer.from(manifest.schema, 'base64')));
}
