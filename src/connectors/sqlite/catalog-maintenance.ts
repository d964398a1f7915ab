/**
 * Offline maintenance of a SQLite catalog against its store: `rebuild` re-creates it from the
 * store's manifests, `check` reports where the two disagree and which segment objects are missing
 * or referenced by nothing. Neither ever deletes a stored object. Used by `hangar catalog`.
 */
import { segmentObjectIds } from '../../format/manifest.js';
import type { FrameRef } from '../../names.js';
import { mapLimited } from '../../storage/concurrency.js';
import type { CatalogAccess } from './sqlite-connector.js';

/** Frames worked on at once. */
const FRAME_CONCURRENCY = 8;

/** What a rebuild recorded. */
export interface CatalogRebuildSummary {
  readonly buckets: number;
  readonly frames: number;
  readonly versions: number;
}

/** Versions of one frame. */
export interface FrameVersions {
  readonly bucket: string;
  readonly name: string;
  readonly versions: readonly number[];
}

/** A segment object of a frame. */
export interface FrameObject {
  readonly bucket: string;
  readonly name: string;
  readonly id: string;
}

/** A segment object a kept manifest references but the store lacks. */
export interface MissingObject extends FrameObject {
  /** The kept versions that reference it. */
  readonly versions: readonly number[];
}

/** Where the catalog and the store disagree. Empty lists everywhere: they agree. */
export interface CatalogCheckReport {
  /** Frames checked (in the store, the catalog or both). */
  readonly frames: number;
  /** Buckets the catalog lists and the store does not. */
  readonly bucketsMissingInStore: readonly string[];
  /** Buckets the store has and the catalog does not list. */
  readonly bucketsMissingInCatalog: readonly string[];
  /** Versions in the catalog whose manifest is not in the store. */
  readonly versionsMissingInStore: readonly FrameVersions[];
  /** Manifests in the store that the catalog does not have. */
  readonly versionsMissingInCatalog: readonly FrameVersions[];
  /** Versions the catalog has with other content than the store's manifest. */
  readonly versionsDiffering: readonly FrameVersions[];
  /** Segment objects referenced by a kept manifest of the store but not stored. */
  readonly missingSegments: readonly MissingObject[];
  /** Stored segment objects that no kept manifest references (deleted by nothing: vacuum's job). */
  readonly orphanSegments: readonly FrameObject[];
  /** Frames re-synced from the store (only with `fix`). */
  readonly fixedFrames: number;
  /** Buckets added to or removed from the catalog (only with `fix`). */
  readonly fixedBuckets: number;
}

/** Options of a check. */
export interface CheckOptions {
  /** Re-sync the catalog from the store where they differ (the store is never changed). */
  readonly fix?: boolean;
}

/** Whether a report found no disagreement between catalog and store (orphans and missing segments aside). */
export function catalogAgrees(report: CatalogCheckReport): boolean {
  return (
    report.bucketsMissingInStore.length === 0 &&
    report.bucketsMissingInCatalog.length === 0 &&
    report.versionsMissingInStore.length === 0 &&
    report.versionsMissingInCatalog.length === 0 &&
    report.versionsDiffering.length === 0
  );
}

/** Empties the catalog, then records every kept manifest of every frame the store holds. */
export async function rebuildCatalog(access: CatalogAccess): Promise<CatalogRebuildSummary> {
  const { storage, catalog } = access;
  catalog.clear();
  const buckets = await storage.listBuckets();
  let frames = 0;
  let versions = 0;
  for (const bucket of buckets) {
    catalog.addBucket(bucket);
    const names = await storage.listFrames(bucket);
    await mapLimited(names, FRAME_CONCURRENCY, async (name) => {
      await access.resync({ bucket, name }, true);
      frames++;
      versions += catalog.versionNumbers(bucket, name).length;
    });
  }
  catalog.markFilled();
  return { buckets: buckets.length, frames, versions };
}

function difference<T>(items: Iterable<T>, minus: ReadonlySet<T>): T[] {
  return [...items].filter((item) => !minus.has(item));
}

/** Compares catalog and store frame by frame; with `fix`, re-syncs what differs. */
export async function checkCatalog(access: CatalogAccess, options: CheckOptions): Promise<CatalogCheckReport> {
  const { storage, catalog } = access;
  const storeBuckets = new Set(await storage.listBuckets());
  const catalogBuckets = new Set(catalog.buckets());
  const frames = new Map<string, FrameRef>();
  for (const ref of catalog.allFrames()) frames.set(`${ref.bucket}/${ref.name}`, ref);
  for (const bucket of storeBuckets) {
    for (const name of await storage.listFrames(bucket)) frames.set(`${bucket}/${name}`, { bucket, name });
  }
  const versionsMissingInStore: FrameVersions[] = [];
  const versionsMissingInCatalog: FrameVersions[] = [];
  const versionsDiffering: FrameVersions[] = [];
  const missingSegments: MissingObject[] = [];
  const orphanSegments: FrameObject[] = [];
  const toFix: { ref: FrameRef; full: boolean }[] = [];
  const refs = [...frames.values()].sort((a, b) => (a.bucket + '/' + a.name < b.bucket + '/' + b.name ? -1 : 1));
  await mapLimited(refs, FRAME_CONCURRENCY, async (ref) => {
    const { bucket, name } = ref;
    const stored = await storage.listVersions(ref);
    const storedSet = new Set(stored);
    const known = new Set(catalog.versionNumbers(bucket, name));
    const inCatalogOnly = difference(known, storedSet);
    const inStoreOnly = difference(stored, known);
    const differing: number[] = [];
    const references = new Map<string, number[]>();
    for (const version of stored) {
      const manifest = await storage.getManifestVersion(ref, version);
      if (!manifest) continue; // removed since the listing
      const row = catalog.version(bucket, name, version);
      if (row && row.text !== JSON.stringify(manifest)) differing.push(version);
      for (const id of segmentObjectIds(manifest.segments)) references.set(id, [...(references.get(id) ?? []), version]);
    }
    const objects = new Set((await storage.listSegmentObjects(ref)).map((object) => object.id));
    for (const [id, versions] of references) if (!objects.has(id)) missingSegments.push({ bucket, name, id, versions });
    for (const id of objects) if (!references.has(id)) orphanSegments.push({ bucket, name, id });
    if (inCatalogOnly.length > 0) versionsMissingInStore.push({ bucket, name, versions: inCatalogOnly });
    if (inStoreOnly.length > 0) versionsMissingInCatalog.push({ bucket, name, versions: inStoreOnly });
    if (differing.length > 0) versionsDiffering.push({ bucket, name, versions: differing });
    if (inCatalogOnly.length + inStoreOnly.length + differing.length > 0) toFix.push({ ref, full: differing.length > 0 });
  });
  const bucketsMissingInStore = difference(catalogBuckets, storeBuckets).sort();
  const bucketsMissingInCatalog = difference(storeBuckets, catalogBuckets).sort();
  let fixedFrames = 0;
  let fixedBuckets = 0;
  if (options.fix) {
    for (const bucket of bucketsMissingInCatalog) catalog.addBucket(bucket);
    for (const { ref, full } of toFix) {
      await access.resync(ref, full);
      fixedFrames++;
    }
    // Only the catalog's row goes: the store has no such bucket (its frames were re-synced away above).
    for (const bucket of bucketsMissingInStore) catalog.removeBucket(bucket);
    fixedBuckets = bucketsMissingInCatalog.length + bucketsMissingInStore.length;
  }
  const byFrame = <T extends { bucket: string; name: string }>(list: T[]): T[] =>
    list.sort((a, b) => (a.bucket === b.bucket ? (a.name < b.name ? -1 : a.name > b.name ? 1 : 0) : a.bucket < b.bucket ? -1 : 1));
  return {
    frames: frames.size,
    bucketsMissingInStore,
    bucketsMissingInCatalog,
    versionsMissingInStore: byFrame(versionsMissingInStore),
    versionsMissingInCatalog: byFrame(versionsMissingInCatalog),
    versionsDiffering: byFrame(versionsDiffering),
    missingSegments: byFrame(missingSegments),
    orphanSegments: byFrame(orphanSegments),
    fixedFrames,
    fixedBuckets,
  };
}
