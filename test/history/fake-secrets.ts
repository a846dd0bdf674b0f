import { readAll } from '../../src/core/byte-source.js';
import { defineRule } from '../../src/core/rule.js';
import type { Scanner } from '../../src/core/scanner.js';

/**
 * A stand-in secrets scanner with the real one's reporting shape (line, secret, path-based
 * fingerprint), so the history and container plumbing is tested independently of the secret rules.
 */
export const fakePostgresRule = defineRule<'found', void>({
  id: 'fake/postgres-url',
  title: 'PostgreSQL URL with a password',
  description: 'Test rule.',
  severity: 'high',
  confidence: 'high',
  tags: ['cwe:798'],
  remediation: 'Rotate it.',
  messages: { found: 'PostgreSQL URL with a password' },
  check: () => undefined,
});

export const fakeAwsRule = defineRule<'found', void>({
  id: 'fake/aws-key',
  title: 'AWS access key id',
  description: 'Test rule.',
  severity: 'critical',
  confidence: 'high',
  tags: ['cwe:798'],
  remediation: 'Rotate it.',
  messages: { found: 'AWS access key id' },
  check: () => undefined,
});

const PATTERNS = [
  { rule: fakePostgresRule, regex: /postgres:\/\/[^:\s/]+:([A-Za-z0-9]{8,})@/g },
  { rule: fakeAwsRule, regex: /\b(AKIA[A-Z2-7]{16})\b/g },
];

export const fakeSecretsScanner: Scanner = {
  name: 'fake-secrets',
  description: 'test stand-in',
  rules: [fakePostgresRule, fakeAwsRule],
  async scan(target, context) {
    const bytes = await readAll(target.source, 1024 * 1024);
    // Like the real scanner, binary content (a NUL early on) is not read as text.
    if (bytes === undefined || bytes.subarray(0, 8192).includes(0)) return;
    const lines = bytes.toString('latin1').split('\n');
    for (const [i, text] of lines.entries()) {
      for (const { rule, regex } of PATTERNS) {
        for (const match of text.matchAll(regex)) {
          context.reporter(rule, target)({ message: 'found', line: i + 1, secret: match[1] ?? '' });
        }
      }
    }
  },
};
