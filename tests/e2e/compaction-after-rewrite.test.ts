// Automatic compaction after range rewrites: an update or delete_range splits the segments it
// overlaps into smaller ones, so a frame corrected day after day would fragment without bound; once
// a rewrite leaves the frame with --compact-threshold small segments, a background compaction
// merges them, keeping every row in order.
import { Float64, Int32, type RecordBatch, Table, TimestampMicrosecond, vectorFromArray } from 'apache-arrow';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { HangarClient } from '../../src/client/index.js';
import { MemoryConnector } from '../../src/connectors/memory/memory-connector.js';
import { HangarServer } from '../../src/server/hangar-server.js';

const BASE_MS = 1_700_000_000_000;

/** `n` rows one second apart from second `from`: ts (µs), id = the second, px = the second × `pxScale`. */
function series(from: number, n: number, pxScale = 0.5): Table {
  const seconds = Array.from({ length: n }, (_, i) => from + i);
  return new Table({
    // apache-arrow takes timestamps as epoch milliseconds.
    ts: vectorFromArray(seconds.map((s) => BASE_MS + s * 1000), new TimestampMicrosecond('UTC')),
    id: vectorFromArray(seconds, new Int32()),
    px: vectorFromArray(seconds.map((s) => s * pxScale), new Float64()),
  });
}

/** The table in batches of 250 rows, so the writer cuts it into segments of ~16 KiB. */
async function* pieces(table: Table): AsyncGenerator<RecordBatch> {
  for (let at = 0; at < table.numRows; at += 250) yield* table.slice(at, at + 250).batches;
}

const iso = (second: number): string => new Date(BASE_MS + second * 1000).toISOString();
const ids = (table: Table): number[] => [...table.getChild('id')!].map(Number);
const pxs = (table: Table): number[] => [...table.getChild('px')!].map(Number);

let server: HangarServer;
let client: HangarClient;

beforeAll(async () => {
  // 20 bytes a row: a 16 KiB segment holds ~800 rows, and 100 rows (2 KB) are a small segment; two
  // small segments are enough to start a compaction.
  server = await HangarServer.start({ port: 0, connector: new MemoryConnector(), engine: { segmentBytes: 16 * 1024, compactThreshold: 2 } });
  client = HangarClient.connect(server.location);
});
afterAll(async () => {
  client.close();
  await server.close();
});

/** The frame's versions once a compaction has been committed (polling; the compaction runs in the background). */
async function compactedVersions(name: string): Promise<Awaited<ReturnType<HangarClient['versions']>>> {
  for (let attempt = 0; attempt < 200; attempt++) {
    const versions = await client.versions(name);
    if (versions.some((version) => version.operation === 'compact')) return versions;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`no background compaction of ${name} was committed within 10 s`);
}

it('compacts in the background once a delete_range leaves the frame fragmented', async () => {
  await client.put('cut', pieces(series(0, 4_000)));
  // Only the first and the last 100 rows stay: two small segments, side by side.
  const result = await client.deleteRange('cut', iso(100), iso(3_900));
  const versions = await compactedVersions('cut');
  const compaction = versions.at(-1)!;
  expect(compaction).toMatchObject({ operation: 'compact', version: result.version + 1, rows: 200 });
  expect(compaction.segments).toBeLessThan(versions.at(-2)!.segments);
  expect(ids(await client.get('cut'))).toEqual([...Array.from({ length: 100 }, (_, i) => i), ...Array.from({ length: 100 }, (_, i) => 3_900 + i)]);
});

it('compacts in the background once an update leaves the frame fragmented', async () => {
  await client.put('fix', pieces(series(0, 4_000)));
  // The first 100 rows stay, the next 100 are replaced: two small segments before the rest.
  const summary = await client.put('fix', series(100, 100, 2), { mode: 'update' });
  const versions = await compactedVersions('fix');
  const compaction = versions.at(-1)!;
  expect(compaction).toMatchObject({ operation: 'compact', version: summary.version + 1, rows: 4_000 });
  expect(compaction.segments).toBeLessThan(versions.at(-2)!.segments);
  const read = await client.get('fix');
  expect(ids(read)).toEqual(Array.from({ length: 4_000 }, (_, i) => i));
  expect(pxs(read)).toEqual(Array.from({ length: 4_000 }, (_, s) => s * (s >= 100 && s < 200 ? 2 : 0.5)));
});
