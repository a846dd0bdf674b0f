import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { Finding } from '../core/finding.js';
import type { Severity } from '../core/severity.js';
import { createKeySigner } from '../integrity/signer.js';
import type { PrivateKeyInfo } from '../integrity/keys.js';
import { signStatement } from '../integrity/attest.js';
import { serializeBundle } from '../integrity/bundle.js';
import { buildScanAttestation, TEST_RESULT_PREDICATE_TYPE } from '../integrity/test-result.js';
import type { BlobStore } from '../store/blobs.js';
import type { AttachmentInput, StoredFile } from '../store/metadata.js';

/** The scanners the server runs on every pushed version (`custody scan --only models,secrets`). */
export const SERVER_SCANNERS = ['models', 'secrets'] as const;
/** Findings at or above this severity make the scan attestation FAILED. */
export const SERVER_SCAN_FAIL_ON: Severity = 'high';

export interface ScanSubject {
  project: string;
  kind: 'model' | 'dataset';
  name: string;
  digest: string;
  files: readonly StoredFile[];
}

/** The findings kept with the attestation (already redacted by the scanners). */
export interface StoredFinding {
  ruleId: string;
  severity: Severity;
  message: string;
  path: string;
  member?: string;
}

/**
 * Scans a version's files with the models and secrets scanners: the blobs are linked into a scratch
 * directory under their manifest names (validated names, so nothing lands outside it), scanned with
 * the default configuration (never a config found in the version; .gitignore files in it are not
 * honoured), and the result becomes an in-toto test-result attestation signed with the server's key.
 */
export async function scanVersion(subject: ScanSubject, blobs: BlobStore, scratch: string, key: PrivateKeyInfo, toolVersion: string): Promise<AttachmentInput> {
  await mkdir(scratch, { recursive: true, mode: 0o700 });
  const dir = await mkdtemp(join(scratch, 'scan-'));
  try {
    for (const file of subject.files) {
      const path = join(dir, ...file.name.split('/'));
      await mkdir(dirname(path), { recursive: true });
      await blobs.materialize(file.sha256, path);
    }
    // Loaded on first use: a server that never scans (--no-scan) never loads the scanners.
    const { runScan } = await import('../scanners/engine.js');
    const { allRules } = await import('../scanners/index.js');
    const result = await runScan({ paths: [dir], only: [...SERVER_SCANNERS], gitignore: false, jobs: 0 });
    const prefix = `${dir.split('\\').join('/')}/`;
    const findings: StoredFinding[] = result.findings.map((f: Finding) => ({
      ruleId: f.ruleId,
      severity: f.severity,
      message: f.message,
      path: f.location.path.startsWith(prefix) ? f.location.path.slice(prefix.length) : f.location.path,
      ...(f.location.member === undefined ? {} : { member: f.location.member }),
    }));
    const rulesRun = allRules()
      .filter((r) => (SERVER_SCANNERS as readonly string[]).includes(r.scanner) || r.scanner === 'core' || r.scanner === 'containers')
      .map((r) => r.id);
    const statement = buildScanAttestation({
      subjects: [{ name: `${subject.project}/${subject.name}`, digest: { sha256: subject.digest } }],
      result: { findings: result.findings, summary: result.summary },
      failOn: SERVER_SCAN_FAIL_ON,
      rulesRun,
      toolVersion,
    });
    const bundle = await signStatement(statement, createKeySigner(key));
    return {
      kind: 'scan',
      predicateType: TEST_RESULT_PREDICATE_TYPE,
      bundle: serializeBundle(bundle),
      verified: true,
      result: JSON.stringify({ result: statement.predicate.result, bySeverity: result.summary.bySeverity, findings, signer: { keyHint: key.publicKey.hint } }),
      createdBy: 'custody-registry',
    };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
