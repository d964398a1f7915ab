/**
 * Reading a frame whose schema evolved (schema-evolution.ts): runs of segments written with the
 * same columns are read as usual (frame-reader.ts), then each batch is conformed to the frame's
 * schema — missing columns as nulls, columns in the frame's order — and sent as one stream.
 */
import { type Data, RecordBatch, Schema, Struct, Table, makeData, tableFromIPC, tableToIPC, vectorFromArray } from 'apache-arrow';
import { type IpcMessage, decodeSchemaHeader, encodeSchemaHeader, inspectMessage, joinIpcStream, splitIpcStream } from '../format/ipc-message.js';
import type { SegmentEntry } from '../format/manifest.js';
import type { FrameRef } from '../names.js';
import { type FrameReaderContext, type ReadPlan, frameMessages } from './frame-reader.js';

const EMPTY = new Uint8Array(0);

/** Consecutive segments written with the same schema (`undefined`: the frame's). */
function runsBySchema(segments: readonly SegmentEntry[]): { schema: string | undefined; segments: SegmentEntry[] }[] {
  const runs: { schema: string | undefined; segments: SegmentEntry[] }[] = [];
  for (const segment of segments) {
    const last = runs.at(-1);
    if (last && last.schema === segment.schema) last.segments.push(segment);
    else runs.push({ schema: segment.schema, segments: [segment] });
  }
  return runs;
}

/** A column of nulls of a field's type. */
function nullColumn(type: Schema['fields'][number]['type'], length: number): Data {
  return vectorFromArray(new Array<null>(length).fill(null), type).data[0]!;
}

/** The batch with exactly the target's columns, in its order (missing ones as nulls). */
export function conformBatch(batch: RecordBatch, target: Schema): RecordBatch {
  const children = target.fields.map((field) => batch.getChild(field.name)?.data[0] ?? nullColumn(field.type, batch.numRows));
  return new RecordBatch(target, makeData({ type: new Struct(target.fields), length: batch.numRows, nullCount: 0, children }));
}

/**
 * The messages of a read of an evolved frame: the target schema first, then every segment's rows
 * conformed to it. Honours the plan's range and limit (the limit across all runs).
 * @param frameSchema - the frame's schema (that of unmarked segments)
 * @param target - the schema to send (the frame's, or its projection)
 * @param lease - released when the stream ends
 */
export async function* evolvedFrameMessages(
  context: FrameReaderContext,
  ref: FrameRef,
  plan: ReadPlan,
  frameSchema: Schema,
  target: Schema,
  lease: () => void,
): AsyncGenerator<IpcMessage> {
  try {
    yield { header: encodeSchemaHeader(target), body: EMPTY };
    let remaining = plan.range?.limit ?? Infinity;
    const targetNames = target.fields.map((field) => field.name);
    for (const run of runsBySchema(plan.segments)) {
      if (remaining <= 0) break;
      const written = run.schema === undefined ? frameSchema : decodeSchemaHeader(Buffer.from(run.schema, 'base64'));
      const present = new Set(written.fields.map((field) => field.name));
      let columns = targetNames.filter((name) => present.has(name));
      // A run holding none of the columns asked for still has rows: read one column to count them.
      if (columns.length === 0) columns = [plan.range?.time?.column ?? written.fields[0]!.name];
      const passThrough = run.schema === undefined && columns.length === targetNames.length && columns.every((name, i) => name === targetNames[i]);
      const byName = new Map(written.fields.map((field) => [field.name, field] as const));
      const projected = new Schema(columns.map((name) => byName.get(name)!));
      const sub: ReadPlan = {
        ...plan,
        segments: run.segments,
        schemaHeader: encodeSchemaHeader(projected),
        storedColumns: written.fields.map((field) => field.name),
        columns,
        keptDictionaries: false,
        dictionaryColumns: [],
        ...(plan.range ? { range: { ...plan.range, ...(remaining === Infinity ? {} : { limit: remaining }) } } : {}),
      };
      let schemaMessage: IpcMessage | undefined;
      for await (const message of frameMessages(context, ref, sub, () => undefined)) {
        if (!schemaMessage) {
          schemaMessage = { header: message.header.slice(), body: EMPTY };
          continue;
        }
        const info = inspectMessage(message);
        if (info.kind !== 'batch') continue;
        remaining -= info.rows;
        if (passThrough) {
          yield message;
          continue;
        }
        const decoded = tableFromIPC(joinIpcStream([schemaMessage, message]));
        const conformed = decoded.batches.map((batch) => conformBatch(batch, target));
        yield* splitIpcStream(tableToIPC(new Table(target, conformed), 'stream')).slice(1);
      }
    }
  } finally {
    lease();
  }
}
