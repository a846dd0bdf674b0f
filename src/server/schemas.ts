/**
 * JSON Schemas shared by the routes. Fastify validates requests against them and serializes responses
 * through them (fields not in a response schema are never sent); /openapi.json is generated from them.
 */
import { ACTION_NAMES, ROLES } from '../registry/authz.js';

const NAME_PATTERN = '^[a-z0-9](?:[a-z0-9._-]{0,62}[a-z0-9])?$';

export const nameSchema = { type: 'string', minLength: 1, maxLength: 64, pattern: NAME_PATTERN } as const;
export const digestSchema = { type: 'string', pattern: '^[0-9a-f]{64}$' } as const;
export const timeSchema = { type: 'string', format: 'date-time' } as const;
const nullableTime = { type: ['string', 'null'] } as const;
const nullableStrings = { type: ['array', 'null'], items: { type: 'string' } } as const;

export const errorSchema = {
  type: 'object',
  required: ['error'],
  properties: {
    error: {
      type: 'object',
      required: ['code', 'message', 'requestId'],
      properties: {
        code: { type: 'string' },
        message: { type: 'string' },
        requestId: { type: 'string' },
        details: { type: 'object', additionalProperties: true },
      },
    },
  },
} as const;

/** Error answers every route can give; routes add their own 2xx. */
export function withErrors<T extends Record<number, unknown>>(ok: T): T & Record<number, unknown> {
  return { ...ok, 400: errorSchema, 401: errorSchema, 403: errorSchema, 404: errorSchema, 409: errorSchema, 413: errorSchema, 415: errorSchema, 422: errorSchema, 429: errorSchema, 500: errorSchema };
}

/** Responses of the public routes (no 401/403: they need no token). */
export function publicErrors<T extends Record<number, unknown>>(ok: T): T & Record<number, unknown> {
  return { ...ok, 400: errorSchema, 401: errorSchema, 413: errorSchema, 429: errorSchema, 500: errorSchema };
}

export const tokenViewSchema = {
  type: 'object',
  required: ['id', 'account', 'project', 'actions', 'description', 'createdAt', 'createdBy', 'expiresAt', 'revokedAt', 'lastUsedAt'],
  properties: {
    id: { type: 'string' },
    account: { type: 'string' },
    project: { type: ['string', 'null'] },
    actions: nullableStrings,
    description: { type: 'string' },
    createdAt: timeSchema,
    createdBy: { type: 'string' },
    expiresAt: timeSchema,
    revokedAt: nullableTime,
    lastUsedAt: nullableTime,
  },
} as const;

export const issuedTokenSchema = {
  ...tokenViewSchema,
  required: [...tokenViewSchema.required, 'token'],
  properties: { ...tokenViewSchema.properties, token: { type: 'string', description: 'The token itself: shown once, stored by the server only as a hash.' } },
} as const;

export const actionsSchema = { type: 'array', minItems: 1, maxItems: ACTION_NAMES.length, uniqueItems: true, items: { type: 'string', enum: ACTION_NAMES } } as const;
export const roleSchema = { type: 'string', enum: [...ROLES, 'none'] } as const;

const findingSchema = {
  type: 'object',
  required: ['ruleId', 'severity', 'message', 'path'],
  properties: { ruleId: { type: 'string' }, severity: { type: 'string' }, message: { type: 'string' }, path: { type: 'string' }, member: { type: 'string' } },
} as const;

export const versionViewSchema = {
  type: 'object',
  required: ['project', 'kind', 'name', 'version', 'status', 'createdAt', 'createdBy', 'archivedAt', 'files', 'bytes', 'signed', 'scan'],
  properties: {
    project: { type: 'string' },
    kind: { type: 'string', enum: ['model', 'dataset'] },
    name: { type: 'string' },
    version: digestSchema,
    status: { type: 'string', enum: ['active', 'archived'] },
    createdAt: timeSchema,
    createdBy: { type: 'string' },
    archivedAt: nullableTime,
    files: { type: 'integer' },
    bytes: { type: 'integer' },
    signed: { type: 'boolean', description: 'A signature attached at push verified against the project\'s trusted keys.' },
    scan: {
      type: 'object',
      required: ['status', 'result', 'bySeverity', 'findings'],
      properties: {
        status: { type: 'string', description: 'pending, passed, warned, failed, error or skipped' },
        result: { type: ['string', 'null'] },
        bySeverity: { type: ['object', 'null'], additionalProperties: { type: 'integer' } },
        findings: { type: 'array', items: findingSchema },
      },
    },
  },
} as const;

export const attachmentViewSchema = {
  type: 'object',
  required: ['id', 'kind', 'predicateType', 'verified', 'keyHint', 'error', 'createdAt', 'createdBy'],
  properties: {
    id: { type: 'integer' },
    kind: { type: 'string', enum: ['signature', 'attestation', 'scan'] },
    predicateType: { type: 'string' },
    verified: { type: 'boolean' },
    keyHint: { type: ['string', 'null'] },
    error: { type: ['object', 'null'], properties: { code: { type: 'string' }, message: { type: 'string' } } },
    createdAt: timeSchema,
    createdBy: { type: 'string' },
  },
} as const;

const resourceSchema = {
  type: 'object',
  required: ['name', 'algorithm', 'digest'],
  additionalProperties: false,
  properties: { name: { type: 'string', minLength: 1, maxLength: 4096 }, algorithm: { type: 'string', maxLength: 64 }, digest: { type: 'string', maxLength: 128 } },
} as const;

/** A manifest as `custody hash` prints it (summary optional and ignored). */
export const manifestSchema = {
  type: 'object',
  required: ['name', 'digest', 'serialization', 'resources'],
  additionalProperties: false,
  properties: {
    name: { type: 'string', minLength: 1, maxLength: 1024 },
    digest: { type: 'object', required: ['sha256'], additionalProperties: false, properties: { sha256: digestSchema } },
    serialization: { type: 'object', additionalProperties: true },
    resources: { type: 'array', minItems: 1, items: resourceSchema },
    summary: { type: 'object', additionalProperties: true },
  },
} as const;

/** A Sigstore bundle: checked in depth by the integrity library, so only its outline here. */
export const bundleSchema = {
  type: 'object',
  required: ['mediaType', 'verificationMaterial', 'dsseEnvelope'],
  properties: { mediaType: { type: 'string' }, verificationMaterial: { type: 'object', additionalProperties: true }, dsseEnvelope: { type: 'object', additionalProperties: true } },
  additionalProperties: true,
} as const;

export const storedFileSchema = {
  type: 'object',
  required: ['name', 'sha256', 'size'],
  properties: { name: { type: 'string' }, sha256: digestSchema, size: { type: 'integer' } },
} as const;
