import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isPlaceholder } from '../../src/scanners/secrets/index.js';
import { Fake } from '../../src/scanners/secrets/fake.js';
import { charClasses, longestRun, longestSequence, randomness, shannonEntropy, shortPeriod } from '../../src/scanners/secrets/stats.js';

test('placeholders: markers, templates, defaults, repeated and sequential characters', () => {
  const placeholders = [
    'AKIAIOSFODNN7EXAMPLE', 'your-api-key-here', 'YOUR_TOKEN', '<your-key>', '<API_KEY>', '${WANDB_API_KEY}', '$HF_TOKEN', '{{ vault_db_password }}',
    '%(password)s', '%TOKEN%', '[token]', '{api_key}', 'xxxxxxxxxxxxxxxx', 'XXXX-XXXX', '********', 'sk-...', 'hf_…', 'changeme', 'CHANGE_ME',
    'password', 'Passw0rd!', 's3cr3t-value', 'SuperSecret123', 'admin', 'hunter2', 'aaaaaaaaaaaa', '0000000000', '1234567890', 'abcdefgh',
    'abcabcabcabc', 'ababababab', 'redacted', 'REDACTED', 'not-a-real-key', 'insert_token_here', '$(cat /run/secrets/token)', 'dummy', '',
  ];
  for (const value of placeholders) assert.equal(isPlaceholder(value), true, value);
});

test('real-looking values are not placeholders', () => {
  const f = new Fake(77);
  const values = [f.alnum(32), f.hex(40), f.uuid(), `${f.alnum(10)}!${f.alnum(4)}`, 'Summer2024!x', 'Tr0ub4dor&3', f.checksummed('ghp_'), `hf_${f.alnum(34)}`];
  for (const value of values) assert.equal(isPlaceholder(value), false, value);
  // 500 random tokens: the policy must not eat real secrets.
  let eaten = 0;
  for (let i = 0; i < 500; i++) if (isPlaceholder(f.alnum(24 + f.int(40)))) eaten++;
  assert.equal(eaten, 0);
});

test('character statistics', () => {
  assert.equal(shannonEntropy(''), 0);
  assert.equal(shannonEntropy('aaaa'), 0);
  assert.equal(shannonEntropy('abcd'), 2);
  assert.deepEqual(charClasses('aB3!'), { lower: true, upper: true, digit: true, symbol: true, count: 4 });
  assert.equal(longestRun('abbbbc'), 4);
  assert.equal(longestSequence('x12345y'), 5);
  assert.equal(longestSequence('zyxw'), 4);
  assert.equal(shortPeriod('abcabcabc'), 3);
  assert.equal(shortPeriod('abcabd'), 0);
  assert.ok(randomness(new Fake(1).alnum(40)) > 0.8);
  assert.ok(randomness('passwordpassword') < 0.7);
});
