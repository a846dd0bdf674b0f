import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { defaultConfig } from '../../src/core/config.js';
import type { Finding } from '../../src/core/finding.js';
import { runScan } from '../../src/scanners/engine.js';
import { FAMILY_BY_RULE } from '../../src/scanners/secrets/index.js';

/** The labelled corpus written by scripts/fixtures/gen_secrets_corpus.py. */
export const CORPUS_DIR = join('test', '.tmp', 'fixtures', 'secrets_corpus');

export interface Expected {
  path: string;
  line: number;
  family: string;
}

export interface FamilyScore {
  family: string;
  expected: number;
  found: number;
  truePositives: number;
  precision: number;
  recall: number;
}

export interface CorpusScore {
  files: number;
  total: FamilyScore;
  families: FamilyScore[];
  falsePositives: { path: string; line: number; family: string; ruleId: string }[];
  falseNegatives: Expected[];
}

/** Runs the generator if the corpus is missing or stale (the generator itself checks its version). */
export function ensureCorpus(): void {
  const run = spawnSync('python3', ['scripts/fixtures/gen_secrets_corpus.py', CORPUS_DIR], { stdio: 'inherit' });
  if (run.status !== 0 || !existsSync(join(CORPUS_DIR, 'manifest.json'))) throw new Error('secrets corpus generation failed');
}

export function familyOf(finding: Finding): string {
  return FAMILY_BY_RULE.get(finding.ruleId) ?? 'meta';
}

const key = (path: string, line: number, family: string): string => `${path}\0${line}\0${family}`;

/** Precision and recall of findings against the manifest, matched on (path, line, family) as multisets. */
export function scoreFindings(findings: readonly Finding[], expected: readonly Expected[], root: string, files: number): CorpusScore {
  const prefix = `${root.replace(/\/+$/, '')}/`;
  const want = new Map<string, number>();
  for (const e of expected) want.set(key(e.path, e.line, e.family), (want.get(key(e.path, e.line, e.family)) ?? 0) + 1);
  const remaining = new Map(want);
  const byFamily = new Map<string, { expected: number; found: number; tp: number }>();
  const fam = (f: string) => {
    let s = byFamily.get(f);
    if (!s) byFamily.set(f, (s = { expected: 0, found: 0, tp: 0 }));
    return s;
  };
  for (const e of expected) fam(e.family).expected++;
  const falsePositives: CorpusScore['falsePositives'] = [];
  for (const f of findings) {
    const path = f.location.path.startsWith(prefix) ? f.location.path.slice(prefix.length) : f.location.path;
    const family = familyOf(f);
    const line = f.location.line ?? 0;
    fam(family).found++;
    const k = key(path, line, family);
    const left = remaining.get(k) ?? 0;
    if (left > 0) {
      remaining.set(k, left - 1);
      fam(family).tp++;
    } else falsePositives.push({ path, line, family, ruleId: f.ruleId });
  }
  const falseNegatives: Expected[] = [];
  for (const [k, n] of remaining) {
    const [path, line, family] = k.split('\0') as [string, string, string];
    for (let i = 0; i < n; i++) falseNegatives.push({ path, line: Number(line), family });
  }
  const score = (family: string, s: { expected: number; found: number; tp: number }): FamilyScore => ({
    family,
    expected: s.expected,
    found: s.found,
    truePositives: s.tp,
    precision: s.found === 0 ? 1 : s.tp / s.found,
    recall: s.expected === 0 ? 1 : s.tp / s.expected,
  });
  const families = [...byFamily.entries()].map(([f, s]) => score(f, s)).sort((a, b) => (a.family < b.family ? -1 : 1));
  const total = families.reduce((t, f) => ({ expected: t.expected + f.expected, found: t.found + f.found, tp: t.tp + f.truePositives }), { expected: 0, found: 0, tp: 0 });
  return { files, total: score('all', total), families, falsePositives, falseNegatives };
}

/** Scans the corpus with the secrets scanner and scores it. */
export async function evaluateCorpus(jobs = 0): Promise<CorpusScore> {
  ensureCorpus();
  const manifest = JSON.parse(readFileSync(join(CORPUS_DIR, 'manifest.json'), 'utf8')) as { expected: Expected[]; files: string[] };
  const root = join(CORPUS_DIR, 'projects');
  const result = await runScan({ paths: [root], only: ['secrets'], config: defaultConfig(), jobs, gitignore: false });
  const expected = manifest.expected.map((e) => ({ ...e, path: e.path.replace(/^projects\//, '') }));
  return scoreFindings(result.findings, expected, root, manifest.files.length);
}
