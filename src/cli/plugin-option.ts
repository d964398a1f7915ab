/**
 * The `--plugin MODULE` option (repeatable, plus `HANGAR_PLUGINS`) of every command that opens a
 * store, and the connector registry with those plugins loaded (docs/configuration.md#plugins).
 */
import type { Command } from 'commander';
import { loadConnectorPlugin, registerConnectorPlugin } from '../connectors/connector-plugins.js';
import { type ConnectorRegistry, defaultConnectorRegistry } from '../connectors/registry.js';

/** Adds `--plugin <module>` (repeatable) to a command. */
export function addPluginOption(command: Command): Command {
  return command.option(
    '--plugin <module>',
    'load a connector plugin module (a path or package name) adding a store scheme; repeatable (env HANGAR_PLUGINS, comma-separated)',
    (value: string, previous: string[] | undefined) => [...(previous ?? []), value],
  );
}

/**
 * Plugins named by `HANGAR_PLUGINS`: comma-separated (one separator on every platform; the path
 * delimiter would split `file:` URLs), blanks ignored. Relative paths stay relative: like those of
 * `--plugin`, they are loaded from the working directory.
 */
export function pluginsFromEnvironment(value: string | undefined = process.env.HANGAR_PLUGINS): string[] {
  return (value ?? '')
    .split(',')
    .map((plugin) => plugin.trim())
    .filter((plugin) => plugin !== '');
}

/**
 * The built-in connectors plus the given plugins, loaded in order (a later one registering the same
 * scheme replaces an earlier).
 * @throws InvalidArgumentError when a plugin cannot be loaded or exports the wrong thing
 */
export async function registryWithPlugins(plugins: readonly string[]): Promise<ConnectorRegistry> {
  const registry = defaultConnectorRegistry();
  for (const plugin of plugins) registerConnectorPlugin(registry, await loadConnectorPlugin(plugin), plugin);
  return registry;
}
