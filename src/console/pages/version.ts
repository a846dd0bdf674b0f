import type { FastifyInstance, FastifyRequest } from 'fastify';
import { CustodyError, isCustodyError } from '../../core/errors.js';
import { isRecord } from '../../core/json.js';
import { readSlsaProvenance } from '../../integrity/provenance-read.js';
import { SLSA_PROVENANCE_V1 } from '../../integrity/provenance.js';
import { parseStatement } from '../../integrity/statement.js';
import { authorize } from '../../registry/authz.js';
import { EVALUATION_PREDICATE_TYPE, readEvaluationMetrics } from '../../registry/evaluation.js';
import type { Evaluation } from '../../registry/gates.js';
import type { GraphNode } from '../../registry/lineage.js';
import { ALIAS_NAME, meetsThreshold as meets, type MetricThreshold, type Policy } from '../../registry/policy.js';
import { refusalFlash, type ConsoleServices, type PageContext } from '../app.js';
import { clip, consolePath, formatTime, html, shortDigest, type SafeHtml } from '../html.js';
import { csrfField, page } from '../layout.js';
import { lineageSvg } from '../lineage-svg.js';
import { kindOf } from './browse.js';
import { metricBarsSvg, stageBadge, timelineSvg, verdict, type MetricBar, type TimelineEvent } from './parts.js';

type Params = { project: string; kind: string; name: string; version: string };

const DIGEST = /^[0-9a-f]{64}$/;

function statementOf(bundle: unknown): { predicateType: string; predicate: unknown; statement: ReturnType<typeof parseStatement> } | undefined {
  try {
    if (!isRecord(bundle) || !isRecord(bundle['dsseEnvelope'])) return undefined;
    const env = bundle['dsseEnvelope'];
    const statement = parseStatement(String(env['payloadType']), Buffer.from(String(env['payload']), 'base64'));
    return { predicateType: statement.predicateType, predicate: statement.predicate, statement };
  } catch {
    return undefined;
  }
}

function checklist(evaluations: readonly Evaluation[], target: string): SafeHtml {
  const passed = evaluations.length > 0 && evaluations.every((e) => e.passed);
  const missing = evaluations.flatMap((e) => e.requirements.filter((r) => !r.passed));
  return html`<section class="checklist ${passed ? 'passed' : 'blocked'}" aria-labelledby="${`check-${target}`}">
<h3 id="${`check-${target}`}">To ${target}: ${passed ? html`<span class="ok">every requirement is met</span>` : html`<span class="bad">blocked — ${missing.length} requirement${missing.length === 1 ? '' : 's'} missing</span>`}</h3>
${evaluations.map((e) => html`${evaluations.length > 1 ? html`<p class="hop">Step to ${e.target}</p>` : ''}<ul class="reqs">${e.requirements.map((r) => html`<li class="${r.passed ? 'req-ok' : 'req-missing'}">${verdict(r.passed)} <strong>${r.id}</strong>: ${r.reason}</li>`)}</ul>`)}
</section>`;
}

function targetOptions(policy: Policy, stage: string): string[] {
  const order = ['candidate', 'staging', 'production'];
  const stages = ['staging', 'production'].filter((t) => order.indexOf(t) > order.indexOf(stage));
  return [...stages, ...Object.keys(policy.aliases).filter((a) => ALIAS_NAME.test(a))];
}

function versionHref(project: string, kindSegment: string, name: string, version: string): string {
  return `${consolePath('p', project, kindSegment, name)}/v/${version}`;
}

export function registerVersionPages(scope: FastifyInstance, s: ConsoleServices): void {
  const { registry } = s.options;
  const gov = registry.governance;
  const session = { console: 'session' as const, public: true };

  async function render(pc: PageContext, p: Params): Promise<string> {
    const kind = kindOf(p.kind);
    if (!DIGEST.test(p.version)) throw new CustodyError('NOT_FOUND', 'a version id is its 64-character root digest');
    const v = await registry.showVersion(pc.ctx, p.project, kind, p.name, p.version);
    const project = await registry.showProject(pc.ctx, p.project).catch((error: unknown) => {
      if (isCustodyError(error, 'FORBIDDEN')) return undefined;
      throw error;
    });
    const owners = new Map((project?.keys ?? []).map((k) => [k.hint, k.owner] as const));
    const base = versionHref(p.project, p.kind, p.name, p.version);
    const can = (action: 'version.promote' | 'version.approve' | 'version.force') => authorize(pc.principal, action, { project: p.project, artifact: { kind, name: p.name } }).allow;

    // Evidence from the attachments (each re-read from its bundle; the registry's verdicts are shown as recorded).
    const signatures = v.attachments.filter((a) => a.kind === 'signature');
    const attestations = v.attachments.filter((a) => a.kind === 'attestation');
    const statements = (v.bundles.attestations ?? []).map(statementOf);
    const provenance = statements.map((st, i) => ({ st, a: attestations[i] })).filter((x) => x.st?.predicateType === SLSA_PROVENANCE_V1);
    const evaluations = statements.map((st, i) => ({ st, a: attestations[i] })).filter((x) => x.st?.predicateType === EVALUATION_PREDICATE_TYPE);
    const others = statements.map((st, i) => ({ st, a: attestations[i] })).filter((x) => x.st?.predicateType !== SLSA_PROVENANCE_V1 && x.st?.predicateType !== EVALUATION_PREDICATE_TYPE);

    const sigSection = html`<section aria-labelledby="sig-h"><h2 id="sig-h">Signature</h2>${
      signatures.length === 0
        ? html`<p class="bad">No signature was attached.</p>`
        : html`<table><thead><tr><th scope="col">Verdict</th><th scope="col">Key</th><th scope="col">Key held by</th><th scope="col">Attached</th></tr></thead><tbody>${signatures.map((a) => html`<tr><td>${a.verified ? html`<span class="ok">verified</span>` : html`<span class="bad">does not verify</span>${a.error ? html` <code>${a.error.code}</code> ${clip(a.error.message, 300)}` : ''}`}</td><td>${a.keyHint ? html`<code>${a.keyHint}</code>` : '—'}</td><td>${a.keyHint ? (owners.get(a.keyHint) ?? 'not recorded') : '—'}</td><td>${formatTime(a.createdAt)} by ${a.createdBy}</td></tr>`)}</tbody></table>`
    }</section>`;

    // Registered dataset versions, to link a provenance's materials to their pages.
    let graphNodes: GraphNode[] = [];
    if (provenance.length > 0) {
      graphNodes = (await registry.lineage(pc.ctx, p.project, kind, p.name, p.version)).nodes;
    }
    const registered = new Map(graphNodes.filter((n) => n.kind === 'version' && n.digest).map((n) => [n.digest as string, n] as const));
    const provSection = html`<section aria-labelledby="prov-h"><h2 id="prov-h">Provenance</h2>${
      provenance.length === 0
        ? html`<p class="bad">No SLSA provenance was attached.</p>`
        : provenance.map(({ st, a }) => {
            let facts;
            try {
              facts = st ? readSlsaProvenance(st.statement) : undefined;
            } catch {
              facts = undefined;
            }
            if (!facts) return html`<p class="bad">An unreadable provenance was attached.</p>`;
            return html`<dl class="facts">
<dt>Verdict</dt><dd>${a?.verified ? html`<span class="ok">signed by a trusted key</span>` : html`<span class="bad">not verified</span>${a?.error ? ` (${a.error.code})` : ''}`}</dd>
<dt>Builder</dt><dd><code>${clip(facts.builderId, 300)}</code> <a href="/console/impact?kind=builder&amp;ref=${encodeURIComponent(facts.builderId)}">blast radius</a></dd>
${facts.materials.map((m) => {
  const sha = m.digest['sha256'];
  const commit = m.digest['gitCommit'];
  const reg = typeof sha === 'string' ? registered.get(sha) : undefined;
  const label = m.name || m.uri || m.role;
  if (commit !== undefined || m.role === 'source') return html`<dt>Code</dt><dd><code>${clip(m.uri, 300)}</code>${commit ? html` commit <code>${clip(commit, 64)}</code>` : ''}</dd>`;
  return html`<dt>${m.role === 'dataset' ? 'Training data' : m.role}</dt><dd>${reg && reg.project && reg.name ? html`<a href="${versionHref(reg.project, reg.artifactKind === 'model' ? 'models' : 'datasets', reg.name, reg.digest ?? '')}">${reg.project}/${reg.name}@${shortDigest(reg.digest ?? '')}</a> (${clip(label, 120)})` : html`${clip(label, 200)} ${typeof sha === 'string' ? html`<code>sha256:${shortDigest(sha)}</code> (not registered here)` : ''}`}</dd>`;
})}
</dl>`;
          })
    }</section>`;

    // Policy: thresholds of the stages, the evaluation's metrics against them.
    const policy = kind === 'model' ? await gov.showPolicy(pc.ctx, p.project) : undefined;
    const metrics = new Map<string, number>();
    for (const { st } of evaluations) {
      try {
        for (const [k, val] of Object.entries(readEvaluationMetrics(st?.predicate))) metrics.set(k, val);
      } catch {
        // an unreadable evaluation shows no metric
      }
    }
    const thresholds: { stage: string; t: MetricThreshold }[] = [];
    if (policy) for (const stage of ['staging', 'production'] as const) for (const t of policy.policy.stages[stage].evaluation?.metrics ?? []) thresholds.push({ stage, t });
    const bars: MetricBar[] = thresholds.map(({ t }) => ({ threshold: t, value: metrics.get(t.metric), passed: metrics.has(t.metric) && meets(metrics.get(t.metric) as number, t) }));
    const evalSection = html`<section aria-labelledby="eval-h"><h2 id="eval-h">Evaluation</h2>${
      evaluations.length === 0 ? html`<p>No evaluation attestation was attached.</p>` : html`<p>${evaluations.map(({ a }) => (a?.verified ? html`<span class="ok">signed evaluation</span> ` : html`<span class="bad">unverified evaluation</span> `))}</p>`
    }
${metricBarsSvg(bars)}
${thresholds.length + metrics.size === 0 ? '' : html`<table><thead><tr><th scope="col">Metric</th><th scope="col">Value</th><th scope="col">Policy</th><th scope="col">Verdict</th></tr></thead><tbody>${thresholds.map(({ stage, t }) => html`<tr><td>${t.metric}</td><td>${metrics.get(t.metric) ?? 'none'}</td><td>${stage}: ${t.op} ${t.value}</td><td>${verdict(metrics.has(t.metric) && meets(metrics.get(t.metric) as number, t))}</td></tr>`)}${[...metrics.entries()].filter(([k]) => !thresholds.some((x) => x.t.metric === k)).map(([k, val]) => html`<tr><td>${k}</td><td>${val}</td><td>—</td><td>—</td></tr>`)}</tbody></table>`}</section>`;

    const otherSection = others.length === 0 ? html`` : html`<section aria-labelledby="other-h"><h2 id="other-h">Data checks and other attestations</h2><ul>${others.map(({ st, a }) => html`<li><code>${clip(st?.predicateType ?? a?.predicateType ?? 'unreadable', 160)}</code>: ${a?.verified ? html`<span class="ok">verified</span>` : html`<span class="bad">not verified</span>`}${isRecord(st?.predicate) && typeof (st?.predicate as Record<string, unknown>)['result'] === 'string' ? html` — result ${clip(String((st?.predicate as Record<string, unknown>)['result']), 40)}` : ''}</li>`)}</ul></section>`;

    const findings = v.scan.findings;
    const scanSection = html`<section aria-labelledby="scan-h"><h2 id="scan-h">Server-side scan</h2><p>Status <strong>${v.scan.status}</strong>${v.scan.result ? html`, result <strong>${v.scan.result}</strong>` : ''}${findings.length > 0 ? `, ${findings.length} finding${findings.length === 1 ? '' : 's'}` : ''}.</p>
${findings.length === 0 ? '' : html`<table class="findings"><thead><tr><th scope="col">Severity</th><th scope="col">Rule</th><th scope="col">Where</th><th scope="col">What</th></tr></thead><tbody>${findings.slice(0, 500).map((f) => {
  const rec = f as unknown as Record<string, unknown>;
  const where = `${String(rec['path'] ?? '')}${rec['member'] ? `!${String(rec['member'])}` : ''}`;
  return html`<tr class="finding"><td><span class="${`sev ${/^[a-z]+$/.test(String(rec['severity'])) ? String(rec['severity']) : 'info'}`}">${String(rec['severity'] ?? '')}</span></td><td><code>${String(rec['ruleId'] ?? '')}</code></td><td><code>${clip(where, 300)}</code></td><td>${clip(String(rec['message'] ?? ''), 600)}</td></tr>`;
})}</tbody></table>`}</section>`;

    // Governance: the checklist per target, approvals, stage history, actions.
    let govSection = html``;
    if (kind === 'model' && policy) {
      const targets = v.status === 'archived' ? [] : targetOptions(policy.policy, v.stage);
      const checks: SafeHtml[] = [];
      for (const target of targets.filter((t) => t === 'staging' || t === 'production')) {
        const tested = await gov.testPolicy(pc.ctx, p.project, p.name, p.version, target);
        checks.push(checklist(tested.evaluations, target));
      }
      const approvals = await gov.listApprovals(pc.ctx, p.project, p.name, p.version);
      const promotions = await gov.promotionsOf(pc.ctx, p.project, p.name, p.version);
      const events: TimelineEvent[] = [{ at: v.createdAt, label: 'pushed (candidate)', detail: `by ${v.createdBy}` }, ...promotions.map((pr) => ({ at: pr.at, label: `${pr.forced ? 'forced to' : 'to'} ${pr.target}`, detail: `from ${pr.fromStage}, requested by ${pr.requestedBy}${pr.forced ? `, break-glass: ${pr.reason}` : ''}`, forced: pr.forced }))];
      const canPromote = can('version.promote') && targets.length > 0;
      const canApprove = can('version.approve') && targets.length > 0;
      const canForce = pc.viewer.serverAdmin && can('version.force') && targets.length > 0 && policy.policy.breakGlass === 'allowed';
      const options = targets.map((t) => html`<option value="${t}">${t}</option>`);
      govSection = html`<section aria-labelledby="gate-h"><h2 id="gate-h">What the policy asks (policy version ${policy.version})</h2>${checks.length > 0 ? checks : html`<p>No further stage to reach.</p>`}</section>
${canPromote || canApprove || canForce ? html`<section aria-labelledby="act-h" class="actions"><h2 id="act-h">Decide</h2><div class="cards">
${canApprove ? html`<form class="card" method="post" action="${`${base}/approve`}">${csrfField(pc.viewer.csrf)}<h3>Approve or reject</h3>
<p><label for="approve-to">For</label> <select id="approve-to" name="to">${options}</select></p>
<p><label for="approve-comment">Comment</label><br><textarea id="approve-comment" name="comment" rows="3" cols="40" maxlength="2000"></textarea></p>
<p><button type="submit" name="decision" value="approve">Approve</button> <button type="submit" name="decision" value="reject" class="secondary">Reject</button></p></form>` : ''}
${canPromote ? html`<form class="card" method="post" action="${`${base}/promote`}">${csrfField(pc.viewer.csrf)}<h3>Promote</h3>
<p><label for="promote-to">To</label> <select id="promote-to" name="to">${options}</select></p>
<p class="hint">The policy is evaluated again when you press the button; the move happens only if every requirement is met.</p>
<p><button type="submit" id="promote-button">Promote</button></p></form>` : ''}
${canForce ? html`<form class="card breakglass" method="post" action="${`${base}/force`}">${csrfField(pc.viewer.csrf)}<h3>Break-glass (server admins)</h3>
<p><label for="force-to">To</label> <select id="force-to" name="to">${options}</select></p>
<p><label for="force-reason">Written reason (kept in the audit log, the version is marked forced everywhere)</label><br><textarea id="force-reason" name="reason" rows="2" cols="40" minlength="10" maxlength="2000" required></textarea></p>
<p><button type="submit" class="danger">Force the promotion</button></p></form>` : ''}
</div></section>` : ''}
<section aria-labelledby="appr-h"><h2 id="appr-h">Approvals</h2>${approvals.length === 0 ? html`<p>None yet.</p>` : html`<table class="approvals"><thead><tr><th scope="col">Who</th><th scope="col">Decision</th><th scope="col">For</th><th scope="col">Comment</th><th scope="col">Policy</th><th scope="col">When</th></tr></thead><tbody>${approvals.map((a) => html`<tr><td>${a.account}</td><td>${a.decision === 'approve' ? html`<span class="ok">approved</span>` : html`<span class="bad">rejected</span>`}</td><td>${a.target}</td><td class="comment">${clip(a.comment, 2000)}</td><td>v${a.policyVersion}${a.policyVersion !== policy.version ? ' (another policy version: does not count)' : ''}</td><td>${formatTime(a.createdAt)}</td></tr>`)}</tbody></table>`}</section>
<section aria-labelledby="hist-h"><h2 id="hist-h">Stage history</h2>${timelineSvg(events)}<ol class="history">${events.map((e) => html`<li>${formatTime(e.at)} — ${e.label} (${e.detail})</li>`)}</ol></section>`;
    }

    const files = v.fileList;
    const body = html`<dl class="facts summary">
<dt>Version</dt><dd><code class="digest">${v.version}</code></dd>
<dt>Stage</dt><dd>${stageBadge(v.stage, v.forced)}${v.aliases.length > 0 ? html` · aliases ${v.aliases.join(', ')}` : ''}${v.status === 'archived' ? ' · archived' : ''}</dd>
<dt>Pushed</dt><dd>${formatTime(v.createdAt)} by ${v.createdBy}</dd>
<dt>Content</dt><dd>${v.files} file${v.files === 1 ? '' : 's'}, ${v.bytes.toLocaleString('en')} bytes</dd>
</dl>
<p><a href="${`${base}/lineage`}">Lineage graph</a> · <a href="/console/impact?kind=${kind}&amp;project=${encodeURIComponent(p.project)}&amp;name=${encodeURIComponent(p.name)}&amp;ref=${v.version}">What was made from it</a></p>
${govSection}
${sigSection}
${provSection}
${evalSection}
${otherSection}
${scanSection}
<section aria-labelledby="files-h"><h2 id="files-h">Files</h2><table><thead><tr><th scope="col">Name</th><th scope="col">Size</th><th scope="col">SHA-256</th></tr></thead><tbody>${files.slice(0, 200).map((f) => html`<tr><td><code>${clip(f.name, 300)}</code></td><td>${f.size}</td><td><code>${shortDigest(f.sha256)}</code></td></tr>`)}</tbody></table>${files.length > 200 ? html`<p class="hint">${files.length - 200} more not shown.</p>` : ''}</section>`;
    return page({
      title: `${p.project}/${p.name}@${shortDigest(p.version)}`,
      viewer: pc.viewer,
      crumbs: [{ label: 'Projects', href: '/console/' }, { label: p.project, href: consolePath('p', p.project) }, { label: p.name, href: consolePath('p', p.project, p.kind, p.name) }, { label: shortDigest(p.version) }],
      ...(pc.flash ? { flash: pc.flash } : {}),
      body,
    });
  }

  scope.get<{ Params: Params }>('/p/:project/:kind/:name/v/:version', { config: { ...session, action: 'artifact.read' } }, async (request, reply) => {
    return s.sendPage(reply, await render(s.pageContext(request), request.params));
  });

  scope.get<{ Params: Params }>('/p/:project/:kind/:name/v/:version/lineage', { config: { ...session, action: 'artifact.read' } }, async (request, reply) => {
    const pc = s.pageContext(request);
    const p = request.params;
    const kind = kindOf(p.kind);
    if (!DIGEST.test(p.version)) throw new CustodyError('NOT_FOUND', 'a version id is its 64-character root digest');
    const graph = await registry.lineage(pc.ctx, p.project, kind, p.name, p.version);
    const href = (n: GraphNode): string | undefined => (n.kind === 'version' && n.project && n.name && n.digest ? versionHref(n.project, n.artifactKind === 'dataset' ? 'datasets' : 'models', n.name, n.digest) : undefined);
    const upstream = graph.nodes.filter((n) => n.id !== graph.root);
    const body = html`<p>Upstream of this version: what it was made from, as its provenance and signatures say. Data on the left, the run in the middle, versions and the stages they are in now on the right.${graph.truncated ? ' The walk stopped at its bound: there is more.' : ''}</p>
${lineageSvg(graph, href)}
<h2>The same as a table</h2>
<table><thead><tr><th scope="col">Kind</th><th scope="col">Node</th><th scope="col">Stage</th></tr></thead><tbody>${upstream.map((n) => {
  const link = href(n);
  return html`<tr><td>${n.kind === 'version' ? `${n.artifactKind ?? ''} version` : n.kind}</td><td>${link ? html`<a href="${link}">${n.label}</a>` : html`<code>${clip(n.label, 300)}</code>`}</td><td>${n.stage ? stageBadge(n.stage, n.forced === true) : '—'}</td></tr>`;
})}</tbody></table>`;
    return s.sendPage(reply, page({ title: `Lineage of ${p.project}/${p.name}@${shortDigest(p.version)}`, viewer: pc.viewer, crumbs: [{ label: 'Projects', href: '/console/' }, { label: p.project, href: consolePath('p', p.project) }, { label: p.name, href: consolePath('p', p.project, p.kind, p.name) }, { label: shortDigest(p.version), href: versionHref(p.project, p.kind, p.name, p.version) }, { label: 'lineage' }], body }));
  });

  const back = (request: FastifyRequest<{ Params: Params }>) => versionHref(request.params.project, request.params.kind, request.params.name, request.params.version);
  const requireModel = (p: Params): void => {
    if (p.kind !== 'models' || !DIGEST.test(p.version)) throw new CustodyError('NOT_FOUND', 'only model versions are promoted');
  };
  const field = (body: unknown, name: string): string => {
    const value = isRecord(body) ? body[name] : undefined;
    return typeof value === 'string' ? value : '';
  };
  const target = (body: unknown): string => {
    const to = field(body, 'to');
    if (!ALIAS_NAME.test(to)) throw new CustodyError('REQUEST_INVALID', 'choose a stage or alias to move the version to');
    return to;
  };

  scope.post<{ Params: Params; Body: Record<string, string> }>('/p/:project/:kind/:name/v/:version/promote', { config: { ...session, action: 'version.promote' } }, async (request, reply) => {
    const pc = s.pageContext(request);
    const p = request.params;
    requireModel(p);
    const to = target(request.body);
    try {
      const outcome = await gov.promote(pc.ctx, { project: p.project, name: p.name, digest: p.version, target: to });
      s.flash(request, { kind: 'ok', text: `Promoted to ${outcome.target}${outcome.displaced.length > 0 ? `; it displaced ${outcome.displaced.map(shortDigest).join(', ')}` : ''}.` });
    } catch (error) {
      if (!isCustodyError(error) || error.code === 'UNAUTHENTICATED' || error.code === 'FORBIDDEN') throw error;
      pc.ctx.event.error = error.code;
      s.flash(request, refusalFlash(error, 'Promotion'));
    }
    return s.redirect(reply, back(request));
  });

  scope.post<{ Params: Params; Body: Record<string, string> }>('/p/:project/:kind/:name/v/:version/approve', { config: { ...session, action: 'version.approve' } }, async (request, reply) => {
    const pc = s.pageContext(request);
    const p = request.params;
    requireModel(p);
    const to = target(request.body);
    const decision = field(request.body, 'decision') === 'reject' ? 'reject' : 'approve';
    const comment = field(request.body, 'comment').slice(0, 2000);
    try {
      await gov.decide(pc.ctx, { project: p.project, name: p.name, digest: p.version, target: to, decision, ...(comment === '' ? {} : { comment }) });
      s.flash(request, { kind: 'ok', text: `Your ${decision === 'approve' ? 'approval' : 'rejection'} for ${to} is recorded (signed, and in the audit log).` });
    } catch (error) {
      if (!isCustodyError(error) || error.code === 'UNAUTHENTICATED') throw error;
      pc.ctx.event.error = error.code;
      s.flash(request, refusalFlash(error, decision === 'approve' ? 'Approval' : 'Rejection'));
    }
    return s.redirect(reply, back(request));
  });

  scope.post<{ Params: Params; Body: Record<string, string> }>('/p/:project/:kind/:name/v/:version/force', { config: { ...session, action: 'version.force' } }, async (request, reply) => {
    const pc = s.pageContext(request);
    const p = request.params;
    requireModel(p);
    const to = target(request.body);
    try {
      await gov.promote(pc.ctx, { project: p.project, name: p.name, digest: p.version, target: to, breakGlass: field(request.body, 'reason').slice(0, 2000) });
      s.flash(request, { kind: 'ok', text: `Forced to ${to}. The version is marked forced and the reason is in the audit log.` });
    } catch (error) {
      if (!isCustodyError(error) || error.code === 'UNAUTHENTICATED' || error.code === 'FORBIDDEN') throw error;
      pc.ctx.event.error = error.code;
      s.flash(request, refusalFlash(error, 'Break-glass promotion'));
    }
    return s.redirect(reply, back(request));
  });
}
