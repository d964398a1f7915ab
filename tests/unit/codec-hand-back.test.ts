// The codec worker hands every transferred input back with its reply (an encode's IPC stream, a
// handed-over decode's file), so the pool's thread frees it; and the pool replaces a worker after
// its share of requests, so garbage its rarely-collected heap piles up is freed (the soak's RSS).
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { Table, Utf8, tableFromIPC, vectorFromArray } from 'apache-arrow';
import { afterAll, describe, expect, it } from 'vitest';
import { ParquetCodec } from '../../src/format/parquet/parquet-codec.js';
import type { CodecReply, CodecRequest } from '../../src/format/parquet/parquet-worker.js';
import { coveredTable, ipcOf } from './parquet-fixtures.js';

const WORKER = fileURLToPath(new URL('../../dist/format/parquet/parquet-worker.js', import.meta.url));

describe('codec worker: transferred inputs come back', () => {
  if (!existsSync(WORKER)) throw new Error(`the codec worker is not built (${WORKER}): run \`npm run build\` first`);
  const worker = new Worker(WORKER);
  afterAll(() => worker.terminate());
  const ask = (request: CodecRequest, transfer: ArrayBuffer[]): Promise<CodecReply> =>
    new Promise((resolve) => {
      const onReply = (reply: CodecReply): void => {
        if (reply.id !== request.id) return;
        worker.off('message', onReply);
        resolve(reply);
      };
      worker.on('message', onReply);
      worker.postMessage(request, transfer);
    });

  it('returns an encode its IPC stream and a handed-over decode its file, both intact', async () => {
    const ipc = ipcOf(coveredTable(5000, 7));
    const sent = ipc.slice().buffer as ArrayBuffer;
    const encoded = await ask({ op: 'encode', id: 1, ipc: sent, rowGroupRows: 1 << 20, dictionaryColumns: [], statisticsColumns: [], compression: 'none' }, [sent]);
    expect(sent.byteLength).toBe(0); // transferred away
    expect(encoded.ok).toBe(true);
    expect(new Uint8Array(encoded.input!)).toEqual(ipc);
    const file = new Uint8Array((encoded as { bytes: ArrayBuffer }).bytes);
    const copy = file.slice();
    const decoded = await ask({ op: 'decode', id: 2, parquet: file, returnInput: true, rowGroups: [0], batchRows: 1 << 16 }, [file.buffer as ArrayBuffer]);
    expect(decoded.ok).toBe(true);
    expect(new Uint8Array(decoded.input!)).toEqual(copy);
    expect(tableFromIPC(new Uint8Array((decoded as { bytes: ArrayBuffer }).bytes)).numRows).toBe(5000);
  });
});

describe('codec pool: workers are replaced after their share of requests', () => {
  it('retires an idle worker after N requests and keeps answering with a fresh one', async () => {
    const codec = new ParquetCodec(1, 3);
    try {
      const table = coveredTable(2000, 5);
      for (let round = 0; round < 7; round++) {
        const file = await codec.encode(ipcOf(table), { rowGroupRows: 1 << 20, dictionaryColumns: [], statisticsColumns: [], compression: 'none' });
        expect(tableFromIPC(await codec.decode(file, { rowGroups: [0], batchRows: 1 << 16 }, true)).numRows).toBe(2000);
      }
      // 14 requests, 3 per worker: retired after requests 3, 6, 9 and 12.
      expect(codec.recycledWorkers).toBe(4);
    } finally {
      await codec.close();
    }
  });
});

describe('codec pool: a segment encoded as runs', () => {
  it('returns a large string page in a buffer of its own; the runs are the file encodeSegment writes', async () => {
    const codec = new ParquetCodec(1);
    try {
      // ~600 KiB of strings: one page per column chunk, well over the size a page goes back as it is.
      const texts = Array.from({ length: 3000 }, (_, i) => `row ${i} `.repeat(20 + (i % 7)));
      const table = new Table({ text: vectorFromArray(texts, new Utf8()) });
      const options = { rowGroupRows: 1 << 20, dictionaryColumns: [], statisticsColumns: [], compression: 'none' as const };
      const whole = await codec.encodeSegment(ipcOf(table), options);
      const { parts, byteLength } = await codec.encodeSegmentParts(ipcOf(table), options);
      // A page alone in its buffer (not the file's other bytes joined with it).
      const pages = parts.filter((part) => part.byteLength >= 64 * 1024 && part.byteLength < byteLength && part.byteOffset === 0 && part.byteLength === part.buffer.byteLength);
      expect(pages.length).toBeGreaterThan(0);
      const joined = Buffer.concat(parts);
      expect(joined.byteLength).toBe(byteLength);
      expect(joined.equals(Buffer.from(whole.bytes))).toBe(true);
      const decoded = tableFromIPC(await codec.decode(new Uint8Array(joined), { rowGroups: [0], batchRows: 1 << 16 }));
      expect(decoded.getChild('text')!.toArray()).toEqual(texts);
    } finally {
      await codec.close();
    }
  });
});
