import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { assertBounded, assertFindingOrCodedError, assertNoCommandRan, assertUnchanged, canaryCommand, makeSandbox, removeSandbox, runCustody, snapshot } from '../support/hostile.js';

// The harness itself must be able to fail: each guard is shown to trip on a case made to trip it.
describe('hostile-input harness', () => {
  const box = makeSandbox('harness');
  after(() => removeSandbox(box));

  it('a malicious pickle ends in a finding; a clean tree does not count as one', () => {
    writeFileSync(join(box.tree, 'model.pkl'), Buffer.from(`cos\nsystem\n(S'${canaryCommand(box, 'pickle')}'\ntR.`, 'latin1'));
    const before = snapshot(box.outside);
    const result = runCustody(box, ['scan', '.', '--format', 'json']);
    assertFindingOrCodedError(result, { rule: 'models/pickle-' });
    assertNoCommandRan(box);
    assertUnchanged(before, box.outside);
    const clean = runCustody(box, ['scan', box.outside]);
    assertBounded(clean);
    assert.throws(() => assertFindingOrCodedError(clean), /passed silently/);
  });

  it('a usage error is a coded error; the guards trip on a hang, a canary and a change', () => {
    assertFindingOrCodedError(runCustody(box, ['scan', '--bogus']), { code: 'USAGE' });
    writeFileSync(join(box.canary, 'ran'), '');
    assert.throws(() => assertNoCommandRan(box));
    const before = snapshot(box.outside);
    writeFileSync(join(box.outside, 'new'), 'x');
    assert.throws(() => assertUnchanged(before, box.outside));
    const hung = runCustody(box, ['--help'], { timeoutMs: 1, env: {} });
    assert.throws(() => assertBounded(hung), /timed out/);
  });
});
