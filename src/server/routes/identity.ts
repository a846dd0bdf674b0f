import type { FastifyInstance } from 'fastify';
import { CustodyError } from '../../core/errors.js';
import type { RouteContext } from '../app.js';
import { BODY_LIMITS } from '../app.js';
import { actionsSchema, issuedTokenSchema, nameSchema, publicErrors, timeSchema, tokenViewSchema, withErrors } from '../schemas.js';

const ttlSchema = { type: 'integer', minimum: 1, maximum: 10 * 365 * 86400, description: 'Lifetime in seconds (the server caps it).' } as const;

export function registerIdentityRoutes(app: FastifyInstance, { registry, limiters }: RouteContext): void {
  app.post<{ Body: { account: string; password: string; ttlSeconds?: number; project?: string } }>(
    '/v1/login',
    {
      bodyLimit: BODY_LIMITS.small,
      config: { action: 'session.login', public: true, operationId: 'login', summary: 'Exchange an account name and password for a token', tags: ['identity'] },
      schema: {
        body: {
          type: 'object',
          required: ['account', 'password'],
          additionalProperties: false,
          properties: { account: nameSchema, password: { type: 'string', minLength: 1, maxLength: 1024 }, ttlSeconds: ttlSchema, project: nameSchema },
        },
        response: publicErrors({ 200: issuedTokenSchema }),
      },
    },
    async (request) => {
      for (const key of [`ip:${request.ip}`, `account:${request.body.account}`]) {
        const taken = limiters.login.take(key);
        if (!taken.ok) {
          Object.assign(request.ctx.event, { action: 'session.login', decision: 'deny', reason: 'too many login attempts', subject: request.body.account });
          throw new CustodyError('RATE_LIMITED', `too many login attempts; retry in ${taken.retryAfterSeconds} s`, { details: { retryAfterSeconds: taken.retryAfterSeconds } });
        }
      }
      const { ttlSeconds, project } = request.body;
      return registry.login(request.ctx, { account: request.body.account, password: request.body.password, ...(ttlSeconds === undefined ? {} : { ttlSeconds }), ...(project === undefined ? {} : { project }) });
    },
  );

  app.get(
    '/v1/whoami',
    {
      config: { action: 'session.whoami', operationId: 'whoami', summary: 'The account, token scope and roles of the calling token', tags: ['identity'] },
      schema: {
        response: withErrors({
          200: {
            type: 'object',
            required: ['account', 'kind', 'serverAdmin', 'token', 'roles'],
            properties: {
              account: { type: 'string' },
              kind: { type: 'string' },
              serverAdmin: { type: 'boolean' },
              token: {
                type: 'object',
                required: ['id', 'project', 'actions', 'expiresAt'],
                properties: { id: { type: 'string' }, project: { type: ['string', 'null'] }, actions: { type: ['array', 'null'], items: { type: 'string' } }, expiresAt: timeSchema },
              },
              roles: { type: 'array', items: { type: 'object', required: ['project', 'role', 'models'], properties: { project: { type: 'string' }, role: { type: 'string' }, models: { type: ['array', 'null'], items: { type: 'string' } } } } },
            },
          },
        }),
      },
    },
    async (request) => registry.whoami(request.ctx),
  );

  const accountSchema = {
    type: 'object',
    required: ['name', 'kind', 'serverAdmin', 'createdAt'],
    properties: { name: { type: 'string' }, kind: { type: 'string', enum: ['user', 'service'] }, serverAdmin: { type: 'boolean' }, hasPassword: { type: 'boolean' }, createdAt: timeSchema },
  } as const;

  app.post<{ Body: { name: string; kind: 'user' | 'service'; password?: string; serverAdmin?: boolean } }>(
    '/v1/accounts',
    {
      bodyLimit: BODY_LIMITS.small,
      config: { action: 'account.create', operationId: 'createAccount', summary: 'Create a user or service account (server admins)', tags: ['identity'] },
      schema: {
        body: {
          type: 'object',
          required: ['name', 'kind'],
          additionalProperties: false,
          properties: { name: nameSchema, kind: { type: 'string', enum: ['user', 'service'] }, password: { type: 'string', minLength: 1, maxLength: 1024 }, serverAdmin: { type: 'boolean' } },
        },
        response: withErrors({ 201: accountSchema }),
      },
    },
    async (request, reply) => {
      const { name, kind, password, serverAdmin } = request.body;
      const account = await registry.createAccount(request.ctx, { name, kind, ...(password === undefined ? {} : { password }), ...(serverAdmin === undefined ? {} : { serverAdmin }) });
      return reply.code(201).send(account);
    },
  );

  app.get(
    '/v1/accounts',
    {
      config: { action: 'account.list', operationId: 'listAccounts', summary: 'List accounts (server admins)', tags: ['identity'] },
      schema: { response: withErrors({ 200: { type: 'object', required: ['accounts'], properties: { accounts: { type: 'array', items: accountSchema } } } }) },
    },
    async (request) => ({ accounts: await registry.listAccounts(request.ctx) }),
  );

  app.post<{ Body: { account: string; project?: string | null; actions?: string[] | null; ttlSeconds?: number; description?: string } }>(
    '/v1/tokens',
    {
      bodyLimit: BODY_LIMITS.small,
      config: { action: 'token.create', operationId: 'createToken', summary: 'Issue a token for an account, scoped to a project and actions', tags: ['identity'] },
      schema: {
        body: {
          type: 'object',
          required: ['account'],
          additionalProperties: false,
          properties: {
            account: nameSchema,
            project: { anyOf: [nameSchema, { type: 'null' }] },
            actions: { anyOf: [actionsSchema, { type: 'null' }] },
            ttlSeconds: ttlSchema,
            description: { type: 'string', maxLength: 200 },
          },
        },
        response: withErrors({ 201: issuedTokenSchema }),
      },
    },
    async (request, reply) => {
      const { account, project, actions, ttlSeconds, description } = request.body;
      const issued = await registry.createToken(request.ctx, {
        account,
        ...(project === undefined ? {} : { project }),
        ...(actions === undefined ? {} : { actions }),
        ...(ttlSeconds === undefined ? {} : { ttlSeconds }),
        ...(description === undefined ? {} : { description }),
      });
      return reply.code(201).send(issued);
    },
  );

  app.get<{ Querystring: { account?: string } }>(
    '/v1/tokens',
    {
      config: { action: 'token.list', operationId: 'listTokens', summary: 'List tokens: your own, an account\'s, or (server admins) all', tags: ['identity'] },
      schema: {
        querystring: { type: 'object', additionalProperties: false, properties: { account: nameSchema } },
        response: withErrors({ 200: { type: 'object', required: ['tokens'], properties: { tokens: { type: 'array', items: tokenViewSchema } } } }),
      },
    },
    async (request) => ({ tokens: await registry.listTokens(request.ctx, request.query.account) }),
  );

  app.delete<{ Params: { id: string } }>(
    '/v1/tokens/:id',
    {
      config: { action: 'token.revoke', operationId: 'revokeToken', summary: 'Revoke a token by id', tags: ['identity'] },
      schema: {
        params: { type: 'object', required: ['id'], properties: { id: { type: 'string', pattern: '^tok-[0-9a-f]{16}$' } } },
        response: withErrors({ 200: tokenViewSchema }),
      },
    },
    async (request) => registry.revokeToken(request.ctx, request.params.id),
  );
}
