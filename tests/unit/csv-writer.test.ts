// The CSV writer and cell formatter: the fast paths (value buffers read directly, the timestamp's
// second and day kept between rows) write exactly what the general formatting does.
import { Field, Float32, Float64, Int32, Int64, RecordBatch, Schema, Struct, TimeUnit, Timestamp, Utf8, makeData, makeVector, vectorFromArray } from 'apache-arrow';
import { describe, expect, it } from 'vitest';
import { csvHeader, csvRows } from '../../src/format/csv-writer.js';
import { cellFormatter, formatTimestamp } from '../../src/format/value-format.js';
import { seededRandom } from '../helpers/seeded-random.js';

function batchOf(fields: Field[], columns: ReturnType<typeof makeData>[]): RecordBatch {
  const schema = new Schema(fields);
  return new RecordBatch(schema, makeData({ type: new Struct(schema.fields), length: columns[0]!.length, nullCount: 0, children: columns }));
}

describe('cellFormatter', () => {
  it('formats timestamps of every unit as formatTimestamp does, across seconds, days, 1970 and 2^53', () => {
    const random = seededRandom(7);
    for (const unit of [TimeUnit.SECOND, TimeUnit.MILLISECOND, TimeUnit.MICROSECOND, TimeUnit.NANOSECOND]) {
      const perSecond = [1n, 1_000n, 1_000_000n, 1_000_000_000n][unit]!;
      const raw: bigint[] = [0n, -1n, perSecond - 1n, -perSecond, 86_400n * perSecond - 1n, 9_007_199_254_740_993n, -9_007_199_254_740_993n];
      let value = 1_767_225_600n * perSecond;
      for (let i = 0; i < 500; i++) {
        value += BigInt(Math.floor(random() * 5_000)) * (perSecond / 10n || 1n);
        raw.push(value);
      }
      const values = BigInt64Array.from(raw.filter((v) => v / perSecond < 8_000_000_000_000n && v / perSecond > -8_000_000_000_000n));
      for (const zoned of [false, true]) {
        const type = new Timestamp(unit, zoned ? 'UTC' : null);
        const format = cellFormatter(makeVector(makeData({ type, length: values.length, data: values })));
        values.forEach((v, row) => expect(format(row)).toBe(formatTimestamp(v, unit, zoned)));
      }
    }
  });

  it('reads numbers from their buffers: nulls, integral floats with ".0", int64 beyond 2^53', () => {
    const floats = makeData({ type: new Float64(), length: 4, nullCount: 1, nullBitmap: Uint8Array.of(0b1011), data: Float64Array.of(1, 2.5, 99, -3) });
    const singles = makeData({ type: new Float32(), length: 2, data: Float32Array.of(0.5, 2 ** 70) });
    const big = makeData({ type: new Int64(), length: 2, data: BigInt64Array.of(9_007_199_254_740_993n, -5n) });
    const batch = batchOf([new Field('f', new Float64(), true), new Field('s', new Float32()), new Field('i', new Int64())], [floats, singles, big].map((d) => d.slice(0, 2)));
    expect(cellFormatter(batch.getChildAt(0)!)(0)).toBe('1.0');
    expect(cellFormatter(batch.getChildAt(0)!)(1)).toBe('2.5');
    const nulls = cellFormatter(makeVector(floats));
    expect([0, 1, 2, 3].map(nulls)).toEqual(['1.0', '2.5', undefined, '-3.0']);
    expect(cellFormatter(batch.getChildAt(1)!)(1)).toBe('1.1805916207174113e+21');
    expect([0, 1].map(cellFormatter(batch.getChildAt(2)!))).toEqual(['9007199254740993', '-5']);
  });
});

describe('csvRows', () => {
  it('quotes text that needs it and leaves numbers and times bare', () => {
    const batch = batchOf(
      [new Field('n', new Int32()), new Field('t', new Utf8(), true), new Field('at', new Timestamp(TimeUnit.MILLISECOND, null))],
      [
        makeData({ type: new Int32(), length: 3, data: Int32Array.of(1, 2, 3) }),
        vectorFromArray(['plain', 'a, "quoted" one', ''], new Utf8()).data[0]!,
        makeData({ type: new Timestamp(TimeUnit.MILLISECOND, null), length: 3, data: BigInt64Array.of(0n, 1_500n, -1n) }),
      ],
    );
    expect(csvHeader(batch.schema) + csvRows(batch)).toBe(
      'n,t,at\n1,plain,1970-01-01T00:00:00.000\n2,"a, ""quoted"" one",1970-01-01T00:00:01.500\n3,"",1969-12-31T23:59:59.999\n',
    );
  });
});
