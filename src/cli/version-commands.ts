/**
 * `hangar versions`, `hangar restore`, `hangar compact`, `hangar vacuum` and `hangar purge`: a frame's
 * history, bringing an old version back, merging small segments, removing versions past retention,
 * and removing a frame with its history at once (to free space on a full store).
 */
import type { Command } from 'commander';
import type { FrameVersion } from '../client/hangar-client.js';
import { alignColumns, humanBytes } from './catalog-commands.js';
import { type ServerOptions, withClient, withServerOption } from './client-session.js';
import { versionNumber } from './get-command.js';

/** Options of the commands naming one frame. */
interface FrameCommandOptions extends ServerOptions {
  readonly bucket?: string;
  /** `versions`: print JSON instead of a table. */
  readonly json?: boolean;
}

/** Options of `hangar vacuum`. */
interface VacuumCommandOptions extends FrameCommandOptions {
  readonly frame?: string;
  readonly dryRun?: boolean;
}

/** Renders a frame's versions as a table, oldest first. */
export function renderVersions(versions: readonly FrameVersion[]): string {
  const rows = versions.map((v) => [
    String(v.version),
    v.committedAt,
    (v.operation ?? '?') + (v.restoredFrom === undefined ? '' : ` of ${v.restoredFrom}`),
    v.deleted ? '-' : String(v.rows),
    v.deleted ? '-' : humanBytes(v.bytes),
    String(v.segments),
  ]);
  return `${alignColumns([['VERSION', 'COMMITTED', 'OPERATION', 'ROWS', 'BYTES', 'SEGMENTS'], ...rows], new Set([0, 3, 4, 5]))}\n`;
}

const bucketOf = (options: FrameCommandOptions) => (options.bucket ? { bucket: options.bucket } : {});

/** Registers the version commands on the program. */
export function registerVersionCommands(program: Command): void {
  withServerOption(
    program
      .command('versions')
      .description("list a frame's kept versions (read one with `hangar get NAME --version N` or `--as-of TIME`)")
      .argument('<name>', 'frame name')
      .option('--bucket <bucket>', 'bucket of the frame (default: the default bucket)')
      .option('--json', 'print JSON (one object per version, oldest first) instead of a table'),
  ).action(async (name: string, options: FrameCommandOptions) =>
    withClient(options, async (client) => {
      const versions = await client.versions(name, bucketOf(options));
      process.stdout.write(options.json ? `${JSON.stringify(versions, null, 2)}\n` : renderVersions(versions));
    }),
  );

  withServerOption(
    program
      .command('restore')
      .description('make an old version of a frame current again (as a new version; also undoes a delete)')
      .argument('<name>', 'frame name')
      .argument('<version>', 'the version to bring back')
      .option('--bucket <bucket>', 'bucket of the frame (default: the default bucket)'),
  ).action(async (name: string, version: string, options: FrameCommandOptions) =>
    withClient(options, async (client) => {
      const created = await client.restore(name, versionNumber(version), bucketOf(options));
      process.stdout.write(`restored ${options.bucket ?? 'default'}/${name} to version ${version} as version ${created}\n`);
    }),
  );

  withServerOption(
    program
      .command('compact')
      .description("merge a frame's small appended segments into full-size ones (a new version, same rows)")
      .argument('<name>', 'frame name')
      .option('--bucket <bucket>', 'bucket of the frame (default: the default bucket)'),
  ).action(async (name: string, options: FrameCommandOptions) =>
    withClient(options, async (client) => {
      const result = await client.compact(name, bucketOf(options));
      process.stdout.write(
        result.compacted
          ? `compacted ${options.bucket ?? 'default'}/${name}: ${result.segmentsBefore} → ${result.segmentsAfter} segments, version ${result.version}\n`
          : `nothing to compact in ${options.bucket ?? 'default'}/${name} (${result.segmentsBefore} segments, version ${result.version})\n`,
      );
    }),
  );

  withServerOption(
    program
      .command('vacuum')
      .description("remove versions past the server's retention policy and the segments only they used (needs admin)")
      .option('--bucket <bucket>', 'only this bucket (default: every bucket)')
      .option('--frame <name>', 'only this frame (of --bucket, or the default bucket)')
      .option('--dry-run', 'only report what would be removed'),
  ).action(async (options: VacuumCommandOptions) =>
    withClient(options, async (client) => {
      const report = await client.vacuum({
        ...bucketOf(options),
        ...(options.frame ? { name: options.frame } : {}),
        ...(options.dryRun ? { dryRun: true } : {}),
      });
      const verb = options.dryRun ? 'would remove' : 'removed';
      process.stdout.write(
        `${report.frames} frame(s) examined; ${verb} ${report.versionsRemoved} version(s) and ${report.segmentsRemoved} segment object(s), ` +
          `${humanBytes(report.bytesFreed)} of segments\n`,
      );
    }),
  );

  withServerOption(
    program
      .command('purge')
      .description('remove a frame with all its versions at once, writing nothing: frees space on a full store (cannot be undone; needs admin)')
      .argument('<name>', 'frame name')
      .option('--bucket <bucket>', 'bucket of the frame (default: the default bucket)'),
  ).action(async (name: string, options: FrameCommandOptions) =>
    withClient(options, async (client) => {
      const report = await client.purge(name, bucketOf(options));
      process.stdout.write(
        `purged ${options.bucket ?? 'default'}/${name}: ${report.versionsRemoved} version(s) and ${report.segmentsRemoved} segment object(s), ` +
          `${humanBytes(report.bytesFreed)} of segments\n`,
      );
    }),
  );
}
