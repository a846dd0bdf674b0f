import type { Readable } from 'node:stream';
import { CustodyError, isCustodyError } from '../core/errors.js';
import { isRecord } from '../core/json.js';
import { parseBundle, type SigstoreBundle } from '../integrity/bundle.js';
import { digestEquals, isDigestHex } from '../integrity/digest.js';
import { diffResources } from '../integrity/diff.js';
import { loadPublicKey, type PrivateKeyInfo, type PublicKeyInfo } from '../integrity/keys.js';
import { parseOmsStatement } from '../integrity/oms.js';
import { createKeyVerifier, verifyEnvelope } from '../integrity/signer.js';
import { parseStatement } from '../integrity/statement.js';
import type { BlobStore } from '../store/blobs.js';
import type { AccountRecord, AttachmentInput, AttachmentRecord, MetadataStore, StoredFile, TokenRecord, VersionRecord } from '../store/metadata.js';
import type { AuditEvent } from './audit.js';
import { authorize, isAction, isAnonymous, isRole, ROLE_ACTIONS, SCOPABLE_ACTIONS, type Action, type Caller, type Grant, type Principal, type Role, type Target } from './authz.js';
import { Governance } from './governance.js';
import { buildTokenReport, type TokenReport } from './hygiene.js';
import { edgesFromAttachment, impactOf, lineageOf, type EdgeKind, type Graph, type ImpactResult } from './lineage.js';
import { checkOidcUrl, decodeIdToken, JwksCache, parseJwks, refuse, verifyIdToken, type VerifiedIdToken } from './oidc.js';
import { manifestJson, parseVersionManifest, type VersionManifest } from './manifest.js';
import { requireFileName, requireSimpleName, type ArtifactKind } from './names.js';
import { checkPasswordPolicy, hashPassword, verifyPassword } from './passwords.js';
import { scanVersion, type StoredFinding } from './scan.js';
import { generateToken, generateTokenId, generateUploadId, hashToken, hexEquals, isWellFormedToken } from './tokens.js';
import { receiveFile, VerifiedBlobStream } from './transfer.js';

export interface RegistrySettings {
  /** Longest lifetime of any token, in seconds (a server setting). */
  maxTokenTtlSeconds: number;
  /** Default lifetime of a service account's token. */
  serviceTokenTtlSeconds: number;
  /** Default lifetime of a user's token (and of a login). */
  userTokenTtlSeconds: number;
  /** How long an unfinished upload is kept. */
  uploadTtlSeconds: number;
  maxFileBytes: number;
  maxFilesPerVersion: number;
  /** Run the server-side scan on every pushed version. */
  scan: boolean;
}

export const DEFAULT_SETTINGS: RegistrySettings = {
  maxTokenTtlSeconds: 30 * 86400,
  serviceTokenTtlSeconds: 3600,
  userTokenTtlSeconds: 12 * 3600,
  uploadTtlSeconds: 24 * 3600,
  maxFileBytes: 256 * 1024 ** 3,
  maxFilesPerVersion: 100_000,
  scan: true,
};

/** One request as the domain sees it: who calls, and the audit event the operations fill in. */
export interface RequestContext {
  caller: Caller;
  requestId: string;
  event: AuditEvent;
}

export interface RegistryDeps {
  store: MetadataStore;
  blobs: BlobStore;
  settings: RegistrySettings;
  /** Signs the server's own scan attestations. */
  attestationKey: PrivateKeyInfo;
  /** Where versions are laid out for scanning. */
  scratchDir: string;
  toolVersion: string;
  /** Records events outside a request (a blob found corrupt while it was being served). */
  recordIntegrityFailure?: (event: AuditEvent) => void;
  now?: () => number;
  /** Signs VSAs and approvals (default: the attestation key). */
  vsaKey?: PrivateKeyInfo;
  /** Where OIDC issuers' keys come from (default: HTTPS only, cached). */
  jwks?: JwksCache;
}

export interface TokenView {
  id: string;
  account: string;
  project: string | null;
  actions: string[] | null;
  description: string;
  createdAt: string;
  createdBy: string;
  expiresAt: string;
  revokedAt: string | null;
  lastUsedAt: string | null;
}

export interface AttachmentView {
  id: number;
  kind: 'signature' | 'attestation' | 'scan' | 'vsa';
  predicateType: string;
  verified: boolean;
  keyHint: string | null;
  error: { code: string; message: string } | null;
  createdAt: string;
  createdBy: string;
}

export interface ScanView {
  status: string;
  result: string | null;
  bySeverity: Record<string, number> | null;
  findings: StoredFinding[];
}

export interface VersionView {
  project: string;
  kind: ArtifactKind;
  name: string;
  version: string;
  status: 'active' | 'archived';
  createdAt: string;
  createdBy: string;
  archivedAt: string | null;
  files: number;
  bytes: number;
  signed: boolean;
  scan: ScanView;
  /** candidate | staging | production | archived */
  stage: string;
  /** Aliases pointing at this version. */
  aliases: string[];
  /** The version reached its stage through break-glass, not through its policy. */
  forced: boolean;
}

export interface VersionDetail extends VersionView {
  manifest: ReturnType<typeof manifestJson>;
  fileList: StoredFile[];
  attachments: AttachmentView[];
}

export interface UploadStarted {
  uploadId: string;
  version: string;
  expiresAt: string;
  /** Files the client must send (the others' bytes are already stored). */
  needed: string[];
}

/** What an upload carries besides the files, kept until commit. */
interface UploadBundles {
  signature: string | null;
  attestations: string[];
}

const LAST_USED_RESOLUTION_MS = 60_000;
const iso = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString());

/**
 * The registry's domain: identities, tokens, projects and roles, artifacts and immutable versions.
 * Every operation authorizes through `authorize` first and records what it did in the request's
 * audit event; storage is reached only through the MetadataStore and BlobStore interfaces.
 */
export class Registry {
  private readonly store: MetadataStore;
  private readonly blobs: BlobStore;
  readonly settings: RegistrySettings;
  private readonly now: () => number;
  private scanQueue: Promise<void> = Promise.resolve();
  private usageQueue: Promise<void> = Promise.resolve();
  private readonly lastTouched = new Map<string, number>();
  private readonly usageSeen = new Map<string, number>();
  readonly governance: Governance;
  readonly jwks: JwksCache;

  constructor(private readonly deps: RegistryDeps) {
    this.store = deps.store;
    this.blobs = deps.blobs;
    this.settings = deps.settings;
    this.now = deps.now ?? Date.now;
    this.jwks = deps.jwks ?? new JwksCache();
    this.governance = new Governance({
      store: deps.store,
      check: (ctx, action, target) => this.check(ctx, action, target),
      vsaKey: deps.vsaKey ?? deps.attestationKey,
      attestationKey: deps.attestationKey,
      toolVersion: deps.toolVersion,
      now: this.now,
    });
  }

  // ------------------------------------------------------------------------------------------------
  // start-up

  /**
   * Readies the stores after a start or a crash: staged blobs are dropped, expired uploads removed,
   * and blobs no version or open upload refers to are deleted (nothing is serving yet). Versions
   * whose scan did not finish are queued again.
   */
  async recover(): Promise<{ staged: number; uploads: number; blobs: number; rescans: number }> {
    const staged = await this.blobs.clearStaging();
    const uploads = await this.store.deleteExpiredUploads(this.now());
    const referenced = await this.store.referencedBlobs();
    let removed = 0;
    for await (const digest of this.blobs.list()) {
      if (!referenced.has(digest)) {
        await this.blobs.delete(digest);
        removed += 1;
      }
    }
    const pending = this.settings.scan ? await this.store.versionsWithScanStatus('pending') : [];
    for (const version of pending) this.queueScan(version);
    return { staged, uploads, blobs: removed, rescans: pending.length };
  }

  /** On an empty store: the first server admin and a token for it (the caller writes it to a 0600 file). */
  async bootstrap(ttlSeconds: number): Promise<{ account: string; token: string; expiresAt: string } | undefined> {
    if ((await this.store.countAccounts()) > 0) return undefined;
    const account = await this.store.createAccount({ name: 'admin', kind: 'user', serverAdmin: true, passwordHash: null, createdBy: 'bootstrap' });
    const issued = await this.issueToken(account, { project: null, actions: null, ttlSeconds, description: 'initial admin token', createdBy: 'bootstrap' });
    return { account: account.name, token: issued.token, expiresAt: issued.view.expiresAt };
  }

  /** A new unscoped token for a server admin (offline recovery: whoever holds the data dir holds the server). */
  async issueAdminToken(accountName: string, ttlSeconds: number): Promise<{ token: string; expiresAt: string }> {
    const account = await this.store.findAccount(accountName);
    if (!account?.serverAdmin) throw new CustodyError('NOT_FOUND', `no server admin account named ${accountName}`);
    const issued = await this.issueToken(account, { project: null, actions: null, ttlSeconds, description: 'recovery admin token', createdBy: 'offline' });
    return { token: issued.token, expiresAt: issued.view.expiresAt };
  }

  // ------------------------------------------------------------------------------------------------
  // authentication and authorization

  /** Resolves a bearer token to a principal, or says why the caller is anonymous. */
  async authenticate(token: string | undefined): Promise<Caller> {
    if (token === undefined || token === '') return { anonymous: 'no token' };
    if (!isWellFormedToken(token)) return { anonymous: 'malformed token' };
    const hash = hashToken(token);
    const record = await this.store.findTokenByHash(hash);
    if (!record || !hexEquals(record.hash, hash)) return { anonymous: 'unknown token' };
    if (record.revokedAt !== null) return { anonymous: 'revoked token' };
    const now = this.now();
    if (record.expiresAt <= now) return { anonymous: 'expired token' };
    if (record.accountDisabledAt !== null && record.accountDisabledAt !== undefined) return { anonymous: 'disabled account' };
    const grants = new Map<string, Grant>();
    for (const g of await this.store.grantsOf(record.accountId)) if (isRole(g.role)) grants.set(g.project, { role: g.role, models: g.models });
    const last = this.lastTouched.get(record.id) ?? record.lastUsedAt ?? 0;
    if (now - last >= LAST_USED_RESOLUTION_MS) {
      this.lastTouched.set(record.id, now);
      await this.store.touchToken(record.id, now);
    }
    return {
      account: { id: record.accountId, name: record.account, kind: record.accountKind, serverAdmin: record.accountServerAdmin },
      grants,
      token: { id: record.id, project: record.project, actions: (record.actions?.filter(isAction) ?? null) as Action[] | null, expiresAt: record.expiresAt },
    };
  }

  /** Authorizes and records the decision in the request's audit event; throws UNAUTHENTICATED or FORBIDDEN. */
  check(ctx: RequestContext, action: Action, target: Target = {}): Principal | undefined {
    const decision = authorize(ctx.caller, action, target);
    Object.assign(ctx.event, {
      action,
      decision: decision.allow ? 'allow' : 'deny',
      reason: decision.reason,
      ...(target.project === undefined ? {} : { project: target.project }),
      ...(target.artifact === undefined ? {} : { kind: target.artifact.kind, artifact: target.artifact.name }),
      ...(target.account === undefined ? {} : { subject: target.account.name }),
    });
    if (!decision.allow) {
      throw new CustodyError(decision.code, decision.status === 401 ? `authentication required (${decision.reason})` : `not allowed: ${decision.reason}`, { details: { action } });
    }
    if (isAnonymous(ctx.caller)) return undefined;
    this.noteUsage(ctx.caller, target.project ?? '', action);
    return ctx.caller;
  }

  /** Records that an account used a right (throttled: once per key per 10 minutes), for the hygiene report. */
  private noteUsage(p: Principal, project: string, action: Action): void {
    const key = `${p.account.id}\n${project}\n${action}`;
    const now = this.now();
    if (now - (this.usageSeen.get(key) ?? 0) < 600_000) return;
    if (this.usageSeen.size > 100_000) this.usageSeen.clear();
    this.usageSeen.set(key, now);
    this.usageQueue = this.usageQueue.then(() => this.store.recordUsage(p.account.id, project, action, now)).catch(() => undefined);
  }

  private principal(ctx: RequestContext): Principal {
    if (isAnonymous(ctx.caller)) throw new CustodyError('UNAUTHENTICATED', `authentication required (${ctx.caller.anonymous})`);
    return ctx.caller;
  }

  whoami(ctx: RequestContext): { account: string; kind: string; serverAdmin: boolean; token: { id: string; project: string | null; actions: string[] | null; expiresAt: string }; roles: { project: string; role: string; models: string[] | null }[] } {
    this.check(ctx, 'session.whoami');
    const p = this.principal(ctx);
    return {
      account: p.account.name,
      kind: p.account.kind,
      serverAdmin: p.account.serverAdmin,
      token: { id: p.token.id, project: p.token.project, actions: p.token.actions === null ? null : [...p.token.actions], expiresAt: new Date(p.token.expiresAt).toISOString() },
      roles: [...p.grants.entries()].map(([project, g]) => ({ project, role: g.role, models: g.models === null ? null : [...g.models] })),
    };
  }

  // ------------------------------------------------------------------------------------------------
  // accounts, sessions, tokens

  async login(ctx: RequestContext, input: { account: string; password: string; ttlSeconds?: number; project?: string }): Promise<{ token: string } & TokenView> {
    this.check(ctx, 'session.login');
    ctx.event.subject = input.account;
    const account = await this.store.findAccount(input.account);
    const ok = await verifyPassword(account?.kind === 'user' ? account.passwordHash : null, input.password);
    if (!account || !ok) {
      Object.assign(ctx.event, { decision: 'deny', reason: 'wrong account or password' });
      throw new CustodyError('UNAUTHENTICATED', 'wrong account or password');
    }
    const project = input.project ?? null;
    if (project !== null && !(await this.store.findProject(project))) throw new CustodyError('NOT_FOUND', `no project named ${project}`);
    const issued = await this.issueToken(account, { project, actions: null, ttlSeconds: this.ttl(account, input.ttlSeconds), description: 'login', createdBy: account.name });
    ctx.event.tokenId = issued.view.id;
    return { token: issued.token, ...issued.view };
  }

  private ttl(account: AccountRecord, asked: number | undefined): number {
    const ttl = asked ?? (account.kind === 'service' ? this.settings.serviceTokenTtlSeconds : this.settings.userTokenTtlSeconds);
    if (!Number.isSafeInteger(ttl) || ttl < 1 || ttl > this.settings.maxTokenTtlSeconds) {
      throw new CustodyError('REQUEST_INVALID', `a token lives between 1 second and the server's maximum of ${this.settings.maxTokenTtlSeconds} seconds`);
    }
    return ttl;
  }

  private async issueToken(account: AccountRecord, input: { project: string | null; actions: Action[] | null; ttlSeconds: number; description: string; createdBy: string }): Promise<{ token: string; view: TokenView }> {
    const projectId = input.project === null ? null : ((await this.store.findProject(input.project))?.id ?? null);
    const token = generateToken();
    const now = this.now();
    const record = { id: generateTokenId(), accountId: account.id, hash: hashToken(token), projectId, actions: input.actions, description: input.description, createdAt: now, createdBy: input.createdBy, expiresAt: now + input.ttlSeconds * 1000 };
    await this.store.insertToken(record);
    return { token, view: tokenView({ ...record, account: account.name, accountKind: account.kind, accountServerAdmin: account.serverAdmin, project: input.project, revokedAt: null, lastUsedAt: null }) };
  }

  async createToken(ctx: RequestContext, input: { account: string; project?: string | null; actions?: string[] | null; ttlSeconds?: number; description?: string }): Promise<{ token: string } & TokenView> {
    const project = input.project ?? null;
    const actions = input.actions ?? null;
    if (actions !== null) {
      const unknown = actions.filter((a) => !isAction(a) || !SCOPABLE_ACTIONS.includes(a));
      if (unknown.length > 0 || actions.length === 0) throw new CustodyError('REQUEST_INVALID', `unknown or unscopable actions: ${unknown.join(', ') || '(none given)'}; choose from ${SCOPABLE_ACTIONS.join(', ')}`);
    }
    const account = await this.store.findAccount(input.account);
    const kind = account?.kind ?? 'user';
    const ttl = account ? this.ttl(account, input.ttlSeconds) : (input.ttlSeconds ?? this.settings.userTokenTtlSeconds);
    const expiresAt = this.now() + ttl * 1000;
    const creator = this.check(ctx, 'token.create', { account: { name: input.account, kind }, scope: { project, actions: actions as Action[] | null, expiresAt }, ...(project === null ? {} : { project }) });
    if (!account) throw new CustodyError('NOT_FOUND', `no account named ${input.account}`);
    if (project !== null && !(await this.store.findProject(project))) throw new CustodyError('NOT_FOUND', `no project named ${project}`);
    const issued = await this.issueToken(account, { project, actions: actions as Action[] | null, ttlSeconds: ttl, description: input.description ?? '', createdBy: creator?.account.name ?? '?' });
    ctx.event.tokenId = issued.view.id;
    return { token: issued.token, ...issued.view };
  }

  async listTokens(ctx: RequestContext, accountName?: string): Promise<TokenView[]> {
    const p = this.principal(ctx);
    if (accountName === undefined) {
      const all = p.account.serverAdmin && p.token.project === null && (p.token.actions === null || p.token.actions.includes('token.list'));
      if (all) {
        this.check(ctx, 'token.list', { account: { name: '*', kind: 'user' } });
        ctx.event.subject = '*';
        return (await this.store.listTokens(null)).map(tokenView);
      }
      accountName = p.account.name;
    }
    const account = await this.store.findAccount(accountName);
    this.check(ctx, 'token.list', { account: { name: accountName, kind: account?.kind ?? 'user' } });
    if (!account) throw new CustodyError('NOT_FOUND', `no account named ${accountName}`);
    return (await this.store.listTokens(account.id)).map(tokenView);
  }

  async revokeToken(ctx: RequestContext, id: string): Promise<TokenView> {
    ctx.event.tokenId = id;
    const record = await this.store.findToken(id);
    const account = record ? await this.store.findAccountById(record.accountId) : undefined;
    // An unknown id is checked as somebody else's token: only a server admin learns it does not exist.
    this.check(ctx, 'token.revoke', { account: { name: record?.account ?? '?', kind: account?.kind ?? 'user' }, scope: { project: record?.project ?? null, actions: null }, ...(record?.project ? { project: record.project } : {}) });
    if (!record) throw new CustodyError('NOT_FOUND', `no token with id ${id}`);
    await this.store.revokeToken(id, this.now());
    const updated = await this.store.findToken(id);
    return tokenView(updated ?? record);
  }

  async createAccount(ctx: RequestContext, input: { name: string; kind: 'user' | 'service'; password?: string; serverAdmin?: boolean }): Promise<{ name: string; kind: string; serverAdmin: boolean; createdAt: string }> {
    const creator = this.check(ctx, 'account.create', { account: { name: input.name, kind: input.kind } });
    requireSimpleName(input.name, 'account');
    if (input.kind === 'service' && (input.password !== undefined || input.serverAdmin === true)) {
      throw new CustodyError('REQUEST_INVALID', 'a service account has no password and cannot be a server admin; it authenticates with tokens');
    }
    let passwordHash: string | null = null;
    if (input.password !== undefined) {
      checkPasswordPolicy(input.password);
      passwordHash = await hashPassword(input.password);
    }
    const account = await this.store.createAccount({ name: input.name, kind: input.kind, serverAdmin: input.serverAdmin === true, passwordHash, createdBy: creator?.account.name ?? '?' });
    return { name: account.name, kind: account.kind, serverAdmin: account.serverAdmin, createdAt: new Date(account.createdAt).toISOString() };
  }

  async listAccounts(ctx: RequestContext): Promise<{ name: string; kind: string; serverAdmin: boolean; hasPassword: boolean; createdAt: string }[]> {
    this.check(ctx, 'account.list');
    return (await this.store.listAccounts()).map((a) => ({ name: a.name, kind: a.kind, serverAdmin: a.serverAdmin, hasPassword: a.passwordHash !== null, createdAt: new Date(a.createdAt).toISOString() }));
  }

  // ------------------------------------------------------------------------------------------------
  // projects, roles, trusted keys

  async createProject(ctx: RequestContext, name: string): Promise<{ name: string; createdAt: string; createdBy: string }> {
    const creator = this.check(ctx, 'project.create', { project: name });
    requireSimpleName(name, 'project');
    const project = await this.store.createProject({ name, createdBy: creator?.account.name ?? '?' });
    return { name: project.name, createdAt: new Date(project.createdAt).toISOString(), createdBy: project.createdBy };
  }

  async listProjects(ctx: RequestContext): Promise<{ name: string; createdAt: string; role: string | null }[]> {
    this.check(ctx, 'project.list');
    const p = this.principal(ctx);
    const visible = (await this.store.listProjects()).filter((project) => authorize(p, 'project.read', { project: project.name }).allow);
    return visible.map((project) => ({ name: project.name, createdAt: new Date(project.createdAt).toISOString(), role: p.grants.get(project.name)?.role ?? (p.account.serverAdmin ? 'server-admin' : null) }));
  }

  private async requireProject(name: string): Promise<{ id: number; name: string }> {
    const project = await this.store.findProject(name);
    if (!project) throw new CustodyError('NOT_FOUND', `no project named ${name}`);
    return project;
  }

  async showProject(ctx: RequestContext, name: string): Promise<{ name: string; createdAt: string; createdBy: string; members: { account: string; kind: string; role: string; models: string[] | null }[]; keys: { hint: string; keyType: string; pem: string; addedAt: string; addedBy: string; owner: string | null }[] }> {
    this.check(ctx, 'project.read', { project: name });
    const project = await this.store.findProject(name);
    if (!project) throw new CustodyError('NOT_FOUND', `no project named ${name}`);
    const members = (await this.store.listGrants(project.id)).map((g) => ({ account: g.account, kind: g.accountKind, role: g.role, models: g.models }));
    const keys = (await this.store.listTrustedKeys(project.id)).map((k) => ({ hint: k.hint, keyType: k.keyType, pem: k.pem, addedAt: new Date(k.addedAt).toISOString(), addedBy: k.addedBy, owner: k.owner }));
    return { name: project.name, createdAt: new Date(project.createdAt).toISOString(), createdBy: project.createdBy, members, keys };
  }

  async grant(ctx: RequestContext, input: { project: string; account: string; role: Role | 'none'; models?: string[] | null }): Promise<{ project: string; account: string; role: string; models: string[] | null }> {
    const granter = this.check(ctx, 'project.grant', { project: input.project });
    Object.assign(ctx.event, { subject: input.account, role: input.role });
    const project = await this.requireProject(input.project);
    const account = await this.store.findAccount(input.account);
    if (!account) throw new CustodyError('NOT_FOUND', `no account named ${input.account}`);
    if (input.role === 'none') {
      if (!(await this.store.removeGrant(project.id, account.id))) throw new CustodyError('NOT_FOUND', `${input.account} has no role in ${input.project}`);
      return { project: project.name, account: account.name, role: 'none', models: null };
    }
    if (!isRole(input.role)) throw new CustodyError('REQUEST_INVALID', `unknown role ${String(input.role)}`);
    const models = input.models ?? null;
    if (models !== null) {
      if (input.role !== 'trainer') throw new CustodyError('REQUEST_INVALID', 'only a trainer can be narrowed to named models');
      for (const m of models) requireSimpleName(m, 'model');
    }
    if (input.role === 'trainer' && account.kind !== 'service') throw new CustodyError('REQUEST_INVALID', 'trainer is a role for service accounts');
    await this.store.setGrant({ projectId: project.id, accountId: account.id, role: input.role, models, grantedBy: granter?.account.name ?? '?' });
    return { project: project.name, account: account.name, role: input.role, models };
  }

  async trustKey(ctx: RequestContext, projectName: string, pem: string, owner?: string): Promise<{ project: string; hint: string; keyType: string; added: boolean; owner: string | null }> {
    const actor = this.check(ctx, 'project.trust-key', { project: projectName });
    const project = await this.requireProject(projectName);
    if (owner !== undefined && !(await this.store.findAccount(owner))) throw new CustodyError('NOT_FOUND', `no account named ${owner} (the key's owner)`);
    const key = loadPublicKey(pem, 'the key');
    const spki = key.key.export({ type: 'spki', format: 'pem' }).toString();
    const added = await this.store.addTrustedKey({ projectId: project.id, hint: key.hint, keyType: key.type, pem: spki, addedBy: actor?.account.name ?? '?', owner: owner ?? null });
    return { project: project.name, hint: key.hint, keyType: key.type, added, owner: owner ?? null };
  }

  private async trustedKeys(projectId: number): Promise<PublicKeyInfo[]> {
    return (await this.store.listTrustedKeys(projectId)).map((k) => loadPublicKey(k.pem, `trusted key ${k.hint.slice(0, 16)}`));
  }

  // ------------------------------------------------------------------------------------------------
  // artifacts and versions

  async listArtifacts(ctx: RequestContext, project: string, kind: ArtifactKind): Promise<{ name: string; versions: number; latest: string | null }[]> {
    this.check(ctx, 'artifact.read', { project });
    const p = await this.requireProject(project);
    return (await this.store.listArtifacts(p.id, kind)).map((a) => ({ name: a.name, versions: a.versions, latest: iso(a.latest) }));
  }

  private async requireArtifact(project: string, kind: ArtifactKind, name: string): Promise<{ id: number }> {
    const artifact = await this.store.findArtifact(project, kind, name);
    if (!artifact) {
      if (!(await this.store.findProject(project))) throw new CustodyError('NOT_FOUND', `no project named ${project}`);
      throw new CustodyError('NOT_FOUND', `no ${kind} named ${name} in project ${project}`);
    }
    return artifact;
  }

  async listVersions(ctx: RequestContext, project: string, kind: ArtifactKind, name: string): Promise<VersionView[]> {
    this.check(ctx, 'artifact.read', { project, artifact: { kind, name } });
    const artifact = await this.requireArtifact(project, kind, name);
    const aliases = await this.store.listAliases(artifact.id);
    const out: VersionView[] = [];
    for (const v of await this.store.listVersions(artifact.id)) out.push(this.versionView(v, await this.store.listAttachments(v.id), aliases.filter((a) => a.versionId === v.id).map((a) => a.name)));
    return out;
  }

  private async requireVersion(project: string, kind: ArtifactKind, name: string, digest: string): Promise<VersionRecord> {
    if (!isDigestHex(digest)) throw new CustodyError('NOT_FOUND', `no version ${String(digest).slice(0, 80)}: a version id is its 64-character root digest`);
    const version = await this.store.findVersionByName(project, kind, name, digest);
    if (version) return version;
    await this.requireArtifact(project, kind, name);
    throw new CustodyError('NOT_FOUND', `no version ${digest} of ${kind} ${project}/${name}`);
  }

  async showVersion(ctx: RequestContext, project: string, kind: ArtifactKind, name: string, digest: string): Promise<VersionDetail & { bundles: { signature: unknown; attestations: unknown[]; scan: unknown } }> {
    this.check(ctx, 'artifact.read', { project, artifact: { kind, name } });
    ctx.event.version = digest;
    const version = await this.requireVersion(project, kind, name, digest);
    const attachments = await this.store.listAttachments(version.id);
    const manifest = JSON.parse(version.manifest) as ReturnType<typeof manifestJson>;
    const signature = attachments.find((a) => a.kind === 'signature');
    const scan = attachments.filter((a) => a.kind === 'scan').pop();
    const aliases = (await this.store.listAliases(version.artifactId)).filter((a) => a.versionId === version.id).map((a) => a.name);
    return {
      ...this.versionView(version, attachments, aliases),
      manifest,
      fileList: await this.store.versionFiles(version.id),
      attachments: attachments.map(attachmentView),
      bundles: {
        signature: signature ? (JSON.parse(signature.bundle) as unknown) : null,
        attestations: attachments.filter((a) => a.kind === 'attestation').map((a) => JSON.parse(a.bundle) as unknown),
        scan: scan ? (JSON.parse(scan.bundle) as unknown) : null,
      },
    };
  }

  private versionView(v: VersionRecord, attachments: readonly AttachmentRecord[], aliases: readonly string[] = []): VersionView {
    const scan = attachments.filter((a) => a.kind === 'scan').pop();
    const scanResult = scan ? (JSON.parse(scan.result) as { result?: string; bySeverity?: Record<string, number>; findings?: StoredFinding[] }) : undefined;
    return {
      project: v.project,
      kind: v.kind,
      name: v.name,
      version: v.digest,
      status: v.status,
      createdAt: new Date(v.createdAt).toISOString(),
      createdBy: v.createdBy,
      archivedAt: iso(v.archivedAt),
      files: v.files,
      bytes: v.bytes,
      signed: attachments.some((a) => a.kind === 'signature' && a.verified),
      scan: { status: v.scanStatus, result: scanResult?.result ?? null, bySeverity: scanResult?.bySeverity ?? null, findings: scanResult?.findings ?? [] },
      stage: v.stage,
      aliases: [...aliases],
      forced: v.forced,
    };
  }

  async archiveVersion(ctx: RequestContext, project: string, kind: ArtifactKind, name: string, digest: string): Promise<VersionView> {
    this.check(ctx, 'version.archive', { project, artifact: { kind, name } });
    ctx.event.version = digest;
    const version = await this.requireVersion(project, kind, name, digest);
    if (version.status === 'archived') throw new CustodyError('CONFLICT', `version ${digest} is already archived`);
    await this.store.archiveVersion(version.id, this.now());
    const updated = (await this.store.findVersion(version.artifactId, digest)) ?? version;
    return this.versionView(updated, await this.store.listAttachments(version.id));
  }

  /** Opens a file of a version for download: the stream ends in STORE_CORRUPT if the blob changed on disk. */
  async openFile(ctx: RequestContext, project: string, kind: ArtifactKind, name: string, digest: string, fileName: string): Promise<{ stream: Readable; size: number; sha256: string }> {
    this.check(ctx, 'artifact.download', { project, artifact: { kind, name } });
    Object.assign(ctx.event, { version: digest, file: fileName });
    const version = await this.requireVersion(project, kind, name, digest);
    const file = await this.store.findVersionFile(version.id, fileName);
    if (!file) throw new CustodyError('NOT_FOUND', `version ${digest} has no file ${JSON.stringify(fileName.slice(0, 200))}`);
    ctx.event.sha256 = file.sha256;
    const blob = await this.blobs.open(file.sha256);
    if (blob.size !== file.size) {
      await blob.close();
      this.deps.recordIntegrityFailure?.({ action: 'integrity.failure', project, kind, artifact: name, version: digest, file: fileName, sha256: file.sha256, reason: 'size changed on disk' });
      throw new CustodyError('STORE_CORRUPT', `the stored copy of ${fileName} has changed on disk (${blob.size} bytes, expected ${file.size}); restore the data directory from a backup`);
    }
    const stream = new VerifiedBlobStream(blob, file.sha256, file.size, (reason) =>
      this.deps.recordIntegrityFailure?.({ action: 'integrity.failure', project, kind, artifact: name, version: digest, file: fileName, sha256: file.sha256, reason }),
    );
    return { stream, size: file.size, sha256: file.sha256 };
  }

  // ------------------------------------------------------------------------------------------------
  // uploads

  async startUpload(ctx: RequestContext, input: { project: string; kind: ArtifactKind; name: string; manifest: unknown; signature?: unknown; attestations?: unknown[] }): Promise<UploadStarted> {
    const p = this.check(ctx, 'version.push', { project: input.project, artifact: { kind: input.kind, name: input.name } });
    requireSimpleName(input.name, input.kind);
    const project = await this.requireProject(input.project);
    const manifest = parseVersionManifest(input.manifest, { maxFiles: this.settings.maxFilesPerVersion });
    ctx.event.version = manifest.digest;
    const bundles: UploadBundles = {
      signature: input.signature === undefined || input.signature === null ? null : JSON.stringify(parseBundleValue(input.signature, 'signature')),
      attestations: (input.attestations ?? []).map((a, i) => JSON.stringify(parseBundleValue(a, `attestations[${i}]`))),
    };
    const artifact = await this.store.ensureArtifact(project.id, input.kind, input.name);
    if (await this.store.findVersion(artifact.id, manifest.digest)) {
      throw new CustodyError('CONFLICT', `version ${manifest.digest} of ${input.kind} ${input.project}/${input.name} already exists; versions are never overwritten`, { details: { version: manifest.digest } });
    }
    const now = this.now();
    const id = generateUploadId();
    ctx.event.uploadId = id;
    await this.store.createUpload({ id, artifactId: artifact.id, accountId: p?.account.id ?? 0, digest: manifest.digest, manifest: JSON.stringify(manifestJson(manifest)), bundles: JSON.stringify(bundles), createdAt: now, expiresAt: now + this.settings.uploadTtlSeconds * 1000 });
    // A file whose SHA-256 is its manifest digest and whose blob is stored already need not be sent again.
    const needed: string[] = [];
    for (const plan of manifest.files) {
      const size = plan.digest !== undefined && manifest.serialization.hashType === 'sha256' ? await this.blobs.size(plan.digest) : undefined;
      if (size !== undefined && plan.digest !== undefined) await this.store.recordUploadFile(id, { name: plan.name, sha256: plan.digest, size });
      else needed.push(plan.name);
    }
    return { uploadId: id, version: manifest.digest, expiresAt: new Date(now + this.settings.uploadTtlSeconds * 1000).toISOString(), needed };
  }

  /** The upload, authorized for the caller (who must be the account that started it). */
  private async requireUpload(ctx: RequestContext, uploadId: string): Promise<{ upload: NonNullable<Awaited<ReturnType<MetadataStore['findUpload']>>>; manifest: VersionManifest; project: string; kind: ArtifactKind; name: string }> {
    ctx.event.uploadId = uploadId;
    const p = this.principal(ctx);
    const upload = await this.store.findUpload(uploadId);
    const artifact = upload ? await this.store.findArtifactById(upload.artifactId) : undefined;
    if (!upload || !artifact || upload.accountId !== p.account.id || upload.expiresAt <= this.now()) {
      // Uploads are private to the account that started them: others learn nothing of them.
      Object.assign(ctx.event, { action: 'version.push', decision: 'deny', reason: 'no such upload for this account' });
      throw new CustodyError('NOT_FOUND', `no upload ${uploadId.slice(0, 80)} for this account (it may have expired)`);
    }
    this.check(ctx, 'version.push', { project: artifact.project, artifact: { kind: artifact.kind, name: artifact.name } });
    ctx.event.version = upload.digest;
    const manifest = parseVersionManifest(JSON.parse(upload.manifest), { maxFiles: Number.MAX_SAFE_INTEGER });
    return { upload, manifest, project: artifact.project, kind: artifact.kind, name: artifact.name };
  }

  async uploadFile(ctx: RequestContext, uploadId: string, fileName: string, body: AsyncIterable<Uint8Array>): Promise<StoredFile> {
    const { upload, manifest } = await this.requireUpload(ctx, uploadId);
    requireFileName(fileName);
    ctx.event.file = fileName;
    const plan = manifest.files.find((f) => f.name === fileName);
    if (!plan) throw new CustodyError('NOT_FOUND', `the manifest of upload ${uploadId} lists no file ${JSON.stringify(fileName.slice(0, 200))}`);
    const stored = await receiveFile(body, plan, manifest.serialization.hashType, this.blobs, this.settings.maxFileBytes);
    ctx.event.sha256 = stored.sha256;
    await this.store.recordUploadFile(upload.id, stored);
    return stored;
  }

  async commitUpload(ctx: RequestContext, uploadId: string): Promise<VersionView> {
    const { upload, manifest, project, kind, name } = await this.requireUpload(ctx, uploadId);
    const received = new Map((await this.store.listUploadFiles(upload.id)).map((f) => [f.name, f]));
    const missing = manifest.files.filter((f) => !received.has(f.name)).map((f) => f.name);
    if (missing.length > 0) {
      throw new CustodyError('UPLOAD_INCOMPLETE', `upload ${uploadId} lacks ${missing.length} file(s): ${missing.slice(0, 10).join(', ')}${missing.length > 10 ? ', …' : ''}`, { details: { missing: missing.slice(0, 1000) } });
    }
    const files = manifest.files.map((f) => received.get(f.name) as StoredFile);
    for (const file of files) {
      if ((await this.blobs.size(file.sha256)) !== file.size) throw new CustodyError('UPLOAD_INCOMPLETE', `the stored bytes of ${file.name} are gone; upload it again`);
    }
    const projectRecord = await this.requireProject(project);
    const keys = await this.trustedKeys(projectRecord.id);
    const bundles = JSON.parse(upload.bundles) as UploadBundles;
    const createdBy = this.principal(ctx).account.name;
    const attachments: AttachmentInput[] = [];
    if (bundles.signature !== null) attachments.push(await verifySignature(bundles.signature, keys, manifest, createdBy));
    for (const a of bundles.attestations) attachments.push(await verifyAttestationBundle(a, keys, manifest.digest, createdBy));
    const version = await this.store.commitVersion({
      uploadId: upload.id,
      artifactId: upload.artifactId,
      digest: manifest.digest,
      manifest: upload.manifest,
      files,
      bytes: files.reduce((sum, f) => sum + f.size, 0),
      createdBy,
      attachments,
    });
    Object.assign(ctx.event, { project, kind, artifact: name });
    const principal = this.principal(ctx);
    await this.store.addLineageEdges([
      { versionId: version.id, kind: 'account', ref: principal.account.name, label: 'pushed by', verified: true },
      { versionId: version.id, kind: 'token', ref: principal.token.id, label: 'pushed with', verified: true },
      ...attachments.flatMap((a) => edgesFromAttachment(version.id, a)),
    ]);
    if (this.settings.scan) this.queueScan(version);
    else await this.store.setScanStatus(version.id, 'skipped');
    const fresh = (await this.store.findVersion(version.artifactId, version.digest)) ?? version;
    return this.versionView(fresh, await this.store.listAttachments(version.id));
  }

  async attach(ctx: RequestContext, project: string, kind: ArtifactKind, name: string, digest: string, bundle: unknown): Promise<AttachmentView> {
    const p = this.check(ctx, 'version.attach', { project, artifact: { kind, name } });
    ctx.event.version = digest;
    const parsed = JSON.stringify(parseBundleValue(bundle, 'attestation'));
    const version = await this.requireVersion(project, kind, name, digest);
    const keys = await this.trustedKeys((await this.requireProject(project)).id);
    const attachment = await verifyAttestationBundle(parsed, keys, version.digest, p?.account.name ?? '?');
    const stored = await this.store.addAttachment(version.id, attachment);
    const edges = edgesFromAttachment(version.id, attachment);
    if (edges.length > 0 && p) edges.push({ versionId: version.id, kind: 'token', ref: p.token.id, label: 'attested with', verified: true });
    await this.store.addLineageEdges(edges);
    return attachmentView(stored);
  }

  /** The public keys the registry signs with (VSAs and approvals; scan attestations). */
  signingKeys(): { vsa: { pem: string; hint: string }; attestation: { pem: string; hint: string } } {
    const pem = (k: PublicKeyInfo): string => k.key.export({ type: 'spki', format: 'pem' }).toString();
    const vsa = this.governance.vsaPublicKey;
    const att = this.deps.attestationKey.publicKey;
    return { vsa: { pem: pem(vsa), hint: vsa.hint }, attestation: { pem: pem(att), hint: att.hint } };
  }

  // ------------------------------------------------------------------------------------------------
  // accounts: disabling; credential hygiene

  async disableAccount(ctx: RequestContext, name: string): Promise<{ name: string; disabledAt: string }> {
    const actor = this.check(ctx, 'account.disable', { account: { name, kind: 'user' } });
    ctx.event.subject = name;
    const account = await this.store.findAccount(name);
    if (!account) throw new CustodyError('NOT_FOUND', `no account named ${name}`);
    if (actor && account.id === actor.account.id) throw new CustodyError('CONFLICT', 'you cannot disable your own account');
    await this.store.disableAccount(account.id, this.now());
    const updated = (await this.store.findAccount(name)) ?? account;
    return { name, disabledAt: new Date(updated.disabledAt ?? this.now()).toISOString() };
  }

  async tokenReport(ctx: RequestContext, options: { unusedDays?: number; maxLifetimeDays?: number } = {}): Promise<TokenReport> {
    this.check(ctx, 'token.report');
    const accounts = await this.store.listAccounts();
    const grants = [];
    for (const project of await this.store.listProjects()) grants.push(...(await this.store.listGrants(project.id)));
    await this.usageQueue;
    return buildTokenReport({ tokens: await this.store.listTokens(null), accounts, grants, usage: await this.store.listUsage() }, { now: this.now(), unusedDays: options.unusedDays ?? 30, maxLifetimeDays: options.maxLifetimeDays ?? 7 });
  }

  // ------------------------------------------------------------------------------------------------
  // workload identity: OIDC trust and token exchange

  async trustIssuer(ctx: RequestContext, input: { project: string; issuer: string; audience: string; account: string; role: Role; claims: Record<string, string[]>; jwks?: string; ttlSeconds?: number }): Promise<{ id: number; project: string; issuer: string; audience: string; account: string; role: string; claims: Record<string, string[]>; pinned: boolean; ttlSeconds: number }> {
    const actor = this.check(ctx, 'project.trust-issuer', { project: input.project });
    Object.assign(ctx.event, { subject: input.account, role: input.role });
    const project = await this.requireProject(input.project);
    checkOidcUrl(input.issuer, this.jwks.allowInsecureLoopback);
    if (!isRole(input.role) || input.role === 'admin') throw new CustodyError('REQUEST_INVALID', 'an exchanged token acts in a non-admin role: viewer, contributor, trainer or approver');
    const claims = Object.entries(input.claims);
    if (claims.length === 0) throw new CustodyError('REQUEST_INVALID', 'name at least one claim the ID token must carry (e.g. repository, ref, sub): an issuer alone trusts every one of its users');
    for (const [name, values] of claims) {
      if (!/^[A-Za-z0-9_.:-]{1,64}$/.test(name) || ['iss', 'aud', 'exp', 'nbf', 'iat', 'jti'].includes(name)) throw new CustodyError('REQUEST_INVALID', `claim ${name.slice(0, 64)} cannot be a rule (reserved or malformed name)`);
      if (values.length === 0 || values.some((v) => v === '' || v.includes('*'))) throw new CustodyError('REQUEST_INVALID', `claim ${name} needs exact values (no wildcards)`);
    }
    if (input.jwks !== undefined) parseJwks(input.jwks);
    const account = await this.store.findAccount(input.account);
    if (!account || account.kind !== 'service') throw new CustodyError('REQUEST_INVALID', `${input.account} is not a service account; exchanged tokens act as a service account`);
    const ttl = Math.min(input.ttlSeconds ?? 900, 900);
    const record = await this.store.addOidcIssuer({ projectId: project.id, issuer: input.issuer, audience: input.audience, accountId: account.id, role: input.role, claims: input.claims, jwks: input.jwks ?? null, ttlSeconds: ttl, createdBy: actor?.account.name ?? '?', at: this.now() });
    ctx.event.detail = { issuer: record.issuer, audience: record.audience, claims: record.claims, pinned: record.jwks !== null };
    return { id: record.id, project: record.project, issuer: record.issuer, audience: record.audience, account: record.account, role: record.role, claims: record.claims, pinned: record.jwks !== null, ttlSeconds: record.ttlSeconds };
  }

  async listIssuers(ctx: RequestContext, projectName: string): Promise<{ id: number; issuer: string; audience: string; account: string; role: string; claims: Record<string, string[]>; pinned: boolean; ttlSeconds: number }[]> {
    this.check(ctx, 'project.read', { project: projectName });
    const project = await this.requireProject(projectName);
    return (await this.store.listOidcIssuers(project.id)).map((r) => ({ id: r.id, issuer: r.issuer, audience: r.audience, account: r.account, role: r.role, claims: r.claims, pinned: r.jwks !== null, ttlSeconds: r.ttlSeconds }));
  }

  /**
   * Exchanges an OIDC ID token for a registry token of the rule's service account, scoped to the
   * project and the rule's role, living at most 15 minutes. Every exchange — and every refusal — is
   * audited with the claims used.
   */
  async exchangeOidc(ctx: RequestContext, input: { project: string; token: string; account?: string }): Promise<{ token: string } & TokenView> {
    this.check(ctx, 'session.oidc');
    Object.assign(ctx.event, { project: input.project });
    const project = await this.store.findProject(input.project);
    let decoded;
    try {
      decoded = decodeIdToken(input.token);
    } catch (error) {
      Object.assign(ctx.event, { decision: 'deny', reason: (error as Error).message.slice(0, 300) });
      throw error;
    }
    const iss = typeof decoded.claims['iss'] === 'string' ? decoded.claims['iss'] : '';
    const rules = project ? (await this.store.listOidcIssuers(project.id)).filter((r) => r.issuer === iss && (input.account === undefined || r.account === input.account)) : [];
    let verified: VerifiedIdToken | undefined;
    let rule = rules[0];
    let failure: unknown = refuse('no-rule', `project ${input.project} trusts no rule for issuer ${JSON.stringify(iss.slice(0, 200))}`);
    for (const candidate of rules) {
      try {
        const pinned = candidate.jwks === null ? undefined : parseJwks(candidate.jwks);
        verified = await verifyIdToken(input.token, candidate, (refresh) => (pinned ? Promise.resolve(pinned) : this.jwks.keys(candidate.issuer, refresh)), this.now());
        rule = candidate;
        break;
      } catch (error) {
        failure = error;
      }
    }
    if (!verified || !rule) {
      Object.assign(ctx.event, { decision: 'deny', reason: (failure as Error).message.slice(0, 300), detail: { issuer: iss.slice(0, 200), check: (failure as CustodyError).details?.['check'] ?? 'unknown' } });
      throw failure;
    }
    ctx.event.detail = { issuer: rule.issuer, rule: rule.id, claims: verified.used };
    if (!(await this.store.rememberOidcToken(verified.replayKey, verified.expiresAt + 120_000, this.now()))) {
      Object.assign(ctx.event, { decision: 'deny', reason: 'replayed ID token' });
      throw refuse('replay', 'this ID token was exchanged before');
    }
    const account = await this.store.findAccount(rule.account);
    if (!account || account.disabledAt !== null) {
      Object.assign(ctx.event, { decision: 'deny', reason: 'the rule\'s account is disabled or gone' });
      throw new CustodyError('FORBIDDEN', `service account ${rule.account} is disabled or gone`);
    }
    const actions = ROLE_ACTIONS[rule.role as Role].filter((a) => SCOPABLE_ACTIONS.includes(a));
    const issued = await this.issueToken(account, { project: rule.project, actions: [...actions], ttlSeconds: Math.min(rule.ttlSeconds, 900), description: `oidc ${rule.issuer} ${verified.used['sub'] ?? ''}`.slice(0, 200), createdBy: `oidc:${rule.issuer}`.slice(0, 200) });
    Object.assign(ctx.event, { decision: 'allow', reason: `ID token of ${rule.issuer} matched rule ${rule.id}`, subject: account.name, tokenId: issued.view.id, role: rule.role });
    return { token: issued.token, ...issued.view };
  }

  // ------------------------------------------------------------------------------------------------
  // lineage and blast radius

  private readableBy(p: Principal): (project: string) => boolean {
    const cache = new Map<string, boolean>();
    return (project) => {
      let ok = cache.get(project);
      if (ok === undefined) {
        ok = authorize(p, 'artifact.read', { project }).allow;
        cache.set(project, ok);
      }
      return ok;
    };
  }

  async lineage(ctx: RequestContext, project: string, kind: ArtifactKind, name: string, digest: string): Promise<Graph> {
    const p = this.check(ctx, 'artifact.read', { project, artifact: { kind, name } });
    ctx.event.version = digest;
    const version = await this.requireVersion(project, kind, name, digest);
    return lineageOf(this.store, version, p ? this.readableBy(p) : () => false);
  }

  /** Everything downstream of a dataset version (`dataset` with project/name/digest), a key hint, a builder id or a token id. */
  async impact(ctx: RequestContext, input: { kind: EdgeKind; ref: string; project?: string; name?: string }): Promise<ImpactResult> {
    const p = this.principal(ctx);
    if (input.kind === 'dataset' || input.kind === 'model') {
      if (input.project === undefined || input.name === undefined) throw new CustodyError('REQUEST_INVALID', `impact of a ${input.kind} names it as project, name and version`);
      this.check(ctx, 'artifact.read', { project: input.project, artifact: { kind: input.kind, name: input.name } });
      const seed = await this.requireVersion(input.project, input.kind, input.name, input.ref);
      ctx.event.version = input.ref;
      return impactOf(this.store, { kind: input.kind, ref: seed.digest, seed }, this.readableBy(p));
    }
    this.check(ctx, input.project === undefined ? 'project.list' : 'artifact.read', input.project === undefined ? {} : { project: input.project });
    const readable = this.readableBy(p);
    return impactOf(this.store, { kind: input.kind, ref: input.ref }, input.project === undefined ? readable : (x) => x === input.project && readable(x));
  }

  // ------------------------------------------------------------------------------------------------
  // server-side scan

  private queueScan(version: VersionRecord): void {
    this.scanQueue = this.scanQueue.then(() => this.runScanFor(version)).catch(() => undefined);
  }

  /** Resolves when every queued scan has finished (tests, shutdown, the demo). */
  async idle(): Promise<void> {
    let current: Promise<void>;
    let usage: Promise<void>;
    do {
      current = this.scanQueue;
      usage = this.usageQueue;
      await current;
      await usage;
    } while (current !== this.scanQueue || usage !== this.usageQueue);
  }

  private async runScanFor(version: VersionRecord): Promise<void> {
    try {
      const files = await this.store.versionFiles(version.id);
      const attachment = await scanVersion({ project: version.project, kind: version.kind, name: version.name, digest: version.digest, files }, this.blobs, this.deps.scratchDir, this.deps.attestationKey, this.deps.toolVersion);
      await this.store.addAttachment(version.id, attachment);
      const result = (JSON.parse(attachment.result) as { result: string }).result.toLowerCase();
      await this.store.setScanStatus(version.id, result);
    } catch (error) {
      await this.store.setScanStatus(version.id, 'error').catch(() => undefined);
      this.deps.recordIntegrityFailure?.({ action: 'integrity.failure', project: version.project, kind: version.kind, artifact: version.name, version: version.digest, reason: `server-side scan failed: ${isCustodyError(error) ? error.code : 'INTERNAL'}` });
    }
  }
}

export function tokenView(t: TokenRecord): TokenView {
  return {
    id: t.id,
    account: t.account,
    project: t.project,
    actions: t.actions,
    description: t.description,
    createdAt: new Date(t.createdAt).toISOString(),
    createdBy: t.createdBy,
    expiresAt: new Date(t.expiresAt).toISOString(),
    revokedAt: iso(t.revokedAt),
    lastUsedAt: iso(t.lastUsedAt),
  };
}

function attachmentView(a: AttachmentRecord): AttachmentView {
  const result = JSON.parse(a.result) as { signer?: { keyHint?: string }; error?: { code: string; message: string } };
  return { id: a.id, kind: a.kind, predicateType: a.predicateType, verified: a.verified, keyHint: result.signer?.keyHint ?? null, error: result.error ?? null, createdAt: new Date(a.createdAt).toISOString(), createdBy: a.createdBy };
}

function parseBundleValue(value: unknown, what: string): SigstoreBundle {
  if (!isRecord(value)) throw new CustodyError('BUNDLE_INVALID', `${what} must be a Sigstore bundle (a JSON object)`);
  return parseBundle(JSON.stringify(value), what);
}

function failure(error: unknown): { code: string; message: string } {
  if (isCustodyError(error)) return { code: error.code, message: error.message.slice(0, 1000) };
  return { code: 'INTERNAL', message: 'verification failed unexpectedly' };
}

/** Verifies an OMS signature bundle against the project's keys and the version's manifest; records the outcome. */
async function verifySignature(bundleJson: string, keys: readonly PublicKeyInfo[], manifest: VersionManifest, createdBy: string): Promise<AttachmentInput> {
  const base = { kind: 'signature' as const, predicateType: 'https://model_signing/signature/v1.0', bundle: bundleJson, createdBy };
  try {
    if (keys.length === 0) throw new CustodyError('KEY_UNTRUSTED', 'the project trusts no key yet (custody project trust-key)');
    const { payload, payloadType, signer } = await verifyEnvelope(parseBundle(bundleJson), createKeyVerifier(keys));
    const signed = parseOmsStatement(parseStatement(payloadType, payload));
    if (!digestEquals(signed.rootDigest, manifest.digest)) throw new CustodyError('SUBJECT_MISMATCH', `the signature is for ${signed.rootDigest}, not this version (${manifest.digest})`);
    const diff = diffResources(signed.resources, manifest.resources, manifest.serialization.method === 'shards');
    if (diff.modified.length + diff.added.length + diff.removed.length + diff.renamed.length > 0) throw new CustodyError('MANIFEST_MISMATCH', 'the signed manifest lists other files than this version');
    return { ...base, verified: true, result: JSON.stringify({ signer }) };
  } catch (error) {
    return { ...base, verified: false, result: JSON.stringify({ error: failure(error) }) };
  }
}

/** Verifies an attestation (any in-toto predicate) about the version against the project's keys; records the outcome. */
async function verifyAttestationBundle(bundleJson: string, keys: readonly PublicKeyInfo[], digest: string, createdBy: string): Promise<AttachmentInput> {
  const bundle = parseBundle(bundleJson);
  let predicateType = 'unknown';
  try {
    predicateType = parseStatement(bundle.dsseEnvelope.payloadType, Buffer.from(bundle.dsseEnvelope.payload, 'base64')).predicateType.slice(0, 200);
  } catch {
    // recorded below as unverified
  }
  const base = { kind: 'attestation' as const, predicateType, bundle: bundleJson, createdBy };
  try {
    if (keys.length === 0) throw new CustodyError('KEY_UNTRUSTED', 'the project trusts no key yet (custody project trust-key)');
    const { payload, payloadType, signer } = await verifyEnvelope(bundle, createKeyVerifier(keys));
    const statement = parseStatement(payloadType, payload);
    if (!statement.subject.some((s) => typeof s.digest?.['sha256'] === 'string' && digestEquals(s.digest['sha256'], digest))) {
      throw new CustodyError('SUBJECT_MISMATCH', `no subject of the attestation is this version (${digest})`);
    }
    return { ...base, predicateType: statement.predicateType.slice(0, 200), verified: true, result: JSON.stringify({ signer }) };
  } catch (error) {
    return { ...base, verified: false, result: JSON.stringify({ error: failure(error) }) };
  }
}
