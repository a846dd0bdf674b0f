import type { FastifyInstance } from 'fastify';
import { CustodyError } from '../../core/errors.js';
import type { Role } from '../../registry/authz.js';
import { EDGE_KINDS, type EdgeKind } from '../../registry/lineage.js';
import { KIND_SEGMENTS } from '../../registry/names.js';
import type { RouteContext } from '../app.js';
import { BODY_LIMITS } from '../app.js';
import { digestSchema, issuedTokenSchema, nameSchema, publicErrors, timeSchema, withErrors } from '../schemas.js';

const projectParams = { type: 'object', required: ['project'], properties: { project: nameSchema } } as const;
const modelVersionParams = { type: 'object', required: ['project', 'name', 'version'], properties: { project: nameSchema, name: nameSchema, version: digestSchema } } as const;
type VersionParams = { project: string; name: string; version: string };
const targetSchema = { type: 'string', minLength: 1, maxLength: 32, pattern: '^[a-z][a-z0-9-]{0,31}$', description: 'A stage (staging, production, archived) or an alias the policy declares' } as const;
const commentSchema = { type: 'string', maxLength: 2000 } as const;
const anyObject = { type: 'object', additionalProperties: true } as const;
const uintSchema = { type: 'string', pattern: '^(0|[1-9][0-9]{0,5})$' } as const;

const requirementSchema = { type: 'object', required: ['id', 'passed', 'reason'], properties: { id: { type: 'string' }, passed: { type: 'boolean' }, reason: { type: 'string' } } } as const;
const evaluationSchema = {
  type: 'object',
  required: ['target', 'passed', 'requirements', 'inputs', 'signers'],
  properties: {
    target: { type: 'string' },
    passed: { type: 'boolean' },
    requirements: { type: 'array', items: requirementSchema },
    inputs: { type: 'array', items: { type: 'object', required: ['uri', 'digest'], properties: { uri: { type: 'string' }, digest: { type: 'object', required: ['sha256'], properties: { sha256: { type: 'string' } } } } } },
    signers: { type: 'array', items: { type: 'string' } },
  },
} as const;
const policyRefSchema = { type: 'object', required: ['version', 'digest'], properties: { version: { type: 'integer' }, digest: { type: 'string' } } } as const;
const approvalSchema = {
  type: 'object',
  required: ['id', 'target', 'account', 'decision', 'comment', 'policyVersion', 'createdAt', 'bundle'],
  properties: { id: { type: 'integer' }, target: { type: 'string' }, account: { type: 'string' }, decision: { type: 'string', enum: ['approve', 'reject'] }, comment: { type: 'string' }, policyVersion: { type: 'integer' }, createdAt: timeSchema, bundle: anyObject, policy: policyRefSchema },
} as const;
const graphSchema = {
  type: 'object',
  required: ['root', 'nodes', 'edges', 'truncated'],
  properties: {
    root: { type: 'string' },
    nodes: {
      type: 'array',
      items: {
        type: 'object',
        required: ['id', 'kind', 'label'],
        properties: { id: { type: 'string' }, kind: { type: 'string' }, label: { type: 'string' }, project: { type: 'string' }, artifactKind: { type: 'string' }, name: { type: 'string' }, digest: { type: 'string' }, stage: { type: 'string' }, forced: { type: 'boolean' } },
      },
    },
    edges: { type: 'array', items: { type: 'object', required: ['from', 'to', 'label', 'verified'], properties: { from: { type: 'string' }, to: { type: 'string' }, label: { type: 'string' }, verified: { type: 'boolean' } } } },
    truncated: { type: 'boolean' },
  },
} as const;
const tokenFindingSchema = {
  type: 'object',
  required: ['id', 'account', 'project', 'actions', 'createdAt', 'expiresAt', 'lastUsedAt', 'why'],
  properties: { id: { type: 'string' }, account: { type: 'string' }, project: { type: ['string', 'null'] }, actions: { type: ['array', 'null'], items: { type: 'string' } }, createdAt: timeSchema, expiresAt: timeSchema, lastUsedAt: { type: ['string', 'null'] }, why: { type: 'string' } },
} as const;

export function registerGovernanceRoutes(app: FastifyInstance, { registry, limiters }: RouteContext): void {
  const gov = registry.governance;

  // ---- policies
  app.get<{ Params: { project: string }; Querystring: { version?: string } }>(
    '/v1/projects/:project/policy',
    {
      config: { action: 'policy.read', operationId: 'showPolicy', summary: 'The active promotion policy of a project (or a given version; 0 is the default policy)', tags: ['governance'] },
      schema: {
        params: projectParams,
        querystring: { type: 'object', additionalProperties: false, properties: { version: uintSchema } },
        response: withErrors({
          200: {
            type: 'object',
            required: ['project', 'version', 'digest', 'status', 'document', 'policy', 'createdBy', 'createdAt', 'decisions'],
            properties: {
              project: { type: 'string' },
              version: { type: 'integer' },
              digest: { type: 'string' },
              status: { type: 'string' },
              document: { type: ['string', 'null'] },
              policy: anyObject,
              createdBy: { type: ['string', 'null'] },
              createdAt: { type: ['string', 'null'] },
              decisions: { type: 'array', items: { type: 'object', required: ['account', 'decision', 'comment', 'at'], properties: { account: { type: 'string' }, decision: { type: 'string' }, comment: { type: 'string' }, at: timeSchema } } },
            },
          },
        }),
      },
    },
    async (request) => gov.showPolicy(request.ctx, request.params.project, request.query.version === undefined ? undefined : Number(request.query.version)),
  );

  app.get<{ Params: { project: string } }>(
    '/v1/projects/:project/policies',
    {
      config: { action: 'policy.read', operationId: 'listPolicies', summary: 'Every policy version of a project: proposed, active, superseded, rejected', tags: ['governance'] },
      schema: {
        params: projectParams,
        response: withErrors({
          200: {
            type: 'object',
            required: ['policies'],
            properties: { policies: { type: 'array', items: { type: 'object', required: ['version', 'digest', 'status', 'createdBy', 'createdAt', 'comment'], properties: { version: { type: 'integer' }, digest: { type: 'string' }, status: { type: 'string' }, createdBy: { type: 'string' }, createdAt: timeSchema, comment: { type: 'string' } } } } },
          },
        }),
      },
    },
    async (request) => ({ policies: await gov.listPolicies(request.ctx, request.params.project) }),
  );

  app.post<{ Params: { project: string }; Body: { document: string; comment?: string } }>(
    '/v1/projects/:project/policies',
    {
      bodyLimit: BODY_LIMITS.json,
      config: { action: 'policy.update', operationId: 'proposePolicy', summary: 'Propose a new policy version (YAML); it becomes active only when others approve it', tags: ['governance'] },
      schema: {
        params: projectParams,
        body: { type: 'object', required: ['document'], additionalProperties: false, properties: { document: { type: 'string', minLength: 1, maxLength: 65536 }, comment: commentSchema } },
        response: withErrors({ 201: { type: 'object', required: ['version', 'digest', 'status', 'approvalsNeeded'], properties: { version: { type: 'integer' }, digest: { type: 'string' }, status: { type: 'string' }, approvalsNeeded: { type: 'integer' } } } }),
      },
    },
    async (request, reply) => reply.code(201).send(await gov.proposePolicy(request.ctx, request.params.project, request.body.document, request.body.comment)),
  );

  app.post<{ Params: { project: string; version: string }; Body: { decision: 'approve' | 'reject'; comment?: string } }>(
    '/v1/projects/:project/policies/:version/decisions',
    {
      bodyLimit: BODY_LIMITS.small,
      config: { action: 'policy.approve', operationId: 'decidePolicy', summary: 'Approve or reject a proposed policy version (not by its proposer)', tags: ['governance'] },
      schema: {
        params: { type: 'object', required: ['project', 'version'], properties: { project: nameSchema, version: uintSchema } },
        body: { type: 'object', required: ['decision'], additionalProperties: false, properties: { decision: { type: 'string', enum: ['approve', 'reject'] }, comment: commentSchema } },
        response: withErrors({ 200: { type: 'object', required: ['version', 'status', 'approvals', 'approvalsNeeded'], properties: { version: { type: 'integer' }, status: { type: 'string' }, approvals: { type: 'integer' }, approvalsNeeded: { type: 'integer' } } } }),
      },
    },
    async (request) => gov.decidePolicy(request.ctx, request.params.project, Number(request.params.version), request.body.decision, request.body.comment),
  );

  // ---- promotion, approvals, policy test
  const versionBase = '/v1/projects/:project/models/:name/versions/:version';
  app.post<{ Params: VersionParams; Body: { to: string; breakGlass?: string } }>(
    `${versionBase}/promotions`,
    {
      bodyLimit: BODY_LIMITS.small,
      config: { action: 'version.promote', operationId: 'promoteModelVersion', summary: 'Promote a version to a stage or move an alias: the policy is evaluated and the move happens only if every requirement passes (POLICY_UNMET lists them); a server admin may force it with breakGlass and a written reason', tags: ['governance'] },
      schema: {
        params: modelVersionParams,
        body: { type: 'object', required: ['to'], additionalProperties: false, properties: { to: targetSchema, breakGlass: { type: 'string', minLength: 1, maxLength: 2000, description: 'Break-glass: force the promotion (server admins, unless the policy forbids it); the reason is logged' } } },
        response: withErrors({
          201: {
            type: 'object',
            required: ['promoted', 'project', 'name', 'version', 'target', 'fromStage', 'forced', 'policy', 'evaluations', 'vsa', 'displaced'],
            properties: {
              promoted: { type: 'boolean' },
              project: { type: 'string' },
              name: { type: 'string' },
              version: digestSchema,
              target: { type: 'string' },
              fromStage: { type: 'string' },
              forced: { type: 'boolean' },
              policy: policyRefSchema,
              evaluations: { type: 'array', items: evaluationSchema },
              vsa: anyObject,
              displaced: { type: 'array', items: { type: 'string' } },
            },
          },
        }),
      },
    },
    async (request, reply) => {
      const { project, name, version } = request.params;
      return reply.code(201).send(await gov.promote(request.ctx, { project, name, digest: version, target: request.body.to, ...(request.body.breakGlass === undefined ? {} : { breakGlass: request.body.breakGlass }) }));
    },
  );

  app.get<{ Params: VersionParams }>(
    `${versionBase}/promotions`,
    {
      config: { action: 'artifact.read', operationId: 'listPromotions', summary: 'The promotions of a version, with the verdicts they rested on', tags: ['governance'] },
      schema: {
        params: modelVersionParams,
        response: withErrors({
          200: {
            type: 'object',
            required: ['promotions'],
            properties: {
              promotions: {
                type: 'array',
                items: { type: 'object', required: ['target', 'fromStage', 'requestedBy', 'forced', 'reason', 'policyVersion', 'at', 'requirements'], properties: { target: { type: 'string' }, fromStage: { type: 'string' }, requestedBy: { type: 'string' }, forced: { type: 'boolean' }, reason: { type: 'string' }, policyVersion: { type: 'integer' }, at: timeSchema, requirements: { type: 'array', items: requirementSchema } } },
              },
            },
          },
        }),
      },
    },
    async (request) => ({ promotions: await gov.promotionsOf(request.ctx, request.params.project, request.params.name, request.params.version) }),
  );

  app.post<{ Params: VersionParams; Body: { to: string; decision?: 'approve' | 'reject'; comment?: string } }>(
    `${versionBase}/approvals`,
    {
      bodyLimit: BODY_LIMITS.small,
      config: { action: 'version.approve', operationId: 'approveModelVersion', summary: 'Approve (or reject) a version for a stage or alias: bound to its digest, the target and the policy version; people only, never its uploader or signer', tags: ['governance'] },
      schema: {
        params: modelVersionParams,
        body: { type: 'object', required: ['to'], additionalProperties: false, properties: { to: targetSchema, decision: { type: 'string', enum: ['approve', 'reject'] }, comment: commentSchema } },
        response: withErrors({ 201: approvalSchema }),
      },
    },
    async (request, reply) => {
      const { project, name, version } = request.params;
      return reply.code(201).send(await gov.decide(request.ctx, { project, name, digest: version, target: request.body.to, decision: request.body.decision ?? 'approve', ...(request.body.comment === undefined ? {} : { comment: request.body.comment }) }));
    },
  );

  app.get<{ Params: VersionParams }>(
    `${versionBase}/approvals`,
    {
      config: { action: 'artifact.read', operationId: 'listApprovals', summary: 'Approvals and rejections of a version, each signed by the registry', tags: ['governance'] },
      schema: { params: modelVersionParams, response: withErrors({ 200: { type: 'object', required: ['approvals'], properties: { approvals: { type: 'array', items: approvalSchema } } } }) },
    },
    async (request) => ({ approvals: await gov.listApprovals(request.ctx, request.params.project, request.params.name, request.params.version) }),
  );

  app.post<{ Params: VersionParams; Body: { to: string; document?: string } }>(
    `${versionBase}/policy-test`,
    {
      bodyLimit: BODY_LIMITS.json,
      config: { action: 'artifact.read', operationId: 'testPolicy', summary: 'Evaluate the policy (or a given policy document) for a version and target without promoting', tags: ['governance'] },
      schema: {
        params: modelVersionParams,
        body: { type: 'object', required: ['to'], additionalProperties: false, properties: { to: targetSchema, document: { type: 'string', minLength: 1, maxLength: 65536 } } },
        response: withErrors({ 200: { type: 'object', required: ['passed', 'policy', 'evaluations'], properties: { passed: { type: 'boolean' }, policy: policyRefSchema, evaluations: { type: 'array', items: evaluationSchema } } } }),
      },
    },
    async (request) => gov.testPolicy(request.ctx, request.params.project, request.params.name, request.params.version, request.body.to, request.body.document),
  );

  app.get<{ Params: { project: string; name: string; target: string } }>(
    '/v1/projects/:project/models/:name/stages/:target',
    {
      config: { action: 'artifact.read', operationId: 'showStage', summary: 'What a stage (or alias) of a model holds now, with the VSA of each version\'s move there', tags: ['governance'] },
      schema: {
        params: { type: 'object', required: ['project', 'name', 'target'], properties: { project: nameSchema, name: nameSchema, target: targetSchema } },
        response: withErrors({
          200: {
            type: 'object',
            required: ['target', 'alias', 'versions'],
            properties: { target: { type: 'string' }, alias: { type: 'boolean' }, versions: { type: 'array', items: { type: 'object', required: ['version', 'since', 'forced', 'vsa'], properties: { version: digestSchema, since: timeSchema, forced: { type: 'boolean' }, vsa: { anyOf: [anyObject, { type: 'null' }] } } } } },
          },
        }),
      },
    },
    async (request) => gov.stageHolders(request.ctx, request.params.project, request.params.name, request.params.target),
  );

  // ---- lineage and impact
  for (const kind of ['model', 'dataset'] as const) {
    app.get<{ Params: VersionParams }>(
      `/v1/projects/:project/${KIND_SEGMENTS[kind]}/:name/versions/:version/lineage`,
      {
        config: { action: 'artifact.read', operationId: `${kind}Lineage`, summary: `What a ${kind} version was made from: datasets, code, builder, keys, tokens (upstream, recursively)`, tags: ['governance'] },
        schema: { params: modelVersionParams, response: withErrors({ 200: graphSchema }) },
      },
      async (request) => registry.lineage(request.ctx, request.params.project, kind, request.params.name, request.params.version),
    );
  }

  app.get<{ Querystring: { kind: string; ref: string; project?: string; name?: string } }>(
    '/v1/impact',
    {
      config: { action: 'artifact.read', operationId: 'impact', summary: 'Blast radius: every version downstream of a dataset version, key, builder or token, and the stage each is in now', tags: ['governance'] },
      schema: {
        querystring: { type: 'object', required: ['kind', 'ref'], additionalProperties: false, properties: { kind: { type: 'string', enum: [...EDGE_KINDS] }, ref: { type: 'string', minLength: 1, maxLength: 1024 }, project: nameSchema, name: nameSchema } },
        response: withErrors({
          200: {
            type: 'object',
            required: ['start', 'versions', 'truncated'],
            properties: {
              start: { type: 'object', required: ['kind', 'ref'], properties: { kind: { type: 'string' }, ref: { type: 'string' } } },
              versions: {
                type: 'array',
                items: { type: 'object', required: ['project', 'kind', 'name', 'version', 'stage', 'forced', 'depth', 'via'], properties: { project: { type: 'string' }, kind: { type: 'string' }, name: { type: 'string' }, version: { type: 'string' }, stage: { type: 'string' }, forced: { type: 'boolean' }, depth: { type: 'integer' }, via: { type: 'string' } } },
              },
              truncated: { type: 'boolean' },
            },
          },
        }),
      },
    },
    async (request) => {
      const { kind, ref, project, name } = request.query;
      return registry.impact(request.ctx, { kind: kind as EdgeKind, ref, ...(project === undefined ? {} : { project }), ...(name === undefined ? {} : { name }) });
    },
  );

  // ---- accounts, hygiene, keys
  app.post<{ Params: { name: string } }>(
    '/v1/accounts/:name/disable',
    {
      config: { action: 'account.disable', operationId: 'disableAccount', summary: 'Disable an account: its tokens stop working at once (server admins)', tags: ['identity'] },
      schema: { params: { type: 'object', required: ['name'], properties: { name: nameSchema } }, response: withErrors({ 200: { type: 'object', required: ['name', 'disabledAt'], properties: { name: { type: 'string' }, disabledAt: timeSchema } } }) },
    },
    async (request) => registry.disableAccount(request.ctx, request.params.name),
  );

  app.get<{ Querystring: { unusedDays?: string; maxLifetimeDays?: string } }>(
    '/v1/tokens/report',
    {
      config: { action: 'token.report', operationId: 'tokenReport', summary: 'Credential hygiene: unused, long-lived and broad tokens, tokens of disabled accounts, service accounts with unused rights (server admins)', tags: ['identity'] },
      schema: {
        querystring: { type: 'object', additionalProperties: false, properties: { unusedDays: uintSchema, maxLifetimeDays: uintSchema } },
        response: withErrors({
          200: {
            type: 'object',
            required: ['generatedAt', 'options', 'unused', 'longLived', 'broad', 'disabledAccounts', 'unusedRights', 'summary'],
            properties: {
              generatedAt: timeSchema,
              options: { type: 'object', required: ['unusedDays', 'maxLifetimeDays'], properties: { unusedDays: { type: 'integer' }, maxLifetimeDays: { type: 'integer' } } },
              unused: { type: 'array', items: tokenFindingSchema },
              longLived: { type: 'array', items: tokenFindingSchema },
              broad: { type: 'array', items: tokenFindingSchema },
              disabledAccounts: { type: 'array', items: tokenFindingSchema },
              unusedRights: { type: 'array', items: { type: 'object', required: ['account', 'project', 'role', 'unusedActions', 'lastUsedAt'], properties: { account: { type: 'string' }, project: { type: 'string' }, role: { type: 'string' }, unusedActions: { type: 'array', items: { type: 'string' } }, lastUsedAt: { type: ['string', 'null'] } } } },
              summary: { type: 'object', required: ['liveTokens', 'findings'], properties: { liveTokens: { type: 'integer' }, findings: { type: 'integer' } } },
            },
          },
        }),
      },
    },
    async (request) => {
      const { unusedDays, maxLifetimeDays } = request.query;
      return registry.tokenReport(request.ctx, { ...(unusedDays === undefined ? {} : { unusedDays: Number(unusedDays) }), ...(maxLifetimeDays === undefined ? {} : { maxLifetimeDays: Number(maxLifetimeDays) }) });
    },
  );

  app.get(
    '/v1/registry/keys',
    {
      config: { action: 'server.keys', operationId: 'registryKeys', summary: 'The public keys the registry signs with: VSAs and approvals, and scan attestations', tags: ['governance'] },
      schema: { response: withErrors({ 200: { type: 'object', required: ['vsa', 'attestation'], properties: { vsa: { type: 'object', required: ['pem', 'hint'], properties: { pem: { type: 'string' }, hint: { type: 'string' } } }, attestation: { type: 'object', required: ['pem', 'hint'], properties: { pem: { type: 'string' }, hint: { type: 'string' } } } } } }) },
    },
    async (request) => {
      registry.check(request.ctx, 'server.keys');
      const keys = registry.signingKeys();
      return keys;
    },
  );

  // ---- workload identity
  const issuerSchema = {
    type: 'object',
    required: ['id', 'issuer', 'audience', 'account', 'role', 'claims', 'pinned', 'ttlSeconds'],
    properties: { id: { type: 'integer' }, project: { type: 'string' }, issuer: { type: 'string' }, audience: { type: 'string' }, account: { type: 'string' }, role: { type: 'string' }, claims: { type: 'object', additionalProperties: { type: 'array', items: { type: 'string' } } }, pinned: { type: 'boolean' }, ttlSeconds: { type: 'integer' } },
  } as const;
  app.post<{ Params: { project: string }; Body: { issuer: string; audience: string; account: string; role: Role; claims: Record<string, string[]>; jwks?: string; ttlSeconds?: number } }>(
    '/v1/projects/:project/issuers',
    {
      bodyLimit: BODY_LIMITS.json,
      config: { action: 'project.trust-issuer', operationId: 'trustIssuer', summary: 'Trust an OIDC issuer: ID tokens with these claims exchange for short-lived tokens of a service account', tags: ['identity'] },
      schema: {
        params: projectParams,
        body: {
          type: 'object',
          required: ['issuer', 'audience', 'account', 'role', 'claims'],
          additionalProperties: false,
          properties: {
            issuer: { type: 'string', minLength: 1, maxLength: 512 },
            audience: { type: 'string', minLength: 1, maxLength: 256 },
            account: nameSchema,
            role: { type: 'string', enum: ['viewer', 'contributor', 'trainer', 'approver'] },
            claims: { type: 'object', minProperties: 1, maxProperties: 16, additionalProperties: { type: 'array', minItems: 1, maxItems: 32, items: { type: 'string', minLength: 1, maxLength: 512 } } },
            jwks: { type: 'string', minLength: 2, maxLength: 65536, description: 'A JSON Web Key Set pinned for offline servers (else fetched from the issuer)' },
            ttlSeconds: { type: 'integer', minimum: 60, maximum: 900 },
          },
        },
        response: withErrors({ 201: issuerSchema }),
      },
    },
    async (request, reply) => reply.code(201).send(await registry.trustIssuer(request.ctx, { project: request.params.project, ...request.body })),
  );

  app.get<{ Params: { project: string } }>(
    '/v1/projects/:project/issuers',
    {
      config: { action: 'project.read', operationId: 'listIssuers', summary: 'The OIDC issuers a project trusts, with their claim rules', tags: ['identity'] },
      schema: { params: projectParams, response: withErrors({ 200: { type: 'object', required: ['issuers'], properties: { issuers: { type: 'array', items: issuerSchema } } } }) },
    },
    async (request) => ({ issuers: await registry.listIssuers(request.ctx, request.params.project) }),
  );

  app.post<{ Body: { project: string; token: string; account?: string } }>(
    '/v1/auth/oidc',
    {
      bodyLimit: BODY_LIMITS.small + 16 * 1024,
      config: { action: 'session.oidc', public: true, operationId: 'exchangeOidcToken', summary: 'Exchange a workload\'s OIDC ID token for a registry token scoped to the project and the trusted rule\'s role, living at most 15 minutes', tags: ['identity'] },
      schema: {
        body: { type: 'object', required: ['project', 'token'], additionalProperties: false, properties: { project: nameSchema, token: { type: 'string', minLength: 1, maxLength: 16384 }, account: nameSchema } },
        response: publicErrors({ 201: issuedTokenSchema }),
      },
    },
    async (request, reply) => {
      const taken = limiters.login.take(`oidc:${request.ip}`);
      if (!taken.ok) {
        Object.assign(request.ctx.event, { action: 'session.oidc', decision: 'deny', reason: 'too many exchanges' });
        throw new CustodyError('RATE_LIMITED', `too many token exchanges; retry in ${taken.retryAfterSeconds} s`, { details: { retryAfterSeconds: taken.retryAfterSeconds } });
      }
      return reply.code(201).send(await registry.exchangeOidc(request.ctx, { project: request.body.project, token: request.body.token, ...(request.body.account === undefined ? {} : { account: request.body.account }) }));
    },
  );
}
