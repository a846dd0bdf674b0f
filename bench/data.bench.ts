// `custody data` against plain DuckDB on the same machine, in the same run.
// Targets (issue 13): profile 10M rows / ~1 GB CSV in under 20 s wall and 1 GB peak RSS; a full check
// of two 10M-row Parquet versions with a key in under 120 s under a 2 GB memory limit; and the
// poisoning bar at 1M rows: each planted pattern reported by name, a clean re-sample without a failing
// finding. Baselines: DuckDB's own SUMMARIZE of the CSV (profile), and a plain DuckDB key join of the
// two versions plus SUMMARIZE of each (check), run as child processes with the same threads and memory
// limit. Every measured command runs under /usr/bin/time as a user runs it (node bin/custody …), so
// wall time, CPU time (user + system) and peak RSS are the whole process's.
//
// The data (bench/.work/data-bench) is generated once: 10M rows by DuckDB SQL (deterministic hash
// functions), 1M rows by scripts/fixtures/gen_data.py.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join, resolve } from 'node:path';

const VERSION = 'data-bench-2';
const WORK = resolve('bench', '.work', 'data-bench');
const BIG_CSV = join(WORK, 'big.csv');
const V1 = join(WORK, 'v1.parquet');
const V2 = join(WORK, 'v2.parquet');
const MILLION = join(WORK, 'million');
const ROWS = 10_000_000;

interface Measure {
  seconds: number;
  cpu: number;
  rssMb: number;
  exit: number | null;
  stdout: string;
  stderr: string;
  /** 1-minute load average before and after the run (other work on the machine shows here). */
  load: string;
}

function measure(args: readonly string[]): Measure {
  const before = loadavg()[0] ?? NaN;
  const run = spawnSync('/usr/bin/time', ['-f', '%e %U %S %M', ...args], { encoding: 'utf8', maxBuffer: 512 * 1024 * 1024 });
  const lines = run.stderr.trim().split('\n');
  const [seconds, user, sys, kb] = (lines.pop() ?? '').split(' ').map(Number);
  return { seconds: seconds ?? NaN, cpu: (user ?? NaN) + (sys ?? NaN), rssMb: (kb ?? NaN) / 1024, exit: run.status, stdout: run.stdout, stderr: lines.join('\n'), load: `${before.toFixed(1)} → ${(loadavg()[0] ?? NaN).toFixed(1)}` };
}

function duck(script: string): Measure {
  const file = join(WORK, 'duck.mjs');
  writeFileSync(file, `import { DuckDBInstance } from '@duckdb/node-api';\nconst db = await DuckDBInstance.create(':memory:', { threads: '2', memory_limit: process.argv[2] ?? '640MB', temp_directory: ${JSON.stringify(join(WORK, 'spill'))} });\nconst c = await db.connect();\n${script}\n`);
  return measure([process.execPath, file]);
}

function custody(args: readonly string[]): Measure {
  return measure([process.execPath, 'bin/custody', ...args]);
}

function generate(): void {
  const stamp = join(WORK, '.version');
  if (existsSync(stamp) && readFileSync(stamp, 'utf8') === VERSION) return;
  mkdirSync(WORK, { recursive: true });
  const words = "['alpha','bravo','charlie','delta','echo','foxtrot','golf','hotel','india','juliet','kilo','lima','mike','november','oscar','papa','quebec','romeo','sierra','tango']";
  const gen = duck(`
await c.run(\`COPY (SELECT i AS id,
  CASE WHEN (hash(i * 7) % 1000) < 300 THEN 1 ELSE 0 END AS label,
  round(((hash(i) % 1000000) / 10000.0)::DOUBLE, 2) AS amount,
  (18 + hash(i * 3) % 73)::INTEGER AS age,
  round((((hash(i * 5) % 2000001)::DOUBLE - 1000000) / 300000.0), 6) AS score,
  ['north','south','east','west','centre','coast','hills','islands'][(1 + hash(i * 11) % 8)::BIGINT] AS region,
  ['web','store','phone'][(1 + hash(i * 13) % 3)::BIGINT] AS channel,
  concat_ws(' ', ${words}[(1 + hash(i * 17) % 20)::BIGINT], ${words}[(1 + hash(i * 19) % 20)::BIGINT], ${words}[(1 + hash(i * 23) % 20)::BIGINT], ${words}[(1 + hash(i * 29) % 20)::BIGINT], ${words}[(1 + hash(i * 31) % 20)::BIGINT], ${words}[(1 + hash(i * 37) % 20)::BIGINT], (hash(i * 41) % 100000)::VARCHAR) AS text
  FROM range(${ROWS}) t(i)) TO '${BIG_CSV}' (HEADER)\`);
await c.run(\`COPY (SELECT * FROM read_csv('${BIG_CSV}')) TO '${V1}' (FORMAT parquet)\`);
await c.run(\`COPY (SELECT id, CASE WHEN id % 500 = 7 THEN 1 - label ELSE label END AS label, CASE WHEN id % 1000 = 3 THEN amount * 1.5 ELSE amount END AS amount, age, score, region, channel, text FROM read_parquet('${V1}') WHERE id % 2000 <> 11
  UNION ALL SELECT id + ${ROWS}, label, amount, age, score, region, channel, text FROM read_parquet('${V1}') WHERE id % 1000 = 5) TO '${V2}' (FORMAT parquet)\`);
`);
  if (gen.exit !== 0) throw new Error(`generating the bench data failed: ${gen.stderr}`);
  const py = spawnSync('python3', ['scripts/fixtures/gen_data.py', MILLION, '--rows', '1000000'], { encoding: 'utf8' });
  if (py.status !== 0) throw new Error(`gen_data.py failed: ${py.stderr}`);
  writeFileSync(stamp, VERSION);
}

const f = (x: number, d = 1): string => x.toFixed(d);
/** The example keys a finding lists under `field` (at most 100), as strings. */
const listed = (x: { properties?: Record<string, unknown> }, field: string): string[] => (Array.isArray(x.properties?.[field]) ? (x.properties[field] as unknown[]).map(String) : []);

/** Prints a section as soon as it is measured (a long run under load still shows what it finished). */
function print(lines: readonly string[]): void {
  process.stdout.write(`${lines.join('\n')}\n`);
}

/** Profile: 10M rows CSV, beside DuckDB's SUMMARIZE. */
function benchProfile(): void {
  const lines: string[] = [];
  const csvGb = statSync(BIG_CSV).size / 1e9;
  const summarize = duck(`const r = await c.runAndReadAll(\`SUMMARIZE SELECT * FROM read_csv('${BIG_CSV}')\`); if (r.currentRowCount < 8) throw new Error('summarize');`);
  const profile = custody(['data', 'profile', BIG_CSV, '--label', 'label', '--key', 'id', '--output', join(WORK, 'big-profile.json')]);
  if (profile.exit !== 0) throw new Error(`profile failed: ${profile.stderr}`);
  lines.push(
    `Profile of ${ROWS / 1e6}M rows, ${f(csvGb, 2)} GB CSV (8 columns, key and label), 2 threads, default memory limit (1GB; the SUMMARIZE baseline gets 640MB, more than custody's DuckDB pool):`,
    '',
    '| command | wall s | CPU s | peak RSS MB | load |',
    '|---|---|---|---|---|',
    `| \`custody data profile --label label --key id\` | ${f(profile.seconds)} | ${f(profile.cpu)} | ${f(profile.rssMb, 0)} | ${profile.load} |`,
    `| DuckDB \`SUMMARIZE\` of the same CSV (baseline) | ${f(summarize.seconds)} | ${f(summarize.cpu)} | ${f(summarize.rssMb, 0)} | ${summarize.load} |`,
    '',
    `Target: under 20 s wall and 1024 MB — ${profile.seconds < 20 && profile.rssMb < 1024 ? 'met' : 'NOT met'}. Ratio to SUMMARIZE: ${f(profile.seconds / summarize.seconds, 2)}× wall, ${f(profile.cpu / summarize.cpu, 2)}× CPU.`,
    '',
  );

  print(lines);
}

/** Check: two 10M-row Parquet versions with a key, 2 GB memory limit, beside a plain DuckDB pass. */
function benchCheck(): void {
  const lines: string[] = [];
  const plain = duck(
    `await c.run("SET memory_limit = '2GB'");
const d = await c.runAndReadAll(\`SELECT count(*) FILTER (a.id IS NULL), count(*) FILTER (b.id IS NULL), count(*) FILTER (a.id = b.id AND (a.label <> b.label OR a.amount <> b.amount)) FROM read_parquet('${V1}') a FULL JOIN read_parquet('${V2}') b ON a.id = b.id\`);
await c.runAndReadAll(\`SUMMARIZE SELECT * FROM read_parquet('${V1}')\`);
await c.runAndReadAll(\`SUMMARIZE SELECT * FROM read_parquet('${V2}')\`);`,
  );
  const check = custody(['data', 'check', V2, '--baseline', V1, '--key', 'id', '--label', 'label', '--memory-limit', '2GB', '--format', 'json', '--fail-on', 'none']);
  if (check.exit !== 0) throw new Error(`check failed: ${check.stderr}`);
  const found = (JSON.parse(check.stdout) as { findings: { ruleId: string }[] }).findings.map((x) => x.ruleId);
  lines.push(
    `Full check of two ${ROWS / 1e6}M-row Parquet versions by key (v2: 0.2 % labels flipped, 0.1 % amounts changed, 0.05 % rows removed, 0.1 % copies added), \`--memory-limit 2GB\`:`,
    '',
    '| command | wall s | CPU s | peak RSS MB | load |',
    '|---|---|---|---|---|',
    `| \`custody data check v2.parquet --baseline v1.parquet --key id --label label\` | ${f(check.seconds)} | ${f(check.cpu)} | ${f(check.rssMb, 0)} | ${check.load} |`,
    `| DuckDB key join (added/removed/modified) + SUMMARIZE of both (baseline) | ${f(plain.seconds)} | ${f(plain.cpu)} | ${f(plain.rssMb, 0)} | ${plain.load} |`,
    '',
    `Target: under 120 s under a 2 GB memory limit (the whole process's peak RSS) — ${check.seconds < 120 && check.rssMb < 2048 ? 'met' : 'NOT met'} (${f(check.seconds)} s, peak RSS ${f(check.rssMb, 0)} MB). Ratio to the plain DuckDB pass: ${f(check.seconds / plain.seconds, 2)}× wall, ${f(check.cpu / plain.cpu, 2)}× CPU. Findings: ${[...new Set(found)].join(', ')}.`,
    '',
  );

  print(lines);
}

/** The poisoning bar at 1M rows. */
function benchPoisoning(): void {
  const lines: string[] = [];
  const planted = JSON.parse(readFileSync(join(MILLION, 'planted.json'), 'utf8')) as { rows: number; flips: { keys: number[] }; dups: { copyKeys: number[] }; trigger: { token: string; keys: number[] }; shift: { column: string; value: string } };
  const baseProfile = join(WORK, 'million-base.json');
  const p = custody(['data', 'profile', join(MILLION, 'base.csv'), '--key', 'id', '--label', 'label', '--output', baseProfile]);
  if (p.exit !== 0) throw new Error(`1M profile failed: ${p.stderr}`);
  lines.push(`Poisoning bar: ${planted.rows.toLocaleString('en')} rows (scripts/fixtures/gen_data.py), each pattern planted on its own; profile of the baseline ${f(p.seconds)} s.`, '', '| candidate | planted | failing findings (rule: what it names) | named right | wall s | load |', '|---|---|---|---|---|---|');
  const cases: [string, string, (fs: { ruleId: string; severity: string; properties?: Record<string, unknown> }[]) => boolean][] = [
    ['clean', 'nothing (re-sample)', (fs) => fs.length === 0],
    ['flips', `${planted.flips.keys.length} labels flipped`, (fs) => fs.some((x) => x.ruleId === 'data/label-flips' && x.properties?.['count'] === planted.flips.keys.length && listed(x, 'keys').every((k) => planted.flips.keys.includes(Number(k))))],
    ['dups', `${planted.dups.copyKeys.length} exact copies`, (fs) => fs.some((x) => x.ruleId === 'data/duplicate-rows' && listed(x, 'examples').length > 0 && listed(x, 'examples').every((k) => planted.dups.copyKeys.includes(Number(k))))],
    ['trigger', `token ${planted.trigger.token} in ${planted.trigger.keys.length} rows`, (fs) => fs.some((x) => x.ruleId === 'data/trigger-token' && x.properties?.['token'] === planted.trigger.token && listed(x, 'keys').every((k) => planted.trigger.keys.includes(Number(k))))],
    ['shift', `${planted.shift.column} = ${planted.shift.value} label rate +0.25`, (fs) => fs.some((x) => x.ruleId === 'data/segment-label-shift' && JSON.stringify(x.properties?.['segment']) === JSON.stringify({ column: planted.shift.column, value: planted.shift.value }))],
  ];
  let allNamed = true;
  for (const [name, what, ok] of cases) {
    const run = custody(['data', 'check', join(MILLION, `${name}.csv`), '--baseline', baseProfile, '--baseline-data', join(MILLION, 'base.csv'), '--format', 'json', '--fail-on', 'none', '--memory-limit', '2GB']);
    if (run.exit !== 0) throw new Error(`check ${name} failed: ${run.stderr}`);
    const fs = (JSON.parse(run.stdout) as { findings: { ruleId: string; severity: string; message: string; properties?: Record<string, unknown> }[] }).findings.filter((x) => x.severity === 'high' || x.severity === 'critical');
    const named = ok(fs);
    allNamed &&= named;
    const describe = fs.map((x) => `${x.ruleId}: ${x.ruleId === 'data/trigger-token' ? String(x.properties?.['token']) : x.ruleId === 'data/segment-label-shift' ? JSON.stringify(x.properties?.['segment']) : `${String(x.properties?.['count'] ?? (x.properties?.['examples'] as unknown[] | undefined)?.length ?? '')} keys`}`).join('; ');
    lines.push(`| ${name}.csv | ${what} | ${describe || 'none'} | ${named ? 'yes' : 'NO'} | ${f(run.seconds)} | ${run.load} |`);
  }
  lines.push('', `Every pattern reported and named, clean re-sample passing: ${allNamed ? 'yes' : 'NO'}.`, '');
  print(lines);
}

const SECTIONS = { poisoning: benchPoisoning, profile: benchProfile, check: benchCheck } as const;

/** DATA_BENCH=poisoning,profile selects sections (default: all three, in this order). */
function main(): void {
  if (!existsSync('dist/cli/main.js')) throw new Error('build first (npm run bench builds)');
  const names = (process.env['DATA_BENCH'] ?? Object.keys(SECTIONS).join(',')).split(',');
  for (const name of names) if (!(name in SECTIONS)) throw new Error(`DATA_BENCH: unknown section ${name} (${Object.keys(SECTIONS).join(', ')})`);
  generate();
  print(['## bench/data.bench.ts — custody data (DuckDB engine)', '', `${cpus().length} cores; load is the 1-minute load average before → after each command (above ${cpus().length}, other work shared the cores and wall times are longer than on an idle machine).`, '']);
  for (const name of names) SECTIONS[name as keyof typeof SECTIONS]();
}

main();
