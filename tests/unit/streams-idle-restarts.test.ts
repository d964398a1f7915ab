/**
 * An idle stream restarted again and again (a clean close each time, nothing left to roll) keeps a
 * bounded log: recovery starts a fresh file each time, and the files holding only stored entries
 * are released at open (no roll would release them). Found in review: before, each restart left
 * one more full-size file, and each start read them all. The entry pushed first still reads back.
 */
import { mkdtemp, readdir, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { LocalConnector } from '../../src/connectors/local/local-connector.js';
import { ObjectLayout } from '../../src/storage/object-layout.js';
import { HangarEngine } from '../../src/core/engine.js';
import { ParquetCodec } from '../../src/format/parquet/parquet-codec.js';
import { LocalStreamStorage } from '../../src/core/streams/stream-storage.js';
import { StreamService } from '../../src/core/streams/stream-service.js';

async function walFiles(root: string): Promise<{ name: string; size: number }[]> {
  const out: { name: string; size: number }[] = [];
  for (const entry of await readdir(root, { recursive: true, withFileTypes: true })) {
    if (entry.isFile() && /^(wal-|recycle-)/.test(entry.name)) out.push({ name: entry.name, size: (await stat(join(entry.parentPath ?? (entry as unknown as { path: string }).path, entry.name))).size });
  }
  return out.sort((a, b) => a.name.localeCompare(b.name));
}

it('keeps the log bounded across restarts of an idle stream', async () => {
  const root = await mkdtemp(join(tmpdir(), 'review2-idle-'));
  const codec = new ParquetCodec();
  const layout = new ObjectLayout(new LocalConnector({ root }));
  await layout.open();
  const engine = new HangarEngine(layout, codec, {});
  const storage = new LocalStreamStorage(root, { fileBytes: 64 * 1024 });
  const ref = { bucket: 'live', name: 'idle' };
  let service = new StreamService(engine, storage, { rollIntervalMs: 60_000 });
  await service.open();
  const stream = await service.forPush(ref, { entries: 'binary' });
  await stream.appendBinary(Buffer.from('hello'), Int32Array.of(0, 5));
  await service.close();
  const counts: number[] = [];
  for (let restart = 0; restart < 6; restart++) {
    service = new StreamService(engine, storage, { rollIntervalMs: 60_000 });
    await service.open();
    await service.close();
    counts.push((await walFiles(root)).filter((f) => f.name.startsWith('wal-')).length);
  }
  for (const count of counts) expect(count).toBeLessThanOrEqual(2);
  const { rows } = await engine.stat(ref);
  expect(rows).toBe(1);
  await layout.close();
  await codec.close();
});
