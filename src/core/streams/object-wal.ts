/**
 * A write-ahead log on an object store: each group commit is one chunk object written with
 * `ifAbsent` (durable once the store acknowledges the put), named by a counter so a listing replays
 * them in order. A chunk that already exists means another process writes this stream: refused.
 */
import { FailedPreconditionError } from '../../errors.js';
import { compareStreamIds, type StreamId } from './stream-id.js';
import { frameRecords, scanRecords } from './wal-framing.js';
import { type WalRecord, type WriteAheadLog, decodeWalRecord, encodeWalRecord } from './write-ahead-log.js';

/** The byte-store operations the log needs (a `Connector` has them). */
export interface WalObjectStore {
  get(key: string): Promise<Uint8Array | undefined>;
  put(key: string, data: Uint8Array, options?: { readonly ifAbsent?: boolean }): Promise<boolean>;
  delete(keys: readonly string[]): Promise<void>;
  list(prefix: string): AsyncIterable<{ readonly key: string }>;
}

const CHUNK_DIGITS = 16;

/** A stream's log as chunk objects under a prefix. */
export class ObjectWal implements WriteAheadLog {
  private readonly chunks: { key: string; counter: number; lastId: StreamId }[] = [];
  private counter = 0;

  /** @param prefix - the stream's log prefix, ending in `/` */
  constructor(
    private readonly store: WalObjectStore,
    private readonly prefix: string,
  ) {}

  /** @inheritdoc */
  async recover(): Promise<WalRecord[]> {
    const keys: string[] = [];
    for await (const object of this.store.list(this.prefix)) keys.push(object.key);
    keys.sort();
    const records: WalRecord[] = [];
    for (const key of keys) {
      const counter = Number(key.slice(this.prefix.length));
      if (!Number.isSafeInteger(counter)) continue;
      const bytes = await this.store.get(key);
      if (!bytes) continue;
      const chunkRecords = scanRecords(bytes).payloads.map(decodeWalRecord);
      records.push(...chunkRecords);
      const lastId = chunkRecords.at(-1)?.lastId;
      if (lastId) this.chunks.push({ key, counter, lastId });
      this.counter = Math.max(this.counter, counter);
    }
    return records;
  }

  /** @inheritdoc */
  async append(records: readonly WalRecord[]): Promise<void> {
    const counter = this.counter + 1;
    const key = `${this.prefix}${String(counter).padStart(CHUNK_DIGITS, '0')}`;
    const written = await this.store.put(key, frameRecords(records.map(encodeWalRecord)), { ifAbsent: true });
    if (!written) {
      throw new FailedPreconditionError(`the stream's log chunk ${key} exists already: another server writes this stream; only one may`);
    }
    this.counter = counter;
    this.chunks.push({ key, counter, lastId: records.at(-1)!.lastId });
  }

  /** @inheritdoc */
  async release(id: StreamId): Promise<void> {
    const released: string[] = [];
    while (this.chunks.length > 0 && compareStreamIds(this.chunks[0]!.lastId, id) <= 0) released.push(this.chunks.shift()!.key);
    if (released.length > 0) await this.store.delete(released);
  }

  /** @inheritdoc */
  async close(): Promise<void> {}

  /** @inheritdoc */
  async destroy(): Promise<void> {
    const keys: string[] = [];
    for await (const object of this.store.list(this.prefix)) keys.push(object.key);
    if (keys.length > 0) await this.store.delete(keys);
    this.chunks.length = 0;
  }
}
