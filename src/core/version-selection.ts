/**
 * Time travel: finding the manifest of a frame at a given version number or instant. Every commit
 * (put, append, replace, delete, restore, compact) makes a version; old manifests stay until vacuum
 * removes them (see retention.ts), so a past state reads back exactly as it was.
 */
import type { FrameStore } from '../storage/frame-store.js';
import { InvalidArgumentError, NotFoundError } from '../errors.js';
import { type FrameManifest, liveManifest } from '../format/manifest.js';
import { type FrameRef, describeFrame } from '../names.js';

/** Which state of a frame to read: the current one (neither field), a version, or the one current at an instant. */
export interface VersionSelector {
  /** A version number (1 = the first commit). */
  readonly version?: number;
  /** An instant: the version current then (the highest committed at or before it). */
  readonly asOf?: Date;
  /** A snapshot of the frame's bucket: the version it holds (see snapshots.ts). */
  readonly snapshot?: string;
}

/** Whether the selector asks for anything but the current version. */
export function isTimeTravel(selector: VersionSelector): boolean {
  return selector.version !== undefined || selector.asOf !== undefined || selector.snapshot !== undefined;
}

/**
 * The manifest of an existing frame at the selected state.
 * @throws NotFoundError if the frame does not exist (then), the version was never made or is no
 *   longer kept, or the selected state is a deletion; InvalidArgumentError for time travel on a
 *   connector that keeps no versions, or for both `version` and `asOf`
 */
export async function selectManifest(connector: FrameStore, ref: FrameRef, selector: VersionSelector = {}): Promise<FrameManifest> {
  const { version, asOf, snapshot } = selector;
  if (snapshot !== undefined) {
    if (version !== undefined || asOf !== undefined) throw new InvalidArgumentError('give one of "version", "as_of" and "snapshot", not several');
    return manifestInSnapshot(connector, ref, snapshot);
  }
  if (version === undefined && asOf === undefined) {
    const manifest = liveManifest(await connector.getManifest(ref));
    if (!manifest) throw new NotFoundError(`${describeFrame(ref)} does not exist`);
    return manifest;
  }
  if (version !== undefined && asOf !== undefined) {
    throw new InvalidArgumentError('give either "version" or "as_of", not both');
  }
  return version !== undefined ? manifestOfVersion(connector, ref, version) : manifestAsOf(connector, ref, asOf!);
}

async function manifestOfVersion(connector: FrameStore, ref: FrameRef, version: number): Promise<FrameManifest> {
  const manifest = await connector.getManifestVersion(ref, version);
  if (!manifest) {
    const kept = await connector.listVersions(ref);
    const latest = kept.at(-1);
    if (latest === undefined) throw new NotFoundError(`${describeFrame(ref)} does not exist`);
    if (version > latest) throw new NotFoundError(`${describeFrame(ref)} has no version ${version} yet; its latest is ${latest}`);
    throw new NotFoundError(
      `version ${version} of ${describeFrame(ref)} is no longer kept (retention removed it); kept versions are ${describeVersions(kept)}`,
    );
  }
  if (manifest.deleted) throw new NotFoundError(`version ${version} of ${describeFrame(ref)} is its deletion; read an earlier version`);
  return manifest;
}

async function manifestInSnapshot(connector: FrameStore, ref: FrameRef, name: string): Promise<FrameManifest> {
  const snapshot = await connector.getSnapshot(ref.bucket, name);
  if (!snapshot) throw new NotFoundError(`bucket '${ref.bucket}' has no snapshot '${name}' (the "snapshots" action lists them)`);
  const version = snapshot.frames[ref.name];
  if (version === undefined) {
    const held = Object.keys(snapshot.frames);
    const listed = held.slice(0, 20).join(', ') + (held.length > 20 ? `, … (${held.length} frames)` : '');
    throw new NotFoundError(`snapshot '${name}' of bucket '${ref.bucket}' does not hold frame '${ref.name}'; it holds: ${listed || 'no frame'}`);
  }
  const manifest = await connector.getManifestVersion(ref, version);
  if (!manifest || manifest.deleted) {
    throw new NotFoundError(`version ${version} of ${describeFrame(ref)}, held by snapshot '${name}', is no longer stored (the frame was purged)`);
  }
  return manifest;
}

async function manifestAsOf(connector: FrameStore, ref: FrameRef, instant: Date): Promise<FrameManifest> {
  const versions = await connector.listVersions(ref);
  if (versions.length === 0) throw new NotFoundError(`${describeFrame(ref)} does not exist`);
  let oldest: FrameManifest | undefined;
  // Commit times grow with the version number, so the newest version committed by then is it.
  // Only the unbroken run of versions ending at the latest counts: below a gap (versions vacuum
  // removed while a snapshot kept an older one) the state at an instant is no longer known.
  for (let i = versions.length - 1; i >= 0 && (i === versions.length - 1 || versions[i]! + 1 === versions[i + 1]); i--) {
    const manifest = await connector.getManifestVersion(ref, versions[i]!);
    if (!manifest) continue; // removed by a concurrent vacuum
    oldest = manifest;
    if (Date.parse(manifest.committedAt) > instant.getTime()) continue;
    if (manifest.deleted) throw new NotFoundError(`${describeFrame(ref)} did not exist at ${instant.toISOString()} (deleted in version ${manifest.version})`);
    return manifest;
  }
  throw new NotFoundError(
    `${describeFrame(ref)} has no kept version as of ${instant.toISOString()}` +
      (oldest ? `; its oldest kept version, ${oldest.version}, was committed at ${oldest.committedAt}` : ''),
  );
}

/** "1–4, 7" style list of version numbers. */
function describeVersions(versions: readonly number[]): string {
  const parts: string[] = [];
  let start = versions[0]!;
  for (let i = 1; i <= versions.length; i++) {
    if (versions[i] === versions[i - 1]! + 1) continue;
    const end = versions[i - 1]!;
    parts.push(start === end ? String(start) : `${start}–${end}`);
    start = versions[i]!;
  }
  return parts.join(', ');
}
