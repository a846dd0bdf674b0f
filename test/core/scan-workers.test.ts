import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { parseConfig } from '../../src/core/config.js';
import type { Finding } from '../../src/core/finding.js';
import { hardTimeoutMs, loadRegistry, ruleIdsOf, runScan, scanWalkedFiles } from '../../src/scanners/engine.js';

const dir = mkdtempSync(join(tmpdir(), 'custody-workers-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const registry = new URL('../support/hanging-registry.ts', import.meta.url).href;
// A short cooperative budget, so the hard limit (twice it plus 1 s) comes soon.
const config = parseConfig('limits:\n  fileTimeoutMs: 1000\n', 'test');

function byFile(findings: readonly Finding[]): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const f of findings) {
    const name = f.location.path.split('/').pop() ?? '';
    out.set(name, [...(out.get(name) ?? []), f.ruleId]);
  }
  return out;
}

describe('worker threads: the hard per-file timeout', () => {
  it('terminates a worker stuck in a loop or a blocking wait, reports that file, and scans every other file', async () => {
    const tree = mkdtempSync(join(dir, 'hang-'));
    // The misbehaving files are the largest, so they go first and share their workers with innocent ones.
    writeFileSync(join(tree, 'loop.bin'), `LOOP${' '.repeat(4096)}`);
    writeFileSync(join(tree, 'wait.bin'), `WAIT${' '.repeat(4096)}`);
    for (let i = 0; i < 14; i++) writeFileSync(join(tree, `ok-${i}.txt`), `fine ${i}`);

    const result = await runScan({ paths: [tree], config, jobs: 2, registry });
    const seen = byFile(result.findings);
    assert.deepEqual(seen.get('loop.bin'), ['core/scan-error']);
    assert.deepEqual(seen.get('wait.bin'), ['core/scan-error']);
    for (let i = 0; i < 14; i++) assert.deepEqual(seen.get(`ok-${i}.txt`), ['probe/seen'], `ok-${i}.txt must be scanned, not blamed`);
    const error = result.findings.find((f) => f.location.path.endsWith('loop.bin'));
    assert.match(error?.message ?? '', new RegExp(`${hardTimeoutMs(config.limits)} ms`));
    assert.equal(result.summary.files, 16);
  });

  it('reports a file whose worker crashes, once it crashes alone, and scans the rest', async () => {
    const tree = mkdtempSync(join(dir, 'crash-'));
    writeFileSync(join(tree, 'crash.bin'), `CRASH${' '.repeat(4096)}`);
    for (let i = 0; i < 6; i++) writeFileSync(join(tree, `ok-${i}.txt`), `fine ${i}`);
    const seen = byFile((await runScan({ paths: [tree], config, jobs: 1, registry })).findings);
    assert.deepEqual(seen.get('crash.bin'), ['core/scan-error']);
    for (let i = 0; i < 6; i++) assert.deepEqual(seen.get(`ok-${i}.txt`), ['probe/seen']);
  });

  it('opens a name that is not UTF-8 by its bytes, and a link at its target, in workers too', async () => {
    const tree = mkdtempSync(join(dir, 'paths-'));
    writeFileSync(Buffer.concat([Buffer.from(`${tree}/w-`), Buffer.from([0xff]), Buffer.from('.bin')]), 'one');
    writeFileSync(join(tree, 'target.bin'), 'two');
    symlinkSync('target.bin', join(tree, 'a-link.bin'));
    const result = await runScan({ paths: [tree], config, jobs: 1, registry });
    assert.deepEqual(result.findings.map((f) => [f.ruleId, f.location.path.slice(tree.length + 1), f.properties?.['alsoAt']]), [
      ['probe/seen', 'target.bin', [`${tree}/a-link.bin`]],
      ['probe/seen', 'w-\\xff.bin', undefined],
    ]);
  });

  it('refuses a file swapped for a FIFO after the walk, in a worker too, without waiting', async () => {
    const fifo = join(dir, 'swapped.pkl');
    execFileSync('mkfifo', [fifo]);
    const scanners = await loadRegistry(registry);
    const findings = await scanWalkedFiles([{ displayPath: 'swapped.pkl', absPath: fifo, size: 10 }], { scanners, config, knownRuleIds: ruleIdsOf(scanners), registry, jobs: 1 });
    assert.deepEqual(findings.map((f) => [f.ruleId, f.properties?.['errorCode']]), [['core/scan-error', 'SPECIAL_FILE']]);
  });

  it('fails with WORKER_FAILED when the scanner registry cannot be loaded', async () => {
    await assert.rejects(runScan({ paths: [dir], registry: new URL('../support/no-such-registry.ts', import.meta.url).href }), { code: 'WORKER_FAILED' });
  });
});
