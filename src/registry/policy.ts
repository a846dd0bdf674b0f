import { createHash } from 'node:crypto';
import { parseDocument } from 'yaml';
import { canonicalJson } from '../audit/canonical-json.js';
import { CustodyError, formatProblems, type Problem } from '../core/errors.js';
import { isRecord } from '../core/json.js';
import { isSeverity, type Severity } from '../core/severity.js';
import { parseDuration } from './tokens.js';

/**
 * Promotion policy: per project, per target stage, what a version must show before it gets there.
 * A policy is a YAML document (docs/governance.md), parsed and validated here with every problem
 * collected (POLICY_INVALID); it is stored versioned and becomes active only when approved. A
 * project without one has DEFAULT_POLICY (the Contract of issue 11).
 */

export const STAGES = ['candidate', 'staging', 'production', 'archived'] as const;
export type Stage = (typeof STAGES)[number];
/** Stages a version can be promoted to (candidate is where every version starts). */
export const TARGET_STAGES = ['staging', 'production', 'archived'] as const;
export type TargetStage = (typeof TARGET_STAGES)[number];

export function isStage(value: unknown): value is Stage {
  return typeof value === 'string' && (STAGES as readonly string[]).includes(value);
}

export function stageRank(stage: Stage): number {
  return STAGES.indexOf(stage);
}

/** Alias names: lower-case letters, digits and `-`, starting with a letter (they become VSA levels). */
export const ALIAS_NAME = /^[a-z][a-z0-9-]{0,31}$/;

export const METRIC_OPERATORS = ['>=', '<=', '>', '<', '=='] as const;
export type MetricOperator = (typeof METRIC_OPERATORS)[number];

export interface MetricThreshold {
  metric: string;
  op: MetricOperator;
  value: number;
}

export interface Requirements {
  /** Signed (OMS) by at least `min` distinct keys, among `keys` (hints) when given, else any trusted key of the project. */
  signatures?: { min: number; keys: string[] | null };
  /** SLSA provenance: signed, about this version, built by an allowed builder, trained on registered datasets. */
  provenance?: { builders: string[] | null; materials: 'registered' | 'any'; datasetProjects: string[]; requireDatasets: boolean };
  /** The server's own scan: finished, no finding at or above `failOn`, none of `rules`. */
  scan?: { failOn: Severity | 'none'; rules: string[] };
  /** An evaluation attestation naming this exact version, meeting every threshold. */
  evaluation?: { metrics: MetricThreshold[] };
  /** Approvals by distinct people, none the uploader, a signer or the requester. */
  approvals?: { min: number };
  /** Attestations (signature, provenance, evaluation) no older than this. */
  maxAgeSeconds?: number;
}

export interface StageRules extends Requirements {
  /** How many versions the stage may hold at once (production: 1 by default; canaries: more). null: no limit. */
  maxVersions: number | null;
}

export interface AliasRules {
  /** The stage a version must be in for the alias to point at it. */
  stage: 'staging' | 'production';
  /** Requirements of the alias move; by default those of its stage. */
  requirements: Requirements | null;
}

export interface Policy {
  stages: Record<TargetStage, StageRules>;
  aliases: Record<string, AliasRules>;
  /** What a training dataset (a provenance material) must meet. */
  datasets: { signatures: number; validation: 'required' | 'when-present' | 'ignore' };
  /** Server admins may force a promotion with a written reason, unless forbidden. */
  breakGlass: 'allowed' | 'forbidden';
  /** Approvals a change of this policy needs (from people other than its proposer). */
  changeApprovals: number;
}

/** The policy of a project that has none (issue 11, Contract). */
export const DEFAULT_POLICY: Policy = {
  stages: {
    staging: { signatures: { min: 1, keys: null }, scan: { failOn: 'high', rules: [] }, maxVersions: null },
    production: { signatures: { min: 1, keys: null }, scan: { failOn: 'high', rules: [] }, approvals: { min: 1 }, maxVersions: 1 },
    archived: { maxVersions: null },
  },
  aliases: {},
  datasets: { signatures: 1, validation: 'when-present' },
  breakGlass: 'allowed',
  changeApprovals: 1,
};

export const MAX_POLICY_BYTES = 64 * 1024;
const MAX_LIST = 100;

/** SHA-256 of the policy's canonical JSON: what approvals, promotions and VSAs bind to. */
export function digestPolicy(policy: Policy): string {
  return createHash('sha256').update(canonicalJson(policy), 'utf8').digest('hex');
}

const THRESHOLD = /^\s*([A-Za-z0-9_.\-/]{1,64})\s*(>=|<=|==|>|<)\s*(-?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?)\s*$/;

export function parseThreshold(text: string): MetricThreshold | undefined {
  const m = THRESHOLD.exec(text);
  if (!m) return undefined;
  const value = Number(m[3]);
  return Number.isFinite(value) ? { metric: m[1] as string, op: m[2] as MetricOperator, value } : undefined;
}

export function meetsThreshold(value: number, t: MetricThreshold): boolean {
  switch (t.op) {
    case '>=':
      return value >= t.value;
    case '<=':
      return value <= t.value;
    case '>':
      return value > t.value;
    case '<':
      return value < t.value;
    case '==':
      return value === t.value;
  }
}

type Reader = { problems: Problem[] };

function checkKeys(r: Reader, value: Record<string, unknown>, allowed: readonly string[], path: string): void {
  for (const key of Object.keys(value)) if (!allowed.includes(key)) r.problems.push({ path: `${path}.${key}`, message: `is not a policy field; expected one of ${allowed.join(', ')}` });
}

function readInt(r: Reader, value: unknown, path: string, min: number, max: number): number | undefined {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    r.problems.push({ path, message: `must be a whole number from ${min} to ${max}` });
    return undefined;
  }
  return value;
}

function readStrings(r: Reader, value: unknown, path: string, check?: (s: string) => string | undefined): string[] | undefined {
  if (!Array.isArray(value) || value.length > MAX_LIST || !value.every((v) => typeof v === 'string' && v !== '' && v.length <= 512)) {
    r.problems.push({ path, message: `must be a list of at most ${MAX_LIST} non-empty strings` });
    return undefined;
  }
  if (check) {
    value.forEach((v, i) => {
      const bad = check(v as string);
      if (bad !== undefined) r.problems.push({ path: `${path}[${i}]`, message: bad });
    });
  }
  return [...new Set(value as string[])];
}

const REQUIREMENT_KEYS = ['signatures', 'provenance', 'scan', 'evaluation', 'approvals', 'maxAge'] as const;

function readRequirements(r: Reader, raw: Record<string, unknown>, path: string): Requirements {
  const out: Requirements = {};
  const sig = raw['signatures'];
  if (sig !== undefined) {
    if (typeof sig === 'number') {
      const min = readInt(r, sig, `${path}.signatures`, 1, 16);
      if (min !== undefined) out.signatures = { min, keys: null };
    } else if (isRecord(sig)) {
      checkKeys(r, sig, ['min', 'keys'], `${path}.signatures`);
      const min = readInt(r, sig['min'] ?? 1, `${path}.signatures.min`, 1, 16);
      const keys = sig['keys'] === undefined ? null : readStrings(r, sig['keys'], `${path}.signatures.keys`, (k) => (/^[0-9a-f]{64}$/.test(k) ? undefined : 'must be a key hint (64 hex characters, as `custody project show` lists)'));
      if (min !== undefined && keys !== undefined) {
        if (keys !== null && keys.length < min) r.problems.push({ path: `${path}.signatures.keys`, message: `lists ${keys.length} key(s), fewer than min ${min}` });
        out.signatures = { min, keys };
      }
    } else r.problems.push({ path: `${path}.signatures`, message: 'must be a number of distinct keys or {min, keys}' });
  }
  const prov = raw['provenance'];
  if (prov !== undefined) {
    if (prov === true) out.provenance = { builders: null, materials: 'registered', datasetProjects: [], requireDatasets: false };
    else if (isRecord(prov)) {
      checkKeys(r, prov, ['builders', 'materials', 'datasetProjects', 'requireDatasets'], `${path}.provenance`);
      const builders = prov['builders'] === undefined ? null : readStrings(r, prov['builders'], `${path}.provenance.builders`);
      const materials = prov['materials'] ?? 'registered';
      if (materials !== 'registered' && materials !== 'any') r.problems.push({ path: `${path}.provenance.materials`, message: 'must be "registered" (every training dataset a registered, policy-meeting dataset version) or "any"' });
      const projects = prov['datasetProjects'] === undefined ? [] : readStrings(r, prov['datasetProjects'], `${path}.provenance.datasetProjects`);
      const requireDatasets = prov['requireDatasets'] ?? false;
      if (typeof requireDatasets !== 'boolean') r.problems.push({ path: `${path}.provenance.requireDatasets`, message: 'must be true or false' });
      if (builders !== undefined && projects !== undefined && (materials === 'registered' || materials === 'any')) {
        out.provenance = { builders, materials, datasetProjects: projects, requireDatasets: requireDatasets === true };
      }
    } else r.problems.push({ path: `${path}.provenance`, message: 'must be true or {builders, materials, datasetProjects, requireDatasets}' });
  }
  const scan = raw['scan'];
  if (scan !== undefined) {
    if (!isRecord(scan)) r.problems.push({ path: `${path}.scan`, message: 'must be {failOn, rules}' });
    else {
      checkKeys(r, scan, ['failOn', 'rules'], `${path}.scan`);
      const failOn = scan['failOn'] ?? 'high';
      if (!isSeverity(failOn) && failOn !== 'none') r.problems.push({ path: `${path}.scan.failOn`, message: 'must be critical, high, medium, low, info or none' });
      const rules = scan['rules'] === undefined ? [] : readStrings(r, scan['rules'], `${path}.scan.rules`, (id) => (/^[a-z0-9-]+\/[a-z0-9-]+$/.test(id) ? undefined : 'must be a rule id such as models/pickle-unsafe-global'));
      if ((isSeverity(failOn) || failOn === 'none') && rules !== undefined) out.scan = { failOn, rules };
    }
  }
  const evaluation = raw['evaluation'];
  if (evaluation !== undefined) {
    const list = isRecord(evaluation) ? evaluation['metrics'] : undefined;
    if (isRecord(evaluation)) checkKeys(r, evaluation, ['metrics'], `${path}.evaluation`);
    const texts = readStrings(r, list, `${path}.evaluation.metrics`, (t) => (parseThreshold(t) ? undefined : 'must read like "accuracy >= 0.92" (metric, one of >= <= > < ==, a number)'));
    if (texts !== undefined) {
      if (texts.length === 0) r.problems.push({ path: `${path}.evaluation.metrics`, message: 'names no threshold' });
      out.evaluation = { metrics: texts.map((t) => parseThreshold(t)).filter((t): t is MetricThreshold => t !== undefined) };
    }
  }
  const approvals = raw['approvals'];
  if (approvals !== undefined) {
    const min = readInt(r, isRecord(approvals) ? approvals['min'] : approvals, `${path}.approvals`, 0, 16);
    if (isRecord(approvals)) checkKeys(r, approvals, ['min'], `${path}.approvals`);
    if (min !== undefined && min > 0) out.approvals = { min };
  }
  const maxAge = raw['maxAge'];
  if (maxAge !== undefined) {
    const seconds = typeof maxAge === 'string' ? parseDuration(maxAge) : undefined;
    if (seconds === undefined) r.problems.push({ path: `${path}.maxAge`, message: 'must be a duration such as 30d, 12h or 90m' });
    else out.maxAgeSeconds = seconds;
  }
  return out;
}

/**
 * Parses and validates a policy document (YAML or JSON). Stages left out keep the default policy's
 * requirements (a policy that forgets production does not open it); an empty mapping means no
 * requirement. Every problem is collected before failing with POLICY_INVALID.
 */
export function parsePolicy(text: string): Policy {
  if (Buffer.byteLength(text, 'utf8') > MAX_POLICY_BYTES) throw new CustodyError('INPUT_LIMIT', `a policy is at most ${MAX_POLICY_BYTES} bytes`);
  const doc = parseDocument(text, { uniqueKeys: true, prettyErrors: false, strict: true });
  if (doc.errors.length > 0) {
    const problems = doc.errors.slice(0, 20).map((e) => ({ path: `line ${e.linePos?.[0]?.line ?? '?'}`, message: e.message.split('\n')[0] ?? 'YAML error' }));
    throw new CustodyError('POLICY_INVALID', `the policy is not valid YAML:\n${formatProblems(problems)}`, { details: { problems } });
  }
  let raw: unknown;
  try {
    raw = doc.toJS({ maxAliasCount: 16 });
  } catch (error) {
    throw new CustodyError('POLICY_INVALID', `the policy cannot be read: ${(error as Error).message}`, { cause: error });
  }
  return validatePolicy(raw);
}

/** Validates a parsed policy value (see parsePolicy). */
export function validatePolicy(raw: unknown): Policy {
  const r: Reader = { problems: [] };
  if (!isRecord(raw)) throw new CustodyError('POLICY_INVALID', 'a policy is a mapping with at least `version: 1`', { details: { problems: [{ path: 'policy', message: 'must be a mapping' }] } });
  checkKeys(r, raw, ['version', 'stages', 'aliases', 'datasets', 'breakGlass', 'changes'], 'policy');
  if (raw['version'] !== 1) r.problems.push({ path: 'policy.version', message: 'must be 1 (the policy format version)' });
  const policy: Policy = structuredClone(DEFAULT_POLICY);
  const stages = raw['stages'];
  if (stages !== undefined) {
    if (!isRecord(stages)) r.problems.push({ path: 'policy.stages', message: 'must be a mapping of staging, production, archived' });
    else {
      checkKeys(r, stages, TARGET_STAGES, 'policy.stages');
      for (const stage of TARGET_STAGES) {
        const value = stages[stage];
        if (value === undefined) continue;
        const rules = value === null ? {} : value;
        if (!isRecord(rules)) {
          r.problems.push({ path: `policy.stages.${stage}`, message: 'must be a mapping of requirements' });
          continue;
        }
        checkKeys(r, rules, [...REQUIREMENT_KEYS, 'maxVersions'], `policy.stages.${stage}`);
        const maxVersions = rules['maxVersions'] === undefined ? (stage === 'production' ? 1 : null) : (readInt(r, rules['maxVersions'], `policy.stages.${stage}.maxVersions`, 1, 100) ?? null);
        policy.stages[stage] = { ...readRequirements(r, rules, `policy.stages.${stage}`), maxVersions };
      }
    }
  }
  const aliases = raw['aliases'];
  if (aliases !== undefined) {
    if (!isRecord(aliases) || Object.keys(aliases).length > 32) r.problems.push({ path: 'policy.aliases', message: 'must be a mapping of at most 32 alias names' });
    else {
      for (const [name, value] of Object.entries(aliases)) {
        const path = `policy.aliases.${name}`;
        if (!ALIAS_NAME.test(name) || isStage(name)) {
          r.problems.push({ path, message: 'an alias name is a-z, 0-9 and "-", starting with a letter, at most 32 characters, and not a stage name' });
          continue;
        }
        if (!isRecord(value)) {
          r.problems.push({ path, message: 'must be {stage, requirements…}' });
          continue;
        }
        checkKeys(r, value, ['stage', ...REQUIREMENT_KEYS], path);
        const stage = value['stage'] ?? 'production';
        if (stage !== 'staging' && stage !== 'production') r.problems.push({ path: `${path}.stage`, message: 'must be staging or production' });
        const own = REQUIREMENT_KEYS.some((k) => value[k] !== undefined);
        const requirements = own ? readRequirements(r, value, path) : null;
        if (stage === 'staging' || stage === 'production') policy.aliases[name] = { stage, requirements };
      }
    }
  }
  const datasets = raw['datasets'];
  if (datasets !== undefined) {
    if (!isRecord(datasets)) r.problems.push({ path: 'policy.datasets', message: 'must be {signatures, validation}' });
    else {
      checkKeys(r, datasets, ['signatures', 'validation'], 'policy.datasets');
      const signatures = datasets['signatures'] === undefined ? 1 : readInt(r, datasets['signatures'], 'policy.datasets.signatures', 0, 16);
      const validation = datasets['validation'] ?? 'when-present';
      if (validation !== 'required' && validation !== 'when-present' && validation !== 'ignore') r.problems.push({ path: 'policy.datasets.validation', message: 'must be required, when-present or ignore' });
      else if (signatures !== undefined) policy.datasets = { signatures, validation };
    }
  }
  const breakGlass = raw['breakGlass'];
  if (breakGlass !== undefined) {
    if (breakGlass !== 'allowed' && breakGlass !== 'forbidden') r.problems.push({ path: 'policy.breakGlass', message: 'must be allowed or forbidden' });
    else policy.breakGlass = breakGlass;
  }
  const changes = raw['changes'];
  if (changes !== undefined) {
    if (!isRecord(changes)) r.problems.push({ path: 'policy.changes', message: 'must be {approvals}' });
    else {
      checkKeys(r, changes, ['approvals'], 'policy.changes');
      const n = readInt(r, changes['approvals'] ?? 1, 'policy.changes.approvals', 1, 16);
      if (n !== undefined) policy.changeApprovals = n;
    }
  }
  if (r.problems.length > 0) throw new CustodyError('POLICY_INVALID', `the policy is not valid:\n${formatProblems(r.problems)}`, { details: { problems: r.problems } });
  return policy;
}

/** The requirements of a target (a stage, or an alias: its own or its stage's). */
export function requirementsOf(policy: Policy, target: string): { requirements: Requirements; stage: TargetStage; alias: boolean } {
  if ((TARGET_STAGES as readonly string[]).includes(target)) return { requirements: policy.stages[target as TargetStage], stage: target as TargetStage, alias: false };
  const alias = policy.aliases[target];
  if (!alias) throw new CustodyError('NOT_FOUND', `"${target.slice(0, 64)}" is neither a stage (staging, production, archived) nor an alias the project's policy declares`);
  return { requirements: alias.requirements ?? policy.stages[alias.stage], stage: alias.stage, alias: true };
}

/** A VSA level naming a stage or alias (`CUSTODY_STAGE_PRODUCTION`, `CUSTODY_ALIAS_CHAMPION`). */
export function vsaLevel(target: string, alias: boolean): string {
  return `CUSTODY_${alias ? 'ALIAS' : 'STAGE'}_${target.toUpperCase().replace(/-/g, '_')}`;
}

/** A short description of a threshold, as written. */
export function describeThreshold(t: MetricThreshold): string {
  return `${t.metric} ${t.op} ${t.value}`;
}
