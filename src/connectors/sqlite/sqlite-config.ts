/**
 * Options of the SQLite connector and how they are read from a `sqlite:` location. The URL form
 * is documented in docs/connectors.md#sqlite-options.
 */
import { basename, dirname, extname, join, resolve } from 'node:path';
import { InvalidArgumentError } from '../../errors.js';
import type { Connector } from '../../storage/connector.js';
import type { FrameStore } from '../../storage/frame-store.js';

/** Options of the SQLite connector. */
export interface SqliteConnectorOptions {
  /** Path of the catalog database file (created if missing, with its directory). */
  readonly catalog: string;
  /** The store holding segments and manifest files (a LocalConnector, S3Connector, …); the source of truth. */
  readonly storage: Connector | FrameStore;
  /**
   * Catalog transactions are durable on power loss (`synchronous=FULL`, default true); false uses
   * `NORMAL` (durable across process crashes only). Independent of the storage connector's own fsync.
   */
  readonly fsync?: boolean;
  /** How long a catalog statement waits for another process's write lock, in milliseconds (default 5000). */
  readonly busyTimeoutMs?: number;
  /** Decoded manifests kept in memory, by catalog row: between this many and twice as many (default 100,000; a few hundred bytes each for small frames). */
  readonly cachedManifests?: number;
}

/** A `sqlite:` location, parsed: the catalog file, the storage location and the catalog's options. */
export interface SqliteLocation {
  /** Absolute path of the catalog database. */
  readonly catalog: string;
  /** The storage connector's location (a directory, `file:///…` or `s3://…`). */
  readonly data: string;
  readonly fsync?: boolean;
  readonly busyTimeoutMs?: number;
}

/** The default storage directory of a catalog: `<catalog dir>/<catalog name without extension>-data`. */
export function defaultDataDirectory(catalog: string): string {
  return join(dirname(catalog), `${basename(catalog, extname(catalog))}-data`);
}

function booleanParameter(name: string, value: string): boolean {
  if (value === 'true' || value === '1') return true;
  if (value === 'false' || value === '0') return false;
  throw new InvalidArgumentError(`sqlite location parameter ${name} must be true or false, got ${JSON.stringify(value)}`);
}

/**
 * Reads `sqlite:///abs/catalog.db[?fsync=…&busyTimeoutMs=…][&data=LOCATION]` (or
 * `sqlite:relative/catalog.db…`). `data` must be the last parameter: everything after `data=` is
 * the storage location verbatim, so an S3 location keeps its own `?` and `&` unescaped
 * (`sqlite:///var/hangar/catalog.db?data=s3://bucket/prefix?endpoint=http://127.0.0.1:9000`).
 * A fully percent-encoded value (no `:` or `/`) is decoded. Without `data`, segments go to
 * {@link defaultDataDirectory}.
 * @throws InvalidArgumentError for a host, a missing path, an unknown parameter, or a nested sqlite/memory storage
 */
export function sqliteLocationFromUrl(url: URL): SqliteLocation {
  if (url.host !== '' || url.username || url.password) {
    throw new InvalidArgumentError(`a sqlite location names a local file: sqlite:///path/catalog.db, not ${JSON.stringify(url.href)}`);
  }
  const path = decodeURIComponent(url.pathname);
  if (path === '' || path.endsWith('/')) {
    throw new InvalidArgumentError(`the sqlite location ${JSON.stringify(url.href)} names no catalog file`);
  }
  const catalog = resolve(path);
  const query = url.search.slice(1);
  const dataAt = /(^|&)data=/.exec(query);
  const own = dataAt ? query.slice(0, dataAt.index) : query;
  let data = dataAt ? query.slice(dataAt.index + dataAt[0].length) : undefined;
  if (data !== undefined && !/[:/]/.test(data)) data = decodeURIComponent(data);
  if (data === '') throw new InvalidArgumentError('the sqlite location parameter data is empty');
  if (data !== undefined && /^(sqlite|memory):/i.test(data)) {
    throw new InvalidArgumentError(`the storage of a sqlite catalog must be a directory, file:///… or s3://…, not ${JSON.stringify(data)}`);
  }
  const location: { -readonly [K in keyof SqliteLocation]: SqliteLocation[K] } = { catalog, data: data ?? defaultDataDirectory(catalog) };
  for (const [name, value] of new URLSearchParams(own)) {
    switch (name) {
      case 'fsync':
        location.fsync = booleanParameter(name, value);
        break;
      case 'busyTimeoutMs': {
        const timeout = Number(value);
        if (!Number.isSafeInteger(timeout) || timeout < 0) {
          throw new InvalidArgumentError(`sqlite location parameter busyTimeoutMs must be an integer ≥ 0, got ${JSON.stringify(value)}`);
        }
        location.busyTimeoutMs = timeout;
        break;
      }
      default:
        throw new InvalidArgumentError(`unknown sqlite location parameter '${name}'; see docs/connectors.md`);
    }
  }
  return location;
}
