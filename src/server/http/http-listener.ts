/**
 * The HTTP listener beside the Flight port: the REST API under /api/v1 (with its OpenAPI document),
 * the session login, /metrics, /healthz and /readyz, and the web console's static files. Built on
 * node:http(s); requests are authenticated here and run with the caller as the principal of the
 * authorised engine, so HTTP enforces exactly what Flight does.
 */
import { readFile } from 'node:fs/promises';
import { type IncomingMessage, type Server, type ServerResponse, createServer as createHttpServer } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { createRequire } from 'node:module';
import type { AddressInfo, Socket } from 'node:net';
import { extname, join, normalize } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { HangarEngine } from '../../core/engine.js';
import { formatScopes } from '../auth/scopes.js';
import { InvalidArgumentError, NotFoundError, ResourceExhaustedError, toHangarError } from '../../errors.js';
import type { Authenticator } from '../auth/authenticator.js';
import { runAsPrincipal } from '../auth/call-guard.js';
import { PROBLEM_MEDIA_TYPE, toProblem } from '../http-status-mapping.js';
import type { HangarMetrics } from '../metrics/hangar-metrics.js';
import type { GrpcTlsOptions } from '../transport/grpc-server.js';
import { apiRoutes } from './api-routes.js';
import { principalOfRequest, sessionCookie } from './http-auth.js';
import { openApiDocument } from './openapi-document.js';
import type { ApiRequest, RouteDefinition } from './route-definition.js';
import { RouteMatcher } from './route-matcher.js';
import type { UploadLimits } from './frame-upload.js';
import type { StreamAccess } from '../streams/stream-access.js';
import { PtgGateway } from '../streams/ptg-websocket.js';

/** Options of the HTTP listener. */
export interface HttpListenerOptions {
  /** Port to bind; 0 picks a free one. */
  readonly port: number;
  /** Interface to bind (default: the Flight server's). */
  readonly host?: string;
  /** Origins allowed to call the API from another site's pages (CORS; default none). */
  readonly corsOrigins?: readonly string[];
}

/** What the listener is built from (the server's own parts). */
export interface HttpListenerParts {
  /** The authorised engine (call-guard.ts). */
  readonly engine: HangarEngine;
  /** The raw engine, for the readiness check only. */
  readonly rawEngine: HangarEngine;
  readonly authenticator: Authenticator;
  readonly metrics: HangarMetrics;
  readonly limits: UploadLimits;
  readonly tls?: GrpcTlsOptions;
  /** The live streams, for the PTG-compatible WebSocket routes (docs/streams.md). */
  readonly streams?: StreamAccess;
}

/** Where the API lives. */
export const API_BASE = '/api/v1';
/** Largest JSON request body. */
const MAX_JSON_BYTES = 1024 * 1024;
/** Lifetime of a console session cookie: the token's own lifetime bounds it too. */
const SESSION_SECONDS = 12 * 3600;

/** The console's files: `console/` at the package root, the same from src/ and dist/. */
const CONSOLE_DIRECTORY = fileURLToPath(new URL('../../../console/', import.meta.url));
const require = createRequire(import.meta.url);
/** Libraries the console loads, served from node_modules (no CDN, no build step). */
const VENDOR_FILES: Readonly<Record<string, () => string>> = {
  '/vendor/uPlot.iife.min.js': () => require.resolve('uplot/dist/uPlot.iife.min.js'),
  '/vendor/uPlot.min.css': () => require.resolve('uplot/dist/uPlot.min.css'),
};
const CONTENT_TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.png': 'image/png',
  '.svg': 'image/svg+xml',
};
const PACKAGE_VERSION = (require('../../../package.json') as { version: string }).version;

/** A running HTTP listener. */
export class HttpListener {
  private readonly sockets = new Set<Socket>();
  private readonly matcher: RouteMatcher;
  private readonly openApi: string;
  /** PTG's WebSocket protocol and /token (docs/streams.md), when the server has streams. */
  private readonly gateway: PtgGateway | undefined;

  private constructor(
    private readonly server: Server,
    private readonly parts: HttpListenerParts,
    private readonly options: HttpListenerOptions,
    /** The interface it listens on. */
    readonly host: string,
  ) {
    const routes = [...this.sessionRoutes(), ...apiRoutes(parts.limits, {
        sent: (bytes) => parts.metrics.countBytes('http', 'out', bytes),
        received: (bytes) => parts.metrics.countBytes('http', 'in', bytes),
      })];
    this.matcher = new RouteMatcher(routes);
    this.openApi = JSON.stringify(openApiDocument(routes, API_BASE, PACKAGE_VERSION));
    server.on('connection', (socket: Socket) => {
      this.sockets.add(socket);
      socket.once('close', () => this.sockets.delete(socket));
    });
    // Whatever a request does, it must not end the process: an error escaping handle() (which
    // answers its own) cuts that one connection.
    server.on('request', (request: IncomingMessage, reply: ServerResponse) => void this.handle(request, reply).catch((error: unknown) => reply.destroy(toHangarError(error))));
    this.gateway = parts.streams ? new PtgGateway(parts.streams, parts.authenticator) : undefined;
    server.on('upgrade', (request: IncomingMessage, socket: Socket, head: Buffer) => (this.gateway ? this.gateway.upgrade(request, socket, head) : socket.destroy()));
  }

  /** Binds the port and starts serving. */
  static async listen(options: HttpListenerOptions, host: string, parts: HttpListenerParts): Promise<HttpListener> {
    const bindHost = (options.host ?? host).replace(/^\[(.*)\]$/, '$1');
    // Node ends a request whose body has not fully arrived within 5 minutes; uploads have the put's
    // own idle timeout instead, so a large upload that keeps sending is not cut.
    const timeouts = { requestTimeout: 0 };
    const server = parts.tls
      ? createHttpsServer({
          ...timeouts,
          cert: parts.tls.cert,
          key: parts.tls.key,
          ...(parts.tls.clientCa ? { ca: parts.tls.clientCa, requestCert: true, rejectUnauthorized: true } : {}),
        })
      : createHttpServer(timeouts);
    // A connection that moves no bytes for the idle limit (as Flight's) is closed.
    if (parts.limits.idleTimeoutMs !== undefined) server.setTimeout(parts.limits.idleTimeoutMs, (socket: Socket) => socket.destroy());
    const listener = new HttpListener(server, parts, options, bindHost);
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(options.port, bindHost, () => {
        server.off('error', reject);
        resolve();
      });
    });
    return listener;
  }

  /** The port it listens on. */
  get port(): number {
    return (this.server.address() as AddressInfo).port;
  }

  /** Its base URL, e.g. `http://127.0.0.1:8080`. */
  get url(): string {
    const host = this.host.includes(':') ? `[${this.host}]` : this.host;
    return `${this.parts.tls ? 'https' : 'http'}://${host}:${this.port}`;
  }

  /** Stops listening, lets running requests finish for up to `graceMs`, then closes every connection. */
  async close(graceMs = 5000): Promise<void> {
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    this.gateway?.close();
    this.server.closeIdleConnections();
    const timer = setTimeout(() => {
      for (const socket of this.sockets) socket.destroy();
    }, graceMs);
    await closed;
    clearTimeout(timer);
  }

  /** Answers one request; every error becomes a problem document (or, mid-stream, a reset). */
  private async handle(request: IncomingMessage, reply: ServerResponse): Promise<void> {
    const finish = this.parts.metrics.startHttp(request.method ?? 'GET');
    let route = 'other';
    // A request target that is no URL relative to the server (`///`, `//:x`) is refused below; it
    // used to throw here, outside the try, and end the server (found by the HTTP fuzzer).
    let url: URL | undefined;
    try {
      url = new URL(request.url ?? '/', 'http://localhost');
    } catch {
      url = undefined;
    }
    const aborter = new AbortController();
    reply.once('close', () => {
      if (!reply.writableFinished) aborter.abort();
      finish(route, reply.statusCode);
    });
    try {
      if (!url) throw new InvalidArgumentError(`the request target ${JSON.stringify(String(request.url).slice(0, 200))} is not a path; send a path such as ${API_BASE}/buckets`);
      if (!this.cors(request, reply)) return;
      const path = url.pathname;
      if (this.gateway?.owns(path)) {
        route = path === '/token' ? '/token' : '/data/{stream_id}';
        return await this.gateway.handle(request, reply, path);
      }
      if (path === '/metrics') {
        route = '/metrics';
        return this.text(reply, 200, await this.parts.metrics.render(), this.parts.metrics.registry.contentType);
      }
      if (path === '/healthz') {
        route = '/healthz';
        return this.text(reply, 200, 'ok\n');
      }
      if (path === '/readyz') {
        route = '/readyz';
        await this.parts.rawEngine.buckets();
        return this.text(reply, 200, 'ready\n');
      }
      if (path === `${API_BASE}/openapi.json`) {
        route = `${API_BASE}/openapi.json`;
        return this.text(reply, 200, this.openApi, 'application/json');
      }
      if (path.startsWith(`${API_BASE}/`)) {
        const matched = this.matcher.match(request.method ?? 'GET', path.slice(API_BASE.length), url.searchParams);
        route = `${API_BASE}${matched.route.path}`;
        const body = matched.route.jsonBody ? matched.validateBody(await readJson(request, (bytes) => this.parts.metrics.countBytes('http', 'in', bytes))) : undefined;
        const principal = matched.route.public ? undefined : principalOfRequest(request, this.parts.authenticator);
        const apiRequest: ApiRequest = {
          params: matched.params,
          query: matched.query,
          body,
          raw: request,
          reply,
          signal: aborter.signal,
          principal,
          engine: this.parts.engine,
        };
        await (principal ? runAsPrincipal(principal, () => matched.route.handle(apiRequest)) : matched.route.handle(apiRequest));
        return;
      }
      route = 'console';
      await this.serveStatic(request, reply, path);
    } catch (error) {
      this.fail(reply, error, url?.pathname ?? '/');
    }
  }

  /** Sends a problem document, or cuts the connection when the response had begun. */
  private fail(reply: ServerResponse, error: unknown, instance: string): void {
    if (reply.headersSent) {
      // A stream already under way cannot change its status: the client sees a truncated body.
      reply.destroy(toHangarError(error));
      return;
    }
    const problem = toProblem(error, instance);
    const text = JSON.stringify(problem);
    reply.writeHead(problem.status, {
      'content-type': PROBLEM_MEDIA_TYPE,
      'content-length': Buffer.byteLength(text),
      ...(problem.status === 401 ? { 'www-authenticate': 'Bearer realm="hangar"' } : {}),
    });
    reply.end(text);
    // An upload refused before its body was read: do not read the rest of it.
    if (!reply.req.complete) reply.once('finish', () => reply.req.destroy());
  }

  private text(reply: ServerResponse, status: number, body: string, contentType = 'text/plain; charset=utf-8'): void {
    reply.writeHead(status, { 'content-type': contentType, 'content-length': Buffer.byteLength(body) });
    reply.end(body);
  }

  /** Applies CORS for allowed origins and answers preflights. Returns false when the request was answered. */
  private cors(request: IncomingMessage, reply: ServerResponse): boolean {
    const origin = request.headers.origin;
    const allowed = origin !== undefined && (this.options.corsOrigins ?? []).some((candidate) => candidate === '*' || candidate === origin);
    if (allowed) {
      reply.setHeader('access-control-allow-origin', origin);
      reply.setHeader('vary', 'Origin');
    }
    if (request.method !== 'OPTIONS') return true;
    if (allowed) {
      reply.setHeader('access-control-allow-methods', 'GET, POST, PUT, DELETE');
      reply.setHeader('access-control-allow-headers', 'authorization, content-type, accept');
      reply.setHeader('access-control-max-age', '600');
    }
    reply.writeHead(allowed ? 204 : 403).end();
    return false;
  }

  /** The console's files and the libraries it loads. */
  private async serveStatic(request: IncomingMessage, reply: ServerResponse, path: string): Promise<void> {
    if (request.method !== 'GET' && request.method !== 'HEAD') throw new NotFoundError(`no route ${request.method} ${path}`);
    const vendor = VENDOR_FILES[path];
    const relative = normalize(path === '/' ? 'index.html' : path.slice(1));
    if (!vendor && (relative.startsWith('..') || relative.includes('\0'))) throw new NotFoundError(`no file ${path}`);
    const file = vendor ? vendor() : join(CONSOLE_DIRECTORY, relative);
    let content: Buffer;
    try {
      content = await readFile(file);
    } catch {
      throw new NotFoundError(`no file ${path}`);
    }
    reply.writeHead(200, {
      'content-type': CONTENT_TYPES[extname(file)] ?? 'application/octet-stream',
      'content-length': content.byteLength,
      'cache-control': 'no-cache',
      'x-content-type-options': 'nosniff',
      ...(extname(file) === '.html' ? { 'content-security-policy': "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'" } : {}),
    });
    reply.end(request.method === 'HEAD' ? undefined : content);
  }

  /** Login, logout and "who am I" for the console. */
  private sessionRoutes(): RouteDefinition[] {
    const { authenticator } = this.parts;
    const secure = this.parts.tls !== undefined;
    const json = (reply: ServerResponse, body: unknown, cookie?: string): void => {
      const text = JSON.stringify(body);
      reply.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), ...(cookie ? { 'set-cookie': cookie } : {}) });
      reply.end(text);
    };
    const SESSION_SCHEMA = {
      type: 'object',
      properties: { subject: { type: 'string' }, scopes: { type: 'string' }, authentication: { type: 'boolean' } },
    };
    return [
      {
        method: 'POST',
        path: '/login',
        operationId: 'login',
        summary: 'Starts a console session: a user and password, or a token, become an HttpOnly SameSite=Strict cookie',
        public: true,
        jsonBody: {
          type: 'object',
          properties: { user: { type: 'string', minLength: 1 }, password: { type: 'string' }, token: { type: 'string', minLength: 1 } },
          oneOf: [{ required: ['user', 'password'] }, { required: ['token'] }],
          additionalProperties: false,
        },
        responses: { 200: { description: 'logged in', content: { 'application/json': SESSION_SCHEMA } } },
        handle: async ({ body, reply }) => {
          const credentials = body as { user?: string; password?: string; token?: string };
          if (!authenticator.enabled) return json(reply, { subject: 'anonymous', scopes: 'admin', authentication: false });
          const token = credentials.token ?? (await authenticator.login(credentials.user!, credentials.password!));
          const principal = authenticator.principalOfToken(token);
          json(reply, { subject: principal.subject, scopes: formatScopes(principal.scopes), authentication: true }, sessionCookie(token, secure, SESSION_SECONDS));
        },
      },
      {
        method: 'POST',
        path: '/logout',
        operationId: 'logout',
        summary: 'Ends the console session (clears the cookie)',
        public: true,
        responses: { 200: { description: 'logged out' } },
        handle: async ({ reply }) => json(reply, { ok: true }, sessionCookie(undefined, secure, 0)),
      },
      {
        method: 'GET',
        path: '/session',
        operationId: 'session',
        summary: 'The caller: subject and scopes (401 without a valid token or session)',
        responses: { 200: { description: 'the caller', content: { 'application/json': SESSION_SCHEMA } } },
        handle: async ({ principal, reply }) =>
          json(reply, { subject: principal!.subject, scopes: formatScopes(principal!.scopes), authentication: authenticator.enabled }),
      },
    ];
  }
}

/** Reads and parses a JSON request body of at most {@link MAX_JSON_BYTES}. */
async function readJson(request: IncomingMessage, counted: (bytes: number) => void): Promise<unknown> {
  const chunks: Buffer[] = [];
  let length = 0;
  for await (const chunk of request as AsyncIterable<Buffer>) {
    length += chunk.byteLength;
    if (length > MAX_JSON_BYTES) throw new ResourceExhaustedError(`a JSON body may have at most ${MAX_JSON_BYTES} bytes`);
    chunks.push(chunk);
  }
  counted(length);
  if (length === 0) return {};
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch (error) {
    throw new InvalidArgumentError(`the body is not valid JSON: ${(error as Error).message}`);
  }
}
