/**
 * What an HTTP API route is: its method and path, the JSON Schemas of its path parameters, query and
 * JSON body, its responses, and its handler. The same definition validates requests (ajv, see
 * request-validation.ts) and describes the route in the OpenAPI document (openapi-document.ts).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { HangarEngine } from '../../core/engine.js';
import type { Principal } from '../auth/scopes.js';

/** A JSON Schema (draft 2020-12, the dialect of OpenAPI 3.1) as plain data. */
export type JsonSchema = Readonly<Record<string, unknown>>;

/** An object schema whose properties become named parameters (path or query) in OpenAPI. */
export interface ParameterSchema {
  readonly type: 'object';
  readonly properties: Readonly<Record<string, JsonSchema & { readonly description?: string }>>;
  readonly required?: readonly string[];
  readonly additionalProperties?: boolean;
  readonly patternProperties?: Readonly<Record<string, JsonSchema>>;
}

/** One documented response of a route. */
export interface ResponseDefinition {
  readonly description: string;
  /** Media types and the schema of each (absent schema: binary or free-form). */
  readonly content?: Readonly<Record<string, JsonSchema | undefined>>;
}

/** What a handler gets: the validated parts of the request, the caller and the engine. */
export interface ApiRequest {
  /** Path parameters, validated. */
  readonly params: Readonly<Record<string, string>>;
  /** Query parameters, validated and coerced to their schema types. */
  readonly query: Readonly<Record<string, unknown>>;
  /** The parsed JSON body, validated (routes with a JSON body only). */
  readonly body: unknown;
  /** The raw request: streamed bodies are read from it. */
  readonly raw: IncomingMessage;
  /** The response to write. */
  readonly reply: ServerResponse;
  /** Aborted when the client goes away. */
  readonly signal: AbortSignal;
  /** The authenticated caller (undefined on public routes). */
  readonly principal: Principal | undefined;
  /** The engine, authorised for the caller (call-guard.ts). */
  readonly engine: HangarEngine;
}

/** One route of the API. */
export interface RouteDefinition {
  readonly method: 'GET' | 'POST' | 'PUT' | 'DELETE';
  /** The path under the API base, with `{name}` parameters, e.g. `/buckets/{bucket}/frames`. */
  readonly path: string;
  /** A stable operation name (OpenAPI `operationId`). */
  readonly operationId: string;
  /** One line for the OpenAPI document. */
  readonly summary: string;
  /** Longer notes for the OpenAPI document. */
  readonly description?: string;
  /** The path parameters (every `{name}` of the path). */
  readonly params?: ParameterSchema;
  /** The query parameters. */
  readonly query?: ParameterSchema;
  /** A JSON body, validated before the handler runs. */
  readonly jsonBody?: JsonSchema;
  /** A streamed body of one of these media types, read by the handler itself. */
  readonly streamedBody?: readonly string[];
  /** Served without authentication (login, the OpenAPI document); its handler must not use the engine. */
  readonly public?: boolean;
  /** Responses by status. */
  readonly responses: Readonly<Record<string, ResponseDefinition>>;
  /** Handles a validated request. */
  readonly handle: (request: ApiRequest) => Promise<void>;
}
