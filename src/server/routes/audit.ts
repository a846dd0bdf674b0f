import { Readable } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import { CustodyError } from '../../core/errors.js';
import { isRecord } from '../../core/json.js';
import type { RouteContext } from '../app.js';
import { digestSchema, nameSchema, withErrors } from '../schemas.js';

/** A non-negative integer in a query string (query values are strings; the body is never coerced). */
const uintSchema = { type: 'string', pattern: '^(0|[1-9][0-9]{0,14})$' } as const;

/** Entries one export page may hold, and leaves one query request reads at most. */
export const MAX_PAGE = 10_000;
const QUERY_WINDOW = 50_000;
/** Entries are appended in request order; allow this much clock skew when seeking by time. */
const TIME_SKEW_MS = 60_000;

export interface AuditQuery {
  version?: string;
  account?: string;
  project?: string;
  action?: string;
  decision?: 'allow' | 'deny';
  since?: string;
}

/** Does one audit entry (the registry's part of a leaf) match the query? */
export function matchesQuery(entry: unknown, query: AuditQuery): boolean {
  if (!isRecord(entry)) return false;
  const target = isRecord(entry['target']) ? entry['target'] : {};
  const actor = isRecord(entry['actor']) ? entry['actor'] : {};
  if (query.version !== undefined && target['version'] !== query.version) return false;
  if (query.account !== undefined && actor['account'] !== query.account) return false;
  if (query.project !== undefined && target['project'] !== query.project) return false;
  if (query.action !== undefined && entry['action'] !== query.action) return false;
  if (query.decision !== undefined && entry['decision'] !== query.decision) return false;
  if (query.since !== undefined && !(typeof entry['time'] === 'string' && entry['time'] >= query.since)) return false;
  return true;
}

function entryOf(leaf: string): unknown {
  try {
    const parsed = JSON.parse(leaf) as unknown;
    return isRecord(parsed) ? parsed['entry'] : undefined;
  } catch {
    return undefined;
  }
}

export function registerAuditRoutes(app: FastifyInstance, { registry, audit }: RouteContext): void {
  app.get(
    '/v1/audit/key',
    {
      config: { action: 'audit.checkpoint', operationId: 'auditKey', summary: "The log's checkpoint verifier key (C2SP signed-note form)", tags: ['audit'] },
      schema: { response: withErrors({ 200: { type: 'object', required: ['verifierKey'], properties: { verifierKey: { type: 'string' } } } }) },
    },
    async (request) => {
      registry.check(request.ctx, 'audit.checkpoint');
      return { verifierKey: audit.verifierKey };
    },
  );

  app.get(
    '/v1/audit/checkpoint',
    {
      config: { action: 'audit.checkpoint', operationId: 'auditCheckpoint', summary: 'The latest signed checkpoint (C2SP tlog-checkpoint)', tags: ['audit'] },
      schema: { response: withErrors({ 200: { type: 'object', required: ['size', 'note'], properties: { size: { type: 'integer' }, note: { type: 'string' } } } }) },
    },
    async (request) => {
      registry.check(request.ctx, 'audit.checkpoint');
      return audit.checkpoint();
    },
  );

  app.get<{ Querystring: { from: string; to: string } }>(
    '/v1/audit/consistency',
    {
      config: { action: 'audit.checkpoint', operationId: 'auditConsistency', summary: 'A consistency proof between two tree sizes (RFC 6962 §2.1.2)', tags: ['audit'] },
      schema: {
        querystring: { type: 'object', required: ['from', 'to'], additionalProperties: false, properties: { from: uintSchema, to: uintSchema } },
        response: withErrors({ 200: { type: 'object', required: ['from', 'to', 'proof'], properties: { from: { type: 'integer' }, to: { type: 'integer' }, proof: { type: 'array', items: { type: 'string' } } } } }),
      },
    },
    async (request) => {
      registry.check(request.ctx, 'audit.checkpoint');
      const from = Number(request.query.from);
      const to = Number(request.query.to);
      if (from > to || to > (await audit.size())) throw new CustodyError('REQUEST_INVALID', `no consistency proof from ${from} to ${to}: sizes must satisfy from ≤ to ≤ the log size`);
      return { from, to, proof: await audit.consistencyProof(from, to) };
    },
  );

  app.get<{ Querystring: { index: string; size: string } }>(
    '/v1/audit/inclusion',
    {
      config: { action: 'audit.read', operationId: 'auditInclusion', summary: 'An entry and its inclusion proof in the tree of a given size (server admins)', tags: ['audit'] },
      schema: {
        querystring: { type: 'object', required: ['index', 'size'], additionalProperties: false, properties: { index: uintSchema, size: uintSchema } },
        response: withErrors({ 200: { type: 'object', required: ['index', 'size', 'leaf', 'proof'], properties: { index: { type: 'integer' }, size: { type: 'integer' }, leaf: { type: 'string' }, proof: { type: 'array', items: { type: 'string' } } } } }),
      },
    },
    async (request) => {
      registry.check(request.ctx, 'audit.read');
      const index = Number(request.query.index);
      const size = Number(request.query.size);
      if (index >= size || size > (await audit.size())) throw new CustodyError('REQUEST_INVALID', `no inclusion proof of entry ${index} in a tree of ${size}: need index < size ≤ the log size`);
      return { index, size, ...(await audit.inclusionProof(index, size)) };
    },
  );

  app.get(
    '/v1/audit/export',
    {
      config: { action: 'audit.read', operationId: 'auditExport', summary: 'The whole log as JSON Lines with its signed checkpoints, for custody audit verify (server admins)', tags: ['audit'], rawResponse: 'application/x-ndjson' },
      schema: { response: withErrors({ 200: { type: 'string' } }) },
    },
    async (request, reply) => {
      registry.check(request.ctx, 'audit.read');
      return reply.type('application/x-ndjson; charset=utf-8').send(Readable.from(audit.exportLines()));
    },
  );

  app.get<{ Querystring: { start?: string; limit?: string } }>(
    '/v1/audit/entries',
    {
      config: { action: 'audit.read', operationId: 'auditEntries', summary: 'Log entries in order, as export lines (server admins)', tags: ['audit'] },
      schema: {
        querystring: { type: 'object', additionalProperties: false, properties: { start: uintSchema, limit: uintSchema } },
        response: withErrors({
          200: {
            type: 'object',
            required: ['size', 'entries'],
            properties: { size: { type: 'integer' }, entries: { type: 'array', items: { type: 'object', required: ['index', 'leaf'], properties: { index: { type: 'integer' }, leaf: { type: 'string' } } } } },
          },
        }),
      },
    },
    async (request) => {
      registry.check(request.ctx, 'audit.read');
      const start = Number(request.query.start ?? 0);
      const limit = Math.min(MAX_PAGE, Math.max(1, Number(request.query.limit ?? 1000)));
      const size = await audit.size();
      return { size, entries: await audit.leaves(start, Math.min(size, start + limit)) };
    },
  );

  app.get<{ Querystring: AuditQuery & { cursor?: string; limit?: string } }>(
    '/v1/audit/query',
    {
      config: { action: 'audit.read', operationId: 'auditQuery', summary: 'Entries matching a version, an account, a project, an action or a time (server admins); page with the returned cursor', tags: ['audit'] },
      schema: {
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: {
            version: digestSchema,
            account: nameSchema,
            project: nameSchema,
            action: { type: 'string', maxLength: 64 },
            decision: { type: 'string', enum: ['allow', 'deny'] },
            since: { type: 'string', format: 'date-time' },
            cursor: uintSchema,
            limit: uintSchema,
          },
        },
        response: withErrors({
          200: {
            type: 'object',
            required: ['entries', 'next'],
            properties: {
              entries: { type: 'array', items: { type: 'object', required: ['index', 'entry'], properties: { index: { type: 'integer' }, entry: { type: 'object', additionalProperties: true } } } },
              next: { type: ['integer', 'null'], description: 'Pass as cursor to continue; null when the whole log was searched.' },
            },
          },
        }),
      },
    },
    async (request) => {
      registry.check(request.ctx, 'audit.read');
      const { cursor: cursorText, limit: limitText, ...query } = request.query;
      const limit = Math.min(1000, Math.max(1, Number(limitText ?? 100)));
      const cursor = cursorText === undefined ? undefined : Number(cursorText);
      if (query.since !== undefined) query.since = new Date(query.since).toISOString();
      const size = await audit.size();
      let at = cursor ?? (query.since !== undefined ? await seekTime(audit, size, Date.parse(query.since) - TIME_SKEW_MS) : 0);
      const end = Math.min(size, at + QUERY_WINDOW);
      const entries: { index: number; entry: unknown }[] = [];
      while (at < end && entries.length < limit) {
        const page = await audit.leaves(at, Math.min(end, at + 1000));
        if (page.length === 0) break;
        for (const { index, leaf } of page) {
          at = index + 1;
          const entry = entryOf(leaf);
          if (matchesQuery(entry, query)) entries.push({ index, entry });
          if (entries.length >= limit) break;
        }
      }
      return { entries, next: at < size ? at : null };
    },
  );
}

/** First index whose entry time is at or after `ms` (binary search; entries are in time order up to skew). */
async function seekTime(audit: RouteContext['audit'], size: number, ms: number): Promise<number> {
  let lo = 0;
  let hi = size;
  while (lo < hi) {
    const mid = Math.floor((lo + hi) / 2);
    const entry = entryOf((await audit.leaves(mid, mid + 1))[0]?.leaf ?? '');
    const time = isRecord(entry) && typeof entry['time'] === 'string' ? Date.parse(entry['time']) : 0;
    if (time < ms) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
