/**
 * Connector plugins: ES modules that add a store location scheme (`hangar serve --plugin
 * ./my-store.mjs`), loaded, checked with errors that say what to fix, and put in a registry.
 */
import { createRequire } from 'node:module';
import { isAbsolute, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { HangarError, InvalidArgumentError } from '../errors.js';
import { Connector } from '../storage/connector.js';
import type { ConnectorRegistry } from './registry.js';

/**
 * What a plugin module exports as its default export: the scheme it serves and how to build a
 * store for a location of that scheme.
 * @example
 * // my-store.mjs
 * import { Connector } from 'hangar';
 * class MyStore extends Connector { name = 'mystore'; async get(key) { … } … }
 * export default { scheme: 'mystore', create: (url) => new MyStore(url.pathname) };
 */
export interface ConnectorPlugin {
  /** The URL scheme, without the colon (`mystore` serves `mystore://…` locations). */
  readonly scheme: string;
  /**
   * A new, unopened connector for a location (Hangar opens and closes it). May be async.
   * @param url - the location, parsed (`mystore://x/y?opt=1`)
   */
  create(url: URL): Connector | Promise<Connector>;
}

const EXAMPLE = "export default { scheme: 'mystore', create: (url) => new MyStore(url) }, where MyStore extends Connector from 'hangar'";
/** As the registry parses locations: a scheme of two or more characters (one letter is a drive). */
const SCHEME = /^[a-z][a-z0-9+.-]+$/;

/**
 * Imports a plugin module and checks its default export.
 * @param specifier - a path (relative ones against `baseDirectory`), a `file:` URL, or an installed
 *   package's name (resolved from `baseDirectory`)
 * @param baseDirectory - where relative paths and package names are looked up (default: the working directory)
 * @throws InvalidArgumentError saying what is wrong with the module and what it must export
 */
export async function loadConnectorPlugin(specifier: string, baseDirectory = process.cwd()): Promise<ConnectorPlugin> {
  const url = moduleUrl(specifier, baseDirectory);
  let module: { default?: unknown };
  try {
    module = (await import(url)) as { default?: unknown };
  } catch (error) {
    const missing = (error as NodeJS.ErrnoException).code === 'ERR_MODULE_NOT_FOUND' && (error as Error).message.includes(url.replace(/^file:\/\//, ''));
    throw new InvalidArgumentError(
      missing
        ? `cannot load the plugin ${specifier}: there is no module at ${url}; check the path (relative paths are relative to ${baseDirectory})`
        : `cannot load the plugin ${specifier} (${url}): ${(error as Error).message}`,
      { cause: error },
    );
  }
  return checkPlugin(module.default, specifier);
}

/** The URL to import for a plugin specifier. */
function moduleUrl(specifier: string, baseDirectory: string): string {
  if (specifier.startsWith('file:')) return specifier;
  if (isAbsolute(specifier) || /^\.\.?[\\/]/.test(specifier) || /\.[cm]?js$/.test(specifier)) {
    return pathToFileURL(resolve(baseDirectory, specifier)).href;
  }
  try {
    return pathToFileURL(createRequire(join(baseDirectory, 'noop.js')).resolve(specifier)).href;
  } catch (error) {
    throw new InvalidArgumentError(
      `cannot load the plugin ${specifier}: no installed package of that name under ${baseDirectory}; give a path such as ./${specifier}.mjs, or install the package`,
      { cause: error },
    );
  }
}

/**
 * Checks that a plugin module's default export is a {@link ConnectorPlugin}.
 * @param exported - the module's default export
 * @param source - names the plugin in messages (its path)
 * @throws InvalidArgumentError naming what is missing or wrong
 */
export function checkPlugin(exported: unknown, source: string): ConnectorPlugin {
  const fail = (problem: string): never => {
    throw new InvalidArgumentError(`the plugin ${source} ${problem}; a plugin module must ${EXAMPLE}`);
  };
  if (exported === undefined) return fail('has no default export');
  if (typeof exported !== 'object' || exported === null) return fail(`default-exports ${describe(exported)}, not an object`);
  const { scheme, create } = exported as Partial<ConnectorPlugin>;
  if (typeof scheme !== 'string') return fail(`exports no "scheme" string (got ${describe(scheme)})`);
  if (scheme.endsWith(':')) return fail(`exports the scheme ${JSON.stringify(scheme)}: give it without the colon`);
  if (!SCHEME.test(scheme)) {
    return fail(`exports the scheme ${JSON.stringify(scheme)}, which is not a URL scheme of two or more lower-case letters, digits, '+', '-' or '.' starting with a letter`);
  }
  if (typeof create !== 'function') return fail(`exports no "create" function (got ${describe(create)})`);
  return { scheme, create: (url) => create.call(exported, url) };
}

/**
 * Builds a plugin's connector for a location and checks that it is one.
 * @throws InvalidArgumentError if `create` fails or returns something that does not extend `Connector`
 */
export async function createPluginConnector(plugin: ConnectorPlugin, url: URL, source: string): Promise<Connector> {
  let connector: unknown;
  try {
    connector = await plugin.create(url);
  } catch (error) {
    if (error instanceof HangarError) throw error;
    throw new InvalidArgumentError(`the plugin ${source} failed to create a store for ${url.href}: ${(error as Error).message}`, { cause: error });
  }
  if (connector instanceof Connector) return connector;
  const looksLikeOne = typeof connector === 'object' && connector !== null && ['get', 'put', 'delete', 'list'].every((m) => typeof (connector as Record<string, unknown>)[m] === 'function');
  throw new InvalidArgumentError(
    `the plugin ${source}: create(${url.href}) returned ${describe(connector)}, which does not extend Connector from 'hangar'` +
      (looksLikeOne
        ? ' (it has get, put, delete and list: the plugin probably imports a different copy of hangar than the server runs; import Connector from that one)'
        : '; return an instance of a class that extends Connector'),
  );
}

/**
 * Registers a plugin's scheme in a registry (replacing a scheme registered before, built-in ones
 * included): a location of that scheme becomes the plugin's connector, under Hangar's object layout.
 */
export function registerConnectorPlugin(registry: ConnectorRegistry, plugin: ConnectorPlugin, source: string): void {
  registry.register(plugin.scheme, (url) => createPluginConnector(plugin, url, source));
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (value === undefined) return 'undefined';
  if (typeof value === 'function') return `a function${value.name ? ` (${value.name})` : ''}`;
  if (typeof value === 'object') return `an object of class ${value.constructor?.name ?? 'none'}`;
  return `${typeof value} ${JSON.stringify(value)}`;
}
