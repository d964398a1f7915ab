/**
 * `hangar verify`: scrubs a store offline (no server involved) — every manifest and stored object
 * of the frames' current versions, or of every kept version — against their recorded CRC-32s, and
 * reports per frame what is damaged; `--repair-from` makes an intact earlier version current again.
 * The work is in core/store-verify.ts; this module opens the store and formats the answer.
 */
import { type Command, InvalidArgumentError as CommanderArgumentError } from 'commander';
import { SqliteConnector } from '../connectors/sqlite/sqlite-connector.js';
import { ParquetCodec } from '../format/parquet/parquet-codec.js';
import { type FrameVerification, type VerifyReport, verifyStore } from '../core/store-verify.js';
import { humanBytes } from './catalog-commands.js';
import { addPluginOption, pluginsFromEnvironment, registryWithPlugins } from './plugin-option.js';

/** Options of `hangar verify`. */
export interface VerifyCommandOptions {
  /** The store's location, as `serve --data` takes it. */
  readonly data: string;
  /** Connector plugin modules (`--plugin`), for a location of a plugin's scheme. */
  readonly plugin?: readonly string[];
  /** Only this bucket. */
  readonly bucket?: string;
  /** Only this frame. */
  readonly frame?: string;
  /** Check every kept version, not only the current one. */
  readonly allVersions?: boolean;
  /** Repair damaged current versions from this version (or the newest intact one). */
  readonly repairFrom?: number | 'latest';
  /** Print the report as JSON. */
  readonly json?: boolean;
}

function parseRepairFrom(value: string): number | 'latest' {
  if (value === 'latest') return 'latest';
  const version = Number(value);
  if (!Number.isSafeInteger(version) || version <= 0) throw new CommanderArgumentError("expected a version number or 'latest'");
  return version;
}

/** One frame's lines for people. */
function renderFrame(frame: FrameVerification): string {
  const name = `${frame.bucket}/${frame.name}`;
  if (frame.damage.length === 0) {
    const legacy = frame.unchecksummed > 0 ? `; ${frame.unchecksummed} object(s) written before checksums only decoded` : '';
    return frame.checked.length === 0 ? `ok       ${name}: deleted at version ${frame.current}, nothing live\n` : `ok       ${name}: version(s) ${frame.checked.join(', ')} intact${legacy}\n`;
  }
  const damaged = frame.checked.filter((version) => !frame.intact.includes(version));
  let text = `DAMAGED  ${name}: version(s) ${damaged.join(', ')} damaged (current ${frame.current})${frame.intact.length ? `; intact: ${frame.intact.join(', ')}` : ''}\n`;
  for (const damage of frame.damage) text += `  ${damage.kind} ${damage.object} (version(s) ${damage.versions.join(', ')}): ${damage.why}\n`;
  if (frame.repair) {
    text += 'version' in frame.repair
      ? `  repaired: version ${frame.repair.version} restores version ${frame.repair.from}; the damaged versions are kept until vacuum removes them\n`
      : `  not repaired: ${frame.repair.refused}\n`;
  }
  return text;
}

/** The summary line of a scrub. */
export function renderVerifySummary(report: VerifyReport): string {
  const repaired = report.repairedFrames > 0 ? `, ${report.repairedFrames} repaired` : '';
  return `checked ${report.frames.length} frame(s), ${report.objects} object(s), ${humanBytes(report.bytes)}: ${report.damagedFrames} damaged${repaired}\n`;
}

/** Registers `hangar verify` on the program. */
export function registerVerifyCommand(program: Command): void {
  addPluginOption(program.command('verify'))
    .description("scrub a store offline: check every live version's manifests and segments against their checksums; exit code 1 on damage")
    .requiredOption('--data <location>', 'the store: a directory, file:///dir, s3://… or sqlite:///… (env HANGAR_DATA)', process.env.HANGAR_DATA)
    .option('--bucket <bucket>', 'only this bucket (default: every bucket)')
    .option('--frame <name>', 'only this frame')
    .option('--all-versions', 'check every kept version, not only the current one')
    .option(
      '--repair-from <version>',
      "repair each frame whose current version is damaged by making this intact earlier version current again, as a new version ('latest': the newest intact one)",
      parseRepairFrom,
    )
    .option('--json', 'print the report as JSON')
    .action(async (options: VerifyCommandOptions) => {
      const registry = await registryWithPlugins([...pluginsFromEnvironment(), ...(options.plugin ?? [])]);
      const connector = await registry.create(options.data);
      await connector.open();
      const codec = new ParquetCodec(1);
      try {
        const report = await verifyStore(connector, codec, {
          // A SQLite catalog indexes the store: its manifest files are what is checked.
          ...(connector instanceof SqliteConnector ? { readFrom: connector.storage } : {}),
          ...(options.bucket !== undefined ? { bucket: options.bucket } : {}),
          ...(options.frame !== undefined ? { frame: options.frame } : {}),
          allVersions: options.allVersions === true,
          ...(options.repairFrom !== undefined ? { repairFrom: options.repairFrom } : {}),
          ...(options.json ? {} : { onFrame: (frame: FrameVerification) => process.stdout.write(renderFrame(frame)) }),
        });
        process.stdout.write(options.json ? `${JSON.stringify(report, null, 2)}\n` : renderVerifySummary(report));
        if (report.damagedFrames > 0) process.exitCode = 1;
      } finally {
        await codec.close();
        await connector.close();
      }
    });
}
