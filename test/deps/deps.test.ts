import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, describe, it } from 'node:test';
import { defaultConfig } from '../../src/core/config.js';
import type { Finding } from '../../src/core/finding.js';
import { runScan } from '../../src/scanners/engine.js';
import { findTyposquat } from '../../src/scanners/deps/names.js';

const dir = mkdtempSync(join(tmpdir(), 'custody-deps-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const ADVISORIES = 'test/.tmp/fixtures/advisories';

let counter = 0;
function project(files: Record<string, string>): string {
  const root = join(dir, `p${counter++}`);
  for (const [path, content] of Object.entries(files)) {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), content);
  }
  return root;
}

async function scan(files: Record<string, string>, advisories?: string): Promise<Finding[]> {
  const root = project(files);
  const config = defaultConfig();
  if (advisories !== undefined) config.deps = { advisories };
  const result = await runScan({ paths: [root], only: ['deps'], config, jobs: 0 });
  return result.findings;
}

const ids = (findings: readonly Finding[]): string[] => findings.map((f) => f.ruleId);
function only(findings: readonly Finding[], rule: string): Finding[] {
  return findings.filter((f) => f.ruleId === rule);
}

describe('deps/typosquat', () => {
  it('flags the issue\'s typos and never a popular name', () => {
    for (const [name, target] of <[string, string][]>[['reqeusts', 'requests'], ['torchvison', 'torchvision'], ['scikitlearn', 'scikit-learn'], ['python-dateutils', 'python-dateutil'], ['nunpy', 'numpy'], ['pandsa', 'pandas']]) {
      assert.equal(findTyposquat(name)?.target, target, name);
    }
    for (const name of ['requests', 'torch', 'torchvision', 'python-dateutil', 'scikit-learn', 'numpy', 'boto3', 'Django', 'PyYAML', 'python_dateutil']) assert.equal(findTyposquat(name), undefined, name);
    // Short names and names far from any popular one are not flagged.
    for (const name of ['abc', 'my-company-training-utils', 'zzqx-unrelated']) assert.equal(findTyposquat(name), undefined, name);
  });

  it('reports typos in requirements, pyproject and Pipfile with the line', async () => {
    const findings = await scan({
      'requirements.txt': 'numpy==1.26.4\nreqeusts==2.31.0\n',
      'pyproject.toml': '[project]\nname = "x"\ndependencies = [\n  "torch>=2.6",\n  "torchvison>=0.19",\n]\n',
      'uv.lock': 'version = 1\n',
      'Pipfile': '[packages]\nscikitlearn = "==1.5.0"\n',
      'Pipfile.lock': '{}',
    });
    const squats = only(findings, 'deps/typosquat').map((f) => `${f.location.path.split('/').pop()}:${f.location.line}`).sort();
    assert.deepEqual(squats, ['Pipfile:2', 'pyproject.toml:5', 'requirements.txt:2']);
  });
});

describe('deps/unpinned-requirement and deps/missing-hashes', () => {
  it('reports bare names and ranges, not exact pins, local paths or constraint-pinned names', async () => {
    const findings = await scan({
      'requirements.txt': ['torch', 'numpy>=1.24', 'pandas==2.2.2', 'scipy~=1.13', '-e .', './vendor/pkg', 'pyyaml==6.*', '-c constraints.txt', 'requests', ''].join('\n'),
      'constraints.txt': 'requests==2.32.3\n',
    });
    const unpinned = only(findings, 'deps/unpinned-requirement').filter((f) => f.location.path.endsWith('requirements.txt'));
    assert.deepEqual(unpinned.map((f) => f.location.line), [1, 2, 4, 7]);
    assert.equal(only(findings, 'deps/missing-hashes').length, 2); // requirements.txt and constraints.txt
  });

  it('hash-checking mode and per-line hashes are quiet; continuation lines keep their first line number', async () => {
    const findings = await scan({
      'requirements.txt': 'torch==2.6.0 \\\n    --hash=sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\nnumpy==2.1.0 --hash=sha256:bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb\n',
    });
    assert.deepEqual(ids(findings), []);
    const mixed = await scan({ 'requirements.txt': '# comment\ntorch==2.6.0 --hash=sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\nnumpy==2.1.0\n' });
    assert.deepEqual(only(mixed, 'deps/missing-hashes').map((f) => f.location.line), [3]);
  });

  it('conda environments: unpinned conda and pip entries, exact pins quiet', async () => {
    const findings = await scan({
      'environment.yml': 'name: train\nchannels:\n  - conda-forge\ndependencies:\n  - python=3.11\n  - numpy=1.26.4\n  - pytorch\n  - pip:\n      - transformers==4.44.0\n      - accelerate\n',
    });
    const lines = only(findings, 'deps/unpinned-requirement').map((f) => f.location.line);
    assert.deepEqual(lines, [5, 7, 10]);
  });
});

describe('deps/no-lockfile', () => {
  it('a pyproject, Pipfile or package.json with ranges and no lockfile beside it', async () => {
    const findings = await scan({
      'a/pyproject.toml': '[project]\nname = "a"\ndependencies = ["torch>=2.6"]\n',
      'b/pyproject.toml': '[project]\nname = "b"\ndependencies = ["torch>=2.6"]\n',
      'b/uv.lock': 'version = 1\n',
      'c/package.json': '{"dependencies": {"lodash": "^4.17.21"}}',
      'd/package.json': '{"dependencies": {"lodash": "^4.17.21"}}',
      'd/package-lock.json': '{"lockfileVersion": 3, "packages": {}}',
      'e/pyproject.toml': '[project]\nname = "e"\n',
      'f/Pipfile': '[packages]\nrequests = "*"\n',
    });
    assert.deepEqual(only(findings, 'deps/no-lockfile').map((f) => f.location.path.split('/').slice(-2).join('/')).sort(), ['a/pyproject.toml', 'c/package.json', 'f/Pipfile']);
  });
});

describe('deps/vcs-ref-not-commit and deps/url-without-hash', () => {
  it('branches, tags and default branches are reported; full commits are not', async () => {
    const commit = 'a'.repeat(40);
    const findings = await scan({
      'requirements.txt': [
        'git+https://github.com/org/one@main#egg=one',
        'two @ git+https://github.com/org/two@v1.2.0',
        'git+https://github.com/org/three#egg=three',
        `git+https://github.com/org/four@${commit}#egg=four`,
        'https://files.example.org/five-1.0-py3-none-any.whl',
        `https://files.example.org/six-1.0-py3-none-any.whl#sha256=${'c'.repeat(64)}`,
        'http://files.example.org/seven-1.0.tar.gz',
      ].join('\n'),
      'pyproject.toml': '[project]\nname = "x"\ndependencies = ["eight"]\n[tool.uv.sources]\neight = { git = "https://github.com/org/eight", branch = "dev" }\n',
      'uv.lock': 'version = 1\n',
    });
    assert.deepEqual(only(findings, 'deps/vcs-ref-not-commit').map((f) => f.location.line).sort(), [1, 2, 3, 3]);
    const urls = only(findings, 'deps/url-without-hash');
    assert.deepEqual(urls.map((f) => [f.location.line, f.severity]), [[5, 'medium'], [7, 'high']]);
    assert.match(urls[0]!.message, /^five is downloaded/);
  });

  it('package.json git dependencies without a commit', async () => {
    const findings = await scan({ 'package.json': `{"dependencies": {"a": "github:org/a#main", "b": "git+https://github.com/org/b.git#${'b'.repeat(40)}", "c": "^1.0.0"}}`, 'package-lock.json': '{"packages": {}}' });
    assert.deepEqual(only(findings, 'deps/vcs-ref-not-commit').map((f) => f.message.split(' ')[0]), ['a']);
  });
});

describe('deps/dependency-confusion, deps/insecure-index, deps/internal-name-public-index', () => {
  it('extra indexes in requirements, pip.conf, environment variables and uv settings', async () => {
    const findings = await scan({
      'requirements.txt': '--extra-index-url https://pkgs.example.internal/simple\n--trusted-host pkgs.example.internal\nacme-internal-tools==1.0\n',
      'pip.conf': '[global]\nindex-url = https://pkgs.example.internal/simple\nextra-index-url =\n    https://mirror.example.internal/simple\n',
      'Dockerfile': 'FROM python:3.11\nENV PIP_EXTRA_INDEX_URL=https://pkgs.example.internal/simple\nRUN pip install --index-strategy unsafe-best-match x\n',
      'pyproject.toml': '[project]\nname = "x"\ndependencies = ["numpy==2.1.0"]\n[tool.uv]\nindex-strategy = "unsafe-best-match"\n',
      'uv.lock': 'version = 1\n',
    });
    const confusion = only(findings, 'deps/dependency-confusion').map((f) => `${f.location.path.split('/').pop()}:${f.location.line}`).sort();
    assert.deepEqual(confusion, ['Dockerfile:2', 'Dockerfile:3', 'pip.conf:4', 'pyproject.toml:5', 'requirements.txt:1']);
    assert.deepEqual(only(findings, 'deps/insecure-index').map((f) => f.location.line), [2]);
    assert.deepEqual(only(findings, 'deps/internal-name-public-index').map((f) => [f.location.line, f.severity]), [[3, 'high']]);
  });

  it('one private index, a variable passed through, a commented line and a pinned index stay quiet', async () => {
    const findings = await scan({
      'requirements.txt': '--index-url https://pkgs.example.internal/simple\nacme-internal-tools==1.0 --hash=sha256:' + 'd'.repeat(64) + '\n',
      'Dockerfile': 'FROM python:3.11\nARG PIP_EXTRA_INDEX_URL=${PIP_EXTRA_INDEX_URL}\n# RUN pip install --extra-index-url https://x.example/simple y\n',
      'Pipfile': '[[source]]\nurl = "https://pkgs.example.internal/simple"\nname = "internal"\n[packages]\nacme-private-auth = { version = "==1.0", index = "internal" }\n',
      'Pipfile.lock': '{}',
    });
    assert.deepEqual(ids(findings), []);
  });

  it('an internal-looking name with no private index is medium', async () => {
    const findings = await scan({ 'requirements.txt': 'corp-auth==1.0 --hash=sha256:' + 'e'.repeat(64) + '\n' });
    assert.deepEqual(only(findings, 'deps/internal-name-public-index').map((f) => f.severity), ['medium']);
  });
});

describe('deps/known-malicious', () => {
  it('malicious names, and malicious versions only at those versions', async () => {
    const findings = await scan({
      'requirements.txt': 'torchtriton\nultralytics==8.3.41\nultralytics==8.3.40\n',
      'package-lock.json': '{"lockfileVersion": 3, "packages": {"node_modules/event-stream": {"version": "3.3.6", "integrity": "sha512-x"}, "node_modules/ua-parser-js": {"version": "0.7.30", "integrity": "sha512-y"}}}',
    });
    const hits = only(findings, 'deps/known-malicious');
    assert.deepEqual(hits.map((f) => f.message.split(' ').slice(0, 2).join(' ')).sort(), ['event-stream 3.3.6', 'torchtriton is', 'ultralytics 8.3.41']);
    assert.ok(hits.every((f) => f.severity === 'critical'));
    assert.equal(only(findings, 'deps/typosquat').length, 0);
  });
});

describe('deps/vulnerable-version', () => {
  const manifests = {
    'requirements.txt': 'torch==2.5.1\nPyYAML==5.3.1\nrequests==2.31.0\nurllib3==2.0.5\nurllib3==1.26.17\ntransformers==4.35.2\ntransformers==4.36.0\nnumpy==1.26.0\nmlflow\n',
  };

  for (const layout of ['osv-pypi.zip', 'osv-dir', 'pypa']) {
    it(`matches pinned versions against ${layout}, with fix versions and severities`, async () => {
      const findings = only(await scan(manifests, join(ADVISORIES, layout)), 'deps/vulnerable-version');
      const got = findings.map((f) => `${f.location.line}:${f.properties?.['advisory'] as string}:${f.severity}`);
      assert.deepEqual(got, ['1:GHSA-53q9-r3pm-6pq6:critical', '2:GHSA-8q59-q68h-6hv4:critical', '4:GHSA-v845-jxx5-vc9f:high', '6:CVE-2023-6730:high']);
      assert.equal(findings[0]!.properties?.['fixedIn'], '2.6.0');
    });
  }

  it('npm lockfiles against semver ranges', async () => {
    const findings = only(await scan({
      'package-lock.json': JSON.stringify({ lockfileVersion: 3, packages: { '': {}, 'node_modules/lodash': { version: '4.17.20', integrity: 'x' }, 'node_modules/minimist': { version: '1.2.6', integrity: 'x' }, 'node_modules/a/node_modules/minimist': { version: '0.2.1', integrity: 'x' } } }),
    }, join(ADVISORIES, 'osv-dir')), 'deps/vulnerable-version');
    assert.deepEqual(findings.map((f) => f.message.split(' ').slice(0, 2).join(' ')).sort(), ['lodash 4.17.20', 'minimist 0.2.1']);
  });

  it('an advisory record that does not parse is reported for the package it names, never skipped silently', async () => {
    const findings = only(await scan({ 'requirements.txt': 'torch==2.5.1\n' }, join(ADVISORIES, 'broken')), 'deps/vulnerable-version');
    assert.deepEqual(findings.map((f) => f.severity).sort(), ['critical', 'medium']);
    assert.match(findings.find((f) => f.severity === 'medium')!.message, /could not be checked/);
  });
});

describe('deps/manifest-unreadable', () => {
  it('broken TOML, JSON, YAML and requirement lines are findings with a line', async () => {
    const findings = await scan({
      'a/pyproject.toml': '[project\nname = "x"\n',
      'b/package.json': '{"dependencies": ',
      'c/environment.yml': 'dependencies:\n  - [unclosed\n',
      'd/requirements.txt': 'numpy==1.0\ntorch ==== 2\n',
    });
    const unread = only(findings, 'deps/manifest-unreadable').map((f) => f.location.path.split('/').slice(-2).join('/')).sort();
    assert.deepEqual(unread, ['a/pyproject.toml', 'b/package.json', 'c/environment.yml', 'd/requirements.txt']);
    assert.equal(only(findings, 'deps/manifest-unreadable').find((f) => f.location.path.endsWith('requirements.txt'))!.location.line, 2);
  });

  it('a constraints file that cannot be read is reported, and its pins are not assumed', async () => {
    const findings = await scan({ 'requirements.txt': '-c missing-constraints.txt\ntorch\n' });
    assert.deepEqual(ids(findings).sort(), ['deps/manifest-unreadable', 'deps/unpinned-requirement']);
  });
});

describe('deps scanner on files it does not own', () => {
  it('source files, READMEs and node_modules manifests are not read as manifests', async () => {
    const findings = await scan({
      'README.md': 'pip install --extra-index-url https://x.example/simple reqeusts\n',
      'train.py': 'import torch\n',
      'node_modules/x/package.json': '{"dependencies": {"a": "github:o/a"}}',
    });
    assert.deepEqual(ids(findings), []);
  });
});
