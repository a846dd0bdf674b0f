// Hugging Face snapshots (directories written by scripts/fixtures/gen_formats_b.py): auto_map remote code and
// what it calls, chat templates in configs and .jinja files, dataset scripts, side-file pickles.
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { BufferSource } from '../../src/core/byte-source.js';
import { defaultConfig } from '../../src/core/config.js';
import type { Finding } from '../../src/core/finding.js';
import { runScan } from '../../src/scanners/engine.js';
import { scanSource } from '../../src/scanners/file-scan.js';
import { findDangerousPython, maskPython } from '../../src/scanners/models/formats/hf-repo.js';
import { modelsScanner } from '../../src/scanners/models/index.js';

const ROOT = 'test/.tmp/fixtures/formats_b/hf';

async function scanSnapshot(name: string): Promise<Finding[]> {
  return (await runScan({ paths: [join(ROOT, name)], only: ['models'], jobs: 0 })).findings;
}

const rel = (f: Finding): string => f.location.path.slice(f.location.path.lastIndexOf('/') + 1);
const summary = (findings: readonly Finding[]): string[] => findings.map((f) => `${f.severity} ${f.ruleId} ${rel(f)}${f.location.line === undefined ? '' : `:${f.location.line}`}`);

describe('Hugging Face repository format', () => {
  it('reports nothing for a clean snapshot (benign chat template, no auto_map)', async () => {
    assert.deepEqual(summary(await scanSnapshot('clean')), []);
  });

  it('reports nothing for JSON that only looks like a config', async () => {
    assert.deepEqual(summary(await scanSnapshot('look_alike_not_hf')), []);
  });

  it('lists every file an auto_map runs in one finding, and what the code does at its file and line', async () => {
    const findings = await scanSnapshot('remote_code');
    const remote = findings.filter((f) => f.ruleId === 'models/hf-remote-code');
    assert.equal(remote.length, 1);
    assert.equal(remote[0]?.severity, 'high');
    assert.match(remote[0]?.message ?? '', /configuration_evil\.py, modeling_evil\.py/);
    assert.deepEqual(remote[0]?.properties?.['files'], ['configuration_evil.py', 'modeling_evil.py']);
    const dangerous = findings.filter((f) => f.ruleId === 'models/hf-remote-code-dangerous');
    assert.deepEqual(dangerous.map((f) => `${rel(f)}:${f.location.line}:${f.severity}`).sort(), ['modeling_evil.py:10:critical', 'modeling_evil.py:5:critical']);
  });

  it('reports remote code even when the code looks harmless, without a dangerous-call finding', async () => {
    const findings = await scanSnapshot('remote_code_benign_py');
    assert.deepEqual(summary(findings), ['high models/hf-remote-code config.json']);
  });

  it('names code from another repository and files missing from the snapshot', async () => {
    const other = await scanSnapshot('remote_code_other_repo');
    assert.equal(other.length, 1);
    assert.match(other[0]?.message ?? '', /some-org\/some-repo/);
    const missing = await scanSnapshot('remote_code_missing_file');
    assert.equal(missing[0]?.severity, 'high');
    assert.match(missing[0]?.message ?? '', /modeling_gone\.py \(not in the snapshot/);
  });

  it('follows tokenizer and processor auto_maps', async () => {
    const tokenizer = summary(await scanSnapshot('tokenizer_auto_map'));
    assert.ok(tokenizer.includes('high models/hf-remote-code tokenizer_config.json'), tokenizer.join('\n'));
    assert.ok(tokenizer.includes('critical models/hf-remote-code-dangerous tokenization_evil.py:2'), tokenizer.join('\n'));
    const processor = summary(await scanSnapshot('processor_auto_map'));
    assert.ok(processor.includes('high models/hf-remote-code preprocessor_config.json'), processor.join('\n'));
    assert.ok(processor.some((s) => s.startsWith('critical models/hf-remote-code-dangerous image_processing_evil.py')), processor.join('\n'));
  });

  it('scans chat templates in tokenizer_config.json (string and named list) and in chat_template.jinja', async () => {
    for (const name of ['chat_template_injection', 'chat_template_list']) {
      const findings = await scanSnapshot(name);
      assert.ok(findings.some((f) => f.ruleId === 'models/hf-chat-template-injection' && f.severity === 'critical'), name);
    }
    const list = await scanSnapshot('chat_template_list');
    assert.ok(list.every((f) => f.message.startsWith('chat_template[tool_use]')), summary(list).join('\n'));
    const file = await scanSnapshot('chat_template_file');
    const hit = file.find((f) => f.ruleId === 'models/hf-chat-template-injection' && f.severity === 'critical');
    assert.equal(hit && rel(hit), 'chat_template.jinja');
    assert.equal(hit?.location.line, 1);
  });

  it('reports dataset loading scripts, high when they make network calls', async () => {
    const findings = await scanSnapshot('dataset_script');
    assert.ok(findings.some((f) => f.ruleId === 'models/hf-dataset-script' && f.severity === 'high' && f.location.line === 8), summary(findings).join('\n'));
    const plain = "import datasets\n\nclass D(datasets.GeneratorBasedBuilder):\n    def _generate_examples(self, path):\n        yield 0, {}\n";
    const result = await scanSource('d.py', new BufferSource(Buffer.from(plain)), { scanners: [modelsScanner], config: defaultConfig(), knownRuleIds: new Set() });
    assert.deepEqual(summary(result), ['medium models/hf-dataset-script d.py']);
  });

  it('reports an auto_map that is not a mapping, and a config that is not JSON, at medium', async () => {
    assert.deepEqual(summary(await scanSnapshot('auto_map_not_mapping')), ['medium models/hf-config-invalid config.json']);
    assert.deepEqual(summary(await scanSnapshot('config_broken_json')), ['medium models/hf-config-invalid config.json']);
  });

  it('names auto_map files of a config inside a container without reading siblings', async () => {
    const config = JSON.stringify({ model_type: 'x', auto_map: { AutoModel: 'modeling_x.XModel' } });
    const findings = await scanSource('repo.zip', new BufferSource(Buffer.from(config)), { scanners: [modelsScanner], config: defaultConfig(), knownRuleIds: new Set() });
    assert.equal(findings.length, 1);
    assert.match(findings[0]?.message ?? '', /modeling_x\.py; the files were not checked/);
  });

  it('finds pickles hidden in side files of a snapshot (tokenizer.model, training_args.bin)', async () => {
    const findings = await scanSnapshot('side_pickles');
    for (const name of ['tokenizer.model', 'training_args.bin']) {
      assert.ok(findings.some((f) => rel(f) === name && (f.severity === 'critical' || f.severity === 'high')), `${name}: ${summary(findings).join('\n')}`);
    }
  });

  it('reports a chat_template.jinja too large to read, and code files checked only in part', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'custody-hf-'));
    try {
      await writeFile(join(dir, 'config.json'), JSON.stringify({ model_type: 'x', auto_map: { AutoModel: 'modeling_x.XModel' } }));
      await writeFile(join(dir, 'modeling_x.py'), 'import torch\n');
      await writeFile(join(dir, 'chat_template.jinja'), '{{ messages }}');
      // Boundary: 4 MiB of template (and of code) is read whole; one byte more is not.
      await truncate(join(dir, 'chat_template.jinja'), 4 * 1024 * 1024);
      await truncate(join(dir, 'modeling_x.py'), 4 * 1024 * 1024);
      assert.deepEqual(summary((await runScan({ paths: [dir], only: ['models'], jobs: 0 })).findings), ['high models/hf-remote-code config.json']);
      await writeFile(join(dir, 'chat_template.jinja'), '{{ messages }}');
      await truncate(join(dir, 'chat_template.jinja'), 40 * 1024 * 1024);
      await truncate(join(dir, 'modeling_x.py'), 4 * 1024 * 1024 + 1);
      const findings = (await runScan({ paths: [dir], only: ['models'], jobs: 0 })).findings;
      assert.deepEqual(summary(findings).sort(), ['high models/hf-chat-template-unreadable chat_template.jinja', 'high models/hf-remote-code config.json']);
      const remote = findings.find((f) => f.ruleId === 'models/hf-remote-code');
      assert.match(remote?.message ?? '', /not fully checked for dangerous calls: modeling_x\.py past its first 4194304 bytes/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('reports a chat_template.jinja that exists but cannot be read, never passing it', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'custody-hf-'));
    try {
      await writeFile(join(dir, 'config.json'), JSON.stringify({ model_type: 'x' }));
      await mkdir(join(dir, 'chat_template.jinja'));
      const findings = (await runScan({ paths: [dir], only: ['models'], jobs: 0 })).findings;
      assert.deepEqual(summary(findings), ['high models/hf-chat-template-unreadable chat_template.jinja']);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('ignores calls inside comments and strings, and finds them in code', () => {
    const source = "# os.system('x')\ndoc = \"\"\"\nsubprocess.run(x)\n\"\"\"\nmsg = 'eval(1)'\nos.system(cmd)\n";
    assert.deepEqual(findDangerousPython(source).map((h) => h.line), [6]);
    assert.equal(maskPython("a = 'x' # c\nb").split('\n').length, 2);
    assert.deepEqual(findDangerousPython('model.eval()\nself.compile_model()\nx.execute()\n'), []);
  });
});
