import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, describe, it } from 'node:test';
import { defaultConfig } from '../../src/core/config.js';
import type { Finding } from '../../src/core/finding.js';
import { runScan } from '../../src/scanners/engine.js';
import { parseDockerfile } from '../../src/scanners/config/dockerfile-parser.js';

const dir = mkdtempSync(join(tmpdir(), 'custody-dockerfile-'));
after(() => rmSync(dir, { recursive: true, force: true }));
let counter = 0;

async function scan(files: Record<string, string>): Promise<Finding[]> {
  const root = join(dir, `p${counter++}`);
  for (const [path, content] of Object.entries(files)) {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), content);
  }
  return (await runScan({ paths: [root], only: ['config'], config: defaultConfig(), jobs: 0 })).findings;
}

const summary = (findings: readonly Finding[]): string[] => findings.map((f) => `${f.ruleId.slice(7)}@${f.location.line}:${f.severity}`).sort();
const df = (...lines: string[]): string => lines.join('\n') + '\n';

describe('Dockerfile parser', () => {
  it('reads continuations (with comment lines inside), the escape directive, heredocs, exec form and flags', () => {
    const parsed = parseDockerfile(df(
      '# escape=`',
      'FROM python:3.11 AS build',
      'RUN apt-get update && `',
      '# a comment inside the continuation',
      '    apt-get install -y curl',
      'RUN --mount=type=secret,id=tok <<EOF',
      'echo from heredoc',
      'EOF',
      'CMD ["python", "train.py"]',
    ));
    assert.deepEqual(parsed.instructions.map((i) => [i.keyword, i.line]), [['FROM', 2], ['RUN', 3], ['RUN', 6], ['CMD', 9]]);
    assert.equal(parsed.instructions[1]!.args, 'apt-get update &&      apt-get install -y curl');
    assert.deepEqual(parsed.instructions[2]!.flags, ['--mount=type=secret,id=tok']);
    assert.deepEqual(parsed.instructions[2]!.heredocs, ['echo from heredoc']);
    assert.deepEqual(parsed.instructions[3]!.exec, ['python', 'train.py']);
    assert.deepEqual(parsed.problems, []);
    assert.equal(parseDockerfile('FROM x\nRUN <<EOF\nnever closed\n').problems.length, 1);
  });
});

describe('Dockerfile rules', () => {
  it('the risky file: every planted problem at its line', async () => {
    const findings = await scan({
      'Dockerfile': df(
        'ARG BASE=python:latest',
        'FROM ${BASE}',
        'ENV HF_TOKEN=hf_abcdefghijklmnopqrstuvwxyzABCDEFGH',
        'ARG WANDB_API_KEY',
        'RUN curl -fsSL https://install.example.com/setup.sh | bash',
        'RUN pip install --no-cache-dir torch transformers==4.44.0 accelerate',
        'ADD https://example.com/weights.bin /models/',
        'COPY . .',
        'USER root',
        'CMD ["python", "serve.py"]',
      ),
      '.env': 'X=1\n',
    });
    assert.deepEqual(summary(findings), [
      'docker-add-remote@7:medium',
      'docker-base-unpinned@2:medium',
      'docker-context-secrets@8:high',
      'docker-curl-pipe-shell@5:high',
      'docker-pip-unpinned@6:medium',
      'docker-runs-as-root@9:medium',
      'docker-secret-in-build@3:high',
      'docker-secret-in-build@4:medium',
    ]);
    const secret = findings.find((f) => f.ruleId === 'config/docker-secret-in-build' && f.location.line === 3)!;
    assert.ok(!JSON.stringify(secret).includes('abcdefghijklmnopqrstuvwxyzABCDEFGH'), 'the credential is redacted');
  });

  it('the fixed twin is quiet at medium and above', async () => {
    const findings = await scan({
      'Dockerfile': df(
        'FROM python:3.11-slim@sha256:' + 'a'.repeat(64) + ' AS build',
        'RUN --mount=type=secret,id=hf_token pip install --require-hashes -r requirements.txt',
        'ADD --checksum=sha256:' + 'b'.repeat(64) + ' https://example.com/weights.bin /models/',
        'FROM build',
        'ENV PYTHONUNBUFFERED=1 HF_TOKEN_PATH=/run/secrets/hf_token',
        'COPY . .',
        'RUN useradd --uid 10001 app',
        'USER 10001',
        'CMD ["python", "serve.py"]',
      ),
      '.dockerignore': '.git\n**/.env*\n*.pem\n',
      '.env': 'X=1\n',
    });
    assert.deepEqual(summary(findings), []);
  });

  it('tags without digests are low; a whole-context copy without .dockerignore is low when no secret file is there', async () => {
    const findings = await scan({ 'svc/Dockerfile': df('FROM python:3.11-slim', 'COPY . /app', 'USER app') });
    assert.deepEqual(summary(findings), ['docker-base-unpinned@1:low', 'docker-context-secrets@2:low']);
  });

  it('a negated .dockerignore pattern brings .env back', async () => {
    const findings = await scan({ 'Dockerfile': df('FROM scratch', 'COPY . /', 'USER 1000'), '.dockerignore': '.env*\n!.env\n', '.env': 'A=1\n' });
    assert.deepEqual(summary(findings), ['docker-context-secrets@2:high']);
  });

  it('a .dockerignore or manifest that is a FIFO is not read (no hang) and counts as absent', async () => {
    const root = join(dir, `fifo${counter++}`);
    mkdirSync(root);
    writeFileSync(join(root, 'Dockerfile'), df('FROM scratch', 'COPY . /', 'USER 1000'));
    writeFileSync(join(root, '.env'), 'A=1\n');
    execFileSync('mkfifo', [join(root, '.dockerignore')]);
    execFileSync('mkfifo', [join(root, 'requirements.txt')]);
    writeFileSync(join(root, 'train.py'), 'import torch\nx = torch.load(p)\n');
    const findings = (await runScan({ paths: [join(root, 'Dockerfile'), join(root, 'train.py')], only: ['config', 'code'], config: defaultConfig(), jobs: 0 })).findings;
    assert.deepEqual(summary(findings.filter((f) => f.ruleId.startsWith('config/'))), ['docker-context-secrets@2:high']);
    assert.deepEqual(findings.filter((f) => f.ruleId === 'code/torch-load-unsafe').map((f) => f.severity), ['high']);
  });
});
