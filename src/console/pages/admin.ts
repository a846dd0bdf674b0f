import type { FastifyInstance } from 'fastify';
import { CustodyError, isCustodyError } from '../../core/errors.js';
import { isRecord } from '../../core/json.js';
import type { TokenFinding } from '../../registry/hygiene.js';
import type { ConsoleServices } from '../app.js';
import { clip, formatTime, html, type SafeHtml } from '../html.js';
import { csrfField, page } from '../layout.js';

/**
 * Tokens (everyone sees and revokes their own; server admins see every token and the credential
 * hygiene report) and accounts (server admins: create, disable). Each form calls the domain function
 * the API route calls; the registry decides.
 */
const field = (body: unknown, name: string): string => {
  const value = isRecord(body) ? body[name] : undefined;
  return typeof value === 'string' ? value : '';
};

const TTLS: Record<string, number> = { '1h': 3600, '1d': 86400, '7d': 7 * 86400, '30d': 30 * 86400 };

function findingsTable(title: string, list: readonly TokenFinding[]): SafeHtml {
  if (list.length === 0) return html`<h3>${title}: none</h3>`;
  return html`<h3>${title}: ${list.length}</h3><table><thead><tr><th scope="col">Token</th><th scope="col">Account</th><th scope="col">Scope</th><th scope="col">Last used</th><th scope="col">Why</th></tr></thead><tbody>${list.map((t) => html`<tr><td><code>${t.id}</code></td><td>${t.account}</td><td>${t.project ?? 'every project'}${t.actions ? ` · ${t.actions.join(', ')}` : ''}</td><td>${formatTime(t.lastUsedAt)}</td><td>${t.why}</td></tr>`)}</tbody></table>`;
}

export function registerAdminPages(scope: FastifyInstance, s: ConsoleServices): void {
  const { registry } = s.options;
  const session = { console: 'session' as const, public: true };

  scope.get('/tokens', { config: { ...session, action: 'token.list' } }, async (request, reply) => {
    const pc = s.pageContext(request);
    const tokens = await registry.listTokens(pc.ctx);
    const now = Date.now();
    const report = pc.viewer.serverAdmin ? await registry.tokenReport(pc.ctx) : undefined;
    const rows = tokens.map((t) => {
      const live = t.revokedAt === null && Date.parse(t.expiresAt) > now;
      return html`<tr><td><code>${t.id}</code>${t.id === pc.principal.token.id ? html` <span class="hint">(this session)</span>` : ''}</td><td>${t.account}</td><td>${t.project ?? 'every project'}${t.actions ? html`<br><span class="hint">${t.actions.join(', ')}</span>` : ''}</td><td>${clip(t.description, 200)}</td><td>${formatTime(t.createdAt)} by ${t.createdBy}</td><td>${t.revokedAt ? `revoked ${formatTime(t.revokedAt)}` : live ? `until ${formatTime(t.expiresAt)}` : `expired ${formatTime(t.expiresAt)}`}</td><td>${formatTime(t.lastUsedAt)}</td>
<td>${live ? html`<form method="post" action="${`/console/tokens/${encodeURIComponent(t.id)}/revoke`}">${csrfField(pc.viewer.csrf)}<button type="submit" class="secondary" aria-label="${`Revoke token ${t.id}`}">Revoke</button></form>` : ''}</td></tr>`;
    });
    const body = html`<section aria-labelledby="tok-h"><h2 id="tok-h">${pc.viewer.serverAdmin ? 'Every token' : 'Your tokens'} (${tokens.length})</h2>
<div class="scroll-x"><table class="tokens"><thead><tr><th scope="col">Id</th><th scope="col">Account</th><th scope="col">Scope</th><th scope="col">Description</th><th scope="col">Created</th><th scope="col">Lifetime</th><th scope="col">Last use</th><th scope="col"><span class="visually-hidden">Actions</span></th></tr></thead><tbody>${rows}</tbody></table></div></section>
<section aria-labelledby="new-h"><h2 id="new-h">Create a token</h2><form method="post" action="/console/tokens" class="card">${csrfField(pc.viewer.csrf)}
<p><label for="t-account">For account</label><br><input id="t-account" name="account" value="${pc.viewer.account}" required maxlength="64"></p>
<p><label for="t-project">Only for project (empty: every project the account has a role in)</label><br><input id="t-project" name="project" maxlength="64"></p>
<p><label for="t-ttl">Lifetime</label><br><select id="t-ttl" name="ttl">${Object.keys(TTLS).map((k) => html`<option value="${k}"${k === '1d' ? html` selected` : ''}>${k}</option>`)}</select></p>
<p><label for="t-desc">Description</label><br><input id="t-desc" name="description" maxlength="200" size="40"></p>
<p><button type="submit">Create</button></p></form></section>
${report ? html`<section aria-labelledby="hyg-h"><h2 id="hyg-h">Credential hygiene (${report.summary.findings} finding${report.summary.findings === 1 ? '' : 's'} over ${report.summary.liveTokens} live tokens)</h2>
${findingsTable(`Unused for ${report.options.unusedDays} days`, report.unused)}
${findingsTable(`Living longer than ${report.options.maxLifetimeDays} days`, report.longLived)}
${findingsTable('Reaching every project or every action', report.broad)}
${findingsTable('Of disabled accounts', report.disabledAccounts)}
${report.unusedRights.length === 0 ? html`<h3>Service accounts with unused rights: none</h3>` : html`<h3>Service accounts with unused rights: ${report.unusedRights.length}</h3><ul>${report.unusedRights.map((u) => html`<li>${u.account} in ${u.project} (${u.role}): never used ${u.unusedActions.join(', ')}</li>`)}</ul>`}
</section>` : ''}`;
    return s.sendPage(reply, page({ title: 'Tokens', viewer: pc.viewer, crumbs: [{ label: 'Projects', href: '/console/' }, { label: 'Tokens' }], ...(pc.flash ? { flash: pc.flash } : {}), body }));
  });

  scope.post<{ Body: Record<string, string> }>('/tokens', { config: { ...session, action: 'token.create' } }, async (request, reply) => {
    const pc = s.pageContext(request);
    const ttl = TTLS[field(request.body, 'ttl')];
    if (ttl === undefined) throw new CustodyError('REQUEST_INVALID', 'choose a lifetime from the list');
    const project = field(request.body, 'project').trim();
    try {
      const created = await registry.createToken(pc.ctx, { account: field(request.body, 'account').trim(), ...(project === '' ? {} : { project }), ttlSeconds: ttl, description: field(request.body, 'description').slice(0, 200) });
      s.flash(request, { kind: 'ok', text: `Token ${created.id} created for ${created.account}, valid until ${formatTime(created.expiresAt)}.`, secret: created.token });
    } catch (error) {
      if (!isCustodyError(error) || error.code === 'UNAUTHENTICATED') throw error;
      pc.ctx.event.error = error.code;
      s.flash(request, { kind: 'error', text: `No token was created (${error.code}): ${error.message}` });
    }
    return s.redirect(reply, '/console/tokens');
  });

  scope.post<{ Params: { id: string } }>('/tokens/:id/revoke', { config: { ...session, action: 'token.revoke' } }, async (request, reply) => {
    const pc = s.pageContext(request);
    const id = request.params.id.slice(0, 64);
    try {
      await registry.revokeToken(pc.ctx, id);
      s.sessions.endByToken(id);
      s.flash(request, { kind: 'ok', text: `Token ${id} is revoked.` });
    } catch (error) {
      if (!isCustodyError(error) || error.code === 'UNAUTHENTICATED') throw error;
      pc.ctx.event.error = error.code;
      s.flash(request, { kind: 'error', text: `Token ${id} was not revoked (${error.code}): ${error.message}` });
    }
    return s.redirect(reply, '/console/tokens');
  });

  scope.get('/accounts', { config: { ...session, action: 'account.list' } }, async (request, reply) => {
    const pc = s.pageContext(request);
    const accounts = await registry.listAccounts(pc.ctx);
    const body = html`<table><thead><tr><th scope="col">Account</th><th scope="col">Kind</th><th scope="col">Server admin</th><th scope="col">Password</th><th scope="col">Created</th><th scope="col"><span class="visually-hidden">Actions</span></th></tr></thead><tbody>${accounts.map(
      (a) => html`<tr><td>${a.name}</td><td>${a.kind}</td><td>${a.serverAdmin ? 'yes' : 'no'}</td><td>${a.hasPassword ? 'set' : '—'}</td><td>${formatTime(a.createdAt)}</td><td>${a.name === pc.viewer.account ? '' : html`<form method="post" action="${`/console/accounts/${encodeURIComponent(a.name)}/disable`}">${csrfField(pc.viewer.csrf)}<button type="submit" class="secondary" aria-label="${`Disable account ${a.name}`}">Disable</button></form>`}</td></tr>`,
    )}</tbody></table>
<section aria-labelledby="acc-h"><h2 id="acc-h">Create an account</h2><form method="post" action="/console/accounts" class="card">${csrfField(pc.viewer.csrf)}
<p><label for="a-name">Name</label><br><input id="a-name" name="name" required maxlength="64" pattern="[a-z0-9][a-z0-9._\\-]*"></p>
<p><label for="a-kind">Kind</label><br><select id="a-kind" name="kind"><option value="user">user (a person)</option><option value="service">service (a pipeline; tokens only)</option></select></p>
<p><label for="a-password">Password (people; leave empty for token-only)</label><br><input id="a-password" name="password" type="password" autocomplete="new-password" maxlength="1024"></p>
<p><input id="a-admin" name="serverAdmin" type="checkbox" value="yes"> <label for="a-admin">Server admin</label></p>
<p><button type="submit">Create</button></p></form></section>`;
    return s.sendPage(reply, page({ title: 'Accounts', viewer: pc.viewer, crumbs: [{ label: 'Projects', href: '/console/' }, { label: 'Accounts' }], ...(pc.flash ? { flash: pc.flash } : {}), body }));
  });

  scope.post<{ Body: Record<string, string> }>('/accounts', { config: { ...session, action: 'account.create' } }, async (request, reply) => {
    const pc = s.pageContext(request);
    const kind = field(request.body, 'kind') === 'service' ? 'service' : 'user';
    const password = field(request.body, 'password');
    try {
      const created = await registry.createAccount(pc.ctx, { name: field(request.body, 'name').trim(), kind, ...(password === '' ? {} : { password }), ...(field(request.body, 'serverAdmin') === 'yes' ? { serverAdmin: true } : {}) });
      s.flash(request, { kind: 'ok', text: `Account ${created.name} (${created.kind}) created.` });
    } catch (error) {
      if (!isCustodyError(error) || error.code === 'UNAUTHENTICATED') throw error;
      pc.ctx.event.error = error.code;
      s.flash(request, { kind: 'error', text: `No account was created (${error.code}): ${error.message}` });
    }
    return s.redirect(reply, '/console/accounts');
  });

  scope.post<{ Params: { name: string } }>('/accounts/:name/disable', { config: { ...session, action: 'account.disable' } }, async (request, reply) => {
    const pc = s.pageContext(request);
    try {
      await registry.disableAccount(pc.ctx, request.params.name.slice(0, 64));
      s.flash(request, { kind: 'ok', text: `Account ${request.params.name.slice(0, 64)} is disabled: its tokens no longer authenticate.` });
    } catch (error) {
      if (!isCustodyError(error) || error.code === 'UNAUTHENTICATED') throw error;
      pc.ctx.event.error = error.code;
      s.flash(request, { kind: 'error', text: `Not disabled (${error.code}): ${error.message}` });
    }
    return s.redirect(reply, '/console/accounts');
  });
}
