/** Stream entry IDs in Redis' form `<unix-ms>-<seq>`: parsing, ordering and a clock that only moves forward. */
import { InvalidArgumentError } from '../../errors.js';

/** One entry's ID: the millisecond it was assigned and its sequence number within that millisecond. */
export interface StreamId {
  readonly ms: number;
  readonly seq: number;
}

/** The ID before every entry (`0-0`). */
export const ZERO_ID: StreamId = Object.freeze({ ms: 0, seq: 0 });

const ID_PATTERN = /^(\d{1,15})(?:-(\d{1,15}))?$/;

/** Consecutive IDs in one millisecond, as one append gets them: `ms-seq` … `ms-(seq+count-1)`. */
export interface StreamIdRange {
  readonly ms: number;
  /** The first ID's sequence number. */
  readonly seq: number;
  readonly count: number;
}

/** The IDs of a range, one object each (for callers that want a list). */
export function expandIdRange(range: StreamIdRange): StreamId[] {
  const ids = new Array<StreamId>(range.count);
  for (let i = 0; i < range.count; i++) ids[i] = { ms: range.ms, seq: range.seq + i };
  return ids;
}

/** A range's IDs as text joined by `separator` (PTG's acknowledgement: comma-separated IDs). */
export function formatIdRange(range: StreamIdRange, separator = ','): string {
  const prefix = `${range.ms}-`;
  let text = '';
  for (let i = 0; i < range.count; i++) text += (i === 0 ? prefix : separator + prefix) + (range.seq + i);
  return text;
}

/** Formats an ID as `<ms>-<seq>`. */
export function formatStreamId(id: StreamId): string {
  return `${id.ms}-${id.seq}`;
}

/**
 * Parses `<ms>-<seq>` or `<ms>` (meaning `<ms>-0`, as Redis reads it).
 * @throws InvalidArgumentError naming the field for anything else
 */
export function parseStreamId(text: unknown, field = 'the entry ID'): StreamId {
  const match = typeof text === 'string' ? ID_PATTERN.exec(text) : null;
  if (!match) throw new InvalidArgumentError(`${field} must be an entry ID "<unix-ms>-<seq>" (e.g. "1700000000000-0"), got ${JSON.stringify(text)}`);
  const ms = Number(match[1]);
  const seq = match[2] === undefined ? 0 : Number(match[2]);
  if (!Number.isSafeInteger(ms) || !Number.isSafeInteger(seq)) throw new InvalidArgumentError(`${field} ${JSON.stringify(text)} is out of range`);
  return { ms, seq };
}

/** Negative, zero or positive as `a` is before, equal to or after `b`. */
export function compareStreamIds(a: StreamId, b: StreamId): number {
  return a.ms === b.ms ? a.seq - b.seq : a.ms - b.ms;
}

/**
 * Assigns IDs: never before the last one given (or recovered), so IDs stay monotonic when the wall
 * clock steps back or the process restarts; within one millisecond the sequence counts up.
 */
export class StreamIdClock {
  private last: StreamId;

  /** @param last - the newest ID already in use (after recovery), `0-0` for a new stream */
  constructor(last: StreamId = ZERO_ID, private readonly now: () => number = Date.now) {
    this.last = last;
  }

  /** The newest ID assigned so far. */
  get lastId(): StreamId {
    return this.last;
  }

  /** Raises the floor to `id` if it is newer (IDs found during recovery). */
  observe(id: StreamId): void {
    if (compareStreamIds(id, this.last) > 0) this.last = id;
  }

  /** Assigns `count` consecutive IDs. */
  next(count: number): StreamId[] {
    return expandIdRange(this.nextRange(count));
  }

  /** Assigns `count` consecutive IDs (all in one millisecond) as a range: no object per ID. */
  nextRange(count: number): StreamIdRange {
    const now = this.now();
    let { ms, seq } = this.last;
    if (now > ms) {
      ms = now;
      seq = -1;
    }
    if (count > 0) this.last = { ms, seq: seq + count };
    return { ms, seq: seq + 1, count };
  }
}

/** Decimal digits of every integer from `from` to `to` inclusive (both non-negative). */
function digitsBetween(from: number, to: number): number {
  let total = 0;
  let width = 1;
  for (let low = 0, high = 9; low <= to; low = high + 1, high = high * 10 + 9, width++) {
    const start = Math.max(from, low);
    const end = Math.min(to, high);
    if (start <= end) total += (end - start + 1) * width;
  }
  return total;
}

/** Bytes of the `_id` texts (`<ms>-<seq>`, ASCII) of a range. */
export function idTextBytes(range: StreamIdRange): number {
  return range.count * (String(range.ms).length + 1) + digitsBetween(range.seq, range.seq + range.count - 1);
}

/**
 * Writes the IDs of a range as text (`<ms>-<seq>`, ASCII) at `at` of `out`, and each one's end
 * offset, less `base`, into `ends` from index `row + 1`.
 * @returns where the texts end in `out`
 */
export function writeIdTexts(out: Uint8Array, at: number, range: StreamIdRange, ends: Int32Array, row: number, base: number): number {
  const prefix = `${range.ms}-`;
  const digits = new Uint8Array(16);
  for (let i = 0; i < range.count; i++) {
    for (let c = 0; c < prefix.length; c++) out[at++] = prefix.charCodeAt(c);
    let seq = range.seq + i;
    let n = 0;
    do {
      digits[n++] = 48 + (seq % 10);
      seq = Math.floor(seq / 10);
    } while (seq > 0);
    while (n > 0) out[at++] = digits[--n]!;
    ends[row + i + 1] = at - base;
  }
  return at;
}
