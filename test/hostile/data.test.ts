/**
 * Red-team cases for `custody data`: inputs that try to crash, hang, exhaust memory, read outside the
 * dataset or pass silently. Each runs the built CLI bounded (test/support/hostile.ts) and must end in a
 * clear finding (exit 1) or a coded error (exit 2), never a crash, a hang or a clean pass over data
 * that was not read.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { closeSync, copyFileSync, ftruncateSync, mkdirSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { DATA, ensureData, writeQuery } from '../data/helpers.js';
import { assertBounded, assertFindingOrCodedError, assertNoCommandRan, assertUnchanged, makeSandbox, removeSandbox, runCustody, snapshot, type Sandbox } from '../support/hostile.js';

const boxes: Sandbox[] = [];
after(() => {
  for (const box of boxes) removeSandbox(box);
});

function sandbox(label: string): Sandbox {
  const box = makeSandbox(`data-${label}`);
  boxes.push(box);
  copyFileSync(join(DATA, 'base.csv'), join(box.out, 'base.csv'));
  return box;
}

const BOUNDS = { timeoutMs: 60_000, maxRssMb: 1024 };

/** Runs `custody data ARGS` bounded; the outside directory must stay as it was and nothing may run. */
function data(box: Sandbox, args: readonly string[], expected: { rule?: string | RegExp; code?: string }): { stdout: string; stderr: string; exit: number | null } {
  const before = snapshot(box.outside);
  const result = runCustody(box, ['data', ...args], BOUNDS);
  assertFindingOrCodedError(result, expected);
  assertNoCommandRan(box);
  assertUnchanged(before, box.outside);
  return result;
}

const baseline = (box: Sandbox): string[] => ['--baseline', join(box.out, 'base.csv'), '--label', 'label'];

describe('hostile data inputs', () => {
  before(() => {
    ensureData();
  });

  it('a truncated Parquet file: a coded error for fingerprint, profile and check', async () => {
    const box = sandbox('truncated-parquet');
    const full = await writeQuery(`SELECT * FROM read_csv('${join(DATA, 'base.csv')}')`, join(box.out, 'full.parquet'), 'parquet');
    const bytes = readFileSync(full);
    writeFileSync(join(box.tree, 'cut.parquet'), bytes.subarray(0, Math.floor(bytes.length / 2)));
    for (const args of [['fingerprint', 'cut.parquet'], ['profile', 'cut.parquet'], ['check', 'cut.parquet', ...baseline(box)]]) data(box, args, { code: 'PARSE_ERROR' });
  });

  it('a Parquet file with a lying footer (another file\'s footer, a footer length past the file)', async () => {
    const box = sandbox('lying-footer');
    const small = readFileSync(await writeQuery(`SELECT * FROM read_csv('${join(DATA, 'base.csv')}') LIMIT 100`, join(box.out, 'small.parquet'), 'parquet'));
    const big = readFileSync(await writeQuery(`SELECT * FROM read_csv('${join(DATA, 'base.csv')}')`, join(box.out, 'big.parquet'), 'parquet'));
    const footer = (b: Buffer): Buffer => b.subarray(b.length - 8 - b.readUInt32LE(b.length - 8));
    // The small file's pages, the big file's footer: row groups claimed where there are none.
    writeFileSync(join(box.tree, 'lying.parquet'), Buffer.concat([small.subarray(0, small.length - footer(small).length), footer(big)]));
    const long = Buffer.from(small);
    long.writeUInt32LE(0x7fff0000, long.length - 8);
    writeFileSync(join(box.tree, 'long.parquet'), long);
    for (const name of ['lying.parquet', 'long.parquet']) {
      data(box, ['fingerprint', name], { code: 'PARSE_ERROR' });
      data(box, ['check', name, ...baseline(box)], { code: 'PARSE_ERROR' });
    }
  });

  it('ragged CSV rows: a baseline is refused, a check reports the rows', () => {
    const box = sandbox('ragged');
    const lines = readFileSync(join(DATA, 'base.csv'), 'utf8').split('\n');
    lines.splice(1000, 0, '1,2,3');
    lines.splice(2000, 0, lines[5] + ',surplus,fields');
    writeFileSync(join(box.tree, 'ragged.csv'), lines.join('\n'));
    data(box, ['profile', 'ragged.csv'], { code: 'PARSE_ERROR' });
    data(box, ['fingerprint', 'ragged.csv'], { code: 'PARSE_ERROR' });
    const run = data(box, ['check', 'ragged.csv', ...baseline(box), '--format', 'json'], { rule: 'data/unreadable-rows' });
    assert.match(run.stdout, /"count": 2/);
  });

  it('mixed types in a column (numbers, then text past the sniffing sample): a finding, never a pass', () => {
    const box = sandbox('mixed');
    const lines = readFileSync(join(DATA, 'base.csv'), 'utf8').trimEnd().split('\n');
    const rows = lines.slice(1).map((l, i) => (i >= 19000 ? l.replace(/^(\d+),(\d),[\d.]+,/, '$1,$2,n/a,') : l));
    writeFileSync(join(box.tree, 'mixed.csv'), [lines[0], ...rows].join('\n'));
    data(box, ['check', 'mixed.csv', ...baseline(box)], { rule: /data\/(unreadable-rows|schema-change)/ });
  });

  it('invalid UTF-8: a baseline is refused, a check reports the rows', () => {
    const box = sandbox('utf8');
    const text = readFileSync(join(DATA, 'base.csv'));
    const at = text.indexOf('\n', 50000) + 1;
    const bad = Buffer.concat([text.subarray(0, at), Buffer.from('99999,1,2.5,40,0.1,north,web,"caf\xe9 \xff\xfe"\n', 'latin1'), text.subarray(at)]);
    writeFileSync(join(box.tree, 'latin1.csv'), bad);
    data(box, ['profile', 'latin1.csv'], { code: 'PARSE_ERROR' });
    data(box, ['check', 'latin1.csv', ...baseline(box)], { rule: 'data/unreadable-rows' });
  });

  it('a 10 GB sparse file named .csv ends at once in a coded error, in little memory', () => {
    const box = sandbox('sparse');
    const fd = openSync(join(box.tree, 'huge.csv'), 'w');
    ftruncateSync(fd, 10 * 1024 ** 3);
    closeSync(fd);
    for (const args of [['fingerprint', 'huge.csv'], ['profile', 'huge.csv'], ['check', 'huge.csv', ...baseline(box)]]) {
      const result = runCustody(box, ['data', ...args], { timeoutMs: 30_000, maxRssMb: 512 });
      assertFindingOrCodedError(result, { code: 'PARSE_ERROR' });
    }
  });

  it('binary data named .csv, a FIFO named .csv, a truncated JSON Lines file, a glob in a part name', () => {
    const box = sandbox('shapes');
    writeFileSync(join(box.tree, 'zeros.csv'), Buffer.concat([Buffer.from('a,b\n1,2\n'), Buffer.alloc(4096)]));
    data(box, ['profile', 'zeros.csv'], { code: 'PARSE_ERROR' });
    execFileSync('mkfifo', [join(box.tree, 'pipe.csv')]);
    data(box, ['profile', 'pipe.csv'], { code: 'UNSUPPORTED_FORMAT' });
    const dir = join(box.tree, 'parts');
    mkdirSync(dir);
    copyFileSync(join(DATA, 'base.csv'), join(dir, 'part-0.csv'));
    execFileSync('mkfifo', [join(dir, 'part-1.csv')]);
    data(box, ['profile', 'parts'], { code: /SPECIAL_FILE|UNSUPPORTED_FORMAT/.source });
    writeFileSync(join(box.tree, 'cut.jsonl'), '{"a": 1, "b": "x"}\n{"a": 2, "b": "y"}\n{"a": 3, "b": "unterminated');
    data(box, ['profile', 'cut.jsonl'], { code: 'PARSE_ERROR' });
    const globbed = join(box.tree, 'globbed');
    mkdirSync(globbed);
    copyFileSync(join(DATA, 'base.csv'), join(globbed, 'part-*.csv'));
    data(box, ['fingerprint', 'globbed'], { code: 'UNSUPPORTED_FORMAT' });
  });

  it('column names and values that try SQL injection are data: nothing is written outside, nothing runs', () => {
    const box = sandbox('injection');
    const target = join(box.outside, 'pwned.csv');
    const name = `x") FROM range(1); COPY (SELECT 1) TO '${target}'; --`;
    writeFileSync(join(box.tree, 'evil.csv'), `id,"${name.replace(/"/g, '""')}",label\n${Array.from({ length: 300 }, (_, i) => `${i},"it's ""q"" '); DROP TABLE cand; --",${i % 2}`).join('\n')}\n`);
    const before = snapshot(box.outside);
    const result = runCustody(box, ['data', 'profile', 'evil.csv', '--label', 'label', '--key', 'id', '--output', join(box.out, 'evil.json')], BOUNDS);
    assertBounded(result);
    assert.equal(result.exit, 0, result.stderr);
    assertUnchanged(before, box.outside);
    const profile = JSON.parse(readFileSync(join(box.out, 'evil.json'), 'utf8')) as { columns: { name: string }[] };
    assert.ok(profile.columns.some((c) => c.name === name));
  });

  it('a query past --timeout is stopped with INPUT_LIMIT', () => {
    const box = sandbox('timeout');
    copyFileSync(join(DATA, 'base.csv'), join(box.tree, 'data.csv'));
    data(box, ['profile', 'data.csv', '--timeout', '0.001'], { code: 'INPUT_LIMIT' });
  });

  it('a baseline profile that is not one is refused (BASELINE_INVALID)', () => {
    const box = sandbox('bad-baseline');
    copyFileSync(join(DATA, 'base.csv'), join(box.tree, 'data.csv'));
    writeFileSync(join(box.out, 'fake.json'), JSON.stringify({ custodyDataProfile: 1, source: { rows: -1 }, columns: [{ name: 1 }] }));
    data(box, ['check', 'data.csv', '--baseline', join(box.out, 'fake.json')], { code: 'BASELINE_INVALID' });
  });
});
