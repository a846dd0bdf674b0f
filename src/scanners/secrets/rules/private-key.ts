import { indexWithin } from '../assign.js';
import { checkPrivateKey } from '../decode.js';
import { defineSecretRule } from '../define.js';
import { Fake } from '../fake.js';
import { tags } from './kit.js';

const BEGIN = /-----BEGIN ((?:RSA |EC |DSA |OPENSSH |ENCRYPTED |PGP )?PRIVATE KEY(?: BLOCK)?)-----/y;
const MAX_BODY = 65_536;

const KINDS: Readonly<Record<string, string>> = {
  pkcs1: 'RSA',
  pkcs8: 'PKCS#8',
  sec1: 'EC',
  dsa: 'DSA',
  openssh: 'OpenSSH',
  'encrypted-pkcs8': 'encrypted PKCS#8',
  pgp: 'PGP',
  other: '',
};

export const privateKeyRule = defineSecretRule({
  id: 'secrets/private-key',
  title: 'Private key',
  description:
    'A PEM private key (PKCS#1 RSA, SEC1 EC, DSA, PKCS#8, encrypted PKCS#8, OpenSSH, PGP), also with escaped newlines inside JSON, ' +
    '`.env` values or notebook cells. The body is base64-decoded and its structure checked (DER framing, the OpenSSH magic and ' +
    'cipher, the PGP secret-key packet), so truncated examples in documentation are not reported. Unencrypted keys are critical; ' +
    'passphrase-protected keys are medium.',
  severity: 'critical',
  confidence: 'high',
  tags: [...tags('pem'), 'cwe:321'],
  remediation:
    'Treat the key as compromised: revoke or replace it wherever it is trusted (SSH authorized_keys, TLS certificates, signing ' +
    'identities), remove it from the file and from git history, and keep keys in a secret store or hardware token.',
  messages: { found: 'Unencrypted {{kind}} private key.', encrypted: 'Passphrase-protected {{kind}} private key.' },
  family: 'private-key',
  priority: 2,
  detectors: [
    {
      keywords: ['-----BEGIN '],
      find(doc, pos, _keyword, emit) {
        BEGIN.lastIndex = pos;
        const m = BEGIN.exec(doc.text);
        const label = m?.[1];
        if (!m || label === undefined) return;
        const endMarker = `-----END ${label}-----`;
        const bodyStart = pos + m[0].length;
        const end = indexWithin(doc.text, endMarker, bodyStart, MAX_BODY);
        if (end < 0) return;
        const body = doc.text.slice(bodyStart, end);
        const check = checkPrivateKey(label, body);
        if (!check.valid) return;
        const kind = KINDS[check.kind] ?? '';
        emit({
          start: pos,
          end: end + endMarker.length,
          secret: body,
          message: check.encrypted ? 'encrypted' : 'found',
          data: { kind: kind === '' ? label.replace(/ ?PRIVATE KEY.*/, '') || 'PEM' : kind },
          ...(check.encrypted ? { severity: 'medium' as const } : {}),
          evidence: `-----BEGIN ${label}-----${body}`,
        });
      },
    },
  ],
  patterns: [BEGIN],
  examples: () => {
    const f = new Fake(2626);
    return {
      positive: [
        { text: f.pem('RSA PRIVATE KEY', f.derKey()), file: 'id_rsa' },
        { text: f.pem('OPENSSH PRIVATE KEY', f.opensshKey()), file: 'id_ed25519' },
        { text: `SIGNING_KEY="${f.pem('PRIVATE KEY', f.pkcs8Key(), true)}"`, file: '.env' },
      ],
      negative: [
        { text: '-----BEGIN RSA PRIVATE KEY-----\nMIIEpAIBAAKCAQEA...\n-----END RSA PRIVATE KEY-----', file: 'README.md' },
        { text: f.pem('PUBLIC KEY', f.derKey()), file: 'key.pub' },
        { text: f.pem('RSA PRIVATE KEY', f.derKey()).replace(/\n[^\n]{64}\n/, '\n'), file: 'id_rsa' },
      ],
    };
  },
});
