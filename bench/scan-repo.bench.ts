// Every scanner over a generated ML repository of 20,000 files (Python, notebooks, YAML, Kubernetes,
// Dockerfiles, requirements, Terraform, Markdown), as the whole CLI process. Target: under 30 s and under
// 500 MB peak RSS on this 2-core machine. Baseline in the same run: `grep -r` of the same tree for a few
// words (reading every byte once, no parsing).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { mulberry32 } from '../test/support/random.js';
import { canMeasureCli, measureProcess } from './cli-process.js';

const ROOT = 'bench/.work/scan-repo';
const FILES = 20_000;
const STAMP = join(ROOT, `.stamp-${FILES}-1`);

function generate(): void {
  const random = mulberry32(0x5ca4);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
  const words = ['model', 'train', 'batch', 'loss', 'epoch', 'tensor', 'feature', 'label', 'score', 'metric', 'layer', 'weight'];
  const python = (i: number): string => {
    const lines = ['import os', 'import json', i % 3 === 0 ? 'import torch' : 'import numpy as np', i % 7 === 0 ? 'from transformers import AutoModel' : 'import logging', ''];
    for (let f = 0; f < 12 + (i % 20); f++) {
      lines.push(`def ${pick(words)}_${f}(x, y=None):`, `    """Compute the ${pick(words)} for a ${pick(words)}."""`, `    value = x * ${f} + (y or 0)`, `    return json.dumps({"${pick(words)}": value})`, '');
    }
    if (i % 3 === 0) lines.push('state = torch.load(path, weights_only=True)');
    if (i % 7 === 0) lines.push(`enc = AutoModel.from_pretrained("org/m${i}", revision="${'a'.repeat(40)}")`);
    return lines.join('\n') + '\n';
  };
  const notebook = (i: number): string => JSON.stringify({ cells: Array.from({ length: 8 }, (_, c) => ({ cell_type: c % 3 === 0 ? 'markdown' : 'code', execution_count: null, metadata: {}, outputs: [], source: [`# cell ${c} of notebook ${i}\n`, `x_${c} = ${c} * 2\n`, 'print(x)\n'] })), metadata: { kernelspec: { name: 'python3' } }, nbformat: 4, nbformat_minor: 5 }, null, 1);
  const yaml = (i: number): string => Array.from({ length: 30 }, (_, k) => `${pick(words)}_${k}: ${k % 2 === 0 ? `"${pick(words)}"` : k * i}`).join('\n') + '\n';
  const manifest = (i: number): string => `apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: svc-${i}}\nspec:\n  template:\n    spec:\n      securityContext: {runAsNonRoot: true, runAsUser: 1000}\n      containers:\n        - name: app\n          image: registry.example/app@sha256:${'b'.repeat(64)}\n          resources: {limits: {cpu: "1", memory: 1Gi}}\n`;
  const dockerfile = (): string => `FROM python:3.12-slim@sha256:${'c'.repeat(64)}\nRUN pip install --require-hashes -r requirements.txt\nCOPY src/ /app/src/\nUSER 10001\nCMD ["python", "-m", "app"]\n`;
  const requirements = (i: number): string => Array.from({ length: 15 }, (_, k) => `pkg-${i}-${k}==1.${k}.0 --hash=sha256:${'d'.repeat(64)}`).join('\n') + '\n';
  const terraform = (i: number): string => Array.from({ length: 10 }, (_, k) => `resource "aws_s3_bucket" "b${i}_${k}" {\n  bucket = "bucket-${i}-${k}"\n  tags   = { team = "${pick(words)}" }\n}\n`).join('\n');
  const markdown = (i: number): string => `# Notes ${i}\n\n` + Array.from({ length: 20 }, () => Array.from({ length: 12 }, () => pick(words)).join(' ')).join('\n\n') + '\n';
  for (let i = 0; i < FILES; i++) {
    const dir = join(ROOT, 'repo', `pkg${Math.floor(i / 400)}`, `mod${Math.floor(i / 20) % 20}`);
    mkdirSync(dir, { recursive: true });
    const kind = i % 20;
    if (kind < 8) writeFileSync(join(dir, `m${i}.py`), python(i));
    else if (kind < 10) writeFileSync(join(dir, `n${i}.ipynb`), notebook(i));
    else if (kind < 13) writeFileSync(join(dir, `c${i}.yaml`), yaml(i));
    else if (kind < 14) writeFileSync(join(dir, `k${i}.yaml`), manifest(i));
    else if (kind === 14) writeFileSync(join(dir, `Dockerfile.${i}`), dockerfile());
    else if (kind === 15) writeFileSync(join(dir, `requirements-${i}.txt`), requirements(i));
    else if (kind < 18) writeFileSync(join(dir, `t${i}.tf`), terraform(i));
    else writeFileSync(join(dir, `r${i}.md`), markdown(i));
  }
  writeFileSync(STAMP, '');
}

if (!existsSync(STAMP)) generate();
const repo = join(ROOT, 'repo');
const du = spawnSync('du', ['-sm', repo], { encoding: 'utf8' }).stdout.split('\t')[0];

const grepRuns: number[] = [];
for (let run = 0; run < 3; run++) {
  const start = performance.now();
  spawnSync('grep', ['-rlE', 'password|token|torch.load|trust_remote_code', repo], { stdio: 'ignore' });
  grepRuns.push((performance.now() - start) / 1000);
}
const median = (values: number[]): number => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
const grep = median(grepRuns);

// An empty configuration of its own, so that no configuration of the working directory applies.
const config = join(ROOT, 'custody.yml');
writeFileSync(config, '{}\n');
const runs: { seconds: number; rssMb: number }[] = [];
let files = '';
if (canMeasureCli()) {
  for (let run = 0; run < 3; run++) runs.push(measureProcess([process.execPath, 'bin/custody', 'scan', repo, '--config', config, '--format', 'json', '--output', join(ROOT, 'report.json'), '--fail-on', 'none']));
  const summary = JSON.parse(readFileSync(join(ROOT, 'report.json'), 'utf8')) as { summary?: { files?: number } };
  files = String(summary.summary?.files ?? '?');
}
const seconds = runs.length > 0 ? median(runs.map((r) => r.seconds)) : NaN;
const rss = runs.length > 0 ? median(runs.map((r) => r.rssMb)) : NaN;

console.log(`## bench/scan-repo.bench.ts — every scanner on a 20,000-file ML repository

Target: \`custody scan\` with every scanner (code, config, containers, deps, models, secrets) over ${FILES.toLocaleString('en')} generated files (${du} MB: Python, notebooks, YAML, Kubernetes, Dockerfiles, requirements, Terraform, Markdown) in under 30 s with peak RSS under 500 MB, as the whole CLI process.

| measure | median of 3 |
|---|---|
| whole CLI, start-up included (${files} files scanned) | ${seconds.toFixed(2)} s, peak RSS ${rss.toFixed(0)} MB |
| baseline: \`grep -rlE\` over the same tree | ${grep.toFixed(2)} s |

Ratio custody / grep: **${(seconds / grep).toFixed(1)}×** · target ${seconds < 30 && rss < 500 ? 'met' : 'NOT met'}.
`);
