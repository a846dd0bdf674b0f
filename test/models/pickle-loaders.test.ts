// Pickles that CPython's unpicklers read differently (frames honoured or ignored, FRAME past the data, a second
// load from the same file). Fixtures from scripts/fixtures/gen_pickle_loaders.py, each verified there under
// CPython's readers with a harmless stub before the stub's name is swapped for posix.system.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { BufferSource } from '../../src/core/byte-source.js';
import { defaultConfig } from '../../src/core/config.js';
import type { Finding } from '../../src/core/finding.js';
import type { ScanContext } from '../../src/core/scanner.js';
import { buildFinding, scanSource } from '../../src/scanners/file-scan.js';
import { modelsScanner } from '../../src/scanners/models/index.js';
import { analyseStream, DEFAULT_ANALYSER_LIMITS, type StreamOptions } from '../../src/scanners/models/pickle/analyser.js';
import { compileAllow } from '../../src/scanners/models/pickle/classify.js';
import { PickleCollector } from '../../src/scanners/models/pickle/collector.js';
import { exploreLoaderViews, MAX_VIEWS } from '../../src/scanners/models/pickle/explore.js';
import { pickleRules, scanPickleBuffer } from '../../src/scanners/models/pickle/index.js';
import { walkLoaderView } from '../../src/scanners/models/pickle/loader-views.js';

const FIXTURES = 'test/.tmp/fixtures/pickle_loaders';
const manifest = JSON.parse(readFileSync(join(FIXTURES, 'manifest.json'), 'utf8')) as Record<string, { label: string; technique: string; runs?: string[] }>;

const b = (text: string): Buffer => Buffer.from(text, 'latin1');
function u64(n: number): string {
  const buf = Buffer.alloc(8);
  buf.writeBigUInt64LE(BigInt(n));
  return buf.toString('latin1');
}
const frame = (n: number): string => `\x95${u64(n)}`;
const sbu = (s: string): string => `\x8c${String.fromCharCode(s.length)}${s}`;
const PAYLOAD = `${sbu('posix')}${sbu('system')}\x93${sbu('id')}\x85R0`;

async function scan(data: Buffer, name = 'model.pkl'): Promise<Finding[]> {
  return scanSource(name, new BufferSource(data), { scanners: [modelsScanner], config: defaultConfig(), knownRuleIds: new Set(pickleRules.map((r) => r.id)) });
}
const show = (findings: readonly Finding[]): string => findings.map((f) => `${f.severity} ${f.ruleId}: ${f.message}`).join('\n');

function options(extra: Partial<StreamOptions> = {}): StreamOptions {
  return { deadline: Date.now() + 60_000, limits: DEFAULT_ANALYSER_LIMITS, joblib: true, depth: 0, lenient: false, quiet: false, ...extra };
}

/** The sequential reading, then every frame-honouring reading, into one collector (as scanPickleBuffer does). */
function analyseAll(data: Buffer): PickleCollector {
  const collector = new PickleCollector(compileAllow([]));
  const main = analyseStream(data, 0, collector, options());
  exploreLoaderViews(data, 0, main, collector, options());
  return collector;
}

/** A frame ending one byte into a BINUNICODE length: sequentially the string covers PAYLOAD; honoured, PAYLOAD runs. */
function lengthStraddle(filler = 'N0'.repeat(4)): Buffer {
  const cover = `\x00${PAYLOAD}NNNN`;
  const body = `${filler}X${String.fromCharCode(cover.length)}`;
  return b(`\x80\x04(${frame(body.length)}${body}\x00\x00\x00${cover}1N.`);
}

describe('loader readings: CPython-verified fixtures', () => {
  const entries = Object.entries(manifest);
  it('has malicious samples for every divergence and benign framed pickles', () => {
    const techniques = entries.filter(([, m]) => m.label === 'malicious').map(([, m]) => m.technique);
    for (const t of ['length straddles a 128 KiB frame', 'GLOBAL module line', 'nested FRAME', 'second load', 'FRAME longer than the data']) {
      assert.ok(techniques.some((x) => x.includes(t)), t);
    }
    assert.ok(entries.filter(([, m]) => m.label === 'benign').length >= 5);
  });
  for (const [file, meta] of entries) {
    it(`${meta.label}: ${file}`, async () => {
      const findings = await scan(readFileSync(join(FIXTURES, file)), file);
      if (meta.label === 'benign') {
        assert.deepEqual(findings.map((f) => `${f.severity} ${f.ruleId}`), [], show(findings));
        return;
      }
      // What the loader that honours the frame (or joblib's) runs is found, and the divergence is reported.
      assert.ok(findings.some((f) => f.ruleId === 'models/pickle-dangerous-global' && f.severity === 'critical' && /posix\.system/.test(f.message)), show(findings));
      assert.ok(findings.some((f) => f.ruleId === 'models/pickle-loader-divergence' && f.severity === 'high'), show(findings));
    });
  }
});

describe('walkLoaderView: the C unpickler reading a file', () => {
  it('reads sequentially when no frame is honoured, and lists the frames whose honouring would change that', () => {
    const data = lengthStraddle();
    const seq = walkLoaderView(data, 0, new Set(), 1e6, Date.now() + 60_000);
    assert.equal(seq.complete, true);
    assert.deepEqual(seq.drops, []);
    assert.deepEqual(seq.straddles.map((s) => [s.frame, s.read, s.left]), [[3, 'fixed', 1]]);
    // FRAME opcodes are left out of the linear stream; everything else is there in order.
    assert.equal(seq.bytes.length, data.length - 9);
    assert.equal(seq.toData(3), 12);
  });

  it('drops the rest of an honoured frame at a fixed-size read that crosses its end, and reads on at the end', () => {
    const data = lengthStraddle();
    const view = walkLoaderView(data, 0, new Set([3]), 1e6, Date.now() + 60_000);
    assert.equal(view.complete, true);
    assert.deepEqual(view.drops.map((d) => [d.frame, d.at, d.left, d.read]), [[3, 21, 1, 'fixed']]);
    assert.ok(view.bytes.includes(b(PAYLOAD)));
    // The length the honoured reading takes is the 4 bytes at the frame's end.
    const x = view.bytes.indexOf(b('X'));
    assert.equal(view.bytes.readUInt32LE(x + 1), 0);
    assert.equal(view.toData(x + 1), 22);
  });

  it('drops the rest of an honoured frame at a line with no newline left in it', () => {
    const data = b(`\x80\x04${frame(4)}(czz${'posix'}\nsystem\nVid\n\x85R01N.`);
    const view = walkLoaderView(data, 0, new Set([2]), 1e6, Date.now() + 60_000);
    assert.deepEqual(view.drops.map((d) => [d.left, d.read]), [[2, 'line']]);
    assert.ok(view.bytes.includes(b('cposix\nsystem\n')));
    assert.ok(!view.bytes.includes(b('zz')));
    const seq = walkLoaderView(data, 0, new Set(), 1e6, Date.now() + 60_000);
    assert.ok(seq.bytes.includes(b('czzposix\nsystem\n')));
  });

  it('reads a bytes payload across the frame end sequentially (ReadInto): no divergence', () => {
    const data = b(`\x80\x04${frame(4)}C\x05ab${'cde'}0N.`);
    for (const honoured of [new Set<number>(), new Set([2])]) {
      const view = walkLoaderView(data, 0, honoured, 1e6, Date.now() + 60_000);
      assert.equal(view.complete, true);
      assert.deepEqual(view.drops, []);
      assert.deepEqual(view.straddles, []);
    }
  });

  it('a nested FRAME that fits in what is left of the honoured buffer changes nothing; one that does not, drops', () => {
    const fits = b(`\x80\x04${frame(13)}${frame(2)}NN0N.`);
    assert.deepEqual(walkLoaderView(fits, 0, new Set([2]), 1e6, Date.now() + 60_000).drops, []);
    const over = b(`\x80\x04(${frame(11)}${frame(6)}C\x04${PAYLOAD}NNN1N.`);
    const view = walkLoaderView(over, 0, new Set([3]), 1e6, Date.now() + 60_000);
    assert.deepEqual(view.drops.map((d) => [d.left, d.read]), [[2, 'frame']]);
  });

  it('stops where a C unpickler fails: a FRAME past the data, an unknown opcode, data that ends', () => {
    assert.equal(walkLoaderView(b(`\x80\x04${frame(100)}N.`), 0, new Set(), 1e6, Date.now() + 60_000).complete, false);
    assert.equal(walkLoaderView(b('\x80\x04N\xff.'), 0, new Set(), 1e6, Date.now() + 60_000).complete, false);
    assert.equal(walkLoaderView(b('\x80\x04X\x10\x00\x00\x00ab'), 0, new Set(), 1e6, Date.now() + 60_000).complete, false);
  });
});

describe('exploreLoaderViews', () => {
  it('finds what only a frame-honouring reading imports, maps its offsets back to the file, and says where they part', () => {
    const data = lengthStraddle();
    const collector = analyseAll(data);
    const rec = collector.imports.find((r) => r.module === 'posix' && r.name === 'system');
    assert.ok(rec);
    assert.equal(rec.offset, data.indexOf(b('\x93')));
    assert.equal(rec.calls[0]?.offset, data.indexOf(b('\x85R0')) + 1);
    assert.deepEqual(collector.divergences.map((d) => [d.kind, d.frame, d.offset, d.left, d.reached]), [['drop', 3, 21, 1, ['posix.system']]]);
    // The honoured reading's stream health (its leftovers, breaks) is not reported twice.
    assert.deepEqual(collector.errors, []);
  });

  it('reads nothing extra for honest frames, and the sequential reading alone sees no payload', () => {
    const honest = b(`\x80\x04${frame(4)}NN0N${frame(1)}.`);
    const collector = analyseAll(honest);
    assert.deepEqual(collector.divergences, []);
    const seqOnly = new PickleCollector(compileAllow([]));
    analyseStream(lengthStraddle(), 0, seqOnly, options());
    assert.ok(!seqOnly.imports.some((r) => r.module === 'posix'));
  });

  it('combines frames: a payload only a reading that honours two frames reaches is found', () => {
    // Frame A straddled: honoured, its reading lands on frame B, straddled in turn; only {A, B} reaches the payload.
    const coverB = `\x00${PAYLOAD}NNNN`;
    const bBody = `X${String.fromCharCode(coverB.length)}`;
    const afterA = `\x00\x00\x00\x00${frame(bBody.length)}${bBody}\x00\x00\x00${coverB}`;
    const coverA = afterA.slice(3);
    const aBody = `X${String.fromCharCode(coverA.length)}`;
    const data = b(`\x80\x04((${frame(aBody.length)}${aBody}${afterA}11N.`);
    const collector = analyseAll(data);
    assert.ok(collector.imports.some((r) => r.module === 'posix' && r.name === 'system'));
    assert.ok(collector.divergences.some((d) => d.reached.includes('posix.system')));
  });

  it('explores a bounded number of readings and says when it stopped', () => {
    // Twenty frames that each straddle: the combinations exceed the bound.
    let body = '';
    for (let i = 0; i < 20; i++) body += `${frame(2)}X\x01\x00\x00\x00a0`;
    const collector = analyseAll(b(`\x80\x04${body}N.`));
    assert.ok(collector.divergences.length >= 1 && collector.divergences.length <= MAX_VIEWS);
    assert.ok(collector.limits.some((l) => l.kind === 'views'));
  });
});

describe('the next load from the same file', () => {
  it('reads the pickle at the end of a frame left open at STOP, also when only the first pickle is read (legacy torch)', async () => {
    const magic = '\x8a\x0al\xfc\x9cF\xf9 j\xa8P\x19';
    const body = `${magic}.\x80\x02N.`;
    const data = b(`\x80\x04${frame(body.length)}${body}\x80\x02cposix\nsystem\n(Vid\ntR.`);
    const config = defaultConfig();
    const findings: Finding[] = [];
    const context: ScanContext = {
      config, limits: config.limits, deadline: Date.now() + 60_000, isEnabled: () => true,
      reporter: (rule, target) => (input) => void findings.push(buildFinding(rule, target, input, config)),
      scanMember: () => Promise.resolve(),
    };
    const target = { path: 'model.pt', source: new BufferSource(data), head: data, depth: 0 };
    await scanPickleBuffer(data, target, context, { firstOnly: true });
    assert.ok(findings.some((f) => f.ruleId === 'models/pickle-dangerous-global' && /posix\.system/.test(f.message)), show(findings));
    assert.ok(findings.some((f) => f.ruleId === 'models/pickle-loader-divergence' && f.message.includes('next load')), show(findings));
  });
});

describe('line arguments as each unpickler reads them', () => {
  it('imports an unterminated GLOBAL line at the end of the data minus its last byte, as pickle._Unpickler does (dangerous names only)', () => {
    const collector = new PickleCollector(compileAllow([]));
    analyseStream(b('\x80\x02cposix\nsystemX'), 0, collector, options());
    assert.deepEqual(collector.imports.map((r) => `${r.module}.${r.name}`), ['posix.system']);
    assert.equal(collector.errors[0]?.kind, 'truncated');
    const unknown = new PickleCollector(compileAllow([]));
    analyseStream(b('\x80\x02cmylib\nthingX'), 0, unknown, options());
    assert.deepEqual(unknown.imports, []);
  });

  it('fails an empty module line before any import (C: truncated; Python: empty module name)', () => {
    const collector = new PickleCollector(compileAllow([]));
    analyseStream(b('\x80\x02c\nsystem\n.'), 0, collector, options());
    assert.deepEqual(collector.imports, []);
    assert.equal(collector.errors[0]?.kind, 'badArgument');
  });
});

describe('pickle detection by content: streams that break or start with long arguments', () => {
  it('recognises a protocol-0 pickle that imports builtins.exec and breaks right after (the import already ran)', async () => {
    const findings = await scan(b("cbuiltins\nexec\n(X>\nf = open('x', 'a')tRX."));
    assert.ok(findings.some((f) => f.ruleId === 'models/pickle-dangerous-global' && f.severity === 'critical'), show(findings));
    assert.ok(findings.some((f) => f.ruleId === 'models/pickle-malformed'), show(findings));
  });

  it('recognises a PROTO stream whose first import is dangerous and whose next byte is junk', async () => {
    const findings = await scan(b('\x80\x02cposix\nsystem\n\xff\xfe junk'));
    assert.ok(findings.some((f) => f.ruleId === 'models/pickle-dangerous-global'), show(findings));
  });

  it('recognises a stream whose first argument is longer than the head that is sniffed', async () => {
    const line = b(`\x80\x05NV${'a'.repeat(131_000)}\n0(${PAYLOAD}1N.`);
    const findings = await scan(line);
    assert.ok(findings.some((f) => f.ruleId === 'models/pickle-dangerous-global'), show(findings));
    const bigString = Buffer.concat([b('\x80\x03X'), Buffer.from([0xa0, 0x86, 0x01, 0x00]), Buffer.alloc(100_000, 0x61), b(`0(${PAYLOAD}1N.`)]);
    const found = await scan(bigString);
    assert.ok(found.some((f) => f.ruleId === 'models/pickle-dangerous-global'), show(found));
  });

  it('does not take text for a pickle (boundaries)', async () => {
    for (const text of ['click\nflask\nrequests\n', 'cat\ndog\n', `V${'a'.repeat(70_000)}\nmore text`, 'cmylib\nthing\nnot a pickle', 'N/A\n']) {
      assert.deepEqual(await scan(b(text), 'requirements.txt'), [], JSON.stringify(text.slice(0, 20)));
    }
  });
});
