/** A route as registered, collected by the app's onRoute hook. */
export interface RouteInfo {
  method: string;
  url: string;
  schema?: { params?: JsonSchema; querystring?: JsonSchema; body?: JsonSchema; headers?: JsonSchema; response?: Record<string, JsonSchema> };
  config: { action?: string; public?: boolean; operationId?: string; summary?: string; tags?: string[]; rawBody?: string; rawResponse?: string };
}

type JsonSchema = { type?: string | string[]; properties?: Record<string, JsonSchema>; required?: readonly string[]; description?: string; [key: string]: unknown };

/** `/a/:b/*` → `/a/{b}/{path}`. */
export function toOpenApiPath(url: string): string {
  return url.replace(/:([A-Za-z0-9_]+)/g, '{$1}').replace(/\*$/, '{path}');
}

function parameters(route: RouteInfo): unknown[] {
  const out: unknown[] = [];
  const params = route.schema?.params;
  for (const [name, schema] of Object.entries(params?.properties ?? {})) {
    out.push({ name: name === '*' ? 'path' : name, in: 'path', required: true, schema, ...(schema.description ? { description: schema.description } : {}) });
  }
  const query = route.schema?.querystring;
  for (const [name, schema] of Object.entries(query?.properties ?? {})) {
    out.push({ name, in: 'query', required: query?.required?.includes(name) === true, schema });
  }
  return out;
}

function responses(route: RouteInfo): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [status, schema] of Object.entries(route.schema?.response ?? {})) {
    const raw = status === '200' && route.config.rawResponse !== undefined;
    out[status] = {
      description: Number(status) < 400 ? 'success' : 'error (see the code in the body)',
      content: raw ? { [route.config.rawResponse as string]: { schema: { type: 'string', contentMediaType: route.config.rawResponse } } } : { 'application/json': { schema } },
    };
  }
  return out;
}

/**
 * The OpenAPI 3.1 document of the routes registered, built from their own schemas (Fastify's JSON
 * Schemas are valid 3.1 Schema Objects), so the document cannot drift from what the server checks.
 */
export function buildOpenApi(routes: readonly RouteInfo[], version: string): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const route of [...routes].sort((a, b) => a.url.localeCompare(b.url) || a.method.localeCompare(b.method))) {
    const path = toOpenApiPath(route.url);
    const operation: Record<string, unknown> = {
      operationId: route.config.operationId ?? `${route.method.toLowerCase()}${path.replace(/[^A-Za-z0-9]+/g, '_')}`,
      summary: route.config.summary ?? '',
      tags: route.config.tags ?? [],
      ...(route.config.action ? { 'x-custody-action': route.config.action } : {}),
      security: route.config.public ? [] : [{ bearer: [] }],
      parameters: parameters(route),
      responses: responses(route),
    };
    if (route.config.rawBody !== undefined) {
      operation['requestBody'] = { required: true, content: { [route.config.rawBody]: { schema: { type: 'string', contentMediaType: route.config.rawBody } } } };
    } else if (route.schema?.body) {
      operation['requestBody'] = { required: true, content: { 'application/json': { schema: route.schema.body } } };
    }
    (paths[path] ??= {})[route.method.toLowerCase()] = operation;
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'Custody registry',
      version,
      description: 'Models and datasets with immutable, verified versions; scoped tokens; a tamper-evident audit log. Errors: {"error": {"code", "message", "requestId"}}; codes and statuses are listed in docs/registry.md.',
    },
    jsonSchemaDialect: 'https://spec.openapis.org/oas/3.1/dialect/base',
    components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer', description: 'A Custody API token (custody_…).' } } },
    paths,
  };
}
