/** `hangar ls`, `hangar buckets`, `hangar stat` and `hangar rm`: what the store holds, and removing frames. */
import type { Command } from 'commander';
import type { Schema } from 'apache-arrow';
import type { FrameListing, FrameStat } from '../client/hangar-client.js';
import { type ServerOptions, withClient, withServerOption } from './client-session.js';
import { timeBound, versionNumber } from './get-command.js';

/** Options of `hangar ls`. */
export interface ListCommandOptions extends ServerOptions {
  /** Only names matching this regular expression. */
  readonly regex?: string;
  /** Print JSON for programs instead of a table. */
  readonly json?: boolean;
}

/** Options of `hangar stat`. */
export interface StatCommandOptions extends ServerOptions {
  readonly bucket?: string;
  readonly version?: string;
  readonly asOf?: string;
  readonly json?: boolean;
}

/** A schema as JSON: each column's name, type and nullability (as the stat action describes them). */
function schemaJson(schema: Schema): { name: string; type: string; nullable: boolean }[] {
  return schema.fields.map((field) => ({ name: field.name, type: String(field.type), nullable: field.nullable }));
}

/** Prints a value as indented JSON with a final line break. */
function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

/** Renders one frame's description for people: its facts, metadata and columns. */
export function renderStat(stat: FrameStat): string {
  const facts = [
    ['frame', `${stat.bucket}/${stat.name}`],
    ['version', `${stat.version} (committed ${stat.committedAt})`],
    ['rows', String(stat.rows)],
    ['bytes', humanBytes(stat.bytes)],
    ['metadata', JSON.stringify(stat.metadata)],
  ];
  const columns = stat.schema.map((field) => [field.name, field.type, field.nullable ? 'nullable' : '']);
  return `${alignColumns(facts)}\n\n${alignColumns([['COLUMN', 'TYPE', ''], ...columns])}\n`;
}

/** Options of `hangar rm`. */
export interface RemoveCommandOptions extends ServerOptions {
  /** Bucket of the frame. */
  readonly bucket?: string;
}

const UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];

/** Formats a byte count for people: 512 B, 1.5 MiB. */
export function humanBytes(bytes: number): string {
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < UNITS.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0 ? `${value} B` : `${value.toFixed(1)} ${UNITS[unit]}`;
}

/** Aligns rows of cells into columns; columns listed in `right` are right-aligned. */
export function alignColumns(rows: readonly string[][], right: ReadonlySet<number> = new Set()): string {
  const widths: number[] = [];
  for (const row of rows) row.forEach((cell, index) => (widths[index] = Math.max(widths[index] ?? 0, cell.length)));
  return rows
    .map((row) =>
      row
        .map((cell, index) => {
          if (index === row.length - 1 && !right.has(index)) return cell;
          return right.has(index) ? cell.padStart(widths[index]!) : cell.padEnd(widths[index]!);
        })
        .join('  '),
    )
    .join('\n');
}

/** Renders a listing: name, rows, bytes, columns. */
export function renderListing(frames: readonly FrameListing[]): string {
  const rows = frames.map((frame) => [
    frame.name,
    String(frame.rows),
    humanBytes(frame.bytes),
    frame.schema.fields.map((field) => field.name).join(', '),
  ]);
  return `${alignColumns([['NAME', 'ROWS', 'BYTES', 'COLUMNS'], ...rows], new Set([1, 2]))}\n`;
}

/** Registers `ls`, `buckets` and `rm` on the program. */
export function registerCatalogCommands(program: Command): void {
  withServerOption(
    program
      .command('ls')
      .description('list the frames of a bucket')
      .argument('[bucket]', 'bucket to list (default: the default bucket)')
      .option('--regex <pattern>', 'only frames whose name matches this regular expression')
      .option('--json', 'print JSON (name, bucket, rows, bytes, metadata, schema per frame) instead of a table'),
  ).action(async (bucket: string | undefined, options: ListCommandOptions) =>
    withClient(options, async (client) => {
      const frames = await client.list({ ...(bucket ? { bucket } : {}), ...(options.regex ? { regex: options.regex } : {}) });
      if (options.json) printJson(frames.map((frame) => ({ ...frame, schema: schemaJson(frame.schema) })));
      else if (frames.length === 0) process.stderr.write(`no frames in bucket '${bucket ?? 'default'}'${options.regex ? ` matching /${options.regex}/` : ''}\n`);
      else process.stdout.write(renderListing(frames));
    }),
  );

  withServerOption(program.command('buckets').description('list the buckets').option('--json', 'print a JSON array')).action(
    async (options: ServerOptions & { json?: boolean }) =>
      withClient(options, async (client) => {
        const buckets = await client.buckets();
        if (options.json) printJson(buckets);
        else process.stdout.write(buckets.map((bucket) => `${bucket}\n`).join(''));
      }),
  );

  withServerOption(
    program
      .command('stat')
      .description("describe a frame: version, rows, bytes, metadata and columns")
      .argument('<name>', 'frame name')
      .option('--bucket <bucket>', 'bucket of the frame (default: the default bucket)')
      .option('--version <n>', 'describe this version of the frame')
      .option('--as-of <time>', 'describe the frame as it was at this time (ISO-8601 or epoch seconds)')
      .option('--snapshot <name>', 'describe the version this snapshot of the bucket holds')
      .option('--json', 'print JSON instead of text'),
  ).action(async (name: string, options: StatCommandOptions & { readonly snapshot?: string }) =>
    withClient(options, async (client) => {
      const stat = await client.stat(name, {
        ...(options.bucket ? { bucket: options.bucket } : {}),
        ...(options.version === undefined ? {} : { version: versionNumber(options.version) }),
        ...(options.asOf === undefined ? {} : { asOf: timeBound(options.asOf) }),
        ...(options.snapshot === undefined ? {} : { snapshot: options.snapshot }),
      });
      if (options.json) printJson(stat);
      else process.stdout.write(renderStat(stat));
    }),
  );

  withServerOption(
    program
      .command('rm')
      .description('delete a frame')
      .argument('<name>', 'frame name')
      .option('--bucket <bucket>', 'bucket of the frame (default: the default bucket)'),
  ).action(async (name: string, options: RemoveCommandOptions) =>
    withClient(options, async (client) => {
      await client.delete(name, options.bucket ? { bucket: options.bucket } : {});
      process.stdout.write(`deleted ${options.bucket ?? 'default'}/${name}\n`);
    }),
  );
}
