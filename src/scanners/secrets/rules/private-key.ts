import { checkPrivateKey, decodeBase64, derLength, derPrivateKeyKind } from '../decode.js';
import { defineSecretRule } from '../define.js';
import { Fake } from '../fake.js';
import { isPlaceholder } from '../placeholder.js';
import type { Emit, KeywordDetector, ScanDoc } from '../types.js';
import { tags } from './kit.js';

const BEGIN = /-----BEGIN ((?:RSA |EC |DSA |OPENSSH |ENCRYPTED |PGP )?PRIVATE KEY(?: BLOCK)?)-----/y;
const MAX_BODY = 65_536;
const END_OTHER = /^-----END (?:RSA |EC |DSA |OPENSSH |ENCRYPTED |PGP )?PRIVATE KEY(?: BLOCK)?-----/;

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

interface PemCandidate {
  start: number;
  end: number;
  secret: string;
  message: 'found' | 'encrypted';
  data: { kind: string };
  severity?: 'medium';
  evidence: string;
}

/** A PEM private key whose `-----BEGIN ` is at `pos` of `text`; `findEnd(from, marker)` locates its END marker. */
function findPem(text: string, pos: number, findEnd: (from: number, marker: string) => number, emit: (c: PemCandidate) => void): void {
  BEGIN.lastIndex = pos;
  const m = BEGIN.exec(text);
  const label = m?.[1];
  if (!m || label === undefined) return;
  let endMarker = `-----END ${label}-----`;
  const bodyStart = pos + m[0].length;
  let end = findEnd(bodyStart, endMarker);
  if (end < 0) {
    // A key pasted with another label's END line (`BEGIN PRIVATE KEY` … `END RSA PRIVATE KEY`).
    end = findEnd(bodyStart, '-----END ');
    const other = end < 0 ? null : END_OTHER.exec(text.slice(end, end + 64));
    if (other === null) return;
    endMarker = other[0];
  }
  const body = text.slice(bodyStart, end);
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
}

function isBase64Char(c: number): boolean {
  return (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || (c >= 48 && c <= 57) || c === 43 || c === 47 || c === 61;
}

const MAX_DER_TEXT = 16 * 1024;

/**
 * Unarmored DER private keys in base64 (an XML element, a YAML value, a variable): the DER header of a key
 * (`MII…`, `MIG…`, `MHc…`, `MC4C…` for SEQUENCE lengths of two bytes, one byte, EC P-256 and Ed25519) at the
 * start of a base64 run that may wrap over indented lines. Reported only when the bytes are a PKCS#1, PKCS#8 or
 * SEC1 private key and the run holds all of them.
 */
const rawDerDetector: KeywordDetector = {
  keywords: ['MII', 'MIG', 'MHc', 'MC4C'],
  find(doc, pos, _keyword, emit) {
    const text = doc.text;
    if (pos > 0 && isBase64Char(text.charCodeAt(pos - 1))) return;
    // Inside an armored block the label decides (the PEM detector reads it).
    const armor = doc.index.prevIndex('-----BEGIN ', pos, Math.max(0, pos - 512));
    if (armor >= 0 && doc.index.prevIndex('-----END ', pos, armor) < 0) return;
    // Cheap check of the first bytes before gathering the run: SEQUENCE, then INTEGER 0 or 1.
    const head = decodeBase64(text.slice(pos, pos + 12));
    if (head === undefined || head.length < 9 || head[0] !== 0x30) return;
    const lenBytes = head[1]! & 0x80 ? head[1]! & 0x7f : 0;
    const at = 2 + lenBytes;
    if (head[at] !== 0x02 || head[at + 1] !== 0x01 || head[at + 2]! > 1) return;
    // The run, over line breaks and indentation.
    let b64 = '';
    let e = pos;
    const limit = Math.min(text.length, pos + MAX_DER_TEXT);
    while (e < limit) {
      const c = text.charCodeAt(e);
      if (isBase64Char(c)) {
        b64 += text[e];
        e++;
        continue;
      }
      if (c !== 10 && c !== 13) break;
      let n = e + 1;
      while (n < limit && (text.charCodeAt(n) === 32 || text.charCodeAt(n) === 9 || text.charCodeAt(n) === 10 || text.charCodeAt(n) === 13)) n++;
      if (n >= limit || !isBase64Char(text.charCodeAt(n))) break;
      e = n;
    }
    const usable = b64.length - (b64.length % 4);
    const bytes = decodeBase64(b64.slice(0, usable).replace(/=+$/, ''));
    if (bytes === undefined || bytes.length < 64) return;
    const length = derLength(bytes);
    if (length === undefined || length > bytes.length) return;
    const kind = derPrivateKeyKind(bytes.subarray(0, length));
    if (kind === undefined || isPlaceholder(b64.slice(0, 64))) return;
    const secret = b64.slice(0, 4 * Math.ceil(length / 3));
    const spanEnd = Math.min(e, pos + secret.length + (e - pos - b64.length));
    emit({ start: pos, end: spanEnd, secret, message: 'found', data: { kind: `${KINDS[kind]} (unarmored base64 DER)` }, evidence: secret });
  },
};

/**
 * Base64 of `-----BEGIN` at each of its three alignments: a PEM file encoded again, as Kubernetes Secrets
 * (`tls.key: LS0tLS1CRUdJTi…`), Helm values and CI variables keep keys.
 */
const BASE64_BEGIN = ['LS0tLS1CRUdJTi', '0tLS0tQkVHSU4g', 'tLS0tLUJFR0lO'];
const BASE64_RUN = /^[A-Za-z0-9+/]*={0,2}$/;
const MAX_ENCODED = 96 * 1024;
/** Per document: how far base64 blobs have been decoded already, so that repeated hits in one blob cost nothing. */
const decodedUpTo = new WeakMap<ScanDoc, number>();

const base64PemDetector: KeywordDetector = {
  keywords: BASE64_BEGIN,
  find(doc, pos, _keyword, emit: Emit) {
    if (pos < (decodedUpTo.get(doc) ?? 0)) return;
    const text = doc.text;
    // The run around the hit, on its line.
    let s = pos;
    const floor = Math.max(0, pos - MAX_ENCODED);
    while (s > floor && isBase64Char(text.charCodeAt(s - 1))) s--;
    let e = pos;
    const limit = Math.min(text.length, pos + MAX_ENCODED);
    while (e < limit && isBase64Char(text.charCodeAt(e))) e++;
    decodedUpTo.set(doc, e);
    // Decode from the run's alignment, a group before the hit.
    const from = s + Math.max(0, Math.floor((pos - s) / 4) - 1) * 4;
    const chunk = text.slice(from, e);
    const usable = chunk.slice(0, chunk.length - (chunk.length % 4)).replace(/=+$/, '');
    if (!BASE64_RUN.test(usable)) return;
    const decoded = decodeBase64(usable)?.toString('latin1');
    if (decoded === undefined) return;
    for (let at = decoded.indexOf('-----BEGIN '); at >= 0; at = decoded.indexOf('-----BEGIN ', at + 11)) {
      findPem(decoded, at, (start, marker) => decoded.indexOf(marker, start), (c) => {
        // Offsets in the encoded text: four characters for every three bytes.
        const start = from + Math.floor(c.start / 3) * 4;
        const end = Math.min(e, from + Math.ceil(c.end / 3) * 4);
        const secret = text.slice(start, end);
        emit({ ...c, start, end, secret, data: { kind: `${c.data.kind} (base64-encoded PEM)`.trim() }, evidence: secret });
      });
    }
  },
};

export const privateKeyRule = defineSecretRule({
  id: 'secrets/private-key',
  title: 'Private key',
  description:
    'A PEM private key (PKCS#1 RSA, SEC1 EC, DSA, PKCS#8, encrypted PKCS#8, OpenSSH, PGP), also with escaped newlines inside JSON, ' +
    '`.env` values or notebook cells. The body is base64-decoded and its structure checked (DER framing, the OpenSSH magic and ' +
    'cipher, the PGP secret-key packet), so truncated examples in documentation are not reported. Also read: bodies with a log or ' +
    'comment prefix on every line, doubly escaped JSON logs, PEM files encoded again in base64 (`LS0tLS1CRUdJTi…`) and unarmored ' +
    'base64 DER keys (`MII…`) whose bytes are a PKCS#1, PKCS#8 or SEC1 private key. Unencrypted keys are critical; ' +
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
        findPem(doc.text, pos, (from, marker) => doc.index.nextIndex(marker, from, MAX_BODY), (c) => emit(c));
      },
    },
    rawDerDetector,
    base64PemDetector,
  ],
  patterns: [BEGIN, BASE64_RUN, END_OTHER],
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
