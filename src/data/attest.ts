import { CustodyError } from '../core/errors.js';
import { SEVERITIES, type Severity } from '../core/severity.js';
import { buildScanAttestation, type ResourceDescriptor, type Statement, type TestResultPredicate } from '../integrity/index.js';
import type { DataCheckResult } from './check.js';
import { dataRules } from './rules.js';

export interface DataCheckAttestationInput {
  result: DataCheckResult;
  /** The threshold the check was judged by: a finding at or above it fails its rule; below it warns. */
  failOn: Severity | 'none';
  toolVersion: string;
  /** The contract file's SHA-256, when one was used. */
  contract?: { name: string; sha256: string };
}

/**
 * Wraps a data check as an in-toto test-result attestation (the predicate `custody attest scan`
 * writes). The subject is the candidate dataset, named by the root digest of its OMS manifest (what
 * `custody hash` prints, `custody sign` signs and `custody attest verify` recomputes). Tests are the
 * data rule ids: failed, warned or passed as for scans. The configuration records the tool, the
 * threshold, the baseline (digest and content hash) and the contract, so a registry policy can
 * require a passing check against a particular baseline.
 */
export function buildDataCheckAttestation(input: DataCheckAttestationInput): Statement<TestResultPredicate> {
  const { result } = input;
  const manifest = result.manifest;
  const digest = manifest.kind === 'file' ? manifest.resources[0]?.digest : manifest.rootDigest;
  if (digest === undefined || digest === '') throw new CustodyError('INTERNAL', 'the checked dataset has no digest');
  const bySeverity = Object.fromEntries(SEVERITIES.map((s) => [s, 0])) as Record<Severity, number>;
  for (const f of result.findings) bySeverity[f.severity] += 1;
  // The same test-result judgement as a scan's (rules as tests), with a data-check configuration.
  const judged = buildScanAttestation({
    subjects: [{ name: manifest.name, digest: { sha256: digest } }],
    result: { findings: result.findings, summary: {} },
    failOn: input.failOn,
    rulesRun: dataRules.map((r) => r.id),
    toolVersion: input.toolVersion,
  });
  const baseline = result.analysis.baseline;
  const configuration: ResourceDescriptor[] = [
    {
      name: 'custody data check',
      uri: 'https://github.com/custody-dev/custody',
      annotations: {
        version: input.toolVersion,
        failOn: input.failOn,
        rows: result.summary.rows,
        findings: result.findings.length,
        bySeverity,
        baseline: { name: baseline.source.name, digest: baseline.source.digest, rows: baseline.source.rows, ...(baseline.source.contentHash ? { contentHash: baseline.source.contentHash } : {}) },
        ...(result.analysis.content ? { contentHash: result.analysis.content.candidate } : {}),
        ...(baseline.options.key ? { key: baseline.options.key } : {}),
        ...(baseline.options.label ? { label: baseline.options.label } : {}),
      },
    },
  ];
  if (input.contract) configuration.push({ name: input.contract.name, digest: { sha256: input.contract.sha256 }, annotations: { role: 'contract' } });
  return { ...judged, predicate: { ...judged.predicate, configuration } };
}
