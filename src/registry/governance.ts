import { createHash } from 'node:crypto';
import { CustodyError } from '../core/errors.js';
import { parseBundle, serializeBundle } from '../integrity/bundle.js';
import { signStatement } from '../integrity/attest.js';
import { loadPublicKey, type PrivateKeyInfo, type PublicKeyInfo } from '../integrity/keys.js';
import { createKeySigner } from '../integrity/signer.js';
import { buildStatement } from '../integrity/statement.js';
import { signVsa, VSA_PREDICATE_TYPE } from '../integrity/vsa.js';
import type { ApprovalRecord, AttachmentRecord, MetadataStore, PolicyRecord, VersionRecord } from '../store/metadata.js';
import type { Action, Principal, Target } from './authz.js';
import { evaluateRequirements, manifestOfVersion, type DatasetLookup, type Evaluation, type RequirementResult } from './gates.js';
import { DEFAULT_POLICY, digestPolicy, isStage, parsePolicy, requirementsOf, STAGES, stageRank, vsaLevel, type Policy, type Stage } from './policy.js';
import type { RequestContext } from './registry.js';

/** Predicate of an approval (or rejection) the registry signs and logs. */
export const APPROVAL_PREDICATE_TYPE = 'https://github.com/custody-dev/custody/blob/main/docs/governance.md#approval-v1';
export const VERIFIER_ID = 'https://github.com/custody-dev/custody/blob/main/docs/governance.md#registry-verifier';

export interface ActivePolicy {
  policy: Policy;
  version: number;
  digest: string;
  record: PolicyRecord | undefined;
}

export interface GovernanceDeps {
  store: MetadataStore;
  check(ctx: RequestContext, action: Action, target?: Target): Principal | undefined;
  /** The registry's key: signs VSAs and approvals. */
  vsaKey: PrivateKeyInfo;
  /** The key that signs the server's scan attestations. */
  attestationKey: PrivateKeyInfo;
  toolVersion: string;
  now: () => number;
}

export interface PromotionOutcome {
  promoted: boolean;
  project: string;
  name: string;
  version: string;
  target: string;
  fromStage: string;
  forced: boolean;
  policy: { version: number; digest: string };
  evaluations: Evaluation[];
  /** The signed VSA (a Sigstore bundle) when promoted. */
  vsa: unknown;
  displaced: string[];
}

export interface ApprovalView {
  id: number;
  target: string;
  account: string;
  decision: 'approve' | 'reject';
  comment: string;
  policyVersion: number;
  createdAt: string;
  bundle: unknown;
}

const sha256 = (text: string): string => createHash('sha256').update(text, 'utf8').digest('hex');
const MAX_COMMENT = 2000;

export function approvalView(a: ApprovalRecord): ApprovalView {
  return { id: a.id, target: a.target, account: a.account, decision: a.decision, comment: a.comment, policyVersion: a.policyVersion, createdAt: new Date(a.createdAt).toISOString(), bundle: JSON.parse(a.bundle) as unknown };
}

/**
 * Promotion gates: stages, aliases, versioned policies changed only through approval, approvals
 * bound to a version, a target and a policy version, promotions that record a signed VSA, and
 * break-glass. Every operation authorizes through the registry's `check` (authorize()) first.
 */
export class Governance {
  private readonly store: MetadataStore;
  readonly vsaPublicKey: PublicKeyInfo;

  constructor(private readonly deps: GovernanceDeps) {
    this.store = deps.store;
    this.vsaPublicKey = deps.vsaKey.publicKey;
  }

  private async requireProject(name: string): Promise<{ id: number; name: string }> {
    const project = await this.store.findProject(name);
    if (!project) throw new CustodyError('NOT_FOUND', `no project named ${name}`);
    return project;
  }

  async activePolicy(projectId: number): Promise<ActivePolicy> {
    const record = await this.store.activePolicy(projectId);
    if (!record) return { policy: DEFAULT_POLICY, version: 0, digest: digestPolicy(DEFAULT_POLICY), record: undefined };
    return { policy: parsePolicy(record.document), version: record.version, digest: record.digest, record };
  }

  private async keysOf(projectId: number): Promise<{ keys: PublicKeyInfo[]; owners: Map<string, string> }> {
    const rows = await this.store.listTrustedKeys(projectId);
    const owners = new Map<string, string>();
    for (const r of rows) if (r.owner) owners.set(r.hint, r.owner);
    return { keys: rows.map((k) => loadPublicKey(k.pem, `trusted key ${k.hint.slice(0, 16)}`)), owners };
  }

  private async requireModelVersion(project: string, name: string, digest: string): Promise<VersionRecord> {
    const version = await this.store.findVersionByName(project, 'model', name, digest);
    if (!version) throw new CustodyError('NOT_FOUND', `no version ${digest} of model ${project}/${name}`);
    return version;
  }

  private async sign(statement: ReturnType<typeof buildStatement>): Promise<string> {
    return serializeBundle(await signStatement(statement, createKeySigner(this.deps.vsaKey)));
  }

  // ------------------------------------------------------------------------------------------------
  // policies

  async showPolicy(ctx: RequestContext, project: string, version?: number): Promise<{ project: string; version: number; digest: string; status: string; document: string | null; policy: Policy; createdBy: string | null; createdAt: string | null; decisions: { account: string; decision: string; comment: string; at: string }[] }> {
    this.deps.check(ctx, 'policy.read', { project });
    const p = await this.requireProject(project);
    if (version === undefined || version === 0) {
      const active = await this.activePolicy(p.id);
      if (version === 0 || !active.record) return { project, version: 0, digest: digestPolicy(DEFAULT_POLICY), status: active.record ? 'superseded' : 'active', document: null, policy: DEFAULT_POLICY, createdBy: null, createdAt: null, decisions: [] };
      version = active.version;
    }
    const record = await this.store.findPolicy(p.id, version);
    if (!record) throw new CustodyError('NOT_FOUND', `project ${project} has no policy version ${version}`);
    const decisions = (await this.store.listPolicyDecisions(record.id)).map((d) => ({ account: d.account, decision: d.decision, comment: d.comment, at: new Date(d.createdAt).toISOString() }));
    return { project, version: record.version, digest: record.digest, status: record.status, document: record.document, policy: parsePolicy(record.document), createdBy: record.createdBy, createdAt: new Date(record.createdAt).toISOString(), decisions };
  }

  async listPolicies(ctx: RequestContext, project: string): Promise<{ version: number; digest: string; status: string; createdBy: string; createdAt: string; comment: string }[]> {
    this.deps.check(ctx, 'policy.read', { project });
    const p = await this.requireProject(project);
    return (await this.store.listPolicies(p.id)).map((r) => ({ version: r.version, digest: r.digest, status: r.status, createdBy: r.createdBy, createdAt: new Date(r.createdAt).toISOString(), comment: r.comment }));
  }

  /** Proposes a new policy version; it becomes active only when approved (policy.approve) by others. */
  async proposePolicy(ctx: RequestContext, project: string, document: string, comment = ''): Promise<{ version: number; digest: string; status: string; approvalsNeeded: number }> {
    const actor = this.deps.check(ctx, 'policy.update', { project });
    const p = await this.requireProject(project);
    const policy = parsePolicy(document);
    const digest = digestPolicy(policy);
    const record = await this.store.insertPolicy({ projectId: p.id, document, digest, comment: comment.slice(0, MAX_COMMENT), createdBy: actor?.account.name ?? '?', at: this.deps.now() });
    const current = await this.activePolicy(p.id);
    ctx.event.detail = { policyVersion: record.version, policyDigest: digest, outcome: 'proposed' };
    return { version: record.version, digest, status: record.status, approvalsNeeded: current.policy.changeApprovals };
  }

  /** Approves or rejects a proposed policy; enough approvals (the active policy's `changes.approvals`) activate it. */
  async decidePolicy(ctx: RequestContext, project: string, version: number, decision: 'approve' | 'reject', comment = ''): Promise<{ version: number; status: string; approvals: number; approvalsNeeded: number }> {
    const p = await this.requireProject(project);
    const record = await this.store.findPolicy(p.id, version);
    const actor = this.deps.check(ctx, 'policy.approve', { project, excluded: record ? [{ account: record.createdBy, why: `the proposer of policy version ${version}` }] : [] });
    if (!record) throw new CustodyError('NOT_FOUND', `project ${project} has no policy version ${version}`);
    if (record.status !== 'proposed') throw new CustodyError('CONFLICT', `policy version ${version} is ${record.status}, not awaiting a decision`);
    const now = this.deps.now();
    const account = actor?.account.name ?? '?';
    const tokenId = actor?.token.id ?? '?';
    const bundle = await this.sign(
      buildStatement([{ name: `policy:${project}@v${version}`, digest: { sha256: record.digest } }], APPROVAL_PREDICATE_TYPE, { project, target: `policy@v${version}`, decision, approver: account, token: tokenId, comment: comment.slice(0, MAX_COMMENT), time: new Date(now).toISOString() }),
    );
    await this.store.recordPolicyDecision({ policyId: record.id, account, tokenId, decision, comment: comment.slice(0, MAX_COMMENT), createdAt: now });
    const current = await this.activePolicy(p.id);
    const decisions = await this.store.listPolicyDecisions(record.id);
    const approvals = decisions.filter((d) => d.decision === 'approve' && d.account !== record.createdBy).length;
    let status: string = record.status;
    if (decision === 'reject') {
      await this.store.rejectPolicy(record.id, now);
      status = 'rejected';
    } else if (approvals >= current.policy.changeApprovals) {
      if (await this.store.activatePolicy(record.id, p.id, now)) status = 'active';
    }
    ctx.event.detail = { policyVersion: version, policyDigest: record.digest, outcome: status, decision, signedDecision: signedSummary(bundle) };
    return { version, status, approvals, approvalsNeeded: current.policy.changeApprovals };
  }

  // ------------------------------------------------------------------------------------------------
  // evaluation

  private async findMaterial(digest: string, projects: readonly string[]): Promise<DatasetLookup[]> {
    const ids: number[] = [];
    for (const name of projects) {
      const p = await this.store.findProject(name);
      if (p) ids.push(p.id);
    }
    const found = await this.store.versionsByDigest([digest], ids);
    const out: DatasetLookup[] = [];
    for (const v of found) {
      const project = await this.store.findProject(v.project);
      out.push({ version: v, attachments: await this.store.listAttachments(v.id), keys: project ? (await this.keysOf(project.id)).keys : [] });
    }
    return out;
  }

  /**
   * Evaluates the policy for moving a version to a target: every stage between its current stage and
   * the target (skipping staging means meeting staging's policy too), or an alias's requirements.
   */
  async evaluateVersion(input: { version: VersionRecord; target: string; requester: string; active: ActivePolicy }): Promise<{ evaluations: Evaluation[]; hops: string[]; alias: boolean; fromStage: string }> {
    const { version, target, active } = input;
    const resolved = requirementsOf(active.policy, target);
    const current = isStage(version.stage) ? version.stage : 'candidate';
    const orderFail = (reason: string): { evaluations: Evaluation[]; hops: string[]; alias: boolean; fromStage: string } => ({
      evaluations: [{ target, passed: false, requirements: [{ id: 'stage', passed: false, reason }], inputs: [], signers: [] }],
      hops: [],
      alias: resolved.alias,
      fromStage: current,
    });
    if (version.status !== 'active' || current === 'archived') return orderFail('the version is archived');
    let hops: string[];
    if (resolved.alias) {
      if (current !== resolved.stage) return orderFail(`alias ${target} points only at a version in ${resolved.stage}; this one is in ${current}`);
      hops = [target];
    } else if (target === 'archived') hops = ['archived'];
    else {
      if (stageRank(current) >= stageRank(target as Stage)) return orderFail(`the version is already in ${current}; promotion moves forward only`);
      hops = STAGES.filter((s) => s !== 'archived' && stageRank(s) > stageRank(current) && stageRank(s) <= stageRank(target as Stage));
    }
    const project = await this.requireProject(version.project);
    const { keys, owners } = await this.keysOf(project.id);
    const attachments = await this.store.listAttachments(version.id);
    const approvals = await this.store.listApprovals(version.id);
    const manifest = manifestOfVersion(version);
    const evaluations: Evaluation[] = [];
    for (const hop of hops) {
      const requirements = hop === target ? resolved.requirements : requirementsOf(active.policy, hop).requirements;
      evaluations.push(
        await evaluateRequirements({
          version,
          manifest,
          attachments,
          keys,
          keyOwners: owners,
          serverKey: this.deps.attestationKey.publicKey,
          approvals,
          requester: input.requester,
          target: hop,
          policy: active.policy,
          policyVersion: active.version,
          policyDigest: active.digest,
          requirements,
          now: this.deps.now(),
          findMaterial: (d, projects) => this.findMaterial(d, projects),
        }),
      );
    }
    return { evaluations, hops, alias: resolved.alias, fromStage: current };
  }

  /** `custody policy test`: the verdicts, nothing changed. With `document`, against that policy instead of the active one. */
  async testPolicy(ctx: RequestContext, project: string, name: string, digest: string, target: string, document?: string): Promise<{ passed: boolean; policy: { version: number; digest: string }; evaluations: Evaluation[] }> {
    const actor = this.deps.check(ctx, 'artifact.read', { project, artifact: { kind: 'model', name } });
    Object.assign(ctx.event, { version: digest });
    const version = await this.requireModelVersion(project, name, digest);
    const p = await this.requireProject(project);
    let active = await this.activePolicy(p.id);
    if (document !== undefined) {
      const policy = parsePolicy(document);
      active = { policy, version: -1, digest: digestPolicy(policy), record: undefined };
    }
    const { evaluations } = await this.evaluateVersion({ version, target, requester: actor?.account.name ?? '?', active });
    return { passed: evaluations.every((e) => e.passed), policy: { version: active.version, digest: active.digest }, evaluations };
  }

  // ------------------------------------------------------------------------------------------------
  // approvals

  /** Accounts that may not approve a version: its uploader and whoever attached or owns its signatures. */
  private async conflictedAccounts(version: VersionRecord, attachments: readonly AttachmentRecord[], projectId: number): Promise<{ account: string; why: string }[]> {
    const out = [{ account: version.createdBy, why: 'the uploader of this version' }];
    const owners = (await this.keysOf(projectId)).owners;
    for (const a of attachments) {
      if (a.kind !== 'signature' && a.predicateType !== 'https://model_signing/signature/v1.0') continue;
      out.push({ account: a.createdBy, why: 'a signer of this version' });
      const hint = (JSON.parse(a.result) as { signer?: { keyHint?: string } }).signer?.keyHint;
      const owner = hint === undefined ? undefined : owners.get(hint);
      if (owner !== undefined) out.push({ account: owner, why: 'the owner of a key that signed this version' });
    }
    return out;
  }

  async decide(ctx: RequestContext, input: { project: string; name: string; digest: string; target: string; decision: 'approve' | 'reject'; comment?: string }): Promise<ApprovalView & { policy: { version: number; digest: string } }> {
    Object.assign(ctx.event, { version: input.digest });
    const p = await this.store.findProject(input.project);
    const version = p ? await this.store.findVersionByName(input.project, 'model', input.name, input.digest) : undefined;
    const attachments = version ? await this.store.listAttachments(version.id) : [];
    const excluded = version && p ? await this.conflictedAccounts(version, attachments, p.id) : [];
    const actor = this.deps.check(ctx, 'version.approve', { project: input.project, artifact: { kind: 'model', name: input.name }, excluded });
    if (!p) throw new CustodyError('NOT_FOUND', `no project named ${input.project}`);
    if (!version) throw new CustodyError('NOT_FOUND', `no version ${input.digest} of model ${input.project}/${input.name}`);
    const active = await this.activePolicy(p.id);
    requirementsOf(active.policy, input.target);
    const now = this.deps.now();
    const account = actor?.account.name ?? '?';
    const tokenId = actor?.token.id ?? '?';
    const comment = (input.comment ?? '').slice(0, MAX_COMMENT);
    const bundle = await this.sign(
      buildStatement([{ name: `${input.project}/${input.name}`, digest: { sha256: version.digest } }], APPROVAL_PREDICATE_TYPE, {
        project: input.project,
        model: input.name,
        target: input.target,
        decision: input.decision,
        approver: account,
        token: tokenId,
        policy: { version: active.version, digest: active.digest },
        comment,
        time: new Date(now).toISOString(),
      }),
    );
    const record = await this.store.addApproval({ versionId: version.id, target: input.target, policyVersion: active.version, policyDigest: active.digest, account, tokenId, decision: input.decision, comment, bundle, createdAt: now });
    ctx.event.detail = { target: input.target, decision: input.decision, policyVersion: active.version, policyDigest: active.digest, approvalId: record.id, signedDecision: signedSummary(bundle) };
    return { ...approvalView(record), policy: { version: active.version, digest: active.digest } };
  }

  async listApprovals(ctx: RequestContext, project: string, name: string, digest: string): Promise<ApprovalView[]> {
    this.deps.check(ctx, 'artifact.read', { project, artifact: { kind: 'model', name } });
    const version = await this.requireModelVersion(project, name, digest);
    return (await this.store.listApprovals(version.id)).map(approvalView);
  }

  // ------------------------------------------------------------------------------------------------
  // promotion

  async promote(ctx: RequestContext, input: { project: string; name: string; digest: string; target: string; breakGlass?: string }): Promise<PromotionOutcome> {
    const forcing = input.breakGlass !== undefined;
    const actor = forcing ? this.deps.check(ctx, 'version.force', { project: input.project }) : this.deps.check(ctx, 'version.promote', { project: input.project, artifact: { kind: 'model', name: input.name } });
    Object.assign(ctx.event, { project: input.project, kind: 'model', artifact: input.name, version: input.digest });
    const p = await this.requireProject(input.project);
    const version = await this.requireModelVersion(input.project, input.name, input.digest);
    const active = await this.activePolicy(p.id);
    const requester = actor?.account.name ?? '?';
    const { evaluations, hops, alias, fromStage } = await this.evaluateVersion({ version, target: input.target, requester, active });
    const passed = hops.length > 0 && evaluations.every((e) => e.passed);
    const base = { project: input.project, name: input.name, version: version.digest, target: input.target, fromStage, policy: { version: active.version, digest: active.digest }, evaluations };
    const detail: Record<string, unknown> = { target: input.target, fromStage, policyVersion: active.version, policyDigest: active.digest, failed: evaluations.flatMap((e) => e.requirements.filter((r) => !r.passed).map((r) => `${e.target}:${r.id}`)) };
    if (forcing) {
      const reason = (input.breakGlass ?? '').trim();
      if (active.policy.breakGlass === 'forbidden') {
        ctx.event.detail = { ...detail, outcome: 'refused', breakGlass: reason };
        throw new CustodyError('FORBIDDEN', `project ${input.project}'s policy forbids break-glass promotions`);
      }
      if (reason.length < 10) throw new CustodyError('REQUEST_INVALID', 'break-glass needs a written reason (at least 10 characters) that the audit log keeps');
      if (hops.length === 0) {
        ctx.event.detail = { ...detail, outcome: 'refused', breakGlass: reason };
        throw new CustodyError('POLICY_UNMET', `cannot move the version to ${input.target}: ${evaluations[0]?.requirements[0]?.reason ?? 'not a forward move'}`, { details: { evaluation: base } });
      }
    } else if (!passed) {
      ctx.event.detail = { ...detail, outcome: 'refused' };
      throw new CustodyError('POLICY_UNMET', `the policy for ${input.target} is not met: ${evaluations.flatMap((e) => e.requirements.filter((r) => !r.passed).map((r) => `${r.id} (${r.reason})`)).join('; ')}`, { details: { evaluation: { ...base, promoted: false } } });
    }
    const forced = forcing && !passed;
    const now = this.deps.now();
    const resourceUri = `custody:model/${input.project}/${input.name}@sha256:${version.digest}`;
    const levels = alias ? [vsaLevel(input.target, true)] : hops.map((h) => vsaLevel(h, false));
    const vsa = serializeBundle(
      await signVsa(
        {
          subject: { name: `${input.project}/${input.name}`, digest: { sha256: version.digest } },
          predicate: {
            verifier: { id: VERIFIER_ID, version: { custody: this.deps.toolVersion } },
            timeVerified: new Date(now).toISOString(),
            resourceUri,
            policy: { uri: `custody:policy/${input.project}@v${active.version}`, digest: { sha256: active.digest } },
            inputAttestations: evaluations.flatMap((e) => e.inputs),
            verificationResult: forced ? 'FAILED' : 'PASSED',
            verifiedLevels: levels,
            slsaVersion: '1.0',
          },
        },
        createKeySigner(this.deps.vsaKey),
      ),
    );
    const stagePolicy = alias ? null : (active.policy.stages[input.target as 'staging' | 'production' | 'archived']?.maxVersions ?? null);
    const { displaced } = await this.store.commitPromotion({
      versionId: version.id,
      artifactId: version.artifactId,
      projectId: p.id,
      target: input.target,
      alias,
      expectStage: fromStage,
      expectPolicyVersion: active.version,
      maxInStage: stagePolicy,
      displaceTo: 'staging',
      policyVersion: active.version,
      policyDigest: active.digest,
      requestedBy: requester,
      tokenId: actor?.token.id ?? '?',
      forced,
      reason: forcing ? (input.breakGlass ?? '').trim() : '',
      evaluation: JSON.stringify(evaluations),
      vsa,
      at: now,
    });
    await this.store.addAttachment(version.id, { kind: 'vsa', predicateType: VSA_PREDICATE_TYPE, bundle: vsa, verified: true, result: JSON.stringify({ target: input.target, forced, signer: { keyHint: this.vsaPublicKey.hint } }), createdBy: 'custody-registry' });
    const displacedDigests = (await this.store.versionsByIds(displaced)).map((v) => v.digest);
    ctx.event.detail = { ...detail, outcome: forced ? 'forced' : 'promoted', forced, ...(forcing ? { breakGlass: (input.breakGlass ?? '').trim() } : {}), vsaSha256: sha256(vsa), displaced: displacedDigests };
    return { ...base, promoted: true, forced, vsa: parseBundle(vsa) as unknown, displaced: displacedDigests };
  }

  /** What a stage or alias holds now, with the VSA of each version's move there (for verified pulls). */
  async stageHolders(ctx: RequestContext, project: string, name: string, target: string): Promise<{ target: string; alias: boolean; versions: { version: string; since: string; forced: boolean; vsa: unknown }[] }> {
    this.deps.check(ctx, 'artifact.read', { project, artifact: { kind: 'model', name } });
    const artifact = await this.store.findArtifact(project, 'model', name);
    if (!artifact) throw new CustodyError('NOT_FOUND', `no model named ${name} in project ${project}`);
    const alias = !isStage(target);
    let holders: { version: VersionRecord; since: number; forced: boolean }[];
    if (alias) {
      const a = (await this.store.listAliases(artifact.id)).find((x) => x.name === target);
      const v = a ? await this.store.findVersionById(a.versionId) : undefined;
      holders = a && v ? [{ version: v, since: a.setAt, forced: a.forced }] : [];
    } else holders = (await this.store.versionsInStage(artifact.id, target)).map((v) => ({ version: v, since: v.stageAt ?? v.createdAt, forced: v.forced }));
    const versions = [];
    for (const h of holders) {
      const promotions = (await this.store.listPromotions(h.version.id)).filter((pr) => pr.target === target);
      const last = promotions[promotions.length - 1];
      versions.push({ version: h.version.digest, since: new Date(h.since).toISOString(), forced: h.forced, vsa: last ? (JSON.parse(last.vsa) as unknown) : null });
    }
    return { target, alias, versions };
  }

  async promotionsOf(ctx: RequestContext, project: string, name: string, digest: string): Promise<{ target: string; fromStage: string; requestedBy: string; forced: boolean; reason: string; policyVersion: number; at: string; requirements: RequirementResult[] }[]> {
    this.deps.check(ctx, 'artifact.read', { project, artifact: { kind: 'model', name } });
    const version = await this.requireModelVersion(project, name, digest);
    return (await this.store.listPromotions(version.id)).map((pr) => ({
      target: pr.target,
      fromStage: pr.fromStage,
      requestedBy: pr.requestedBy,
      forced: pr.forced,
      reason: pr.reason,
      policyVersion: pr.policyVersion,
      at: new Date(pr.createdAt).toISOString(),
      requirements: (JSON.parse(pr.evaluation) as Evaluation[]).flatMap((e) => e.requirements.map((r) => ({ ...r, id: `${e.target}:${r.id}` }))),
    }));
  }
}

/** The signed envelope of a decision, as the audit entry keeps it (payload, signature, key hint). */
function signedSummary(bundleJson: string): { payload: string; sig: string; keyHint: string } {
  const bundle = parseBundle(bundleJson);
  return { payload: bundle.dsseEnvelope.payload, sig: bundle.dsseEnvelope.signatures[0]?.sig ?? '', keyHint: bundle.verificationMaterial.publicKey?.hint ?? '' };
}
