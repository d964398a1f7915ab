/**
 * Where streams keep their definitions and logs, beside the frames: under `.streams/` of the store's
 * root (a local directory: preallocated log files; an object store: log chunk objects). `.streams`
 * can never be a bucket (names do not start with a dot), so the layout never sees it.
 */
import { mkdir, open, readFile, readdir, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { FrameRef } from '../../names.js';
import { LocalWal, type LocalWalOptions } from './local-wal.js';
import { ObjectWal, type WalObjectStore } from './object-wal.js';
import type { WriteAheadLog } from './write-ahead-log.js';

/** The folder (or key prefix) holding every stream. */
export const STREAMS_FOLDER = '.streams';
const DEFINITION = 'stream.json';

/** A stream's definition and log storage. */
export interface StreamStorage {
  /** Every stream that has a definition. */
  list(): Promise<FrameRef[]>;
  /** The stream's definition (JSON text), if it has one. */
  readDefinition(ref: FrameRef): Promise<string | undefined>;
  /** Writes the definition durably (before any entry of a new stream is acknowledged). */
  writeDefinition(ref: FrameRef, json: string): Promise<void>;
  /** The stream's log. */
  wal(ref: FrameRef): WriteAheadLog;
  /** Removes the definition and the log. */
  drop(ref: FrameRef): Promise<void>;
}

/** Streams in a local directory: `<root>/.streams/<bucket>/<name>/{stream.json, wal-*.log, recycle-*.spare}`. */
export class LocalStreamStorage implements StreamStorage {
  private readonly root: string;

  /** @param storeRoot - the store's root directory */
  constructor(storeRoot: string, private readonly walOptions: LocalWalOptions = {}) {
    this.root = join(storeRoot, STREAMS_FOLDER);
  }

  private directory(ref: FrameRef): string {
    return join(this.root, ref.bucket, ref.name);
  }

  /** @inheritdoc */
  async list(): Promise<FrameRef[]> {
    const refs: FrameRef[] = [];
    const buckets = await readdir(this.root).catch(() => [] as string[]);
    for (const bucket of buckets) {
      for (const name of await readdir(join(this.root, bucket)).catch(() => [] as string[])) {
        const ref = { bucket, name };
        if ((await this.readDefinition(ref)) !== undefined) refs.push(ref);
      }
    }
    return refs;
  }

  /** @inheritdoc */
  async readDefinition(ref: FrameRef): Promise<string | undefined> {
    return readFile(join(this.directory(ref), DEFINITION), 'utf8').catch(() => undefined);
  }

  /** @inheritdoc */
  async writeDefinition(ref: FrameRef, json: string): Promise<void> {
    const directory = this.directory(ref);
    await mkdir(directory, { recursive: true });
    const staging = join(directory, `${DEFINITION}.tmp`);
    const file = await open(staging, 'w');
    try {
      await file.writeFile(json);
      await file.sync();
    } finally {
      await file.close();
    }
    await rename(staging, join(directory, DEFINITION));
    const folder = await open(directory, 'r');
    await folder.sync().finally(() => folder.close());
  }

  /** @inheritdoc */
  wal(ref: FrameRef): WriteAheadLog {
    return new LocalWal(this.directory(ref), this.walOptions);
  }

  /** @inheritdoc */
  async drop(ref: FrameRef): Promise<void> {
    await rm(this.directory(ref), { recursive: true, force: true });
  }
}

/** Streams on an object store: `.streams/<bucket>/<name>/stream.json` and `…/wal/<counter>` chunks. */
export class ObjectStreamStorage implements StreamStorage {
  constructor(private readonly store: WalObjectStore) {}

  private prefix(ref: FrameRef): string {
    return `${STREAMS_FOLDER}/${ref.bucket}/${ref.name}/`;
  }

  /** @inheritdoc */
  async list(): Promise<FrameRef[]> {
    const refs: FrameRef[] = [];
    for await (const object of this.store.list(`${STREAMS_FOLDER}/`)) {
      const parts = object.key.split('/');
      if (parts.length === 4 && parts[3] === DEFINITION) refs.push({ bucket: parts[1]!, name: parts[2]! });
    }
    return refs;
  }

  /** @inheritdoc */
  async readDefinition(ref: FrameRef): Promise<string | undefined> {
    const bytes = await this.store.get(`${this.prefix(ref)}${DEFINITION}`);
    return bytes ? Buffer.from(bytes).toString('utf8') : undefined;
  }

  /** @inheritdoc */
  async writeDefinition(ref: FrameRef, json: string): Promise<void> {
    await this.store.put(`${this.prefix(ref)}${DEFINITION}`, Buffer.from(json, 'utf8'));
  }

  /** @inheritdoc */
  wal(ref: FrameRef): WriteAheadLog {
    return new ObjectWal(this.store, `${this.prefix(ref)}wal/`);
  }

  /** @inheritdoc */
  async drop(ref: FrameRef): Promise<void> {
    const keys: string[] = [];
    for await (const object of this.store.list(this.prefix(ref))) keys.push(object.key);
    if (keys.length > 0) await this.store.delete(keys);
  }
}
