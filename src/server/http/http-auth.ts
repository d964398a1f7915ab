/**
 * Who an HTTP request is: a bearer token in `Authorization`, or the console's session cookie
 * (the same token, HttpOnly and SameSite=Strict). Tokens, scopes and errors are Flight's.
 */
import type { IncomingMessage } from 'node:http';
import { type Principal, UNRESTRICTED } from '../auth/scopes.js';
import { PermissionDeniedError, UnauthenticatedError } from '../../errors.js';
import type { Authenticator } from '../auth/authenticator.js';

/** The session cookie's name. */
export const SESSION_COOKIE = 'hangar_session';

/** Methods that change nothing: no cross-site check needed. */
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/** The value of one cookie of a request. */
export function cookieValue(request: IncomingMessage, name: string): string | undefined {
  for (const part of (request.headers.cookie ?? '').split(';')) {
    const [key, ...value] = part.trim().split('=');
    if (key === name) return decodeURIComponent(value.join('='));
  }
  return undefined;
}

/**
 * The caller of a request.
 * @throws UnauthenticatedError when authentication is on and no valid token came;
 *   PermissionDeniedError for a cookie-authenticated write from another origin
 */
export function principalOfRequest(request: IncomingMessage, authenticator: Authenticator): Principal {
  if (!authenticator.enabled) return UNRESTRICTED;
  const authorization = request.headers.authorization;
  if (authorization) {
    const bearer = /^Bearer\s+(\S+)$/i.exec(authorization);
    if (!bearer) throw new UnauthenticatedError('send "Authorization: Bearer TOKEN", or log in at POST /api/v1/login');
    return authenticator.principalOfToken(bearer[1]!);
  }
  const session = cookieValue(request, SESSION_COOKIE);
  if (session) {
    // SameSite=Strict keeps the cookie off cross-site requests; the Origin check covers old browsers.
    if (!SAFE_METHODS.has(request.method ?? 'GET') && !sameOrigin(request)) {
      throw new PermissionDeniedError('a write with the session cookie must come from the console itself (Origin does not match)');
    }
    return authenticator.principalOfToken(session);
  }
  throw new UnauthenticatedError('this server requires authentication: send "Authorization: Bearer TOKEN", or log in at POST /api/v1/login');
}

/** Whether the request's Origin (when sent) is this server's own. */
function sameOrigin(request: IncomingMessage): boolean {
  const origin = request.headers.origin;
  if (origin === undefined) return true;
  try {
    return new URL(origin).host === request.headers.host;
  } catch {
    return false;
  }
}

/** The Set-Cookie header value of a session holding `token` (or, with no token, one clearing it). */
export function sessionCookie(token: string | undefined, secure: boolean, maxAgeSeconds: number): string {
  const attributes = ['Path=/', 'HttpOnly', 'SameSite=Strict', ...(secure ? ['Secure'] : [])];
  if (token === undefined) return [`${SESSION_COOKIE}=`, 'Max-Age=0', ...attributes].join('; ');
  return [`${SESSION_COOKIE}=${encodeURIComponent(token)}`, `Max-Age=${maxAgeSeconds}`, ...attributes].join('; ');
}
