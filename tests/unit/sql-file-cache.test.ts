// DuckDB keeps no copy of the segment files SQL reads. Its external file cache (on by default since
// DuckDB 1.3) kept the bytes read of every file by path until the memory limit: each put writes new
// segments, so the server's memory grew with every version ever queried (bench/soak, ~10 KiB each).
import { afterAll, beforeAll, expect, it } from 'vitest';
import { MemoryConnector } from '../../src/connectors/memory/memory-connector.js';
import { ObjectLayout } from '../../src/storage/object-layout.js';
import { HangarEngine } from '../../src/core/engine.js';
import { ParquetCodec } from '../../src/format/parquet/parquet-codec.js';
import { collect, messagesOf, ref, sampleTable } from '../../src/testing/fixtures.js';

let codec: ParquetCodec;
let engine: HangarEngine;
beforeAll(async () => {
  codec = new ParquetCodec(1);
  const connector = new ObjectLayout(new MemoryConnector());
  await connector.open();
  engine = new HangarEngine(connector, codec, { retention: { keepVersions: 1, graceMs: 0 } });
});
afterAll(async () => {
  await engine.close();
  await codec.close();
});

/** DuckDB's memory by tag, in bytes. */
async function duckdbMemory(): Promise<Map<string, number>> {
  const table = await collect((await engine.query('SELECT tag, memory_usage_bytes FROM duckdb_memory()', { bucket: 'default' })).messages);
  return new Map(table.toArray().map((row: { tag: string; memory_usage_bytes: bigint }) => [row.tag, Number(row.memory_usage_bytes)]));
}

it('caches nothing of the segment files of replaced versions it queried', async () => {
  for (let version = 0; version < 12; version++) {
    await engine.put(ref('f'), 'replace', messagesOf(sampleTable(2000, version)));
    const sum = await collect((await engine.query('SELECT sum(id) AS s, count(*) AS n FROM f', { bucket: 'default' })).messages);
    expect(Number(sum.get(0)!.n)).toBe(2000);
    await engine.vacuum();
  }
  const memory = await duckdbMemory();
  expect(memory.has('EXTERNAL_FILE_CACHE')).toBe(true);
  expect(memory.get('EXTERNAL_FILE_CACHE')).toBe(0);
});
