import assert from 'node:assert/strict';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { checkDataset } from '../../src/data/check.js';
import { profileDataset, type DataProfile } from '../../src/data/profile.js';
import { byRule, DATA, ensureData, failing, type Planted } from './helpers.js';

/**
 * The bar at test scale (20,000 rows; the bench runs the same generator at 1,000,000): each
 * poisoning pattern, planted on its own, is reported and names what was planted; a clean re-sample
 * yields no failing finding.
 */
describe('data check: planted poisoning', () => {
  let planted: Planted;
  let baseline: DataProfile;
  const base = join(DATA, 'base.csv');
  const check = (name: string) => checkDataset(join(DATA, `${name}.csv`), { baseline, baselineData: base });

  before(async () => {
    planted = ensureData();
    baseline = await profileDataset(base, { key: 'id', label: 'label' });
  });

  it('a clean re-sample (same distribution, other rows) has no failing finding and no drift', async () => {
    const result = await check('clean');
    assert.deepEqual(failing(result.findings).map((f) => f.message), []);
    assert.deepEqual(result.findings.filter((f) => f.ruleId !== 'data/row-diff').map((f) => f.message), []);
  });

  it('label flips: reported high, naming the flipped keys', async () => {
    const result = await check('flips');
    const [flips] = byRule(result.findings, 'data/label-flips');
    assert.ok(flips, JSON.stringify(result.findings.map((f) => f.ruleId)));
    assert.equal(flips.severity, 'high');
    const keys = (flips.properties?.['keys'] as string[]).map(Number);
    assert.equal(flips.properties?.['count'], planted.flips.keys.length);
    assert.deepEqual(keys.sort((a, b) => a - b), [...planted.flips.keys].sort((a, b) => a - b).slice(0, 100));
    assert.deepEqual(failing(result.findings).map((f) => f.ruleId), ['data/label-flips']);
  });

  it('duplicates: reported high, naming the copied rows', async () => {
    const result = await check('dups');
    const [dups] = byRule(result.findings, 'data/duplicate-rows');
    assert.ok(dups, JSON.stringify(result.findings.map((f) => f.message)));
    const examples = (dups.properties?.['examples'] as string[]).map(Number);
    assert.ok(examples.length > 0 && examples.every((k) => planted.dups.copyKeys.includes(k)), `examples ${examples.slice(0, 5).join(', ')} are not the planted copies`);
    assert.match(dups.message, new RegExp(`^${planted.dups.copyKeys.length} rows`));
  });

  it('trigger token: reported critical, naming the token, the label and the rows', async () => {
    const result = await check('trigger');
    const triggers = byRule(result.findings, 'data/trigger-token');
    assert.equal(triggers.length, 1, JSON.stringify(triggers.map((f) => f.message)));
    const [t] = triggers;
    assert.equal(t?.properties?.['token'], planted.trigger.token);
    assert.equal(t?.properties?.['label'], planted.trigger.label);
    assert.match(t?.message ?? '', new RegExp(planted.trigger.token));
    assert.deepEqual((t?.properties?.['keys'] as string[]).map(Number), planted.trigger.keys.slice(0, 100));
  });

  it("segment label-rate shift: reported high, naming the segment", async () => {
    const result = await check('shift');
    const shifts = byRule(result.findings, 'data/segment-label-shift');
    assert.equal(shifts.length, 1, JSON.stringify(result.findings.map((f) => f.message)));
    assert.deepEqual(shifts[0]?.properties?.['segment'], { column: planted.shift.column, value: planted.shift.value });
    assert.match(shifts[0]?.message ?? '', /"region" = "north"/);
    assert.deepEqual(failing(result.findings).map((f) => f.ruleId), ['data/segment-label-shift']);
  });
});
