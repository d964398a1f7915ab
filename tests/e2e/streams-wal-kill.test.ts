/**
 * kill -9 of a process writing a stream's local log while its files are recycled: a child process
 * (the built log, dist/) appends 1,000-byte records to a log of 16 KiB files, releasing older
 * ones as rolls do (so released files become spares and then later files, still holding their
 * earlier records), prints each acknowledged record, and is SIGKILLed at a varying moment; the
 * log read back must hold every acknowledged record, in order, and nothing of an earlier use.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { pathToFileURL } from 'node:url';
import { afterAll, expect, it } from 'vitest';
import { LocalWal } from '../../src/core/streams/local-wal.js';

const BUILT_LOG = pathToFileURL(join(import.meta.dirname, '../../dist/core/streams/local-wal.js')).href;
const FILE_BYTES = 16 * 1024;

/** The child: appends groups of 1-3 records forever, printing `A seq` once each group is durable and `R seq` as it releases the records up to seq. */
const CHILD = `
const { LocalWal } = await import(process.env.BUILT_LOG);
const wal = new LocalWal(process.env.LOG_DIR, { fileBytes: ${FILE_BYTES}, spareFiles: 2 });
await wal.recover();
const record = (seq) => { const payload = Buffer.alloc(1000, seq % 251); payload.writeUInt32LE(seq, 0); return { lastId: { ms: 1700000000000, seq }, payload }; };
let seq = 0;
for (let group = 1; ; group++) {
  const records = Array.from({ length: 1 + (group % 3) }, () => record(++seq));
  await wal.append(records);
  process.stdout.write('A ' + seq + '\\n');
  // As a roll releases what it wrote, while appends go on.
  if (group % 7 === 0 && seq > 40) { const upTo = seq - 40; process.stdout.write('R ' + upTo + '\\n'); void wal.release({ ms: 1700000000000, seq: upTo }); }
}
`;

const roots: string[] = [];
afterAll(async () => {
  for (const root of roots) await rm(root, { recursive: true, force: true });
});

for (const killAfter of [300, 520, 777]) {
  it(`loses no acknowledged record when killed after ${killAfter} acknowledgements, and reads nothing of a recycled file's earlier use`, async () => {
    const dir = await mkdtemp(join(tmpdir(), 'hangar-wal-kill-'));
    roots.push(dir);
    const child = spawn(process.execPath, ['--input-type=module', '-e', CHILD], { env: { ...process.env, BUILT_LOG, LOG_DIR: dir }, stdio: ['ignore', 'pipe', 'inherit'] });
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    let acked = 0;
    let released = 0;
    await new Promise<void>((resolve) => {
      createInterface({ input: child.stdout }).on('line', (line) => {
        const [kind, value] = line.split(' ');
        if (kind === 'A') acked = Number(value);
        if (kind === 'R') released = Math.max(released, Number(value));
        if (acked >= killAfter && child.signalCode === null) {
          child.kill('SIGKILL');
          resolve();
        }
      });
      child.once('exit', () => resolve());
    });
    await exited;
    expect(child.signalCode).toBe('SIGKILL');
    expect(released).toBeGreaterThan(0);
    expect((await readdir(dir)).filter((name) => name.endsWith('.spare')).length + (await readdir(dir)).filter((name) => name.endsWith('.log')).length).toBeGreaterThan(1);

    const log = new LocalWal(dir, { fileBytes: FILE_BYTES, spareFiles: 2 });
    const records = await log.recover();
    await log.close();
    const seqs = records.map((record) => {
      const payload = Buffer.from(record.payload as Uint8Array);
      const seq = record.lastId.seq;
      expect(payload.readUInt32LE(0)).toBe(seq);
      expect(payload.subarray(4).every((byte) => byte === seq % 251)).toBe(true);
      return seq;
    });
    // Contiguous and in order, from at most just after the last release asked for to at least the last acknowledgement.
    expect(seqs[0]).toBeLessThanOrEqual(released + 1);
    expect(seqs.at(-1)).toBeGreaterThanOrEqual(acked);
    expect(seqs).toEqual(Array.from({ length: seqs.length }, (_, i) => seqs[0]! + i));
  });
}
