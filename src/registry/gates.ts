import { createHash } from 'node:crypto';
import { CustodyError, isCustodyError } from '../core/errors.js';
import { isRecord } from '../core/json.js';
import { atLeast, isSeverity } from '../core/severity.js';
import { parseBundle } from '../integrity/bundle.js';
import { digestEquals } from '../integrity/digest.js';
import { diffResources } from '../integrity/diff.js';
import type { PublicKeyInfo } from '../integrity/keys.js';
import { OMS_PREDICATE_TYPE, parseOmsStatement } from '../integrity/oms.js';
import { SLSA_PROVENANCE_V1 } from '../integrity/provenance.js';
import { readSlsaProvenance, type ProvenanceFacts } from '../integrity/provenance-read.js';
import { createKeyVerifier, verifyEnvelope } from '../integrity/signer.js';
import { parseStatement, type Statement } from '../integrity/statement.js';
import { TEST_RESULT_PREDICATE_TYPE } from '../integrity/test-result.js';
import type { ApprovalRecord, AttachmentRecord, VersionRecord } from '../store/metadata.js';
import { EVALUATION_PREDICATE_TYPE, readEvaluationMetrics } from './evaluation.js';
import type { VersionManifest } from './manifest.js';
import { describeThreshold, meetsThreshold, type Policy, type Requirements } from './policy.js';

/**
 * Policy evaluation: what a version shows against the requirements of one target. Everything is
 * checked afresh from the stored bundles (signatures re-verified against the project's keys today,
 * the scan attestation against the server's key), never from flags recorded at upload: a row edited
 * on disk cannot pass a gate. Every requirement yields a verdict and a reason, passed or not.
 */

export interface RequirementResult {
  id: string;
  passed: boolean;
  reason: string;
}

export interface Evaluation {
  target: string;
  passed: boolean;
  requirements: RequirementResult[];
  /** The evidence the verdict rests on (for the VSA's inputAttestations). */
  inputs: { uri: string; digest: { sha256: string } }[];
  /** Accounts that signed or pushed the version's signatures (excluded from approving it). */
  signers: string[];
}

/** A dataset version a provenance names, as the registry knows it. */
export interface DatasetLookup {
  version: VersionRecord;
  attachments: AttachmentRecord[];
  keys: PublicKeyInfo[];
}

export interface EvidenceInput {
  version: VersionRecord;
  manifest: VersionManifest;
  attachments: readonly AttachmentRecord[];
  /** The project's trusted keys, and who owns each (by hint) when recorded. */
  keys: readonly PublicKeyInfo[];
  keyOwners: ReadonlyMap<string, string>;
  /** The server's attestation key (it signs scan attestations). */
  serverKey: PublicKeyInfo;
  approvals: readonly ApprovalRecord[];
  requester: string;
  target: string;
  policy: Policy;
  policyVersion: number;
  policyDigest: string;
  requirements: Requirements;
  now: number;
  /** Finds registered versions (datasets, base models) by digest in the allowed projects. */
  findMaterial(digest: string, projects: readonly string[]): Promise<DatasetLookup[]>;
}

const sha256 = (text: string): string => createHash('sha256').update(text, 'utf8').digest('hex');

interface Verified {
  attachment: AttachmentRecord;
  statement: Statement;
  keyHint: string;
}

/** Verifies an attachment's bundle against keys; undefined (with the reason) when it does not verify. */
async function verifyAttachment(a: AttachmentRecord, keys: readonly PublicKeyInfo[], digest: string): Promise<{ ok: Verified } | { error: string }> {
  try {
    if (keys.length === 0) throw new CustodyError('KEY_UNTRUSTED', 'the project trusts no key');
    const { payload, payloadType, signer } = await verifyEnvelope(parseBundle(a.bundle), createKeyVerifier(keys));
    const statement = parseStatement(payloadType, payload);
    if (!statement.subject.some((s) => typeof s.digest?.['sha256'] === 'string' && digestEquals(s.digest['sha256'], digest))) throw new CustodyError('SUBJECT_MISMATCH', 'no subject is this version');
    return { ok: { attachment: a, statement, keyHint: signer.keyHint } };
  } catch (error) {
    return { error: isCustodyError(error) ? error.code : 'INTERNAL' };
  }
}

/** The version's OMS signatures that verify now, by distinct key. */
async function verifiedSignatures(input: { attachments: readonly AttachmentRecord[]; keys: readonly PublicKeyInfo[]; manifest: VersionManifest; digest: string }): Promise<{ valid: Verified[]; errors: string[] }> {
  const valid: Verified[] = [];
  const errors: string[] = [];
  for (const a of input.attachments) {
    if (a.kind !== 'signature' && !(a.kind === 'attestation' && a.predicateType === OMS_PREDICATE_TYPE)) continue;
    const checked = await verifyAttachment(a, input.keys, input.digest);
    if ('error' in checked) {
      errors.push(checked.error);
      continue;
    }
    try {
      const signed = parseOmsStatement(checked.ok.statement);
      const diff = diffResources(signed.resources, input.manifest.resources, input.manifest.serialization.method === 'shards');
      if (!digestEquals(signed.rootDigest, input.digest) || diff.modified.length + diff.added.length + diff.removed.length + diff.renamed.length > 0) {
        errors.push('MANIFEST_MISMATCH');
        continue;
      }
      valid.push(checked.ok);
    } catch (error) {
      errors.push(isCustodyError(error) ? error.code : 'INTERNAL');
    }
  }
  return { valid, errors };
}

function latest<T extends { attachment: AttachmentRecord }>(list: readonly T[]): T | undefined {
  return [...list].sort((a, b) => b.attachment.id - a.attachment.id)[0];
}

const ageOk = (createdAt: number, now: number, max: number | undefined): boolean => max === undefined || now - createdAt <= max * 1000;

/** Roles of provenance materials that are not artifacts of the registry (code, lockfile, image). */
const NON_ARTIFACT_ROLES = new Set(['source', 'lockfile', 'container-image', 'config']);

async function checkDatasetPolicy(d: DatasetLookup, policy: Policy): Promise<string | undefined> {
  if (d.version.status !== 'active') return `dataset ${d.version.project}/${d.version.name}@${d.version.digest.slice(0, 12)} is archived`;
  if (policy.datasets.signatures > 0) {
    const sigs = await verifiedSignatures({ attachments: d.attachments, keys: d.keys, manifest: manifestOfVersion(d.version), digest: d.version.digest });
    const distinct = new Set(sigs.valid.map((s) => s.keyHint)).size;
    if (distinct < policy.datasets.signatures) return `dataset ${d.version.project}/${d.version.name}@${d.version.digest.slice(0, 12)} has ${distinct} valid signature(s), the dataset policy needs ${policy.datasets.signatures}`;
  }
  if (policy.datasets.validation !== 'ignore') {
    const checks: Verified[] = [];
    for (const a of d.attachments) {
      if (a.kind !== 'attestation' || a.predicateType !== TEST_RESULT_PREDICATE_TYPE) continue;
      const v = await verifyAttachment(a, d.keys, d.version.digest);
      if ('ok' in v) {
        const config = (v.ok.statement.predicate as { configuration?: { name?: unknown }[] }).configuration;
        if (Array.isArray(config) && config[0]?.name === 'custody data check') checks.push(v.ok);
      }
    }
    const check = latest(checks);
    if (!check && policy.datasets.validation === 'required') return `dataset ${d.version.project}/${d.version.name}@${d.version.digest.slice(0, 12)} has no verified data check (custody attest data)`;
    const result = check ? (check.statement.predicate as { result?: unknown }).result : undefined;
    if (check && result !== 'PASSED' && result !== 'WARNED') return `dataset ${d.version.project}/${d.version.name}@${d.version.digest.slice(0, 12)} failed its data check (${String(result)})`;
  }
  return undefined;
}

/** The manifest a stored version was committed with. */
export function manifestOfVersion(v: VersionRecord): VersionManifest {
  const m = JSON.parse(v.manifest) as { name: string; digest: { sha256: string }; serialization: Record<string, unknown>; resources: VersionManifest['resources'] };
  const shards = m.serialization['method'] === 'shards';
  return {
    name: m.name,
    digest: m.digest.sha256,
    serialization: { method: shards ? 'shards' : 'files', hashType: (m.serialization['hash_type'] as VersionManifest['serialization']['hashType']) ?? 'sha256', ...(shards ? { shardSize: Number(m.serialization['shard_size']) } : {}) } as VersionManifest['serialization'],
    resources: m.resources,
    files: [],
  };
}

/**
 * Evaluates one target's requirements against a version's evidence. Never throws for missing or
 * bad evidence: that is a failed requirement with its reason.
 */
export async function evaluateRequirements(input: EvidenceInput): Promise<Evaluation> {
  const req = input.requirements;
  const results: RequirementResult[] = [];
  const inputs: Evaluation['inputs'] = [];
  const used = (a: AttachmentRecord): void => void inputs.push({ uri: `custody:attachment/${a.id}`, digest: { sha256: sha256(a.bundle) } });
  const digest = input.version.digest;
  const maxAge = req.maxAgeSeconds;
  const stale: string[] = [];

  const sigs = await verifiedSignatures({ attachments: input.attachments, keys: input.keys, manifest: input.manifest, digest });
  const signers = new Set<string>();
  for (const s of sigs.valid) {
    signers.add(s.attachment.createdBy);
    const owner = input.keyOwners.get(s.keyHint);
    if (owner !== undefined) signers.add(owner);
  }

  if (req.signatures) {
    const allowed = req.signatures.keys;
    const counted = sigs.valid.filter((s) => allowed === null || allowed.includes(s.keyHint));
    const fresh = counted.filter((s) => ageOk(s.attachment.createdAt, input.now, maxAge));
    if (fresh.length < counted.length) stale.push('signature');
    const distinct = new Set(fresh.map((s) => s.keyHint));
    const min = req.signatures.min;
    const passed = distinct.size >= min;
    for (const s of fresh) used(s.attachment);
    results.push({
      id: 'signatures',
      passed,
      reason: passed
        ? `signed by ${distinct.size} distinct trusted key(s) (${[...distinct].map((h) => h.slice(0, 12)).join(', ')}); ${min} needed`
        : `${distinct.size} valid signature(s) by distinct ${allowed ? 'listed' : 'trusted'} keys, ${min} needed${sigs.errors.length > 0 ? ` (not counted: ${[...new Set(sigs.errors)].join(', ')})` : sigs.valid.length === 0 ? ' (the version carries no signature that verifies)' : ''}`,
    });
  }

  if (req.provenance) {
    const rule = req.provenance;
    const candidates: Verified[] = [];
    const errors: string[] = [];
    for (const a of input.attachments) {
      if (a.kind !== 'attestation' || a.predicateType !== SLSA_PROVENANCE_V1) continue;
      const v = await verifyAttachment(a, input.keys, digest);
      if ('ok' in v) candidates.push(v.ok);
      else errors.push(v.error);
    }
    const chosen = latest(candidates);
    const problems: string[] = [];
    let facts: ProvenanceFacts | undefined;
    if (!chosen) problems.push(`no signed SLSA provenance about this version${errors.length > 0 ? ` (unverified: ${[...new Set(errors)].join(', ')})` : ''}`);
    else {
      used(chosen.attachment);
      if (!ageOk(chosen.attachment.createdAt, input.now, maxAge)) stale.push('provenance');
      try {
        facts = readSlsaProvenance(chosen.statement);
      } catch (error) {
        problems.push(`the provenance cannot be read (${isCustodyError(error) ? error.code : 'INTERNAL'})`);
      }
    }
    if (facts) {
      if (rule.builders !== null && !rule.builders.includes(facts.builderId)) problems.push(`builder ${facts.builderId.slice(0, 200)} is not in the allow-list`);
      let datasets = 0;
      const projects = [input.version.project, ...rule.datasetProjects];
      for (const m of facts.materials) {
        if (NON_ARTIFACT_ROLES.has(m.role) || (m.digest['sha256'] === undefined && m.digest['gitCommit'] !== undefined)) continue;
        if (m.role === 'dataset' || m.role === 'unknown') datasets += 1;
        if (rule.materials === 'any') continue;
        const d = m.digest['sha256'];
        const label = `${m.name || m.uri || 'a material'} (${m.role})`;
        if (typeof d !== 'string') {
          problems.push(`${label} names no sha256 digest, so it cannot be a registered version`);
          continue;
        }
        const found = await input.findMaterial(d, projects);
        if (found.length === 0) {
          problems.push(`${label} sha256:${d.slice(0, 12)}… is not a registered version in ${projects.join(', ')}`);
          continue;
        }
        const datasetsFound = found.filter((f) => f.version.kind === 'dataset');
        if (datasetsFound.length === 0) {
          if (m.role === 'dataset') problems.push(`${label} is registered as a model, not a dataset`);
          continue;
        }
        const verdicts = await Promise.all(datasetsFound.map((f) => checkDatasetPolicy(f, input.policy)));
        const ok = verdicts.some((v) => v === undefined);
        if (!ok) problems.push(verdicts.filter((v): v is string => v !== undefined).join('; '));
      }
      if (rule.requireDatasets && datasets === 0) problems.push('the provenance names no training dataset');
    }
    results.push({ id: 'provenance', passed: problems.length === 0, reason: problems.length === 0 ? `signed provenance by builder ${facts?.builderId ?? '?'}; ${facts?.materials.length ?? 0} material(s) checked` : problems.join('; ') });
  }

  if (req.scan) {
    const rule = req.scan;
    const status = input.version.scanStatus;
    let reason: string;
    let passed = false;
    if (status === 'pending') reason = 'the server-side scan has not finished';
    else if (status === 'skipped') reason = 'the version was not scanned (the server runs with --no-scan)';
    else if (status === 'error') reason = 'the server-side scan failed';
    else {
      const scans: Verified[] = [];
      for (const a of input.attachments) {
        if (a.kind !== 'scan') continue;
        const v = await verifyAttachment(a, [input.serverKey], digest);
        if ('ok' in v) scans.push(v.ok);
      }
      const scan = latest(scans);
      if (!scan) reason = 'no scan attestation signed by this server is about this version';
      else {
        used(scan.attachment);
        if (!ageOk(scan.attachment.createdAt, input.now, maxAge)) stale.push('scan');
        const p = scan.statement.predicate as { failedTests?: unknown; warnedTests?: unknown; configuration?: { annotations?: { bySeverity?: unknown } }[] };
        const bySeverity = p.configuration?.[0]?.annotations?.bySeverity;
        const ruled = [...(Array.isArray(p.failedTests) ? p.failedTests : []), ...(Array.isArray(p.warnedTests) ? p.warnedTests : [])].filter((x): x is string => typeof x === 'string');
        if (!isRecord(bySeverity)) reason = 'the scan attestation does not record findings by severity';
        else {
          const over = Object.entries(bySeverity).filter(([s, n]) => isSeverity(s) && typeof n === 'number' && n > 0 && rule.failOn !== 'none' && atLeast(s, rule.failOn));
          const forbidden = ruled.filter((id) => rule.rules.includes(id));
          const problems = [...over.map(([s, n]) => `${String(n)} ${s} finding(s)`), ...forbidden.map((id) => `a finding of ${id}`)];
          passed = problems.length === 0;
          reason = passed ? `scanned; no finding at or above ${rule.failOn}${rule.rules.length > 0 ? ` and none of ${rule.rules.join(', ')}` : ''}` : `the server-side scan found ${problems.join(', ')}`;
        }
      }
    }
    results.push({ id: 'scan', passed, reason });
  }

  if (req.evaluation) {
    const evals: Verified[] = [];
    for (const a of input.attachments) {
      if (a.kind !== 'attestation' || a.predicateType !== EVALUATION_PREDICATE_TYPE) continue;
      const v = await verifyAttachment(a, input.keys, digest);
      if ('ok' in v) evals.push(v.ok);
    }
    const chosen = latest(evals);
    if (!chosen) results.push({ id: 'evaluation', passed: false, reason: 'no signed evaluation attestation names this version' });
    else {
      used(chosen.attachment);
      if (!ageOk(chosen.attachment.createdAt, input.now, maxAge)) stale.push('evaluation');
      let metrics: Record<string, number> | undefined;
      try {
        metrics = readEvaluationMetrics(chosen.statement.predicate);
      } catch {
        results.push({ id: 'evaluation', passed: false, reason: 'the evaluation attestation holds no readable metrics' });
      }
      if (metrics) {
        const failures: string[] = [];
        const met: string[] = [];
        for (const t of req.evaluation.metrics) {
          const value = metrics[t.metric];
          if (value === undefined) failures.push(`${t.metric} is not reported`);
          else if (!meetsThreshold(value, t)) failures.push(`${t.metric} = ${value}, needs ${describeThreshold(t)}`);
          else met.push(`${t.metric} = ${value}`);
        }
        results.push({ id: 'evaluation', passed: failures.length === 0, reason: failures.length === 0 ? `metrics meet every threshold (${met.join(', ')})` : failures.join('; ') });
      }
    }
  }

  if (req.approvals) {
    const excluded = new Map<string, string>([[input.version.createdBy, 'the uploader']]);
    for (const s of signers) if (!excluded.has(s)) excluded.set(s, 'a signer');
    if (!excluded.has(input.requester)) excluded.set(input.requester, 'the requester');
    const bound = input.approvals.filter((a) => a.target === input.target && a.policyVersion === input.policyVersion && a.policyDigest === input.policyDigest);
    const lastByAccount = new Map<string, ApprovalRecord>();
    for (const a of bound) lastByAccount.set(a.account, a);
    const approvers: string[] = [];
    const rejecters: string[] = [];
    const ignored: string[] = [];
    for (const [account, a] of lastByAccount) {
      const why = excluded.get(account);
      if (why !== undefined) {
        if (a.decision === 'approve') ignored.push(`${account} (${why})`);
        continue;
      }
      if (a.decision === 'approve') {
        approvers.push(account);
        inputs.push({ uri: `custody:approval/${a.id}`, digest: { sha256: sha256(a.bundle) } });
      } else rejecters.push(account);
    }
    const min = req.approvals.min;
    const passed = approvers.length >= min && rejecters.length === 0;
    const stray = input.approvals.length - bound.length;
    results.push({
      id: 'approvals',
      passed,
      reason:
        rejecters.length > 0
          ? `rejected by ${rejecters.join(', ')}`
          : `${approvers.length} of ${min} approval(s) by people other than the uploader, signers and requester${approvers.length > 0 ? ` (${approvers.join(', ')})` : ''}${ignored.length > 0 ? `; not counted: ${ignored.join(', ')}` : ''}${stray > 0 ? `; ${stray} decision(s) for another target or policy version` : ''}`,
    });
  }

  if (maxAge !== undefined) {
    results.push({ id: 'max-age', passed: stale.length === 0, reason: stale.length === 0 ? `every attestation used is at most ${maxAge} s old` : `older than ${maxAge} s: ${stale.join(', ')}` });
  }

  return { target: input.target, passed: results.every((r) => r.passed), requirements: results, inputs, signers: [...signers] };
}
