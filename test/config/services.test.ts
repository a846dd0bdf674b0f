import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, describe, it } from 'node:test';
import { defaultConfig } from '../../src/core/config.js';
import type { Finding } from '../../src/core/finding.js';
import { runScan } from '../../src/scanners/engine.js';
import { shellWords, simpleCommands } from '../../src/scanners/config/commands.js';

const dir = mkdtempSync(join(tmpdir(), 'custody-services-'));
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

/** `file:rule@line:severity`, sorted, ignoring the Dockerfile hygiene rules these tests do not exercise. */
const summary = (findings: readonly Finding[]): string[] =>
  findings
    .filter((f) => !/docker-(?:runs-as-root|base-unpinned|context-secrets)/.test(f.ruleId))
    .map((f) => `${f.location.path.split('/').pop()}:${f.ruleId.slice(7)}@${f.location.line}:${f.severity}`)
    .sort();

describe('command lines', () => {
  it('shell words drop quotes; wrappers, env assignments and python -m are peeled off', () => {
    assert.deepEqual(shellWords(`jupyter lab --ip='0.0.0.0' --ServerApp.token="" --x=a\\ b`), ['jupyter', 'lab', '--ip=0.0.0.0', '--ServerApp.token=', '--x=a b']);
    assert.deepEqual(simpleCommands('cd /app && FOO=1 exec python -m jupyter notebook --allow-root; echo done', 3).map((c) => c.words), [['cd', '/app'], ['jupyter', 'notebook', '--allow-root'], ['echo', 'done']]);
    assert.deepEqual(simpleCommands('uv run mlflow server --host 0.0.0.0', 1)[0]!.words, ['mlflow', 'server', '--host', '0.0.0.0']);
  });
});

describe('Jupyter', () => {
  it('launch flags in Dockerfiles and scripts: public bind without a token is critical, unsafe switches medium', async () => {
    const findings = await scan({
      'Dockerfile': 'FROM jupyter/base-notebook@sha256:' + 'a'.repeat(64) + '\nUSER 1000\nCMD ["jupyter", "lab", "--ip=0.0.0.0", "--ServerApp.token=", "--ServerApp.password=", "--allow-root"]\n',
      'start.sh': '#!/bin/sh\nexec jupyter notebook --NotebookApp.token="" --NotebookApp.disable_check_xsrf=True \\\n  --NotebookApp.allow_origin="*"\n',
      'ok.sh': 'jupyter lab --ip 0.0.0.0 --no-browser\n',
    });
    assert.deepEqual(summary(findings), [
      'Dockerfile:jupyter-no-auth@3:critical',
      'Dockerfile:jupyter-unsafe-settings@3:medium',
      'start.sh:jupyter-no-auth@2:high',
      'start.sh:jupyter-unsafe-settings@2:medium',
      'start.sh:jupyter-unsafe-settings@2:medium',
    ]);
  });

  it('jupyter_server_config.py and .json', async () => {
    const findings = await scan({
      'a/jupyter_server_config.py': "c = get_config()\nc.ServerApp.ip = '0.0.0.0'\nc.IdentityProvider.token = ''\nc.ServerApp.allow_root = True\n",
      'b/jupyter_notebook_config.json': '{\n  "NotebookApp": {\n    "token": "",\n    "ip": "*"\n  }\n}\n',
      'c/jupyter_server_config.py': "c.ServerApp.ip = '0.0.0.0'\nc.ServerApp.allow_origin = 'https://lab.example.com'\n",
    });
    assert.deepEqual(summary(findings), [
      'jupyter_notebook_config.json:jupyter-no-auth@3:critical',
      'jupyter_server_config.py:jupyter-no-auth@3:critical',
      'jupyter_server_config.py:jupyter-unsafe-settings@4:medium',
    ]);
  });
});

describe('MLflow, Ray, Streamlit, TensorBoard, TorchServe', () => {
  it('public binds without auth are reported; localhost and basic-auth are quiet', async () => {
    const findings = await scan({
      'serve.sh': [
        'mlflow server --host 0.0.0.0 --port 5000',
        'mlflow server --host 0.0.0.0 --app-name basic-auth',
        'mlflow ui',
        'ray start --head --dashboard-host=0.0.0.0',
        'ray start --head',
        'streamlit run app.py --server.address 0.0.0.0 --server.enableXsrfProtection false',
        'tensorboard --logdir runs --bind_all',
        'tensorboard --logdir runs --host 127.0.0.1',
        'torchserve --start --model-store store --disable-token-auth',
      ].join('\n') + '\n',
    });
    assert.deepEqual(summary(findings), [
      'serve.sh:mlflow-exposed@1:high',
      'serve.sh:ray-dashboard-exposed@4:critical',
      'serve.sh:streamlit-exposed@6:medium',
      'serve.sh:streamlit-exposed@6:medium',
      'serve.sh:tensorboard-exposed@7:medium',
      'serve.sh:torchserve-exposed@9:high',
    ]);
  });

  it('TorchServe config.properties, Streamlit config.toml and MLflow basic_auth.ini', async () => {
    const findings = await scan({
      'ts/config.properties': 'inference_address=http://0.0.0.0:8080\nmanagement_address=http://0.0.0.0:8081\ndisable_token_authorization=true\nallowed_urls=.*\n',
      'ts-ok/config.properties': 'inference_address=http://127.0.0.1:8080\nmanagement_address=http://127.0.0.1:8081\nallowed_urls=https://models.example.com/.*\n',
      'java/config.properties': 'db.url=jdbc:postgresql://0.0.0.0/x\n',
      'app/.streamlit/config.toml': '[server]\naddress = "0.0.0.0"\nenableCORS = false\n',
      'auth/basic_auth.ini': '[mlflow]\ndefault_permission = EDIT\nadmin_username = admin\nadmin_password = password1234\n',
    });
    assert.deepEqual(summary(findings), [
      'basic_auth.ini:mlflow-exposed@2:medium',
      'basic_auth.ini:mlflow-exposed@4:high',
      'config.properties:torchserve-exposed@1:low',
      'config.properties:torchserve-exposed@2:critical',
      'config.properties:torchserve-exposed@3:critical',
      'config.properties:torchserve-exposed@4:high',
      'config.toml:streamlit-exposed@2:medium',
      'config.toml:streamlit-exposed@3:medium',
    ]);
  });
});
