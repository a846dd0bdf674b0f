// Scan results for the HTML report's tests: findings of every scanner (models, secrets, deps, code, config,
// core), with member paths, notebook cells, commits, evidence, very long paths and hostile strings.
import type { Finding } from '../../src/core/finding.js';
import { SEVERITIES, type Severity } from '../../src/core/severity.js';
import type { ScanResult } from '../../src/scanners/engine.js';

/** Markers an executed payload would set; the page must never set them. */
export const XSS = {
  img: '<img src=x onerror="window.__xss=1;alert(1)">',
  script: '</script><script>window.__xss=2;alert(2)</script>',
  attr: 'x" onmouseover="window.__xss=3" data-x="',
  svg: '"><svg onload=window.__xss=4>',
  style: '</style><style>body{display:none}</style>',
} as const;

export const RLO = '\u202e';
export const LONG_PATH = `${'very-long-directory-name/'.repeat(160)}model.safetensors`;

const DOCS = 'https://github.com/custody-dev/custody/blob/main/docs/rules';

function finding(ruleId: string, severity: Severity, path: string, extra: Partial<Finding> = {}): Finding {
  const scanner = ruleId.slice(0, ruleId.indexOf('/'));
  return {
    ruleId,
    scanner,
    severity,
    confidence: 'high',
    title: `Title of ${ruleId}`,
    message: `Message of ${ruleId} in ${path}`,
    location: { path },
    remediation: `Remediation for ${ruleId}`,
    docs: `${DOCS}/${ruleId}.md`,
    fingerprint: `${ruleId}:${path}:${JSON.stringify(extra.location ?? {})}`,
    tags: ['cwe:502'],
    ...extra,
  };
}

/** Sixteen findings of six scanners; counts are in SAMPLE_COUNTS. */
export function sampleFindings(): Finding[] {
  return [
    finding('models/pickle-dangerous-global', 'critical', 'models/model.pt', { location: { path: 'models/model.pt', member: 'archive/data.pkl', offset: 77 }, evidence: 'GLOBAL posix system', message: 'The pickle imports posix.system' }),
    finding('models/pickle-unknown-global', 'medium', 'models/model.pt', { location: { path: 'models/model.pt', member: 'archive/extra.pkl', offset: 12 }, evidence: 'GLOBAL mylib Thing' }),
    finding('secrets/aws-access-key', 'high', 'config/.env', { location: { path: 'config/.env', line: 3, column: 19 }, evidence: 'AWS_ACCESS_KEY_ID=AKIA************MPLE' }),
    finding('secrets/generic-password', 'medium', 'notebooks/explore.ipynb', { location: { path: 'notebooks/explore.ipynb', line: 41 }, evidence: 'password = "********"', properties: { cell: 3, cellLine: 2, field: 'source' } }),
    finding('secrets/github-token', 'high', 'scripts/deploy.sh', { location: { path: 'scripts/deploy.sh', line: 9 }, properties: { commit: '0123456789abcdef0123', inHead: false } }),
    finding('deps/unpinned-version', 'medium', 'requirements.txt', { location: { path: 'requirements.txt', line: 4 }, evidence: 'torch>=2.0', message: 'torch is not pinned to one version' }),
    finding('deps/typosquat', 'high', 'requirements.txt', { location: { path: 'requirements.txt', line: 7 }, evidence: 'reqeusts==2.31.0', message: 'reqeusts is one edit away from the popular package requests' }),
    finding('deps/no-hashes', 'low', 'requirements.txt', { location: { path: 'requirements.txt', line: 1 } }),
    finding('code/torch-load-unsafe', 'high', 'train.py', { location: { path: 'train.py', line: 12, column: 9 }, evidence: 'model = torch.load(path)' }),
    finding('code/trust-remote-code', 'medium', 'notebooks/explore.ipynb', { location: { path: 'notebooks/explore.ipynb', line: 17 }, properties: { cell: 1, cellLine: 4 } }),
    finding('config/dockerfile-root-user', 'medium', 'Dockerfile', { location: { path: 'Dockerfile', line: 1 } }),
    finding('config/gha-unpinned-action', 'low', '.github/workflows/ci.yml', { location: { path: '.github/workflows/ci.yml', line: 20, column: 15 }, evidence: 'uses: actions/checkout@v4' }),
    finding('core/findings-capped', 'info', 'data/huge.csv', { message: '4000 more findings of secrets/generic-password in this file' }),
    finding('models/unsupported-format', 'low', LONG_PATH, { location: { path: LONG_PATH, member: `${'nested/'.repeat(40)}weights.bin` }, message: `A file with a very long path ${'x'.repeat(600)}` }),
    // Hostile: names, members, messages and evidence written by an attacker.
    finding('secrets/private-key', 'critical', `uploads/${XSS.img}${RLO}gpj.exe`, {
      location: { path: `uploads/${XSS.img}${RLO}gpj.exe`, member: `a!b!${XSS.script}`, line: 2 },
      message: `key found ${XSS.script} ${XSS.svg}`,
      evidence: `${XSS.img}\n${XSS.style}\u200b\x1b[2J`,
      remediation: `rotate ${XSS.attr}`,
      tags: ['cwe:798', XSS.attr],
      properties: { layer: XSS.img },
    }),
    finding('config/jupyter-no-token', 'info', `${XSS.svg}/jupyter_server_config.py`, { location: { path: `${XSS.svg}/jupyter_server_config.py`, line: 5 }, docs: 'javascript:window.__xss=5' }),
  ];
}

export const SAMPLE_COUNTS = {
  total: 16,
  severity: { critical: 2, high: 4, medium: 5, low: 3, info: 2 },
  scanner: { code: 2, config: 3, core: 1, deps: 3, models: 3, secrets: 4 },
  files: 12,
} as const;

export function resultOf(findings: Finding[], scanners: string[] = ['models', 'secrets', 'deps', 'code', 'config']): ScanResult {
  const bySeverity = Object.fromEntries(SEVERITIES.map((s) => [s, findings.filter((f) => f.severity === s).length])) as Record<Severity, number>;
  return { findings, summary: { files: 40, bytes: 123_456, findings: findings.length, bySeverity, baselined: 0, durationMs: 1234, scanners } };
}

/**
 * `n` findings spread over files (`perFile` each), severities and scanners in a fixed cycle: the shape of
 * a scan of a big monorepo, for the bounds tests.
 */
export function manyFindings(n: number, perFile: number): Finding[] {
  const rules = ['secrets/generic-password', 'deps/unpinned-version', 'code/torch-load-unsafe', 'config/dockerfile-root-user', 'models/pickle-unknown-global'];
  const out: Finding[] = [];
  for (let i = 0; i < n; i++) {
    const file = Math.floor(i / perFile);
    const ruleId = rules[i % rules.length] as string;
    const severity = SEVERITIES[(i * 7) % SEVERITIES.length] as Severity;
    const path = `repo/pkg-${file % 97}/module-${file}.py`;
    out.push(finding(ruleId, severity, path, { location: { path, line: (i % perFile) + 1 }, fingerprint: String(i), evidence: `value_${i} = load(path_${i})` }));
  }
  return out;
}
