import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { describe, it } from 'node:test';
import { cli } from '../integrity/helpers.js';
import { KEY, makeExport, OTHER_KEY, workDir } from './helpers.js';

describe('custody audit verify', () => {
  it('exits 0 on an export that verifies, in text and JSON, and warns when the key is not pinned', async () => {
    const { path } = await makeExport(25, { label: 'cli-ok' });
    const text = await cli(['audit', 'verify', 'audit.jsonl', '--key', KEY.verifierKey], dirname(path));
    assert.equal(text.code, 0, text.stderr);
    assert.match(text.stdout, /^verified: 25 entries, 2 interval checkpoints; final checkpoint registry\.test\/audit size 25 root [A-Za-z0-9+/]{43}=, signed by the pinned key\n$/);
    assert.equal(text.stderr, '');
    const json = await cli(['audit', 'verify', path, '--key', KEY.verifierKey, '--format', 'json'], '/');
    assert.equal(json.code, 0);
    const result = JSON.parse(json.stdout) as { verified: boolean; entries: number; keyPinned: boolean; checkpoint: { size: number } };
    assert.deepEqual([result.verified, result.entries, result.keyPinned, result.checkpoint.size], [true, 25, true, 25]);
    const unpinned = await cli(['audit', 'verify', path], '/');
    assert.equal(unpinned.code, 0);
    assert.match(unpinned.stdout, /not pinned/);
    assert.match(unpinned.stderr, /warning: no --key given/);
  });

  it('exits 1 naming the first bad line and entry; JSON carries kind, line and index', async () => {
    const { path, lines } = await makeExport(25, { label: 'cli-bad' });
    lines.splice(14, 1); // entry 12 (line 15: header, 12 entries, the checkpoint of size 10 before it)
    writeFileSync(path, lines.map((l) => `${l}\n`).join(''));
    const text = await cli(['audit', 'verify', path, '--key', KEY.verifierKey], '/');
    assert.equal(text.code, 1);
    assert.match(text.stdout, /^FAILED at line 15 \(entry 12\): entry 12 is missing/);
    const json = await cli(['audit', 'verify', path, '--key', KEY.verifierKey, '--format', 'json'], '/');
    assert.equal(json.code, 1);
    const result = JSON.parse(json.stdout) as { verified: boolean; failure: { kind: string; line: number; index: number } };
    assert.deepEqual([result.verified, result.failure.kind, result.failure.line, result.failure.index], [false, 'missing', 15, 12]);
    const wrongKey = await cli(['audit', 'verify', path, '--key', OTHER_KEY.verifierKey], '/');
    assert.equal(wrongKey.code, 1);
    assert.match(wrongKey.stdout, /FAILED at line 1: .*\[key-mismatch\]/);
  });

  it('exits 2 with a coded error when it cannot run', async () => {
    const dir = workDir('cli-errors');
    const cases: [string[], string][] = [
      [['audit'], 'USAGE'],
      [['audit', 'bogus'], 'USAGE'],
      [['audit', 'verify'], 'USAGE'],
      [['audit', 'verify', 'a', 'b'], 'USAGE'],
      [['audit', 'verify', 'x.jsonl', '--format', 'xml'], 'USAGE'],
      [['audit', 'verify', 'x.jsonl', '--bogus'], 'USAGE'],
      [['audit', 'verify', 'missing.jsonl'], 'PATH_NOT_FOUND'],
      [['audit', 'verify', '.'], 'SPECIAL_FILE'],
      [['audit', 'verify', 'missing.jsonl', '--key', 'name+00000000+AAAA'], 'AUDIT_CHECKPOINT_INVALID'],
    ];
    for (const [args, code] of cases) {
      const run = await cli(args, dir);
      assert.equal(run.code, 2, args.join(' '));
      assert.match(run.stderr, new RegExp(`^custody: error ${code}: `), args.join(' '));
    }
  });

  it('documents itself under --help, and is listed in custody --help', async () => {
    const help = await cli(['audit', 'verify', '--help'], '/');
    assert.equal(help.code, 0);
    assert.match(help.stdout, /custody audit verify FILE \[--key VERIFIER_KEY\]/);
    assert.match((await cli(['--help'], '/')).stdout, /\n {2}audit +Work with the registry audit log/);
  });
});
