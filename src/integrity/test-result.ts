import { CustodyError } from '../core/errors.js';
import { atLeast, SEVERITIES, type Severity } from '../core/severity.js';
import { compareNames } from './names.js';
import { buildStatement, type ResourceDescriptor, type Statement } from './statement.js';

export const TEST_RESULT_PREDICATE_TYPE = 'https://in-toto.io/attestation/test-result/v0.1';

export interface TestResultPredicate {
  result: 'PASSED' | 'WARNED' | 'FAILED';
  configuration: ResourceDescriptor[];
  url?: string;
  passedTests: string[];
  warnedTests: string[];
  failedTests: string[];
}

/** The parts of a scan result (src/scanners/engine.ts ScanResult) an attestation records. */
export interface ScanResultLike {
  findings: readonly { ruleId: string; severity: Severity }[];
  summary: { files?: number; bytes?: number; scanners?: readonly string[] };
}

export interface ScanAttestationInput {
  /** What was scanned, as subjects (see digestArtifact). */
  subjects: readonly ResourceDescriptor[];
  result: ScanResultLike;
  /** The threshold the scan was judged by: a finding at or above it fails; below it warns. */
  failOn: Severity | 'none';
  /** Every rule that ran; those without findings are listed as passed. */
  rulesRun?: readonly string[];
  toolVersion: string;
  url?: string;
}

/**
 * Wraps a scan result as an in-toto test-result attestation. Tests are rule ids: a rule with a
 * finding at or above `failOn` failed, one with findings only below it warned, any other rule that
 * ran passed. The configuration records the tool, threshold, scanners and counts by severity.
 */
export function buildScanAttestation(input: ScanAttestationInput): Statement<TestResultPredicate> {
  if (input.subjects.length === 0) throw new CustodyError('USAGE', 'a scan attestation needs at least one subject (what was scanned)');
  const worst = new Map<string, Severity>();
  const bySeverity = Object.fromEntries(SEVERITIES.map((s) => [s, 0])) as Record<Severity, number>;
  for (const f of input.result.findings) {
    bySeverity[f.severity] += 1;
    const seen = worst.get(f.ruleId);
    if (seen === undefined || atLeast(f.severity, seen)) worst.set(f.ruleId, f.severity);
  }
  const failed: string[] = [];
  const warned: string[] = [];
  for (const [ruleId, severity] of worst) {
    if (input.failOn !== 'none' && atLeast(severity, input.failOn)) failed.push(ruleId);
    else warned.push(ruleId);
  }
  const passed = (input.rulesRun ?? []).filter((id) => !worst.has(id));
  const sort = (list: string[]): string[] => [...new Set(list)].sort(compareNames);
  const predicate: TestResultPredicate = {
    result: failed.length > 0 ? 'FAILED' : warned.length > 0 ? 'WARNED' : 'PASSED',
    configuration: [
      {
        name: 'custody scan',
        uri: 'https://github.com/custody-dev/custody',
        annotations: {
          version: input.toolVersion,
          failOn: input.failOn,
          scanners: [...(input.result.summary.scanners ?? [])],
          files: input.result.summary.files ?? null,
          findings: input.result.findings.length,
          bySeverity,
        },
      },
    ],
    ...(input.url ? { url: input.url } : {}),
    passedTests: sort(passed),
    warnedTests: sort(warned),
    failedTests: sort(failed),
  };
  return buildStatement([...input.subjects], TEST_RESULT_PREDICATE_TYPE, predicate);
}
