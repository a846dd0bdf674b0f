import type { ArtifactKind } from './names.js';

/**
 * Authorization: every decision of the registry goes through `authorize`, and it denies unless a rule
 * below allows. Actions are data: a new one (part 2's `version.promote`, `version.approve`) is a new
 * entry in ACTIONS with its scope, plus the roles that hold it in ROLE_ACTIONS.
 */

/** Where an action applies, which decides how it is checked. */
export const ACTION_SCOPES = {
  /** Anyone, no token needed. */
  public: 'public',
  /** Any valid token, whatever its scope (a client must always be able to check the log). */
  authenticated: 'authenticated',
  /** Inside one project: needs a role there (or server admin). */
  project: 'project',
  /** The whole server: server admins only. */
  server: 'server',
  /** A token of one's own (or, for admins, of others). */
  token: 'token',
} as const;
export type ActionScope = (typeof ACTION_SCOPES)[keyof typeof ACTION_SCOPES];

export const ACTIONS = {
  'server.health': 'public',
  'server.openapi': 'public',
  'session.login': 'public',
  'session.whoami': 'authenticated',
  'audit.checkpoint': 'authenticated',
  'project.list': 'authenticated',
  'project.create': 'server',
  'account.create': 'server',
  'account.list': 'server',
  'audit.read': 'server',
  'project.read': 'project',
  'project.grant': 'project',
  'project.trust-key': 'project',
  'artifact.read': 'project',
  'artifact.download': 'project',
  'version.push': 'project',
  'version.attach': 'project',
  'version.archive': 'project',
  'token.create': 'token',
  'token.list': 'token',
  'token.revoke': 'token',
} as const satisfies Record<string, ActionScope>;
export type Action = keyof typeof ACTIONS;
export const ACTION_NAMES = Object.keys(ACTIONS) as Action[];

export function isAction(value: unknown): value is Action {
  return typeof value === 'string' && Object.hasOwn(ACTIONS, value);
}

/** Actions a token can be narrowed to (the others are implied or public). */
export const SCOPABLE_ACTIONS = ACTION_NAMES.filter((a) => ACTIONS[a] !== 'public' && ACTIONS[a] !== 'authenticated');

export const ROLES = ['viewer', 'contributor', 'trainer', 'approver', 'admin'] as const;
export type Role = (typeof ROLES)[number];

export function isRole(value: unknown): value is Role {
  return typeof value === 'string' && (ROLES as readonly string[]).includes(value);
}

const VIEWER: readonly Action[] = ['project.read', 'artifact.read', 'artifact.download'];
const CONTRIBUTOR: readonly Action[] = [...VIEWER, 'version.push', 'version.attach'];

/**
 * What each project role may do. A trainer is a service role: it pushes candidate model versions
 * (optionally only named models) and attaches their attestations — it cannot read, archive or
 * administer anything. Approvers read today; approving and promoting arrive with part 2.
 */
export const ROLE_ACTIONS: Readonly<Record<Role, readonly Action[]>> = {
  viewer: VIEWER,
  contributor: CONTRIBUTOR,
  trainer: ['version.push', 'version.attach'],
  approver: VIEWER,
  admin: [...CONTRIBUTOR, 'version.archive', 'project.grant', 'project.trust-key'],
};

export interface Grant {
  role: Role;
  /** For trainers: the only model names they may push (null: any model of the project). */
  models: readonly string[] | null;
}

export interface Principal {
  account: { id: number; name: string; kind: 'user' | 'service'; serverAdmin: boolean };
  /** Roles by project name. */
  grants: ReadonlyMap<string, Grant>;
  token: { id: string; project: string | null; actions: readonly Action[] | null; expiresAt: number };
}

/** A request without a usable token, and why (for the 401 body and the audit entry). */
export interface Anonymous {
  anonymous: string;
}

export type Caller = Principal | Anonymous;

export function isAnonymous(caller: Caller): caller is Anonymous {
  return 'anonymous' in caller;
}

export interface Target {
  project?: string;
  artifact?: { kind: ArtifactKind; name: string };
  /** Token actions: the account the token belongs to (or will). */
  account?: { name: string; kind: 'user' | 'service' };
  /** token.create: the scope and expiry asked for; token.revoke/list: the token's project. */
  scope?: { project: string | null; actions: readonly Action[] | null; expiresAt?: number };
}

export type Decision =
  | { allow: true; action: Action; reason: string }
  | { allow: false; action: Action; status: 401 | 403; code: 'UNAUTHENTICATED' | 'FORBIDDEN'; reason: string };

const allow = (action: Action, reason: string): Decision => ({ allow: true, action, reason });
const forbid = (action: Action, reason: string): Decision => ({ allow: false, action, status: 403, code: 'FORBIDDEN', reason });

/** The one authorization function. Pure: same caller, action and target, same decision. */
export function authorize(caller: Caller, action: Action, target: Target = {}): Decision {
  const scope = ACTIONS[action];
  if (scope === 'public') return allow(action, 'public');
  if (isAnonymous(caller)) return { allow: false, action, status: 401, code: 'UNAUTHENTICATED', reason: caller.anonymous };
  if (scope === 'authenticated') return allow(action, 'any valid token');

  const { account, token } = caller;
  if (token.actions !== null && !token.actions.includes(action)) return forbid(action, `the token is limited to ${token.actions.join(', ') || 'no action'}`);

  switch (scope) {
    case 'server':
      if (token.project !== null) return forbid(action, `the token is scoped to project ${token.project}`);
      return account.serverAdmin ? allow(action, 'server admin') : forbid(action, 'server admins only');
    case 'project':
      return authorizeProject(caller, action, target);
    case 'token':
      return authorizeToken(caller, action, target);
  }
}

function authorizeProject(caller: Principal, action: Action, target: Target): Decision {
  const project = target.project;
  if (project === undefined) return forbid(action, 'no project named');
  if (caller.token.project !== null && caller.token.project !== project) return forbid(action, `the token is scoped to project ${caller.token.project}`);
  if (caller.account.serverAdmin) return allow(action, 'server admin');
  const grant = caller.grants.get(project);
  if (!grant) return forbid(action, `no role in project ${project}`);
  if (!ROLE_ACTIONS[grant.role].includes(action)) return forbid(action, `role ${grant.role} in project ${project} does not permit ${action}`);
  if (grant.role === 'trainer') {
    if (target.artifact?.kind !== 'model') return forbid(action, 'trainers push models only');
    if (grant.models !== null && !grant.models.includes(target.artifact.name)) return forbid(action, `trainer limited to models ${grant.models.join(', ')}`);
  }
  return allow(action, `role ${grant.role} in project ${project}`);
}

/** A scope asked for lies within the caller's token scope (a token never mints a broader one). */
function withinTokenScope(caller: Principal, asked: NonNullable<Target['scope']>): string | undefined {
  const token = caller.token;
  if (token.project !== null && asked.project !== token.project) return `the token is scoped to project ${token.project}`;
  if (token.actions !== null && (asked.actions === null || !asked.actions.every((a) => token.actions?.includes(a)))) return 'the new token would hold actions this token does not';
  if (asked.expiresAt !== undefined && asked.expiresAt > token.expiresAt) return 'the new token would outlive this token';
  return undefined;
}

function authorizeToken(caller: Principal, action: Action, target: Target): Decision {
  const subject = target.account;
  if (!subject) return forbid(action, 'no account named');
  const self = subject.name === caller.account.name;
  if (action === 'token.create') {
    const asked = target.scope;
    if (!asked) return forbid(action, 'no scope named');
    const outside = withinTokenScope(caller, asked);
    if (outside !== undefined) return forbid(action, outside);
    if (caller.account.serverAdmin) return allow(action, 'server admin');
    if (self) return allow(action, 'own token');
    if (subject.kind === 'service' && asked.project !== null && caller.grants.get(asked.project)?.role === 'admin') return allow(action, `admin of project ${asked.project}, service account`);
    return forbid(action, 'tokens for other accounts need a server admin, or a project admin for a service account scoped to that project');
  }
  // token.list, token.revoke
  if (caller.token.project !== null && !self) return forbid(action, `the token is scoped to project ${caller.token.project}`);
  if (caller.account.serverAdmin) return allow(action, 'server admin');
  if (self) return allow(action, 'own token');
  const project = target.scope?.project ?? null;
  if (action === 'token.revoke' && subject.kind === 'service' && project !== null && caller.grants.get(project)?.role === 'admin') return allow(action, `admin of project ${project}, service account`);
  return forbid(action, "other accounts' tokens need a server admin");
}
