// Live streams on S3 (moto): the write-ahead log is one chunk object per group commit, written with
// ifAbsent; a `hangar serve` killed with SIGKILL while 3 clients push loses no acknowledged entry.
// Needs dist/ (npm test builds it).
import { existsSync } from 'node:fs';
import { tableFromArrays } from 'apache-arrow';
import { describe, expect, it } from 'vitest';
import { HangarClient } from '../../src/client/index.js';
import { S3Connector } from '../../src/connectors/s3/s3-connector.js';
import { HANGAR_CLI, startHangarProcess } from '../helpers/hangar-process.js';
import { motoAvailable, motoForSuite, s3ServerEnv, storeOptions } from './s3-servers.js';

const BUCKET = 'hangar-streams';
const entry = (i: number) => tableFromArrays({ value: Float64Array.from([i]) });

describe.skipIf(!motoAvailable || !existsSync(HANGAR_CLI))('streams on S3', () => {
  const moto = motoForSuite(BUCKET);

  it('keeps every acknowledged entry through kill -9, with its log as ifAbsent chunk objects', async () => {
    const options = storeOptions(moto(), BUCKET, { conditionalWrites: 'on' });
    const location = `s3://${BUCKET}/${options.prefix}?endpoint=${encodeURIComponent(moto().endpoint)}&conditionalWrites=on`;
    const first = await startHangarProcess(['--data', location], s3ServerEnv(moto()));
    const client = HangarClient.connect(first.location);
    const acked: string[] = [];
    const pushers = Array.from({ length: 3 }, async (_, p) => {
      for (let i = 0; ; i++) {
        try {
          acked.push(...(await client.push('s', entry(p * 1000 + i))).flat());
        } catch {
          return;
        }
      }
    });
    while (acked.length < 60) await new Promise((resolve) => setTimeout(resolve, 10));
    const connector = new S3Connector(options);
    await connector.open();
    const chunks: string[] = [];
    for await (const object of connector.list('.streams/default/s/wal/')) chunks.push(object.key);
    expect(chunks.length).toBeGreaterThan(0); // not rolled yet (every 10 s): the entries are in log chunks
    await first.kill();
    await Promise.all(pushers);
    client.close();

    const second = await startHangarProcess(['--data', location], s3ServerEnv(moto()));
    const again = HangarClient.connect(second.location);
    try {
      const stored = new Set<string>();
      for await (const batch of again.tail('s', { after: '0', follow: false })) {
        for (let i = 0; i < batch.numRows; i++) stored.add(batch.getChild('_id')!.get(i) as string);
      }
      expect(acked.filter((id) => !stored.has(id))).toEqual([]);
      expect((await again.get('s')).numRows).toBe(stored.size);
    } finally {
      again.close();
      await second.kill();
      await connector.close();
    }
  }, 120_000);
});
