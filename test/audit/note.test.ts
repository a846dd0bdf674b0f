import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import {
  computeKeyId,
  EMPTY_ROOT,
  formatVerifierKey,
  generateCheckpointKey,
  loadCheckpointSigner,
  NOTE_LIMITS,
  openNote,
  parseVerifierKey,
  signCheckpoint,
  signNote,
  verifyCheckpoint,
} from '../../src/audit/index.js';
import { generateKeyPair } from '../../src/integrity/index.js';
import { isCustodyError, type ErrorCode } from '../../src/core/errors.js';
import { KEY, OTHER_KEY, readFixture, workDir } from './helpers.js';

const code = (expected: ErrorCode) => (error: unknown) => isCustodyError(error, expected);
const signer = loadCheckpointSigner(KEY.privateKeyPem, KEY.name);
const ROOT: Buffer = Buffer.alloc(32, 7);

function checkpointNote(size = 42, root = ROOT): string {
  return signCheckpoint({ origin: KEY.name, size, root, extensions: [] }, signer);
}

describe('checkpoint keys', () => {
  it('generates an Ed25519 key as PKCS#8 PEM with a verifier key name+hex+base64 whose ID is SHA-256(name‖0x0A‖0x01‖key)[:4]', () => {
    const key = generateCheckpointKey('example.com/log');
    assert.match(key.privateKeyPem, /^-----BEGIN PRIVATE KEY-----\n/);
    const [name, hex] = key.verifierKey.split('+') as [string, string];
    const encoded = key.verifierKey.slice(name.length + hex.length + 2);
    assert.equal(name, 'example.com/log');
    const raw = Buffer.from(encoded, 'base64');
    assert.equal(raw.length, 33);
    assert.equal(raw[0], 1);
    assert.equal(hex, computeKeyId(name, raw.subarray(1)).toString(16).padStart(8, '0'));
    assert.equal(formatVerifierKey(name, raw.subarray(1)), key.verifierKey);
    assert.equal(parseVerifierKey(key.verifierKey).keyId, parseInt(hex, 16));
  });

  it('refuses malformed verifier keys and key names', () => {
    const [name, hex] = KEY.verifierKey.split('+') as [string, string];
    const encoded = KEY.verifierKey.slice(name.length + hex.length + 2);
    const bad = [
      `${name}+${hex}`,
      `${name}+${hex}+${encoded}+x`,
      `${name}+${hex.toUpperCase()}+${encoded}`,
      `${name}+${(parseInt(hex, 16) ^ 1).toString(16).padStart(8, '0')}+${encoded}`,
      `${name}+${hex}+${encoded.slice(0, -4)}`,
      `${name}+${hex}+${Buffer.concat([Buffer.from([2]), Buffer.from(encoded, 'base64').subarray(1)]).toString('base64')}`,
      `other.example/log+${hex}+${encoded}`,
      `+${hex}+${encoded}`,
      `has space+${hex}+${encoded}`,
      `${name}+${hex}+${encoded} `,
      `${name}+${hex}+${encoded.slice(0, -1)}=`,
    ];
    for (const key of bad) assert.throws(() => parseVerifierKey(key), code('AUDIT_CHECKPOINT_INVALID'), key);
    for (const bad of ['', 'a b', 'a+b', 'tab\there', 'nbsp\u00a0x', 'x'.repeat(NOTE_LIMITS.maxNameBytes + 1)]) assert.throws(() => generateCheckpointKey(bad), code('AUDIT_CHECKPOINT_INVALID'), JSON.stringify(bad));
    assert.throws(() => loadCheckpointSigner(generateKeyPair('p256').privateKeyPem, 'x.example/log'), code('KEY_INVALID'));
    assert.throws(() => loadCheckpointSigner('not a key', 'x.example/log'), code('KEY_INVALID'));
  });
});

describe('signed checkpoints (C2SP signed-note, tlog-checkpoint)', () => {
  it('signs origin, size and base64 root as the note text and verifies it back', () => {
    const note = checkpointNote();
    const [text, signatureLine] = note.split('\n\n') as [string, string];
    assert.equal(text, `${KEY.name}\n42\n${ROOT.toString('base64')}`);
    assert.match(signatureLine, new RegExp(`^\u2014 ${KEY.name.replace(/[./]/g, '\\$&')} [A-Za-z0-9+/]{91}=\n$`));
    const checkpoint = verifyCheckpoint(note, KEY.verifierKey);
    assert.deepEqual([checkpoint.origin, checkpoint.size, checkpoint.root.toString('hex'), checkpoint.extensions], [KEY.name, 42, ROOT.toString('hex'), []]);
    assert.equal(verifyCheckpoint(checkpointNote(0, EMPTY_ROOT), KEY.verifierKey).size, 0);
    assert.equal(verifyCheckpoint(Buffer.from(note), KEY.verifierKey).size, 42, 'bytes are read as UTF-8');
  });

  it('verifies notes made by an independent implementation, ignoring signatures by unknown keys', () => {
    const notes = readFixture<Record<string, string>>('notes.json');
    for (const which of ['signed', 'foreign_first']) {
      const checkpoint = verifyCheckpoint(notes[which] as string, notes['verifier_key'] as string);
      assert.equal(checkpoint.size, Number(notes['size']));
      assert.equal(checkpoint.root.toString('base64'), notes['root']);
    }
    assert.throws(() => verifyCheckpoint(notes['same_name_other_key'] as string, notes['verifier_key'] as string), code('KEY_UNTRUSTED'), 'same name, other key ID');
  });

  it('makes notes the independent implementation verifies', () => {
    const path = join(workDir('note'), 'note.txt');
    writeFileSync(path, checkpointNote(130));
    const ok = spawnSync('python3', ['scripts/fixtures/gen_audit.py', '--verify-note', path, KEY.verifierKey], { encoding: 'utf8' });
    assert.equal(ok.status, 0, ok.stderr);
    assert.deepEqual(JSON.parse(ok.stdout), { origin: KEY.name, size: 130, root: ROOT.toString('base64') });
    const other = spawnSync('python3', ['scripts/fixtures/gen_audit.py', '--verify-note', path, OTHER_KEY.verifierKey], { encoding: 'utf8' });
    assert.equal(other.status, 1, 'the Python verifier can fail too');
  });

  it('rejects a note signed by another key, an altered or truncated signature, and altered text', () => {
    const note = checkpointNote();
    const other = signCheckpoint({ origin: KEY.name, size: 42, root: ROOT, extensions: [] }, loadCheckpointSigner(OTHER_KEY.privateKeyPem, OTHER_KEY.name));
    assert.throws(() => verifyCheckpoint(other, KEY.verifierKey), code('KEY_UNTRUSTED'), 'another key');
    const [text, line] = note.split('\n\n') as [string, string];
    const blob = line.slice(line.lastIndexOf(' ') + 1, -1);
    const bytes = Buffer.from(blob, 'base64');
    const flip = (at: number): string => {
      const copy = Buffer.from(bytes);
      copy.writeUInt8(copy.readUInt8(at) ^ 0x01, at);
      return `${text}\n\n${line.slice(0, line.lastIndexOf(' ') + 1)}${copy.toString('base64')}\n`;
    };
    assert.throws(() => verifyCheckpoint(flip(10), KEY.verifierKey), code('SIGNATURE_INVALID'), 'flipped signature byte');
    assert.throws(() => verifyCheckpoint(flip(1), KEY.verifierKey), code('KEY_UNTRUSTED'), 'flipped key ID byte: an unknown key');
    const truncated = `${text}\n\n${line.slice(0, line.lastIndexOf(' ') + 1)}${bytes.subarray(0, 60).toString('base64')}\n`;
    assert.throws(() => verifyCheckpoint(truncated, KEY.verifierKey), code('SIGNATURE_INVALID'), 'truncated signature');
    const cut = `${text}\n\n${line.slice(0, -20)}\n`;
    assert.throws(() => verifyCheckpoint(cut, KEY.verifierKey), code('AUDIT_CHECKPOINT_INVALID'), 'signature cut mid-base64');
    assert.throws(() => verifyCheckpoint(note.replace('\n42\n', '\n43\n'), KEY.verifierKey), code('SIGNATURE_INVALID'), 'another size');
    assert.throws(() => verifyCheckpoint(note, OTHER_KEY.verifierKey), code('KEY_UNTRUSTED'), 'checked with another key');
    const twice = `${note}${line.slice(0, line.lastIndexOf(' ') + 1)}${Buffer.concat([bytes.subarray(0, 4), Buffer.alloc(64)]).toString('base64')}\n`;
    assert.throws(() => verifyCheckpoint(twice, KEY.verifierKey), code('SIGNATURE_INVALID'), 'a second, bad signature by the same key rejects the note');
  });

  it('parses the note and checkpoint grammar strictly', () => {
    const note = checkpointNote();
    const [text, line] = note.split('\n\n') as [string, string];
    const resign = (body: string): string => `${body}\n${signNote(body, [signer]).split('\n\n')[1] as string}`;
    const malformed: [string, string][] = [
      [text + '\n' + line, 'no blank line'],
      [note.slice(0, -1), 'no final newline'],
      [`${text}\n\n`, 'no signature'],
      [note.replace('\u2014 ', '-- '), 'not an em dash'],
      [note.replace('\u2014 ', '\u2014  '), 'two spaces'],
      [note.replace(`${KEY.name} `, `${KEY.name}+x `), 'plus in a key name'],
      [note.replace('\n42\n', '\r\n42\n'), 'carriage return'],
      [note.replace('\n42\n', '\n4\u00002\n'), 'NUL'],
      [resign(`${KEY.name}\n042\n${ROOT.toString('base64')}\n`), 'leading zero'],
      [resign(`${KEY.name}\n-1\n${ROOT.toString('base64')}\n`), 'negative size'],
      [resign(`${KEY.name}\n99999999999999999\n${ROOT.toString('base64')}\n`), 'size past 2^53'],
      [resign(`${KEY.name}\n42\n${ROOT.subarray(1).toString('base64')}\n`), '31-byte root'],
      [resign(`${KEY.name}\n42\n${ROOT.toString('base64').replace(/=$/, '')}\n`), 'unpadded root'],
      [resign(`${KEY.name}\n42\n`), 'two lines'],
      [resign(`${KEY.name}\n42\n${ROOT.toString('base64')}\n\next\n`), 'empty extension line'],
      [`${text}\n\n${Array.from({ length: NOTE_LIMITS.maxSignatures + 1 }, () => line).join('')}`, 'too many signatures'],
      [`${'x'.repeat(NOTE_LIMITS.maxBytes)}\n\n${line}`, 'too large'],
    ];
    for (const [bad, label] of malformed) {
      assert.throws(() => verifyCheckpoint(bad, KEY.verifierKey), (error: unknown) => isCustodyError(error) && ['AUDIT_CHECKPOINT_INVALID', 'SIGNATURE_INVALID'].includes(error.code), label);
    }
    assert.throws(() => verifyCheckpoint(Buffer.from([...Buffer.from(text), 0xff, ...Buffer.from(`\n\n${line}`)]), KEY.verifierKey), code('AUDIT_CHECKPOINT_INVALID'), 'invalid UTF-8');
    assert.throws(() => verifyCheckpoint(resign(`other.example/log\n42\n${ROOT.toString('base64')}\n`), KEY.verifierKey), code('AUDIT_CHECKPOINT_INVALID'), 'another origin');
    const withExtension = resign(`${KEY.name}\n42\n${ROOT.toString('base64')}\nextension line\n`);
    assert.deepEqual(verifyCheckpoint(withExtension, KEY.verifierKey).extensions, ['extension line']);
    assert.equal(openNote(`${text}\n\n\u2014 unknown.example/k ${Buffer.alloc(8).toString('base64')}\n${line}`, [parseVerifierKey(KEY.verifierKey)]).verifiedBy.length, 1, 'unknown keys are skipped');
    assert.throws(() => signNote('no newline', [signer]), code('AUDIT_CHECKPOINT_INVALID'));
    assert.throws(() => signNote('bell\u0007\n', [signer]), code('AUDIT_CHECKPOINT_INVALID'));
  });
});
