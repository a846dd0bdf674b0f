import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { checkDataset } from '../../src/data/check.js';
import { parseContract } from '../../src/data/contract.js';
import { parseProfile, profileDataset, type DataProfile } from '../../src/data/profile.js';
import { byRule, csv, DATA, ensureData, failing, rejectsWithCode, workDir, writeQuery } from './helpers.js';

/** Row-level rules (with a key and the baseline's data), contracts and profiles. */
describe('data check: row rules, contracts, profiles', () => {
  let baseline: DataProfile;
  let dir: string;
  const base = join(DATA, 'base.csv');

  before(async () => {
    ensureData();
    dir = workDir('rules-rows');
    baseline = await profileDataset(base, { key: 'id', label: 'label', contentHash: true });
  });

  it('conflicting labels: copies with the other label are named; duplicate keys are named', async () => {
    const path = await writeQuery(`SELECT * FROM ${csv(base)} UNION ALL SELECT id + 1000000 AS id, 1 - label AS label, amount, age, score, region, channel, text FROM ${csv(base)} WHERE id % 200 = 0 UNION ALL SELECT * FROM ${csv(base)} WHERE id IN (5, 6)`, join(dir, 'conflicts.csv'));
    const result = await checkDataset(path, { baseline, baselineData: base });
    const [conflicts] = byRule(result.findings, 'data/conflicting-labels');
    assert.equal(conflicts?.properties?.['examples'] instanceof Array, true);
    const examples = (conflicts?.properties?.['examples'] as string[]).map(Number);
    assert.ok(examples.includes(200) && examples.includes(1000200), examples.slice(0, 6).join(','));
    const [keys] = byRule(result.findings, 'data/duplicate-keys');
    assert.deepEqual(keys?.properties?.['keys'], ['5', '6']);
  });

  it('near duplicates among added rows are named; exact copies of other rows are not near-duplicate noise in a clean check', async () => {
    const path = await writeQuery(
      `SELECT * FROM ${csv(base)} UNION ALL SELECT id + 2000000 + k AS id, label, amount + 0.001 * k AS amount, age, score + 0.0000001 * k AS score, region, channel, text FROM ${csv(base)}, range(1, 4) r(k) WHERE id % 100 = 0`,
      join(dir, 'near.csv'),
    );
    const result = await checkDataset(path, { baseline, baselineData: base });
    const [near] = byRule(result.findings, 'data/near-duplicates');
    assert.ok(near, JSON.stringify(result.findings.map((f) => f.message)));
    assert.match(near.message, /^600 of 600 added rows/);
    assert.equal(byRule(result.findings, 'data/duplicate-rows').length, 0);
  });

  it('a contract freezing content or the label column makes a change critical; re-encoded frozen data passes', async () => {
    const contract = parseContract('freeze: {content: true, columns: [label]}\n', 'test');
    const flipped = await checkDataset(join(DATA, 'flips.csv'), { baseline, baselineData: base, contract });
    const frozen = byRule(flipped.findings, 'data/frozen-changed');
    assert.deepEqual(frozen.map((f) => f.severity), ['critical', 'critical']);
    assert.ok(frozen.some((f) => f.properties?.['column'] === 'label' && f.properties?.['count'] === 100));
    const shuffled = await writeQuery(`SELECT * FROM ${csv(base)} ORDER BY hash(id)`, join(dir, 'shuffled.parquet'), 'parquet');
    const same = await checkDataset(shuffled, { baseline, baselineData: base, contract });
    assert.deepEqual(failing(same.findings), []);
    assert.equal(byRule(same.findings, 'data/frozen-changed').length, 0);
  });

  it('files in a dataset directory that are not data are reported', async () => {
    const parts = join(dir, 'parts');
    mkdirSync(parts);
    copyFileSync(base, join(parts, 'part-0.csv'));
    writeFileSync(join(parts, 'README.txt'), 'hello');
    const result = await checkDataset(parts, { baseline });
    assert.deepEqual(byRule(result.findings, 'data/unread-files').map((f) => f.properties?.['files']), [['README.txt']]);
  });

  it('refuses baseline data that is not what the profile was made from (DIGEST_MISMATCH)', async () => {
    await rejectsWithCode(checkDataset(base, { baseline, baselineData: join(DATA, 'clean.csv') }), 'DIGEST_MISMATCH');
  });

  it('contracts: every problem reported at once (CONFIG_INVALID); thresholds apply per column', async () => {
    await rejectsWithCode(Promise.resolve().then(() => parseContract('thresholds: {psi: -1, nope: 2}\ncolumns: {a: {psi: x}}\nfreeze: {content: yes}\n', 'c.yml')), 'CONFIG_INVALID');
    try {
      parseContract('thresholds: {psi: -1, nope: 2}\ncolumns: {a: {psi: x}}\nrows: {min: 1.5}\n', 'c.yml');
    } catch (error) {
      assert.equal(((error as { details: { problems: unknown[] } }).details.problems).length, 4);
    }
    const contract = parseContract('thresholds: {psi: 0.5}\ncolumns: {amount: {psi: 0.01}}\n', 'c.yml');
    assert.equal(contract.thresholds.psi, 0.5);
    assert.equal(contract.columns.get('amount')?.thresholds.psi, 0.01);
  });

  it('profiles are the same on every run and a mangled profile is refused (BASELINE_INVALID)', async () => {
    const again = await profileDataset(base, { key: 'id', label: 'label', contentHash: true });
    assert.deepEqual(again, baseline);
    const copy = JSON.parse(JSON.stringify(baseline)) as Record<string, unknown>;
    parseProfile(copy, 'ok');
    (copy['columns'] as Record<string, unknown>[])[2]!['count'] = -3;
    copy['duplicates'] = 'none';
    await rejectsWithCode(Promise.resolve().then(() => parseProfile(copy, 'bad.json')), 'BASELINE_INVALID');
    await rejectsWithCode(Promise.resolve().then(() => parseProfile({ hello: 1 }, 'bad.json')), 'BASELINE_INVALID');
  });
});
