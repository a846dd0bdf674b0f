import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { defaultConfig } from '../../src/core/config.js';
import type { Finding } from '../../src/core/finding.js';
import { runScan } from '../../src/scanners/engine.js';
import { FAMILY_BY_RULE } from '../../src/scanners/secrets/index.js';

/**
 * The independent red-team corpus (scripts/fixtures/gen_secrets_redteam.py): written apart from the
 * rules and from gen_secrets_corpus.py. Labels name every family that may fairly claim a value.
 */
export const REDTEAM_DIR = join('test', '.tmp', 'fixtures', 'secrets_redteam');

export interface RedteamLabel {
  path: string;
  line: number;
  families: string[];
}

export interface RedteamMiss {
  path: string;
  line: number;
  what: string;
}

export interface RedteamScore {
  files: number;
  expected: number;
  found: number;
  truePositives: number;
  precision: number;
  recall: number;
  falsePositives: RedteamMiss[];
  falseNegatives: RedteamMiss[];
  /** Every finding, for output checks (redaction, locations). */
  findings: readonly Finding[];
}

export function ensureRedteamCorpus(): void {
  const run = spawnSync('python3', ['scripts/fixtures/gen_secrets_redteam.py', REDTEAM_DIR], { stdio: 'inherit' });
  if (run.status !== 0 || !existsSync(join(REDTEAM_DIR, 'labels.json'))) throw new Error('red-team corpus generation failed');
}

/** Matches findings to labels on path and line, with the finding's family among the label's families. */
export function scoreRedteam(findings: readonly Finding[], labels: readonly RedteamLabel[], root: string, files: number): RedteamScore {
  const prefix = `${root.replace(/\/+$/, '')}/`;
  const open = labels.map((l) => ({ ...l, used: false }));
  const falsePositives: RedteamMiss[] = [];
  let tp = 0;
  for (const f of findings) {
    const path = f.location.path.startsWith(prefix) ? f.location.path.slice(prefix.length) : f.location.path;
    const line = f.location.line ?? 0;
    const family = FAMILY_BY_RULE.get(f.ruleId) ?? 'meta';
    const hit = open.find((l) => !l.used && l.path === path && l.line === line && l.families.includes(family));
    if (hit) {
      hit.used = true;
      tp++;
    } else falsePositives.push({ path, line, what: f.ruleId });
  }
  const falseNegatives = open.filter((l) => !l.used).map((l) => ({ path: l.path, line: l.line, what: l.families.join('|') }));
  return {
    files,
    expected: labels.length,
    found: findings.length,
    truePositives: tp,
    precision: findings.length === 0 ? 1 : tp / findings.length,
    recall: labels.length === 0 ? 1 : tp / labels.length,
    falsePositives,
    falseNegatives,
    findings,
  };
}

export async function evaluateRedteam(jobs = 0): Promise<RedteamScore> {
  ensureRedteamCorpus();
  const labels = JSON.parse(readFileSync(join(REDTEAM_DIR, 'labels.json'), 'utf8')) as { expected: RedteamLabel[]; files: string[] };
  const root = join(REDTEAM_DIR, 'tree');
  const result = await runScan({ paths: [root], only: ['secrets'], config: defaultConfig(), jobs, gitignore: false });
  return scoreRedteam(result.findings, labels.expected, root, labels.files.length);
}

export function describeMisses(score: RedteamScore, limit = 60): string {
  return [...score.falsePositives.map((x) => `FP ${x.path}:${x.line} ${x.what}`), ...score.falseNegatives.map((x) => `FN ${x.path}:${x.line} ${x.what}`)]
    .slice(0, limit)
    .join('\n');
}
