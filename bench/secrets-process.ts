// `custody scan --only secrets` as users run it — the whole CLI process, start-up, module loading and
// worker hand-off included — on a generated ~200 MiB ML tree (bench/ml-tree.ts), with the default job
// count and with --jobs 0 in turn, beside stock secretlint (recommended preset) on the same tree in the
// same run. Used by bench/secrets.bench.ts; prints a markdown section.
// Bars (issue 9): >= 60 MiB/s wall, >= 3x secretlint's throughput, peak RSS < 500 MB, default no slower
// than --jobs 0. On a shared machine wall time depends on the load: the load average is printed beside
// every figure, with CPU time (user + sys, all threads), which the load barely moves.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { canMeasureCli, measureProcess, type ProcessMeasure } from './cli-process.js';
import { buildMlTree } from './ml-tree.js';

const TREE = 'bench/.work/ml-tree-200';
const TREE_BYTES = 200 * 1024 * 1024;
const PAIRS = 5;
const SECRETLINT = 'node_modules/secretlint/bin/secretlint.js';

const median = (values: readonly number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
};
const cpu = (m: ProcessMeasure): number => m.userSeconds + m.systemSeconds;
const load = (): string => loadavg().map((l) => l.toFixed(1)).join(' ');
const fmt = (n: number, d = 2): string => n.toFixed(d);

function custody(tree: string | readonly string[], out: string, extra: readonly string[]): ProcessMeasure {
  return measureProcess([process.execPath, 'bin/custody', 'scan', ...(typeof tree === 'string' ? [tree] : tree), '--only', 'secrets', '--format', 'json', '--output', out, '--fail-on', 'none', ...extra]);
}

interface Pairs {
  a: ProcessMeasure[];
  b: ProcessMeasure[];
  loads: string[];
}

/** The default job count (A) and --jobs 0 (B) in turn, after one warm-up each. */
function runPairs(paths: string | readonly string[], count: number, scratch: string): Pairs {
  const reportA = join(scratch, 'default.json');
  const reportB = join(scratch, 'jobs0.json');
  const loads: string[] = [load()];
  custody(paths, reportA, []);
  custody(paths, reportB, ['--jobs', '0']);
  const a: ProcessMeasure[] = [];
  const b: ProcessMeasure[] = [];
  for (let i = 0; i < count; i++) {
    a.push(custody(paths, reportA, []));
    b.push(custody(paths, reportB, ['--jobs', '0']));
    loads.push(load());
  }
  return { a, b, loads };
}

const pairRatio = (p: Pairs, figure: (m: ProcessMeasure) => number): number => median(p.a.map((m, i) => figure(m) / figure(p.b[i] as ProcessMeasure)));

function countFindings(report: string): { secrets: number; others: number } {
  const findings = (JSON.parse(readFileSync(report, 'utf8')) as { findings: { scanner: string }[] }).findings;
  const secrets = findings.filter((f) => f.scanner === 'secrets').length;
  return { secrets, others: findings.length - secrets };
}

/** The section's markdown lines. */
export function measureSecretsProcess(): string[] {
  const out: string[] = ['### Whole process, as users run it (issue 9 bars)', ''];
  if (!canMeasureCli()) return [...out, 'Not measured: needs /usr/bin/time and a built CLI (`npm run build`).', ''];
  const tree = buildMlTree(TREE, TREE_BYTES);
  const mib = tree.bytes / (1024 * 1024);
  const scratch = mkdtempSync(join(tmpdir(), 'custody-secrets-bench-'));
  try {
    const reportA = join(scratch, 'default.json');
    const reportB = join(scratch, 'jobs0.json');
    const { a, b, loads } = runPairs(tree.root, PAIRS, scratch);
    const found = countFindings(reportA);
    const foundB = countFindings(reportB);
    const empty = mkdtempSync(join(scratch, 'empty-'));
    const startup = median(Array.from({ length: 3 }, () => cpu(custody(empty, join(scratch, 'empty.json'), []))));

    // Stock secretlint, recommended preset, on the same tree (it skips node_modules by itself). Once: it is slow.
    const rc = join(scratch, 'secretlintrc.json');
    writeFileSync(rc, JSON.stringify({ rules: [{ id: '@secretlint/secretlint-rule-preset-recommend' }] }));
    const slReport = join(scratch, 'secretlint.json');
    const loadBeforeSl = load();
    const sl = measureProcess([process.execPath, SECRETLINT, '--secretlintrc', rc, '--format', 'json', '--output', slReport, `${resolve(tree.root)}/**/*`]);
    const loadAfterSl = load();
    let slFindings = NaN;
    try {
      slFindings = (JSON.parse(readFileSync(slReport, 'utf8')) as { messages: unknown[] }[]).reduce((sum, file) => sum + file.messages.length, 0);
    } catch {
      // no report: shown as n/a
    }

    const wallA = median(a.map((m) => m.seconds));
    const wallB = median(b.map((m) => m.seconds));
    const cpuA = median(a.map(cpu));
    const cpuB = median(b.map(cpu));
    const rssA = Math.max(...a.map((m) => m.rssMb));
    const rssB = Math.max(...b.map((m) => m.rssMb));
    const wallRatio = pairRatio({ a, b, loads }, (m) => m.seconds);
    const cpuRatio = pairRatio({ a, b, loads }, cpu);
    const rateA = mib / wallA;
    const slRate = mib / sl.seconds;
    const row = (name: string, wall: number, c: number, rss: number): string => `| ${name} | ${fmt(wall)} s | **${fmt(mib / wall, 1)}** | ${fmt(c)} s | ${fmt(mib / c, 1)} | ${fmt(rss, 0)} MB |`;

    out.push(`Tree: bench/ml-tree.ts, ${tree.files} files, ${fmt(mib, 1)} MiB (source, configs and, ignored by its .gitignore, a .venv and a node_modules: many small files; notebooks with image outputs, CSV, JSON lines and logs: big text; safetensors, a PyTorch zip, a pickle, numpy arrays, PNGs and a shared library). ${availableParallelism()} cores. Commands: \`node bin/custody scan TREE --only secrets --format json --output FILE --fail-on none\` with the default job count (A) and with \`--jobs 0\` (B), ${PAIRS} pairs in turn after one warm-up each; \`node ${SECRETLINT} --secretlintrc RC --format json --output FILE "TREE/**/*"\` (stock secretlint ${readVersion('node_modules/secretlint/package.json')}, \`@secretlint/secretlint-rule-preset-recommend\`) once. Wall and CPU (user + sys, all threads) of the whole process from /usr/bin/time; medians; MiB/s is tree size over that time.`, '');
    out.push(`Load average (1, 5, 15 min) during the custody pairs: ${loads.join(' → ')}; during secretlint: ${loadBeforeSl} → ${loadAfterSl}.`, '');
    out.push('| command | wall | MiB/s (wall) | CPU (user+sys) | MiB per CPU-second | peak RSS |', '|---|---:|---:|---:|---:|---:|');
    out.push(row('custody, default job count (A)', wallA, cpuA, rssA));
    out.push(row('custody, --jobs 0 (B)', wallB, cpuB, rssB));
    out.push(row('secretlint, recommended preset', sl.seconds, cpu(sl), sl.rssMb));
    out.push('');
    out.push(`Findings: custody ${found.secrets} secrets (default) and ${foundB.secrets} (--jobs 0)${found.others + foundB.others > 0 ? `, ${found.others}/${foundB.others} other (scan errors: investigate)` : ''}; secretlint ${Number.isNaN(slFindings) ? 'n/a' : slFindings} messages (exit ${sl.status}). Start-up alone (\`custody scan\` of an empty directory): ${fmt(startup)} s CPU.`, '');
    out.push(`Ratios, median of the pairs: A/B wall **${fmt(wallRatio)}**, A/B CPU ${fmt(cpuRatio)}. Custody (A) over secretlint: **${fmt(rateA / slRate, 1)}×** by wall time, ${fmt(cpu(sl) / cpuA, 1)}× by CPU time.`, '');
    const verdict = (ok: boolean): string => (ok ? 'met' : 'NOT met');
    out.push(...measureShapes(tree.root, scratch));
    out.push(`Bars: ≥ 60 MiB/s wall — ${verdict(rateA >= 60)} (${fmt(rateA, 1)}; at a load average near or above the core count this is a statement about the machine's other work, see the CPU column); ≥ 3× secretlint — ${verdict(rateA / slRate >= 3)}; peak RSS < 500 MB — ${verdict(rssA < 500)}; default no slower than --jobs 0 — ${verdict(wallRatio <= 1.0)} by wall time (the CPU ratio above 1 is the helper thread's start-up).`, '');
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
  return out;
}

function readVersion(path: string): string {
  try {
    return (JSON.parse(readFileSync(path, 'utf8')) as { version?: string }).version ?? '?';
  } catch {
    return '?';
  }
}

/** The shapes table alone (`--shapes-only`), on the same generated tree. */
export function measureShapesOnly(): string[] {
  if (!canMeasureCli()) return ['Not measured: needs /usr/bin/time and a built CLI (`npm run build`).', ''];
  const tree = buildMlTree(TREE, TREE_BYTES);
  const scratch = mkdtempSync(join(tmpdir(), 'custody-secrets-bench-'));
  try {
    return measureShapes(tree.root, scratch);
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

/**
 * Default job count against --jobs 0 on other shapes of the same tree, named as paths: the small files
 * only, the big files only, a few hundred small files (where a helper starts but may not pay), one folder.
 */
function measureShapes(root: string, scratch: string): string[] {
  const at = (...parts: string[]): string[] => parts.map((p) => join(root, p));
  const shapes: { name: string; paths: string[]; pairs: number }[] = [
    { name: 'many small files (src, configs, .venv, node_modules)', paths: at('src', 'configs', '.venv', 'ui'), pairs: 5 },
    { name: 'a few big files (notebooks, data, logs)', paths: at('notebooks', 'data', 'logs'), pairs: 5 },
    { name: 'a few hundred small files (src/pkg0-5)', paths: at('src/pkg0', 'src/pkg1', 'src/pkg2', 'src/pkg3', 'src/pkg4', 'src/pkg5'), pairs: 7 },
    { name: 'one small folder (src/pkg0)', paths: at('src/pkg0'), pairs: 7 },
  ];
  const out = ['Other shapes of the same tree, default job count (A) against --jobs 0 (B), pairs in turn; medians of the pairs\' ratios:', ''];
  out.push('| shape | files | MiB | A wall | B wall | A/B wall | A CPU | B CPU | A/B CPU | load average |', '|---|---:|---:|---:|---:|---:|---:|---:|---:|---|');
  for (const shape of shapes) {
    const p = runPairs(shape.paths, shape.pairs, scratch);
    const summary = (JSON.parse(readFileSync(join(scratch, 'default.json'), 'utf8')) as { summary: { files: number; bytes: number } }).summary;
    out.push(`| ${shape.name} | ${summary.files} | ${fmt(summary.bytes / 1024 / 1024, 1)} | ${fmt(median(p.a.map((m) => m.seconds)))} s | ${fmt(median(p.b.map((m) => m.seconds)))} s | **${fmt(pairRatio(p, (m) => m.seconds))}** | ${fmt(median(p.a.map(cpu)))} s | ${fmt(median(p.b.map(cpu)))} s | ${fmt(pairRatio(p, cpu))} | ${p.loads[0]} → ${p.loads[p.loads.length - 1]} |`);
  }
  out.push('');
  return out;
}
