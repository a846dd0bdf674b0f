import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { containerFindings, scanBuffer, scanFixture, withRule } from './containers-support.js';

describe('models/unscannable-container', () => {
  const archives: [string, RegExp][] = [
    ['model.7z', /7-Zip/],
    ['model.rar', /RAR/],
    ['model-rar4.rar', /RAR/],
    ['model.cab', /CAB/],
    ['model.a', /ar \(Unix archive/],
    ['model.cpio', /cpio/],
  ];
  for (const [file, format] of archives) {
    it(`${file}: high, "could not look inside"`, async () => {
      const { findings } = await scanFixture(`unsupported/${file}`);
      const hits = withRule(findings, 'models/unscannable-container');
      assert.equal(hits.length, 1);
      assert.equal(hits[0]?.severity, 'high');
      assert.match(hits[0]?.message ?? '', format);
    });
  }

  it('LZMA-alone (joblib lzma) is decoded, not reported as unscannable', async () => {
    const { findings, payloadAt } = await scanFixture('compressed/payload.pkl.lzma');
    assert.deepEqual(withRule(findings, 'models/unscannable-container'), []);
    assert.deepEqual(payloadAt, ['payload.pkl']);
  });

  it('look-alikes are not archives', async () => {
    for (const file of ['rar-lookalike.txt', '7z-lookalike.txt']) {
      const { findings } = await scanFixture(`unsupported/${file}`);
      assert.deepEqual(containerFindings(findings), [], file);
    }
    // 0x5D then a dictionary size that is not a power of two: not LZMA (and nothing is reported).
    const { findings } = await scanBuffer('x.bin', Buffer.from([0x5d, 0x01, 0x02, 0x03, 0x04, 0, 0, 0, 0, 0, 0, 0, 0, 1, 2, 3]));
    assert.deepEqual(containerFindings(findings), []);
  });
});
