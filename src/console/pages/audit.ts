import type { FastifyInstance } from 'fastify';
import { CustodyError } from '../../core/errors.js';
import { isRecord } from '../../core/json.js';
import type { ConsoleServices } from '../app.js';
import { clip, formatTime, html, query, shortDigest } from '../html.js';
import { page } from '../layout.js';

/**
 * The audit trail: newest first, filtered by identity, resource, action, decision and time. The
 * filter walks back from a cursor over a bounded window of entries per page (WINDOW), so a page costs
 * the same with a million entries; "Older" continues where the walk stopped. Each entry shown ships
 * its leaf, its inclusion proof against the latest signed checkpoint, the checkpoint and the log's
 * verifier key; static/verify.js recomputes the root (RFC 6962) and checks the Ed25519 signature with
 * WebCrypto, in the browser, and says verified or failed for each row.
 */
export const AUDIT_PAGE = 50;
export const AUDIT_WINDOW = 10_000;
const READ = 1000;

interface Filters {
  account?: string;
  project?: string;
  resource?: string;
  action?: string;
  decision?: string;
  since?: string;
  until?: string;
  before?: string;
}

function entryOf(leaf: string): Record<string, unknown> | undefined {
  try {
    const parsed = JSON.parse(leaf) as unknown;
    return isRecord(parsed) && isRecord(parsed['entry']) ? parsed['entry'] : undefined;
  } catch {
    return undefined;
  }
}

function str(v: unknown): string {
  return typeof v === 'string' ? v : '';
}

export function matchesFilters(entry: Record<string, unknown>, f: Filters, times: { since?: string; until?: string }): boolean {
  const actor = isRecord(entry['actor']) ? entry['actor'] : {};
  const target = isRecord(entry['target']) ? entry['target'] : {};
  if (f.account && str(actor['account']) !== f.account) return false;
  if (f.project && str(target['project']) !== f.project) return false;
  if (f.action && str(entry['action']) !== f.action) return false;
  if (f.decision && str(entry['decision']) !== f.decision) return false;
  if (f.resource) {
    const r = f.resource;
    if (![str(target['artifact']), str(target['version']), str(target['file']), str(target['subject']), str(target['tokenId'])].some((x) => x !== '' && (x === r || (r.length >= 8 && x.startsWith(r))))) return false;
  }
  const time = str(entry['time']);
  if (times.since && time < times.since) return false;
  if (times.until && time > times.until) return false;
  return true;
}

function isoOrUndefined(text: string | undefined, what: string): string | undefined {
  if (text === undefined || text === '') return undefined;
  const ms = Date.parse(text);
  if (!Number.isFinite(ms)) throw new CustodyError('REQUEST_INVALID', `${what} must be a date and time (e.g. 2026-05-01T12:00)`);
  return new Date(ms).toISOString();
}

export function registerAuditPage(scope: FastifyInstance, s: ConsoleServices): void {
  const { registry, audit } = s.options;

  scope.get<{ Querystring: Filters }>('/audit', { config: { console: 'session', public: true, action: 'audit.read' } }, async (request, reply) => {
    const pc = s.pageContext(request);
    registry.check(pc.ctx, 'audit.read');
    const f: Filters = {};
    for (const key of ['account', 'project', 'resource', 'action', 'decision', 'since', 'until', 'before'] as const) {
      const value = request.query[key];
      if (typeof value === 'string' && value !== '') f[key] = value.slice(0, 128);
    }
    const times = { ...(f.since ? { since: isoOrUndefined(f.since, 'since') as string } : {}), ...(f.until ? { until: isoOrUndefined(f.until, 'until') as string } : {}) };
    const { size, note } = await audit.checkpoint();
    let end = f.before !== undefined && /^\d{1,15}$/.test(f.before) ? Math.min(Number(f.before), size) : size;
    const stop = Math.max(0, end - AUDIT_WINDOW);
    const found: { index: number; leaf: string; entry: Record<string, unknown> }[] = [];
    while (end > stop && found.length < AUDIT_PAGE) {
      const start = Math.max(stop, end - READ);
      const rows = await audit.leaves(start, end);
      for (let i = rows.length - 1; i >= 0 && found.length < AUDIT_PAGE; i--) {
        const row = rows[i];
        if (!row) continue;
        end = row.index;
        const entry = entryOf(row.leaf);
        if (entry && matchesFilters(entry, f, times)) found.push({ index: row.index, leaf: row.leaf, entry });
      }
      if (found.length < AUDIT_PAGE) end = start;
    }
    const proofs = await Promise.all(found.map((e) => audit.inclusionProof(e.index, size)));
    const [origin, , root] = note.split('\n');
    const rows = found.map((e, i) => {
      const entry = e.entry;
      const actor = isRecord(entry['actor']) ? entry['actor'] : {};
      const target = isRecord(entry['target']) ? entry['target'] : {};
      const who = actor['account'] !== undefined ? str(actor['account']) : `anonymous (${str(actor['anonymous'])})`;
      const what = [target['project'], target['artifact']].filter((x) => typeof x === 'string').join('/') + (typeof target['version'] === 'string' ? `@${shortDigest(target['version'])}` : '');
      const extra = [target['subject'] ? `account ${str(target['subject'])}` : '', target['tokenId'] ? `token ${str(target['tokenId'])}` : '', target['file'] ? `file ${str(target['file'])}` : ''].filter(Boolean).join(', ');
      const detail = entry['detail'] === undefined ? '' : JSON.stringify(entry['detail']);
      const proof = proofs[i];
      return html`<tr class="entry" data-index="${e.index}" data-leaf="${Buffer.from(proof?.leaf ?? e.leaf, 'utf8').toString('base64')}" data-proof="${(proof?.proof ?? []).join(',')}">
<td>${e.index}</td><td>${formatTime(str(entry['time']))}</td><td>${who}</td><td><code>${str(entry['action'])}</code></td><td class="${`decision ${str(entry['decision'])}`}">${str(entry['decision'])}</td>
<td>${what}${extra ? html`<br><span class="hint">${extra}</span>` : ''}</td>
<td>${str(entry['method'])} <code>${clip(str(entry['route']), 80)}</code> → ${String(entry['status'] ?? '')}${entry['error'] ? html`<br><code>${str(entry['error'])}</code>` : ''}</td>
<td class="why">${clip(str(entry['reason']), 300)}${detail ? html`<details><summary>detail</summary><pre>${clip(detail, 4000)}</pre></details>` : ''}</td>
<td class="proof"><span class="proof-status" aria-live="polite">needs JavaScript (or <code>custody audit verify</code>)</span> <button type="button" class="reverify" aria-label="${`Verify the proof of entry ${e.index} again`}">Verify</button></td></tr>`;
    });
    const olderCursor = end > 0 ? end : undefined;
    const keep = { ...f };
    delete keep.before;
    const filterField = (name: keyof Filters, label: string, hint = '') => html`<p><label for="${`f-${name}`}">${label}</label><br><input id="${`f-${name}`}" name="${name}" value="${f[name] ?? ''}" maxlength="128"${hint ? html` placeholder="${hint}"` : ''}></p>`;
    const body = html`<form method="get" action="/console/audit" class="filters" aria-label="Filter the audit trail">
${filterField('account', 'Identity (account)')}
${filterField('resource', 'Resource (artifact, version digest, token id, account)')}
${filterField('project', 'Project')}
${filterField('action', 'Action', 'version.promote')}
<p><label for="f-decision">Decision</label><br><select id="f-decision" name="decision"><option value="">any</option>${['allow', 'deny', 'none'].map((d) => html`<option value="${d}"${f.decision === d ? html` selected` : ''}>${d}</option>`)}</select></p>
${filterField('since', 'Since', '2026-05-01T00:00')}
${filterField('until', 'Until', '2026-05-02T00:00')}
<p><button type="submit">Filter</button> <a href="/console/audit">Clear</a></p></form>
<div id="proofs" data-checkpoint="${Buffer.from(note, 'utf8').toString('base64')}" data-vkey="${audit.verifierKey}" data-size="${size}">
<p>Latest signed checkpoint: log <code>${origin ?? ''}</code>, <strong>${size}</strong> entries, root <code>${root ?? ''}</code>; verifier key <code class="vkey">${audit.verifierKey}</code>. <span id="checkpoint-status" aria-live="polite"></span></p>
<p class="hint">Searched entries ${end}–${Math.min(size, f.before !== undefined && /^\d{1,15}$/.test(f.before) ? Number(f.before) : size) - 1}${found.length === 0 ? ': nothing matched' : ''}. Each proof is checked in this browser against the checkpoint and the key above; compare the key with the one your operator published.</p>
</div>
<table class="audit"><thead><tr><th scope="col">#</th><th scope="col">Time</th><th scope="col">Who</th><th scope="col">Action</th><th scope="col">Decision</th><th scope="col">Resource</th><th scope="col">Request</th><th scope="col">Reason</th><th scope="col">Inclusion proof</th></tr></thead><tbody>${rows}</tbody></table>
${olderCursor !== undefined ? html`<nav class="pager" aria-label="Pages"><a rel="next" href="${`/console/audit${query({ ...keep, before: olderCursor })}`}">Older entries</a></nav>` : ''}`;
    return s.sendPage(reply, page({ title: 'Audit trail', viewer: pc.viewer, crumbs: [{ label: 'Projects', href: '/console/' }, { label: 'Audit trail' }], body, scripts: ['/console/static/verify.js'] }));
  });
}
