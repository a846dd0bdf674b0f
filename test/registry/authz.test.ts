import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ACTION_NAMES, ACTIONS, authorize, ROLE_ACTIONS, ROLES, type Action, type Principal, type Role } from '../../src/registry/authz.js';

function principal(options: { role?: Role; project?: string; models?: string[] | null; serverAdmin?: boolean; kind?: 'user' | 'service'; tokenProject?: string | null; tokenActions?: Action[] | null; expiresAt?: number; name?: string } = {}): Principal {
  const grants = new Map();
  if (options.role) grants.set(options.project ?? 'p', { role: options.role, models: options.models ?? null });
  return {
    account: { id: 1, name: options.name ?? 'alice', kind: options.kind ?? 'user', serverAdmin: options.serverAdmin ?? false },
    grants,
    token: { id: 'tok-1', project: options.tokenProject ?? null, actions: options.tokenActions ?? null, expiresAt: options.expiresAt ?? 2_000_000_000_000 },
  };
}

describe('authorize', () => {
  it('denies by default: an anonymous caller gets 401 for every non-public action, and nothing is public but health, the API document and login', () => {
    for (const action of ACTION_NAMES) {
      const decision = authorize({ anonymous: 'no token' }, action, { project: 'p' });
      if (ACTIONS[action] === 'public') assert.equal(decision.allow, true, action);
      else assert.deepEqual([decision.allow, !decision.allow && decision.status], [false, 401], action);
    }
    assert.deepEqual(ACTION_NAMES.filter((a) => ACTIONS[a] === 'public').sort(), ['server.health', 'server.openapi', 'session.login']);
  });

  it('gives each role exactly its project actions, only in its project', () => {
    for (const role of ROLES) {
      for (const action of ACTION_NAMES.filter((a) => ACTIONS[a] === 'project')) {
        const target = { project: 'p', artifact: { kind: 'model' as const, name: 'm' } };
        assert.equal(authorize(principal({ role }), action, target).allow, ROLE_ACTIONS[role].includes(action), `${role} ${action}`);
        assert.equal(authorize(principal({ role }), action, { ...target, project: 'q' }).allow, false, `${role} ${action} in another project`);
      }
    }
  });

  it('lets a trainer push models only, and only the named ones when narrowed', () => {
    const trainer = principal({ role: 'trainer', kind: 'service', models: ['m'] });
    assert.equal(authorize(trainer, 'version.push', { project: 'p', artifact: { kind: 'model', name: 'm' } }).allow, true);
    assert.equal(authorize(trainer, 'version.push', { project: 'p', artifact: { kind: 'model', name: 'n' } }).allow, false);
    assert.equal(authorize(trainer, 'version.push', { project: 'p', artifact: { kind: 'dataset', name: 'm' } }).allow, false);
    assert.equal(authorize(trainer, 'artifact.read', { project: 'p', artifact: { kind: 'model', name: 'm' } }).allow, false);
    assert.equal(authorize(trainer, 'version.archive', { project: 'p', artifact: { kind: 'model', name: 'm' } }).allow, false);
  });

  it('narrows every caller, server admins included, to the token scope', () => {
    const scoped = principal({ serverAdmin: true, tokenProject: 'p', tokenActions: ['artifact.read', 'artifact.download'] });
    assert.equal(authorize(scoped, 'artifact.read', { project: 'p' }).allow, true);
    assert.equal(authorize(scoped, 'artifact.read', { project: 'q' }).allow, false, 'other project');
    assert.equal(authorize(scoped, 'version.push', { project: 'p', artifact: { kind: 'model', name: 'm' } }).allow, false, 'action outside the scope');
    assert.equal(authorize(principal({ serverAdmin: true, tokenProject: 'p' }), 'project.create', { project: 'x' }).allow, false, 'project-scoped token, server action');
    assert.equal(authorize(scoped, 'audit.checkpoint').allow, true, 'any valid token checks the log');
  });

  it('never lets a token mint a broader or longer-lived one', () => {
    const me = { name: 'alice', kind: 'user' as const };
    const narrow = principal({ role: 'viewer', tokenProject: 'p', tokenActions: ['artifact.read', 'token.create'], expiresAt: 1000 });
    assert.equal(authorize(principal({ role: 'viewer', tokenActions: ['artifact.read'] }), 'token.create', { account: me, scope: { project: null, actions: ['artifact.read'] } }).allow, false, 'a token without token.create mints none');
    assert.equal(authorize(narrow, 'token.create', { account: me, scope: { project: 'p', actions: ['artifact.read'], expiresAt: 900 } }).allow, true);
    assert.equal(authorize(narrow, 'token.create', { account: me, scope: { project: null, actions: ['artifact.read'], expiresAt: 900 } }).allow, false, 'unscoped from scoped');
    assert.equal(authorize(narrow, 'token.create', { account: me, scope: { project: 'p', actions: null, expiresAt: 900 } }).allow, false, 'all actions from some');
    assert.equal(authorize(narrow, 'token.create', { account: me, scope: { project: 'p', actions: ['artifact.read'], expiresAt: 1001 } }).allow, false, 'outliving its maker');
    assert.equal(authorize(principal({ role: 'viewer' }), 'token.create', { account: { name: 'bob', kind: 'user' }, scope: { project: null, actions: null } }).allow, false, "another account's token");
  });

  it('lets a project admin mint and revoke tokens of service accounts scoped to that project only', () => {
    const admin = principal({ role: 'admin' });
    const svc = { name: 'ci', kind: 'service' as const };
    assert.equal(authorize(admin, 'token.create', { account: svc, scope: { project: 'p', actions: null } }).allow, true);
    assert.equal(authorize(admin, 'token.create', { account: svc, scope: { project: 'q', actions: null } }).allow, false);
    assert.equal(authorize(admin, 'token.create', { account: svc, scope: { project: null, actions: null } }).allow, false);
    assert.equal(authorize(admin, 'token.create', { account: { name: 'bob', kind: 'user' }, scope: { project: 'p', actions: null } }).allow, false);
    assert.equal(authorize(admin, 'token.revoke', { account: svc, scope: { project: 'p', actions: null } }).allow, true);
    assert.equal(authorize(admin, 'token.revoke', { account: svc, scope: { project: 'q', actions: null } }).allow, false);
  });
});

describe('the roles table in docs/registry.md', () => {
  it('says exactly what ROLE_ACTIONS grants', async () => {
    const { readFileSync } = await import('node:fs');
    const doc = readFileSync('docs/registry.md', 'utf8');
    const rows = [...doc.matchAll(/^\| [^|]*\(`([a-z.-]+)`\) \|(.*)\|$/gm)];
    assert.ok(rows.length >= 8, 'the table has a row per project action');
    const documented = new Set<string>();
    for (const [, action, cells] of rows) {
      const columns = (cells ?? '').split('|').map((c) => c.trim() !== '');
      const [viewer, contributor, trainer, approver, admin, server] = columns;
      const row: Record<Role, boolean | undefined> = { viewer, contributor, trainer, approver, admin };
      for (const role of ROLES) assert.equal(row[role], ROLE_ACTIONS[role].includes(action as Action), `${action} for ${role}`);
      assert.equal(server, true, `${action}: server admins may`);
      documented.add(action as string);
    }
    for (const action of ACTION_NAMES.filter((a) => ACTIONS[a] === 'project')) assert.ok(documented.has(action), `docs/registry.md has no row for ${action}`);
  });
});
