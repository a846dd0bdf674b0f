import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { assertFindingOrCodedError, assertNoCommandRan, assertUnchanged, makeSandbox, removeSandbox, runCustody, snapshot } from '../support/hostile.js';

// Issue 8: one long line of a construct the secrets scanner looks at (1 MiB of `password=` took 60 s, timed out with
// a medium "incomplete" finding, and the credential URI after it was missed). Each hostile line below is 3 MiB of one
// construct and then a credential URI with its own password: the URI must be found, the file must not be reported as
// only partly scanned, and the scan must end within the harness bound (a quadratic scan of such a line takes hours).
const MIB = 1024 * 1024;
const SIZE_MIB = 3;
const UNITS: readonly [string, string][] = [
  ['password-eq', 'password='],
  ['token-colon', 'token:'],
  ['json-password', '"password": "'],
  ['pem-markers', '-----BEGIN PRIVATE KEY-----'],
  ['aws-prefix', 'AKIA'],
  ['curl-user', 'curl -u '],
  ['define', '#define password '],
  ['escaped-json', '\\npassword=\\"'],
  ['embedded-names', 'key=a-key='],
  ['base64-pem', 'LS0tLS1CRUdJTi'],
];

function password(i: number): string {
  // Generated, distinct per file, mixed classes so the URI rule keeps it (no marker words such as "fake").
  return `Hq${i}vT7nPz${i}wK`;
}

describe('secrets: hostile single lines', () => {
  const box = makeSandbox('secrets-lines');
  after(() => removeSandbox(box));

  // One scan per line, as a user would run it on a tree holding that file: each file has the whole per-file time
  // budget (files in flight in one worker share the thread, so several hostile files in one scan share it too).
  UNITS.forEach(([name, unit], i) => {
    it(`${name}: a ${SIZE_MIB} MiB line is read in linear time and the credential after it is found`, () => {
      const dir = join(box.tree, name);
      mkdirSync(dir);
      writeFileSync(join(dir, `${name}.txt`), unit.repeat(Math.ceil((SIZE_MIB * MIB) / unit.length)) + ` postgresql://feast:${password(i)}@db.internal:5432/features\n`);
      const before = snapshot(box.outside);
      const result = runCustody(box, ['scan', dir, '--only', 'secrets', '--format', 'json', '--no-gitignore', '--fail-on', 'low'], { timeoutMs: 120_000 });
      assertFindingOrCodedError(result, { rule: 'secrets/connection-uri-password' });
      assertNoCommandRan(box);
      assertUnchanged(before, box.outside);
      const findings = (JSON.parse(result.stdout) as { findings: { ruleId: string; evidence?: string }[] }).findings;
      assert.deepEqual(findings.filter((f) => f.ruleId === 'secrets/scan-incomplete' || f.ruleId === 'core/scan-error'), [], 'the file is not reported as only partly scanned');
      assert.equal(findings.filter((f) => f.ruleId === 'secrets/connection-uri-password').length, 1, 'the URI after the line is found');
    });
  });
});
