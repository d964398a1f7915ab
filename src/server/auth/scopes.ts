/**
 * Who a caller is and what it may do: scopes per bucket and the one authorisation rule every RPC
 * and action goes through ({@link authorize}).
 */
import { InvalidArgumentError, PermissionDeniedError } from '../../errors.js';
import { validateName } from '../../names.js';

/** Kinds of access. `admin` on a bucket implies `read` and `write` there; `admin` on `*` is server administration. */
export type Access = 'read' | 'write' | 'admin';

/** One grant: an access on a bucket, or on every bucket (`*`). */
export interface Scope {
  /** What the grant allows. */
  readonly access: Access;
  /** A bucket name, or `*` for all buckets (and, for `admin`, the server itself). */
  readonly bucket: string;
}

/** An authenticated caller. */
export interface Principal {
  /** Who it is (a user name, a token's `sub`, or `anonymous` when authentication is off). */
  readonly subject: string;
  /** What it may do. */
  readonly scopes: readonly Scope[];
}

/** The target of server-wide operations (shutdown, user management): only `admin` on `*` reaches it. */
export const SERVER = '*';

/** The principal of every call when authentication is off: everything is allowed. */
export const UNRESTRICTED: Principal = { subject: 'anonymous', scopes: [{ access: 'admin', bucket: SERVER }] };

/**
 * Parses a scope: `read:BUCKET`, `write:BUCKET`, `admin:BUCKET`, with `*` for every bucket; a bare
 * `admin` (or `read`, `write`) means `…:*`.
 * @throws InvalidArgumentError for an unknown access or a bad bucket name
 */
export function parseScope(text: string): Scope {
  const [access, bucket = SERVER, ...rest] = text.split(':');
  if (access !== 'read' && access !== 'write' && access !== 'admin') {
    throw new InvalidArgumentError(`unknown scope ${JSON.stringify(text)}: use read:BUCKET, write:BUCKET, admin:BUCKET or admin (BUCKET may be *)`);
  }
  if (rest.length > 0) throw new InvalidArgumentError(`malformed scope ${JSON.stringify(text)}`);
  return { access, bucket: bucket === SERVER ? SERVER : validateName('bucket', bucket) };
}

/** Parses a space-separated scope list (a JWT's `scope` claim). */
export function parseScopes(text: string): Scope[] {
  return text.split(/\s+/).filter((part) => part.length > 0).map(parseScope);
}

/** Formats scopes as the space-separated `scope` claim. */
export function formatScopes(scopes: readonly Scope[]): string {
  return scopes.map((scope) => `${scope.access}:${scope.bucket}`).join(' ');
}

function grants(scope: Scope, access: Access, bucket: string): boolean {
  const covers = scope.bucket === SERVER || scope.bucket === bucket;
  return covers && (scope.access === access || scope.access === 'admin');
}

/** Whether the principal holds `access` on `bucket` (use {@link SERVER} for server-wide operations). */
export function allows(principal: Principal, access: Access, bucket: string): boolean {
  return principal.scopes.some((scope) => grants(scope, access, bucket));
}

/**
 * The authorisation rule: the principal must hold `access` on every bucket named.
 * @param principal - the caller
 * @param access - what the operation needs
 * @param buckets - the buckets it touches ({@link SERVER} for server-wide operations)
 * @param operation - what is being done, for the message (e.g. "DoGet", "action delete_bucket")
 * @throws PermissionDeniedError naming the first bucket that is not allowed
 */
export function authorize(principal: Principal, access: Access, buckets: readonly string[], operation: string): void {
  for (const bucket of buckets) {
    if (allows(principal, access, bucket)) continue;
    const target = bucket === SERVER ? 'the server (scope admin)' : `bucket '${bucket}' (scope ${access}:${bucket})`;
    throw new PermissionDeniedError(`${principal.subject} may not ${operation}: it needs ${access} access to ${target}`);
  }
}
