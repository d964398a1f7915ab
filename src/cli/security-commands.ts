/**
 * `hangar token` (mint a bearer token) and `hangar user add|remove|list` (the users file), plus the
 * secret and TLS file handling `hangar serve` shares with them.
 */
import { readFileSync } from 'node:fs';
import { type Command, InvalidArgumentError as CommanderArgumentError } from 'commander';
import { mintToken } from '../server/auth/tokens.js';
import { parseScope, type Scope, formatScopes } from '../server/auth/scopes.js';
import { UsersFile } from '../server/auth/users-file.js';
import { InvalidArgumentError } from '../errors.js';

/** Where a command takes the token-signing secret from. */
export interface SecretOptions {
  /** The secret itself (env HANGAR_SECRET). */
  readonly secret?: string;
  /** A file holding the secret (its contents, trimmed). */
  readonly secretFile?: string;
}

/** The secret from `--secret` or `--secret-file`, or undefined if neither was given. */
export function readSecret(options: SecretOptions): string | undefined {
  if (options.secret !== undefined && options.secretFile !== undefined) throw new InvalidArgumentError('give --secret or --secret-file, not both');
  const secret = options.secretFile !== undefined ? readFileSync(options.secretFile, 'utf8').trim() : options.secret;
  if (secret !== undefined && Buffer.byteLength(secret) < 16) throw new InvalidArgumentError('the secret must be at least 16 bytes long (32 or more recommended)');
  return secret;
}

const UNITS: Readonly<Record<string, number>> = { s: 1, m: 60, h: 3600, d: 86400 };

/** Parses a duration such as `90s`, `15m`, `12h`, `30d` (a bare number is seconds) into seconds. */
export function parseDuration(text: string): number {
  const match = /^(\d+)([smhd]?)$/.exec(text.trim());
  if (!match || Number(match[1]) <= 0) throw new CommanderArgumentError('a duration is a positive number with s, m, h or d, e.g. 30d');
  return Number(match[1]) * UNITS[match[2] || 's']!;
}

const collectScope = (value: string, previous: Scope[] = []): Scope[] => {
  try {
    return [...previous, parseScope(value)];
  } catch (error) {
    throw new CommanderArgumentError((error as Error).message);
  }
};

/** Reads a password: env HANGAR_PASSWORD, else the first line of standard input. */
async function readPassword(): Promise<string> {
  if (process.env.HANGAR_PASSWORD !== undefined) return process.env.HANGAR_PASSWORD;
  if (process.stdin.isTTY) process.stderr.write('password: ');
  let text = '';
  for await (const chunk of process.stdin) {
    text += String(chunk);
    if (text.includes('\n')) break;
  }
  return text.split(/\r?\n/)[0] ?? '';
}

/** Registers `hangar token` and `hangar user`. */
export function registerSecurityCommands(program: Command): void {
  program
    .command('token')
    .description('print a bearer token signed with the server secret')
    .requiredOption('--sub <name>', 'who the token is for')
    .option('--scope <scope>', 'a grant: read:BUCKET, write:BUCKET, admin:BUCKET or admin; BUCKET may be * (repeatable)', collectScope, [])
    .option('--ttl <duration>', 'lifetime, e.g. 3600s, 12h, 30d', parseDuration, 86400)
    .option('--secret <secret>', 'the server secret (env HANGAR_SECRET)', process.env.HANGAR_SECRET)
    .option('--secret-file <file>', 'a file holding the server secret')
    .action((options: SecretOptions & { sub: string; scope: Scope[]; ttl: number }) => {
      const secret = readSecret(options);
      if (secret === undefined) throw new InvalidArgumentError('give the server secret with --secret, --secret-file or HANGAR_SECRET');
      process.stdout.write(`${mintToken(secret, options.sub, options.scope, options.ttl)}\n`);
    });
  const user = program.command('user').description('manage the users file (passwords are scrypt-hashed)');
  user
    .command('add <name>')
    .description('add or replace a user; the password comes from env HANGAR_PASSWORD or the first line of stdin')
    .requiredOption('--users <file>', 'the users file (env HANGAR_USERS)', process.env.HANGAR_USERS)
    .option('--scope <scope>', 'a grant: read:BUCKET, write:BUCKET, admin:BUCKET or admin (repeatable)', collectScope, [])
    .action(async (name: string, options: { users: string; scope: Scope[] }) => {
      const users = await UsersFile.load(options.users, true);
      await users.set(name, await readPassword(), options.scope);
      await users.save();
      process.stdout.write(`user '${name}' saved in ${options.users} with scopes: ${formatScopes(options.scope) || '(none)'}\n`);
    });
  user
    .command('remove <name>')
    .description('remove a user')
    .requiredOption('--users <file>', 'the users file (env HANGAR_USERS)', process.env.HANGAR_USERS)
    .action(async (name: string, options: { users: string }) => {
      const users = await UsersFile.load(options.users);
      if (!users.remove(name)) throw new InvalidArgumentError(`no user '${name}' in ${options.users}`);
      await users.save();
    });
  user
    .command('list')
    .description('list user names')
    .requiredOption('--users <file>', 'the users file (env HANGAR_USERS)', process.env.HANGAR_USERS)
    .action(async (options: { users: string }) => {
      for (const name of (await UsersFile.load(options.users)).names()) process.stdout.write(`${name}\n`);
    });
}
