/**
 * The one place authorisation is enforced. Every RPC handler is wrapped so that it runs only after
 * its caller is authenticated, with the caller as the current principal; the engine handlers see
 * is an {@link authorizedEngine} that checks that principal's scopes on every operation. A handler
 * cannot forget the check: the only engine it holds refuses to work without a principal.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { type Access, type Principal, SERVER, UNRESTRICTED, allows, authorize } from './scopes.js';
import { runAsCommitAuthor } from '../../core/commit-author.js';
import type { HangarEngine } from '../../core/engine.js';
import { HangarError } from '../../errors.js';
import { DEFAULT_BUCKET, type FrameRef } from '../../names.js';
import type { QueryContext } from '../../core/sql/sql-engine.js';
import type { CallHandler } from '../transport/grpc-server.js';
import type { Authenticator } from './authenticator.js';

const principals = new AsyncLocalStorage<Principal>();

/**
 * The principal of the call being handled.
 * @throws HangarError (INTERNAL) outside a guarded call: fail closed rather than run unchecked
 */
export function currentPrincipal(): Principal {
  const principal = principals.getStore();
  if (!principal) throw new HangarError('INTERNAL', 'internal error: an operation ran outside an authenticated call', { type: 'InternalError' });
  return principal;
}

/**
 * Wraps every handler so the call's metadata is authenticated first (UNAUTHENTICATED if that
 * fails) and the handler runs with the principal; adds Handshake, which the authenticator answers.
 */
export function guardCalls(handlers: Readonly<Record<string, CallHandler>>, authenticator: Authenticator): Record<string, CallHandler> {
  const guarded: Record<string, CallHandler> = { Handshake: authenticator.handshakeHandler() };
  for (const [name, handler] of Object.entries(handlers)) {
    if (name === 'Handshake') throw new HangarError('INTERNAL', 'internal error: Handshake belongs to the authenticator', { type: 'InternalError' });
    guarded[name] = async (call) => {
      const principal = authenticator.principalOf(call.metadata);
      return principals.run(principal, () => handler(call));
    };
  }
  return guarded;
}

/**
 * Runs `work` as `principal`: the HTTP listener's counterpart of {@link guardCalls}, for requests
 * it has authenticated itself (bearer header or session cookie), so both APIs enforce the same rules.
 */
export function runAsPrincipal<T>(principal: Principal, work: () => T): T {
  return principals.run(principal, work);
}

/** What one engine operation needs: an access on some buckets, or a filtered result. */
type Rule = (args: unknown[]) => { access: Access; buckets: string[] };

const frameRule =
  (access: Access): Rule =>
  (args) => ({ access, buckets: [(args[0] as FrameRef).bucket] });
const queryRule: Rule = (args) => ({ access: 'read', buckets: [(args[1] as QueryContext).bucket] });

/** Each engine method handlers may call, with what it needs. Methods not listed are refused. */
const RULES: Readonly<Record<string, Rule>> = {
  stat: frameRule('read'),
  read: frameRule('read'),
  put: frameRule('write'),
  delete: frameRule('write'),
  list: (args) => ({ access: 'read', buckets: [args[0] as string] }),
  deleteBucket: (args) => ({ access: 'admin', buckets: [args[0] as string] }),
  query: queryRule,
  querySchema: queryRule,
  describeQuery: queryRule,
  buckets: () => ({ access: 'read', buckets: [] }),
  versions: frameRule('read'),
  restore: frameRule('write'),
  compact: frameRule('write'),
  setMetadata: frameRule('write'),
  deleteRange: frameRule('write'),
  createSnapshot: (args) => ({ access: 'write', buckets: [args[0] as string] }),
  snapshots: (args) => ({ access: 'read', buckets: [args[0] as string] }),
  deleteSnapshot: (args) => ({ access: 'write', buckets: [args[0] as string] }),
  // Vacuum deletes history: admin of the bucket, or of the server when it sweeps every bucket.
  vacuum: (args) => {
    const scope = (args[0] ?? {}) as { bucket?: string; name?: string };
    return { access: 'admin', buckets: [scope.bucket ?? (scope.name !== undefined ? DEFAULT_BUCKET : SERVER)] };
  },
  // Purge removes a frame's whole history at once, as vacuum does in steps: admin of the bucket.
  purge: frameRule('admin'),
};

const OPERATION_NAMES: Readonly<Record<string, string>> = {
  stat: 'describe frames',
  read: 'read frames',
  put: 'write frames',
  delete: 'delete frames',
  list: 'list frames',
  deleteBucket: 'delete buckets',
  query: 'query',
  querySchema: 'query',
  describeQuery: 'query',
  versions: 'list versions',
  restore: 'restore versions',
  compact: 'compact frames',
  setMetadata: 'write frames',
  deleteRange: 'write frames',
  createSnapshot: 'take snapshots',
  snapshots: 'list snapshots',
  deleteSnapshot: 'delete snapshots',
  vacuum: 'vacuum old versions',
  purge: 'purge frames',
};

/**
 * The engine as handlers see it: each operation is authorised against {@link currentPrincipal};
 * bucket listings are filtered to readable buckets; SQL gets the readable-bucket predicate, so a
 * query cannot name (or join into) a frame of another bucket.
 */
export function authorizedEngine(engine: HangarEngine): HangarEngine {
  return new Proxy(engine, {
    get(target, property) {
      const name = String(property);
      const rule = RULES[name];
      if (!rule) {
        return () => {
          throw new HangarError('INTERNAL', `internal error: engine.${name} has no authorisation rule`, { type: 'InternalError' });
        };
      }
      return async (...args: unknown[]) => {
        const principal = currentPrincipal();
        const { access, buckets } = rule(args);
        authorize(principal, access, buckets, OPERATION_NAMES[name] ?? name);
        if (name === 'buckets') return (await engine.buckets()).filter((bucket) => allows(principal, 'read', bucket));
        if (name === 'query' || name === 'querySchema' || name === 'describeQuery') {
          const context = args[1] as QueryContext;
          // A principal that may read every bucket needs no per-table checks. The caller (token
          // subject; `anonymous` without authentication) is what the concurrent-query cap counts.
          const counted: QueryContext = { ...context, caller: principal.subject };
          const scoped: QueryContext = allows(principal, 'read', '*') ? counted : { ...counted, mayRead: (bucket: string) => allows(principal, 'read', bucket) };
          if (name === 'describeQuery') return engine.describeQuery(args[0] as string, scoped);
          return name === 'query' ? engine.query(args[0] as string, scoped) : engine.querySchema(args[0] as string, scoped);
        }
        const run = (): unknown => (target as unknown as Record<string, (...a: unknown[]) => unknown>)[name]!.apply(target, args);
        // An authenticated caller is the author of the commits it makes (the Delta log's commitInfo.userName).
        return principal === UNRESTRICTED ? run() : runAsCommitAuthor(principal.subject, run);
      };
    },
  });
}
