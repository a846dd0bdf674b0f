import { BufferSource } from '../../src/core/byte-source.js';
import { defaultConfig, type ResolvedConfig } from '../../src/core/config.js';
import type { Finding } from '../../src/core/finding.js';
import { scanSource } from '../../src/scanners/file-scan.js';
import { allRules } from '../../src/scanners/index.js';
import { secretsScanner } from '../../src/scanners/secrets/index.js';

const knownRuleIds = new Set(allRules().map((r) => r.id));

/** Scans `text` as if it were the file `path`, with only the secrets scanner. */
export async function scanText(text: string | Buffer, path = 'example.txt', config: ResolvedConfig = defaultConfig()): Promise<Finding[]> {
  const bytes = typeof text === 'string' ? Buffer.from(text, 'utf8') : text;
  return scanSource(path, new BufferSource(bytes), { scanners: [secretsScanner], config, knownRuleIds });
}

export function ruleIds(findings: readonly Finding[]): string[] {
  return findings.map((f) => f.ruleId);
}
