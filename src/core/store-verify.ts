/**
 * Scrubbing a store (`hangar verify`): every manifest and stored object of the frames' current
 * versions (or of every kept version) is read whole and checked against its recorded CRC-32;
 * objects written before checksums are decoded instead, which finds what breaks their structure.
 * A frame whose current version is damaged can be repaired from an intact earlier version, as a
 * new version that references that version's objects (the restore a user would do, made safe:
 * the source is verified first, and the damaged manifest is not needed to commit it).
 */
import type { FrameStore } from '../storage/frame-store.js';
import { crc32, formatCrc32, parseCrc32 } from '../format/crc32.js';
import { ConflictError, DataLossError, NotFoundError } from '../errors.js';
import type { FrameManifest, SegmentEntry } from '../format/manifest.js';
import type { FrameRef } from '../names.js';
import type { ParquetCodec } from '../format/parquet/parquet-codec.js';

/** What to scrub, and whether to repair. */
export interface VerifyOptions {
  /** Only this bucket (default: every bucket). */
  readonly bucket?: string;
  /** Only this frame (within `bucket`, or in every bucket). */
  readonly frame?: string;
  /** Check every kept version, not only the current one. */
  readonly allVersions?: boolean;
  /**
   * Repair each frame whose current version is damaged from this version (a number, or `latest`:
   * the newest intact version before the current one), once that version is verified intact.
   */
  readonly repairFrom?: number | 'latest';
  /** Called after each frame (progress for long scrubs). */
  readonly onFrame?: (frame: FrameVerification) => void;
  /**
   * Where manifests and objects are read from, when not `connector` itself: an index's underlying
   * store (the SQLite catalog's), whose manifest files are the source of truth. Repairs still
   * commit through `connector`.
   */
  readonly readFrom?: FrameStore;
}

/** One damaged thing of a frame. */
export interface Damage {
  /** A manifest, a Parquet segment object or a dictionary sidecar. */
  readonly kind: 'manifest' | 'segment' | 'dictionaries';
  /** The object id (`v<N>` for a manifest). */
  readonly object: string;
  /** The versions checked that reference it. */
  readonly versions: readonly number[];
  /** What is wrong: the CRC mismatch, a missing object, a decode failure. */
  readonly why: string;
}

/** What a scrub found in one frame. */
export interface FrameVerification extends FrameRef {
  /** The frame's newest version (a deletion when `deleted`). */
  readonly current: number;
  /** The current version is a deletion: nothing of the frame is live. */
  readonly deleted: boolean;
  /** Versions checked, ascending, and which of them are intact. */
  readonly checked: readonly number[];
  readonly intact: readonly number[];
  readonly damage: readonly Damage[];
  /** Stored objects read whole, and their bytes. */
  readonly objects: number;
  readonly bytes: number;
  /** Objects written before checksums: decoded instead of checked (no CRC to compare). */
  readonly unchecksummed: number;
  /** The repair made (`version` is the new current one), or why none was made. */
  readonly repair?: { readonly from: number; readonly version: number } | { readonly refused: string };
}

/** What a scrub found. */
export interface VerifyReport {
  readonly frames: readonly FrameVerification[];
  /** Frames with any damage among the versions checked. */
  readonly damagedFrames: number;
  /** Frames repaired by `repairFrom`. */
  readonly repairedFrames: number;
  readonly objects: number;
  readonly bytes: number;
}

/** An object's check result, shared by every version referencing it. */
type ObjectCheck = { readonly ok: true; readonly bytes: number; readonly checksummed: boolean } | { readonly ok: false; readonly why: string };

/** Scrubs a store's frames, and repairs them when asked (see {@link VerifyOptions}). */
export async function verifyStore(connector: FrameStore, codec: ParquetCodec, options: VerifyOptions = {}): Promise<VerifyReport> {
  const reader = options.readFrom ?? connector;
  const buckets = options.bucket !== undefined ? [options.bucket] : (await reader.listBuckets()).sort();
  const frames: FrameVerification[] = [];
  for (const bucket of buckets) {
    const names = (await reader.listFrames(bucket)).sort();
    for (const name of names) {
      if (options.frame !== undefined && name !== options.frame) continue;
      const result = await new FrameScrub(reader, connector, codec, { bucket, name }).run(options);
      if (result) {
        frames.push(result);
        options.onFrame?.(result);
      }
    }
  }
  return {
    frames,
    damagedFrames: frames.filter((frame) => frame.damage.length > 0).length,
    repairedFrames: frames.filter((frame) => frame.repair && 'version' in frame.repair).length,
    objects: frames.reduce((sum, frame) => sum + frame.objects, 0),
    bytes: frames.reduce((sum, frame) => sum + frame.bytes, 0),
  };
}

/** The scrub of one frame: its versions' manifests and objects, each object read once. */
class FrameScrub {
  private readonly objectChecks = new Map<string, Promise<ObjectCheck>>();
  private readonly manifests = new Map<number, FrameManifest | { readonly damaged: string }>();
  private readonly damage = new Map<string, { kind: Damage['kind']; object: string; versions: Set<number>; why: string }>();
  /** Versions checked beyond those asked for (a repair's source candidates), and the intact ones among them. */
  private readonly checkedExtra = new Set<number>();
  private readonly extraIntact = new Set<number>();
  private objects = 0;
  private bytes = 0;
  private unchecksummed = 0;

  /**
   * @param connector - where manifests and objects are read
   * @param committer - where a repair commits (the same store, or an index around it)
   */
  constructor(
    private readonly connector: FrameStore,
    private readonly committer: FrameStore,
    private readonly codec: ParquetCodec,
    private readonly ref: FrameRef,
  ) {}

  /** Checks the frame's versions as `options` say, repairing when asked; undefined when it has none. */
  async run(options: VerifyOptions): Promise<FrameVerification | undefined> {
    const versions = await this.connector.listVersions(this.ref);
    const current = versions.at(-1);
    if (current === undefined) return undefined;
    const currentManifest = await this.manifest(current);
    const deleted = 'deleted' in currentManifest && currentManifest.deleted === true;
    const toCheck = options.allVersions ? versions : deleted ? [] : [current];
    const intact: number[] = [];
    for (const version of toCheck) if (await this.checkVersion(version)) intact.push(version);
    let repair: FrameVerification['repair'];
    if (options.repairFrom !== undefined && toCheck.includes(current) && !intact.includes(current)) {
      repair = await this.repair(options.repairFrom, versions, current, intact);
    }
    return {
      ...this.ref,
      current,
      deleted,
      checked: [...new Set([...toCheck, ...this.checkedExtra])].sort((a, b) => a - b),
      intact: [...new Set([...intact, ...this.extraIntact])].sort((a, b) => a - b),
      damage: [...this.damage.values()].map(({ versions: refs, ...rest }) => ({ ...rest, versions: [...refs].sort((a, b) => a - b) })),
      objects: this.objects,
      bytes: this.bytes,
      unchecksummed: this.unchecksummed,
      ...(repair ? { repair } : {}),
    };
  }

  private note(kind: Damage['kind'], object: string, version: number, why: string): void {
    const key = `${kind}:${object}`;
    const entry = this.damage.get(key) ?? { kind, object, versions: new Set<number>(), why };
    entry.versions.add(version);
    this.damage.set(key, entry);
  }

  /** A version's manifest, or why it is unreadable. */
  private async manifest(version: number): Promise<FrameManifest | { readonly damaged: string }> {
    let manifest = this.manifests.get(version);
    if (!manifest) {
      try {
        const read = await this.connector.getManifestVersion(this.ref, version);
        manifest = read ?? { damaged: 'its manifest is missing' };
      } catch (error) {
        if (!(error instanceof DataLossError)) throw error;
        manifest = { damaged: error.message };
      }
      this.manifests.set(version, manifest);
    }
    return manifest;
  }

  /** Checks one version whole; true when its manifest and every object it references are intact. */
  private async checkVersion(version: number): Promise<boolean> {
    const manifest = await this.manifest(version);
    if ('damaged' in manifest) {
      this.note('manifest', `v${version}`, version, manifest.damaged);
      return false;
    }
    let ok = true;
    for (const segment of manifest.segments) {
      const parquet = await this.checkObject(segment, 'segment');
      if (!parquet.ok) {
        this.note('segment', segment.id, version, parquet.why);
        ok = false;
      }
      if (segment.dictionaries) {
        const sidecar = await this.checkObject(segment, 'dictionaries');
        if (!sidecar.ok) {
          this.note('dictionaries', segment.dictionaries, version, sidecar.why);
          ok = false;
        }
      }
    }
    return ok;
  }

  private checkObject(segment: SegmentEntry, kind: 'segment' | 'dictionaries'): Promise<ObjectCheck> {
    const id = kind === 'segment' ? segment.id : segment.dictionaries!;
    let check = this.objectChecks.get(id);
    if (!check) {
      check = this.readAndCheck(segment, id, kind);
      this.objectChecks.set(id, check);
    }
    return check;
  }

  private async readAndCheck(segment: SegmentEntry, id: string, kind: 'segment' | 'dictionaries'): Promise<ObjectCheck> {
    let bytes: Uint8Array;
    try {
      bytes = await this.connector.getSegment(this.ref, id);
    } catch (error) {
      if (error instanceof NotFoundError) return { ok: false, why: 'the object is missing' };
      throw error;
    }
    this.objects++;
    this.bytes += bytes.byteLength;
    const expected = parseCrc32(kind === 'segment' ? segment.crc32 : segment.dictionariesCrc32);
    if (expected !== undefined) {
      const actual = crc32(bytes);
      return actual === expected
        ? { ok: true, bytes: bytes.byteLength, checksummed: true }
        : { ok: false, why: `its ${bytes.byteLength} bytes have CRC-32 ${formatCrc32(actual)}, the manifest records ${formatCrc32(expected)}` };
    }
    // Written before checksums: whatever decodes is accepted (a flipped value bit cannot be seen).
    this.unchecksummed++;
    if (kind === 'dictionaries') return { ok: true, bytes: bytes.byteLength, checksummed: false };
    if (kind === 'segment' && bytes.byteLength !== segment.storedBytes) {
      return { ok: false, why: `it has ${bytes.byteLength} bytes, the manifest records ${segment.storedBytes}` };
    }
    try {
      const groups = Array.from({ length: segment.rowGroups }, (_, group) => group);
      await this.codec.decode(bytes, { rowGroups: groups, batchRows: 1 << 20 }, true);
      return { ok: true, bytes: bytes.byteLength, checksummed: false };
    } catch (error) {
      return { ok: false, why: `it does not decode (${(error as Error).message})` };
    }
  }

  /** Makes an intact earlier version current again, as a new version. */
  private async repair(from: number | 'latest', versions: readonly number[], current: number, intact: readonly number[]): Promise<FrameVerification['repair']> {
    const candidates = from === 'latest' ? versions.filter((v) => v < current).reverse() : [from];
    if (from !== 'latest' && !versions.includes(from)) return { refused: `version ${from} is not kept (kept: ${versions.join(', ')})` };
    if (from !== 'latest' && from >= current) return { refused: `version ${from} is not earlier than the damaged current version ${current}` };
    for (const candidate of candidates) {
      const manifest = await this.manifest(candidate);
      if ('damaged' in manifest || manifest.deleted) {
        if (from !== 'latest') return { refused: `version ${candidate} is ${'damaged' in manifest ? 'damaged itself' : 'a deletion'}` };
        continue;
      }
      const ok = intact.includes(candidate) || (await this.checkVersion(candidate));
      this.checkedExtra.add(candidate);
      if (!ok) {
        if (from !== 'latest') return { refused: `version ${candidate} is damaged itself (see the damage listed)` };
        continue;
      }
      this.extraIntact.add(candidate);
      return this.commitRestore(manifest, candidate);
    }
    return { refused: 'no intact earlier version is kept' };
  }

  private async commitRestore(source: FrameManifest, from: number): Promise<FrameVerification['repair']> {
    const latest = (await this.committer.listVersions(this.ref)).at(-1) ?? 0;
    // Commit times never go backwards (as_of finds versions by time); a damaged latest manifest has none to go by.
    const previous = latest > 0 ? await this.manifest(latest) : undefined;
    const after = previous && !('damaged' in previous) ? Date.parse(previous.committedAt) + 1 : 0;
    const { version: _v, committedAt: _c, operation: _o, restoredFrom: _r, ...state } = source;
    const committedAt = new Date(Math.max(Date.now(), after)).toISOString();
    const manifest: FrameManifest = { ...state, format: 1, version: latest + 1, committedAt, operation: 'restore', restoredFrom: from };
    try {
      await this.committer.commitManifest(this.ref, manifest);
    } catch (error) {
      if (error instanceof ConflictError) return { refused: `another writer committed version ${latest + 1} meanwhile; run verify again` };
      throw error;
    }
    return { from, version: manifest.version };
  }
}
