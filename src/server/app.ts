import { randomUUID } from 'node:crypto';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest, type FastifyServerOptions } from 'fastify';
import { CustodyError } from '../core/errors.js';
import { buildAuditEntry, type AuditEvent } from '../registry/audit.js';
import { isAction, isAnonymous } from '../registry/authz.js';
import type { Registry, RequestContext } from '../registry/registry.js';
import type { AuditService } from './audit-service.js';
import { toErrorResponse } from './errors.js';
import { buildOpenApi, type RouteInfo } from './openapi.js';
import { RateLimiter, type RateLimit } from './rate-limit.js';
import { registerArtifactRoutes } from './routes/artifacts.js';
import { registerAuditRoutes } from './routes/audit.js';
import { registerIdentityRoutes } from './routes/identity.js';
import { registerProjectRoutes } from './routes/projects.js';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** The action a route performs (audit default, OpenAPI `x-custody-action`). */
    action?: string;
    /** Needs no token (login, health, the OpenAPI document). */
    public?: boolean;
    /** Left out of the audit log (health checks and the OpenAPI document only). */
    skipAudit?: boolean;
    operationId?: string;
    summary?: string;
    tags?: string[];
    /** The request body is raw bytes of this media type (file uploads), not JSON. */
    rawBody?: string;
    /** The 200 answer is raw bytes of this media type (file downloads). */
    rawResponse?: string;
  }
  interface FastifyRequest {
    ctx: RequestContext;
  }
}

export interface RateLimits {
  /** Login attempts per client address and per account name. */
  login: RateLimit;
  /** Requests per token. */
  token: RateLimit;
  /** Requests with a bad token, per client address. */
  badToken: RateLimit;
}

export const DEFAULT_RATE_LIMITS: RateLimits = {
  login: { perSecond: 10 / 60, burst: 10 },
  token: { perSecond: 200, burst: 1000 },
  badToken: { perSecond: 30 / 60, burst: 30 },
};

/** Body limits by route kind (bytes). File uploads are bounded by the registry's per-file limit. */
export const BODY_LIMITS = {
  small: 16 * 1024,
  json: 256 * 1024,
  attestation: 16 * 1024 * 1024,
  manifest: 64 * 1024 * 1024,
} as const;

export interface AppOptions {
  registry: Registry;
  audit: AuditService;
  /** Strings never to show in an error body (the data directory). */
  hide?: readonly string[];
  logger?: FastifyServerOptions['logger'];
  rateLimits?: RateLimits;
  /** The Custody version, for the OpenAPI document. */
  version: string;
}

export interface AppLimiters {
  login: RateLimiter;
  token: RateLimiter;
  badToken: RateLimiter;
}

const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'content-security-policy': "default-src 'none'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
  'cross-origin-resource-policy': 'same-origin',
  'cross-origin-opener-policy': 'same-origin',
  'strict-transport-security': 'max-age=31536000; includeSubDomains',
  'cache-control': 'no-store',
  'permissions-policy': 'interest-cohort=()',
};

/** The bearer token of a request, or why there is none usable. */
function readBearer(request: FastifyRequest): { token?: string; problem?: string } {
  const header = request.headers.authorization;
  if (header === undefined) return {};
  const m = /^Bearer ([\x21-\x7e]{1,512})$/.exec(header);
  if (!m) return { problem: 'unsupported authorization header (expected "Bearer <token>")' };
  return { token: m[1] as string };
}

/**
 * The registry's HTTP API: Fastify with a JSON schema on every route (requests validated, responses
 * serialized through them), errors mapped in one place, security headers on every answer, rate
 * limits on logins and token use, and one audit entry appended for every request before its answer
 * is sent — an entry that cannot be appended turns the answer into a 500.
 */
export async function buildApp(options: AppOptions): Promise<FastifyInstance> {
  const app = Fastify({
    logger: options.logger ?? false,
    genReqId: () => randomUUID(),
    requestIdHeader: false,
    trustProxy: false,
    bodyLimit: BODY_LIMITS.json,
    return503OnClosing: true,
    routerOptions: { maxParamLength: 2048 },
    ajv: { customOptions: { removeAdditional: false, allErrors: false, coerceTypes: false, useDefaults: false } },
  });
  const limits = options.rateLimits ?? DEFAULT_RATE_LIMITS;
  const limiters: AppLimiters = { login: new RateLimiter(limits.login), token: new RateLimiter(limits.token), badToken: new RateLimiter(limits.badToken) };
  const routes: RouteInfo[] = [];
  const hide = options.hide ?? [];

  app.decorateRequest('ctx', null as unknown as RequestContext);
  app.addHook('onRoute', (route) => {
    if (route.method === 'HEAD' || (Array.isArray(route.method) && route.method.includes('HEAD'))) return;
    routes.push({ method: String(route.method), url: route.url, ...(route.schema ? { schema: route.schema as NonNullable<RouteInfo['schema']> } : {}), config: (route.config ?? {}) as RouteInfo['config'] });
  });

  app.addHook('onRequest', async (request) => {
    const config = request.routeOptions.config;
    request.ctx = { caller: { anonymous: 'no token' }, requestId: request.id, event: config.action ? { action: config.action as NonNullable<AuditEvent['action']> } : {} };
    const bearer = readBearer(request);
    if (bearer.problem !== undefined) {
      request.ctx.caller = { anonymous: bearer.problem };
      return;
    }
    request.ctx.caller = await options.registry.authenticate(bearer.token);
    const caller = request.ctx.caller;
    if (bearer.token !== undefined && isAnonymous(caller)) {
      const taken = limiters.badToken.take(request.ip);
      if (!taken.ok) throw rateLimited(taken.retryAfterSeconds, request.ctx);
    } else if (!isAnonymous(caller)) {
      const taken = limiters.token.take(caller.token.id);
      if (!taken.ok) throw rateLimited(taken.retryAfterSeconds, request.ctx);
    }
    authenticateFirst(options.registry, request);
  });

  app.setErrorHandler(async (error, request, reply) => {
    const { status, body, internal } = toErrorResponse(error, request.id, hide);
    if (internal) request.log.error({ err: error }, 'request failed');
    if (request.ctx) {
      request.ctx.event.error = body.error.code;
      if (status === 401 || status === 403 || status === 429) request.ctx.event.decision = 'deny';
    }
    const retry = (error as CustodyError).details?.['retryAfterSeconds'];
    if (typeof retry === 'number') void reply.header('retry-after', String(retry));
    return reply.code(status).type('application/json; charset=utf-8').send(body);
  });

  app.setNotFoundHandler(async (request, reply) => {
    const { status, body } = toErrorResponse(new CustodyError('NOT_FOUND', 'no such route'), request.id);
    if (request.ctx) request.ctx.event.error = 'NOT_FOUND';
    return reply.code(status).send(body);
  });

  app.addHook('onSend', async (request, reply, payload) => {
    for (const [name, value] of Object.entries(SECURITY_HEADERS)) reply.header(name, value);
    reply.header('x-request-id', request.id);
    if (request.routeOptions.config.skipAudit === true || !request.ctx) return payload;
    const entry = buildAuditEntry({
      time: new Date(),
      requestId: request.id,
      caller: request.ctx.caller,
      ip: request.ip,
      method: request.method,
      route: request.routeOptions.url ?? 'unrouted',
      status: reply.statusCode,
      event: request.ctx.event,
    });
    try {
      await options.audit.append(entry);
      return payload;
    } catch (error) {
      request.log.error({ err: error }, 'audit append failed; the answer is withheld');
      if (typeof (payload as { destroy?: unknown })?.destroy === 'function') (payload as { destroy: () => void }).destroy();
      const { body } = toErrorResponse(new CustodyError('INTERNAL', 'audit log unavailable'), request.id);
      reply.code(500).type('application/json; charset=utf-8').removeHeader('content-length');
      return JSON.stringify(body);
    }
  });

  const context = { registry: options.registry, audit: options.audit, limiters };
  registerMetaRoutes(app, () => buildOpenApi(routes, options.version));
  registerIdentityRoutes(app, context);
  registerProjectRoutes(app, context);
  registerArtifactRoutes(app, context);
  registerAuditRoutes(app, context);
  await app.ready();
  return app;
}

export interface RouteContext {
  registry: Registry;
  audit: AuditService;
  limiters: AppLimiters;
}

/**
 * Authentication comes before anything reads the request: a route that needs a token answers 401
 * to a caller without a valid one before its body is parsed or validated (the decision is logged).
 */
function authenticateFirst(registry: Registry, request: FastifyRequest): void {
  const config = request.routeOptions.config;
  if (config.public === true || !isAnonymous(request.ctx.caller)) return;
  const action = config.action;
  if (action !== undefined && isAction(action)) registry.check(request.ctx, action);
  else {
    Object.assign(request.ctx.event, { decision: 'deny', reason: request.ctx.caller.anonymous });
    if (request.routeOptions.url !== undefined) throw new CustodyError('UNAUTHENTICATED', `authentication required (${request.ctx.caller.anonymous})`);
  }
}

function rateLimited(retryAfterSeconds: number, ctx: RequestContext): CustodyError {
  ctx.event.reason = 'rate limited';
  return new CustodyError('RATE_LIMITED', `too many requests; retry in ${retryAfterSeconds} s`, { details: { retryAfterSeconds } });
}

function registerMetaRoutes(app: FastifyInstance, openapi: () => unknown): void {
  app.get(
    '/healthz',
    {
      config: { action: 'server.health', public: true, skipAudit: true, operationId: 'health', summary: 'Liveness: answers while the server runs', tags: ['meta'] },
      schema: { response: { 200: { type: 'object', required: ['status'], properties: { status: { type: 'string', enum: ['ok'] } } } } },
    },
    async () => ({ status: 'ok' as const }),
  );
  app.get(
    '/openapi.json',
    {
      config: { action: 'server.openapi', public: true, skipAudit: true, operationId: 'openapi', summary: 'This API as an OpenAPI 3.1 document, generated from the route schemas', tags: ['meta'] },
      schema: { response: { 200: { type: 'object', additionalProperties: true } } },
    },
    async (_request: FastifyRequest, reply: FastifyReply) => reply.type('application/json; charset=utf-8').send(JSON.stringify(openapi())),
  );
}
