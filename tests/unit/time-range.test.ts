import { DateDay, DateMillisecond, Field, Schema, TimestampMicrosecond, TimestampNanosecond, TimestampSecond, Utf8 } from 'apache-arrow';
import { describe, expect, it } from 'vitest';
import { InvalidArgumentError } from '../../src/errors.js';
import { timeColumnOf } from '../../src/format/time-column.js';
import { columnBounds, epochSecondsToNanos, parseIsoTime, parseTimeBound } from '../../src/format/time-range.js';

const NS = 1_000_000_000n;

describe('parseIsoTime', () => {
  it('reads dates and date-times as UTC epoch nanoseconds', () => {
    expect(parseIsoTime('1970-01-01', 'start')).toBe(0n);
    expect(parseIsoTime('2024-02-29', 'start')).toBe(BigInt(Date.UTC(2024, 1, 29)) * 1_000_000n);
    expect(parseIsoTime('2024-05-01T09:30', 'start')).toBe(BigInt(Date.UTC(2024, 4, 1, 9, 30)) * 1_000_000n);
    expect(parseIsoTime('2024-05-01 09:30:15', 'start')).toBe(BigInt(Date.UTC(2024, 4, 1, 9, 30, 15)) * 1_000_000n);
    expect(parseIsoTime('1969-12-31T23:59:59Z', 'start')).toBe(-NS);
    expect(parseIsoTime('1900-03-01', 'start')).toBe(BigInt(Date.UTC(1900, 2, 1)) * 1_000_000n);
  });

  it('keeps every fraction digit down to nanoseconds', () => {
    const base = BigInt(Date.UTC(2024, 4, 1, 9, 30, 15)) * 1_000_000n;
    expect(parseIsoTime('2024-05-01T09:30:15.123456789Z', 'start')).toBe(base + 123_456_789n);
    expect(parseIsoTime('2024-05-01T09:30:15.5', 'start')).toBe(base + 500_000_000n);
    expect(parseIsoTime('2024-05-01T09:30:15.000001', 'start')).toBe(base + 1_000n);
  });

  it('applies UTC offsets', () => {
    const utc = parseIsoTime('2024-05-01T07:30:00Z', 'start');
    expect(parseIsoTime('2024-05-01T09:30:00+02:00', 'start')).toBe(utc);
    expect(parseIsoTime('2024-05-01T02:00:00-05:30', 'start')).toBe(utc);
  });

  it.each([
    '2024-5-1',
    '2024-05-01T',
    '2024-05-01T09',
    '2024-05-01T09:30:15.1234567890',
    '2024-13-01',
    '2023-02-29',
    '2024-04-31',
    '2024-05-01T24:00',
    '2024-05-01T09:60',
    '2024-05-01T09:30+2',
    '2024-05-01T09:30+24:00',
    'yesterday',
  ])('refuses %j saying what is accepted', (text) => {
    const error = (() => {
      try {
        parseIsoTime(text, 'end');
      } catch (e) {
        return e;
      }
    })();
    expect(error).toBeInstanceOf(InvalidArgumentError);
    expect((error as Error).message).toContain('"end"');
    expect((error as Error).message).toContain('ISO-8601');
    expect((error as Error).message).toContain('seconds since the Unix epoch');
  });
});

describe('epochSecondsToNanos', () => {
  it('converts the decimal value exactly', () => {
    expect(epochSecondsToNanos(0, 'start')).toBe(0n);
    expect(epochSecondsToNanos(1_700_000_000, 'start')).toBe(1_700_000_000n * NS);
    expect(epochSecondsToNanos(1_700_000_000.123456, 'start')).toBe(1_700_000_000_123_456_000n);
    expect(epochSecondsToNanos(1.5e-7, 'start')).toBe(150n);
    expect(epochSecondsToNanos(1e21, 'start')).toBe(10n ** 30n);
  });

  it('floors negative values and sub-nanosecond digits', () => {
    expect(epochSecondsToNanos(-1.5, 'start')).toBe(-1_500_000_000n);
    expect(epochSecondsToNanos(1e-10, 'start')).toBe(0n);
    expect(epochSecondsToNanos(-1e-10, 'start')).toBe(-1n);
  });

  it('refuses non-finite numbers', () => {
    expect(() => epochSecondsToNanos(Number.NaN, 'start')).toThrow(InvalidArgumentError);
    expect(() => epochSecondsToNanos(Number.POSITIVE_INFINITY, 'start')).toThrow(/finite/);
  });
});

describe('parseTimeBound', () => {
  it('takes strings as ISO-8601, numbers as epoch seconds, null as absent', () => {
    expect(parseTimeBound('1970-01-02', 'start')).toBe(86_400n * NS);
    expect(parseTimeBound(86_400, 'start')).toBe(86_400n * NS);
    expect(parseTimeBound(null, 'start')).toBeUndefined();
    expect(parseTimeBound(undefined, 'start')).toBeUndefined();
  });

  it.each([[true], [{}], [[1]]])('refuses %j', (value) => {
    expect(() => parseTimeBound(value, 'start')).toThrow(InvalidArgumentError);
  });
});

describe('columnBounds', () => {
  const start = parseIsoTime('2024-05-01T00:00:00.0000015Z', 'start');
  const end = parseIsoTime('2024-05-02T00:00:01Z', 'end');
  const day = BigInt(Date.UTC(2024, 4, 1)) / 86_400_000n;

  it('rounds both bounds up into the column unit (start inclusive, end exclusive)', () => {
    const seconds = BigInt(Date.UTC(2024, 4, 1)) / 1000n;
    expect(columnBounds(new TimestampNanosecond(), start, end)).toEqual({ lower: start, upper: end, empty: false });
    expect(columnBounds(new TimestampMicrosecond(), start, end)).toEqual({ lower: seconds * 1_000_000n + 2n, upper: (seconds + 86_401n) * 1_000_000n, empty: false });
    expect(columnBounds(new TimestampSecond('UTC'), start, end)).toEqual({ lower: seconds + 1n, upper: seconds + 86_401n, empty: false });
    expect(columnBounds(new DateMillisecond(), start, undefined)).toEqual({ lower: seconds * 1000n + 1n, empty: false });
    // A date column: 2024-05-01 is before start (midnight + 1.5 µs), so the first day kept is the 2nd;
    // the end (2nd, 00:00:01) still includes the 2nd.
    expect(columnBounds(new DateDay(), start, end)).toEqual({ lower: day + 1n, upper: day + 2n, empty: false });
  });

  it('is empty when end is not after start, in the column unit', () => {
    expect(columnBounds(new TimestampNanosecond(), end, start).empty).toBe(true);
    expect(columnBounds(new DateDay(), start, start + 1n).empty).toBe(true);
  });

  it('drops sides beyond the column range', () => {
    const far = 10n ** 30n;
    expect(columnBounds(new TimestampNanosecond(), -far, far)).toEqual({ empty: false });
    expect(columnBounds(new TimestampNanosecond(), far, undefined).empty).toBe(true);
    expect(columnBounds(new DateDay(), undefined, -far).empty).toBe(true);
  });
});

describe('timeColumnOf', () => {
  const ts = (name: string) => new Field(name, new TimestampNanosecond(), true);

  it('prefers a pandas timestamp index, then the first timestamp, then the first date', () => {
    const pandas = (index: unknown[]) => new Map([['pandas', JSON.stringify({ index_columns: index, columns: [] })]]);
    const fields = [new Field('d', new DateDay()), ts('a'), ts('idx')];
    expect(timeColumnOf(new Schema(fields, pandas(['idx'])))).toBe('idx');
    expect(timeColumnOf(new Schema(fields, pandas([{ kind: 'range', start: 0 }])))).toBe('a');
    expect(timeColumnOf(new Schema([new Field('s', new Utf8()), ...fields], pandas(['s'])))).toBe('a');
    expect(timeColumnOf(new Schema(fields))).toBe('a');
    expect(timeColumnOf(new Schema([new Field('s', new Utf8()), new Field('d', new DateMillisecond())]))).toBe('d');
    expect(timeColumnOf(new Schema([new Field('s', new Utf8())]))).toBeUndefined();
  });
});
