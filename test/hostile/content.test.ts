/**
 * Hostile content (issue 8): compressed streams that hide a payload past the decoder's limit or
 * expand to gigabytes, names and data that try to act on the terminal, and secrets that a message
 * would quote. Every case runs the built CLI bounded (test/support/hostile.ts); inputs are generated
 * here or by scripts/fixtures/gen_content.py.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { copyFileSync, mkdirSync, readdirSync, readFileSync, readlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { constants, crc32, deflateRawSync } from 'node:zlib';
import { detectSecrets, SECRET_RULES } from '../../src/scanners/secrets/index.js';
import { assertBounded, assertFindingOrCodedError, assertNoCommandRan, assertUnchanged, canaryCommand, CUSTODY_BIN, makeSandbox, removeSandbox, runCustody, snapshot, type Sandbox, tarEntry } from '../support/hostile.js';

const CONTENT = 'test/.tmp/fixtures/content';
const MIB = 1024 * 1024;

/** A private temporary directory for the child (TMPDIR), to see what it leaves behind. */
function childTmp(box: Sandbox, name: string): string {
  const dir = join(box.out, name);
  mkdirSync(dir, { recursive: true });
  return dir;
}

/** Whether any open descriptor of process `pid` (threads share the table) names a file under `dir`. */
function descriptorsInto(pid: number, dir: string): boolean {
  try {
    for (const fd of readdirSync(`/proc/${pid}/fd`)) {
      try {
        if (readlinkSync(`/proc/${pid}/fd/${fd}`).startsWith(`${dir}/`)) return true;
      } catch {
        // closed between the listing and the read
      }
    }
  } catch {
    // the process is gone
  }
  return false;
}

/** A pickle that would run `command` through os.system (GLOBAL, one-tuple, REDUCE). */
function systemPickle(command: string): Buffer {
  return Buffer.from(`cos\nsystem\n(S'${command}'\ntR.`, 'latin1');
}

/** gzip of the parts, each repeated `times` times; each distinct part is deflated once (full flush) and its blocks repeated. */
function gzipOf(parts: readonly (readonly [Buffer, number])[]): Buffer {
  let crc = 0;
  let total = 0;
  const body: Buffer[] = [];
  for (const [chunk, times] of parts) {
    const deflated = deflateRawSync(chunk, { level: 9, finishFlush: constants.Z_FULL_FLUSH });
    for (let i = 0; i < times; i++) {
      crc = crc32(chunk, crc);
      body.push(deflated);
    }
    total += chunk.length * times;
  }
  const trailer = Buffer.alloc(8);
  trailer.writeUInt32LE(crc >>> 0, 0);
  trailer.writeUInt32LE(total % 2 ** 32, 4);
  return Buffer.concat([Buffer.from([0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3]), ...body, Buffer.from([0x03, 0x00]), trailer]);
}

function gzipOfRepeats(chunk: Buffer, times: number): Buffer {
  return gzipOf([[chunk, times]]);
}

/** zstd frame of `bytes` zero bytes as RLE blocks (128 KiB each; window 1 MiB). */
function zstdOfZeros(bytes: number): Buffer {
  const parts: Buffer[] = [Buffer.from([0x28, 0xb5, 0x2f, 0xfd, 0x00, 10 << 3])];
  const block = 128 * 1024;
  for (let at = 0; at < bytes; at += block) {
    const size = Math.min(block, bytes - at);
    const last = at + size >= bytes ? 1 : 0;
    const header = (size << 3) | (1 << 1) | last;
    parts.push(Buffer.from([header & 0xff, (header >> 8) & 0xff, (header >> 16) & 0xff, 0]));
  }
  return Buffer.concat(parts);
}

/** LZ4 frame of `blocks` 4 MiB blocks of zeros: one literal, a match at offset 1, five literals each. */
function lz4OfZeros(blocks: number): Buffer {
  const size = 4 * MIB;
  const match = size - 1 - 5 - 4 - 15;
  const extra = Buffer.concat([Buffer.alloc(Math.floor(match / 255), 0xff), Buffer.from([match % 255])]);
  const body = Buffer.concat([Buffer.from([0x1f, 0]), Buffer.from([1, 0]), extra, Buffer.from([0x50, 0, 0, 0, 0, 0])]);
  const length = Buffer.alloc(4);
  length.writeUInt32LE(body.length);
  // FLG 0x60 (version 1, independent blocks), BD 0x70 (4 MiB blocks), header checksum byte.
  return Buffer.concat([Buffer.from([0x04, 0x22, 0x4d, 0x18, 0x60, 0x70, 0x73]), ...Array<Buffer>(blocks).fill(Buffer.concat([length, body])), Buffer.alloc(4)]);
}

/** A docker-save tarball with one (already compressed) layer. */
function imageWithLayer(layer: Buffer): Buffer {
  const manifest = Buffer.from(JSON.stringify([{ Config: 'config.json', RepoTags: ['x:1'], Layers: ['layer.tar.gz'] }]));
  const config = Buffer.from('{"config":{}}');
  return Buffer.concat([tarEntry('manifest.json', manifest), tarEntry('config.json', config), tarEntry('layer.tar.gz', layer), Buffer.alloc(1024)]);
}

/** A gzip layer holding one text file of `mib` MiB: slow to scan once spooled, so a kill lands mid-scan. */
function textLayer(mib: number): Buffer {
  const line = Buffer.from('weights: 0.125 0.25 0.5 1.0 2.0 4.0 8.0 16.0 .............................................\n');
  const chunk = Buffer.alloc(MIB);
  for (let at = 0; at < MIB; at += line.length) line.copy(chunk, at);
  const header = tarEntry('app/weights.txt', Buffer.alloc(0)).subarray(0, 512);
  header.write(`${(mib * MIB).toString(8).padStart(11, '0')}\0`, 124);
  header.write('        ', 148);
  let sum = 0;
  for (const byte of header) sum += byte;
  header.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148);
  return gzipOf([[header, 1], [chunk, mib], [Buffer.alloc(1024), 1]]);
}

describe('hostile content: a payload just past the decoder limit is never a silent pass', () => {
  const box = makeSandbox('content-limit');
  after(() => removeSandbox(box));
  const wrappers = ['gz', 'zlib', 'bz2', 'xz', 'lzma', 'zst', 'lz4'];

  it('every compressed wrapper reports the cut (archive-limit-exceeded) for its own file', () => {
    for (const ext of wrappers) copyFileSync(join(CONTENT, 'past-limit', `model.pkl.${ext}`), join(box.tree, `model.pkl.${ext}`));
    const limit = readFileSync(join(CONTENT, 'limit.txt'), 'utf8').trim();
    writeFileSync(join(box.out, 'limits.yml'), `limits:\n  maxMemberBytes: ${limit}\n`);
    const result = runCustody(box, ['scan', '.', '--config', join(box.out, 'limits.yml'), '--format', 'json'], { maxRssMb: 512 });
    assertFindingOrCodedError(result, { rule: 'models/archive-limit-exceeded' });
    const findings = (JSON.parse(result.stdout) as { findings: { ruleId: string; severity: string; location: { path: string } }[] }).findings;
    for (const ext of wrappers) {
      assert.ok(
        findings.some((f) => f.ruleId === 'models/archive-limit-exceeded' && f.severity === 'high' && f.location.path.endsWith(`model.pkl.${ext}`)),
        `.${ext}: the cut is not reported`,
      );
    }
    assertNoCommandRan(box);
  });
});

describe('hostile content: streams that expand far beyond memory are spooled to disk', () => {
  const box = makeSandbox('content-spool');
  after(() => removeSandbox(box));
  // 320 MiB of zeros each, cut at a 256 MiB limit. Held in memory (as before the spool), the output
  // alone peaks at twice the limit; spooled, the whole CLI stays far below the 300 MiB bound set here.
  // (The report in docs/security.md measures 1 GiB streams at the default 512 MiB limit.)
  const bombs: [string, () => Buffer][] = [
    ['zeros.bin.gz', () => gzipOfRepeats(Buffer.alloc(MIB), 320)],
    ['zeros.bin.zst', () => zstdOfZeros(320 * MIB)],
    ['zeros.bin.lz4', () => lz4OfZeros(80)],
  ];
  writeFileSync(join(box.out, 'member-limit.yml'), `limits:\n  maxMemberBytes: ${256 * MIB}\n`);
  for (const [name, make] of bombs) {
    it(`${name}: bounded memory, the limit reported, no temporary file left`, () => {
      const dir = join(box.tree, name.replace(/\W/g, '_'));
      mkdirSync(dir);
      writeFileSync(join(dir, name), make());
      const tmp = childTmp(box, `tmp-${name}`);
      const result = runCustody(box, ['scan', dir, '--config', join(box.out, 'member-limit.yml'), '--format', 'json'], { maxRssMb: 300, env: { TMPDIR: tmp } });
      assertFindingOrCodedError(result, { rule: 'models/archive-limit-exceeded' });
      assert.deepEqual(readdirSync(tmp), [], 'temporary files left behind');
    });
  }

  it('a scan killed while spooling an image layer leaves no temporary file', async () => {
    const dir = join(box.tree, 'image');
    mkdirSync(dir);
    writeFileSync(join(dir, 'image.tar'), imageWithLayer(textLayer(400)));
    const tmp = childTmp(box, 'tmp-killed');
    // Killed with SIGKILL while a descriptor of the process points into TMPDIR (the spool is open), not
    // after a fixed time: on a fast machine a timer can fire after the scan has finished.
    const child = spawn(process.execPath, [CUSTODY_BIN, 'scan', dir, '--format', 'json'], {
      cwd: box.tree,
      env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin', HOME: box.home, LANG: 'C.UTF-8', TMPDIR: tmp },
      stdio: 'ignore',
    });
    const exited = once(child, 'exit');
    let killedMidSpool = false;
    const deadline = Date.now() + 120_000;
    while (child.exitCode === null && child.signalCode === null && Date.now() < deadline) {
      // Once the spool is set up: open, its name and private directory already removed. (A kill in the
      // microseconds between mkdtemp and rmdir can still leave that directory: O_TMPFILE would close it.)
      if (descriptorsInto(child.pid!, tmp) && readdirSync(tmp).length === 0) {
        child.kill('SIGKILL');
        killedMidSpool = true;
        break;
      }
      await new Promise((resolve) => setTimeout(resolve, 2));
    }
    if (!killedMidSpool) child.kill('SIGKILL');
    await exited;
    assert.equal(killedMidSpool, true, 'the scan never held a spool open in TMPDIR');
    assert.deepEqual(readdirSync(tmp), [], 'a killed scan left its spool behind');
  });

  it('a scan that runs out of its time budget while spooling reports it and leaves nothing', () => {
    const dir = join(box.tree, 'budget');
    mkdirSync(dir);
    writeFileSync(join(dir, 'image.tar'), imageWithLayer(textLayer(400)));
    writeFileSync(join(box.out, 'budget.yml'), 'limits:\n  fileTimeoutMs: 1500\n');
    const tmp = childTmp(box, 'tmp-budget');
    const result = runCustody(box, ['scan', dir, '--config', join(box.out, 'budget.yml'), '--format', 'json'], { env: { TMPDIR: tmp } });
    assertFindingOrCodedError(result);
    assert.deepEqual(readdirSync(tmp), [], 'temporary files left behind');
  });
});

/** Characters that must never reach a terminal raw from the input. */
const UNSAFE = /[\p{Cc}\p{Cf}\p{Zl}\p{Zp}]/u;

/** Output with the line feeds removed must hold none of them (no TTY here, so no colours either). */
function assertTerminalSafe(text: string, what: string): void {
  const match = UNSAFE.exec(text.replace(/\n/g, ''));
  assert.equal(match, null, `${what} carries U+${match?.[0].codePointAt(0)?.toString(16).padStart(4, '0')} raw:\n${JSON.stringify(text.slice(Math.max(0, (match?.index ?? 0) - 80), (match?.index ?? 0) + 80))}`);
  assert.ok(!text.split('\n').some((line) => /^No findings/.test(line) && !/\(\d+ files?, /.test(line)), `${what} shows a forged "No findings." line`);
}

const ESC = '\x1b[2J\x1b[H';
const OSC = '\x1b]0;owned\x07';
const RLO = '\u202e';

describe('hostile content: nothing from the input acts on the terminal', () => {
  const box = makeSandbox('content-terminal');
  after(() => removeSandbox(box));
  const hostileName = `${ESC}evil${RLO}lkp.pkl`;
  const forgedLine = `a\rNo findings.\nNo findings (0 files).pkl`;

  const plant = (): void => {
    writeFileSync(join(box.tree, hostileName), systemPickle(canaryCommand(box, 'pickle')));
    writeFileSync(join(box.tree, forgedLine), systemPickle('echo pwned'));
    // A pickle importing a global whose module and name carry ESC, OSC and bidi characters.
    writeFileSync(join(box.tree, 'globals.pkl'), Buffer.from(`c${ESC}os${RLO}\n${OSC}system\u2066\n(S'x'\ntR.`, 'utf8'));
    // Evidence: a secret on a line full of controls.
    writeFileSync(join(box.tree, '.env'), `DB_PASSWORD=Zq9vX2mLr4Wp8sTu${ESC}${RLO}\u0085\n`);
    const notebook = { cells: [{ cell_type: 'code', id: `${OSC}cell${RLO}`, metadata: {}, execution_count: 1, outputs: [], source: [`HF_TOKEN = "${hfToken()}"\n`] }], metadata: {}, nbformat: 4, nbformat_minor: 5 };
    writeFileSync(join(box.tree, `note${ESC}.ipynb`), JSON.stringify(notebook));
  };
  plant();

  it('custody scan (text): names, globals, evidence and cell context are escaped', () => {
    const result = runCustody(box, ['scan', '.']);
    assertFindingOrCodedError(result, { rule: 'models/pickle-' });
    assertTerminalSafe(result.stdout, 'stdout');
    assertTerminalSafe(result.stderr, 'stderr');
    assert.ok(result.stdout.includes('\\u{1b}[2J\\u{1b}[Hevil\\u{202e}lkp.pkl'), result.stdout);
    assertNoCommandRan(box);
  });

  it('custody scan (html): bidi and controls are visible escapes', () => {
    const out = join(box.out, 'report.html');
    assertBounded(runCustody(box, ['scan', '.', '--format', 'html', '--output', out]));
    assertTerminalSafe(readFileSync(out, 'utf8'), 'the HTML report');
  });

  for (const format of ['json', 'sarif']) {
    it(`custody scan (${format}): valid, faithful, and safe to print`, () => {
      const result = runCustody(box, ['scan', '.', '--format', format]);
      assertFindingOrCodedError(result);
      assertTerminalSafe(result.stdout, format);
      const text = JSON.stringify(JSON.parse(result.stdout));
      const exact = format === 'json' ? JSON.stringify(hostileName).slice(1, -1) : encodeURIComponent(hostileName);
      assert.ok(text.includes(exact), 'the file name survives, exactly');
    });
  }

  it('error lines (custody: error CODE: …) escape the paths they quote', () => {
    const result = runCustody(box, ['scan', join(box.tree, `missing${OSC}${RLO}\nNo findings.`)]);
    assertFindingOrCodedError(result, { code: 'PATH_NOT_FOUND' });
    assertTerminalSafe(result.stderr, 'the error line');
    assert.equal(result.stderr.split('\n').filter((line) => line.startsWith('custody:')).length, 1);
  });

  it('notebook clean: the refusal names the cell without letting its id act on the terminal', () => {
    const before = snapshot(box.tree);
    const result = runCustody(box, ['notebook', 'clean', '.']);
    assertFindingOrCodedError(result);
    assertTerminalSafe(result.stdout, 'stdout');
    assertTerminalSafe(result.stderr, 'stderr');
    assert.match(result.stderr, /cell id \\u\{1b\}\]0;owned\\u\{7\}cell\\u\{202e\}/);
    assertUnchanged(before, box.tree, 'the refused notebook');
  });

  it('hash (text): file names are escaped', () => {
    const result = runCustody(box, ['hash', '.', '--format', 'text']);
    assertBounded(result);
    assert.equal(result.exit, 0, result.stderr);
    assertTerminalSafe(result.stdout, 'stdout');
    assert.equal(result.stdout.trim().split('\n').length, 1 + readdirSync(box.tree).length);
  });
});

/** A fake Hugging Face token, from that rule's own generated true positives. */
function hfToken(): string {
  return providerSecret('huggingface-token');
}

function providerSecret(name: string): string {
  const rule = SECRET_RULES.find((r) => r.id === `secrets/${name}`);
  for (const example of rule?.examples().positive ?? []) {
    const found = detectSecrets({ text: example.text, kind: 'text', baseName: 'example.txt' }, Date.now() + 5000).candidates.find((c) => c.rule.id === rule?.id);
    if (found && /^[\x21-\x7e]{16,}$/.test(found.secret)) return found.secret;
  }
  throw new Error(`no example secret for ${name}`);
}

/** True when any 8 consecutive characters of `secret` appear in `text` (a redacted value shows 4). */
function leaks(text: string, secret: string): boolean {
  for (let i = 0; i + 8 <= secret.length; i++) if (text.includes(secret.slice(i, i + 8))) return true;
  return false;
}

describe('hostile content: secrets quoted by messages are redacted', () => {
  const box = makeSandbox('content-redact');
  after(() => removeSandbox(box));
  const providers = ['huggingface-token', 'github-token', 'openai-api-key', 'aws-access-key-id', 'stripe-api-key'];

  for (const provider of providers) {
    it(`${provider}: a config.json that does not parse around the key`, () => {
      const secret = providerSecret(provider);
      const dir = join(box.tree, provider);
      mkdirSync(dir);
      writeFileSync(join(dir, 'config.json'), `{"model_type": "bert", "token": ${secret} }`);
      for (const format of provider === providers[0] ? ['json', 'text'] : ['json']) {
        const result = runCustody(box, ['scan', dir, '--format', format]);
        assertFindingOrCodedError(result, { rule: 'models/hf-config-invalid' });
        assert.ok(!leaks(result.stdout + result.stderr, secret), `${format} output quotes the key:\n${result.stdout}`);
      }
    });
  }

  it('an error message that quotes a path holding a key', () => {
    const secret = providerSecret('github-token');
    const result = runCustody(box, ['scan', join(box.tree, `token=${secret}`, 'model.pkl')]);
    assertFindingOrCodedError(result, { code: 'PATH_NOT_FOUND' });
    assert.ok(!leaks(result.stderr, secret), result.stderr);
  });
});
