// `custody scan --history` against `git log -p --all` on the same generated repository.
// Target: the history scan takes at most 3× the time of `git log -p --all > /dev/null`.
//
// The repository (bench/.work/history-repo) is generated once with `git fast-import`: 2,000 commits
// over ~3,000 text files with realistic churn (a few lines edited in a few files per commit, files
// added and deleted, feature branches merged back), plus a handful of fake secrets.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, openSync, closeSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { defaultConfig } from '../src/core/config.js';
import { runScan, selectScanners } from '../src/scanners/engine.js';
import { scanHistory } from '../src/scanners/history/index.js';
import { allRules } from '../src/scanners/index.js';

const VERSION = 'history-bench-2';
const WORK = join('bench', '.work');
const REPO = join(WORK, 'history-repo');
const COMMITS = 2000;
const INITIAL_FILES = 3000;

/** Deterministic PRNG (mulberry32) so every run benches the same repository. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const WORDS = 'model data train loss batch epoch tensor layer weight config path value result index score vector cache input output shape device optimizer scheduler metric logger dataset split feature label sample'.split(' ');

function generate(): void {
  const random = prng(42);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)] as T;
  const word = (): string => pick(WORDS);
  const line = (): string => {
    switch (Math.floor(random() * 5)) {
      case 0:
        return `def ${word()}_${word()}(${word()}, ${word()}=${Math.floor(random() * 100)}):`;
      case 1:
        return `    ${word()} = ${word()}.${word()}(${word()}, ${word()})`;
      case 2:
        return `    # ${word()} ${word()} ${word()} ${word()} ${word()}`;
      case 3:
        return `    return ${word()}[${Math.floor(random() * 10)}] * ${random().toFixed(4)}`;
      default:
        return `${word().toUpperCase()}_${word().toUpperCase()} = "${word()}-${Math.floor(random() * 1e6)}"`;
    }
  };
  const secretChars = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
  const fakeSecret = (): string => `postgres://bench:${Array.from({ length: 20 }, () => pick([...secretChars])).join('')}@db.example.invalid/app`;

  const files = new Map<string, string[]>();
  const dirs = Array.from({ length: 60 }, (_, i) => `pkg${i}/${pick(['core', 'train', 'eval', 'data', 'utils'])}`);
  const newPath = (): string => `${pick(dirs)}/${word()}_${files.size}_${Math.floor(random() * 1e6)}.py`;
  const newFile = (): string[] => Array.from({ length: 20 + Math.floor(random() * 120) }, line);

  const parts: Buffer[] = [];
  const emit = (text: string): void => {
    parts.push(Buffer.from(text));
  };
  const data = (text: string): void => {
    emit(`data ${Buffer.byteLength(text)}\n${text}\n`);
  };
  let mark = 0;
  let time = 1_600_000_000;
  const commit = (ref: string, from: number | undefined, merge: number | undefined, changes: string[], message: string): number => {
    const id = ++mark;
    time += 600 + Math.floor(random() * 3600);
    emit(`commit ${ref}\nmark :${id}\nauthor Bench <bench@example.invalid> ${time} +0000\ncommitter Bench <bench@example.invalid> ${time} +0000\n`);
    data(message);
    if (from !== undefined) emit(`from :${from}\n`);
    if (merge !== undefined) emit(`merge :${merge}\n`);
    for (const change of changes) emit(change);
    emit('\n');
    return id;
  };
  const modify = (path: string): string => {
    const body = `${(files.get(path) ?? []).join('\n')}\n`;
    return `M 100644 inline ${path}\ndata ${Buffer.byteLength(body)}\n${body}\n`;
  };
  const churn = (count: number): string[] => {
    const changes: string[] = [];
    const paths = [...files.keys()];
    for (let i = 0; i < count; i++) {
      const roll = random();
      if (roll < 0.08) {
        const path = newPath();
        files.set(path, newFile());
        changes.push(modify(path));
      } else if (roll < 0.11 && paths.length > 100) {
        const path = pick(paths);
        if (!files.has(path)) continue;
        files.delete(path);
        changes.push(`D ${path}\n`);
      } else {
        const path = pick(paths);
        const lines = files.get(path);
        if (!lines) continue;
        const edits = 1 + Math.floor(random() * 6);
        for (let e = 0; e < edits; e++) {
          const at = Math.floor(random() * (lines.length + 1));
          const op = random();
          if (op < 0.5) lines.splice(at, 0, line());
          else if (op < 0.8) lines.splice(at, 1, line());
          else lines.splice(at, 1);
        }
        if (random() < 0.002) lines.push(`DATABASE_URL = "${fakeSecret()}"`);
        changes.push(modify(path));
      }
    }
    return changes;
  };

  const initial: string[] = [];
  for (let i = 0; i < INITIAL_FILES; i++) {
    const path = newPath();
    files.set(path, newFile());
    initial.push(modify(path));
  }
  let head = commit('refs/heads/main', undefined, undefined, initial, 'initial import');
  let made = 1;
  let branch = 0;
  while (made < COMMITS) {
    if (random() < 0.02 && made + 12 < COMMITS) {
      // A feature branch of a few commits, merged back with --no-ff.
      const name = `refs/heads/feature-${branch++}`;
      let tip = head;
      const length = 2 + Math.floor(random() * 8);
      for (let i = 0; i < length; i++, made++) tip = commit(name, tip, undefined, churn(1 + Math.floor(random() * 6)), `feature work ${made}`);
      head = commit('refs/heads/main', head, tip, churn(1), `merge feature ${branch}`);
      made++;
    } else {
      head = commit('refs/heads/main', head, undefined, churn(1 + Math.floor(random() * 8)), `change ${made}`);
      made++;
    }
  }

  rmSync(REPO, { recursive: true, force: true });
  mkdirSync(REPO, { recursive: true });
  const git = (args: string[], input?: Buffer): void => {
    const result = spawnSync('git', args, { cwd: REPO, input, stdio: [input === undefined ? 'ignore' : 'pipe', 'ignore', 'inherit'], env: { ...process.env, GIT_CONFIG_GLOBAL: '/dev/null', GIT_CONFIG_NOSYSTEM: '1' }, maxBuffer: 1024 * 1024 * 1024 });
    if (result.status !== 0) throw new Error(`git ${args.join(' ')} failed`);
  };
  git(['init', '-q', '-b', 'main']);
  git(['fast-import', '--quiet'], Buffer.concat(parts));
  git(['checkout', '-q', '-f', 'main']);
  // A packed repository, as a clone would be.
  git(['repack', '-a', '-d', '-q']);
  writeFileSync(join(WORK, 'history-repo.stamp'), VERSION);
}

function seconds(ms: number): string {
  return (ms / 1000).toFixed(2);
}

function timeGitLog(): number {
  const devNull = openSync('/dev/null', 'w');
  try {
    const started = performance.now();
    const result = spawnSync('git', ['log', '-p', '--all'], { cwd: REPO, stdio: ['ignore', devNull, 'inherit'] });
    if (result.status !== 0) throw new Error('git log -p failed');
    return performance.now() - started;
  } finally {
    closeSync(devNull);
  }
}

async function main(): Promise<void> {
  mkdirSync(WORK, { recursive: true });
  const stamp = join(WORK, 'history-repo.stamp');
  if (!existsSync(stamp) || readFileSync(stamp, 'utf8') !== VERSION || !existsSync(join(REPO, '.git'))) generate();

  const count = (args: string[]): number => Number(spawnSync('git', args, { cwd: REPO, encoding: 'utf8' }).stdout.trim().split('\n').filter(Boolean).length);
  const commits = count(['rev-list', '--all']);
  const headFiles = count(['ls-files']);

  timeGitLog(); // warm the page cache for both sides
  const gitMs = Math.min(timeGitLog(), timeGitLog(), timeGitLog());

  const best = async (run: () => Promise<number>, times: number): Promise<{ ms: number; findings: number }> => {
    let ms = Infinity;
    let findings = 0;
    for (let i = 0; i < times; i++) {
      const started = performance.now();
      findings = await run();
      ms = Math.min(ms, performance.now() - started);
    }
    return { ms, findings };
  };
  const config = defaultConfig();
  const knownRuleIds = new Set(allRules().map((r) => r.id));
  const full = await best(async () => (await runScan({ paths: [REPO], only: ['secrets'], history: true })).findings.length, 3);
  const tree = await best(async () => (await runScan({ paths: [REPO], only: ['secrets'] })).findings.length, 3);
  const history = await best(async () => (await scanHistory({ repo: REPO, displayRoot: REPO, scanners: selectScanners(['secrets']), config, knownRuleIds })).length, 3);

  const ratio = full.ms / gitMs;
  const historyRatio = history.ms / gitMs;
  const lines = [
    '## History scan (`custody scan --history`)',
    '',
    `Target: \`runScan({ paths: [repo], only: ['secrets'], history: true })\` within 3× of \`git log -p --all > /dev/null\` on the same repository.`,
    '',
    `Repository: ${commits} commits, ${headFiles} files in HEAD (generated with git fast-import, packed). Best of 3 runs each.`,
    '',
    '| measure | seconds | × git log -p |',
    '|---|---|---|',
    `| \`git log -p --all > /dev/null\` | ${seconds(gitMs)} | 1.00 |`,
    `| \`custody scan --history --only secrets\` (working tree + history; ${full.findings} findings) | ${seconds(full.ms)} | ${ratio.toFixed(2)} |`,
    `| of which: working tree alone (\`runScan\` without history; ${tree.findings} findings) | ${seconds(tree.ms)} | ${(tree.ms / gitMs).toFixed(2)} |`,
    `| of which: history alone (\`scanHistory\`; ${history.findings} findings) | ${seconds(history.ms)} | ${historyRatio.toFixed(2)} |`,
    '',
    `Ratio: **${ratio.toFixed(2)}×** git log -p for the whole command (target ≤ 3×) — ${ratio <= 3 ? 'met' : 'NOT met'}; the history scan alone is **${historyRatio.toFixed(2)}×**.`,
    '',
  ];
  process.stdout.write(lines.join('\n'));
}

await main();
