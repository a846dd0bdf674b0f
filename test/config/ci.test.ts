import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, describe, it } from 'node:test';
import { defaultConfig } from '../../src/core/config.js';
import type { Finding } from '../../src/core/finding.js';
import { runScan } from '../../src/scanners/engine.js';

const dir = mkdtempSync(join(tmpdir(), 'custody-ci-'));
after(() => rmSync(dir, { recursive: true, force: true }));
let counter = 0;

async function scan(files: Record<string, string>): Promise<Finding[]> {
  const root = join(dir, `p${counter++}`);
  for (const [path, content] of Object.entries(files)) {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), content);
  }
  return (await runScan({ paths: [root], only: ['config'], config: defaultConfig(), jobs: 0, gitignore: false })).findings;
}

const summary = (findings: readonly Finding[]): string[] => findings.map((f) => `${f.ruleId.slice(7)}@${f.location.line}:${f.severity}`).sort();
const SHA = 'b4ffde65f46336ab88eb53be808477a3936bae11';

describe('GitHub Actions', () => {
  it('the risky workflow: pwn request, injection, unpinned actions, secrets, permissions, publish token, cache', async () => {
    const workflow = [
      'name: ci', //                                                            1
      'on:',
      '  pull_request_target:',
      '    types: [opened, synchronize]',
      'permissions: write-all', //                                              5
      'jobs:',
      '  build:',
      '    runs-on: ubuntu-latest',
      '    steps:',
      '      - uses: actions/checkout@v4', //                                  10
      '        with:',
      '          ref: ${{ github.event.pull_request.head.sha }}',
      '      - uses: actions/cache@v4',
      '        with: {path: ~/.cache/pip, key: pip}',
      '      - run: | ', //                                                   15
      '          echo "Building ${{ github.event.pull_request.title }}"',
      '          echo ${{ secrets.HF_TOKEN }}',
      '      - uses: some-org/upload-model@main',
      '        with:',
      '          token: ${{ secrets.HF_TOKEN }}', //                          20
      '      - uses: pypa/gh-action-pypi-publish@release/v1',
      '        with:',
      '          password: ${{ secrets.PYPI_API_TOKEN }}',
      '      - run: jupyter lab --ip=0.0.0.0 --ServerApp.token=',
      '',
    ].join('\n');
    assert.deepEqual(summary(await scan({ '.github/workflows/ci.yml': workflow })), [
      'ci-cache-poisoning@13:high',
      'ci-excessive-permissions@5:medium',
      'ci-long-lived-publish-token@23:medium',
      'ci-secret-exposure@17:high',
      'ci-secret-exposure@20:high',
      'ci-secret-exposure@23:high',
      'ci-template-injection@16:high',
      'ci-unpinned-action@10:low',
      'ci-unpinned-action@13:low',
      'ci-unpinned-action@18:medium',
      'ci-unpinned-action@21:medium',
      'ci-untrusted-checkout@12:critical',
      'jupyter-no-auth@24:critical',
    ]);
  });

  it('the fixed twin: pull_request, values through env, pinned actions, trusted publishing', async () => {
    const workflow = [
      'on: [pull_request]',
      'permissions: {contents: read}',
      'jobs:',
      '  build:',
      '    runs-on: ubuntu-latest',
      '    permissions: {id-token: write}',
      '    steps:',
      `      - uses: actions/checkout@${SHA} # v4`,
      `      - uses: actions/cache@${SHA}`,
      '        with: {path: ~/.cache/pip, key: pip}',
      '      - env:',
      '          TITLE: ${{ github.event.pull_request.title }}',
      '        run: echo "Building $TITLE"',
      `      - uses: pypa/gh-action-pypi-publish@${SHA}`,
      '',
    ].join('\n');
    assert.deepEqual(summary(await scan({ '.github/workflows/ci.yml': workflow })), []);
  });
});

describe('GitLab CI', () => {
  it('literal credentials, unpinned includes and launch flags; variables by reference are quiet', async () => {
    const gitlab = [
      'include:',
      '  - remote: https://example.com/ci/templates.yml',
      '  - project: platform/ci',
      '    ref: main',
      'variables:',
      '  HF_TOKEN: hf_abcdefghijklmnopqrstuvwxyzABCDEFGH',
      '  WANDB_API_KEY: $WANDB_KEY',
      'train:',
      '  script:',
      '    - mlflow server --host 0.0.0.0 &',
      '    - python train.py',
      '',
    ].join('\n');
    const findings = await scan({ '.gitlab-ci.yml': gitlab });
    assert.deepEqual(summary(findings), ['ci-secret-exposure@6:high', 'ci-unpinned-action@2:medium', 'ci-unpinned-action@3:medium', 'mlflow-exposed@10:high']);
    assert.ok(!JSON.stringify(findings).includes('abcdefghijklmnopqrstuvwxyzABCDEFGH'));
  });
});
