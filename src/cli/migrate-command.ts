/**
 * `hangar migrate --data LOCATION`: gives every frame of a manifest-layout store its Delta log
 * (offline, no server involved; the work is in storage/delta-migration.ts, docs/open-format.md).
 */
import type { Command } from 'commander';
import { InvalidArgumentError } from '../errors.js';
import { migrateToDeltaLog } from '../storage/delta-migration.js';
import { ObjectLayout } from '../storage/object-layout.js';
import { Connector } from '../storage/connector.js';
import { addPluginOption, pluginsFromEnvironment, registryWithPlugins } from './plugin-option.js';

/** Options of `hangar migrate`. */
export interface MigrateCommandOptions {
  /** The store's location. */
  readonly data: string;
  /** Connector plugin modules (`--plugin`). */
  readonly plugin?: readonly string[];
}

/** Registers `hangar migrate` on the program. */
export function registerMigrateCommand(program: Command): void {
  addPluginOption(program.command('migrate'))
    .description('give every frame of a store its Delta Lake log, in place (idempotent, resumable; stop servers writing to the store first): see docs/open-format.md')
    .requiredOption('--data <location>', 'the store: a directory, file:///dir, s3://… or azure://… (env HANGAR_DATA)', process.env.HANGAR_DATA)
    .action(async (options: MigrateCommandOptions) => {
      const registry = await registryWithPlugins([...pluginsFromEnvironment(), ...(options.plugin ?? [])]);
      const store = await registry.create(options.data);
      const connector = store instanceof ObjectLayout ? store.connector : store instanceof Connector ? store : undefined;
      if (!connector) {
        throw new InvalidArgumentError(
          `hangar migrate works on a byte store (a directory, s3://, azure://, a plugin's), not ${JSON.stringify(options.data)}; ` +
            'for a sqlite: store migrate its data= location, then run `hangar catalog rebuild`',
        );
      }
      await connector.open();
      try {
        const report = await migrateToDeltaLog(connector, (ref, frame) => {
          if (frame.commitsWritten > 0) process.stderr.write(`${ref.bucket}/${ref.name}: ${frame.commitsWritten} Delta commit(s) written\n`);
        });
        process.stdout.write(
          `migrated ${report.frames} frame(s): ${report.commitsWritten} Delta commit(s) written (${report.placeholders} for versions vacuum had removed), ` +
            `${report.commitsSkipped} already there. The store is marked as Delta: servers started without HANGAR_LAYOUT serve it with the Delta log.\n`,
        );
      } finally {
        await connector.close();
      }
    });
}
