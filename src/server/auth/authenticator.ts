/**
 * Authentication: turns a call's metadata into a {@link Principal}, and runs the Handshake flows
 * stock Flight clients use (docs/security.md): Basic → Bearer (pyarrow `authenticate_basic_token`,
 * Go, JDBC) and shoots' token-in-payload → `auth-token-bin`.
 */
import { randomBytes } from 'node:crypto';
import { type JwtClaims, verifyJwt } from './jwt.js';
import { mintToken } from './tokens.js';
import { type Principal, type Scope, SERVER, UNRESTRICTED, parseScopes } from './scopes.js';
import type { UsersFile } from './users-file.js';
import { DeadlineExceededError, HangarError, UnauthenticatedError } from '../../errors.js';
import { decodeHandshake, encodeHandshake } from '../../flight/flight-messages.js';
import type { CallMetadata } from '../../grpc/metadata.js';
import type { CallHandler } from '../transport/grpc-server.js';
import type { ServerCall } from '../transport/server-call.js';

/** Authentication settings of a server. Authentication is on when a secret or a users file is given. */
export interface AuthOptions {
  /** The HS256 key tokens are signed and checked with. Without it (but with users) a random key is used per run. */
  readonly secret?: Buffer | string;
  /** Users who may log in with a password (Basic authentication on Handshake). */
  readonly users?: UsersFile;
  /** Lifetime of tokens issued by Handshake, in seconds (default 12 h). */
  readonly tokenTtlSeconds?: number;
}

const DEFAULT_TOKEN_TTL_SECONDS = 12 * 3600;

/** Checks credentials and issues tokens. */
export class Authenticator {
  private readonly secret: Buffer;
  private readonly ttlSeconds: number;

  /**
   * @param options - secret, users and token lifetime; with neither secret nor users, every call is {@link UNRESTRICTED}
   * @param handshakeTimeoutMs - a Handshake not finished within this long fails with DEADLINE_EXCEEDED
   */
  constructor(
    private readonly options: AuthOptions = {},
    private readonly handshakeTimeoutMs = 5 * 60_000,
  ) {
    this.secret = options.secret === undefined ? randomBytes(32) : Buffer.from(options.secret);
    this.ttlSeconds = options.tokenTtlSeconds ?? DEFAULT_TOKEN_TTL_SECONDS;
  }

  /** Whether calls must authenticate. */
  get enabled(): boolean {
    return this.options.secret !== undefined || this.options.users !== undefined;
  }

  /** Signs a token for `subject` with `scopes`, valid for `ttlSeconds` (default: the configured lifetime). */
  issue(subject: string, scopes: readonly Scope[], ttlSeconds = this.ttlSeconds): string {
    return mintToken(this.secret, subject, scopes, ttlSeconds);
  }

  /**
   * The caller of a (non-Handshake) call: from `authorization: Bearer TOKEN`, else `auth-token-bin`.
   * @throws UnauthenticatedError when authentication is on and no valid token came
   */
  principalOf(metadata: CallMetadata): Principal {
    if (!this.enabled) return UNRESTRICTED;
    const authorization = metadata.get('authorization') ?? '';
    if (authorization) {
      const bearer = /^Bearer\s+(\S+)$/i.exec(authorization);
      if (!bearer) throw new UnauthenticatedError('send "authorization: Bearer TOKEN"; exchange a password for a token with Handshake (Basic) first');
      return this.principalOfToken(bearer[1]!);
    }
    const legacy = metadata.getBinary('auth-token-bin');
    if (legacy !== undefined) return this.principalOfToken(legacy.toString('utf8'));
    throw new UnauthenticatedError('this server requires authentication: send "authorization: Bearer TOKEN" (or log in with Handshake)');
  }

  /**
   * Verifies a token and builds its principal. A token with `type: "admin"` (shoots' admin token)
   * is an administrator; otherwise the `scope` claim lists the grants.
   * @throws UnauthenticatedError for an invalid token
   */
  principalOfToken(token: string): Principal {
    const claims = verifyJwt(token, this.secret);
    return principalOfClaims(claims);
  }

  /** The Handshake handler: answers the credential flows, or (authentication off) echoes empty payloads. */
  handshakeHandler(): CallHandler {
    return async (call) => {
      const login = this.headerLogin(call.metadata);
      // Headers go out as soon as the credentials are checked: Go's client reads them there.
      login.then((bearer) => bearer !== undefined && call.sendHeaders({ authorization: `Bearer ${bearer}` }), () => undefined);
      // A client that opens a Handshake and never finishes it must not hold it open forever.
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new DeadlineExceededError(`the Handshake did not finish within ${this.handshakeTimeoutMs} ms`)), this.handshakeTimeoutMs);
      });
      // Wrong credentials fail the call at once, without waiting for the client to finish sending.
      const refused = login.then(() => new Promise<never>(() => undefined));
      try {
        await Promise.race([this.exchange(call, login), timeout, refused]);
      } finally {
        clearTimeout(timer);
      }
    };
  }

  /** Answers each Handshake message, then checks that credentials came one way or the other. */
  private async exchange(call: ServerCall, login: Promise<string | undefined>): Promise<void> {
    let payloadToken: string | undefined;
    for await (const raw of call.messages()) {
      const request = decodeHandshake(raw);
      let payload: Uint8Array = new Uint8Array(0);
      if (this.enabled && request.payload.byteLength > 0) {
        // shoots (and pyarrow ClientAuthHandler clients) send their token as the payload and then
        // send it back in `auth-token-bin`; the payload answered is the token to send.
        const token = Buffer.from(request.payload).toString('utf8');
        this.principalOfToken(token);
        payloadToken = token;
        payload = request.payload;
      }
      // The login's headers, if any, must precede the first reply.
      await login;
      await call.write(encodeHandshake({ protocolVersion: request.protocolVersion, payload }));
    }
    const bearer = await login;
    if (this.enabled && bearer === undefined && payloadToken === undefined) {
      throw new UnauthenticatedError('Handshake carried no credentials: send "authorization: Basic …" or a token as the payload');
    }
    if (bearer) call.setTrailers({ authorization: `Bearer ${bearer}` });
  }

  /**
   * Checks an `authorization` header sent on Handshake: Basic (padded or unpadded base64) is
   * exchanged for a new token; Bearer is checked and echoed. Resolves to the token to return.
   */
  private async headerLogin(metadata: CallMetadata): Promise<string | undefined> {
    const authorization = metadata.get('authorization') ?? '';
    if (!authorization || !this.enabled) return undefined;
    const [scheme = '', value = ''] = authorization.split(/\s+/, 2);
    if (/^bearer$/i.test(scheme)) {
      this.principalOfToken(value);
      return value;
    }
    if (!/^basic$/i.test(scheme)) throw new UnauthenticatedError(`unsupported authorization scheme '${scheme}'; use Basic or Bearer`);
    const decoded = Buffer.from(value, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon < 0) throw new UnauthenticatedError('malformed Basic credentials: expected base64(user:password)');
    return this.login(decoded.slice(0, colon), decoded.slice(colon + 1));
  }

  /**
   * Exchanges a user's password for a new token (Handshake's Basic flow, the HTTP console's login).
   * @throws UnauthenticatedError for a wrong user name or password, or when no users file is set
   */
  async login(user: string, password: string): Promise<string> {
    const scopes = await this.options.users?.check(user, password);
    if (!scopes) throw new UnauthenticatedError('wrong user name or password');
    return this.issue(user, scopes);
  }
}

/** The principal a token's claims describe. */
export function principalOfClaims(claims: JwtClaims): Principal {
  const subject = typeof claims.sub === 'string' ? claims.sub : claims.type === 'admin' ? 'admin' : 'token';
  if (claims.type === 'admin') return { subject, scopes: [{ access: 'admin', bucket: SERVER }] };
  try {
    return { subject, scopes: parseScopes(typeof claims.scope === 'string' ? claims.scope : '') };
  } catch (error) {
    throw new UnauthenticatedError(`token has a malformed scope claim: ${error instanceof HangarError ? error.message : String(error)}`);
  }
}
