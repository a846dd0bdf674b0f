import type { FastifyInstance } from 'fastify';
import type { Role } from '../../registry/authz.js';
import type { RouteContext } from '../app.js';
import { BODY_LIMITS } from '../app.js';
import { nameSchema, roleSchema, timeSchema, withErrors } from '../schemas.js';

const projectParams = { type: 'object', required: ['project'], properties: { project: nameSchema } } as const;

const keySchema = {
  type: 'object',
  required: ['hint', 'keyType', 'pem', 'addedAt', 'addedBy'],
  properties: { hint: { type: 'string' }, keyType: { type: 'string' }, pem: { type: 'string' }, addedAt: timeSchema, addedBy: { type: 'string' } },
} as const;

export function registerProjectRoutes(app: FastifyInstance, { registry }: RouteContext): void {
  app.post<{ Body: { name: string } }>(
    '/v1/projects',
    {
      bodyLimit: BODY_LIMITS.small,
      config: { action: 'project.create', operationId: 'createProject', summary: 'Create a project (server admins)', tags: ['projects'] },
      schema: {
        body: { type: 'object', required: ['name'], additionalProperties: false, properties: { name: nameSchema } },
        response: withErrors({ 201: { type: 'object', required: ['name', 'createdAt', 'createdBy'], properties: { name: { type: 'string' }, createdAt: timeSchema, createdBy: { type: 'string' } } } }),
      },
    },
    async (request, reply) => reply.code(201).send(await registry.createProject(request.ctx, request.body.name)),
  );

  app.get(
    '/v1/projects',
    {
      config: { action: 'project.list', operationId: 'listProjects', summary: 'The projects the calling token can read', tags: ['projects'] },
      schema: {
        response: withErrors({
          200: {
            type: 'object',
            required: ['projects'],
            properties: { projects: { type: 'array', items: { type: 'object', required: ['name', 'createdAt', 'role'], properties: { name: { type: 'string' }, createdAt: timeSchema, role: { type: ['string', 'null'] } } } } },
          },
        }),
      },
    },
    async (request) => ({ projects: await registry.listProjects(request.ctx) }),
  );

  app.get<{ Params: { project: string } }>(
    '/v1/projects/:project',
    {
      config: { action: 'project.read', operationId: 'showProject', summary: 'A project: members, roles and trusted keys', tags: ['projects'] },
      schema: {
        params: projectParams,
        response: withErrors({
          200: {
            type: 'object',
            required: ['name', 'createdAt', 'createdBy', 'members', 'keys'],
            properties: {
              name: { type: 'string' },
              createdAt: timeSchema,
              createdBy: { type: 'string' },
              members: {
                type: 'array',
                items: { type: 'object', required: ['account', 'kind', 'role', 'models'], properties: { account: { type: 'string' }, kind: { type: 'string' }, role: { type: 'string' }, models: { type: ['array', 'null'], items: { type: 'string' } } } },
              },
              keys: { type: 'array', items: keySchema },
            },
          },
        }),
      },
    },
    async (request) => registry.showProject(request.ctx, request.params.project),
  );

  app.put<{ Params: { project: string; account: string }; Body: { role: Role | 'none'; models?: string[] | null } }>(
    '/v1/projects/:project/members/:account',
    {
      bodyLimit: BODY_LIMITS.small,
      config: { action: 'project.grant', operationId: 'grantRole', summary: 'Give an account a role in the project (role "none" removes it)', tags: ['projects'] },
      schema: {
        params: { type: 'object', required: ['project', 'account'], properties: { project: nameSchema, account: nameSchema } },
        body: {
          type: 'object',
          required: ['role'],
          additionalProperties: false,
          properties: { role: roleSchema, models: { anyOf: [{ type: 'array', minItems: 1, maxItems: 1000, uniqueItems: true, items: nameSchema }, { type: 'null' }] } },
        },
        response: withErrors({
          200: { type: 'object', required: ['project', 'account', 'role', 'models'], properties: { project: { type: 'string' }, account: { type: 'string' }, role: { type: 'string' }, models: { type: ['array', 'null'], items: { type: 'string' } } } },
        }),
      },
    },
    async (request) => registry.grant(request.ctx, { project: request.params.project, account: request.params.account, role: request.body.role, ...(request.body.models === undefined ? {} : { models: request.body.models }) }),
  );

  app.post<{ Params: { project: string }; Body: { pem: string } }>(
    '/v1/projects/:project/keys',
    {
      bodyLimit: BODY_LIMITS.small,
      config: { action: 'project.trust-key', operationId: 'trustKey', summary: 'Add a public key the project accepts signatures from', tags: ['projects'] },
      schema: {
        params: projectParams,
        body: { type: 'object', required: ['pem'], additionalProperties: false, properties: { pem: { type: 'string', minLength: 1, maxLength: 8192 } } },
        response: withErrors({ 201: { type: 'object', required: ['project', 'hint', 'keyType', 'added'], properties: { project: { type: 'string' }, hint: { type: 'string' }, keyType: { type: 'string' }, added: { type: 'boolean' } } } }),
      },
    },
    async (request, reply) => reply.code(201).send(await registry.trustKey(request.ctx, request.params.project, request.body.pem)),
  );
}
