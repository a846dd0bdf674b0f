import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { defaultConfig } from '../../src/core/config.js';
import type { Finding } from '../../src/core/finding.js';
import { runScan } from '../../src/scanners/engine.js';

const dir = mkdtempSync(join(tmpdir(), 'custody-compose-'));
after(() => rmSync(dir, { recursive: true, force: true }));
let counter = 0;

async function scan(name: string, text: string): Promise<Finding[]> {
  const root = join(dir, `p${counter++}`);
  mkdirSync(root, { recursive: true });
  writeFileSync(join(root, name), text);
  return (await runScan({ paths: [root], only: ['config'], config: defaultConfig(), jobs: 0 })).findings;
}

const summary = (findings: readonly Finding[]): string[] => findings.map((f) => `${f.ruleId.slice(7)}@${f.location.line}:${f.severity}`).sort();

describe('docker-compose', () => {
  it('the risky file: public ML ports, privilege, host namespaces, literal credentials, launch flags', async () => {
    const findings = await scan('docker-compose.yml', [
      'services:',
      '  notebook:',
      '    image: quay.io/jupyter/pytorch-notebook:latest',
      '    ports:',
      '      - "8888:8888"',
      '    command: start-notebook.py --IdentityProvider.token=\'\' --ip=0.0.0.0',
      '    environment:',
      '      HF_TOKEN: hf_abcdefghijklmnopqrstuvwxyzABCDEFGH',
      '      HF_HOME: /data/hf',
      '  mlflow:',
      '    image: ghcr.io/mlflow/mlflow:v2.16.0',
      '    ports: ["0.0.0.0:5000:5000"]',
      '    command: ["mlflow", "server", "--host", "0.0.0.0"]',
      '  worker:',
      '    image: rayproject/ray:2.9.0',
      '    privileged: true',
      '    network_mode: host',
      '    volumes:',
      '      - /var/run/docker.sock:/var/run/docker.sock',
      '    cap_add: [SYS_ADMIN]',
      '    environment:',
      '      - DB_PASSWORD=hunter2-very-secret',
      '      - API_KEY=${API_KEY}',
      '  ui:',
      '    image: example/app:1.0',
      '    ports:',
      '      - target: 7860',
      '        published: 7860',
      '',
    ].join('\n'));
    assert.deepEqual(summary(findings), [
      'compose-ml-port-public@12:high',
      'compose-ml-port-public@27:medium',
      'compose-ml-port-public@5:high',
      'compose-privileged@16:high',
      'compose-privileged@17:medium',
      'compose-privileged@19:high',
      'compose-privileged@20:medium',
      'compose-secret-env@22:high',
      'compose-secret-env@8:high',
      'jupyter-no-auth@6:critical',
      'mlflow-exposed@13:high',
    ]);
    assert.ok(!JSON.stringify(findings).includes('hunter2-very-secret'));
  });

  it('the fixed twin is quiet', async () => {
    const findings = await scan('compose.yaml', [
      'services:',
      '  notebook:',
      '    image: quay.io/jupyter/pytorch-notebook@sha256:' + 'c'.repeat(64),
      '    ports: ["127.0.0.1:8888:8888"]',
      '    environment:',
      '      HF_TOKEN: ${HF_TOKEN}',
      '  mlflow:',
      '    image: ghcr.io/mlflow/mlflow:v2.16.0',
      '    expose: ["5000"]',
      '    command: mlflow server --host 0.0.0.0 --app-name basic-auth',
      '  web:',
      '    image: nginx:1.27',
      '    ports: ["443:443"]',
      '',
    ].join('\n'));
    assert.deepEqual(summary(findings), []);
  });
});
