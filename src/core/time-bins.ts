/**
 * Fixed-width time bins over floating-point columns: the aggregation behind the rule form of
 * resample when every bin is a fixed number of time units (see resample.ts). Rows are assigned to
 * bins by arithmetic on the time value, so there is no hashing per row: consecutive rows of the same
 * bin (time-ordered data) form runs that are summed in registers, and a map is consulted only when
 * the bin changes. Each stored segment is binned on its own (in a codec worker) and the partial
 * bins merged, so the work spreads over the worker pool.
 *
 * Per bin and column it keeps the count of non-null values, a compensated (Kahan) sum, the
 * minimum and the maximum; mean, sum, min, max and count follow. NaN follows DuckDB's order (it is
 * greater than every number): sums and means that meet one are NaN, `max` is NaN if any value is,
 * `min` only if every value is.
 */

/** Where bins fall, in the time column's own unit. */
export interface BinGrid {
  /** Bin width. */
  readonly step: number;
  /** Bin starts, modulo `step` (an epoch time that starts a bin, reduced). */
  readonly phase: number;
}

/** Per-bin statistics of one column. */
interface ColumnStatistics {
  count: Float64Array;
  sum: Float64Array;
  compensation: Float64Array;
  min: Float64Array;
  max: Float64Array;
}

/** One column of a batch: values (float32 or float64) and validity bits (absent: no nulls). */
export interface BinnedColumn {
  readonly values: Float64Array | Float32Array;
  readonly validity?: Uint8Array;
}

/** The time column of a batch as 64-bit integers (low and high 32-bit words, little-endian) and validity bits. */
export interface BinnedTime {
  readonly words: Int32Array;
  readonly validity?: Uint8Array;
}

const TWO_32 = 4294967296;

/** Accumulates rows into bins; bins are numbered in order of first appearance. */
export class TimeBins {
  /** Bin starts, by bin number. */
  private starts = new Float64Array(1024);
  private readonly numbers = new Map<number, number>();
  private readonly columns: ColumnStatistics[];
  /** Bins so far. */
  size = 0;

  /**
   * @param grid - where bins fall
   * @param columnCount - columns aggregated
   */
  constructor(
    readonly grid: BinGrid,
    readonly columnCount: number,
  ) {
    this.columns = Array.from({ length: columnCount }, () => emptyStatistics(1024));
  }

  /** The bin number of a bin start, adding the bin when new. */
  private bin(start: number): number {
    let number = this.numbers.get(start);
    if (number !== undefined) return number;
    number = this.size++;
    if (number === this.starts.length) this.grow();
    this.starts[number] = start;
    this.numbers.set(start, number);
    for (const column of this.columns) {
      column.min[number] = NaN;
      column.max[number] = NaN;
    }
    return number;
  }

  private grow(): void {
    const capacity = this.starts.length * 2;
    const starts = new Float64Array(capacity);
    starts.set(this.starts);
    this.starts = starts;
    this.columns.forEach((column, i) => (this.columns[i] = resized(column, capacity)));
  }

  /**
   * Adds `rows` rows. Times must be exact as doubles (|t| < 2^53 units). Rows with a null time are
   * skipped; null values are skipped per column.
   */
  add(time: BinnedTime, columns: readonly BinnedColumn[], rows: number): void {
    if (columns.length !== this.columnCount) throw new Error(`expected ${this.columnCount} columns, got ${columns.length}`);
    // Pass 1: runs of consecutive rows in one bin (a run may include rows with a null time,
    // flagged in `skip`), as [first row, bin number] pairs ending at the next run's first row.
    const { step, phase } = this.grid;
    const runStarts: number[] = [];
    const runBins: number[] = [];
    const words = time.words;
    const timeBits = time.validity;
    let skip: Uint8Array | undefined;
    let low = Infinity;
    let high = -Infinity;
    let current = -1;
    for (let row = 0; row < rows; row++) {
      if (timeBits && ((timeBits[row >> 3]! >> (row & 7)) & 1) === 0) {
        (skip ??= new Uint8Array(rows))[row] = 1;
        continue;
      }
      const t = words[2 * row + 1]! * TWO_32 + (words[2 * row]! >>> 0);
      if (t < low || t >= high) {
        const start = t - ((((t - phase) % step) + step) % step);
        low = start;
        high = start + step;
        current = this.bin(start);
        runStarts.push(row);
        runBins.push(current);
      }
    }
    runStarts.push(rows);
    // Pass 2, column by column: each run summed in locals.
    columns.forEach((column, c) => addRuns(this.columns[c]!, column, runStarts, runBins, skip));
  }

  /** Merges another accumulator's bins (same grid and columns) into this one. */
  merge(other: TimeBins): void {
    for (let b = 0; b < other.size; b++) {
      const into = this.bin(other.starts[b]!);
      other.columns.forEach((source, c) => {
        const target = this.columns[c]!;
        if (source.count[b] === 0) return;
        const before = target.count[into]!;
        target.count[into] = before + source.count[b]!;
        kahanAdd(target, into, source.sum[b]!);
        kahanAdd(target, into, -source.compensation[b]!);
        target.min[into] = minimum(target.min[into]!, source.min[b]!);
        target.max[into] = before === 0 ? source.max[b]! : maximum(target.max[into]!, source.max[b]!);
      });
    }
  }

  /** Packs the bins into one array (for a worker's reply); {@link TimeBins.unpack} restores them. */
  pack(): Float64Array {
    const n = this.size;
    const out = new Float64Array(4 + n * (1 + 5 * this.columnCount));
    out.set([n, this.columnCount, this.grid.step, this.grid.phase]);
    let at = 4;
    const put = (values: Float64Array): void => {
      out.set(values.subarray(0, n), at);
      at += n;
    };
    put(this.starts);
    for (const column of this.columns) for (const part of [column.count, column.sum, column.compensation, column.min, column.max]) put(part);
    return out;
  }

  /** The bins {@link TimeBins.pack} packed. */
  static unpack(packed: Float64Array): TimeBins {
    const [n, columnCount, step, phase] = packed as unknown as [number, number, number, number];
    const bins = new TimeBins({ step, phase }, columnCount);
    const capacity = Math.max(1024, n);
    bins.starts = new Float64Array(capacity);
    let at = 4;
    const take = (into: Float64Array): void => {
      into.set(packed.subarray(at, at + n));
      at += n;
    };
    take(bins.starts);
    for (let c = 0; c < columnCount; c++) {
      const column = emptyStatistics(capacity);
      for (const part of [column.count, column.sum, column.compensation, column.min, column.max]) take(part);
      bins.columns[c] = column;
    }
    for (let b = 0; b < n; b++) bins.numbers.set(bins.starts[b]!, b);
    bins.size = n;
    return bins;
  }

  /** Bin numbers ordered by bin start. */
  order(): Int32Array {
    const order = Int32Array.from({ length: this.size }, (_, i) => i);
    const starts = this.starts;
    return order.sort((a, b) => starts[a]! - starts[b]!);
  }

  /** Bin starts, by bin number. */
  start(bin: number): number {
    return this.starts[bin]!;
  }

  /** The statistics of column `c`. */
  statistics(c: number): Readonly<ColumnStatistics> {
    return this.columns[c]!;
  }
}

function emptyStatistics(capacity: number): ColumnStatistics {
  return {
    count: new Float64Array(capacity),
    sum: new Float64Array(capacity),
    compensation: new Float64Array(capacity),
    min: new Float64Array(capacity),
    max: new Float64Array(capacity),
  };
}

function resized(column: ColumnStatistics, capacity: number): ColumnStatistics {
  const copy = emptyStatistics(capacity);
  copy.count.set(column.count);
  copy.sum.set(column.sum);
  copy.compensation.set(column.compensation);
  copy.min.set(column.min);
  copy.max.set(column.max);
  return copy;
}

/** Adds `value` to a bin's compensated sum. */
function kahanAdd(column: ColumnStatistics, bin: number, value: number): void {
  const sum = column.sum[bin]!;
  const y = value - column.compensation[bin]!;
  const t = sum + y;
  const error = t - sum - y;
  column.compensation[bin] = error === error ? error : 0;
  column.sum[bin] = t;
}

/** DuckDB's min: NaN only when every value is NaN (NaN marks an empty bin too). */
function minimum(a: number, b: number): number {
  if (a !== a) return b;
  if (b !== b) return a;
  return b < a ? b : a;
}

/** DuckDB's max of two non-empty bins: NaN as soon as one value is (callers skip empty bins, whose max is a NaN placeholder). */
function maximum(a: number, b: number): number {
  if (a !== a || b !== b) return NaN;
  return b > a ? b : a;
}

/** Adds one column's runs to its statistics. */
function addRuns(target: ColumnStatistics, column: BinnedColumn, runStarts: readonly number[], runBins: readonly number[], skip: Uint8Array | undefined): void {
  const values = column.values;
  const bits = column.validity;
  for (let r = 0; r < runBins.length; r++) {
    const bin = runBins[r]!;
    const from = runStarts[r]!;
    const to = runStarts[r + 1]!;
    let count = 0;
    let sum = target.sum[bin]!;
    let compensation = target.compensation[bin]!;
    let min = NaN;
    let max = -Infinity;
    let sawNaN = false;
    for (let row = from; row < to; row++) {
      if (skip !== undefined && skip[row] === 1) continue;
      if (bits !== undefined && ((bits[row >> 3]! >> (row & 7)) & 1) === 0) continue;
      const v = values[row]!;
      count++;
      const y = v - compensation;
      const t = sum + y;
      // NaN only once the sum is infinite (or NaN), which no compensation can correct.
      const error = t - sum - y;
      compensation = error === error ? error : 0;
      sum = t;
      if (v !== v) {
        sawNaN = true;
        continue;
      }
      if (!(v >= min)) min = v;
      if (v > max) max = v;
    }
    if (count === 0) continue;
    const before = target.count[bin]!;
    target.count[bin] = before + count;
    target.sum[bin] = sum;
    target.compensation[bin] = compensation;
    target.min[bin] = minimum(target.min[bin]!, min);
    const runMax = sawNaN ? NaN : max;
    target.max[bin] = before === 0 ? runMax : maximum(target.max[bin]!, runMax);
  }
}
