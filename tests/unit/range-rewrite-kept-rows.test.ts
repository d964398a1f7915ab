// keptRows (range-rewrite.ts) splits decoded batches into the rows an update or delete_range keeps
// before and after the first removed row. Its 64-bit times are compared as 32-bit halves: checked
// here against BigInt comparisons on values around every sign and word boundary, with nulls.
import { DateDay, Int32, RecordBatch, Schema, Field, Struct, TimestampMicrosecond, makeData } from 'apache-arrow';
import { describe, expect, it } from 'vitest';
import { keptRows } from '../../src/core/range-rewrite.js';
import type { ColumnBounds } from '../../src/format/time-range.js';

const EDGES = [-(2n ** 63n), -(2n ** 32n) - 1n, -(2n ** 32n), -(2n ** 31n) - 1n, -1n, 0n, 1n, 2n ** 31n - 1n, 2n ** 31n, 2n ** 32n - 1n, 2n ** 32n, 2n ** 32n + 1n, 2n ** 63n - 1n];

/** A random value near an edge. */
function nearEdge(random: () => number): bigint {
  const edge = EDGES[Math.floor(random() * EDGES.length)]!;
  const value = edge + BigInt(Math.floor(random() * 5) - 2);
  return BigInt.asIntN(64, value);
}

function lcg(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state * 1_103_515_245 + 12_345) % 2 ** 31;
    return state / 2 ** 31;
  };
}

/** The rows kept and removed by plain BigInt comparisons. */
function expected(values: (bigint | null)[], bounds: ColumnBounds): { before: number[]; after: number[]; removed: number } {
  const before: number[] = [];
  const after: number[] = [];
  let removed = 0;
  values.forEach((value, row) => {
    const inside = value !== null && (bounds.lower === undefined || value >= bounds.lower) && (bounds.upper === undefined || value < bounds.upper);
    if (inside) removed++;
    else (removed === 0 ? before : after).push(row);
  });
  return { before, after, removed };
}

function batchOf(type: TimestampMicrosecond | DateDay, values: (bigint | null)[]): RecordBatch {
  const wide = type instanceof TimestampMicrosecond;
  const data = wide ? BigInt64Array.from(values, (v) => v ?? 0n) : Int32Array.from(values, (v) => Number(v ?? 0n));
  const nullBitmap = new Uint8Array(Math.ceil(values.length / 8));
  values.forEach((v, i) => {
    if (v !== null) nullBitmap[i >> 3]! |= 1 << (i & 7);
  });
  const nulls = values.filter((v) => v === null).length;
  const ts = makeData({ type, length: values.length, data, nullBitmap, nullCount: nulls } as never);
  const row = makeData({ type: new Int32(), length: values.length, data: Int32Array.from(values, (_, i) => i) });
  const schema = new Schema([new Field('ts', type, true), new Field('row', new Int32(), false)]);
  return new RecordBatch(schema, makeData({ type: new Struct(schema.fields), length: values.length, children: [ts, row] }));
}

function rowsOf(batches: readonly RecordBatch[]): number[] {
  return batches.flatMap((batch) => Array.from(batch.getChild('row')!.toArray() as Int32Array));
}

describe('keptRows', () => {
  it('keeps and removes the same rows as BigInt comparisons, for 64-bit times around every word boundary and with nulls', () => {
    const random = lcg(7);
    for (let trial = 0; trial < 300; trial++) {
      const values = Array.from({ length: 40 }, () => (random() < 0.1 ? null : nearEdge(random)));
      const [a, b] = [nearEdge(random), nearEdge(random)];
      const bounds: ColumnBounds = { lower: random() < 0.2 ? undefined : a < b ? a : b, upper: random() < 0.2 ? undefined : a < b ? b : a, empty: false };
      const kept = keptRows([batchOf(new TimestampMicrosecond(), values)], 'ts', bounds);
      const want = expected(values, bounds);
      expect({ before: rowsOf(kept.before), after: rowsOf(kept.after), removed: kept.removed }, `trial ${trial}`).toEqual(want);
    }
  });

  it('does the same for 32-bit dates', () => {
    const random = lcg(11);
    for (let trial = 0; trial < 100; trial++) {
      const values = Array.from({ length: 30 }, () => (random() < 0.1 ? null : BigInt(Math.floor(random() * 200) - 100)));
      const bounds: ColumnBounds = { lower: BigInt(Math.floor(random() * 100) - 60), upper: random() < 0.3 ? undefined : BigInt(Math.floor(random() * 100)), empty: false };
      const kept = keptRows([batchOf(new DateDay(), values)], 'ts', bounds);
      expect({ before: rowsOf(kept.before), after: rowsOf(kept.after), removed: kept.removed }, `trial ${trial}`).toEqual(expected(values, bounds));
    }
  });

  it('reads validity and values at a batch offset, across several batches, sorted or not', () => {
    const random = lcg(13);
    for (let trial = 0; trial < 200; trial++) {
      const sorted = trial % 2 === 0;
      const raw = Array.from({ length: 90 }, () => BigInt(Math.floor(random() * 1000)) - 500n);
      if (sorted) raw.sort((x, y) => (x < y ? -1 : x > y ? 1 : 0));
      const values = raw.map((v) => (random() < 0.08 ? null : v));
      const whole = batchOf(trial % 4 < 2 ? new TimestampMicrosecond() : new DateDay(), values);
      // Slices at offsets that are not whole bytes of the validity bitmap, in stored order.
      const cuts = [0, 3 + Math.floor(random() * 20), 41 + Math.floor(random() * 7), 77, 90];
      const batches = cuts.slice(1).map((end, i) => whole.slice(cuts[i]!, end));
      const [a, b] = [BigInt(Math.floor(random() * 1000)) - 500n, BigInt(Math.floor(random() * 1000)) - 500n];
      const bounds: ColumnBounds = { lower: random() < 0.15 ? undefined : a < b ? a : b, upper: random() < 0.15 ? undefined : a < b ? b : a, empty: false };
      const kept = keptRows(batches, 'ts', bounds);
      expect({ before: rowsOf(kept.before), after: rowsOf(kept.after), removed: kept.removed }, `trial ${trial}`).toEqual(expected(values, bounds));
    }
  });
  it('binary-searches sorted chunks without nulls (the segment is timeSorted) to the same rows, at offsets, bounds inside, outside and on rows', () => {
    const random = lcg(17);
    for (let trial = 0; trial < 400; trial++) {
      const wide = trial % 2 === 0;
      // Sorted, with repeats (equal times), around the word boundaries for 64-bit times.
      const base = wide ? EDGES[1 + (trial % (EDGES.length - 3))]! : 0n;
      const values: (bigint | null)[] = Array.from({ length: 1 + Math.floor(random() * 120) }, () => base + BigInt(Math.floor(random() * 60) - 30)).sort((x, y) => (x < y ? -1 : x > y ? 1 : 0));
      // Nulls in some trials: those chunks take the linear scan.
      if (trial % 5 === 4) values[Math.floor(random() * values.length)] = null;
      const whole = batchOf(wide ? new TimestampMicrosecond() : new DateDay(), values);
      const cut = Math.floor(random() * values.length);
      const batches = cut === 0 ? [whole] : [whole.slice(0, cut), whole.slice(cut, values.length)];
      const pick = (): bigint => base + BigInt(Math.floor(random() * 80) - 40);
      const [a, b] = [pick(), pick()];
      const bounds: ColumnBounds = { lower: random() < 0.15 ? undefined : a < b ? a : b, upper: random() < 0.15 ? undefined : a < b ? b : a, empty: false };
      const sorted = keptRows(batches, 'ts', bounds, true);
      const want = expected(values, bounds);
      expect({ before: rowsOf(sorted.before), after: rowsOf(sorted.after), removed: sorted.removed }, `trial ${trial}`).toEqual(want);
      const scanned = keptRows(batches, 'ts', bounds, false);
      expect(sorted.before.map((batch) => batch.numRows), `trial ${trial}`).toEqual(scanned.before.map((batch) => batch.numRows));
      expect(sorted.after.map((batch) => batch.numRows), `trial ${trial}`).toEqual(scanned.after.map((batch) => batch.numRows));
    }
  });
});
