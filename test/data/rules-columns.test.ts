import assert from 'node:assert/strict';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { checkDataset } from '../../src/data/check.js';
import { parseContract } from '../../src/data/contract.js';
import { profileDataset, type DataProfile } from '../../src/data/profile.js';
import { byRule, csv, DATA, ensureData, workDir, writeQuery } from './helpers.js';

/** Column-level rules: each positive case changes one thing; the negatives are the untouched columns. */
describe('data check: column rules', () => {
  let baseline: DataProfile;
  let dir: string;
  const base = join(DATA, 'base.csv');
  const variant = async (name: string, select: string): Promise<string> => writeQuery(`SELECT ${select} FROM ${csv(base)}`, join(dir, `${name}.csv`));

  before(async () => {
    ensureData();
    dir = workDir('rules-columns');
    baseline = await profileDataset(base, { label: 'label' });
  });

  it('numeric drift names the shifted column and only it', async () => {
    const path = await variant('drift', 'id, label, amount * 1.6 AS amount, age, score, region, channel, text');
    const result = await checkDataset(path, { baseline });
    const drift = byRule(result.findings, 'data/numeric-drift');
    assert.deepEqual(drift.map((f) => f.properties?.['column']), ['amount']);
    assert.ok((drift[0]?.properties?.['psi'] as number) > 0.2);
    assert.equal(drift[0]?.severity, 'medium');
  });

  it('schema changes: removed, added and retyped columns; re-encoding a number is not a change', async () => {
    const path = await variant('schema', "id, label, CAST(amount AS DECIMAL(10,2)) AS amount, CAST(age AS VARCHAR) || 'y' AS age, score, region, text, 1 AS extra");
    const result = await checkDataset(path, { baseline });
    const messages = byRule(result.findings, 'data/schema-change').map((f) => f.message).sort();
    assert.deepEqual(messages, ['Column "age" changed from integer (BIGINT) to string (VARCHAR).', 'Column "channel" of the baseline is missing from the candidate.', 'Column "extra" (integer) is new in the candidate.']);
  });

  it('completeness names the column that lost values', async () => {
    const path = await variant('nulls', 'id, label, amount, age, score, CASE WHEN id % 5 = 0 THEN NULL ELSE region END AS region, channel, text');
    const result = await checkDataset(path, { baseline });
    assert.deepEqual(byRule(result.findings, 'data/completeness').map((f) => f.properties?.['column']), ['region']);
  });

  it('unseen categories and categorical drift name the new value', async () => {
    const path = await variant('unseen', "id, label, amount, age, score, CASE WHEN id % 8 = 0 THEN 'mars' ELSE region END AS region, channel, text");
    const result = await checkDataset(path, { baseline });
    const [unseen] = byRule(result.findings, 'data/unseen-categories');
    assert.match(unseen?.message ?? '', /"mars" \(2500\)/);
    const [drift] = byRule(result.findings, 'data/categorical-drift');
    assert.equal(drift?.properties?.['value'], 'mars');
    assert.equal(byRule(result.findings, 'data/unseen-categories').length, 1);
  });

  it('label prior shift names the class; volume change and contract row bounds', async () => {
    const path = await variant('labels', 'id, CASE WHEN id % 4 = 0 THEN 1 ELSE label END AS label, amount, age, score, region, channel, text');
    const result = await checkDataset(path, { baseline });
    const [shift] = byRule(result.findings, 'data/label-shift');
    assert.equal(shift?.properties?.['class'], '0');
    const half = await writeQuery(`SELECT * FROM ${csv(base)} WHERE id % 3 = 0`, join(dir, 'third.csv'));
    const contract = parseContract('rows: {min: 10000}\n', 'test');
    const small = await checkDataset(half, { baseline, contract });
    assert.deepEqual(byRule(small.findings, 'data/volume-change').map((f) => f.severity).sort(), ['high', 'medium']);
    assert.equal(byRule(result.findings, 'data/volume-change').length, 0);
  });

  it('robust outliers by label name the column and class; a contract can ignore a column', async () => {
    const path = await variant('outliers', 'id, label, CASE WHEN label = 1 AND id % 25 = 0 THEN amount * 400 ELSE amount END AS amount, age, score, region, channel, text');
    const result = await checkDataset(path, { baseline });
    const outliers = byRule(result.findings, 'data/label-outliers');
    assert.deepEqual(outliers.map((f) => [f.properties?.['column'], f.properties?.['label']]), [['amount', '1']]);
    const ignored = await checkDataset(path, { baseline, contract: parseContract('columns: {amount: {ignore: true}}\n', 'test') });
    assert.equal(byRule(ignored.findings, 'data/label-outliers').length, 0);
    assert.equal(byRule(ignored.findings, 'data/numeric-drift').length, 0);
  });

  it('unreadable rows are a finding in a check (never silently dropped)', async () => {
    const text = await import('node:fs').then((fs) => fs.readFileSync(base, 'utf8'));
    const lines = text.split('\n');
    lines.splice(500, 0, '99999,1,2.0,30');
    lines.splice(900, 0, '99998,1,2.0,30,0.5,north,web,"a b c",extra');
    const path = join(dir, 'ragged.csv');
    await import('node:fs').then((fs) => fs.writeFileSync(path, lines.join('\n')));
    const result = await checkDataset(path, { baseline });
    const [f] = byRule(result.findings, 'data/unreadable-rows');
    assert.equal(f?.severity, 'high');
    assert.equal(f?.properties?.['count'], 2);
    assert.match(f?.message ?? '', /ragged\.csv line 501/);
  });
});
