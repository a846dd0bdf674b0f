// Shared helpers for the container tests (test/models/containers-*.test.ts).
import { join } from 'node:path';
import { BufferSource, FileSource, type ByteSource } from '../../src/core/byte-source.js';
import { defaultConfig, type ResolvedConfig } from '../../src/core/config.js';
import type { Finding } from '../../src/core/finding.js';
import type { Scanner } from '../../src/core/scanner.js';
import { containersScanner } from '../../src/scanners/containers/index.js';
import { allRules } from '../../src/scanners/index.js';
import { scanSource } from '../../src/scanners/file-scan.js';
import { modelsScanner } from '../../src/scanners/models/index.js';

export const FIXTURES = 'test/.tmp/fixtures/containers';

/** The first bytes of the generator's malicious pickle (os.system('echo pwned') via REDUCE). */
export const PAYLOAD_HEAD = Buffer.from('\x80\x02cos\nsystem\n', 'latin1');

export interface ScanOutcome {
  findings: Finding[];
  /** Member paths (or '' for the file itself) whose content starts with the payload pickle. */
  payloadAt: string[];
  /** Every member path that was scanned. */
  members: string[];
}

/**
 * A probe scanner that records where the payload pickle was handed to the scanners: this shows the
 * container readers deliver it (at offset 0 of a target, where the pickle format reads) whatever the
 * state of the pickle analyser.
 */
function probe(outcome: ScanOutcome): Scanner {
  return {
    name: 'probe',
    description: 'records targets',
    rules: [],
    scan(target) {
      outcome.members.push(target.member ?? '');
      if (target.head.subarray(0, PAYLOAD_HEAD.length).equals(PAYLOAD_HEAD)) outcome.payloadAt.push(target.member ?? '');
      return Promise.resolve();
    },
  };
}

export async function scanBytesOrFile(path: string, source: ByteSource, config: ResolvedConfig = defaultConfig()): Promise<ScanOutcome> {
  const outcome: ScanOutcome = { findings: [], payloadAt: [], members: [] };
  const knownRuleIds = new Set(allRules().map((r) => r.id));
  // As the engine runs with --only models: the models scanner, the always-on containers scanner (tarballs), and the probe.
  outcome.findings = await scanSource(path, source, { scanners: [containersScanner, modelsScanner, probe(outcome)], config, knownRuleIds });
  return outcome;
}

/** Scans a generated fixture (path relative to the fixture directory) with the models scanner and the probe. */
export async function scanFixture(rel: string, config?: ResolvedConfig): Promise<ScanOutcome> {
  const source = await FileSource.open(join(FIXTURES, rel));
  try {
    return await scanBytesOrFile(rel, source, config);
  } finally {
    await source.close();
  }
}

export function scanBuffer(name: string, data: Buffer, config?: ResolvedConfig): Promise<ScanOutcome> {
  return scanBytesOrFile(name, new BufferSource(data), config);
}

export function ruleIds(findings: readonly Finding[]): string[] {
  return [...new Set(findings.map((f) => f.ruleId))].sort();
}

export function withRule(findings: readonly Finding[], ruleId: string): Finding[] {
  return findings.filter((f) => f.ruleId === ruleId);
}

/** True when some finding of `ruleId` is critical or high. */
export function hasHigh(findings: readonly Finding[], ruleId: string): boolean {
  return findings.some((f) => f.ruleId === ruleId && (f.severity === 'critical' || f.severity === 'high'));
}

/** Container-rule findings only (what this area reports), for negative cases. */
export function containerFindings(findings: readonly Finding[]): Finding[] {
  const mine = /^models\/(zip-|archive-|torch-legacy-|npy-|compressed-|unscannable-)/;
  return findings.filter((f) => mine.test(f.ruleId));
}

/** The pickle analyser reported the payload (a critical models/pickle-* finding). */
export function analysed(outcome: ScanOutcome): boolean {
  return outcome.findings.some((f) => f.severity === 'critical' && f.ruleId.startsWith('models/pickle'));
}

/**
 * A hidden payload must be caught: the payload reached a scanner as a target of its own, and the
 * scan reports at least one critical or high finding.
 */
export function caught(outcome: ScanOutcome): boolean {
  return outcome.payloadAt.length > 0 && outcome.findings.some((f) => f.severity === 'critical' || f.severity === 'high');
}
