/**
 * Every live stream of a store: opened (and their logs replayed) at start, created by the first
 * push, found by frame, rolled before reads so reads see every acknowledged entry, dropped with
 * their frame, and closed (rolled) at shutdown.
 */
import type { Schema } from 'apache-arrow';
import type { HangarEngine } from '../engine.js';
import { FailedPreconditionError, InvalidArgumentError, NotFoundError } from '../../errors.js';
import { type FrameRef, describeFrame } from '../../names.js';
import { LiveStream, type LiveStreamOptions, type StreamRetention } from './live-stream.js';
import { BINARY_ENTRY_SCHEMA, describeColumns, sameColumns } from './stream-batches.js';
import { type StreamDefinition, decodeDefinition, encodeDefinition } from './stream-definition.js';
import type { StreamStorage } from './stream-storage.js';

/** What a push asks of the stream it creates or finds. */
export interface StreamSpec {
  /** `binary` for opaque payloads, else the entries' Arrow schema. */
  readonly entries: Schema | 'binary';
  /** A retention to set (absent: keep the stream's). */
  readonly retention?: StreamRetention;
}

const key = (ref: FrameRef): string => `${ref.bucket}\u0000${ref.name}`;

/** The live streams of one store. */
export class StreamService {
  private readonly streams = new Map<string, Promise<LiveStream>>();
  /** Callers waiting for a stream to be created (blocking pulls of a stream nobody pushed to yet). */
  private readonly creationWaiters = new Map<string, Set<() => void>>();
  private closed = false;

  /**
   * @param engine - the raw engine (rolls are ordinary appends; reads of older entries are ordinary reads)
   * @param storage - where definitions and logs live, or undefined when the store cannot hold them
   */
  constructor(
    private readonly engine: HangarEngine,
    private readonly storage: StreamStorage | undefined,
    private readonly options: LiveStreamOptions = {},
  ) {}

  /** Opens every stream the storage holds, replaying their logs. */
  async open(): Promise<void> {
    if (!this.storage) return;
    for (const ref of await this.storage.list()) {
      const opening = this.openExisting(ref);
      this.streams.set(key(ref), opening);
      await opening;
    }
  }

  private async openExisting(ref: FrameRef): Promise<LiveStream> {
    const text = await this.storage!.readDefinition(ref);
    if (text === undefined) throw new NotFoundError(`${describeFrame(ref)} is not a stream`);
    const definition = decodeDefinition(text, `of ${describeFrame(ref)}`);
    return LiveStream.open(ref, definition.entrySchema, definition.retention, this.storage!.wal(ref), this.engine, this.options);
  }

  /** The stream of a frame, if the frame is one. */
  async find(ref: FrameRef): Promise<LiveStream | undefined> {
    return this.streams.get(key(ref));
  }

  /**
   * The stream of `ref`, waiting for its creation by a first push if it does not exist yet;
   * undefined if `signal` aborts first.
   */
  async whenCreated(ref: FrameRef, signal: AbortSignal): Promise<LiveStream | undefined> {
    for (;;) {
      const existing = await this.find(ref);
      if (existing) return existing;
      if (signal.aborted || this.closed) return undefined;
      await new Promise<void>((resolve) => {
        const waiters = this.creationWaiters.get(key(ref)) ?? new Set();
        this.creationWaiters.set(key(ref), waiters);
        const done = (): void => {
          waiters.delete(done);
          if (waiters.size === 0) this.creationWaiters.delete(key(ref));
          signal.removeEventListener('abort', done);
          resolve();
        };
        waiters.add(done);
        signal.addEventListener('abort', done, { once: true });
      });
    }
  }

  /** Whether a frame is a stream. */
  isStream(ref: FrameRef): boolean {
    return this.streams.has(key(ref));
  }

  /**
   * The stream a push goes to: found, or created (its definition written durably first). A
   * retention given replaces the stream's.
   * @throws InvalidArgumentError when the entries' columns differ from the stream's
   * @throws FailedPreconditionError when the frame exists and is not a stream, or the store cannot hold streams
   */
  async forPush(ref: FrameRef, spec: StreamSpec): Promise<LiveStream> {
    if (this.closed) throw new FailedPreconditionError('the server is shutting down; push again when it is back');
    const entrySchema = spec.entries === 'binary' ? BINARY_ENTRY_SCHEMA : spec.entries;
    let opening = this.streams.get(key(ref));
    if (!opening) {
      if (!this.storage) {
        throw new FailedPreconditionError('this store cannot hold streams: they need a store with a local directory or a byte-level object store (not a catalog or mounted store)');
      }
      opening = this.create(ref, spec.entries === 'binary' ? 'binary' : 'arrow', entrySchema, spec.retention ?? {});
      this.streams.set(key(ref), opening);
      opening.then(
        () => {
          for (const wake of this.creationWaiters.get(key(ref)) ?? []) wake();
        },
        () => this.streams.delete(key(ref)),
      );
    }
    const stream = await opening;
    if (!sameColumns(stream.entrySchema, entrySchema)) {
      throw new InvalidArgumentError(
        `${describeFrame(ref)} is a stream of entries (${describeColumns(stream.entrySchema)}); the push sends (${describeColumns(entrySchema)})`,
      );
    }
    if (spec.retention && JSON.stringify(spec.retention) !== JSON.stringify(stream.retentionPolicy)) {
      const stored = await this.storage!.readDefinition(ref);
      const previous = stored === undefined ? undefined : decodeDefinition(stored, `of ${describeFrame(ref)}`);
      const definition: StreamDefinition = {
        kind: spec.entries === 'binary' ? 'binary' : 'arrow',
        entrySchema: stream.entrySchema,
        retention: spec.retention,
        createdAt: previous?.createdAt ?? new Date().toISOString(),
      };
      await this.storage!.writeDefinition(ref, encodeDefinition(definition));
      stream.setRetention(spec.retention);
    }
    return stream;
  }

  private async create(ref: FrameRef, kind: 'arrow' | 'binary', entrySchema: Schema, retention: StreamRetention): Promise<LiveStream> {
    try {
      await this.engine.stat(ref);
      throw new FailedPreconditionError(`${describeFrame(ref)} exists and is not a stream; push to a new name, or delete the frame first`);
    } catch (error) {
      if (!(error instanceof NotFoundError)) throw error;
    }
    await this.storage!.writeDefinition(ref, encodeDefinition({ kind, entrySchema, retention, createdAt: new Date().toISOString() }));
    return LiveStream.open(ref, entrySchema, retention, this.storage!.wal(ref), this.engine, this.options);
  }

  /** Rolls the stream of `ref` (if it is one), so a read sees every acknowledged entry. */
  async settle(ref: FrameRef): Promise<void> {
    const stream = await this.streams.get(key(ref))?.catch(() => undefined);
    await stream?.roll();
  }

  /** Rolls every stream (before a query, which may name any frame). */
  async settleAll(): Promise<void> {
    await Promise.all([...this.streams.values()].map(async (opening) => (await opening.catch(() => undefined))?.roll()));
  }

  /** Drops the stream of `ref` (its log and definition); the frame itself is the caller's to delete. */
  async drop(ref: FrameRef): Promise<void> {
    const opening = this.streams.get(key(ref));
    if (!opening) return;
    this.streams.delete(key(ref));
    const stream = await opening.catch(() => undefined);
    await stream?.destroy();
    await this.storage?.drop(ref);
  }

  /** Drops every stream of a bucket (the bucket was deleted). */
  async dropBucket(bucket: string): Promise<void> {
    const refs = [...this.streams.keys()].map((k) => k.split('\u0000')).filter(([b]) => b === bucket);
    for (const [b, name] of refs) await this.drop({ bucket: b!, name: name! });
  }

  /** Streams open now. */
  async list(): Promise<LiveStream[]> {
    return Promise.all([...this.streams.values()]);
  }

  /** Ends the following tails of every stream (their calls finish normally), as shutdown begins. */
  endTails(): void {
    this.closed = true;
    for (const opening of this.streams.values()) void opening.then((stream) => stream.endTails(), () => undefined);
    for (const waiters of this.creationWaiters.values()) for (const wake of [...waiters]) wake();
  }

  /** Rolls and closes every stream (committed entries go to segments, so the next start has little to replay). */
  async close(): Promise<void> {
    this.closed = true;
    await Promise.all([...this.streams.values()].map(async (opening) => (await opening.catch(() => undefined))?.close()));
  }
}
