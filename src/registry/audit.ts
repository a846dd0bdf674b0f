import type { Action, Caller } from './authz.js';
import { isAnonymous } from './authz.js';

/**
 * What the registry records of each request in the audit log: who (account and token id, or why
 * the caller is anonymous), what (action, project, artifact, version digest, file and its digest),
 * the decision and its reason, the HTTP status, when, and the request id. Entries are plain JSON
 * values so the log can encode them canonically; secrets never enter them (tokens by id only).
 */
export interface AuditEvent {
  /** Filled by authorization (or by the server for requests no route handled). */
  action?: Action | 'unrouted' | 'integrity.failure';
  decision?: 'allow' | 'deny';
  reason?: string;
  project?: string;
  kind?: 'model' | 'dataset';
  artifact?: string;
  version?: string;
  file?: string;
  /** SHA-256 of the file served or stored. */
  sha256?: string;
  /** The account a token or grant operation is about. */
  subject?: string;
  /** Token id a token operation is about (never the token). */
  tokenId?: string;
  role?: string;
  uploadId?: string;
  error?: string;
}

export interface AuditEntry {
  v: 1;
  time: string;
  requestId: string;
  actor: { account: string; token: string } | { anonymous: string };
  ip: string;
  method: string;
  route: string;
  status: number;
  action: string;
  decision: 'allow' | 'deny' | 'none';
  reason?: string;
  target?: Omit<AuditEvent, 'action' | 'decision' | 'reason' | 'error'>;
  error?: string;
}

/** The slice of the audit log the registry writes to. */
export interface AuditSink {
  append(entry: AuditEntry): Promise<void>;
}

export function describeActor(caller: Caller): AuditEntry['actor'] {
  return isAnonymous(caller) ? { anonymous: caller.anonymous } : { account: caller.account.name, token: caller.token.id };
}

const TARGET_KEYS = ['project', 'kind', 'artifact', 'version', 'file', 'sha256', 'subject', 'tokenId', 'role', 'uploadId'] as const;

export function buildAuditEntry(input: { time: Date; requestId: string; caller: Caller; ip: string; method: string; route: string; status: number; event: AuditEvent }): AuditEntry {
  const target: Record<string, string> = {};
  for (const key of TARGET_KEYS) {
    const value = input.event[key];
    if (value !== undefined) target[key] = value;
  }
  return {
    v: 1,
    time: input.time.toISOString(),
    requestId: input.requestId,
    actor: describeActor(input.caller),
    ip: input.ip,
    method: input.method,
    route: input.route,
    status: input.status,
    action: input.event.action ?? 'unrouted',
    decision: input.event.decision ?? 'none',
    ...(input.event.reason === undefined ? {} : { reason: input.event.reason }),
    ...(Object.keys(target).length === 0 ? {} : { target }),
    ...(input.event.error === undefined ? {} : { error: input.event.error }),
  };
}
