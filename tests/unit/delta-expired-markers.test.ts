// Vacuum under the Delta log hides expired versions with markers and then deletes their segments:
// the markers must be on disk when vacuum returns, not staged until the next commit (a server killed
// in between lost them, leaving listed versions without data; found by the crash trials).
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { LocalConnector } from '../../src/connectors/local/local-connector.js';
import { HangarEngine } from '../../src/core/engine.js';
import { ParquetCodec } from '../../src/format/parquet/parquet-codec.js';
import { ObjectLayout } from '../../src/storage/object-layout.js';
import { messagesOf, ref, sampleTable } from '../../src/testing/fixtures.js';

describe('expired-version markers of the Delta log', () => {
  const codec = new ParquetCodec(1);
  const roots: string[] = [];
  afterAll(async () => {
    await codec.close();
    for (const root of roots) await rm(root, { recursive: true, force: true });
  });

  it('are on disk when vacuum returns, before any later commit', async () => {
    const root = await mkdtemp(join(tmpdir(), 'hangar-expired-'));
    roots.push(root);
    const layout = new ObjectLayout(new LocalConnector({ root }), { log: 'delta' });
    await layout.open();
    const engine = new HangarEngine(layout, codec, { compactThreshold: 0, retention: { keepVersions: 1, keepForMs: 0, graceMs: 0 } });
    const frame = ref('f');
    await engine.put(frame, 'error', messagesOf(sampleTable(50)));
    await engine.put(frame, 'replace', messagesOf(sampleTable(60)));
    const report = await engine.vacuum({ bucket: frame.bucket, name: frame.name });
    expect(report.versionsRemoved).toBe(1);
    // The marker is published at its key now (a process killed here keeps it).
    expect(existsSync(join(root, frame.bucket, frame.name, '_hangar', 'expired', '000000000001'))).toBe(true);
    await engine.close();
    // A fresh server sees version 1 as expired, not as a version without its data.
    const again = new ObjectLayout(new LocalConnector({ root }), { log: 'delta' });
    await again.open();
    expect(await again.listVersions(frame)).toEqual([2]);
    await again.close();
  });
});
