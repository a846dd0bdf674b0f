// Shared by the models corpus test, the fuzz test and bench/models-detection: loads the independent corpus
// written by scripts/fixtures/gen_models_corpus.py and scans one buffer with the whole models scanner.
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { BufferSource } from '../../src/core/byte-source.js';
import { defaultConfig, type ResolvedConfig } from '../../src/core/config.js';
import type { Finding } from '../../src/core/finding.js';
import { scanSource, type FileScanOptions } from '../../src/scanners/file-scan.js';
import { SCANNERS, allRules } from '../../src/scanners/index.js';

export interface CorpusFile {
  path: string;
  label: 'malicious' | 'benign';
  technique: string;
  description: string;
  executes: boolean;
  format: string;
}

export const CORPUS_DIR = fileURLToPath(new URL('../.tmp/fixtures/models_corpus/', import.meta.url));

/** Reads manifest.json; throws with the command to run when the generator has not run. */
export function loadCorpus(dir: string = CORPUS_DIR): CorpusFile[] {
  const manifest = `${dir}manifest.json`;
  if (!existsSync(manifest)) {
    throw new Error(`models corpus missing at ${dir}: run \`python3 scripts/fixtures/gen_models_corpus.py ${dir}\` (node scripts/run-tests.mjs does)`);
  }
  const parsed = JSON.parse(readFileSync(manifest, 'utf8')) as { files: CorpusFile[] };
  return parsed.files;
}

export function readCorpusFile(file: CorpusFile, dir: string = CORPUS_DIR): Buffer {
  return readFileSync(`${dir}${file.path}`);
}

/** `custody scan --only models`: the models scanner plus the always-on container expanders (as selectScanners picks them). */
export function modelsScanOptions(config: ResolvedConfig = defaultConfig()): FileScanOptions {
  const scanners = SCANNERS.filter((s) => s.alwaysOn === true || s.name === 'models');
  return { scanners, config, knownRuleIds: new Set(allRules().map((r) => r.id)) };
}

export function scanBuffer(path: string, data: Buffer, options: FileScanOptions): Promise<Finding[]> {
  return scanSource(path, new BufferSource(data), options);
}

export function isSevere(finding: Finding): boolean {
  return finding.severity === 'critical' || finding.severity === 'high';
}

export function describeFindings(findings: readonly Finding[]): string {
  if (findings.length === 0) return 'no findings';
  return findings.map((f) => `${f.severity} ${f.ruleId}${f.location.member ? ` [${f.location.member}]` : ''}: ${f.message}`).join('; ');
}
