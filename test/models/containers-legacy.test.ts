import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { BufferSource } from '../../src/core/byte-source.js';
import { defaultConfig } from '../../src/core/config.js';
import type { Finding } from '../../src/core/finding.js';
import type { ScanContext, ScanTarget } from '../../src/core/scanner.js';
import { buildFinding } from '../../src/scanners/file-scan.js';
import { pickleExtent } from '../../src/scanners/models/containers/pickle-extent.js';
import { isLegacyStacked, isLegacyTar, scanLegacyTar } from '../../src/scanners/models/containers/torch-legacy-scan.js';
import { FIXTURES, analysed, caught, containerFindings, hasHigh, scanBuffer, scanFixture, withRule } from './containers-support.js';

const legacy = (name: string): Buffer => readFileSync(`${FIXTURES}/legacy/${name}`);

describe('pickle extent (structure only)', () => {
  it('finds the end of protocol 0 and 2 pickles and reads a lone int', () => {
    const p2 = Buffer.from('\x80\x02K\x07.rest', 'latin1');
    assert.deepEqual(pickleExtent(p2, 0, true), { kind: 'end', end: 5, opcodes: 3, strings: 0, int: 7 });
    const p0 = Buffer.from("(lp0\nS'a'\np1\na.", 'latin1');
    assert.equal(pickleExtent(p0, 0, true).kind, 'end');
    const keys = Buffer.from('\x80\x02]q\x00(X\x01\x00\x00\x000q\x01X\x01\x00\x00\x001q\x02e.', 'latin1');
    const extent = pickleExtent(keys, 0, true);
    assert.equal(extent.kind === 'end' && extent.strings, 2);
  });

  it('asks for more data, or says invalid, when the pickle runs off the buffer', () => {
    const cut = Buffer.from('\x80\x02X\x10\x00\x00\x00abc', 'latin1');
    assert.deepEqual(pickleExtent(cut, 0, false), { kind: 'more' });
    assert.equal(pickleExtent(cut, 0, true).kind, 'invalid');
    assert.equal(pickleExtent(Buffer.from([0xff, 0x2e]), 0, true).kind, 'invalid');
  });

  it('recognises the legacy magic-number pickle at the start only', () => {
    assert.ok(isLegacyStacked(legacy('legacy-clean.pt')));
    assert.ok(isLegacyStacked(Buffer.from('L119547037146038801333356L\n.', 'latin1')));
    assert.ok(!isLegacyStacked(Buffer.from('\x80\x02K\x01.', 'latin1')));
  });
});

describe('legacy stacked PyTorch files', () => {
  it('clean files: nothing reported, every pickle after the first scanned', async () => {
    for (const file of ['legacy-clean.pt', 'legacy-two-storages.pt']) {
      const { findings, members } = await scanFixture(`legacy/${file}`);
      assert.deepEqual(findings, [], file);
      for (const n of [2, 3, 4, 5]) assert.ok(members.some((m) => m.startsWith(`pickle ${n} `)), `${file}: pickle ${n} scanned`);
    }
  });

  it('a payload in any pickle of the sequence reaches the pickle analyser', async () => {
    const main = await scanFixture('legacy/legacy-payload-main.pt');
    assert.deepEqual(main.payloadAt, ['pickle 4 (object)@137']);
    assert.ok(analysed(main));
    const sysinfo = await scanFixture('legacy/legacy-payload-sysinfo.pt');
    assert.deepEqual(sysinfo.payloadAt, ['pickle 3 (sys_info)@21']);
    assert.ok(analysed(sysinfo));
  });

  it('a pickle after the storages: torch-legacy-extra-pickle (high), analysed', async () => {
    const outcome = await scanFixture('legacy/legacy-payload-after.pt');
    assert.ok(hasHigh(outcome.findings, 'models/torch-legacy-extra-pickle'));
    assert.equal(outcome.payloadAt.length, 1);
    assert.ok(caught(outcome) && analysed(outcome));
  });

  it('non-pickle bytes after the storages: medium torch-legacy-malformed, not extra-pickle', async () => {
    const data = Buffer.concat([legacy('legacy-clean.pt'), Buffer.from('garbage!')]);
    const { findings } = await scanBuffer('x.pt', data);
    assert.deepEqual(withRule(findings, 'models/torch-legacy-extra-pickle'), []);
    assert.equal(withRule(findings, 'models/torch-legacy-malformed')[0]?.severity, 'medium');
  });

  it('a file cut inside the object pickle: torch-legacy-malformed', async () => {
    const data = legacy('legacy-clean.pt');
    const { findings } = await scanBuffer('x.pt', data.subarray(0, 150));
    assert.match(withRule(findings, 'models/torch-legacy-malformed')[0]?.message ?? '', /pickle #4/);
  });
});

describe('legacy tar PyTorch files', () => {
  it('clean tar: nothing reported; members scanned whole, pickles after raw storage bytes handed over', async () => {
    const { findings, members } = await scanFixture('legacy/legacy-tar-clean.tar');
    assert.deepEqual(containerFindings(findings), []);
    assert.deepEqual(findings, []);
    for (const m of ['sys_info', 'pickle', 'tensors', 'storages']) assert.ok(members.includes(m), m);
    // count and first arguments lead the member (the pickle format reads them); the views pickle follows raw bytes.
    assert.deepEqual(members.filter((m) => m.startsWith('storages: ')).map((m) => m.replace(/@\d+$/, '')), ['storages: pickle 3 (storage views)']);
    assert.deepEqual(members.filter((m) => m.startsWith('tensors: ')), []);
  });

  it('a payload as the first storage-arguments pickle is analysed once, in the storages member', async () => {
    const outcome = await scanFixture('legacy/legacy-tar-payload.tar');
    const critical = outcome.findings.filter((f) => f.severity === 'critical');
    assert.ok(critical.length > 0);
    assert.ok(critical.every((f) => f.location.member === 'storages'), JSON.stringify(critical.map((f) => f.location)));
  });

  it('a payload as a later storage-arguments pickle, after raw bytes, is walked to and analysed', async () => {
    const outcome = await scanFixture('legacy/legacy-tar-payload-second.tar');
    assert.deepEqual(outcome.payloadAt.map((m) => m.replace(/@\d+$/, '')), ['storages: pickle 3 (storage arguments)']);
    assert.ok(analysed(outcome));
  });

  it('a payload in the pickle member is found', async () => {
    const outcome = await scanFixture('legacy/legacy-tar-payload-pickle.tar');
    assert.deepEqual(outcome.payloadAt, ['pickle']);
    assert.ok(analysed(outcome));
  });

  it('a damaged tar is reported, not passed', async () => {
    const data = Buffer.from(legacy('legacy-tar-clean.tar'));
    data[100] = (data[100] ?? 0) ^ 0xff; // the first header's mode field: its checksum no longer matches
    const { findings } = await scanBuffer('x.tar', data);
    assert.ok(withRule(findings, 'models/torch-legacy-malformed').length + withRule(findings, 'core/scan-error').length > 0);
  });
});

describe('legacy tar time budget', () => {
  /** A ustar member (header, data padded to 512 bytes). */
  function member(name: string, data: Buffer): Buffer {
    const header = Buffer.alloc(512);
    header.write(name, 0, 'latin1');
    header.write('0000644\0', 100, 'latin1');
    header.write(`${data.length.toString(8).padStart(11, '0')}\0`, 124, 'latin1');
    header.write('0', 156, 'latin1');
    header.write('ustar\x0000', 257, 'latin1');
    header.fill(0x20, 148, 156);
    let sum = 0;
    for (const byte of header) sum += byte;
    header.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 'latin1');
    return Buffer.concat([header, data, Buffer.alloc((512 - (data.length % 512)) % 512)]);
  }

  it('a tensors member whose walk runs out of time is reported as archive-limit-exceeded, not passed', async () => {
    const sysInfo = Buffer.from('\x80\x02}q\x00.', 'latin1');
    const tensors = Buffer.from('\x80\x02K\x03.', 'latin1'); // three tensors follow (never reached)
    const tar = Buffer.concat([member('sys_info', sysInfo), member('tensors', tensors), Buffer.alloc(1024)]);
    const config = defaultConfig();
    const findings: Finding[] = [];
    let reads = 0;
    const context: ScanContext = {
      config,
      limits: config.limits,
      // The tar reader takes the deadline once, with time left; every later look finds it passed.
      get deadline() {
        reads += 1;
        return reads === 1 ? Date.now() + 60_000 : 0;
      },
      isEnabled: () => true,
      reporter: (rule, target) => (input) => {
        findings.push(buildFinding(rule, target, input, config));
      },
      scanMember: () => Promise.resolve(),
    };
    const target: ScanTarget = { path: 'old.pt', source: new BufferSource(tar), head: tar.subarray(0, 65536), depth: 0 };
    assert.ok(isLegacyTar(target.head));
    await scanLegacyTar(target, context);
    const timeouts = withRule(findings, 'models/archive-limit-exceeded');
    assert.equal(timeouts.length, 1);
    assert.match(timeouts[0]?.message ?? '', /legacy PyTorch tar: the time budget ran out; 3 members/);
  });
});
