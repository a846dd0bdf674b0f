import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, describe, it } from 'node:test';
import { defaultConfig } from '../../src/core/config.js';
import type { Finding } from '../../src/core/finding.js';
import { runScan } from '../../src/scanners/engine.js';

const dir = mkdtempSync(join(tmpdir(), 'custody-code-'));
after(() => rmSync(dir, { recursive: true, force: true }));
let counter = 0;

async function scan(files: Record<string, string>): Promise<Finding[]> {
  const root = join(dir, `p${counter++}`);
  mkdirSync(join(root, '.git'), { recursive: true }); // stops the manifest search at the project
  for (const [path, content] of Object.entries(files)) {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), content);
  }
  return (await runScan({ paths: [root], only: ['code'], config: defaultConfig(), jobs: 0 })).findings;
}

/** `rule@line:severity` for each finding of the rule (or of every rule). */
function summary(findings: readonly Finding[], rule?: string): string[] {
  return findings.filter((f) => rule === undefined || f.ruleId === rule).map((f) => `${f.ruleId.slice(5)}@${f.location.line}:${f.severity}`);
}

const py = (...lines: string[]): string => lines.join('\n') + '\n';

describe('code/torch-load-unsafe', () => {
  it('resolves aliases and from-imports; weights_only=True is quiet, False is critical', async () => {
    const findings = await scan({
      'a.py': py(
        'import torch as t',
        'from torch import load',
        'from torch import load as tl',
        'x = t.load(p)',
        'y = load(p, map_location="cpu")',
        'z = tl(p, weights_only=False)',
        'ok = t.load(p, weights_only=True)',
        'import torch',
        'w = torch.load(p, weights_only=flag)',
        'model.load(p)  # not torch',
        'def load(p): return p',
      ),
    });
    assert.deepEqual(summary(findings), ['torch-load-unsafe@4:high', 'torch-load-unsafe@5:high', 'torch-load-unsafe@6:critical', 'torch-load-unsafe@9:medium']);
  });

  it('follows the torch version the project pins: < 2.6 makes weights_only=True a finding, >= 2.6 lowers the default case', async () => {
    const code = py('import torch', 'a = torch.load(p, weights_only=True)', 'b = torch.load(p)');
    assert.deepEqual(summary(await scan({ 'requirements.txt': 'torch==2.5.1\n', 'src/train.py': code })), ['torch-load-unsafe@2:high', 'torch-load-unsafe@3:high']);
    assert.deepEqual(summary(await scan({ 'pyproject.toml': '[project]\nname="x"\ndependencies = ["torch>=2.6.0"]\n', 'src/train.py': code })), ['torch-load-unsafe@3:low']);
    assert.deepEqual(summary(await scan({ 'src/train.py': code })), ['torch-load-unsafe@3:high']);
  });
});

describe('code/trust-remote-code and code/hub-revision-unpinned', () => {
  it('trust_remote_code=True through literals and module constants; revision pins', async () => {
    const findings = await scan({
      'a.py': py(
        'from transformers import AutoModel, AutoTokenizer',
        'from huggingface_hub import hf_hub_download, snapshot_download',
        'from datasets import load_dataset',
        'TRUST = True',
        'REV = "0123456789abcdef0123456789abcdef01234567"',
        'm = AutoModel.from_pretrained("org/model", trust_remote_code=TRUST)',
        'tok = AutoTokenizer.from_pretrained("org/model", revision=REV)',
        'f = hf_hub_download(repo_id="org/model", filename="w.bin", revision="main")',
        'snapshot_download("org/model", revision="0123456789abcdef0123456789abcdef01234567")',
        'ds = load_dataset("org/data")',
        'local = AutoModel.from_pretrained("./checkpoints/best", trust_remote_code=False)',
        'pinned = AutoModel.from_pretrained("org/m", revision=REV, trust_remote_code=True)',
      ),
    });
    assert.deepEqual(summary(findings).sort(), [
      'hub-revision-unpinned@10:medium',
      'hub-revision-unpinned@6:medium',
      'hub-revision-unpinned@8:medium',
      'trust-remote-code@12:medium',
      'trust-remote-code@6:high',
    ]);
  });
});

describe('code/pickle-load', () => {
  it('non-literal sources are high, literal local files low, numpy only with allow_pickle=True', async () => {
    const findings = await scan({
      'a.py': py(
        'import pickle, dill, joblib',
        'import pandas as pd',
        'import numpy as np',
        'obj = pickle.loads(request.data)',
        'with open("models/clf.pkl", "rb") as f:',
        '    clf = pickle.load(f)',
        'm = joblib.load(path)',
        'df = pd.read_pickle(url)',
        'arr = np.load(path, allow_pickle=True)',
        'safe = np.load(path)',
        'd = dill.load(open(sys.argv[1], "rb"))',
        'import json',
        'data = json.load(fh)',
      ),
    });
    assert.deepEqual(summary(findings), ['pickle-load@4:high', 'pickle-load@6:low', 'pickle-load@7:high', 'pickle-load@8:high', 'pickle-load@9:high', 'pickle-load@11:high']);
  });
});

describe('code/keras-unsafe-deserialization, code/yaml-unsafe-load, code/torch-hub-trust-repo', () => {
  it('each unsafe form is reported and each safe form is quiet', async () => {
    const findings = await scan({
      'a.py': py(
        'import keras, yaml, torch',
        'import tensorflow as tf',
        'm1 = keras.models.load_model(p, safe_mode=False)',
        'm2 = tf.keras.models.load_model(p)',
        'keras.config.enable_unsafe_deserialization()',
        'c1 = yaml.load(text, Loader=yaml.Loader)',
        'c2 = yaml.load(text, Loader=yaml.SafeLoader)',
        'c3 = yaml.safe_load(text)',
        'c4 = yaml.unsafe_load(text)',
        'c5 = yaml.load(text)',
        'h1 = torch.hub.load("org/repo", "model", trust_repo=True)',
        'h2 = torch.hub.load("org/repo", "model")',
      ),
    });
    assert.deepEqual(summary(findings), [
      'keras-unsafe-deserialization@3:high',
      'keras-unsafe-deserialization@5:high',
      'yaml-unsafe-load@6:high',
      'yaml-unsafe-load@9:high',
      'yaml-unsafe-load@10:medium',
      'torch-hub-trust-repo@11:high',
    ]);
  });
});

describe('code/eval-model-output', () => {
  it('eval/exec of generate/decode/pipeline output, directly or through variables; other evals are quiet', async () => {
    const findings = await scan({
      'a.py': py(
        'from transformers import pipeline',
        'gen = pipeline("text-generation")',
        'out = model.generate(ids)',
        'text = tokenizer.decode(out[0])',
        'exec(text)',
        'eval(gen(prompt)[0]["generated_text"])',
        'reply = client.chat.completions.create(model="m", messages=msgs)',
        'code = reply.choices[0].message.content',
        'exec(compile(code, "<llm>", "exec"))',
        'eval("1 + 1")',
        'exec(open("setup_helpers.py").read())',
      ),
    });
    assert.deepEqual(summary(findings), ['eval-model-output@5:critical', 'eval-model-output@6:critical', 'eval-model-output@9:critical', 'eval-model-output@9:critical']);
  });
});

describe('code/ml-service-public and code/tracking-logs-secrets', () => {
  it('gradio share and public binds, ray dashboards; auth and localhost are quieter', async () => {
    const findings = await scan({
      'app.py': py(
        'import gradio as gr',
        'import ray',
        'demo = gr.Interface(fn=predict, inputs="text", outputs="text")',
        'demo.launch(share=True)',
        'with gr.Blocks() as ui:',
        '    pass',
        'ui.launch(server_name="0.0.0.0")',
        'ui.launch(server_name="0.0.0.0", auth=("admin", pw))',
        'ui.launch(server_name="127.0.0.1")',
        'ray.init(dashboard_host="0.0.0.0")',
        'ray.init()',
      ),
    });
    assert.deepEqual(summary(findings), ['ml-service-public@4:high', 'ml-service-public@7:high', 'ml-service-public@10:high']);
  });

  it('os.environ and credential-named params sent to trackers', async () => {
    const findings = await scan({
      't.py': py(
        'import os, mlflow, wandb',
        'import neptune',
        'mlflow.log_params(dict(os.environ))',
        'wandb.init(project="p", config=os.environ)',
        'mlflow.log_param("hf_token", token)',
        'mlflow.log_params({"lr": 0.1, "api_key": key})',
        'run = neptune.init_run()',
        'run["env"] = os.environ',
        'mlflow.log_params({"lr": 0.1, "epochs": 3})',
        'wandb.init(project="p", config={"lr": 0.1})',
      ),
    });
    assert.deepEqual(summary(findings), ['tracking-logs-secrets@3:high', 'tracking-logs-secrets@4:high', 'tracking-logs-secrets@5:high', 'tracking-logs-secrets@6:high', 'tracking-logs-secrets@8:high']);
  });
});

describe('code scanner inputs', () => {
  it('notebook code cells share imports; findings name the raw line, the cell and the line in the cell; magics are skipped', async () => {
    const notebook = {
      cells: [
        { cell_type: 'markdown', metadata: {}, source: ['# torch.load(p) in prose\n'] },
        { cell_type: 'code', execution_count: null, metadata: {}, outputs: [], source: ['%pip install torch\n', 'import torch as t\n'] },
        { cell_type: 'code', execution_count: null, metadata: {}, outputs: [], source: ['x = 1\n', 'state = t.load("w.pt")\n'] },
      ],
      metadata: {},
      nbformat: 4,
      nbformat_minor: 5,
    };
    const text = JSON.stringify(notebook, null, 1) + '\n';
    const findings = await scan({ 'nb.ipynb': text });
    assert.equal(findings.length, 1);
    const f = findings[0]!;
    assert.equal(f.ruleId, 'code/torch-load-unsafe');
    assert.deepEqual([f.properties?.['cell'], f.properties?.['cellLine']], [3, 2]);
    assert.match(text.split('\n')[f.location.line! - 1]!, /state = t\.load/);
  });

  it('syntax errors do not hide calls the parser can still see; files without trigger words are not parsed', async () => {
    const findings = await scan({
      'broken.py': py('import torch', 'def f(:', '    pass', 'x = torch.load(p)'),
      'plain.py': py('print("hello")'),
      'README.md': 'torch.load(p)\n',
    });
    assert.deepEqual(summary(findings), ['torch-load-unsafe@4:high']);
  });
});
