import {
  type DataType,
  DateDay,
  DateMillisecond,
  Dictionary,
  Field,
  Float64,
  Int32,
  List,
  Struct,
  Table,
  TimestampMicrosecond,
  TimestampMillisecond,
  TimestampNanosecond,
  TimestampSecond,
  Utf8,
  makeData,
  makeVector,
  tableToIPC,
  vectorFromArray,
} from 'apache-arrow';
import { describe, expect, it } from 'vitest';
import { type IpcMessage, splitIpcStream } from '../../src/format/ipc-message.js';
import { batchTimeStatistics, locateTimeColumn, mergeTimeStatistics } from '../../src/format/ipc-time-statistics.js';

/** A time column from raw values (null = null), built without any conversion. */
function timeVector(type: DataType, values: (bigint | number | null)[]) {
  const wide = !(type instanceof DateDay);
  const raw = wide ? new BigInt64Array(values.length) : new Int32Array(values.length);
  const valid = new Uint8Array(Math.ceil(values.length / 8));
  let nullCount = 0;
  values.forEach((value, i) => {
    if (value === null) nullCount++;
    else {
      raw[i] = (wide ? BigInt(value) : Number(value)) as never;
      valid[i >> 3]! |= 1 << (i & 7);
    }
  });
  return makeVector(makeData({ type, length: values.length, nullCount, nullBitmap: valid, data: raw } as never));
}

/** A table with awkward columns before the time column, so the buffer walk must count them. */
function tableWith(type: DataType, values: (bigint | number | null)[]): Table {
  const n = values.length;
  const nested = vectorFromArray(
    Array.from({ length: n }, (_, i) => (i % 3 === 0 ? null : { tags: i % 2 ? ['a', 'b'] : [], score: i / 2 })),
    new Struct([new Field('tags', new List(new Field('item', new Utf8(), true)), true), new Field('score', new Float64(), true)]),
  );
  return new Table({
    label: vectorFromArray(Array.from({ length: n }, (_, i) => (i % 4 ? `row ${i}` : null)), new Utf8()),
    nested,
    colour: vectorFromArray(Array.from({ length: n }, (_, i) => ['red', 'blue'][i % 2]!), new Dictionary(new Utf8(), new Int32())),
    time: timeVector(type, values),
    after: vectorFromArray(Array.from({ length: n }, (_, i) => i), new Int32()),
  });
}

function batchMessages(table: Table): IpcMessage[] {
  return splitIpcStream(tableToIPC(table, 'stream')).filter((m) => m.body.byteLength > 0 && m.header.byteLength > 0).slice(-table.batches.length);
}

function statisticsOf(table: Table) {
  const locator = locateTimeColumn(table.schema, 'time');
  return batchMessages(table)
    .map((message) => batchTimeStatistics(message, locator)!)
    .reduce(mergeTimeStatistics);
}

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

describe('IPC time statistics', () => {
  it.each([
    ['ns, naive', new TimestampNanosecond()],
    ['ns, tz-aware', new TimestampNanosecond('America/New_York')],
    ['us, UTC', new TimestampMicrosecond('UTC')],
    ['ms, naive', new TimestampMillisecond()],
    ['s, naive', new TimestampSecond()],
    ['date64', new DateMillisecond()],
  ])('finds min, max and nulls of int64 values (%s) behind a nested column', (_label, type) => {
    // Values straddle int32-half boundaries and signs: the high words and low words both matter.
    const values = [1_700_000_000_123_456_789n, null, -5n, 4_294_967_296n, 4_294_967_295n, null, 1_700_000_000_123_456_790n, -4_294_967_297n];
    expect(statisticsOf(tableWith(type, values))).toEqual({ nulls: 2, min: -4_294_967_297n, max: 1_700_000_000_123_456_790n, sorted: false });
  });

  it('handles the extremes of int64', () => {
    expect(statisticsOf(tableWith(new TimestampNanosecond(), [0n, INT64_MAX, INT64_MIN, 1n]))).toEqual({ nulls: 0, min: INT64_MIN, max: INT64_MAX, sorted: false });
  });

  it('reads date32 days', () => {
    expect(statisticsOf(tableWith(new DateDay(), [19_000, null, -3, 20_000, 0]))).toEqual({ nulls: 1, min: -3n, max: 20_000n });
  });

  it('has no min or max when every time is null', () => {
    expect(statisticsOf(tableWith(new TimestampMicrosecond(), [null, null, null]))).toEqual({ nulls: 3 });
  });

  it('merges batches, including all-null ones', () => {
    const whole = tableWith(new TimestampMicrosecond(), [5n, 9n, null, null, null, -1n, 7n]);
    const table = new Table([...whole.slice(0, 3).batches, ...whole.slice(3, 5).batches, ...whole.slice(5).batches]);
    expect(table.batches).toHaveLength(3);
    expect(statisticsOf(table)).toEqual({ nulls: 3, min: -1n, max: 9n, sorted: false });
  });

  it('says whether the non-null times are in order, within and across batches (the segment flag resample relies on)', () => {
    const split = (values: (bigint | null)[], at: number[]) => {
      const whole = tableWith(new TimestampMicrosecond(), values);
      const edges = [0, ...at, values.length];
      return statisticsOf(new Table(edges.slice(1).flatMap((end, i) => whole.slice(edges[i], end).batches)));
    };
    const high = 2n ** 32n;
    // Equal times, nulls between, the high word stepping up: sorted.
    expect(split([1n, 1n, null, high - 1n, high, high, 5n * high + 7n], [])).toMatchObject({ sorted: true });
    expect(split([1n, 1n, null, high - 1n, high, high, 5n * high + 7n], [2, 3, 5])).toMatchObject({ sorted: true, nulls: 1 });
    // A step back in the low word under the same high word, or in the high word.
    expect(split([high + 5n, high + 4n], [])).toMatchObject({ sorted: false });
    expect(split([2n * high, high + 9n], [])).toMatchObject({ sorted: false });
    // Each batch sorted, but the second starts before the first ends; an all-null batch in between changes nothing.
    expect(split([1n, 5n, 3n, 9n], [2])).toMatchObject({ sorted: false });
    expect(split([1n, 5n, null, null, 5n, 9n], [2, 4])).toMatchObject({ sorted: true, nulls: 2 });
    expect(split([1n, 5n, null, null, 4n, 9n], [2, 4])).toMatchObject({ sorted: false });
    // Negative times (before 1970) compare signed.
    expect(split([-high - 1n, -5n, -1n, 0n, 3n], [1])).toMatchObject({ sorted: true });
  });

  it('reads bodies that are not 4-byte aligned', () => {
    const table = tableWith(new TimestampNanosecond(), [3n, 1n, 2n]);
    const [message] = batchMessages(table);
    const shifted = new Uint8Array(message!.body.byteLength + 1).subarray(1);
    shifted.set(message!.body);
    expect(batchTimeStatistics({ header: message!.header, body: shifted }, locateTimeColumn(table.schema, 'time'))).toEqual({ nulls: 0, min: 1n, max: 3n, sorted: false });
  });

  it('reads unaligned bodies one after another without seeing the previous one', () => {
    const unaligned = (values: bigint[]) => {
      const table = tableWith(new TimestampNanosecond(), values);
      const [message] = batchMessages(table);
      const shifted = new Uint8Array(message!.body.byteLength + 1).subarray(1);
      shifted.set(message!.body);
      return batchTimeStatistics({ header: message!.header, body: shifted }, locateTimeColumn(table.schema, 'time'));
    };
    expect(unaligned(Array.from({ length: 1000 }, (_, i) => BigInt(i - 500)))).toEqual({ nulls: 0, min: -500n, max: 499n, sorted: true });
    expect(unaligned([7n, 9n, 8n])).toEqual({ nulls: 0, min: 7n, max: 9n, sorted: false });
    expect(unaligned(Array.from({ length: 5000 }, (_, i) => BigInt(i + 10_000)))).toEqual({ nulls: 0, min: 10_000n, max: 14_999n, sorted: true });
  });

  it('agrees with the decoded values on a large random batch', () => {
    const values = Array.from({ length: 50_000 }, (_, i) => (i % 17 === 0 ? null : BigInt(Math.floor((Math.random() - 0.5) * 2 ** 62)) * 3n));
    const present = values.filter((v): v is bigint => v !== null);
    const expected = { nulls: values.length - present.length, min: present.reduce((a, b) => (a < b ? a : b)), max: present.reduce((a, b) => (a > b ? a : b)), sorted: false };
    expect(statisticsOf(tableWith(new TimestampNanosecond(), values))).toEqual(expected);
  });

  it('refuses columns that are not timestamps or dates', () => {
    const table = tableWith(new TimestampNanosecond(), [1n]);
    expect(() => locateTimeColumn(table.schema, 'after')).toThrow(/not a timestamp or date/);
    expect(() => locateTimeColumn(table.schema, 'missing')).toThrow(/no column 'missing'/);
  });
});
