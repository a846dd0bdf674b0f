// Secrets scanner: precision/recall on the labelled ML-project corpus (scripts/fixtures/gen_secrets_corpus.py),
// and throughput on a ~200 MB generated ML project tree (code, notebooks with big base64 image outputs, CSV,
// JSON, YAML, logs; a few hundred secrets) through runScan({ only: ['secrets'] }) with worker threads.
// Baselines, measured in the same run on the same tree: one combined regular expression over every file in
// this thread (what a naive single-pass scanner pays), and `grep -rEc` with a comparable pattern set.
// Targets: precision and recall ≥ 0.95; ≥ 50 MB/s with peak RSS < 500 MB on this machine.
// Then the whole CLI process on a generated ML tree beside secretlint, as users run it (bench/secrets-process.ts).
// Usage: node --import tsx bench/run.ts secrets (`--process-only`: that section alone; `--shapes-only`: its tree shapes)
import { spawnSync } from 'node:child_process';
import { measureSecretsProcess, measureShapesOnly } from './secrets-process.js';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { defaultConfig } from '../src/core/config.js';
import { runScan as runScanFromSource } from '../src/scanners/engine.js';
import { detectSecrets } from '../src/scanners/secrets/detect.js';
import { B64URL, Fake, LETTERS, UPPER_B32 } from '../src/scanners/secrets/fake.js';
import { evaluateCorpus } from '../test/secrets/corpus-eval.js';
import { evaluateRedteam } from '../test/secrets/redteam-eval.js';

const TREE = 'bench/.work/secrets-tree';
const TREE_VERSION = '3';
const TARGET_BYTES = 200 * 1024 * 1024;

// --- the tree ----------------------------------------------------------------------------------------

function pythonFile(f: Fake, secret: string | undefined): string {
  const lines: string[] = ['import os', 'import torch', 'import numpy as np', 'from transformers import AutoModelForCausalLM, AutoTokenizer', ''];
  for (let i = 0; i < 60; i++) {
    lines.push(`def step_${i}(model, batch, lr=${(f.next() / 100).toFixed(5)}):`);
    lines.push(`    """Training step ${i}: forward, loss, backward (token budget ${f.int(4096)})."""`);
    lines.push('    out = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"])');
    lines.push(`    loss = out.loss * ${f.next().toFixed(3)}`);
    lines.push('    key = jax.random.PRNGKey(0)  # not a secret');
    lines.push(`    run_id = "${f.uuid()}"`);
    lines.push('    api_key = os.environ["SERVICE_API_KEY"]');
    lines.push('    return loss');
    lines.push('');
  }
  if (secret !== undefined) lines.splice(10, 0, secret);
  return lines.join('\n') + '\n';
}

function notebookFile(f: Fake, images: number, secret: string | undefined): string {
  const cells: unknown[] = [{ cell_type: 'markdown', id: f.hex(8), metadata: {}, source: ['# Analysis\n', 'Loss curves and samples.'] }];
  for (let i = 0; i < images; i++) {
    cells.push({
      cell_type: 'code',
      execution_count: i + 1,
      id: f.hex(8),
      metadata: {},
      source: [`fig = plot(losses[${i}])\n`, 'fig.show()'],
      outputs: [
        { output_type: 'stream', name: 'stdout', text: [`epoch ${i} loss ${f.next().toFixed(4)}\n`] },
        { output_type: 'display_data', data: { 'image/png': randomBytes(240_000).toString('base64'), 'text/plain': ['<Figure size 640x480 with 1 Axes>'] }, metadata: {} },
      ],
    });
  }
  if (secret !== undefined) cells.push({ cell_type: 'code', execution_count: 99, id: f.hex(8), metadata: {}, source: [secret], outputs: [] });
  return JSON.stringify({ cells, metadata: { kernelspec: { name: 'python3', display_name: 'Python 3', language: 'python' } }, nbformat: 4, nbformat_minor: 5 }, null, 1) + '\n';
}

function csvFile(f: Fake, rows: number): string {
  const out: string[] = ['id,sha256,feature_a,feature_b,label,split'];
  for (let i = 0; i < rows; i++) out.push(`${f.uuid()},${f.hex(64)},${f.next().toFixed(6)},${f.int(100000)},${f.int(10)},${i % 10 === 0 ? 'test' : 'train'}`);
  return out.join('\n') + '\n';
}

function jsonFile(f: Fake, records: number): string {
  const out: unknown[] = [];
  for (let i = 0; i < records; i++) out.push({ id: f.uuid(), text: `sample ${i} with some words about tokens and keys`, tokens: Array.from({ length: 24 }, () => f.int(32000)), score: f.next() });
  return JSON.stringify(out) + '\n';
}

function logFile(f: Fake, lines: number, secret: string | undefined): string {
  const out: string[] = [];
  for (let i = 0; i < lines; i++) out.push(`2024-06-${10 + (i % 18)}T12:${String(i % 60).padStart(2, '0')}:00Z INFO step=${i} loss=${f.next().toFixed(4)} lr=3e-4 tokens_per_sec=${f.int(90000)} request_id=${f.uuid()}`);
  if (secret !== undefined) out.splice(lines >> 1, 0, secret);
  return out.join('\n') + '\n';
}

function yamlFile(f: Fake, secret: string | undefined): string {
  const lines = ['trainer:', `  max_epochs: ${f.int(50)}`, '  precision: bf16-mixed', 'wandb:', '  api_key: ${oc.env:WANDB_API_KEY}', 'tokenizer:', '  pad_token: "<pad>"', `  checksum: sha256:${f.hex(64)}`];
  if (secret !== undefined) lines.push(secret);
  return lines.join('\n') + '\n';
}

/** A secret line for a file kind, or undefined; about one file in 25 gets one. */
function secretFor(f: Fake, kind: 'py' | 'log' | 'yaml' | 'nb'): string | undefined {
  if (f.int(25) !== 0) return undefined;
  const pick = f.int(6);
  const value =
    pick === 0 ? f.checksummed('ghp_') : pick === 1 ? `hf_${f.chars(LETTERS, 34)}` : pick === 2 ? `AKIA${f.chars(UPPER_B32, 16)}` : pick === 3 ? `sk-proj-${f.chars(B64URL, 74)}T3BlbkFJ${f.chars(B64URL, 74)}` : pick === 4 ? f.hex(40) : `${f.alnum(20)}!${f.alnum(6)}`;
  const name = pick === 4 ? 'WANDB_API_KEY' : pick === 5 ? 'DB_PASSWORD' : 'TOKEN';
  if (kind === 'yaml') return `${name.toLowerCase()}: "${value}"`;
  if (kind === 'log') return `DEBUG env ${name}=${value}`;
  return `${name} = "${value}"`;
}

function buildTree(): number {
  const stamp = join(TREE, '.stamp');
  if (existsSync(stamp) && readFileSync(stamp, 'utf8') === TREE_VERSION) return treeBytes(TREE);
  rmSync(TREE, { recursive: true, force: true });
  const f = new Fake(4242);
  let total = 0;
  const put = (rel: string, text: string): void => {
    const path = join(TREE, rel);
    mkdirSync(join(path, '..'), { recursive: true });
    writeFileSync(path, text);
    total += Buffer.byteLength(text);
  };
  let i = 0;
  while (total < TARGET_BYTES) {
    const project = `team${i % 8}/proj${Math.floor(i / 40)}`;
    const n = i++;
    switch (n % 20) {
      case 0:
        put(`${project}/notebooks/analysis_${n}.ipynb`, notebookFile(f, 8 + f.int(8), secretFor(f, 'nb')));
        break;
      case 1:
        put(`${project}/data/features_${n}.csv`, csvFile(f, 12_000));
        break;
      case 2:
        put(`${project}/data/samples_${n}.json`, jsonFile(f, 3_000));
        break;
      case 3:
        put(`${project}/logs/train_${n}.log`, logFile(f, 15_000, secretFor(f, 'log')));
        break;
      case 4:
      case 5:
        put(`${project}/configs/exp_${n}.yaml`, yamlFile(f, secretFor(f, 'yaml')));
        break;
      default:
        put(`${project}/src/module_${n}.py`, pythonFile(f, secretFor(f, 'py')));
    }
  }
  writeFileSync(stamp, TREE_VERSION);
  return total;
}

function treeBytes(dir: string): number {
  let total = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) total += treeBytes(path);
    else if (entry.name !== '.stamp') total += statSync(path).size;
  }
  return total;
}

function listFiles(dir: string, out: string[] = []): string[] {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) listFiles(path, out);
    else if (entry.name !== '.stamp') out.push(path);
  }
  return out;
}

// --- baselines ---------------------------------------------------------------------------------------

/** Roughly the pattern set of a regex-only scanner: prefixed tokens plus a generic secret assignment. */
const BASELINE_SOURCE =
  'gh[pousr]_[A-Za-z0-9]{36}|github_pat_[A-Za-z0-9_]{82}|hf_[A-Za-z]{34}|(?:AKIA|ASIA)[A-Z2-7]{16}|sk-[A-Za-z0-9_-]{20,}T3BlbkFJ|sk-ant-[a-z0-9]+-[A-Za-z0-9_-]{80,}|' +
  'xox[baprs]-[0-9A-Za-z-]{10,}|glpat-[0-9A-Za-z_-]{20}|npm_[A-Za-z0-9]{36}|r8_[A-Za-z0-9]{37}|gsk_[A-Za-z0-9]{52}|dapi[0-9a-f]{32}|AIza[0-9A-Za-z_-]{35}|' +
  '-----BEGIN [A-Z ]*PRIVATE KEY-----|eyJ[A-Za-z0-9_-]{10,}\\.eyJ[A-Za-z0-9_-]{10,}\\.[A-Za-z0-9_-]+|[a-z+]+://[^:/\\s]+:[^@/\\s]+@|' +
  '(?:password|passwd|secret|token|api_?key)["\']?\\s*[:=]\\s*["\']?[A-Za-z0-9_!#$%*+/=-]{8,}';

function nodeBaseline(files: readonly string[]): { seconds: number; matches: number } {
  const re = new RegExp(BASELINE_SOURCE, 'gi');
  const started = process.hrtime.bigint();
  let matches = 0;
  for (const file of files) {
    const text = readFileSync(file).toString('latin1');
    re.lastIndex = 0;
    while (re.exec(text) !== null) matches++;
  }
  return { seconds: Number(process.hrtime.bigint() - started) / 1e9, matches };
}

function grepBaseline(): { seconds: number; ok: boolean } {
  const started = process.hrtime.bigint();
  const run = spawnSync('grep', ['-rEIic', '--', BASELINE_SOURCE.replace(/\\\\/g, '\\').replace(/\(\?:/g, '('), TREE], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  return { seconds: Number(process.hrtime.bigint() - started) / 1e9, ok: run.status === 0 || run.status === 1 };
}

// --- the engine --------------------------------------------------------------------------------------

function newestMtime(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestMtime(path) : statSync(path).mtimeMs);
  }
  return newest;
}

/**
 * Worker threads load the engine's worker module by file; under tsx that is a .ts file the worker cannot
 * load, so throughput is measured with the built engine (dist/, rebuilt here when src/ is newer), the way
 * `custody scan` runs. Falls back to the source engine in this thread when no build is available.
 */
async function loadEngine(): Promise<{ runScan: typeof runScanFromSource; built: boolean }> {
  const engine = resolve('dist/scanners/engine.js');
  if (!existsSync(engine) || statSync(engine).mtimeMs < newestMtime('src')) {
    spawnSync(process.execPath, ['node_modules/typescript/bin/tsc', '-p', 'tsconfig.build.json'], { stdio: 'ignore' });
  }
  if (existsSync(resolve('dist/scanners/secrets/scan.js'))) {
    try {
      const built = (await import(pathToFileURL(engine).href)) as { runScan: typeof runScanFromSource };
      return { runScan: built.runScan, built: true };
    } catch (error) {
      process.stderr.write(`secrets bench: the built engine does not load (${(error as Error).message}); measuring the source engine in one thread\n`);
    }
  }
  return { runScan: runScanFromSource, built: false };
}

// --- run ---------------------------------------------------------------------------------------------

/** `--measure`: scan the tree in a fresh process and print {seconds, rssMb, secrets, others}, so peak RSS is the scan's own. */
if (process.argv.includes('--measure')) {
  const engine = await loadEngine();
  const started = process.hrtime.bigint();
  const result = await engine.runScan({ paths: [TREE], only: ['secrets'], config: defaultConfig(), gitignore: false, ...(engine.built ? {} : { jobs: 0 }) });
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const secrets = result.findings.filter((f) => f.scanner === 'secrets').length;
  process.stdout.write(JSON.stringify({ seconds, rssMb: process.resourceUsage().maxRSS / 1024, secrets, others: result.findings.length - secrets, built: engine.built }) + '\n');
  process.exit(0);
}

if (process.argv.includes('--process-only') || process.argv.includes('--shapes-only')) {
  process.stdout.write((process.argv.includes('--shapes-only') ? measureShapesOnly() : measureSecretsProcess()).join('\n') + '\n');
  process.exit(0);
}

const fmt = (n: number, d = 3): string => n.toFixed(d);
const out: string[] = ['## Secrets scanner', ''];
out.push('Target: precision and recall ≥ 0.95 on the labelled ML-project corpus; ≥ 50 MB/s on a ~200 MB generated ML project tree with peak RSS < 500 MB.', '');

const score = await evaluateCorpus(0);
out.push(`### Precision and recall (${score.files} files, ${score.total.expected} labelled secrets; corpus from scripts/fixtures/gen_secrets_corpus.py)`, '');
out.push('| family | expected | found | true positives | precision | recall |', '|---|---:|---:|---:|---:|---:|');
for (const s of score.families) out.push(`| ${s.family} | ${s.expected} | ${s.found} | ${s.truePositives} | ${fmt(s.precision)} | ${fmt(s.recall)} |`);
out.push(`| **all** | ${score.total.expected} | ${score.total.found} | ${score.total.truePositives} | **${fmt(score.total.precision)}** | **${fmt(score.total.recall)}** |`, '');
if (score.falsePositives.length > 0 || score.falseNegatives.length > 0) {
  for (const fp of score.falsePositives.slice(0, 10)) out.push(`- false positive: ${fp.path}:${fp.line} (${fp.ruleId})`);
  for (const fn of score.falseNegatives.slice(0, 10)) out.push(`- missed: ${fn.path}:${fn.line} (${fn.family})`);
  out.push('');
}

// The independent corpus, written apart from the rules (scripts/fixtures/gen_secrets_redteam.py).
const red = await evaluateRedteam(0);
out.push(`### Precision and recall on the independent red-team corpus (${red.files} files, ${red.expected} labelled secrets; scripts/fixtures/gen_secrets_redteam.py)`, '');
out.push('| expected | found | true positives | precision | recall |', '|---:|---:|---:|---:|---:|');
out.push(`| ${red.expected} | ${red.found} | ${red.truePositives} | **${fmt(red.precision)}** | **${fmt(red.recall)}** |`, '');
for (const fp of red.falsePositives.slice(0, 10)) out.push(`- false positive: ${fp.path}:${fp.line} (${fp.what})`);
for (const fn of red.falseNegatives.slice(0, 10)) out.push(`- missed: ${fn.path}:${fn.line} (${fn.what})`);
if (red.falsePositives.length + red.falseNegatives.length > 0) out.push('');

const bytes = buildTree();
const mb = bytes / (1024 * 1024);
const files = listFiles(TREE);
const node = nodeBaseline(files);
const grep = grepBaseline();
out.push(...measureSecretsProcess());

const single = process.hrtime.bigint();
await runScanFromSource({ paths: [TREE], only: ['secrets'], config: defaultConfig(), gitignore: false, jobs: 0 });
const singleSeconds = Number(process.hrtime.bigint() - single) / 1e9;

// The measured scan runs in its own process (without --expose-gc, which worker threads refuse as an execArgv).
const measured = spawnSync(process.execPath, ['--import', 'tsx', 'bench/secrets.bench.ts', '--measure'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
const m = JSON.parse(measured.stdout.trim().split('\n').pop() ?? '{}') as { seconds: number; rssMb: number; secrets: number; others: number; built: boolean };
const { seconds, rssMb } = m;
const rate = mb / seconds;
out.push(`### Throughput (${files.length} files, ${fmt(mb, 1)} MB; ${availableParallelism()} cores)`, '');
out.push('| scanner | seconds | MB/s |', '|---|---:|---:|');
out.push(`| custody secrets: runScan({ only: ['secrets'] }), ${m.built ? 'built engine, worker threads' : 'source engine, this thread (no build)'} | ${fmt(seconds, 2)} | **${fmt(rate, 1)}** |`);
out.push(`| custody secrets: same, one thread (jobs: 0) | ${fmt(singleSeconds, 2)} | ${fmt(mb / singleSeconds, 1)} |`);
out.push(`| baseline: one combined regex per file, this thread (${node.matches} matches) | ${fmt(node.seconds, 2)} | ${fmt(mb / node.seconds, 1)} |`);
if (grep.ok) out.push(`| baseline: grep -rEIic, same pattern set | ${fmt(grep.seconds, 2)} | ${fmt(mb / grep.seconds, 1)} |`);
out.push('');
out.push(`Ratio custody / single-regex baseline: **${fmt(rate / (mb / node.seconds), 2)}×**${grep.ok ? `; custody / grep: ${fmt(rate / (mb / grep.seconds), 2)}×` : ''}.`);
out.push(`Findings on the tree: ${m.secrets} secrets${m.others > 0 ? `, ${m.others} other (scan errors: investigate)` : ''}. Peak RSS of the scanning process (main thread + workers): **${fmt(rssMb, 0)} MB**.`);
out.push(`Result: precision ${score.total.precision >= 0.95 ? 'meets' : 'MISSES'} and recall ${score.total.recall >= 0.95 ? 'meets' : 'MISSES'} the 0.95 bar (red-team corpus: precision ${red.precision >= 0.95 ? 'meets' : 'MISSES'}, recall ${red.recall >= 0.95 ? 'meets' : 'MISSES'}); throughput ${rate >= 50 ? 'meets' : 'MISSES'} 50 MB/s; memory ${rssMb < 500 ? 'meets' : 'MISSES'} 500 MB.`, '');
// Hostile single lines (issue 8): a long run of one construct, then a real credential URI on the same line. The
// time per MiB must not grow with the length (linear), and the URI must still be found.
const HOSTILE_UNITS = ['password=', 'token:', '"password": "', '-----BEGIN PRIVATE KEY-----', 'AKIA', 'curl -u ', '#define password ', '\\npassword=\\"'];
const hostileUri = ' postgresql://feast:Xq7bN2kLp9Zt@db.internal:5432/features';
out.push('### Hostile single lines (one line of N MiB, then a credential URI)', '');
out.push('| line made of | 1 MiB: s | 4 MiB: s | s per MiB at 4 MiB ÷ at 1 MiB | URI found |', '|---|---:|---:|---:|---|');
for (const unit of HOSTILE_UNITS) {
  const times: number[] = [];
  let found = true;
  for (const mib of [1, 4]) {
    const text = unit.repeat(Math.ceil((mib * 1024 * 1024) / unit.length)) + hostileUri;
    const started = process.hrtime.bigint();
    const outcome = detectSecrets({ text, kind: 'text', baseName: 'hostile.txt' }, Number.POSITIVE_INFINITY);
    times.push(Number(process.hrtime.bigint() - started) / 1e9);
    found &&= outcome.candidates.some((c) => c.rule.id === 'secrets/connection-uri-password');
  }
  out.push(`| \`${unit.replace(/\|/g, '\\|')}\` | ${fmt(times[0]!, 2)} | ${fmt(times[1]!, 2)} | ${fmt(times[1]! / 4 / times[0]!, 2)} | ${found ? 'yes' : '**NO**'} |`);
}
out.push('', 'A ratio near 1 is linear; a quadratic scan would show about 4.', '');
process.stdout.write(out.join('\n') + '\n');
