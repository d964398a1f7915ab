// The Delta log's expired-version markers are listed once and reused (EXPIRED_MARKERS_REUSE_MS), not
// listed on every version read: this server's own vacuum is seen at once; another server's within
// the reuse time, at once when a read finds the segments gone, and a frame another server deleted
// and re-created is listed again rather than shown with the old frame's expiries.
import { describe, expect, it } from 'vitest';
import { MemoryConnector } from '../../src/connectors/memory/memory-connector.js';
import type { ObjectInfo } from '../../src/storage/connector.js';
import { ObjectLayout } from '../../src/storage/object-layout.js';
import { manifest, ref } from '../../src/testing/fixtures.js';
import { NotFoundError } from '../../src/errors.js';

/** A memory store counting the listings of expired markers. */
class CountingConnector extends MemoryConnector {
  expiredListings = 0;
  override list(prefix: string): AsyncIterable<ObjectInfo> {
    if (prefix.endsWith('/_hangar/expired/')) this.expiredListings++;
    return super.list(prefix);
  }
}

const frame = ref('f');
const segment = (id: string) => ({ id, rows: 1, bytes: 1, storedBytes: 1, rowGroups: 1 });

async function threeVersions(layout: ObjectLayout): Promise<void> {
  for (let version = 1; version <= 3; version++) {
    await layout.putSegment(frame, `s${version}`, Uint8Array.of(version));
    await layout.commitManifest(frame, manifest(version, { rows: 1, segments: [segment(`s${version}`)] }));
  }
}

describe("the Delta log's expired-version markers", () => {
  it('are listed once for many version reads, and this server sees its own vacuum at once', async () => {
    const connector = new CountingConnector();
    const layout = new ObjectLayout(connector, { log: 'delta', expiredMarkersReuseMs: 60_000 });
    await threeVersions(layout);
    const before = connector.expiredListings;
    for (let i = 0; i < 10; i++) {
      expect(await layout.listVersions(frame)).toEqual([1, 2, 3]);
      expect((await layout.getManifestVersion(frame, 2))?.version).toBe(2);
    }
    expect(connector.expiredListings - before).toBe(1);
    await layout.deleteManifests(frame, [1, 2]);
    expect(await layout.listVersions(frame)).toEqual([3]);
    expect(await layout.getManifestVersion(frame, 2)).toBeUndefined();
  });

  it("show another server's vacuum within the reuse time, or at once when a read finds a version's segments gone", async () => {
    const connector = new MemoryConnector();
    const writer = new ObjectLayout(connector, { log: 'delta' });
    const reader = new ObjectLayout(connector, { log: 'delta', expiredMarkersReuseMs: 60_000 });
    const uncached = new ObjectLayout(connector, { log: 'delta', expiredMarkersReuseMs: 0 });
    await threeVersions(writer);
    expect(await reader.listVersions(frame)).toEqual([1, 2, 3]);
    expect(await uncached.listVersions(frame)).toEqual([1, 2, 3]);
    await writer.deleteManifests(frame, [1]);
    await writer.deleteSegments(frame, ['s1']);
    expect(await uncached.listVersions(frame)).toEqual([2, 3]);
    // The reused listing misses the expiry: the version's manifest is still offered, its data is not.
    expect((await reader.getManifestVersion(frame, 1))?.version).toBe(1);
    await expect(reader.getSegment(frame, 's1')).rejects.toBeInstanceOf(NotFoundError);
    // That read dropped the listing: the next sees the expiry.
    expect(await reader.getManifestVersion(frame, 1)).toBeUndefined();
    expect(await reader.listVersions(frame)).toEqual([2, 3]);
  });

  it("are listed again for a frame another server deleted and re-created, not applied to the new frame's versions", async () => {
    const connector = new MemoryConnector();
    const other = new ObjectLayout(connector, { log: 'delta' });
    const reader = new ObjectLayout(connector, { log: 'delta', expiredMarkersReuseMs: 60_000 });
    await threeVersions(other);
    await other.deleteManifests(frame, [1, 2]);
    expect(await reader.listVersions(frame)).toEqual([3]);
    await other.deleteFrame(frame);
    await other.commitManifest(frame, manifest(1, { rows: 0 }));
    await other.commitManifest(frame, manifest(2, { rows: 0 }));
    expect(await reader.listVersions(frame)).toEqual([1, 2]);
    expect((await reader.getManifest(frame))?.version).toBe(2);
  });
});
