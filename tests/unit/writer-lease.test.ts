// A store whose `ifAbsent` is atomic only within one process: the first write of a server takes the
// writer lease, a second server's writes are refused while it is held (reads are not), and the
// lease goes with a clean close or, after a crash, once it has not been renewed for its TTL.
import { expect, it } from 'vitest';
import { MemoryConnector } from '../../src/connectors/memory/memory-connector.js';
import { FailedPreconditionError } from '../../src/errors.js';
import type { FrameManifest } from '../../src/format/manifest.js';
import type { WriteConsistency } from '../../src/storage/connector.js';
import { ObjectLayout } from '../../src/storage/object-layout.js';
import { LEASE_TTL_MS, WRITER_LEASE_KEY, WriterLease } from '../../src/storage/writer-lease.js';

/** One shared memory store, seen by several "servers" as a store without atomic if-absent writes. */
class SharedStore extends MemoryConnector {
  override readonly consistency: WriteConsistency = 'single-process';
  override async close(): Promise<void> {}
}

const ref = { bucket: 'b', name: 'f' };
const manifest = (version: number): FrameManifest => ({
  format: 1, version, committedAt: new Date(Date.UTC(2026, 0, version)).toISOString(), schema: '', rows: version, bytes: 0, segments: [],
});

it('lets one server write at a time and a second one read meanwhile', async () => {
  const shared = new SharedStore();
  const first = new ObjectLayout(shared);
  const second = new ObjectLayout(shared);
  await first.open();
  await second.open();
  expect(first.capabilities.crossProcessCommits).toBe(false);
  await first.commitManifest(ref, manifest(1));
  const refused = await second.commitManifest(ref, manifest(2)).catch((error: unknown) => error);
  expect(refused).toBeInstanceOf(FailedPreconditionError);
  expect((refused as Error).message).toMatch(/being written by another Hangar server .*pid \d+.*stop that server first/);
  await expect(second.putSegment(ref, 's', Uint8Array.of(1))).rejects.toBeInstanceOf(FailedPreconditionError);
  expect((await second.getManifest(ref))?.version).toBe(1);
  await first.close();
  expect(await shared.get(WRITER_LEASE_KEY)).toBeUndefined();
  await second.commitManifest(ref, manifest(2));
  expect((await first.getManifest(ref))?.version).toBe(2);
  await second.close();
});

it('treats a lease not renewed within its TTL as left by a crashed server', async () => {
  const shared = new SharedStore();
  const crashed = await WriterLease.acquire(shared);
  const later = Date.now() + LEASE_TTL_MS + 1;
  await expect(WriterLease.acquire(shared)).rejects.toBeInstanceOf(FailedPreconditionError);
  const taken = await WriterLease.acquire(shared, later);
  await crashed.release(); // not its lease any more: it must leave the new holder's alone
  expect(await shared.get(WRITER_LEASE_KEY)).toBeDefined();
  await taken.release();
  expect(await shared.get(WRITER_LEASE_KEY)).toBeUndefined();
});

it('needs no lease on a store with atomic if-absent writes', async () => {
  const shared = new MemoryConnector();
  const [first, second] = [new ObjectLayout(shared), new ObjectLayout(shared)];
  await first.commitManifest(ref, manifest(1));
  await second.commitManifest(ref, manifest(2));
  expect(await shared.get(WRITER_LEASE_KEY)).toBeUndefined();
  expect(first.capabilities.crossProcessCommits).toBe(true);
});
