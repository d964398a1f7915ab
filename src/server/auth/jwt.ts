/**
 * JSON Web Tokens signed with HS256 (RFC 7519 / 7515), on node:crypto. Only HS256 is accepted:
 * a token naming any other algorithm (`none` included) is refused before its signature is looked at.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { UnauthenticatedError } from '../../errors.js';

/** The claims Hangar reads; any others are kept as they are. */
export interface JwtClaims {
  /** Subject: the user or service the token was issued to. */
  readonly sub?: string;
  /** Space-separated scopes, e.g. `"read:sales write:sales"` (see scopes.ts). */
  readonly scope?: string;
  /** shoots' claim: `"admin"` marks its admin token. */
  readonly type?: string;
  /** Expiry, seconds since the epoch. */
  readonly exp?: number;
  /** Not before, seconds since the epoch. */
  readonly nbf?: number;
  /** Issued at, seconds since the epoch. */
  readonly iat?: number;
  /** Any other claim. */
  readonly [claim: string]: unknown;
}

/** Seconds of clock difference tolerated for `exp` and `nbf`. */
const CLOCK_SKEW_SECONDS = 30;

const base64url = (data: Buffer | string): string => Buffer.from(data).toString('base64url');

function hs256(secret: Buffer, signingInput: string): Buffer {
  return createHmac('sha256', secret).update(signingInput).digest();
}

/**
 * Signs claims as an HS256 JWT.
 * @param claims - the payload
 * @param secret - the shared secret (at least 32 bytes recommended)
 */
export function signJwt(claims: JwtClaims, secret: Buffer | string): string {
  const signingInput = `${base64url(JSON.stringify({ alg: 'HS256', typ: 'JWT' }))}.${base64url(JSON.stringify(claims))}`;
  return `${signingInput}.${base64url(hs256(Buffer.from(secret), signingInput))}`;
}

function decodePart(part: string, what: string): Record<string, unknown> {
  try {
    const value: unknown = JSON.parse(Buffer.from(part, 'base64url').toString('utf8'));
    if (value !== null && typeof value === 'object' && !Array.isArray(value)) return value as Record<string, unknown>;
  } catch {
    // fall through to the uniform error
  }
  throw new UnauthenticatedError(`malformed token: its ${what} is not a base64url JSON object`);
}

/**
 * Verifies an HS256 JWT and returns its claims.
 * @param token - the compact serialisation `header.payload.signature`
 * @param secret - the shared secret
 * @param nowSeconds - the current time (for tests), seconds since the epoch
 * @throws UnauthenticatedError if the token is malformed, not HS256, carries `crit` extensions, is wrongly signed, expired or not yet valid
 */
export function verifyJwt(token: string, secret: Buffer | string, nowSeconds = Date.now() / 1000): JwtClaims {
  const parts = token.split('.');
  if (parts.length !== 3 || parts.some((part) => !/^[A-Za-z0-9_-]*$/.test(part))) {
    throw new UnauthenticatedError('malformed token: expected a JWT (three base64url parts separated by dots)');
  }
  const [headerPart, payloadPart, signaturePart] = parts as [string, string, string];
  const header = decodePart(headerPart, 'header');
  if (header.alg !== 'HS256') throw new UnauthenticatedError(`token algorithm ${JSON.stringify(header.alg)} is not accepted; only HS256 is`);
  // RFC 7515 §4.1.11: a JWS whose `crit` names an extension the recipient does not understand is
  // invalid. Hangar understands none, so any `crit` (even a malformed or empty one) is refused.
  if (header.crit !== undefined) {
    throw new UnauthenticatedError(`token header lists critical extensions ${JSON.stringify(header.crit)} that Hangar does not support; issue the token without 'crit'`);
  }
  const expected = hs256(Buffer.from(secret), `${headerPart}.${payloadPart}`);
  const given = Buffer.from(signaturePart, 'base64url');
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) throw new UnauthenticatedError('token signature is not valid');
  const claims = decodePart(payloadPart, 'payload') as JwtClaims;
  for (const name of ['exp', 'nbf', 'iat'] as const) {
    if (claims[name] !== undefined && typeof claims[name] !== 'number') throw new UnauthenticatedError(`malformed token: claim '${name}' is not a number`);
  }
  if (claims.exp !== undefined && nowSeconds > claims.exp + CLOCK_SKEW_SECONDS) throw new UnauthenticatedError('token has expired');
  if (claims.nbf !== undefined && nowSeconds < claims.nbf - CLOCK_SKEW_SECONDS) throw new UnauthenticatedError('token is not valid yet (nbf)');
  return claims;
}
