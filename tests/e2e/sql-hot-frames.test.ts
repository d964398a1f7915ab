/**
 * Hot frames in SQL: a frame queried twice at one version is kept as a DuckDB in-memory table and
 * its views read that; answers stay the same (dictionary columns, time filters), a commit makes
 * queries read the new version at once and drops the table, and the byte budget is kept (the least
 * recently queried frame goes cold; a frame larger than the budget never becomes hot).
 */
import { tableFromIPC } from 'apache-arrow';
import { afterAll, describe, expect, it } from 'vitest';
import { MemoryConnector } from '../../src/connectors/memory/memory-connector.js';
import { HangarEngine } from '../../src/core/engine.js';
import { joinIpcStream } from '../../src/format/ipc-message.js';
import { ParquetCodec } from '../../src/format/parquet/parquet-codec.js';
import { ObjectLayout } from '../../src/storage/object-layout.js';
import { messagesOf, siteTicks } from './fixtures/site-ticks.js';

const codec = new ParquetCodec(1);
afterAll(() => codec.close());

const frame = siteTicks;

async function query(engine: HangarEngine, sql: string): Promise<Record<string, unknown>[]> {
  const stream = await engine.query(sql, { bucket: 'default' });
  const messages = [];
  for await (const message of stream.messages) messages.push(message);
  return tableFromIPC(joinIpcStream(messages)).toArray().map((row) => ({ ...row.toJSON() }));
}

/** How many hot tables DuckDB holds. */
async function hotTables(engine: HangarEngine): Promise<number> {
  const [row] = await query(engine, "SELECT count(*)::INTEGER AS n FROM duckdb_tables() WHERE database_name = 'hangar:hot'");
  return row!.n as number;
}

async function eventually(check: () => Promise<boolean>): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if (await check()) return;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  throw new Error('the condition did not hold within 5 s');
}

const SUM = 'SELECT count(*)::INTEGER AS n, sum(v) AS total FROM ticks';
const BY_SITE = 'SELECT site::VARCHAR AS site, count(*)::INTEGER AS n FROM ticks GROUP BY site ORDER BY site';
const IN_TIME = "SELECT count(*)::INTEGER AS n FROM ticks WHERE ts >= TIMESTAMP '2024-01-01 00:10:00' AND ts < TIMESTAMP '2024-01-01 00:20:00'";

describe('hot frames in SQL', () => {
  it('keeps a frame queried twice as a table, with the same answers, until a commit', async () => {
    const engine = new HangarEngine(new ObjectLayout(new MemoryConnector()), codec, { segmentBytes: 64 * 1024 });
    await engine.put({ bucket: 'default', name: 'ticks' }, 'error', messagesOf(frame(30_000)));
    const cold = [await query(engine, SUM), await query(engine, BY_SITE), await query(engine, IN_TIME)];
    expect(cold[0]).toEqual([{ n: 30_000, total: (29_999 * 30_000) / 2 }]);
    expect(cold[2]).toEqual([{ n: 600 }]);
    await eventually(async () => (await hotTables(engine)) === 1);
    expect([await query(engine, SUM), await query(engine, BY_SITE), await query(engine, IN_TIME)]).toEqual(cold);
    // A commit: the next query reads the new version, and the old table is dropped.
    await engine.put({ bucket: 'default', name: 'ticks' }, 'append', messagesOf(frame(1_000, 30_000)));
    expect(await query(engine, SUM)).toEqual([{ n: 31_000, total: (30_999 * 31_000) / 2 }]);
    expect(await hotTables(engine)).toBe(0);
    // Queried again at the new version: hot again, still right.
    await query(engine, SUM);
    await eventually(async () => (await hotTables(engine)) === 1);
    expect(await query(engine, SUM)).toEqual([{ n: 31_000, total: (30_999 * 31_000) / 2 }]);
    // A deleted frame loses its view and its table.
    await engine.delete({ bucket: 'default', name: 'ticks' });
    await expect(query(engine, SUM)).rejects.toThrow(/ticks/);
    expect(await hotTables(engine)).toBe(0);
    await engine.close();
  });

  it('stays within its budget: the least recently queried frame goes cold, a larger one never is hot', async () => {
    const rows = 20_000;
    const bytes = 20_000 * (8 + 8 + 4); // ts, v, and the dictionary indices
    const engine = new HangarEngine(new ObjectLayout(new MemoryConnector()), codec, { sql: { hotBytes: Math.floor(bytes * 1.5) } });
    for (const name of ['a', 'b']) await engine.put({ bucket: 'default', name }, 'error', messagesOf(frame(rows)));
    await engine.put({ bucket: 'default', name: 'big' }, 'error', messagesOf(frame(2 * rows)));
    const total = async (name: string) => (await query(engine, `SELECT sum(v) AS s FROM ${name}`))[0]!.s;
    for (let i = 0; i < 3; i++) expect(await total('big')).toBe(((2 * rows - 1) * 2 * rows) / 2);
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(await hotTables(engine)).toBe(0);
    await total('a');
    await total('a');
    await eventually(async () => (await hotTables(engine)) === 1);
    await total('b');
    await total('b');
    // b took a's room: one table, and both still answer.
    await new Promise((resolve) => setTimeout(resolve, 200));
    await eventually(async () => (await hotTables(engine)) === 1);
    expect(await total('a')).toBe(((rows - 1) * rows) / 2);
    expect(await total('b')).toBe(((rows - 1) * rows) / 2);
    await engine.close();
  });
});
