/**
 * Hostile containers for the shared container layer (src/scanners/containers/): a zip member that
 * expands a thousandfold, alone, behind a fake encryption flag, and nested in a tar.gz. Decoded members
 * go to a nameless temporary file past 16 MiB, so memory stays bounded whatever a member expands to;
 * the members after the bomb are still scanned, for every scanner; nothing is left in TMPDIR. Every
 * case runs the built CLI bounded (test/support/hostile.ts; 1 GiB of resident memory, the bar)
 * and prints its measured peak as a test diagnostic. Inputs are generated here.
 */
import assert from 'node:assert/strict';
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { constants, crc32, deflateRawSync, gzipSync } from 'node:zlib';
import { detectSecrets, SECRET_RULES } from '../../src/scanners/secrets/index.js';
import { assertFindingOrCodedError, assertNoCommandRan, makeSandbox, removeSandbox, runCustody, type RunResult, tarEntry } from '../support/hostile.js';

const MIB = 1024 * 1024;
const GIB = 1024 * MIB;

interface ZipMember {
  name: string;
  /** Raw deflate data (method 8). */
  deflated: Buffer;
  crc: number;
  size: number;
  flags?: number;
}

/** `size` zero bytes as raw deflate: one 1 MiB chunk deflated once (full flush), its blocks repeated, then an empty final block. */
function deflatedZeros(size: number): ZipMember['deflated'] {
  const chunk = deflateRawSync(Buffer.alloc(MIB), { level: 9, finishFlush: constants.Z_FULL_FLUSH });
  return Buffer.concat([...Array<Buffer>(size / MIB).fill(chunk), Buffer.from([0x03, 0x00])]);
}

function crcOfZeros(size: number): number {
  const chunk = Buffer.alloc(MIB);
  let crc = 0;
  for (let done = 0; done < size; done += MIB) crc = crc32(chunk, crc);
  return crc >>> 0;
}

function member(name: string, plain: Buffer): ZipMember {
  return { name, deflated: deflateRawSync(plain), crc: crc32(plain) >>> 0, size: plain.length };
}

/** A zip of deflated members, written the way zipfile writes one (local headers, central directory, end record). */
function zipOf(members: readonly ZipMember[]): Buffer {
  const locals: Buffer[] = [];
  const centrals: Buffer[] = [];
  let offset = 0;
  for (const m of members) {
    const name = Buffer.from(m.name, 'utf8');
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4);
    local.writeUInt16LE(m.flags ?? 0, 6);
    local.writeUInt16LE(8, 8);
    local.writeUInt32LE(m.crc, 14);
    local.writeUInt32LE(m.deflated.length, 18);
    local.writeUInt32LE(m.size, 22);
    local.writeUInt16LE(name.length, 26);
    const central = Buffer.alloc(46);
    central.writeUInt32LE(0x02014b50, 0);
    central.writeUInt16LE(20, 4);
    central.writeUInt16LE(20, 6);
    central.writeUInt16LE(m.flags ?? 0, 8);
    central.writeUInt16LE(8, 10);
    central.writeUInt32LE(m.crc, 16);
    central.writeUInt32LE(m.deflated.length, 20);
    central.writeUInt32LE(m.size, 24);
    central.writeUInt16LE(name.length, 28);
    central.writeUInt32LE(offset, 42);
    locals.push(local, name, m.deflated);
    centrals.push(central, name);
    offset += local.length + name.length + m.deflated.length;
  }
  const directory = Buffer.concat(centrals);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(members.length, 8);
  end.writeUInt16LE(members.length, 10);
  end.writeUInt32LE(directory.length, 12);
  end.writeUInt32LE(offset, 16);
  return Buffer.concat([...locals, directory, end]);
}

/** A fake GitHub token, from that rule's own generated true positives. */
function githubToken(): string {
  const rule = SECRET_RULES.find((r) => r.id === 'secrets/github-token');
  for (const example of rule?.examples().positive ?? []) {
    const found = detectSecrets({ text: example.text, kind: 'text', baseName: 'example.txt' }, Date.now() + 5000).candidates.find((c) => c.rule.id === rule?.id);
    if (found) return found.secret;
  }
  throw new Error('no example GitHub token');
}

interface Finding {
  ruleId: string;
  severity: string;
  message: string;
  location: { path: string; member?: string };
}

describe('hostile containers: a zip member bomb takes disk, not memory, and hides nothing after it', () => {
  const box = makeSandbox('containers-bomb');
  after(() => removeSandbox(box));
  const token = githubToken();
  const bomb = (flags = 0): ZipMember => ({ name: 'weights.bin', deflated: deflatedZeros(GIB), crc: crcOfZeros(GIB), size: GIB, flags });
  const config = (name: string, maxMemberBytes: number): string => {
    const path = join(box.out, `${name}.yml`);
    writeFileSync(path, `limits:\n  maxMemberBytes: ${maxMemberBytes}\n`);
    return path;
  };
  // Above the member's 1 GiB, so that all of it is decoded: held in memory it alone would pass the bound.
  const whole = config('whole', 1.5 * GIB);

  const run = (t: { diagnostic(message: string): void }, name: string, data: Buffer, args: readonly string[]): { result: RunResult; findings: Finding[] } => {
    const dir = join(box.tree, name.replace(/\W/g, '_'));
    mkdirSync(dir);
    writeFileSync(join(dir, name), data);
    const tmp = join(box.out, `tmp-${name.replace(/\W/g, '_')}`);
    mkdirSync(tmp);
    const result = runCustody(box, ['scan', dir, '--format', 'json', ...args], { timeoutMs: 240_000, env: { TMPDIR: tmp } });
    t.diagnostic(`${name} (${data.length} bytes, ${args.join(' ')}): peak RSS ${Math.round(result.maxRssKb / 1024)} MiB, ${result.seconds.toFixed(1)} s`);
    assertFindingOrCodedError(result);
    assert.deepEqual(readdirSync(tmp), [], 'temporary files left behind');
    return { result, findings: (JSON.parse(result.stdout) as { findings: Finding[] }).findings };
  };

  it('1 GiB from 1 MiB, decoded whole (--only secrets): the ratio is reported and the key after the bomb found', (t) => {
    const data = zipOf([bomb(), member('config/prod.env', Buffer.from(`GITHUB_TOKEN=${token}\n`))]);
    const { findings } = run(t, 'bomb.zip', data, ['--only', 'secrets', '--config', whole, '--fail-on', 'medium']);
    assert.ok(findings.some((f) => f.ruleId === 'models/archive-limit-exceeded' && /expands/.test(f.message) && f.location.member === 'weights.bin'), JSON.stringify(findings));
    assert.ok(findings.some((f) => f.ruleId === 'secrets/github-token' && f.location.member === 'config/prod.env'), JSON.stringify(findings));
  });

  it('the same bomb at the default limit: the cut is reported (high), the start scanned', (t) => {
    const data = zipOf([bomb(), member('config/prod.env', Buffer.from(`GITHUB_TOKEN=${token}\n`))]);
    const { findings } = run(t, 'bomb-default.zip', data, []);
    assert.ok(findings.some((f) => f.ruleId === 'models/archive-limit-exceeded' && f.severity === 'high' && f.location.member === 'weights.bin'), JSON.stringify(findings));
    assert.ok(findings.some((f) => f.ruleId === 'secrets/github-token' && f.location.member === 'config/prod.env'));
  });

  it('behind a fake encryption flag: judging the flag inflates without keeping the output', (t) => {
    const data = zipOf([bomb(0x0001)]);
    const { findings } = run(t, 'flagged.zip', data, ['--config', whole]);
    assert.ok(findings.some((f) => f.ruleId === 'models/zip-flag-bits' && f.severity === 'high' && f.location.member === 'weights.bin'), JSON.stringify(findings));
  });

  it('nested in a tar.gz, with a pickle payload after it (--only models)', (t) => {
    const pickle = Buffer.from("cos\nsystem\n(S'echo pwned'\ntR.", 'latin1');
    const inner = zipOf([bomb(), member('model/payload.pkl', pickle)]);
    const data = gzipSync(Buffer.concat([tarEntry('release/model.zip', inner), Buffer.alloc(1024)]));
    const { findings } = run(t, 'release.tar.gz', data, ['--only', 'models', '--config', whole]);
    assert.ok(findings.some((f) => f.ruleId === 'models/archive-limit-exceeded' && f.location.member === 'release.tar!release/model.zip!weights.bin'), JSON.stringify(findings));
    assert.ok(findings.some((f) => f.ruleId === 'models/pickle-dangerous-global' && f.location.member === 'release.tar!release/model.zip!model/payload.pkl'), JSON.stringify(findings));
    assertNoCommandRan(box);
  });
});
