/**
 * `hangar migrate`: gives every frame of a store written in the manifest layout its Delta log
 * (docs/open-format.md), in place, over the same byte store. Idempotent and resumable: each Delta
 * commit is created with `ifAbsent` and an existing one is skipped, so a run stopped at any point
 * is finished by the next. At the end the store's `~layout` marker names the Delta log, so servers
 * started without `HANGAR_LAYOUT` serve it so. The manifests stay, so the store can still be served
 * in the manifest layout (`HANGAR_LAYOUT=manifest`) until the first Delta write; data files are
 * shared, never copied.
 */
import type { FrameManifest } from '../format/manifest.js';
import type { FrameRef } from '../names.js';
import type { Connector } from './connector.js';
import { ObjectLayout, writeLayoutMarker } from './object-layout.js';

/** What a migration did. */
export interface DeltaMigrationReport {
  /** Frames looked at. */
  readonly frames: number;
  /** Delta commits written by this run (of kept versions and of placeholders). */
  readonly commitsWritten: number;
  /** Delta commits that existed already (an earlier run's). */
  readonly commitsSkipped: number;
  /** Versions vacuum had removed, written as empty placeholder commits marked expired. */
  readonly placeholders: number;
}

/** Progress callback: one call per frame done. */
export type MigrationProgress = (ref: FrameRef, report: DeltaMigrationReport) => void;

/**
 * A version vacuum already removed: Delta engines replay the log from version 0, so it gets an
 * empty commit (no files, the next kept version's schema and time) that Hangar never shows.
 */
function placeholder(version: number, next: FrameManifest): FrameManifest {
  return { format: 1, version, committedAt: next.committedAt, schema: next.schema, rows: 0, bytes: 0, segments: [], operation: 'delete', deleted: true };
}

/**
 * Migrates every frame of every bucket of an opened byte store to the Delta log layout.
 * Stop servers writing to the store first (a commit made meanwhile in the manifest layout is
 * picked up by running the migration again).
 */
export async function migrateToDeltaLog(connector: Connector, progress?: MigrationProgress): Promise<DeltaMigrationReport> {
  const manifests = new ObjectLayout(connector, { log: 'hangar' });
  const delta = new ObjectLayout(connector, { log: 'delta' });
  const total = { frames: 0, commitsWritten: 0, commitsSkipped: 0, placeholders: 0 };
  const refs: FrameRef[] = [];
  for (const bucket of await manifests.listBuckets()) {
    for (const name of await manifests.listFrames(bucket)) refs.push({ bucket, name });
  }
  // Until every frame has its log the store stays marked as manifests (an unmarked store would be
  // marked Delta by the first Delta commit), so a server started meanwhile serves it as it was.
  if (refs.length > 0) await writeLayoutMarker(connector, 'hangar', { ifAbsent: true });
  for (const ref of refs) {
    const frame = await migrateFrame(manifests, delta, ref);
    total.frames++;
    total.commitsWritten += frame.commitsWritten;
    total.commitsSkipped += frame.commitsSkipped;
    total.placeholders += frame.placeholders;
    progress?.(ref, { frames: 1, ...frame });
  }
  // Every frame has its Delta log now: servers started without HANGAR_LAYOUT serve the store with it.
  await writeLayoutMarker(connector, 'delta');
  return total;
}

async function migrateFrame(manifests: ObjectLayout, delta: ObjectLayout, ref: FrameRef): Promise<Omit<DeltaMigrationReport, 'frames'>> {
  const kept = await manifests.listVersions(ref);
  const done = new Set(await delta.listLogVersions(ref));
  const report = { commitsWritten: 0, commitsSkipped: 0, placeholders: 0 };
  const keptSet = new Set(kept);
  let next: FrameManifest | undefined;
  for (let version = 1; version <= (kept.at(-1) ?? 0); version++) {
    if (done.has(version)) {
      report.commitsSkipped++;
      continue;
    }
    if (keptSet.has(version)) {
      const manifest = await manifests.getManifestVersion(ref, version);
      if (!manifest) throw new Error(`version ${version} of frame '${ref.name}' in bucket '${ref.bucket}' disappeared during the migration (a vacuum?); run it again`);
      await delta.commitManifest(ref, manifest);
    } else {
      const after = kept.find((candidate) => candidate > version)!;
      if (next?.version !== after) next = await manifests.getManifestVersion(ref, after);
      if (!next) throw new Error(`version ${after} of frame '${ref.name}' in bucket '${ref.bucket}' disappeared during the migration (a vacuum?); run it again`);
      await delta.markExpired(ref, version);
      await delta.commitManifest(ref, placeholder(version, next));
      report.placeholders++;
    }
    report.commitsWritten++;
  }
  return report;
}
