// The pure parts of security: HS256 tokens, scopes and the authorisation rule, password hashes.
import { createHmac } from 'node:crypto';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { signJwt, verifyJwt } from '../../src/server/auth/jwt.js';
import { SERVER, UNRESTRICTED, allows, authorize, formatScopes, parseScope, parseScopes } from '../../src/server/auth/scopes.js';
import { UsersFile, hashPassword, verifyPassword } from '../../src/server/auth/users-file.js';
import { principalOfClaims } from '../../src/server/auth/authenticator.js';

const SECRET = 'k'.repeat(32);
const b64 = (value: unknown): string => Buffer.from(JSON.stringify(value)).toString('base64url');

describe('HS256 tokens', () => {
  it('round-trips claims', () => {
    const token = signJwt({ sub: 'ann', scope: 'read:a', exp: 2_000_000_000 }, SECRET);
    expect(verifyJwt(token, SECRET, 1_900_000_000)).toMatchObject({ sub: 'ann', scope: 'read:a' });
  });

  it('matches an independent HS256 signature (as PyJWT makes it)', () => {
    const input = `${b64({ alg: 'HS256', typ: 'JWT' })}.${b64({ type: 'admin' })}`;
    const token = `${input}.${createHmac('sha256', SECRET).update(input).digest('base64url')}`;
    expect(verifyJwt(token, SECRET).type).toBe('admin');
  });

  it('refuses expired, not-yet-valid, wrongly signed, tampered, malformed and non-HS256 tokens', () => {
    const now = 1_900_000_000;
    const valid = signJwt({ scope: 'admin' }, SECRET);
    const [header, , signature] = valid.split('.');
    const cases = [
      signJwt({ exp: now - 60 }, SECRET),
      signJwt({ nbf: now + 60 }, SECRET),
      signJwt({ exp: 'never' as unknown as number }, SECRET), // a forged token's claims need not be well typed
      signJwt({}, 'another secret'),
      `${header}.${b64({ scope: 'admin', sub: 'mallory' })}.${signature}`,
      `${b64({ alg: 'none' })}.${b64({ scope: 'admin' })}.`,
      `${b64({ alg: 'HS512' })}.${b64({})}.${signature}`,
      'a.b',
      'a.b.c.d',
      '',
      `${header}.not json.${signature}`,
    ];
    for (const token of cases) expect(() => verifyJwt(token, SECRET, now), token).toThrow(expect.objectContaining({ code: 'UNAUTHENTICATED' }));
  });

  it('refuses a correctly signed token whose header carries crit (RFC 7515 §4.1.11)', () => {
    for (const crit of [['exp'], ['b64'], [], 'x']) {
      const input = `${b64({ alg: 'HS256', typ: 'JWT', crit, b64: false })}.${b64({ scope: 'admin' })}`;
      const token = `${input}.${createHmac('sha256', SECRET).update(input).digest('base64url')}`;
      expect(() => verifyJwt(token, SECRET)).toThrow(/critical extensions/);
    }
  });

  it('tolerates 30 s of clock skew', () => {
    expect(() => verifyJwt(signJwt({ exp: 1000 }, SECRET), SECRET, 1020)).not.toThrow();
  });
});

describe('scopes', () => {
  it('parses and formats', () => {
    expect(parseScope('read:sales')).toEqual({ access: 'read', bucket: 'sales' });
    expect(parseScope('admin')).toEqual({ access: 'admin', bucket: SERVER });
    expect(formatScopes(parseScopes('read:a  write:*'))).toBe('read:a write:*');
    for (const bad of ['root', 'read:../x', 'read:a:b', 'write:']) expect(() => parseScope(bad), bad).toThrow();
  });

  it('grants per bucket; admin implies read and write; * covers every bucket', () => {
    const principal = { subject: 'p', scopes: parseScopes('read:a write:b admin:c read:*') };
    expect(allows(principal, 'read', 'z')).toBe(true);
    expect(allows(principal, 'write', 'a')).toBe(false);
    expect(allows(principal, 'write', 'b')).toBe(true);
    expect(allows(principal, 'write', 'c')).toBe(true);
    expect(allows(principal, 'admin', 'b')).toBe(false);
    expect(allows(principal, 'admin', SERVER)).toBe(false);
    expect(allows(UNRESTRICTED, 'admin', SERVER)).toBe(true);
  });

  it('authorize names the missing grant', () => {
    const principal = { subject: 'ann', scopes: parseScopes('read:a') };
    expect(() => authorize(principal, 'read', ['a'], 'read frames')).not.toThrow();
    expect(() => authorize(principal, 'read', ['a', 'b'], 'query')).toThrow(/ann may not query: it needs read access to bucket 'b'/);
    expect(() => authorize(principal, 'admin', [SERVER], 'shut down the server')).toThrow(expect.objectContaining({ code: 'PERMISSION_DENIED' }));
  });

  it("maps shoots' admin claim and scope claims to principals", () => {
    expect(principalOfClaims({ type: 'admin' }).scopes).toEqual([{ access: 'admin', bucket: SERVER }]);
    expect(principalOfClaims({ sub: 'x', scope: 'read:a' })).toEqual({ subject: 'x', scopes: [{ access: 'read', bucket: 'a' }] });
    expect(principalOfClaims({ sub: 'x' }).scopes).toEqual([]);
    expect(() => principalOfClaims({ scope: 'root' })).toThrow(expect.objectContaining({ code: 'UNAUTHENTICATED' }));
  });
});

describe('users file', () => {
  it('hashes with scrypt and checks passwords', async () => {
    const hash = await hashPassword('secret');
    expect(hash).toMatch(/^scrypt\$16384\$8\$1\$/);
    expect(await verifyPassword('secret', hash)).toBe(true);
    expect(await verifyPassword('Secret', hash)).toBe(false);
    expect(await verifyPassword('secret', 'garbage')).toBe(false);
  });

  it('saves with mode 0600 and loads again', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'hangar-users-'));
    try {
      const path = join(dir, 'users.json');
      const users = await UsersFile.load(path, true);
      await users.set('bob', 'pw', parseScopes('read:a'));
      await users.save();
      expect((await stat(path)).mode & 0o777).toBe(0o600);
      const loaded = await UsersFile.load(path);
      expect(loaded.names()).toEqual(['bob']);
      expect(await loaded.check('bob', 'pw')).toEqual([{ access: 'read', bucket: 'a' }]);
      expect(await loaded.check('bob', 'nope')).toBeUndefined();
      expect(await loaded.check('eve', 'pw')).toBeUndefined();
      await expect(UsersFile.load(join(dir, 'missing.json'))).rejects.toThrow();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('the authorised engine', () => {
  it('fails closed: outside an authenticated call, and for operations without a rule', async () => {
    const { authorizedEngine } = await import('../../src/server/auth/call-guard.js');
    const engine = { read: async () => 'data', close: async () => undefined } as never;
    const guarded = authorizedEngine(engine) as unknown as Record<string, (...args: unknown[]) => Promise<unknown>>;
    await expect(guarded.read!({ bucket: 'a', name: 'x' })).rejects.toMatchObject({ code: 'INTERNAL', message: expect.stringMatching(/outside an authenticated call/) });
    expect(() => guarded.close!()).toThrow(/has no authorisation rule/);
  });
});
