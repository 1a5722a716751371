import { z } from 'zod';

// The OpenAPI 3.1 document, built from the same route table and zod schemas the server parses
// requests with (z.toJSONSchema; OpenAPI 3.1 schemas are JSON Schema 2020-12).

export type Access = 'public' | 'viewer' | 'admin';

export interface RouteDoc {
  method: 'GET' | 'POST' | 'DELETE';
  /** Fastify path under /api/v1, `:id` for parameters. */
  url: string;
  summary: string;
  access: Access;
  params?: z.ZodType;
  query?: z.ZodType;
  body?: z.ZodType;
  /** Status → description and JSON schema (or another content type). */
  responses: Record<number, { description: string; schema?: z.ZodType; contentType?: string }>;
}

type JsonSchema = { properties?: Record<string, JsonSchema>; required?: string[]; description?: string; [key: string]: unknown };

const schemaOf = (schema: z.ZodType, io: 'input' | 'output'): JsonSchema => {
  const { $schema: _ignored, ...rest } = z.toJSONSchema(schema, { io, unrepresentable: 'any' }) as JsonSchema;
  return rest;
};

function parameters(schema: z.ZodType | undefined, where: 'path' | 'query'): unknown[] {
  if (!schema) return [];
  const json = schemaOf(schema, 'input');
  return Object.entries(json.properties ?? {}).map(([name, property]) => ({
    name,
    in: where,
    required: where === 'path' || (json.required ?? []).includes(name),
    ...(property.description ? { description: property.description } : {}),
    schema: property,
  }));
}

export function openApiDocument(routes: readonly RouteDoc[], info: { version: string; description: string }): object {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const route of routes) {
    const path = `/api/v1${route.url.replace(/:([A-Za-z]+)/g, '{$1}')}`;
    paths[path] ??= {};
    paths[path][route.method.toLowerCase()] = {
      summary: route.summary,
      description: route.access === 'public' ? 'No authentication.' : `Role: ${route.access}${route.access === 'viewer' ? ' or admin' : ''}. Page sessions send X-CSRF-Token on POST and DELETE.`,
      security: route.access === 'public' ? [] : [{ bearerToken: [] }, { sessionCookie: [] }],
      parameters: [...parameters(route.params, 'path'), ...parameters(route.query, 'query')],
      ...(route.body ? { requestBody: { required: true, content: { 'application/json': { schema: schemaOf(route.body, 'input') } } } } : {}),
      responses: Object.fromEntries(
        Object.entries(route.responses).map(([status, response]) => [
          status,
          {
            description: response.description,
            ...(response.schema || response.contentType
              ? { content: { [response.contentType ?? 'application/json']: { schema: response.schema ? schemaOf(response.schema, 'output') : { type: 'string', format: 'binary' } } } }
              : {}),
          },
        ]),
      ),
    };
  }
  return {
    openapi: '3.1.0',
    info: { title: 'pgdrill admin API', version: info.version, description: info.description },
    servers: [{ url: '/' }],
    paths,
    components: {
      securitySchemes: {
        bearerToken: { type: 'http', scheme: 'bearer', description: 'A token from `pgdrill tokens create`, listed (hashed) in PGDRILL_API_TOKENS' },
        sessionCookie: { type: 'apiKey', in: 'cookie', name: 'pgdrill_session', description: 'The page\'s session after POST /api/v1/login' },
      },
    },
  };
}
