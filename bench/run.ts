// Runs every bench/*.bench.ts in its own process; each prints a markdown section (figures plus a ratio
// against a baseline measured in the same run). The sections are collected into docs/benchmarks.md.
import { spawnSync } from 'node:child_process';
import { readdirSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';

const filters = process.argv.slice(2);
const benches = readdirSync('bench')
  .filter((f) => f.endsWith('.bench.ts'))
  .filter((f) => filters.length === 0 || filters.some((s) => f.includes(s)))
  .sort();
const sections: string[] = [];
let failed = false;
for (const bench of benches) {
  process.stderr.write(`running bench/${bench}\n`);
  const run = spawnSync(process.execPath, ['--import', 'tsx', '--expose-gc', `bench/${bench}`], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], maxBuffer: 64 * 1024 * 1024 });
  process.stdout.write(run.stdout);
  if (run.status !== 0) {
    failed = true;
    sections.push(`## bench/${bench}\n\nFAILED (exit ${run.status}).\n`);
  } else sections.push(run.stdout.trim() + '\n');
}
const machine = `${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, Node ${process.version}`;
const header = `# Benchmarks\n\nLatest results of \`npm run bench\` (${new Date().toISOString().slice(0, 10)}, ${machine}).\nEach section states its target, the figure measured, and a ratio against a baseline measured in the same run.\n\n`;
if (filters.length === 0) writeFileSync('docs/benchmarks.md', header + sections.join('\n'));
process.exit(failed ? 1 : 0);
