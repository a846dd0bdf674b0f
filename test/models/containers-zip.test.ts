import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BufferSource, SliceSource } from '../../src/core/byte-source.js';
import { defaultConfig } from '../../src/core/config.js';
import { crc32, crc32Table } from '../../src/scanners/containers/crc32.js';
import { describeZipKind } from '../../src/scanners/containers/zip.js';
import { readZip } from '../../src/scanners/containers/zip-reader.js';
import { analysed, caught, containerFindings, hasHigh, ruleIds, scanBuffer, scanFixture, withRule } from './containers-support.js';

const DEADLINE = (): number => Date.now() + 60_000;

describe('zip reader building blocks', () => {
  it('computes CRC-32 the same with node:zlib and the table', () => {
    const data = Buffer.from('The quick brown fox jumps over the lazy dog');
    assert.equal(crc32(data), 0x414fa339);
    assert.equal(crc32Table(data), 0x414fa339);
    assert.equal(crc32Table(Buffer.alloc(0)), 0);
  });

  it('reads windows of a parent source lazily and within bounds', async () => {
    const parent = new BufferSource(Buffer.from('0123456789'));
    const slice = new SliceSource(parent, 3, 4);
    assert.equal(slice.size, 4);
    assert.equal((await slice.read(0, 100)).toString(), '3456');
    assert.equal((await slice.read(2, 1)).toString(), '5');
    assert.equal((await slice.read(10, 5)).length, 0);
    assert.equal(new SliceSource(parent, 8, 100).size, 2);
    assert.equal(new SliceSource(parent, 50, 10).size, 0);
  });

  it('returns undefined for data that is not a zip', async () => {
    const data = Buffer.from('just some text without any archive in it');
    assert.equal(await readZip(new BufferSource(data), data, { maxEntries: 10, deadline: DEADLINE() }), undefined);
  });

  it('names archives for messages', () => {
    assert.equal(describeZipKind(['archive/data.pkl', 'archive/data/0', 'archive/version']), 'PyTorch checkpoint (zip)');
    assert.equal(describeZipKind(['m/data.pkl', 'm/code/__torch__.py', 'm/constants.pkl']), 'TorchScript archive');
    assert.equal(describeZipKind(['a.npy', 'b.npy']), 'NumPy .npz archive');
    assert.equal(describeZipKind(['config.json']), 'zip archive');
  });
});

describe('zip: clean archives (negatives)', () => {
  for (const name of ['torch-clean.pt', 'zip-zero-padded.pt', 'torch-style-descriptors.pt', 'zipfile-stored.pt', 'handmade-zip64-clean.zip', 'utf8-flag.zip', 'descriptor-ok.zip', 'no-duplicate.zip', 'torch-big-member.pt']) {
    it(`reports nothing for ${name}`, async () => {
      const { findings, payloadAt, members } = await scanFixture(`zip/${name}`);
      // Nothing at all: neither the container rules nor the pickle analyser on data.pkl's persistent ids.
      assert.deepEqual(findings, [], JSON.stringify(findings, null, 1));
      assert.deepEqual(payloadAt, []);
      assert.ok(members.length > 1, 'members were scanned');
    });
  }

  it('scans every member of a PyTorch zip, including tensor data, lazily for big stored members', async () => {
    const { members } = await scanFixture('zip/torch-big-member.pt');
    assert.ok(members.includes('archive/data.pkl'));
    assert.ok(members.includes('archive/data/0'));
    assert.ok(members.includes('archive/data/1'));
  });

  it('ignores random bytes', async () => {
    const { findings, members } = await scanFixture('zip/not-zip-random.bin');
    assert.deepEqual(containerFindings(findings), []);
    assert.deepEqual(members, ['']);
  });
});

describe('zip: payloads are found whatever the member is called', () => {
  const cases: [string, string][] = [
    ['torch-payload.pt', 'archive/data.pkl'],
    ['payload-in-data-member.pt', 'archive/data/0'],
    ['payload-txt-name.zip', 'model.txt'],
    ['zipfile-deflated-payload.zip', 'archive/data.pkl'],
    ['zipfile-zip64-payload.zip', 'archive/data.pkl'],
    ['handmade-zip64-payload.zip', 'archive/data.pkl'],
    ['bzip2-payload.zip', 'data.pkl'],
    ['torchscript-payload.pt', 'model/constants.pkl'],
    ['nested.zip', 'outer/inner.zip!inner/data.pkl'],
    ['nested-deflated.zip', 'outer/inner.zip!inner/data.pkl'],
  ];
  for (const [name, member] of cases) {
    it(`${name}: payload scanned as ${member}`, async () => {
      const outcome = await scanFixture(`zip/${name}`);
      assert.deepEqual(outcome.payloadAt, [member]);
      assert.ok(analysed(outcome), 'the pickle analyser reports it');
    });
  }
});

describe('zip tricks: each reported, and the hidden payload still caught', () => {
  const tricks: { file: string; rule: string; message?: RegExp; payload: RegExp }[] = [
    { file: 'duplicate-first-bad.zip', rule: 'models/zip-duplicate-entry', payload: /^archive\/data\.pkl \(copy 1 of 2\)$/ },
    { file: 'duplicate-last-bad.zip', rule: 'models/zip-duplicate-entry', payload: /^archive\/data\.pkl$/ },
    { file: 'duplicate-nul.zip', rule: 'models/zip-duplicate-entry', message: /NUL/, payload: /^data\.pkl\0\.txt$/ },
    { file: 'name-mismatch.zip', rule: 'models/zip-header-mismatch', message: /named archive\/data\.txt in its local header/, payload: /^archive\/data\.pkl$/ },
    { file: 'size-mismatch.zip', rule: 'models/zip-header-mismatch', message: /37 compressed bytes, local header says 4/, payload: /^archive\/data\.pkl$/ },
    { file: 'method-mismatch.zip', rule: 'models/zip-header-mismatch', message: /method 8, local header says 0/, payload: /^archive\/data\.pkl$/ },
    { file: 'crc-local-mismatch.zip', rule: 'models/zip-header-mismatch', message: /CRC/, payload: /^archive\/data\.pkl$/ },
    { file: 'crc-wrong.zip', rule: 'models/zip-crc-mismatch', message: /0xdeadbeef/, payload: /^archive\/data\.pkl$/ },
    { file: 'encrypted-flag.zip', rule: 'models/zip-flag-bits', message: /encrypted/, payload: /^archive\/data\.pkl$/ },
    { file: 'descriptor-bad.zip', rule: 'models/zip-header-mismatch', message: /data descriptor/, payload: /^archive\/data\.pkl$/ },
    { file: 'overlap.zip', rule: 'models/zip-malformed', message: /share bytes/, payload: /^[ab]\.pkl$/ },
    { file: 'offset-outside.zip', rule: 'models/zip-malformed', message: /no valid local header at offset 10000/, payload: /^archive\/data\.pkl$/ },
    { file: 'count-mismatch.zip', rule: 'models/zip-malformed', message: /announces 1 entries .* holds 2/, payload: /^archive\/data\.pkl$/ },
    { file: 'orphan-local.zip', rule: 'models/zip-header-mismatch', message: /not in the central directory/, payload: /^hidden\.pkl \(local entry at 0\)$/ },
    { file: 'truncated-no-end.zip', rule: 'models/zip-malformed', message: /no end-of-central-directory/, payload: /^archive\/data\.pkl \(local entry at 0\)$/ },
    { file: 'polyglot-pickle-concat.pt', rule: 'models/zip-polyglot', message: /pickle \(37 bytes at offset 0\)/, payload: /^$/ },
    { file: 'polyglot-pickle-absolute.pt', rule: 'models/zip-polyglot', message: /pickle/, payload: /^$/ },
    { file: 'polyglot-benign-prefix.zip', rule: 'models/zip-polyglot', message: /after 17 bytes/, payload: /^archive\/data\.pkl$/ },
    { file: 'polyglot-large.pt', rule: 'models/zip-polyglot', payload: /^archive\/data\.pkl$/ },
    { file: 'zip-then-pickle.pt', rule: 'models/zip-polyglot', message: /37 bytes follow the end .* start like a pickle/, payload: /^data after the archive@\d+$/ },
  ];
  for (const trick of tricks) {
    it(`${trick.file}: ${trick.rule}`, async () => {
      const outcome = await scanFixture(`zip/${trick.file}`);
      const hits = withRule(outcome.findings, trick.rule);
      assert.ok(hits.length > 0, `expected ${trick.rule}, got ${ruleIds(outcome.findings).join(', ')}`);
      if (trick.message) assert.ok(hits.some((f) => trick.message?.test(f.message)), hits.map((f) => f.message).join('\n'));
      assert.ok(hasHigh(outcome.findings, trick.rule), `${trick.rule} should be high`);
      assert.ok(outcome.payloadAt.some((m) => trick.payload.test(m)), `payload not delivered: ${JSON.stringify(outcome.payloadAt)}`);
      assert.ok(caught(outcome) && analysed(outcome));
    });
  }

  it('reserved flag bits: medium, and the content is still scanned', async () => {
    const outcome = await scanFixture('zip/reserved-flag.zip');
    const hits = withRule(outcome.findings, 'models/zip-flag-bits');
    assert.equal(hits.length, 1);
    assert.equal(hits[0]?.severity, 'medium');
    assert.deepEqual(outcome.payloadAt, ['archive/data.pkl']);
    assert.ok(analysed(outcome), 'the payload itself is critical');
  });

  it('unknown compression methods are unscannable (high); LZMA entries are decoded', async () => {
    const { findings } = await scanFixture('zip/unknown-method.zip');
    assert.ok(hasHigh(findings, 'models/zip-unsupported-compression'));
    const lzma = await scanFixture('zip/lzma-method.zip');
    assert.deepEqual(containerFindings(lzma.findings), []);
    assert.deepEqual(lzma.payloadAt, ['data.pkl']);
    const deflated = await scanFixture('zip/zipfile-deflated-payload.zip');
    assert.deepEqual(withRule(deflated.findings, 'models/zip-unsupported-compression'), []);
  });

  it('zip slip: absolute, drive and .. names are medium findings; look-alikes are not', async () => {
    const { findings } = await scanFixture('zip/zip-slip.zip');
    const hits = withRule(findings, 'models/zip-path-traversal');
    assert.deepEqual(hits.map((f) => f.location.member).sort(), ['../../evil.pkl', '/etc/cron.d/x', 'C:\\x\\y.pkl']);
    assert.ok(hits.every((f) => f.severity === 'medium'));
    const lookalike = await scanFixture('zip/zip-slip-lookalike.zip');
    assert.deepEqual(containerFindings(lookalike.findings), []);
  });

  it('entry count limit: reports and scans only the first entries', async () => {
    const config = defaultConfig();
    config.limits.maxEntries = 10;
    const { findings, members } = await scanFixture('zip/many-entries.zip', config);
    const hits = withRule(findings, 'models/archive-limit-exceeded');
    assert.equal(hits.length, 1);
    assert.match(hits[0]?.message ?? '', /40 entries; only the first 10/);
    assert.equal(members.filter((m) => m !== '').length, 10);
    const atLimit = defaultConfig();
    atLimit.limits.maxEntries = 40;
    assert.deepEqual(containerFindings((await scanFixture('zip/many-entries.zip', atLimit)).findings), []);
  });

  it('entry count limit also bounds the walk over local headers, and says so', async () => {
    // Six stored entries back to back; the central directory lists only the first.
    const locals: Buffer[] = [];
    const central: Buffer[] = [];
    let offset = 0;
    for (let i = 0; i < 6; i += 1) {
      const name = Buffer.from(`m${i}.txt`);
      const data = Buffer.from(`member ${i}`);
      const local = Buffer.alloc(30);
      local.writeUInt32LE(0x04034b50, 0);
      local.writeUInt16LE(20, 4);
      local.writeUInt32LE(crc32(data), 14);
      local.writeUInt32LE(data.length, 18);
      local.writeUInt32LE(data.length, 22);
      local.writeUInt16LE(name.length, 26);
      if (i === 0) {
        const cd = Buffer.alloc(46);
        cd.writeUInt32LE(0x02014b50, 0);
        cd.writeUInt16LE(20, 4);
        cd.writeUInt16LE(20, 6);
        cd.writeUInt32LE(crc32(data), 16);
        cd.writeUInt32LE(data.length, 20);
        cd.writeUInt32LE(data.length, 24);
        cd.writeUInt16LE(name.length, 28);
        cd.writeUInt32LE(offset, 42);
        central.push(cd, name);
      }
      locals.push(local, name, data);
      offset += local.length + name.length + data.length;
    }
    const directory = Buffer.concat(central);
    const end = Buffer.alloc(22);
    end.writeUInt32LE(0x06054b50, 0);
    end.writeUInt16LE(1, 8);
    end.writeUInt16LE(1, 10);
    end.writeUInt32LE(directory.length, 12);
    end.writeUInt32LE(offset, 16);
    const zip = Buffer.concat([...locals, directory, end]);
    const limited = await readZip(new BufferSource(zip), zip, { maxEntries: 3, deadline: DEADLINE() });
    assert.ok(limited?.problems.some((p) => p.kind === 'entries'), JSON.stringify(limited?.problems));
    const whole = await readZip(new BufferSource(zip), zip, { maxEntries: 10, deadline: DEADLINE() });
    assert.equal(whole?.orphans.length, 5);
    assert.ok(!whole?.problems.some((p) => p.kind === 'entries'));
  });

  it('member size limit: a member decompressing past maxMemberBytes is reported high and its start scanned', async () => {
    const config = defaultConfig();
    config.limits.maxMemberBytes = 1024 * 1024;
    const { findings, members } = await scanFixture('zip/bomb.zip', config);
    assert.ok(hasHigh(findings, 'models/archive-limit-exceeded'));
    assert.ok(members.includes('zeros.bin'));
  });

  it('compression ratio: a deflate bomb is reported (medium)', async () => {
    const { findings } = await scanFixture('zip/bomb.zip');
    const hits = withRule(findings, 'models/archive-limit-exceeded');
    assert.equal(hits.length, 1);
    assert.equal(hits[0]?.severity, 'medium');
    assert.match(hits[0]?.message ?? '', /compression bomb/);
  });
});

describe('zip: end-record look-alikes in other files', () => {
  it('an empty end record in the tail of a non-zip file is not an archive', async () => {
    const eocd = Buffer.alloc(22);
    eocd.writeUInt32LE(0x06054b50, 0);
    eocd.writeUInt16LE(7, 8); // claims 7 entries in a 0-byte directory
    eocd.writeUInt16LE(7, 10);
    const data = Buffer.concat([Buffer.alloc(100_000, 0x41), eocd]);
    const { findings } = await scanBuffer('tensor.bin', data);
    assert.deepEqual(containerFindings(findings), []);
  });

  it('the same end record at the start of a file that claims to be a zip is malformed', async () => {
    const eocd = Buffer.alloc(22);
    eocd.writeUInt32LE(0x06054b50, 0);
    eocd.writeUInt16LE(7, 8);
    eocd.writeUInt16LE(7, 10);
    const { findings } = await scanBuffer('x.zip', eocd);
    assert.match(withRule(findings, 'models/zip-malformed')[0]?.message ?? '', /announces 7 entries/);
  });
});

describe('zip time budget', () => {
  const expired = (): ReturnType<typeof defaultConfig> => {
    const config = defaultConfig();
    config.limits.fileTimeoutMs = -1; // the deadline has passed before the scan starts
    return config;
  };

  it('local entries found without a central directory are reported, not dropped, when time runs out', async () => {
    // The orphan loop used to stop at the deadline without a word (and the reader's own deadline stops too).
    const { findings, payloadAt } = await scanFixture('zip/truncated-no-end.zip', expired());
    assert.deepEqual(payloadAt, []);
    const timeouts = withRule(findings, 'models/archive-limit-exceeded');
    assert.equal(timeouts.length, 1);
    assert.match(timeouts[0]?.message ?? '', /time budget ran out; 2 members were not scanned/);
  });

  it('with time left, the same archive has no timeout finding', async () => {
    const { findings, payloadAt } = await scanFixture('zip/truncated-no-end.zip');
    assert.deepEqual(withRule(findings, 'models/archive-limit-exceeded'), []);
    assert.equal(payloadAt.length, 1);
  });
});
