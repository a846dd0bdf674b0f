#!/usr/bin/env node
// Generates fixtures with the committed scripts, then runs every test/**/*.test.ts with node's test runner.
// Usage: node scripts/run-tests.mjs [substring...]   (only test files whose path contains a substring)
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

const filters = process.argv.slice(2);
const gen = spawnSync('python3', ['scripts/fixtures/generate.py'], { stdio: 'inherit' });
if (gen.status !== 0) {
  console.error('fixture generation failed');
  process.exit(gen.status ?? 1);
}

function list(dir) {
  const out = [];
  for (const name of readdirSync(dir).sort()) {
    if (name.startsWith('.')) continue;
    const path = join(dir, name);
    if (statSync(path).isDirectory()) out.push(...list(path));
    else if (name.endsWith('.test.ts')) out.push(path);
  }
  return out;
}
const files = list('test').filter((f) => filters.length === 0 || filters.some((s) => f.includes(s)));
if (files.length === 0) {
  console.error('no test files matched');
  process.exit(1);
}
const run = spawnSync(process.execPath, ['--import', 'tsx', '--test', '--test-concurrency=2', '--test-reporter=spec', ...files], { stdio: 'inherit' });
process.exit(run.status ?? 1);
