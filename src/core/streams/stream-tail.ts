/**
 * Reading a stream after an ID: first what the frame's segments hold (a tailer further back than
 * memory), then the committed entries in memory, then, when following, each new commit as it is
 * announced, until the count is reached, the deadline passes or the reader cancels.
 */
import type { RecordBatch } from 'apache-arrow';
import type { LiveStream } from './live-stream.js';
import { type StreamId, ZERO_ID, compareStreamIds, parseStreamId } from './stream-id.js';

/** Where a tail starts: after an ID, from the beginning (`0`), or after the newest entry (`$`). */
export type TailStart = StreamId | '$';

/** Options of {@link tailStream}. */
export interface TailOptions {
  /** Keep waiting for new entries after the existing ones (default false). */
  readonly follow?: boolean;
  /** Stop after this many entries (default: no limit). */
  readonly count?: number;
  /** Stop waiting at this instant (epoch ms). */
  readonly deadline?: number;
  /** Cancels the tail. */
  readonly signal?: AbortSignal;
}

/** Parses `$`, `0` or an entry ID. */
export function parseTailStart(text: unknown, field = '"after"'): TailStart {
  if (text === '$' || text === '*') return '$';
  if (text === '0' || text === 0) return ZERO_ID;
  return parseStreamId(text, field);
}

/** The ID of a stored batch's last row. */
function lastIdOf(batch: RecordBatch): StreamId {
  return parseStreamId(batch.getChildAt(0)!.get(batch.numRows - 1));
}

/** Yields the stream's entries after `start` as record batches of its stored schema. */
export async function* tailStream(stream: LiveStream, start: TailStart, options: TailOptions = {}): AsyncGenerator<RecordBatch> {
  let after = start === '$' ? stream.lastId : start;
  let left = options.count ?? Number.POSITIVE_INFINITY;
  const take = (batch: RecordBatch): RecordBatch => (batch.numRows > left ? batch.slice(0, left) : batch);
  while (left > 0 && !options.signal?.aborted) {
    if (!stream.covers(after)) {
      // Further back than memory: the frame's segments, then memory again (it may have moved on).
      let progressed = false;
      for await (const batch of stream.storedAfter(after)) {
        const part = take(batch);
        yield part;
        left -= part.numRows;
        after = lastIdOf(part);
        progressed = true;
        if (left <= 0) return;
      }
      // Nothing newer stored, yet memory does not reach back: entries trimmed by retention. Skip ahead.
      if (!progressed && !stream.covers(after)) after = maxId(after, floorOf(stream));
      continue;
    }
    for (const batch of stream.memoryAfter(after)) {
      if (batch.numRows === 0) continue;
      const part = take(batch);
      yield part;
      left -= part.numRows;
      after = lastIdOf(part);
      if (left <= 0) return;
    }
    if (!options.follow) return;
    if (!stream.covers(after)) continue;
    if (!(await stream.waitForEntries(after, options.signal, options.deadline))) return;
  }
}

function maxId(a: StreamId, b: StreamId): StreamId {
  return compareStreamIds(a, b) >= 0 ? a : b;
}

/** The newest ID memory does not hold (every entry after it is in memory). */
function floorOf(stream: LiveStream): StreamId {
  return stream.memoryFloor;
}
