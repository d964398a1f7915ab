/**
 * The OpenAPI 3.1 document of the HTTP API, generated from the route definitions that also
 * validate requests, so the document cannot drift from what the server accepts.
 */
import type { ParameterSchema, RouteDefinition } from './route-definition.js';
import { PROBLEM_MEDIA_TYPE } from '../http-status-mapping.js';

/** The problem details schema every error response carries (RFC 9457). */
const PROBLEM_SCHEMA = {
  type: 'object',
  required: ['type', 'title', 'status', 'detail', 'code'],
  properties: {
    type: { type: 'string', description: 'URI reference naming the problem type' },
    title: { type: 'string', description: 'the error type, as Flight clients see it (e.g. FileNotFoundError)' },
    status: { type: 'integer' },
    detail: { type: 'string', description: 'what was wrong and what to do' },
    code: { type: 'string', description: "Hangar's error code (the gRPC status Flight answers with)" },
    instance: { type: 'string' },
  },
} as const;

/**
 * Builds the document.
 * @param routes - the API's routes
 * @param base - the path the routes are served under, e.g. `/api/v1`
 * @param version - the server's version
 */
export function openApiDocument(routes: readonly RouteDefinition[], base: string, version: string): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const route of routes) {
    const item = (paths[`${base}${route.path}`] ??= {});
    const responses: Record<string, unknown> = {};
    for (const [status, response] of Object.entries(route.responses)) {
      responses[status] = {
        description: response.description,
        ...(response.content
          ? { content: Object.fromEntries(Object.entries(response.content).map(([type, schema]) => [type, schema ? { schema } : {}])) }
          : {}),
      };
    }
    responses.default = { description: 'an error', content: { [PROBLEM_MEDIA_TYPE]: { schema: { $ref: '#/components/schemas/Problem' } } } };
    const requestBody = route.jsonBody
      ? { required: true, content: { 'application/json': { schema: route.jsonBody } } }
      : route.streamedBody
        ? { required: true, content: Object.fromEntries(route.streamedBody.map((type) => [type, { schema: { type: 'string', contentMediaType: type } }])) }
        : undefined;
    item[route.method.toLowerCase()] = {
      operationId: route.operationId,
      summary: route.summary,
      ...(route.description ? { description: route.description } : {}),
      parameters: [...parameters(route.params, 'path'), ...parameters(route.query, 'query')],
      ...(requestBody ? { requestBody } : {}),
      responses,
    };
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'Hangar HTTP API',
      version,
      description: 'Buckets and frames of a Hangar store over HTTP; the same tokens, scopes and errors as its Arrow Flight service.',
    },
    paths,
    components: {
      schemas: { Problem: PROBLEM_SCHEMA },
      securitySchemes: {
        bearer: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' },
        session: { type: 'apiKey', in: 'cookie', name: 'hangar_session' },
      },
    },
    security: [{ bearer: [] }, { session: [] }],
  };
}

/** The OpenAPI parameter objects of an object schema's properties. */
function parameters(schema: ParameterSchema | undefined, where: 'path' | 'query'): Record<string, unknown>[] {
  if (!schema) return [];
  const listed = Object.entries(schema.properties).map(([name, property]) => {
    const { description, ...rest } = property;
    return {
      name,
      in: where,
      required: where === 'path' || (schema.required ?? []).includes(name),
      ...(description ? { description } : {}),
      schema: rest,
    };
  });
  // Families of parameters named by a pattern (e.g. metadata.KEY=VALUE) have no single name.
  const families = Object.entries(schema.patternProperties ?? {}).map(([pattern, property]) => ({
    name: String((property as { 'x-parameter-name'?: string })['x-parameter-name'] ?? pattern),
    in: where,
    required: false,
    description: String((property as { description?: string }).description ?? `parameters matching ${pattern}`),
    schema: { type: 'string' },
  }));
  return [...listed, ...families];
}
