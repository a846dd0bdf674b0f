import type { FastifyInstance } from 'fastify';
import { CustodyError } from '../../core/errors.js';
import { authorize } from '../../registry/authz.js';
import { EDGE_KINDS, type EdgeKind } from '../../registry/lineage.js';
import type { ArtifactKind } from '../../registry/names.js';
import type { Policy, Requirements } from '../../registry/policy.js';
import { listVersionPage, MAX_VERSION_PAGE, type VersionPage } from '../../registry/version-page.js';
import type { ConsoleServices } from '../app.js';
import { clip, consolePath, formatTime, html, query, shortDigest, type SafeHtml } from '../html.js';
import { page } from '../layout.js';
import { stageBadge } from './parts.js';

const KIND_OF: Record<string, ArtifactKind> = { models: 'model', datasets: 'dataset' };
export const PAGE_SIZE = 50;

export function kindOf(segment: string): ArtifactKind {
  const kind = KIND_OF[segment];
  if (!kind) throw new CustodyError('NOT_FOUND', 'no such page');
  return kind;
}

export function requirementsSummary(r: Requirements): string[] {
  const out: string[] = [];
  if (r.signatures) out.push(`signed by ${r.signatures.min} trusted key${r.signatures.min === 1 ? '' : 's'}${r.signatures.keys ? ` among ${r.signatures.keys.join(', ')}` : ''}`);
  if (r.provenance) out.push(`SLSA provenance${r.provenance.builders ? ` from ${r.provenance.builders.join(', ')}` : ''}${r.provenance.requireDatasets ? ', trained on registered datasets' : ''}`);
  if (r.scan) out.push(`server scan: nothing at or above ${r.scan.failOn}${r.scan.rules.length > 0 ? `, none of ${r.scan.rules.join(', ')}` : ''}`);
  if (r.evaluation) out.push(`evaluation: ${r.evaluation.metrics.map((m) => `${m.metric} ${m.op} ${m.value}`).join(', ')}`);
  if (r.approvals) out.push(`${r.approvals.min} approval${r.approvals.min === 1 ? '' : 's'} by another person`);
  if (r.maxAgeSeconds !== undefined) out.push(`evidence at most ${Math.round(r.maxAgeSeconds / 3600)} h old`);
  return out;
}

function policySection(policy: { version: number; status: string; policy: Policy }): SafeHtml {
  const stages = (['staging', 'production'] as const).map((stage) => {
    const rules = policy.policy.stages[stage];
    const list = requirementsSummary(rules);
    return html`<li><strong>${stage}</strong>: ${list.length === 0 ? 'no requirement' : list.join('; ')}${rules.maxVersions === null ? '' : ` (holds at most ${rules.maxVersions})`}</li>`;
  });
  return html`<section aria-labelledby="policy-h"><h2 id="policy-h">Promotion policy (version ${policy.version === 0 ? '0, the default' : policy.version}, ${policy.status})</h2><ul>${stages}</ul>
<p class="hint">Break-glass is ${policy.policy.breakGlass}. A change of this policy needs ${policy.policy.changeApprovals} approval(s).</p></section>`;
}

function pager(base: string, p: VersionPage, size: number): SafeHtml {
  if (p.total <= size) return html``;
  const prev = p.offset > 0 ? html`<a href="${base}${query({ offset: Math.max(0, p.offset - size) })}" rel="prev">Newer</a>` : '';
  const next = p.offset + size < p.total ? html`<a href="${base}${query({ offset: p.offset + size })}" rel="next">Older</a>` : '';
  return html`<nav class="pager" aria-label="Pages">${prev} <span>Versions ${p.offset + 1}–${Math.min(p.total, p.offset + p.versions.length)} of ${p.total}</span> ${next}</nav>`;
}

function severityText(by: Record<string, number> | null, status: string): string {
  if (!by) return status;
  const parts = ['critical', 'high', 'medium', 'low'].filter((s) => (by[s] ?? 0) > 0).map((s) => `${by[s]} ${s}`);
  return parts.length === 0 ? 'clean' : parts.join(', ');
}

export function registerBrowsePages(scope: FastifyInstance, s: ConsoleServices): void {
  const { registry, store } = s.options;
  const session = { console: 'session' as const, public: true };

  scope.get('/', { config: { ...session, action: 'project.list' } }, async (request, reply) => {
    const pc = s.pageContext(request);
    const projects = await registry.listProjects(pc.ctx);
    const body = projects.length === 0
      ? html`<p>You can see no project yet. ${pc.viewer.serverAdmin ? 'Create one with custody project create NAME.' : 'Ask an admin for a role in one.'}</p>`
      : html`<table><caption class="visually-hidden">Projects you can see</caption><thead><tr><th scope="col">Project</th><th scope="col">Your role</th><th scope="col">Created</th></tr></thead><tbody>
${projects.map((p) => html`<tr><td><a href="${consolePath('p', p.name)}">${p.name}</a></td><td>${p.role ?? '—'}</td><td>${formatTime(p.createdAt)}</td></tr>`)}
</tbody></table>`;
    return s.sendPage(reply, page({ title: 'Projects', viewer: pc.viewer, ...(pc.flash ? { flash: pc.flash } : {}), body }));
  });

  scope.get<{ Params: { project: string } }>('/p/:project', { config: { ...session, action: 'project.read' } }, async (request, reply) => {
    const pc = s.pageContext(request);
    const name = request.params.project;
    const project = await registry.showProject(pc.ctx, name);
    const models = await registry.listArtifacts(pc.ctx, name, 'model');
    const datasets = await registry.listArtifacts(pc.ctx, name, 'dataset');
    const policy = await registry.governance.showPolicy(pc.ctx, name);
    const list = (kind: 'models' | 'datasets', items: typeof models) =>
      items.length === 0
        ? html`<p>None yet.</p>`
        : html`<table><thead><tr><th scope="col">Name</th><th scope="col">Versions</th><th scope="col">Latest push</th></tr></thead><tbody>${items.map((a) => html`<tr><td><a href="${consolePath('p', name, kind, a.name)}">${a.name}</a></td><td>${a.versions}</td><td>${formatTime(a.latest)}</td></tr>`)}</tbody></table>`;
    const body = html`<section aria-labelledby="models-h"><h2 id="models-h">Models</h2>${list('models', models)}</section>
<section aria-labelledby="datasets-h"><h2 id="datasets-h">Datasets</h2>${list('datasets', datasets)}</section>
${policySection(policy)}
<section aria-labelledby="members-h"><h2 id="members-h">Members</h2><table><thead><tr><th scope="col">Account</th><th scope="col">Kind</th><th scope="col">Role</th></tr></thead><tbody>${project.members.map((m) => html`<tr><td>${m.account}</td><td>${m.kind}</td><td>${m.role}${m.models ? ` (models: ${m.models.join(', ')})` : ''}</td></tr>`)}</tbody></table></section>
<section aria-labelledby="keys-h"><h2 id="keys-h">Trusted signing keys</h2>${project.keys.length === 0 ? html`<p>None: no version can be verified as signed.</p>` : html`<table><thead><tr><th scope="col">Key</th><th scope="col">Type</th><th scope="col">Held by</th><th scope="col">Added</th></tr></thead><tbody>${project.keys.map((k) => html`<tr><td><code>${k.hint}</code> <a href="/console/impact${query({ kind: 'key', ref: k.hint })}">blast radius</a></td><td>${k.keyType}</td><td>${k.owner ?? 'not recorded'}</td><td>${formatTime(k.addedAt)} by ${k.addedBy}</td></tr>`)}</tbody></table>`}</section>`;
    return s.sendPage(reply, page({ title: `Project ${name}`, viewer: pc.viewer, crumbs: [{ label: 'Projects', href: '/console/' }, { label: name }], ...(pc.flash ? { flash: pc.flash } : {}), body }));
  });

  scope.get<{ Params: { project: string; kind: string; name: string }; Querystring: { offset?: string } }>('/p/:project/:kind/:name', { config: { ...session, action: 'artifact.read' } }, async (request, reply) => {
    const pc = s.pageContext(request);
    const { project, name } = request.params;
    const kind = kindOf(request.params.kind);
    const offset = Math.max(0, Number.parseInt(request.query.offset ?? '0', 10) || 0);
    let versions: VersionPage;
    if (store) versions = await listVersionPage(registry, store, pc.ctx, { project, kind, name, offset, limit: PAGE_SIZE });
    else {
      const all = await registry.listVersions(pc.ctx, project, kind, name);
      const at = Math.min(offset, Math.max(0, all.length - 1));
      versions = {
        total: all.length,
        offset: at,
        versions: all.slice(at, at + Math.min(PAGE_SIZE, MAX_VERSION_PAGE)).map((v) => ({ version: v.version, createdAt: v.createdAt, createdBy: v.createdBy, status: v.status, stage: v.stage, forced: v.forced, aliases: v.aliases, signed: v.signed, signers: [], scanStatus: v.scan.status, bySeverity: v.scan.bySeverity })),
      };
    }
    const base = consolePath('p', project, request.params.kind, name);
    const rows = versions.versions.map(
      (v) => html`<tr><td><a href="${`${base}/v/${v.version}`}"><code>${shortDigest(v.version)}</code></a></td><td>${stageBadge(v.stage, v.forced)}${v.status === 'archived' ? ' archived' : ''}</td><td>${v.aliases.length > 0 ? v.aliases.join(', ') : '—'}</td><td>${v.signed ? html`<span class="ok">signed</span>${v.signers.length > 0 ? html` <code>${v.signers.map((h) => clip(h, 16)).join(', ')}</code>` : ''}` : html`<span class="bad">unsigned</span>`}</td><td>${severityText(v.bySeverity, v.scanStatus)}</td><td>${v.createdBy}</td><td>${formatTime(v.createdAt)}</td></tr>`,
    );
    const body = html`<p>${versions.total} version${versions.total === 1 ? '' : 's'}, newest first. The id of a version is the root digest of its files.</p>
${pager(base, versions, PAGE_SIZE)}
<table class="versions"><thead><tr><th scope="col">Version</th><th scope="col">Stage</th><th scope="col">Aliases</th><th scope="col">Signature</th><th scope="col">Server scan</th><th scope="col">Pushed by</th><th scope="col">Pushed</th></tr></thead><tbody>${rows}</tbody></table>
${pager(base, versions, PAGE_SIZE)}`;
    return s.sendPage(reply, page({ title: `${kind === 'model' ? 'Model' : 'Dataset'} ${project}/${name}`, viewer: pc.viewer, crumbs: [{ label: 'Projects', href: '/console/' }, { label: project, href: consolePath('p', project) }, { label: name }], ...(pc.flash ? { flash: pc.flash } : {}), body }));
  });

  scope.get<{ Querystring: { kind?: string; ref?: string; project?: string; name?: string } }>('/impact', { config: { ...session, action: 'artifact.read' } }, async (request, reply) => {
    const pc = s.pageContext(request);
    const q = request.query;
    const kinds = EDGE_KINDS.filter((k) => k !== 'model' && k !== 'account');
    const form = html`<form method="get" action="/console/impact" class="filters">
<p><label for="kind">What was compromised</label><br><select id="kind" name="kind">${kinds.map((k) => html`<option value="${k}"${q.kind === k ? html` selected` : ''}>${k}</option>`)}</select></p>
<p><label for="ref">Which one (dataset version digest, key hint, builder id, token id)</label><br><input id="ref" name="ref" value="${q.ref ?? ''}" size="50" maxlength="512"></p>
<p><label for="iproject">Project (datasets)</label><br><input id="iproject" name="project" value="${q.project ?? ''}" maxlength="64"></p>
<p><label for="iname">Dataset name (datasets)</label><br><input id="iname" name="name" value="${q.name ?? ''}" maxlength="64"></p>
<p><button type="submit">Show what it reaches</button></p></form>`;
    let result = html``;
    if (q.kind !== undefined && q.ref !== undefined && q.ref !== '') {
      if (!(EDGE_KINDS as readonly string[]).includes(q.kind)) throw new CustodyError('REQUEST_INVALID', 'unknown kind');
      const impact = await registry.impact(pc.ctx, { kind: q.kind as EdgeKind, ref: q.ref.slice(0, 512), ...(q.project ? { project: q.project } : {}), ...(q.name ? { name: q.name } : {}) });
      const canRead = (project: string) => authorize(pc.principal, 'artifact.read', { project }).allow;
      result = html`<section aria-labelledby="impact-h"><h2 id="impact-h">${impact.versions.length} version${impact.versions.length === 1 ? '' : 's'} downstream${impact.truncated ? ' (stopped at the bound; there are more)' : ''}</h2>
${impact.versions.length === 0 ? html`<p>Nothing you can see was made from it.</p>` : html`<table><thead><tr><th scope="col">Version</th><th scope="col">Stage now</th><th scope="col">Hops</th><th scope="col">Through</th></tr></thead><tbody>${impact.versions.slice(0, 500).map((v) => html`<tr class="${v.stage === 'production' ? 'hot' : ''}"><td>${canRead(v.project) ? html`<a href="${`${consolePath('p', v.project, v.kind === 'model' ? 'models' : 'datasets', v.name)}/v/${v.version}`}">${v.project}/${v.name}@${shortDigest(v.version)}</a>` : `${v.project}/${v.name}`}</td><td>${stageBadge(v.stage, v.forced)}</td><td>${v.depth}</td><td>${clip(v.via, 120)}</td></tr>`)}</tbody></table>`}
${impact.versions.length > 500 ? html`<p class="hint">The first 500 are shown; custody impact lists them all.</p>` : ''}</section>`;
    }
    return s.sendPage(reply, page({ title: 'Blast radius', viewer: pc.viewer, crumbs: [{ label: 'Projects', href: '/console/' }, { label: 'Blast radius' }], body: html`<p>Everything made from a dataset version, a signing key, a builder or a token — and where it runs now.</p>${form}${result}` }));
  });
}
