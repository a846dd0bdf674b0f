import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { closeSync, openSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { formatExportHeader } from '../../src/audit/index.js';
import { assertFindingOrCodedError, assertUnchanged, makeSandbox, removeSandbox, runCustody, snapshot } from '../support/hostile.js';
import { KEY } from '../audit/helpers.js';

// `custody audit verify` reads a file an auditor was handed: it must end, within time and memory
// bounds, in a failed verification (exit 1) or a coded error (exit 2), whatever the file holds.
describe('hostile audit exports', () => {
  const box = makeSandbox('audit');
  after(() => removeSandbox(box));
  const header = formatExportHeader({ origin: KEY.name, verifierKey: KEY.verifierKey, checkpointInterval: 1000 });
  const bounds = { timeoutMs: 60_000, maxRssMb: 256 };

  it('one 64 MiB line with no newline is refused as oversized without being buffered', () => {
    const path = join(box.tree, 'long.jsonl');
    const fd = openSync(path, 'w');
    writeSync(fd, header);
    const chunk = Buffer.alloc(1024 * 1024, 0x61);
    for (let i = 0; i < 64; i++) writeSync(fd, chunk);
    closeSync(fd);
    const result = runCustody(box, ['audit', 'verify', path, '--key', KEY.verifierKey, '--format', 'json'], bounds);
    assertFindingOrCodedError(result);
    assert.equal(result.exit, 1);
    assert.match(result.stdout, /"kind": "oversized"/);
    assert.ok(result.maxRssKb < 200 * 1024, `peak RSS ${Math.round(result.maxRssKb / 1024)} MiB`);
  });

  it('a header of deeply nested arrays, a checkpoint line with a huge note, and binary noise end in a failed verification', () => {
    const cases: [string, string | Buffer][] = [
      ['nested.jsonl', `${'['.repeat(400_000)}\n`],
      ['huge-note.jsonl', `${header}{"checkpoint":"${'x'.repeat(300_000)}\\n\\n\u2014 a b\\n"}\n`],
      ['noise.jsonl', Buffer.from(Array.from({ length: 4 * 1024 * 1024 }, (_, i) => (i * 2654435761) >>> 24))],
      ['many-lines.jsonl', `${header}${'{"entry":{},"index":0,"prev":""}\n'.repeat(200_000)}`],
    ];
    for (const [name, content] of cases) {
      writeFileSync(join(box.tree, name), content);
      const before = snapshot(box.outside);
      const result = runCustody(box, ['audit', 'verify', name, '--key', KEY.verifierKey], bounds);
      assertFindingOrCodedError(result);
      assert.equal(result.exit, 1, `${name}: ${result.stdout}${result.stderr}`);
      assertUnchanged(before, box.outside);
    }
  });

  it('a FIFO or a device named as the export is refused at once with SPECIAL_FILE, not read', () => {
    const fifo = join(box.tree, 'export.fifo');
    execFileSync('mkfifo', [fifo]);
    assertFindingOrCodedError(runCustody(box, ['audit', 'verify', fifo], { timeoutMs: 20_000 }), { code: 'SPECIAL_FILE' });
    assertFindingOrCodedError(runCustody(box, ['audit', 'verify', '/dev/zero'], { timeoutMs: 20_000 }), { code: 'SPECIAL_FILE' });
  });
});
