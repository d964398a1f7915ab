/**
 * The users file: user names with scrypt password hashes and scopes, as JSON
 * `{"users": {"NAME": {"password": "scrypt$N$r$p$SALT$HASH", "scopes": ["read:b", …]}}}`.
 * Written with mode 0600; passwords are never stored.
 */
import { randomBytes, scrypt, timingSafeEqual } from 'node:crypto';
import { readFile, rename, writeFile } from 'node:fs/promises';
import { InvalidArgumentError, NotFoundError } from '../../errors.js';
import { validateName } from '../../names.js';
import { type Scope, formatScopes, parseScopes } from './scopes.js';

/** One user as stored. */
export interface UserRecord {
  /** `scrypt$N$r$p$salt$hash` (salt and hash base64). */
  readonly password: string;
  /** Scopes as `access:bucket` strings. */
  readonly scopes: readonly string[];
}

const SCRYPT_N = 16384;
const SCRYPT_R = 8;
const SCRYPT_P = 1;
const KEY_BYTES = 32;

function derive(password: string, salt: Buffer, n: number, r: number, p: number): Promise<Buffer> {
  return new Promise((resolve, reject) =>
    scrypt(password, salt, KEY_BYTES, { N: n, r, p, maxmem: 256 * n * r + 1024 * 1024 }, (error, key) => (error ? reject(error) : resolve(key))),
  );
}

/** Hashes a password with scrypt and a random salt. */
export async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(16);
  const key = await derive(password, salt, SCRYPT_N, SCRYPT_R, SCRYPT_P);
  return `scrypt$${SCRYPT_N}$${SCRYPT_R}$${SCRYPT_P}$${salt.toString('base64')}$${key.toString('base64')}`;
}

/** Checks a password against a stored hash in constant time; false for a malformed hash. */
export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const [scheme, n, r, p, salt, hash] = stored.split('$');
  if (scheme !== 'scrypt' || !n || !r || !p || salt === undefined || hash === undefined) return false;
  const expected = Buffer.from(hash, 'base64');
  const key = await derive(password, Buffer.from(salt, 'base64'), Number(n), Number(r), Number(p));
  return key.length === expected.length && timingSafeEqual(key, expected);
}

/** The users of a server, loaded from and saved to one file. */
export class UsersFile {
  private constructor(
    /** The file's path. */
    readonly path: string,
    private readonly users: Map<string, UserRecord>,
  ) {}

  /**
   * Loads the file; a missing file is an empty set of users when `allowMissing`.
   * @throws InvalidArgumentError if the file is not a users file
   */
  static async load(path: string, allowMissing = false): Promise<UsersFile> {
    let text: string;
    try {
      text = await readFile(path, 'utf8');
    } catch (error) {
      if (allowMissing && (error as NodeJS.ErrnoException).code === 'ENOENT') return new UsersFile(path, new Map());
      throw new NotFoundError(`cannot read the users file ${path}: ${(error as Error).message}`);
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch (error) {
      throw new InvalidArgumentError(`the users file ${path} is not JSON`, { cause: error });
    }
    const users = (parsed as { users?: unknown } | null)?.users;
    if (users === null || typeof users !== 'object' || Array.isArray(users)) throw new InvalidArgumentError(`the users file ${path} has no "users" object`);
    const map = new Map<string, UserRecord>();
    for (const [name, record] of Object.entries(users as Record<string, UserRecord>)) {
      if (typeof record?.password !== 'string' || !Array.isArray(record.scopes)) throw new InvalidArgumentError(`user '${name}' in ${path} is malformed`);
      parseScopes(record.scopes.join(' '));
      map.set(name, record);
    }
    return new UsersFile(path, map);
  }

  /** Adds or replaces a user, hashing the password. Call {@link save} to keep it. */
  async set(name: string, password: string, scopes: readonly Scope[]): Promise<void> {
    validateName('frame', name);
    if (password.length === 0) throw new InvalidArgumentError('the password must not be empty');
    this.users.set(name, { password: await hashPassword(password), scopes: formatScopes(scopes).split(' ').filter(Boolean) });
  }

  /** Removes a user; false if there was none. */
  remove(name: string): boolean {
    return this.users.delete(name);
  }

  /** User names. */
  names(): string[] {
    return [...this.users.keys()];
  }

  /** Returns the user's scopes if the password is right, else undefined (also for unknown users). */
  async check(name: string, password: string): Promise<Scope[] | undefined> {
    const record = this.users.get(name);
    // Hash anyway for unknown users, so timing does not reveal which names exist.
    const ok = await verifyPassword(password, record?.password ?? 'scrypt$16384$8$1$AAAAAAAAAAAAAAAAAAAAAA==$AAAA');
    return ok && record ? parseScopes(record.scopes.join(' ')) : undefined;
  }

  /** Writes the file atomically with mode 0600. */
  async save(): Promise<void> {
    const temporary = `${this.path}.${process.pid}.tmp`;
    await writeFile(temporary, `${JSON.stringify({ users: Object.fromEntries(this.users) }, null, 2)}\n`, { mode: 0o600 });
    await rename(temporary, this.path);
  }
}
