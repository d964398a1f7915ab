/** Hangar's bearer tokens: HS256 JWTs with `sub`, `scope`, `iat` and `exp` (docs/security.md). */
import { signJwt } from './jwt.js';
import { type Scope, formatScopes } from './scopes.js';

/**
 * Mints a token for `subject` holding `scopes`, valid for `ttlSeconds` from now.
 * @param secret - the server's HS256 secret
 */
export function mintToken(secret: Buffer | string, subject: string, scopes: readonly Scope[], ttlSeconds: number): string {
  const now = Math.floor(Date.now() / 1000);
  return signJwt({ sub: subject, scope: formatScopes(scopes), iat: now, exp: now + ttlSeconds }, secret);
}
