/**
 * shoots' `resample` action: a frame's rows grouped into time bins (pandas rules and aggregations,
 * pandas' default bin edges and labels) or the result of a SQL query, written to another frame.
 * The work is one DuckDB statement whose result streams straight into a put, or for time-sorted
 * frames of the common shapes one pass over their batches (resample-sorted.ts).
 */
import { DataType, type Field, Schema, Timestamp } from 'apache-arrow';
import type { HangarEngine } from './engine.js';
import { InvalidArgumentError } from '../errors.js';
import { decodeSchemaHeader, encodeSchemaHeader, type IpcMessage } from '../format/ipc-message.js';
import { type FrameRef, describeFrame, frameRef } from '../names.js';
import { type PutMode, parsePutMode } from './put-mode.js';
import { sqlIdentifier, sqlString } from './sql/sql-sandbox.js';
import { sortedResampleCovers, sortedResampleMessages } from './resample-sorted.js';

/** The aggregations of the rule form, as pandas names them (`ohlc` gives four columns per column). */
export const RESAMPLE_AGGREGATIONS = ['mean', 'sum', 'min', 'max', 'first', 'last', 'count', 'median', 'std', 'var', 'ohlc'] as const;

/** One of {@link RESAMPLE_AGGREGATIONS}. */
export type ResampleAggregation = (typeof RESAMPLE_AGGREGATIONS)[number];

/**
 * A parsed pandas rule. `fixed` bins are a whole number of microseconds long, counted from local
 * midnight of the first row's day (pandas' `origin='start_day'`); the other kinds follow the wall
 * clock of the time column's zone: `day` (n calendar days from that midnight), `week` (bins end on
 * the anchor weekday, labelled with it), `month-end` (labelled with the month's last day) and
 * `month-start` (labelled with its first day).
 */
export type ResampleRule =
  | { readonly kind: 'fixed'; readonly micros: bigint }
  | { readonly kind: 'day'; readonly days: number }
  | { readonly kind: 'week'; readonly anchor: number }
  | { readonly kind: 'month-end' }
  | { readonly kind: 'month-start' };

/** Microseconds of each fixed-length unit, by every spelling pandas accepts (old aliases too). */
const FIXED_UNITS = new Map<string, bigint>([
  ['us', 1n],
  ['U', 1n],
  ['ms', 1_000n],
  ['L', 1_000n],
  ['s', 1_000_000n],
  ['S', 1_000_000n],
  ['min', 60_000_000n],
  ['T', 60_000_000n],
  ['h', 3_600_000_000n],
  ['H', 3_600_000_000n],
]);

/** ISO weekday numbers (Monday 1 … Sunday 7) of pandas' week anchors. */
const WEEK_ANCHORS = new Map([
  ['MON', 1],
  ['TUE', 2],
  ['WED', 3],
  ['THU', 4],
  ['FRI', 5],
  ['SAT', 6],
  ['SUN', 7],
]);

const RULE_HELP =
  'use a pandas rule: a count and a unit, e.g. "10s", "1min" (or "1T"), "5min", "1h" (or "1H"), "250ms", "1D", ' +
  'or one of "W" (= "W-SUN", or another anchor such as "W-MON"), "M" (= "ME", month end), "MS" (month start)';

/**
 * Parses a pandas resample rule (`10s`, `1min`/`1T`, `5min`, `1h`/`1H`, `1D`, `1W`, `W-MON`, `1M`/`ME`, `MS`, …).
 * Weeks and months take no multiple other than 1.
 * @throws InvalidArgumentError for anything else
 */
export function parseResampleRule(rule: unknown): ResampleRule {
  if (typeof rule !== 'string') throw new InvalidArgumentError(`"rule" must be a string; ${RULE_HELP}`);
  const match = /^\s*(\d*)\s*([A-Za-z]+)(?:-([A-Za-z]{3}))?\s*$/.exec(rule);
  if (!match) throw new InvalidArgumentError(`invalid rule ${JSON.stringify(rule)}; ${RULE_HELP}`);
  const count = match[1] === '' ? 1 : Number(match[1]);
  const unit = match[2]!;
  const anchor = match[3]?.toUpperCase();
  if (!Number.isSafeInteger(count) || count < 1) throw new InvalidArgumentError(`invalid rule ${JSON.stringify(rule)}: the count must be a positive integer`);
  const fixed = FIXED_UNITS.get(unit);
  if (fixed !== undefined && anchor === undefined) return { kind: 'fixed', micros: fixed * BigInt(count) };
  if (unit === 'D' && anchor === undefined) return { kind: 'day', days: count };
  const calendar = unit === 'W' ? 'week' : unit === 'M' || unit === 'ME' ? 'month-end' : unit === 'MS' ? 'month-start' : undefined;
  if (!calendar) throw new InvalidArgumentError(`unknown rule ${JSON.stringify(rule)}; ${RULE_HELP}`);
  if (count !== 1) {
    throw new InvalidArgumentError(`rule ${JSON.stringify(rule)}: weekly and monthly rules take no multiple (use "${unit}${anchor ? `-${anchor}` : ''}")`);
  }
  if (calendar === 'week') {
    const day = WEEK_ANCHORS.get(anchor ?? 'SUN');
    if (day === undefined) throw new InvalidArgumentError(`rule ${JSON.stringify(rule)}: the week anchor must be one of ${[...WEEK_ANCHORS.keys()].join(', ')}`);
    return { kind: 'week', anchor: day };
  }
  if (anchor !== undefined) throw new InvalidArgumentError(`rule ${JSON.stringify(rule)}: monthly rules take no anchor`);
  return { kind: calendar };
}

/** Parses an aggregation name. @throws InvalidArgumentError */
export function parseResampleAggregation(value: unknown): ResampleAggregation {
  if (typeof value === 'string' && (RESAMPLE_AGGREGATIONS as readonly string[]).includes(value)) return value as ResampleAggregation;
  throw new InvalidArgumentError(`invalid "aggregation_func" ${JSON.stringify(value)}: use one of ${RESAMPLE_AGGREGATIONS.join(', ')}`);
}

/** How a numeric column is aggregated: integer sums stay integers of their signedness. */
export type NumericKind = 'signed' | 'unsigned' | 'float' | 'decimal';

/** A column of the source the rule form aggregates. */
export interface NumericColumn {
  /** Its name. */
  readonly name: string;
  /** Its kind. */
  readonly kind: NumericKind;
}

/**
 * The source's time column as DuckDB sees it: a `date`, a `timestamp` without zone, or an instant
 * (`instant`) whose wall clock is that of `timeZone` (an IANA name, `UTC`, or a fixed `±hh:mm`).
 */
export type TimeColumnKind = { readonly kind: 'date' } | { readonly kind: 'timestamp' } | { readonly kind: 'instant'; readonly timeZone: string };

/** Everything the rule form's SQL is built from (checked beforehand by {@link planResample}). */
export interface ResamplePlan {
  /** The source frame (its DuckDB view `"bucket"."name"`). */
  readonly source: FrameRef;
  /** The time column's name; the output's first column keeps it. */
  readonly timeColumn: string;
  /** The time column's kind. */
  readonly time: TimeColumnKind;
  /** The columns aggregated, in source order. */
  readonly columns: readonly NumericColumn[];
  /** The rule. */
  readonly rule: ResampleRule;
  /** The aggregation. */
  readonly aggregation: ResampleAggregation;
}

/** The kind of a numeric Arrow type, or undefined for anything else (strings, booleans, times, …). */
export function numericKind(type: DataType): NumericKind | undefined {
  if (DataType.isInt(type)) return type.isSigned ? 'signed' : 'unsigned';
  if (DataType.isFloat(type)) return 'float';
  if (DataType.isDecimal(type)) return 'decimal';
  return undefined;
}

/**
 * Checks the rule form against the source's schema and returns its plan: the time column must be
 * a timestamp or date; every other numeric column is aggregated, other columns are dropped.
 * @throws InvalidArgumentError for a missing or non-time time column, or output names that collide
 */
export function planResample(source: FrameRef, schema: Schema, timeColumn: string, rule: ResampleRule, aggregation: ResampleAggregation): ResamplePlan {
  const field = schema.fields.find((candidate) => candidate.name === timeColumn);
  if (!field) {
    throw new InvalidArgumentError(
      `"time_col" ${JSON.stringify(timeColumn)} is not a column of ${describeFrame(source)}; its columns are: ${schema.fields.map((f) => f.name).join(', ')}`,
    );
  }
  const time = timeColumnKind(field);
  if (!time) {
    throw new InvalidArgumentError(`"time_col" ${JSON.stringify(timeColumn)} of ${describeFrame(source)} is ${String(field.type)}; it must be a timestamp or a date`);
  }
  const columns: NumericColumn[] = [];
  for (const column of schema.fields) {
    const kind = column.name === timeColumn ? undefined : numericKind(column.type);
    if (kind) columns.push({ name: column.name, kind });
  }
  const names = new Set<string>([timeColumn]);
  for (const name of outputColumnNames(columns, aggregation)) {
    if (names.has(name)) {
      throw new InvalidArgumentError(`resampling ${describeFrame(source)} with "${aggregation}" would produce two columns named ${JSON.stringify(name)}; rename one first`);
    }
    names.add(name);
  }
  return { source, timeColumn, time, columns, rule, aggregation };
}

/** The names of the aggregated output columns (after the time column): `<col>` or `<col>_open/_high/_low/_close`. */
export function outputColumnNames(columns: readonly NumericColumn[], aggregation: ResampleAggregation): string[] {
  return aggregation === 'ohlc' ? columns.flatMap((c) => OHLC.map((part) => `${c.name}_${part}`)) : columns.map((c) => c.name);
}

const OHLC = ['open', 'high', 'low', 'close'] as const;

function timeColumnKind(field: Field): TimeColumnKind | undefined {
  if (DataType.isDate(field.type)) return { kind: 'date' };
  if (!DataType.isTimestamp(field.type)) return undefined;
  const zone = (field.type as Timestamp).timezone;
  return zone ? { kind: 'instant', timeZone: zone } : { kind: 'timestamp' };
}

const MICROS_PER_DAY = 86_400_000_000n;

/**
 * Converts between instants and the time column's wall clock, both as epoch microseconds (BIGINT
 * SQL expressions). Named zones go through DuckDB's ICU `timezone()`; fixed offsets are arithmetic,
 * since ICU knows no `+05:30`.
 */
interface WallClock {
  /** Epoch µs of the column's value as an instant (naive timestamps and dates count as UTC). */
  instant(column: string): string;
  /** Epoch µs of the column's value on the wall clock. */
  local(column: string): string;
  /** The instant (epoch µs) of a wall-clock time given as epoch µs. */
  toInstant(localMicros: string): string;
  /** The output label of an instant given as epoch µs: TIMESTAMP, or TIMESTAMPTZ for instants. */
  label(instantMicros: string): string;
}

function wallClock(time: TimeColumnKind): WallClock {
  if (time.kind !== 'instant') {
    const instant = (column: string): string => (time.kind === 'date' ? `epoch_us(CAST(${column} AS TIMESTAMP))` : `epoch_us(${column})`);
    return { instant, local: instant, toInstant: (local) => local, label: (us) => `make_timestamp(${us})` };
  }
  const label = (us: string): string => `CAST(make_timestamp(${us}) AS TIMESTAMPTZ)`;
  const offset = fixedOffsetMicros(time.timeZone);
  if (offset !== undefined) {
    const shift = (us: string, sign: '+' | '-'): string => (offset === 0n ? us : `(${us} ${sign} ${offset})`);
    return { instant: (c) => `epoch_us(${c})`, local: (c) => shift(`epoch_us(${c})`, '+'), toInstant: (local) => shift(local, '-'), label };
  }
  const zone = sqlString(time.timeZone);
  return {
    instant: (c) => `epoch_us(${c})`,
    local: (c) => `epoch_us(timezone(${zone}, ${c}))`,
    toInstant: (local) => `epoch_us(timezone(${zone}, make_timestamp(${local})))`,
    label,
  };
}

/** The offset of `UTC`, `Z`, `±hh:mm`, `±hhmm` or `±hh` in µs; undefined for named zones. */
export function fixedOffsetMicros(zone: string): bigint | undefined {
  if (/^(UTC|Etc\/UTC|GMT|Z)$/i.test(zone)) return 0n;
  const match = /^([+-])(\d{2}):?(\d{2})?$/.exec(zone);
  if (!match) return undefined;
  const minutes = Number(match[2]) * 60 + Number(match[3] ?? '0');
  return BigInt(match[1] === '-' ? -minutes : minutes) * 60_000_000n;
}

/** The start of the `step`-long bin holding `value`, bins starting at `origin` (`%` truncates like C, hence the double modulo). */
function binStart(value: string, origin: string, step: bigint): string {
  return `(${value} - (((${value} - ${origin}) % ${step}) + ${step}) % ${step})`;
}

/**
 * Where bins of `step` µs fall when every midnight of the time column's clock is a bin edge (the
 * step divides a day and the clock's offset is fixed): their starts modulo the step, as epoch µs.
 * Undefined when midnights move (zones with daylight saving) or steps straddle them.
 */
export function fixedPhase(time: TimeColumnKind, step: bigint): bigint | undefined {
  if (MICROS_PER_DAY % step !== 0n) return undefined;
  const offset = time.kind === 'instant' ? fixedOffsetMicros(time.timeZone) : 0n;
  return offset === undefined ? undefined : (((-offset) % step) + step) % step;
}

/**
 * Builds the one DuckDB statement of the rule form. Bins follow pandas' defaults: fixed and daily
 * bins are closed and labelled on the left, counted from local midnight of the first row's day;
 * weekly and month-end bins hold whole wall-clock days and are labelled with their last day at
 * midnight; month-start bins are labelled with the first day. Rows whose time is null are skipped
 * and bins without rows are absent. Output: the time column (bin label, ascending), then the
 * aggregated columns as {@link outputColumnNames} names them.
 */
export function resampleSql(plan: ResamplePlan): string {
  const clock = wallClock(plan.time);
  const table = `${sqlIdentifier(plan.source.bucket)}.${sqlIdentifier(plan.source.name)}`;
  const t = sqlIdentifier(plan.timeColumn);
  const taken = new Set([plan.timeColumn, ...plan.columns.map((c) => c.name)]);
  const bin = sqlIdentifier(freshName('__hangar_bin', taken));
  const originLocal = sqlIdentifier(freshName('__hangar_origin_local', taken));
  const originInstant = sqlIdentifier(freshName('__hangar_origin', taken));
  const local = clock.local(t);
  let binKey: string;
  let label: (key: string) => string;
  let origin = '';
  const rule = plan.rule;
  const phase = rule.kind === 'fixed' ? fixedPhase(plan.time, rule.micros) : undefined;
  if (rule.kind === 'fixed' && phase !== undefined) {
    // A step dividing a day, on a clock with a fixed offset: every midnight is a bin edge, so the
    // first day's midnight need not be looked up.
    binKey = binStart(clock.instant(t), String(phase), rule.micros);
    label = clock.label;
  } else if (rule.kind === 'fixed' || rule.kind === 'day') {
    // pandas' origin 'start_day': midnight (wall clock) of the first row's day, computed once as a
    // one-row relation joined to every row.
    origin =
      ` CROSS JOIN (SELECT ${originLocal}, ${clock.toInstant(originLocal)} AS ${originInstant} FROM ` +
      `(SELECT epoch_us(date_trunc('day', make_timestamp(min(${local})))) AS ${originLocal} FROM ${table} WHERE ${t} IS NOT NULL))`;
    if (rule.kind === 'fixed') {
      binKey = binStart(clock.instant(t), originInstant, rule.micros);
      label = clock.label;
    } else {
      binKey = binStart(local, originLocal, MICROS_PER_DAY * BigInt(rule.days));
      label = (key) => clock.label(clock.toInstant(key));
    }
  } else {
    const wall = `make_timestamp(${local})`;
    const day =
      rule.kind === 'week'
        ? `CAST(${wall} AS DATE) + CAST((${rule.anchor} - isodow(${wall}) + 7) % 7 AS INTEGER)`
        : rule.kind === 'month-end'
          ? `last_day(${wall})`
          : `CAST(date_trunc('month', ${wall}) AS DATE)`;
    binKey = `epoch_us(CAST(${day} AS TIMESTAMP))`;
    label = (key) => clock.label(clock.toInstant(key));
  }
  const aggregates = plan.columns.flatMap((column) => aggregateExpressions(column, plan.aggregation, t));
  const select = [`${label(bin)} AS ${t}`, ...aggregates].join(',\n  ');
  const inputs = [t, ...plan.columns.map((c) => sqlIdentifier(c.name))].join(', ');
  return [
    `SELECT\n  ${select}`,
    `FROM (SELECT ${binKey} AS ${bin}, ${inputs} FROM ${table}${origin} WHERE ${t} IS NOT NULL)`,
    `GROUP BY ${bin}`,
    `ORDER BY ${bin}`,
  ].join('\n');
}

function freshName(base: string, taken: ReadonlySet<string>): string {
  let name = base;
  for (let i = 1; taken.has(name); i++) name = `${base}${i}`;
  return name;
}

/** The aggregate expressions of one column, each `AS` its output name, with pandas' null handling. */
function aggregateExpressions(column: NumericColumn, aggregation: ResampleAggregation, time: string): string[] {
  const c = sqlIdentifier(column.name);
  // pandas' first/last are the first/last non-null values of the bin; ties on time fall either way.
  const first = `arg_min(${c}, ${time}) FILTER (WHERE ${c} IS NOT NULL)`;
  const last = `arg_max(${c}, ${time}) FILTER (WHERE ${c} IS NOT NULL)`;
  const as = (expression: string, name = column.name): string => `${expression} AS ${sqlIdentifier(name)}`;
  switch (aggregation) {
    case 'mean':
      return [as(`CAST(avg(${c}) AS DOUBLE)`)];
    case 'sum': {
      // pandas sums a bin of nulls to 0 (min_count=0); DuckDB's integer sums widen to HUGEINT.
      const type = column.kind === 'signed' ? 'BIGINT' : column.kind === 'unsigned' ? 'UBIGINT' : column.kind === 'float' ? 'DOUBLE' : undefined;
      const sum = `coalesce(sum(${c}), 0)`;
      return [as(type ? `CAST(${sum} AS ${type})` : sum)];
    }
    case 'min':
      return [as(`min(${c})`)];
    case 'max':
      return [as(`max(${c})`)];
    case 'first':
      return [as(first)];
    case 'last':
      return [as(last)];
    case 'count':
      return [as(`count(${c})`)];
    case 'median':
      return [as(`quantile_cont(CAST(${c} AS DOUBLE), 0.5)`)];
    case 'std':
      return [as(`stddev_samp(CAST(${c} AS DOUBLE))`)];
    case 'var':
      return [as(`var_samp(CAST(${c} AS DOUBLE))`)];
    case 'ohlc':
      return [as(first, `${column.name}_open`), as(`max(${c})`, `${column.name}_high`), as(`min(${c})`, `${column.name}_low`), as(last, `${column.name}_close`)];
  }
}

/** The fields of shoots' resample body. */
const RESAMPLE_FIELDS = new Set(['source', 'target', 'source_bucket', 'target_bucket', 'mode', 'sql', 'rule', 'time_col', 'aggregation_func']);
const RULE_FIELDS = ['rule', 'time_col', 'aggregation_func'] as const;

/** A validated resample request: by SQL or by rule. */
export type ResampleRequest = {
  /** The frame read. */
  readonly source: FrameRef;
  /** The frame written. */
  readonly target: FrameRef;
  /** The put mode of the write (shoots' client sends `append` by default; absent means `error`). */
  readonly mode: PutMode;
} & (
  | { readonly kind: 'sql'; readonly sql: string }
  | { readonly kind: 'rule'; readonly rule: ResampleRule; readonly timeColumn: string; readonly aggregation: ResampleAggregation }
);

/**
 * Parses shoots' resample body: `{"source","target","source_bucket"?,"target_bucket"?,"mode"?}` with
 * either `"sql"` or all of `"rule","time_col","aggregation_func"`. `null` counts as absent.
 * @throws InvalidArgumentError for unknown or missing fields and bad values
 */
export function parseResampleRequest(body: Record<string, unknown>): ResampleRequest {
  const unknown = Object.keys(body).filter((key) => !RESAMPLE_FIELDS.has(key));
  if (unknown.length > 0) {
    throw new InvalidArgumentError(`unknown field(s) ${unknown.map((k) => JSON.stringify(k)).join(', ')} in the resample body; the fields are: ${[...RESAMPLE_FIELDS].join(', ')}`);
  }
  const present = (key: string): boolean => body[key] !== undefined && body[key] !== null;
  for (const key of ['source', 'target']) if (!present(key)) throw new InvalidArgumentError(`the resample body needs "${key}" (a frame name)`);
  const source = frameRef(body.source, body.source_bucket);
  const target = frameRef(body.target, body.target_bucket);
  const mode = parsePutMode(body.mode);
  const given = RULE_FIELDS.filter(present);
  if (present('sql')) {
    if (given.length > 0) throw new InvalidArgumentError(`give either "sql" or "rule", "time_col" and "aggregation_func", not both (got "sql" and ${given.map((k) => `"${k}"`).join(', ')})`);
    if (typeof body.sql !== 'string' || body.sql.trim() === '') throw new InvalidArgumentError('"sql" must be a non-empty string holding one SELECT query');
    return { source, target, mode, kind: 'sql', sql: body.sql };
  }
  const missing = RULE_FIELDS.filter((key) => !present(key));
  if (missing.length > 0) {
    throw new InvalidArgumentError(`the resample body needs "sql", or all of "rule", "time_col" and "aggregation_func" (missing ${missing.map((k) => `"${k}"`).join(', ')})`);
  }
  if (typeof body.time_col !== 'string' || body.time_col === '') throw new InvalidArgumentError('"time_col" must be a column name');
  return {
    source,
    target,
    mode,
    kind: 'rule',
    rule: parseResampleRule(body.rule),
    timeColumn: body.time_col,
    aggregation: parseResampleAggregation(body.aggregation_func),
  };
}

/** What a resample reports, as shoots does. */
export interface ResampleResult {
  /** Rows of the source frame when the resample began. */
  readonly source_rows: number;
  /** Rows the resample wrote to the target. */
  readonly target_rows: number;
}

/**
 * Runs a resample: the query (the request's SQL in the source bucket, or the rule form's
 * statement) streams into a put of the target with the request's mode, so the target changes
 * atomically or not at all.
 * @throws NotFoundError for a missing source; InvalidArgumentError as {@link planResample} and for
 *   bad SQL (detail type DataFusionError); errors of {@link HangarEngine.put}
 */
export async function resample(engine: HangarEngine, request: ResampleRequest): Promise<ResampleResult> {
  const info = await engine.stat(request.source);
  let messages: AsyncIterable<IpcMessage>;
  if (request.kind === 'sql') {
    messages = (await engine.query(request.sql, { bucket: request.source.bucket })).messages;
  } else {
    const plan = planResample(request.source, info.schema, request.timeColumn, request.rule, request.aggregation);
    const sql = resampleSql(plan);
    const context = { bucket: request.source.bucket };
    // Time-sorted frames of the common shapes take one pass over their batches (resample-sorted.ts);
    // the statement runs for everything else, and when the data turns out unsorted.
    const phase = plan.rule.kind === 'fixed' ? fixedPhase(plan.time, plan.rule.micros) : undefined;
    const sorted =
      phase !== undefined && sortedResampleCovers(plan, phase, info.schema)
        ? await sortedResampleMessages(engine, plan, phase, await statementSchema(engine, sql, context.bucket, info.schema))
        : undefined;
    const produced = sorted ? listed(sorted) : (await engine.query(sql, context)).messages;
    messages = plan.time.kind === 'instant' ? withTimeZone(produced, plan.timeColumn, plan.time.timeZone) : produced;
  }
  // shoots' resample has no ordering rule and its client cannot opt out: an append keeps its semantics.
  const summary = await engine.put(request.target, request.mode, messages, { allowUnordered: true });
  return { source_rows: info.rows, target_rows: summary.rowsWritten };
}

/** Result schemas of rule statements, per engine, by bucket, statement and source columns (see {@link statementSchema}). */
const statementSchemas = new WeakMap<HangarEngine, Map<string, Schema>>();
/** Statement schemas kept per engine (a few hundred bytes each). */
const STATEMENT_SCHEMAS = 64;

/**
 * The rule statement's result schema, which the single pass must match. DuckDB's answer depends
 * only on the statement and the source's column names and types, so it is asked once per such
 * pair (it prepared the statement over the frame's view each time: ~1 ms of a resample).
 */
async function statementSchema(engine: HangarEngine, sql: string, bucket: string, source: Schema): Promise<Schema> {
  let known = statementSchemas.get(engine);
  if (!known) statementSchemas.set(engine, (known = new Map()));
  const key = JSON.stringify([bucket, sql, source.fields.map((field) => [field.name, String(field.type), field.nullable])]);
  const found = known.get(key);
  if (found) return found;
  const schema = await engine.querySchema(sql, { bucket });
  if (known.size >= STATEMENT_SCHEMAS) known.delete(known.keys().next().value!);
  known.set(key, schema);
  return schema;
}

async function* listed(messages: readonly IpcMessage[]): AsyncGenerator<IpcMessage> {
  yield* messages;
}

/**
 * Gives the time column back the source's zone: DuckDB returns TIMESTAMPTZ as UTC, and the zone is
 * only schema metadata (the stored values are UTC instants either way).
 */
async function* withTimeZone(messages: AsyncIterable<IpcMessage>, column: string, timeZone: string): AsyncGenerator<IpcMessage> {
  let first = true;
  for await (const message of messages) {
    if (first) {
      first = false;
      const schema = decodeSchemaHeader(message.header);
      const fields = schema.fields.map((field) =>
        field.name === column && DataType.isTimestamp(field.type) ? field.clone({ type: new Timestamp((field.type as Timestamp).unit, timeZone) }) : field,
      );
      yield { header: encodeSchemaHeader(new Schema(fields, schema.metadata)), body: message.body };
      continue;
    }
    yield message;
  }
}
