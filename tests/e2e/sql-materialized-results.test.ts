/**
 * Repeated queries with small results run materialized (src/core/sql/result-sizes.ts): the first run
 * of a text streams, a repeat over the same frame versions whose last result was small is gathered
 * by DuckDB and read chunk by chunk without a native call each. The answers must not change: the
 * same rows in the same order, dictionaries, several batches, empty results; a commit between
 * repeats is seen, and the first run after it streams (so a result that grew past the result limit
 * is cut by it, not gathered whole); statements with parameters and large results keep streaming.
 * Also the per-text cache of candidate frame names: it keeps names, never whether a frame exists.
 */
import { DuckDBPreparedStatement } from '@duckdb/node-api';
import { Dictionary, tableFromIPC } from 'apache-arrow';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { MemoryConnector } from '../../src/connectors/memory/memory-connector.js';
import { HangarEngine } from '../../src/core/engine.js';
import { ResultSizes } from '../../src/core/sql/result-sizes.js';
import { joinIpcStream } from '../../src/format/ipc-message.js';
import { ParquetCodec } from '../../src/format/parquet/parquet-codec.js';
import { ObjectLayout } from '../../src/storage/object-layout.js';
import { messagesOf, siteTicks } from './fixtures/site-ticks.js';

const codec = new ParquetCodec(1);
afterAll(() => codec.close());
afterEach(() => vi.restoreAllMocks());

const frame = siteTicks;

/** The result as rows, and how many record batches carried it. */
async function query(engine: HangarEngine, sql: string): Promise<{ rows: Record<string, unknown>[]; batches: number; dictionary: boolean }> {
  const stream = await engine.query(sql, { bucket: 'default' });
  const messages = [];
  for await (const message of stream.messages) messages.push(message);
  const table = tableFromIPC(joinIpcStream(messages));
  const site = table.schema.fields.find((field) => field.name === 'site');
  return {
    rows: table.toArray().map((row) => ({ ...row.toJSON() })),
    batches: table.batches.length,
    dictionary: site !== undefined && site.type instanceof Dictionary,
  };
}

/** Counts the statements DuckDB runs materialized (`run`) and streamed (`stream`). */
function countRuns(): { run: number; stream: number } {
  const counts = { run: 0, stream: 0 };
  const run = DuckDBPreparedStatement.prototype.run;
  const stream = DuckDBPreparedStatement.prototype.stream;
  vi.spyOn(DuckDBPreparedStatement.prototype, 'run').mockImplementation(function (this: DuckDBPreparedStatement) {
    counts.run++;
    return run.call(this);
  });
  vi.spyOn(DuckDBPreparedStatement.prototype, 'stream').mockImplementation(function (this: DuckDBPreparedStatement) {
    counts.stream++;
    return stream.call(this);
  });
  return counts;
}

describe('materialized results of repeated queries', () => {
  it('answers a repeat exactly as its streamed first run: rows, order, dictionaries, batches; and sees a commit', async () => {
    // Small batches, so the result spans several (each ~8 KiB of Arrow data).
    const engine = new HangarEngine(new ObjectLayout(new MemoryConnector()), codec, { segmentBytes: 64 * 1024, sql: { batchBytes: 8 * 1024, hotBytes: 0 } });
    await engine.put({ bucket: 'default', name: 'ticks' }, 'error', messagesOf(frame(30_000)));
    const sql = 'SELECT ts, v, site FROM ticks WHERE v % 7 = 0 ORDER BY v DESC';
    const counts = countRuns();
    const first = await query(engine, sql);
    expect(counts).toEqual({ run: 0, stream: 1 });
    expect(first.rows).toHaveLength(Math.ceil(30_000 / 7));
    expect(first.rows[0]).toMatchObject({ v: 29_995, site: ['north', 'south', 'east'][29_995 % 3] });
    expect(first.batches).toBeGreaterThan(1);
    expect(first.dictionary).toBe(true);
    for (let i = 0; i < 2; i++) expect(await query(engine, sql)).toEqual(first);
    expect(counts).toEqual({ run: 2, stream: 1 });
    // An empty result repeated keeps its schema (one empty batch).
    const none = 'SELECT v, site FROM ticks WHERE v < 0';
    const empty = await query(engine, none);
    expect(empty).toEqual({ rows: [], batches: 1, dictionary: true });
    expect(await query(engine, none)).toEqual(empty);
    // An append: the first run on the new version streams and reads the new rows; the next is materialized.
    await engine.put({ bucket: 'default', name: 'ticks' }, 'append', messagesOf(frame(7, 30_000)));
    const before = { ...counts };
    const after = await query(engine, sql);
    expect(counts).toEqual({ run: before.run, stream: before.stream + 1 });
    expect(after.rows).toHaveLength(Math.ceil(30_007 / 7));
    expect(after.rows[0]).toMatchObject({ v: 30_002 });
    expect(await query(engine, sql)).toEqual(after);
    expect(counts).toEqual({ run: before.run + 1, stream: before.stream + 1 });
    await engine.close();
  });

  it('streams the first repeat after a commit to its frame: a result grown past the limit is cut, not gathered', async () => {
    const engine = new HangarEngine(new ObjectLayout(new MemoryConnector()), codec, { sql: { hotBytes: 0, maxResultBytes: 256 * 1024 } });
    await engine.put({ bucket: 'default', name: 'ticks' }, 'error', messagesOf(frame(200_000)));
    // Rows past a mark: 10 rows, then, after an append of 20,000 matching rows, ~320 KB (over the limit).
    const sql = 'SELECT ts, v FROM ticks WHERE v >= 199990';
    const counts = countRuns();
    for (let i = 0; i < 2; i++) expect((await query(engine, sql)).rows).toHaveLength(10);
    expect(counts).toEqual({ run: 1, stream: 1 });
    await engine.put({ bucket: 'default', name: 'ticks' }, 'append', messagesOf(frame(20_000, 200_000)));
    await expect(query(engine, sql)).rejects.toThrow(/result is larger than the server's limit of 256 KiB/);
    expect(counts).toEqual({ run: 1, stream: 2 });
    await engine.close();
  });

  it('streams a repeat whose frame grew so much that its result would pass the bound', async () => {
    const engine = new HangarEngine(new ObjectLayout(new MemoryConnector()), codec, { sql: { hotBytes: 0 } });
    await engine.put({ bucket: 'default', name: 'ticks' }, 'error', messagesOf(frame(30_000)));
    // ~2.4 MiB of Arrow data: under the 16 MiB bound, but not once the frame is ten times larger.
    const sql = "SELECT v, repeat('x', 80)::VARCHAR AS pad FROM ticks";
    const counts = countRuns();
    await query(engine, sql);
    await query(engine, sql);
    expect(counts).toEqual({ run: 1, stream: 1 });
    await engine.put({ bucket: 'default', name: 'ticks' }, 'replace', messagesOf(frame(300_000)));
    expect((await query(engine, sql)).rows).toHaveLength(300_000);
    expect(counts).toEqual({ run: 1, stream: 2 });
    await engine.close();
  });

  it('keeps streaming results larger than the bound', async () => {
    const engine = new HangarEngine(new ObjectLayout(new MemoryConnector()), codec, { sql: { hotBytes: 0 } });
    await engine.put({ bucket: 'default', name: 'ticks' }, 'error', messagesOf(frame(1_000)));
    // ~24 MiB of Arrow data: over the 16 MiB bound.
    const sql = 'SELECT v, repeat(\'x\', 24 * 1024)::VARCHAR AS pad FROM ticks';
    const counts = countRuns();
    for (let i = 0; i < 2; i++) expect((await query(engine, sql)).rows).toHaveLength(1_000);
    expect(counts).toEqual({ run: 0, stream: 2 });
    await engine.close();
  });

  it('decides by the text\'s last result on the same frame versions: never before one, never with parameters, never past a quarter of the limit', () => {
    const sizes = new ResultSizes(4_000);
    expect(sizes.materialize('b\u0000q', 0, 'f@1')).toBe(false);
    sizes.record('b\u0000q', 0, 'f@1', 1_000);
    expect(sizes.materialize('b\u0000q', 0, 'f@1')).toBe(true);
    // A commit to the frame: the next run streams, whatever the last size.
    expect(sizes.materialize('b\u0000q', 0, 'f@2')).toBe(false);
    sizes.record('b\u0000q', 0, 'f@1', 1_001);
    expect(sizes.materialize('b\u0000q', 0, 'f@1')).toBe(false);
    // Another bucket's query of the same text is another query.
    expect(sizes.materialize('c\u0000q', 0, 'f@1')).toBe(false);
    sizes.record('b\u0000p', 1, 'f@1', 4);
    expect(sizes.materialize('b\u0000p', 1, 'f@1')).toBe(false);
    // No frames (SELECT 1): the same empty input each time.
    sizes.record('b\u0000one', 0, '', 8);
    expect(sizes.materialize('b\u0000one', 0, '')).toBe(true);
    // Without a limit, the 16 MiB bound alone.
    const unlimited = new ResultSizes();
    unlimited.record('b\u0000q', 0, 'f@1', 16 * 1024 * 1024);
    expect(unlimited.materialize('b\u0000q', 0, 'f@1')).toBe(true);
    unlimited.record('b\u0000q', 0, 'f@1', 16 * 1024 * 1024 + 1);
    expect(unlimited.materialize('b\u0000q', 0, 'f@1')).toBe(false);
  });

  it('keeps a text\'s candidate names, not whether they are frames', async () => {
    const engine = new HangarEngine(new ObjectLayout(new MemoryConnector()), codec, {});
    const sql = 'SELECT count(*)::INTEGER AS n FROM later';
    await expect(query(engine, sql)).rejects.toThrow(/later/);
    await engine.put({ bucket: 'default', name: 'later' }, 'error', messagesOf(frame(12)));
    expect((await query(engine, sql)).rows).toEqual([{ n: 12 }]);
    await engine.delete({ bucket: 'default', name: 'later' });
    await expect(query(engine, sql)).rejects.toThrow(/later/);
    await engine.close();
  });
});
