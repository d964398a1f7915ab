/**
 * `hangar catalog rebuild` and `hangar catalog check [--fix]`: offline maintenance of a SQLite
 * catalog against its store (no server involved). The work is in connectors/sqlite/catalog-maintenance.ts;
 * this module opens the store and formats the answers.
 */
import type { Command } from 'commander';
import { type CatalogCheckReport, catalogAgrees } from '../connectors/sqlite/catalog-maintenance.js';
import { SqliteConnector } from '../connectors/sqlite/sqlite-connector.js';
import { InvalidArgumentError } from '../errors.js';
import { addPluginOption, pluginsFromEnvironment, registryWithPlugins } from './plugin-option.js';

/** Options of both commands. */
export interface CatalogMaintenanceOptions {
  /** The `sqlite:` location of the store. */
  readonly data: string;
  /** Connector plugin modules (`--plugin`), for a `data=` location of a plugin's scheme. */
  readonly plugin?: readonly string[];
}

/** Options of `hangar catalog check`. */
export interface CatalogCheckOptions extends CatalogMaintenanceOptions {
  /** Re-sync the catalog from the store where they differ. */
  readonly fix?: boolean;
  /** Print the report as JSON. */
  readonly json?: boolean;
}

async function withCatalog<T>(options: CatalogMaintenanceOptions, action: (connector: SqliteConnector) => Promise<T>): Promise<T> {
  const { data } = options;
  const registry = await registryWithPlugins([...pluginsFromEnvironment(), ...(options.plugin ?? [])]);
  const connector = await registry.create(data);
  if (!(connector instanceof SqliteConnector)) {
    throw new InvalidArgumentError(`hangar catalog needs a sqlite: store location (sqlite:///path/catalog.db?data=…), not ${JSON.stringify(data)}`);
  }
  await connector.open();
  try {
    return await action(connector);
  } finally {
    await connector.close();
  }
}

function listLines(title: string, lines: readonly string[]): string {
  return lines.length === 0 ? '' : `${title} (${lines.length}):\n${lines.map((line) => `  ${line}\n`).join('')}`;
}

/** Renders a check report for people. */
export function renderCheckReport(report: CatalogCheckReport): string {
  const versions = (list: CatalogCheckReport['versionsMissingInStore']) =>
    list.map(({ bucket, name, versions: numbers }) => `${bucket}/${name} v${numbers.join(', v')}`);
  let text =
    listLines('buckets in the catalog, not in the store', report.bucketsMissingInStore) +
    listLines('buckets in the store, not in the catalog', report.bucketsMissingInCatalog) +
    listLines('versions in the catalog, missing in the store', versions(report.versionsMissingInStore)) +
    listLines('manifests in the store, missing in the catalog', versions(report.versionsMissingInCatalog)) +
    listLines('versions whose catalog entry differs from the store', versions(report.versionsDiffering)) +
    listLines(
      'segment objects referenced by a kept manifest but missing',
      report.missingSegments.map(({ bucket, name, id, versions: numbers }) => `${bucket}/${name}/${id} (v${numbers.join(', v')})`),
    ) +
    listLines('orphan segment objects (referenced by no kept manifest; not deleted)', report.orphanSegments.map(({ bucket, name, id }) => `${bucket}/${name}/${id}`));
  if (report.fixedFrames + report.fixedBuckets > 0) text += `fixed: re-synced ${report.fixedFrames} frame(s) and ${report.fixedBuckets} bucket(s) of the catalog from the store\n`;
  const verdict = catalogAgrees(report) || report.fixedFrames + report.fixedBuckets > 0 ? 'catalog matches the store' : 'catalog differs from the store (run with --fix)';
  return `${text}checked ${report.frames} frame(s): ${verdict}\n`;
}

/** Registers `catalog rebuild` and `catalog check` on the program. */
export function registerCatalogMaintenanceCommands(program: Command): void {
  const catalog = program.command('catalog').description('maintain the SQLite catalog of a sqlite: store (offline, not through a server)');
  const dataOption = ['--data <location>', 'the store: sqlite:///path/catalog.db?data=… (env HANGAR_DATA)', process.env.HANGAR_DATA] as const;
  addPluginOption(catalog.command('rebuild'))
    .description("re-create the catalog from the store's manifests (every kept version); stop servers using it first")
    .requiredOption(...dataOption)
    .action(async (options: CatalogMaintenanceOptions) =>
      withCatalog(options, async (connector) => {
        const summary = await connector.rebuildCatalog();
        process.stdout.write(`rebuilt ${connector.catalogPath}: ${summary.buckets} bucket(s), ${summary.frames} frame(s), ${summary.versions} version(s)\n`);
      }),
    );
  addPluginOption(catalog.command('check'))
    .description('compare the catalog with the store and find missing and orphan segment objects; deletes nothing')
    .requiredOption(...dataOption)
    .option('--fix', 're-sync the catalog from the store where they differ (never changes the store)')
    .option('--json', 'print the report as JSON')
    .action(async (options: CatalogCheckOptions) =>
      withCatalog(options, async (connector) => {
        const report = await connector.checkCatalog({ fix: options.fix ?? false });
        process.stdout.write(options.json ? `${JSON.stringify(report, null, 2)}\n` : renderCheckReport(report));
        // Orphans are harmless (vacuum's work); a disagreement left unfixed or a lost segment is not.
        const healthy = (catalogAgrees(report) || options.fix === true) && report.missingSegments.length === 0;
        if (!healthy) process.exitCode = 1;
      }),
    );
}
