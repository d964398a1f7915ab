/**
 * Range reads on decoded segments: finds the rows whose time lies in [lower, upper) and re-emits
 * them as IPC record batches. Contiguous matches (sorted data: one run) become zero-copy slices;
 * scattered matches are gathered into one batch (see row-gather.ts). Dictionary messages of the
 * decoded stream pass through unchanged, so dictionary columns keep their dictionaries.
 */
import { type Data, Message, MessageHeader, RecordBatch, RecordBatchReader, Schema, Table, tableToIPC } from 'apache-arrow';
import { type IpcMessage, decodeSchemaHeader, encodeSchemaHeader, splitIpcStream } from '../format/ipc-message.js';
import { gatherRows } from './row-gather.js';
import { fixedBatch, fixedLayout, keptSchemaMessage, matchingRunsOf, sliceMessage, timeWords, words } from './ipc-row-slice.js';
import type { ColumnBounds } from '../format/time-range.js';

/** How a decoded chunk is cut down. */
export interface RowSelection {
  /** Rows to keep by time; all rows when absent. Rows with a null time never match bounds. */
  readonly bounds?: { readonly column: string; readonly range: ColumnBounds };
  /** Drop the last column: it was decoded only to filter on. */
  readonly dropLastColumn: boolean;
  /** Emit at most this many rows. */
  readonly maxRows: number;
  /** Leave out the stream's first rows, before any other selection (incremental reads, appended-since.ts). */
  readonly skipRows?: number;
}

/** A decoded chunk after selection. */
export interface SelectedChunk {
  /** The chunk's schema message as the client sees it (without a column decoded only to filter). */
  readonly schema: IpcMessage;
  /** Dictionary batches and the selected record batches, in stream order. */
  readonly messages: IpcMessage[];
  /** Rows in the selected record batches. */
  readonly rows: number;
}

/** Above this many runs of matching rows in one batch, rows are gathered instead of sliced. */
const MAX_SLICES = 4;

/** Runs [start, end) of consecutive rows whose time matches, flattened as start0, end0, start1, … */
export function matchingRuns(data: Data, range: ColumnBounds): number[] {
  const runs: number[] = [];
  if (range.empty) return runs;
  const values = data.values as BigInt64Array | Int32Array;
  const wide = values instanceof BigInt64Array;
  const halves = wide ? new Int32Array(values.buffer, values.byteOffset, values.length * 2) : values;
  const bits = data.nullCount > 0 ? data.nullBitmap : undefined;
  const hasLower = range.lower !== undefined;
  const hasUpper = range.upper !== undefined;
  const [lowerHi, lowerLo] = words(range.lower ?? 0n);
  const [upperHi, upperLo] = words(range.upper ?? 0n);
  const lower = Number(range.lower ?? 0n);
  const upper = Number(range.upper ?? 0n);
  let start = -1;
  for (let i = 0; i < data.length; i++) {
    const row = data.offset + i;
    let keep = bits === undefined || ((bits[row >> 3]! >> (row & 7)) & 1) === 1;
    if (keep && wide) {
      const hi = halves[2 * row + 1]!;
      const lo = halves[2 * row]! ^ 0x80000000;
      keep = (!hasLower || hi > lowerHi || (hi === lowerHi && lo >= lowerLo)) && (!hasUpper || hi < upperHi || (hi === upperHi && lo < upperLo));
    } else if (keep) {
      const day = halves[row]!;
      keep = (!hasLower || day >= lower) && (!hasUpper || day < upper);
    }
    if (keep && start < 0) start = i;
    else if (!keep && start >= 0) {
      runs.push(start, i);
      start = -1;
    }
  }
  if (start >= 0) runs.push(start, data.length);
  return runs;
}

/** Cuts the runs down to at most `maxRows` rows in total. */
function limitRuns(runs: number[], maxRows: number): number[] {
  const limited: number[] = [];
  let left = maxRows;
  for (let r = 0; r < runs.length && left > 0; r += 2) {
    const end = Math.min(runs[r + 1]!, runs[r]! + left);
    limited.push(runs[r]!, end);
    left -= end - runs[r]!;
  }
  return limited;
}

/** The selected rows of one batch: slices when few runs, else one gathered batch (slices if not gatherable). */
function selectBatch(batch: RecordBatch, runs: number[]): RecordBatch[] {
  if (runs.length / 2 > MAX_SLICES) {
    let total = 0;
    for (let r = 0; r < runs.length; r += 2) total += runs[r + 1]! - runs[r]!;
    const rows = new Int32Array(total);
    let k = 0;
    for (let r = 0; r < runs.length; r += 2) for (let i = runs[r]!; i < runs[r + 1]!; i++) rows[k++] = i;
    const gathered = gatherRows(batch, rows);
    if (gathered) return [gathered];
  }
  const slices: RecordBatch[] = [];
  for (let r = 0; r < runs.length; r += 2) slices.push(batch.slice(runs[r]!, runs[r + 1]!));
  return slices;
}

/** The runs cut to rows at or after `first`. */
function runsFrom(runs: number[], first: number): number[] {
  const kept: number[] = [];
  for (let r = 0; r < runs.length; r += 2) {
    const start = Math.max(runs[r]!, first);
    if (start < runs[r + 1]!) kept.push(start, runs[r + 1]!);
  }
  return kept;
}

/** Encodes one batch as a bare IPC record batch message (dictionaries are sent separately). */
function encodeRecordBatch(batch: RecordBatch): IpcMessage {
  const messages = splitIpcStream(tableToIPC(new Table([batch]), 'stream'));
  const message = messages.find((candidate) => Message.decode(candidate.header).isRecordBatch());
  if (!message) throw new Error('apache-arrow wrote no record batch message');
  return message;
}

/**
 * Applies a selection to one decoded IPC stream (schema, dictionaries, record batches). Record
 * batches map in order onto the batches apache-arrow decodes, so each keeps its place after the
 * dictionary batches it needs.
 */
export function selectRows(ipc: Uint8Array, selection: RowSelection): SelectedChunk {
  const messages = splitIpcStream(ipc);
  return selectFixedRows(messages, selection) ?? selectDecodedRows(ipc, messages, selection);
}

/**
 * The fast path of {@link selectRows} (see ipc-row-slice.ts): batches of fixed-width columns
 * without nulls, cut into at most {@link MAX_SLICES} runs each, are sliced at the byte level; a
 * batch wholly selected is sent as it is. Undefined when any batch does not fit: the caller then
 * takes the general path for the whole chunk.
 */
function selectFixedRows(messages: readonly IpcMessage[], selection: RowSelection): SelectedChunk | undefined {
  const first = messages[0];
  if (!first) return undefined;
  const bounds = selection.bounds;
  const layout = fixedLayout(decodeSchemaHeader(first.header), bounds?.column);
  if (!layout) return undefined;
  const columns = layout.widths.length;
  const kept = selection.dropLastColumn ? columns - 1 : columns;
  const schema = selection.dropLastColumn ? keptSchemaMessage(layout, kept) : first;
  const out: IpcMessage[] = [];
  let rows = 0;
  let skip = selection.skipRows ?? 0;
  for (let m = 1; m < messages.length; m++) {
    const message = messages[m]!;
    const kind = Message.decode(message.header).headerType;
    if (kind === MessageHeader.DictionaryBatch) {
      out.push(message);
      continue;
    }
    if (kind !== MessageHeader.RecordBatch) continue;
    const left = selection.maxRows - rows;
    if (left <= 0) break;
    const batch = fixedBatch(message, layout);
    if (!batch) return undefined;
    let runs: number[] = [0, batch.rows];
    if (bounds) {
      const halves = timeWords(batch, layout);
      if (!halves) return undefined;
      runs = matchingRunsOf(halves, layout.time!.wide, batch.rows, bounds.range);
    }
    if (skip > 0) {
      runs = runsFrom(runs, skip);
      skip = Math.max(0, skip - batch.rows);
    }
    runs = limitRuns(runs, left);
    if (runs.length / 2 > MAX_SLICES) return undefined;
    for (let r = 0; r < runs.length; r += 2) {
      const start = runs[r]!;
      const end = runs[r + 1]!;
      if (end <= start) continue;
      out.push(start === 0 && end === batch.rows && kept === columns ? message : sliceMessage(batch, layout, start, end, kept));
      rows += end - start;
    }
  }
  return { schema, messages: out, rows };
}

/** The general path of {@link selectRows}: every batch decoded by apache-arrow, slices or gathered rows re-encoded. */
function selectDecodedRows(ipc: Uint8Array, messages: readonly IpcMessage[], selection: RowSelection): SelectedChunk {
  const reader = RecordBatchReader.from(ipc).open();
  const decodedSchema = reader.schema;
  const batches = reader.readAll();
  const keptFields = selection.dropLastColumn ? decodedSchema.fields.slice(0, -1) : decodedSchema.fields;
  const keptIndices = keptFields.map((_, index) => index);
  const schema = selection.dropLastColumn
    ? { header: encodeSchemaHeader(new Schema(keptFields, decodedSchema.metadata)), body: new Uint8Array(0) }
    : messages[0]!;
  const out: IpcMessage[] = [];
  let rows = 0;
  let next = 0;
  let skip = selection.skipRows ?? 0;
  for (const message of messages.slice(1)) {
    const decoded = Message.decode(message.header);
    if (decoded.isDictionaryBatch()) {
      out.push(message);
      continue;
    }
    if (!decoded.isRecordBatch()) continue;
    const batch = batches[next++]!;
    const left = selection.maxRows - rows;
    if (left <= 0) break;
    const bounds = selection.bounds;
    let runs = bounds ? matchingRuns(batch.getChild(bounds.column)!.data[0]!, bounds.range) : [0, batch.numRows];
    if (skip > 0) {
      runs = runsFrom(runs, skip);
      skip = Math.max(0, skip - batch.numRows);
    }
    for (const selected of selectBatch(batch, limitRuns(runs, left))) {
      if (selected.numRows === 0) continue;
      out.push(encodeRecordBatch(selection.dropLastColumn ? selected.selectAt(keptIndices) : selected));
      rows += selected.numRows;
    }
  }
  return { schema, messages: out, rows };
}
