/** Small builders shared by the conformance suites: frame refs, manifests, sample tables, streams. */
import { Dictionary, Int32, Table, Utf8, makeData, makeVector, tableFromIPC, tableToIPC, vectorFromArray } from 'apache-arrow';
import { type IpcMessage, joinIpcStream, splitIpcStream } from '../format/ipc-message.js';
import type { FrameManifest } from '../format/manifest.js';
import type { FrameRef } from '../names.js';

/** A frame reference, in bucket `default` unless given. */
export const ref = (name: string, bucket = 'default'): FrameRef => ({ name, bucket });

/** A manifest with empty defaults. */
export function manifest(version: number, overrides: Partial<FrameManifest> = {}): FrameManifest {
  return {
    format: 1,
    version,
    committedAt: new Date(0).toISOString(),
    schema: '',
    rows: 0,
    bytes: 0,
    segments: [],
    ...overrides,
  };
}

/** Collects an IPC message stream into a Table. */
export async function collect(messages: AsyncIterable<IpcMessage>): Promise<Table> {
  const all: IpcMessage[] = [];
  for await (const message of messages) all.push({ header: message.header.slice(), body: message.body.slice() });
  return tableFromIPC(joinIpcStream(all));
}

/** A Table as an IPC message stream (Schema first). */
export async function* messagesOf(table: Table): AsyncGenerator<IpcMessage> {
  yield* splitIpcStream(tableToIPC(table, 'stream'));
}

/** `rows` rows of id (int32), value (float64) and symbol (dictionary of a/b/c), starting at `offset`. */
export function sampleTable(rows: number, offset = 0): Table {
  const ids = new Int32Array(rows).map((_, i) => i + offset);
  const values = Float64Array.from({ length: rows }, (_, i) => (i + offset) / 2);
  const symbols = new Int32Array(rows).map((_, i) => (i + offset) % 3);
  return new Table({
    id: makeVector(ids),
    value: makeVector(values),
    symbol: makeVector(
      makeData({
        type: new Dictionary(new Utf8(), new Int32()),
        length: rows,
        data: symbols,
        dictionary: vectorFromArray(['a', 'b', 'c'], new Utf8()),
      }),
    ),
  });
}

