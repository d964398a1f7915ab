// SQL's segment files: each is checked against its recorded CRC-32 before DuckDB first reads it,
// and the record of checked files is bounded (it used to keep every file ever queried for the
// life of the process, vacuumed ones too): a file pushed out of it is checked again.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { crc32, formatCrc32 } from '../../src/format/crc32.js';
import { DataLossError } from '../../src/errors.js';
import type { SegmentEntry } from '../../src/format/manifest.js';
import { SegmentFiles } from '../../src/core/sql/segment-files.js';
import type { FrameStore } from '../../src/storage/frame-store.js';

const ref = { bucket: 'b', name: 'f' };

describe('SegmentFiles: checked files', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'hangar-segment-files-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('checks a file once, and again after 8,192 other files have pushed it out of the record', async () => {
    // A store that keeps segments as files in `dir` (read in place).
    const store = { segmentFile: (_ref: unknown, id: string) => join(dir, id), fileRoots: () => [dir] } as unknown as FrameStore;
    const files = new SegmentFiles(store, join(dir, 'cache'), 0);
    const entry = (bytes: Uint8Array): SegmentEntry => ({ id: 'x', rows: 1, bytes: bytes.byteLength, crc32: formatCrc32(crc32(bytes)) }) as unknown as SegmentEntry;
    const original = new TextEncoder().encode('segment zero');
    await writeFile(join(dir, 's0'), original);
    const check = { segment: entry(original), version: 1 };
    await files.pin(ref, 's0', check);
    // Damaged after its check: remembered as checked, so not read again.
    await writeFile(join(dir, 's0'), new TextEncoder().encode('segment zerO'));
    await expect(files.pin(ref, 's0', check)).resolves.toBe(join(dir, 's0'));
    for (let i = 1; i <= 8192; i++) {
      const bytes = new TextEncoder().encode(`segment ${i}`);
      await writeFile(join(dir, `s${i}`), bytes);
      await files.pin(ref, `s${i}`, { segment: entry(bytes), version: 1 });
    }
    // Forgotten: checked again, and the damage is found.
    await expect(files.pin(ref, 's0', check)).rejects.toBeInstanceOf(DataLossError);
  }, 60_000);
});
