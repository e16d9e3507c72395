import type { MountedRoute, RouteSchema } from '@tip/core';

/** A JSON Schema object (draft 2020-12, as OpenAPI 3.1 uses). */
export type JsonSchema = Record<string, unknown>;

interface StandardJsonSchemaLike {
  '~standard': {
    jsonSchema?: {
      input(options: { target: string; libraryOptions?: Record<string, unknown> }): JsonSchema;
      output(options: { target: string; libraryOptions?: Record<string, unknown> }): JsonSchema;
    };
  };
}

/**
 * The JSON Schema of a route schema when it implements Standard JSON Schema (zod 4, valibot,
 * arktype), else undefined. `io` picks the input side (requests) or the output side (responses).
 */
export function toJsonSchema(schema: RouteSchema | undefined, io: 'input' | 'output'): JsonSchema | undefined {
  const converter = (schema as unknown as StandardJsonSchemaLike | undefined)?.['~standard'].jsonSchema;
  if (!converter) return undefined;
  try {
    const out = { ...converter[io]({ target: 'draft-2020-12', libraryOptions: { unrepresentable: 'any' } }) };
    delete out.$schema;
    return out;
  } catch {
    return undefined;
  }
}

/** Information of the OpenAPI document. */
export interface OpenApiInfo {
  /** Title (default `TIP API`). */
  title?: string;
  /** API version. */
  version: string;
  /** Description (Markdown). */
  description?: string;
  /** Base URL of the server when it is not `/` (the prefix, e.g. `/tip`). */
  serverUrl?: string;
}

const METHODS = ['get', 'post', 'put', 'patch', 'delete'] as const;

/**
 * Builds an OpenAPI 3.1 document from mounted routes: path and query parameters from the routes'
 * `params`/`query` schemas (each property of an object schema becomes a parameter), request
 * bodies from `body`, responses from `response` (or `produces`), the scope as `x-tip-scope`, and
 * bearer-token and session-cookie security schemes.
 */
export function buildOpenApi(routes: readonly MountedRoute[], info: OpenApiInfo): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {};
  const tags = new Set<string>();
  for (const mounted of routes) {
    const { route } = mounted;
    const path = mounted.path.replace(/:([A-Za-z0-9_]+)/g, '{$1}');
    const parameters: unknown[] = [];
    const pathNames = [...mounted.path.matchAll(/:([A-Za-z0-9_]+)/g)].map((m) => m[1]!);
    const paramSchema = toJsonSchema(route.params, 'input');
    const paramProps = (paramSchema?.properties ?? {}) as Record<string, JsonSchema>;
    for (const name of pathNames) parameters.push({ name, in: 'path', required: true, schema: paramProps[name] ?? { type: 'string' } });
    const querySchema = toJsonSchema(route.query, 'input');
    if (querySchema && querySchema.properties) {
      const required = new Set((querySchema.required as string[] | undefined) ?? []);
      for (const [name, schema] of Object.entries(querySchema.properties as Record<string, JsonSchema>)) {
        const { description, ...rest } = schema;
        parameters.push({ name, in: 'query', required: required.has(name), ...(typeof description === 'string' ? { description } : {}), schema: rest });
      }
    }
    const op: Record<string, unknown> = {
      operationId: mounted.id,
      summary: route.summary,
      ...(route.description ? { description: route.description } : {}),
      tags: [...(route.tags ?? [mounted.plugin === '@tip/core' ? 'core' : (mounted.path.split('/')[2] ?? mounted.plugin)])],
      'x-tip-scope': route.scope,
      'x-tip-plugin': mounted.plugin,
      security: [{ bearer: [] }, { session: [] }],
    };
    for (const t of op.tags as string[]) tags.add(t);
    if (parameters.length > 0) op.parameters = parameters;
    if (route.body) op.requestBody = { required: true, content: { 'application/json': { schema: toJsonSchema(route.body, 'input') ?? {} } } };
    const response = toJsonSchema(route.response, 'output');
    const content = route.produces ? { [route.produces]: { schema: { type: 'string' } } } : { 'application/json': { schema: response ?? {} } };
    op.responses = {
      '200': { description: 'OK', content },
      '400': { description: 'Invalid input: every issue with its path', content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } } },
      '401': { description: 'Not authenticated' },
      '403': { description: `Needs scope "${route.scope}"`, content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } } },
    };
    const method = route.method.toLowerCase() as (typeof METHODS)[number];
    (paths[path] ??= {})[method] = op;
  }
  return {
    openapi: '3.1.0',
    info: { title: info.title ?? 'TIP API', version: info.version, ...(info.description ? { description: info.description } : {}) },
    ...(info.serverUrl ? { servers: [{ url: info.serverUrl }] } : {}),
    tags: [...tags].sort().map((name) => ({ name })),
    paths,
    components: {
      securitySchemes: {
        bearer: { type: 'http', scheme: 'bearer', description: 'An API token from `tip web token create` (`tip_<id>_<secret>`)' },
        session: { type: 'apiKey', in: 'cookie', name: 'tip_session', description: 'The UI session (POST /api/session); writes also need the `x-csrf-token` header' },
      },
      schemas: {
        Error: {
          type: 'object',
          properties: {
            error: { type: 'string' },
            code: { type: 'string' },
            issues: { type: 'array', items: { type: 'object', properties: { path: { type: 'string' }, message: { type: 'string' } } } },
          },
          required: ['error'],
        },
      },
    },
  };
}
