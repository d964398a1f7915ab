// The crash trials' oracle: what a frame may look like after a kill -9 and a restart, given the
// operations its client saw acknowledged and the one (at most) that was in flight.
//
// A frame's history H = [h0, h1, …, hn] is its content (rows in order, or null when absent or
// deleted) after each acknowledged operation that changes it (put, append, replace, delete,
// restore), h0 being its content when the history began; hn is the acknowledged state. At most one
// operation p was in flight when the server died; its outcome, had it committed, is hp. After the
// restart the frame must satisfy:
//   1. its current content is hn or hp (anything older loses acknowledged writes; anything else
//      is data no put sent);
//   2. every version it lists reads back, and the contents of its kept versions, in version order,
//      run through H·[hp] in order: each is equal to the previous one (a compaction, or a version
//      of an unchanged state) or to a later entry of H·[hp] (no torn or mixed contents, no state
//      out of order, no resurrected in-flight write once it was known to have failed);
//   3. every version whose content is known (acknowledged with its number, or observed after an
//      earlier restart) reads back exactly that content while kept, and is kept if retention
//      (the newest `keepVersions`) must keep it; version numbers never go back;
//   4. the current read equals the newest kept version, and the frame is listed exactly when its
//      current content is not null.
import { createHash } from 'node:crypto';

/** A frame's rows (the unique integers its puts sent, in order), hashed for cheap comparison. */
export interface FrameState {
  readonly rows: Int32Array;
  /** SHA-1 of the rows: two states are equal exactly when their keys are. */
  readonly key: string;
}

/** A frame's content: its rows, or null when it does not exist or is deleted. */
export type FrameContent = FrameState | null;

/** A read that failed or returned inconsistent columns. */
export interface Unreadable {
  readonly unreadable: string;
}

/** One kept version as listed after the restart, with what reading it returned. */
export interface ObservedVersion {
  readonly version: number;
  readonly content: FrameContent | Unreadable;
}

/** What a frame looks like after the restart. */
export interface FrameObservation {
  /** Kept versions, ascending. */
  readonly versions: readonly ObservedVersion[];
  /** The current read (null: not found). */
  readonly current: FrameContent | Unreadable;
  /** Whether the frame appears in its bucket's listing. */
  readonly listed: boolean;
}

/** The oracle's judgement of one frame after one restart. */
export interface Verdict {
  /** Acknowledged writes not visible: older current content, or a kept-by-retention version missing or unreadable. */
  readonly lost: number;
  /** Content no put sent: a state outside the history, or states out of order. */
  readonly phantom: number;
  /** Unreadable or inconsistent data: a known version that changed, a read that fails or disagrees. */
  readonly torn: number;
  /** One line per finding. */
  readonly findings: readonly string[];
}

/** Makes a state from rows. */
export function frameState(rows: Int32Array): FrameState {
  return { rows, key: createHash('sha1').update(rows).digest('hex') };
}

/** Content equality (null only equals null). */
export function sameContent(a: FrameContent, b: FrameContent): boolean {
  return a === null || b === null ? a === b : a.key === b.key;
}

/** Whether a read failed. */
export function isUnreadable(content: FrameContent | Unreadable): content is Unreadable {
  return content !== null && 'unreadable' in content;
}

function describe(content: FrameContent | Unreadable): string {
  if (content === null) return 'absent';
  if (isUnreadable(content)) return `unreadable (${content.unreadable})`;
  const { rows } = content;
  return rows.length === 0 ? '0 rows' : `${rows.length} rows [${rows[0]}…${rows[rows.length - 1]}]`;
}

function keyOf(content: FrameContent): string {
  return content === null ? 'absent' : content.key;
}

/** The oracle's model of one frame: its history, its known versions and the operation in flight. */
export class FrameModel {
  /** History keys, oldest first; the last is the acknowledged state. */
  private readonly history: string[];
  /** The acknowledged state itself (its rows are needed to predict appends). */
  private acknowledged: FrameContent;
  /** Versions whose content is known, by number. */
  private readonly known = new Map<number, FrameContent>();
  /** The content the operation in flight would leave, if one is. */
  private inFlight: FrameContent | undefined;

  /** @param initial - the frame's content when the history begins (null: it does not exist) */
  constructor(initial: FrameContent = null) {
    this.acknowledged = initial;
    this.history = [keyOf(initial)];
  }

  /** The content after every acknowledged operation. */
  get state(): FrameContent {
    return this.acknowledged;
  }

  /** What the operation in flight would leave (undefined: none is in flight). */
  get inFlightContent(): FrameContent | undefined {
    return this.inFlight;
  }

  /** Known versions with their contents, ascending. */
  get knownVersions(): [number, FrameContent][] {
    return [...this.known].sort(([a], [b]) => a - b);
  }

  /** Records that an operation leaving `content` is being sent. */
  begin(content: FrameContent): void {
    this.inFlight = content;
  }

  /** Records that the operation begun last was acknowledged, committing `version` when the answer named one. */
  acknowledge(version?: number): void {
    if (this.inFlight === undefined) throw new Error('acknowledge() without begin()');
    const content = this.inFlight;
    this.inFlight = undefined;
    if (version !== undefined) this.known.set(version, content);
    if (!sameContent(content, this.acknowledged)) {
      this.history.push(keyOf(content));
      this.acknowledged = content;
    }
  }

  /** Records that the operation begun last was answered with an error that means it changed nothing. */
  refused(): void {
    this.inFlight = undefined;
  }

  /** Judges the frame after a restart against the rules in this module's header. */
  judge(observation: FrameObservation, keepVersions: number): Verdict {
    const findings: string[] = [];
    let lost = 0;
    let phantom = 0;
    let torn = 0;
    const inFlight = this.inFlight;
    const { current, versions, listed } = observation;

    // 1. The current content.
    if (isUnreadable(current)) {
      lost++;
      findings.push(`the current read fails: ${current.unreadable}`);
    } else if (!sameContent(current, this.acknowledged) && !(inFlight !== undefined && sameContent(current, inFlight))) {
      const older = this.history.lastIndexOf(keyOf(current));
      if (older >= 0) {
        lost += this.history.length - 1 - older;
        findings.push(`current content is ${describe(current)}, ${this.history.length - 1 - older} acknowledged operation(s) old; expected ${describe(this.acknowledged)}`);
      } else {
        phantom++;
        findings.push(`current content ${describe(current)} is no state any put left (expected ${describe(this.acknowledged)}${inFlight === undefined ? '' : ` or ${describe(inFlight)}`})`);
      }
    }

    // 4. The current read against the newest version, and the listing.
    const newest = versions.at(-1);
    if (!isUnreadable(current)) {
      const differs = newest === undefined ? current !== null : !isUnreadable(newest.content) && !sameContent(newest.content, current);
      if (differs) {
        torn++;
        findings.push(`the current read (${describe(current)}) differs from the newest version ${newest ? `${newest.version} (${describe(newest.content)})` : '(none listed)'}`);
      }
      if (listed !== (current !== null)) {
        if (listed) phantom++;
        else lost++;
        findings.push(listed ? 'the frame is listed but reads as absent' : `the frame reads as ${describe(current)} but is not listed`);
      }
    }

    // 3. Known versions.
    const latest = newest?.version ?? 0;
    const byNumber = new Map(versions.map((observed) => [observed.version, observed.content]));
    for (const [version, content] of this.known) {
      const observed = byNumber.get(version);
      if (observed === undefined) {
        if (version > latest - keepVersions) {
          lost++;
          findings.push(`version ${version} (${describe(content)}) is missing although retention keeps every version after ${latest - keepVersions}`);
        }
      } else if (isUnreadable(observed)) {
        lost++;
        findings.push(`version ${version} cannot be read: ${observed.unreadable}`);
      } else if (!sameContent(observed, content)) {
        torn++;
        findings.push(`version ${version} reads as ${describe(observed)}, was ${describe(content)}`);
      }
    }

    // 2. Kept versions run through the history in order.
    const allowed = inFlight === undefined ? this.history : [...this.history, keyOf(inFlight)];
    let position = -1;
    for (const { version, content } of versions) {
      if (isUnreadable(content)) {
        if (!this.known.has(version)) {
          torn++;
          findings.push(`version ${version} cannot be read: ${content.unreadable}`);
        }
        continue;
      }
      const key = keyOf(content);
      if (position >= 0 && allowed[position] === key) continue;
      const next = allowed.indexOf(key, position + 1);
      if (next < 0) {
        phantom++;
        findings.push(`version ${version} holds ${describe(content)}, ${allowed.includes(key) ? 'a state out of order' : 'no state any put left'}`);
      } else position = next;
    }
    return { lost, phantom, torn, findings };
  }

  /**
   * Continues the history from what the restart showed (after {@link FrameModel.judge}): the
   * in-flight operation counts as committed exactly when the current content is its outcome, and
   * the kept versions become the known ones. A frame with findings starts a new history from its
   * observed versions and current state, so one finding is not counted again at every later restart.
   */
  settle(observation: FrameObservation, verdict: Verdict): void {
    const current = isUnreadable(observation.current) ? this.acknowledged : observation.current;
    if (verdict.findings.length > 0) {
      const seen = observation.versions.flatMap(({ content }) => (isUnreadable(content) ? [] : [keyOf(content)]));
      this.history.splice(0, this.history.length, ...[...seen, keyOf(current)].filter((key, i, keys) => i === 0 || key !== keys[i - 1]));
      this.acknowledged = current;
    } else if (this.inFlight !== undefined && sameContent(current, this.inFlight) && !sameContent(current, this.acknowledged)) {
      this.history.push(keyOf(current));
      this.acknowledged = current;
    }
    this.inFlight = undefined;
    this.known.clear();
    for (const { version, content } of observation.versions) if (!isUnreadable(content)) this.known.set(version, content);
  }
}
