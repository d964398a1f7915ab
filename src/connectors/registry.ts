/**
 * Chooses a connector from a location string: a URL scheme (`memory:`, `file:///…`) or a plain
 * directory path. Third parties register their own schemes with {@link ConnectorRegistry.register}.
 */
import { fileURLToPath } from 'node:url';
import { InvalidArgumentError } from '../errors.js';
import type { Connector } from '../storage/connector.js';
import type { FrameStore } from '../storage/frame-store.js';
import { ObjectLayout, asFrameStore } from '../storage/object-layout.js';
import { azureOptionsFromUrl } from './azure/azure-config.js';
import { AzureConnector } from './azure/azure-connector.js';
import { LocalConnector } from './local/local-connector.js';
import { MemoryConnector } from './memory/memory-connector.js';
import { s3OptionsFromUrl } from './s3/s3-config.js';
import { S3Connector } from './s3/s3-connector.js';
import { sqliteLocationFromUrl } from './sqlite/sqlite-config.js';
import { SqliteConnector } from './sqlite/sqlite-connector.js';

/**
 * Builds a store from a parsed location: a byte-level `Connector` (Hangar puts its object layout
 * on top) or a ready `FrameStore` (the SQLite catalog).
 */
export type ConnectorFactory = (location: URL) => Connector | FrameStore | Promise<Connector | FrameStore>;

/** Maps URL schemes to connector factories. */
export class ConnectorRegistry {
  private readonly factories = new Map<string, ConnectorFactory>();

  /** Registers (or replaces) the factory for a scheme, given without the trailing colon. */
  register(scheme: string, factory: ConnectorFactory): this {
    this.factories.set(scheme.toLowerCase(), factory);
    return this;
  }

  /** The registered schemes. */
  schemes(): string[] {
    return [...this.factories.keys()];
  }

  /**
   * Creates (but does not open) the store for a location: the scheme's connector under Hangar's
   * object layout, or the SQLite catalog. A string without a scheme is a directory for the local
   * connector.
   * @throws InvalidArgumentError for an unknown scheme
   */
  async create(location: string): Promise<FrameStore> {
    return asFrameStore(await this.createStore(location));
  }

  /** What the scheme's factory makes for a location, before any layout is put on top. */
  private async createStore(location: string): Promise<Connector | FrameStore> {
    const url = toLocationUrl(location);
    const scheme = url.protocol.replace(/:$/, '').toLowerCase();
    const factory = this.factories.get(scheme);
    if (!factory) {
      throw new InvalidArgumentError(
        `unknown store location scheme '${scheme}:' in ${JSON.stringify(location)}; known: ${this.schemes().map((s) => `${s}:`).join(', ')}`,
      );
    }
    return factory(url);
  }
}

function toLocationUrl(location: string): URL {
  // Two or more letters before ':' make a scheme; a single letter is a Windows drive, and no colon a path.
  if (/^[a-zA-Z][a-zA-Z0-9+.-]+:/.test(location)) return new URL(location);
  return new URL(`file://${encodeURI(absolutePath(location))}`);
}

function absolutePath(path: string): string {
  return path.startsWith('/') ? path : `${process.cwd()}/${path}`;
}

/**
 * A registry with Hangar's built-in connectors: `memory:`, `file:` (also plain paths),
 * `s3://bucket/prefix?…`, `azure://container/prefix?…` and `sqlite:///catalog.db?data=…` (a SQLite
 * catalog over another store). The AWS SDK loads only when an S3 connector opens, the Azure SDK
 * only when an Azure one does, better-sqlite3 only when a SQLite one does.
 */
export function defaultConnectorRegistry(): ConnectorRegistry {
  const registry = new ConnectorRegistry()
    .register('memory', () => new MemoryConnector())
    .register('file', (url) => new LocalConnector({ root: fileURLToPath(url) }))
    .register('azure', (url) => new AzureConnector(azureOptionsFromUrl(url)))
    .register('s3', (url) => {
      const connector = new S3Connector(s3OptionsFromUrl(url));
      const { listConcurrency, rangeCoalesceBytes, rangeConcurrency } = connector.options;
      return new ObjectLayout(connector, { listConcurrency, rangeCoalesceBytes, rangeConcurrency });
    });
  return registry.register('sqlite', async (url) => {
    const { data, ...options } = sqliteLocationFromUrl(url);
    return new SqliteConnector({ ...options, storage: await registry.create(data) });
  });
}
