import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { decodeName, walkTree } from '../../src/core/walk.js';

const dir = mkdtempSync(join(tmpdir(), 'custody-walk-names-'));
after(() => rmSync(dir, { recursive: true, force: true }));

describe('walk: names that start with U+FEFF', () => {
  it('keeps the character in the name (it is not a byte-order mark there), so two files never share a display path', async () => {
    writeFileSync(join(dir, '\uFEFFx.py'), 'a');
    writeFileSync(join(dir, 'x.py'), 'b');
    const { files } = await walkTree([dir]);
    assert.deepEqual(files.map((f) => f.displayPath.slice(dir.length + 1)).sort(), ['x.py', '\uFEFFx.py'].sort());
    for (const file of files) assert.equal(file.absPath, file.displayPath);
  });

  it('decodes the character alone and inside a name that is not UTF-8', () => {
    assert.deepEqual(decodeName(Buffer.from([0xef, 0xbb, 0xbf, 0x61])), { text: '\uFEFFa', exact: true });
    assert.deepEqual(decodeName(Buffer.from([0xff, 0xef, 0xbb, 0xbf, 0x61])), { text: '\\xff\uFEFFa', exact: false });
  });
});
