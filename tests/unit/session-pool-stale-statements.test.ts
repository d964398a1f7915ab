// Pooled DuckDB sessions drop statements bound at an older view generation: each keeps the Parquet
// files its views read open, so a vacuumed segment's descriptor and disk space stayed taken (soak).
import { mkdtemp, readdir, readlink, rm, unlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SessionPool } from '../../src/core/sql/session-pool.js';

/** Files of `dir` this process holds open, deleted ones included. */
async function openFilesIn(dir: string): Promise<string[]> {
  const links = await Promise.all((await readdir('/proc/self/fd')).map((fd) => readlink(`/proc/self/fd/${fd}`).catch(() => '')));
  return links.filter((link) => link.startsWith(dir));
}

describe('session pool: statements of an older view generation', () => {
  let dir: string;
  let instance: DuckDBInstance;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'hangar-pool-'));
    instance = await DuckDBInstance.create(':memory:');
  });
  afterAll(async () => {
    instance.closeSync();
    await rm(dir, { recursive: true, force: true });
  });

  it('are destroyed when a statement is prepared at a newer one, releasing the files they held', async () => {
    const pool = new SessionPool(instance);
    const setup = await instance.connect();
    const first = join(dir, 'first.parquet');
    await setup.run(`COPY (SELECT range AS x FROM range(100)) TO '${first}' (FORMAT parquet)`);
    await setup.run(`CREATE VIEW v AS SELECT * FROM read_parquet(['${first}'])`);
    const session = await pool.take('SELECT sum(x) FROM v');
    await (await pool.statement(session, 'SELECT sum(x) FROM v', 1)).run();
    pool.give(session);
    // The frame is replaced and its old segment vacuumed: only the kept statement still reads it.
    await unlink(first);
    expect((await openFilesIn(dir)).filter((link) => link.endsWith('(deleted)'))).toHaveLength(1);
    const second = join(dir, 'second.parquet');
    await setup.run(`COPY (SELECT range AS x FROM range(10)) TO '${second}' (FORMAT parquet)`);
    await setup.run(`CREATE OR REPLACE VIEW v AS SELECT * FROM read_parquet(['${second}'])`);
    const next = await pool.take('SELECT count(*) FROM v');
    const rows = await (await pool.statement(next, 'SELECT count(*) FROM v', 2)).runAndReadAll();
    expect(rows.getRows()).toEqual([[10n]]);
    expect((await openFilesIn(dir)).filter((link) => link.endsWith('(deleted)'))).toEqual([]);
    pool.give(next);
    pool.close();
    setup.closeSync();
  });
});
