/**
 * A complete custom connector (docs/custom-connectors.md): Hangar's objects in Redis, through the
 * `redis` package. Serve it with `hangar serve --data redis://HOST:6379?prefix=hangar: --plugin …`.
 */
import { Connector, HangarError, type ObjectInfo, type PutOptions, StorageError, StoreFullError } from 'hangar';
import { RESP_TYPES, createClient } from 'redis';

/** A value is the object's write time (epoch ms, float64) and then its bytes: one SET writes both. */
const HEADER = 8;

/**
 * A client that returns bulk strings as Buffers (binary values), not as UTF-8 text. A first
 * connection that fails fails `open`; a lost one is retried, and commands fail meanwhile (no queue).
 */
function clientFor(url: string) {
  let connected = false;
  const reconnectStrategy = (retries: number, cause: Error) => (connected ? Math.min(100 * 2 ** retries, 2000) : cause);
  const client = createClient({ url, disableOfflineQueue: true, socket: { reconnectStrategy } });
  client.on('ready', () => (connected = true)).on('error', () => {}); // failed commands reject
  return client.withTypeMapping({ [RESP_TYPES.BLOB_STRING]: Buffer });
}

/** Objects in one Redis database, under a key prefix. */
export class RedisConnector extends Connector {
  readonly name = 'redis';
  private readonly client: ReturnType<typeof clientFor>;

  constructor(url: string, readonly prefix = 'hangar:') {
    super();
    this.client = clientFor(url);
  }

  override async open(): Promise<void> {
    await this.client.connect().catch(this.fail('connect'));
  }

  override async close(): Promise<void> {
    if (this.client.isOpen) await this.client.close();
  }

  async get(key: string): Promise<Uint8Array | undefined> {
    const value = await this.client.get(this.prefix + key).catch(this.fail(`get ${key}`));
    return value === null ? undefined : new Uint8Array(value.subarray(HEADER)); // a copy the caller owns
  }

  async put(key: string, data: Uint8Array, options?: PutOptions): Promise<boolean> {
    const value = Buffer.concat([Buffer.alloc(HEADER), data]);
    value.writeDoubleBE(Date.now());
    // SET … NX is the compare-and-swap: if the key exists it writes nothing, the time included.
    const condition = options?.ifAbsent ? { condition: 'NX' as const } : {};
    return (await this.client.set(this.prefix + key, value, condition).catch(this.fail(`put ${key}`))) !== null;
  }

  async delete(keys: readonly string[]): Promise<void> {
    if (keys.length > 0) await this.client.del(keys.map((key) => this.prefix + key)).catch(this.fail('delete'));
  }

  // SCAN's MATCH is a glob. Hangar's keys contain no glob characters (* ? [ ] \); a prefix might.
  async *list(prefix: string): AsyncIterable<ObjectInfo> {
    const match = `${(this.prefix + prefix).replace(/[*?[\]\\]/g, '\\$&')}*`;
    const seen = new Set<string>(); // SCAN may return a key twice
    try {
      for await (const found of this.client.scanIterator({ MATCH: match, COUNT: 1000 })) {
        const keys = found.map((key) => key.toString().slice(this.prefix.length)).filter((key) => !seen.has(key) && seen.add(key));
        for (const info of await Promise.all(keys.map((key) => this.head(key)))) if (info) yield info;
      }
    } catch (error) {
      this.fail(`list ${prefix}`)(error);
    }
  }

  /** Size and write time in one atomic round trip (MULTI), without reading the bytes. */
  override async head(key: string): Promise<ObjectInfo | undefined> {
    const transaction = this.client.multi().strLen(this.prefix + key).getRange(this.prefix + key, 0, HEADER - 1);
    const [size, header] = await transaction.execTyped().catch(this.fail(`head ${key}`));
    return !header || header.length < HEADER ? undefined : { key, size: size - HEADER, modifiedAt: new Date(header.readDoubleBE(0)) };
  }

  /** For `.catch`: Redis's failures become StorageError, running out of memory StoreFullError. */
  private fail(what: string): (error: unknown) => never {
    return (error) => {
      if (error instanceof HangarError) throw error;
      if (error instanceof Error && error.message.startsWith('OOM')) {
        throw new StoreFullError(`[redis] ${what}: Redis is at maxmemory; delete frames, vacuum, or raise maxmemory`, error);
      }
      throw new StorageError(this.name, what, error);
    };
  }
}

/** As a plugin (`hangar serve --plugin`): `redis://[USER:PASSWORD@]HOST:PORT[/DB][?prefix=P]`. */
export default {
  scheme: 'redis',
  create: (url: URL) => new RedisConnector(url.href.replace(/\?.*/, ''), url.searchParams.get('prefix') ?? 'hangar:'),
};
