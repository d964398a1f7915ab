/**
 * `hangar snapshot create|list|delete`: named snapshots of a bucket's frames (read them with
 * `hangar get NAME --snapshot S`, `hangar sql --snapshot S`, `hangar stat NAME --snapshot S`).
 */
import type { Command } from 'commander';
import type { SnapshotListing } from '../client/hangar-client.js';
import { alignColumns } from './catalog-commands.js';
import { type ServerOptions, withClient, withServerOption } from './client-session.js';

/** Options of the snapshot commands. */
interface SnapshotCommandOptions extends ServerOptions {
  readonly bucket?: string;
  /** `create`: comma-separated frames (default: every frame of the bucket). */
  readonly frames?: string;
  /** `list`: print JSON instead of a table. */
  readonly json?: boolean;
}

/** Renders snapshots as a table: name, time taken, frames held (frame@version). */
export function renderSnapshots(snapshots: readonly SnapshotListing[]): string {
  const rows = snapshots.map((snapshot) => [
    snapshot.name,
    snapshot.createdAt,
    String(Object.keys(snapshot.frames).length),
    Object.entries(snapshot.frames)
      .map(([frame, version]) => `${frame}@${version}`)
      .join(' '),
  ]);
  return `${alignColumns([['SNAPSHOT', 'CREATED', 'FRAMES', 'VERSIONS'], ...rows], new Set([2]))}\n`;
}

const bucketOf = (options: SnapshotCommandOptions) => (options.bucket ? { bucket: options.bucket } : {});

/** Registers `snapshot` and its subcommands on the program. */
export function registerSnapshotCommands(program: Command): void {
  const snapshot = program.command('snapshot').description("named snapshots of a bucket's frames, kept from vacuum (create, list, delete)");

  withServerOption(
    snapshot
      .command('create')
      .description('snapshot the current version of every frame of the bucket (or of --frames)')
      .argument('<name>', 'snapshot name')
      .option('--bucket <bucket>', 'the bucket (default: the default bucket)')
      .option('--frames <names>', 'comma-separated frames to hold (default: every frame of the bucket)'),
  ).action(async (name: string, options: SnapshotCommandOptions) =>
    withClient(options, async (client) => {
      const frames = options.frames
        ?.split(',')
        .map((frame) => frame.trim())
        .filter((frame) => frame.length > 0);
      const taken = await client.createSnapshot(name, { ...bucketOf(options), ...(frames ? { frames } : {}) });
      process.stdout.write(`snapshot ${taken.bucket}/${taken.name} holds ${Object.keys(taken.frames).length} frame(s)\n`);
    }),
  );

  withServerOption(
    snapshot
      .command('list')
      .description("list the bucket's snapshots")
      .option('--bucket <bucket>', 'the bucket (default: the default bucket)')
      .option('--json', 'print JSON instead of a table'),
  ).action(async (options: SnapshotCommandOptions) =>
    withClient(options, async (client) => {
      const snapshots = await client.snapshots(bucketOf(options));
      process.stdout.write(options.json ? `${JSON.stringify(snapshots, null, 2)}\n` : renderSnapshots(snapshots));
    }),
  );

  withServerOption(
    snapshot
      .command('delete')
      .description('delete a snapshot (the versions it held fall under retention again)')
      .argument('<name>', 'snapshot name')
      .option('--bucket <bucket>', 'the bucket (default: the default bucket)'),
  ).action(async (name: string, options: SnapshotCommandOptions) =>
    withClient(options, async (client) => {
      await client.deleteSnapshot(name, bucketOf(options));
      process.stdout.write(`deleted snapshot ${options.bucket ?? 'default'}/${name}\n`);
    }),
  );
}
