/**
 * Finds the route of a request and validates its path parameters, query and JSON body against the
 * route's schemas with ajv, so a handler only ever sees values its schemas allow.
 */
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import { InvalidArgumentError, NotFoundError, UnimplementedError } from '../../errors.js';
import type { ParameterSchema, RouteDefinition } from './route-definition.js';

/** A route ready to match: its path as a pattern and its compiled validators. */
interface CompiledRoute {
  readonly route: RouteDefinition;
  readonly pattern: RegExp;
  readonly paramNames: readonly string[];
  readonly params: ValidateFunction | undefined;
  readonly query: ValidateFunction | undefined;
  readonly body: ValidateFunction | undefined;
}

/** A request matched to its route, with validated (and coerced) parameters. */
export interface MatchedRoute {
  readonly route: RouteDefinition;
  readonly params: Readonly<Record<string, string>>;
  readonly query: Readonly<Record<string, unknown>>;
  /** Validates (and fills defaults into) a parsed JSON body. @throws InvalidArgumentError */
  readonly validateBody: (body: unknown) => unknown;
}

/** Matches requests to a fixed list of routes. */
export class RouteMatcher {
  private readonly compiled: CompiledRoute[];

  /** @param routes - the API's routes; paths are relative to the API base */
  constructor(readonly routes: readonly RouteDefinition[]) {
    // Query strings are text: coerce to the schema's types (integers, booleans) and fill defaults.
    const ajv = new Ajv({ coerceTypes: true, useDefaults: true, allErrors: false, strict: false });
    const compile = (schema: ParameterSchema | Record<string, unknown> | undefined): ValidateFunction | undefined => (schema ? ajv.compile(schema) : undefined);
    this.compiled = routes.map((route) => {
      const paramNames: string[] = [];
      const source = route.path.replace(/[.*+?^$()|[\]\\]/g, '\\$&').replace(/\{(\w+)\}/g, (_, name: string) => {
        paramNames.push(name);
        return '([^/]+)';
      });
      return {
        route,
        pattern: new RegExp(`^${source}$`),
        paramNames,
        params: compile(route.params),
        // A route without query parameters refuses any, rather than ignoring a misspelt one.
        query: compile(route.query ?? { type: 'object', properties: {}, additionalProperties: false }),
        body: compile(route.jsonBody),
      };
    });
  }

  /**
   * The route of `method` and `path` (relative to the API base), with its validated parameters.
   * @throws NotFoundError for an unknown path, UnimplementedError for a known path without that
   *   method, InvalidArgumentError for parameters their schema refuses
   */
  match(method: string, path: string, search: URLSearchParams): MatchedRoute {
    let pathKnown = false;
    for (const candidate of this.compiled) {
      const found = candidate.pattern.exec(path);
      if (!found) continue;
      pathKnown = true;
      if (candidate.route.method !== method) continue;
      const params: Record<string, string> = {};
      candidate.paramNames.forEach((name, i) => (params[name] = decodePathSegment(found[i + 1]!)));
      validate(candidate.params, params, 'path parameter');
      const query: Record<string, unknown> = {};
      for (const [key, value] of search) query[key] = value;
      validate(candidate.query, query, 'query parameter');
      return {
        route: candidate.route,
        params,
        query,
        validateBody: (body) => {
          validate(candidate.body, body, 'body');
          return body;
        },
      };
    }
    if (pathKnown) throw new UnimplementedError(`${method} is not supported on ${path}; see /api/v1/openapi.json for the methods of each path`);
    throw new NotFoundError(`no API route ${path}; see /api/v1/openapi.json for the routes`);
  }
}

function decodePathSegment(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    throw new InvalidArgumentError(`malformed percent-encoding in the path segment ${JSON.stringify(segment)}`);
  }
}

/** @throws InvalidArgumentError naming the first thing the schema refused */
function validate(validator: ValidateFunction | undefined, value: unknown, what: string): void {
  if (!validator || validator(value)) return;
  throw new InvalidArgumentError(describeError(validator.errors?.[0], what));
}

function describeError(error: ErrorObject | undefined, what: string): string {
  if (!error) return `invalid ${what}`;
  const additional = (error.params as { additionalProperty?: string }).additionalProperty;
  if (additional !== undefined) return `unknown ${what} "${additional}"; see /api/v1/openapi.json for the accepted ones`;
  const missing = (error.params as { missingProperty?: string }).missingProperty;
  if (missing !== undefined) return `missing ${what} "${missing}"`;
  const at = error.instancePath.replace(/^\//, '').replaceAll('/', '.');
  const allowed = (error.params as { allowedValues?: unknown[] }).allowedValues;
  const rule = allowed ? `must be one of ${allowed.map((v) => JSON.stringify(v)).join(', ')}` : (error.message ?? 'is invalid');
  return at ? `${what} "${at}" ${rule}` : `${what} ${rule}`;
}
