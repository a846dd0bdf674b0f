// Encrypted zip members: real ciphertext (no loader reads it: medium, bytes not scanned) against the encryption
// flag over content that is not ciphertext (a trick: high, bytes scanned). Fixtures: scripts/fixtures/gen_zip_encrypted.py.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { BufferSource } from '../../src/core/byte-source.js';
import { defaultConfig } from '../../src/core/config.js';
import type { Finding } from '../../src/core/finding.js';
import { scanSource } from '../../src/scanners/file-scan.js';
import { containersScanner } from '../../src/scanners/containers/index.js';
import { modelsScanner } from '../../src/scanners/models/index.js';

const FIXTURES = 'test/.tmp/fixtures/zip_encrypted';
const manifest = JSON.parse(readFileSync(join(FIXTURES, 'manifest.json'), 'utf8')) as Record<string, { label: string; description: string }>;
const ids = new Set([...containersScanner.rules, ...modelsScanner.rules].map((r) => r.id));

async function scan(file: string): Promise<Finding[]> {
  return scanSource(file, new BufferSource(readFileSync(join(FIXTURES, file))), { scanners: [containersScanner, modelsScanner], config: defaultConfig(), knownRuleIds: ids });
}
const show = (findings: readonly Finding[]): string => findings.map((f) => `${f.severity} ${f.ruleId}: ${f.message}`).join('\n');
const severe = (f: Finding): boolean => f.severity === 'critical' || f.severity === 'high';

describe('zip members marked encrypted', () => {
  it('covers ZipCrypto (stored, deflated, empty), WinZip AES and six kinds of fake', () => {
    assert.equal(Object.values(manifest).filter((m) => m.label === 'real').length, 5);
    assert.equal(Object.values(manifest).filter((m) => m.label === 'fake').length, 6);
  });
  for (const [file, meta] of Object.entries(manifest)) {
    it(`${meta.label}: ${meta.description}`, async () => {
      const findings = await scan(file);
      const flag = findings.filter((f) => f.ruleId === 'models/zip-flag-bits');
      assert.equal(flag.length, 1, show(findings));
      if (meta.label === 'real') {
        // Nothing can load it: reported, but not high; its ciphertext is not scanned as if it were content.
        assert.equal(flag[0]?.severity, 'medium', show(findings));
        assert.match(flag[0]?.message ?? '', /is encrypted \((ZipCrypto|WinZip AES-256)/);
        assert.deepEqual(findings.filter(severe), [], show(findings));
      } else {
        assert.equal(flag[0]?.severity, 'high', show(findings));
        assert.match(flag[0]?.message ?? '', /not ciphertext/);
      }
    });
  }
  it('scans the plain content behind a fake flag', async () => {
    for (const file of ['fake/flag-over-stored.zip', 'fake/flag-over-deflate.zip']) {
      const findings = await scan(file);
      assert.ok(findings.some((f) => f.ruleId === 'models/pickle-dangerous-global'), `${file}\n${show(findings)}`);
    }
  });
});
