import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { gzipSync } from 'node:zlib';
import { BufferSource, FileSource } from '../../src/core/byte-source.js';
import { defaultConfig, type ResolvedConfig } from '../../src/core/config.js';
import type { Finding } from '../../src/core/finding.js';
import { buildArguments, looksLikeSecretAssignment } from '../../src/scanners/containers/config.js';
import { describeImages, Removals, type JsonReader } from '../../src/scanners/containers/image.js';
import { containersScanner } from '../../src/scanners/containers/index.js';
import { decompressToSpool } from '../../src/scanners/containers/spool.js';
import type { TarEntry } from '../../src/scanners/containers/tar.js';
import { buildFinding, scanSource } from '../../src/scanners/file-scan.js';
import { modelsScanner } from '../../src/scanners/models/index.js';
import { fakeSecretsScanner } from '../history/fake-secrets.js';

const FIXTURES = join('test', '.tmp', 'fixtures', 'images');
const expected = JSON.parse(readFileSync(join(FIXTURES, 'expected.json'), 'utf8')) as {
  secrets: Record<string, string>;
  dockerSave: { layers: string[]; config: string };
  dockerSaveShared: { base: string; top: string };
  oci: { base: string; plain: string; zstd: string; delete: string };
};

async function scan(name: string, config: ResolvedConfig = defaultConfig()): Promise<Finding[]> {
  const source = await FileSource.open(join(FIXTURES, name));
  try {
    return await scanSource(name, source, { scanners: [containersScanner, modelsScanner, fakeSecretsScanner], config, knownRuleIds: new Set() });
  } finally {
    await source.close();
  }
}

function at(findings: readonly Finding[], member: string, rulePrefix = ''): Finding[] {
  return findings.filter((f) => f.location.member === member && f.ruleId.startsWith(rulePrefix));
}

function one(findings: readonly Finding[], member: string, rulePrefix = ''): Finding {
  const found = at(findings, member, rulePrefix);
  assert.equal(found.length, 1, `expected one ${rulePrefix || 'finding'} at ${member}; got ${JSON.stringify(findings.map((f) => [f.ruleId, f.location.member]))}`);
  return found[0] as Finding;
}

test('docker save: files deleted by whiteouts, opaque directories and overwrites are scanned and marked', async () => {
  const findings = await scan('docker-save.tar');
  const [l0, l1] = expected.dockerSave.layers as [string, string, string];

  const whiteout = one(findings, `${l0}/app/.env`, 'fake/');
  assert.deepEqual(whiteout.properties, { layer: l0, layerIndex: 0, image: 'custody-fixture/app:latest', deletedInLayer: 1, removedBy: 'whiteout' });
  assert.equal(whiteout.location.line, 1);

  assert.deepEqual(one(findings, `${l0}/app/keep.txt`, 'fake/').properties?.['removedBy'], 'overwritten');
  assert.equal(one(findings, `${l0}/app/keep.txt`, 'fake/').properties?.['deletedInLayer'], 2);
  const opaque = one(findings, `${l0}/cache/token.txt`, 'fake/aws-key');
  assert.equal(opaque.properties?.['removedBy'], 'opaque-directory');
  assert.equal(opaque.properties?.['deletedInLayer'], 2);

  // Still present in the final filesystem: no deletion properties.
  const live = one(findings, `${l1}/app/settings.py`, 'fake/');
  assert.equal(live.properties?.['deletedInLayer'], undefined);
  assert.equal(live.properties?.['layerIndex'], 1);

  // A pickle in a layer reaches the models scanner.
  assert.ok(at(findings, `${l1}/app/model.pkl`, 'models/').length >= 1);

  // Whiteout markers are not members; files without secrets produce nothing.
  assert.equal(findings.some((f) => f.location.member?.includes('.wh.')), false);
  assert.equal(at(findings, `${expected.dockerSave.layers[2]}/cache/new.txt`).length, 0);
});

test('docker save: ENV values and build arguments that hold credentials are reported, redacted', async () => {
  const findings = await scan('docker-save.tar');
  const config = findings.filter((f) => f.ruleId === 'containers/secret-in-image-config');
  assert.equal(config.length, 2, JSON.stringify(config.map((f) => f.message)));
  assert.ok(config.every((f) => f.location.member === expected.dockerSave.config));
  const text = JSON.stringify(config);
  assert.ok(!text.includes(expected.secrets['envPassword'] as string), 'raw ENV value must not appear');
  assert.ok(!text.includes(expected.secrets['npmToken'] as string), 'raw build argument must not appear');
  assert.ok(config.some((f) => f.evidence?.startsWith('ENV DB_PASSWORD=')));
  assert.ok(config.some((f) => f.evidence?.startsWith('NPM_TOKEN=npm_')));
});

test('OCI layout: nested index, gzip, plain and zstd layers are all walked', async () => {
  const findings = await scan('oci.tar');
  const { base, plain, zstd } = expected.oci;
  assert.equal(one(findings, `${base}/srv/base.env`, 'fake/').properties?.['layerIndex'], 0);
  assert.equal(one(findings, `${plain}/srv/plain.txt`, 'fake/').properties?.['layer'], plain);
  assert.equal(one(findings, `${zstd}/srv/zstd.txt`, 'fake/').properties?.['image'], 'custody-fixture/multi:1');
  // The shared base layer is read once, not once per platform.
  assert.equal(at(findings, `${base}/srv/base.env`).length, 1);
  assert.equal(findings.filter((f) => f.ruleId.startsWith('containers/')).length, 0);
});

test('plain tarballs: every file is a member, nested tarballs are opened, symlinks are not followed', async () => {
  const findings = await scan('plain.tar');
  one(findings, 'src/config.py', 'fake/');
  one(findings, 'vendor/inner.tar!inner/secret.txt', 'fake/');
  assert.ok(at(findings, 'models/evil.pkl', 'models/').length >= 1);
  assert.equal(at(findings, 'link').length, 0);
});

test('a clean image with look-alike ENV names and placeholder values has no findings', async () => {
  assert.deepEqual(await scan('clean-image.tar'), []);
});

const BROKEN: [string, string, string | undefined, string][] = [
  ['broken-checksum.tar', 'containers/archive-unreadable', undefined, 'malformed'],
  ['broken-truncated.tar', 'containers/archive-unreadable', undefined, 'malformed'],
  ['tar-trailing-garbage.tar', 'containers/archive-unreadable', undefined, 'malformed'],
  ['broken-manifest.tar', 'containers/image-unreadable', undefined, 'manifest'],
  ['broken-missing-layer.tar', 'containers/image-unreadable', undefined, 'missingBlob'],
  ['broken-gzip-layer.tar', 'containers/image-layer-unreadable', `blobs/sha256/${'1'.repeat(64)}`, 'damaged'],
  ['broken-not-tar-layer.tar', 'containers/image-layer-unreadable', `blobs/sha256/${'2'.repeat(64)}`, 'notTar'],
  ['broken-xz-layer.tar', 'containers/image-layer-unreadable', undefined, 'compression'],
];

for (const [file, ruleId, member, problem] of BROKEN) {
  test(`damaged input ${file} is reported as ${ruleId} (${problem}), never passed`, async () => {
    const findings = await scan(file);
    const hits = findings.filter((f) => f.ruleId === ruleId && f.properties?.['problem'] === problem);
    assert.ok(hits.length >= 1, JSON.stringify(findings.map((f) => [f.ruleId, f.properties])));
    if (member !== undefined) assert.ok(hits.some((f) => f.location.member === member));
    assert.equal(hits[0]?.severity, 'high');
  });
}

test('the good members before damage are still scanned', async () => {
  const findings = await scan('broken-checksum.tar');
  const unreadable = findings.find((f) => f.ruleId === 'containers/archive-unreadable');
  assert.match(unreadable?.message ?? '', /1 member/);
});

test('rules switched off in config are not reported', async () => {
  const config = defaultConfig();
  config.rules = new Map([['containers/image-layer-unreadable', { enabled: false }]]);
  const findings = await scan('broken-not-tar-layer.tar', config);
  assert.equal(findings.filter((f) => f.ruleId === 'containers/image-layer-unreadable').length, 0);
});

test('non-tar input is ignored by the containers scanner', async () => {
  const findings = await scanSource('x.bin', new BufferSource(Buffer.from('just text, not a tarball\n'.repeat(50))), { scanners: [containersScanner], config: defaultConfig(), knownRuleIds: new Set() });
  assert.deepEqual(findings, []);
});

test('Removals: overlay semantics of whiteouts, opaque directories and overwrites', () => {
  const removals = new Removals();
  removals.recordLayer(3, [{ path: 'a/b/file.txt', type: 'file' }]);
  removals.recordLayer(2, [
    { path: 'etc/.wh.secret', type: 'file' },
    { path: 'var/.wh..wh..opq', type: 'file' },
    { path: '.wh.tmp', type: 'file' },
    { path: 'a', type: 'dir' },
  ]);
  removals.recordLayer(1, [{ path: 'a/b/.wh.file.txt', type: 'file' }]);
  assert.deepEqual(removals.lookup('etc/secret'), { layer: 2, by: 'whiteout' });
  assert.deepEqual(removals.lookup('etc/secret/inside.txt'), { layer: 2, by: 'whiteout' });
  assert.deepEqual(removals.lookup('var/cache/x'), { layer: 2, by: 'opaque-directory' });
  assert.deepEqual(removals.lookup('tmp/x'), { layer: 2, by: 'whiteout' });
  // The lowest layer that removes it wins (layer 1 whiteout before layer 3 overwrite).
  assert.deepEqual(removals.lookup('a/b/file.txt'), { layer: 1, by: 'whiteout' });
  // Boundaries: a directory entry hides nothing; similar names are untouched.
  assert.equal(removals.lookup('a/other.txt'), undefined);
  assert.equal(removals.lookup('etc/secrets'), undefined);
  assert.equal(removals.lookup('variable/x'), undefined);
});

test('build arguments and ENV names: what counts as a recorded credential', () => {
  assert.deepEqual(buildArguments('|2 NPM_TOKEN=abc VERSION="1 2" /bin/sh -c npm ci'), [['NPM_TOKEN', 'abc'], ['VERSION', '1 2']]);
  assert.deepEqual(buildArguments('RUN |1 A=b /bin/sh -c x'), [['A', 'b']]);
  assert.deepEqual(buildArguments('/bin/sh -c #(nop)  ARG PASSWORD=changeme'), [['PASSWORD', 'changeme']]);
  assert.deepEqual(buildArguments('/bin/sh -c echo |1 A=b'), []);
  assert.ok(looksLikeSecretAssignment('DB_PASSWORD', 'Zq9vX2mLr4'));
  assert.ok(looksLikeSecretAssignment('HF_TOKEN', 'hf_abcdefghij'));
  assert.ok(looksLikeSecretAssignment('AWS_SECRET_ACCESS_KEY', 'abcdefghij'));
  assert.equal(looksLikeSecretAssignment('DB_PASSWORD', '${DB_PASSWORD}'), false);
  assert.equal(looksLikeSecretAssignment('DB_PASSWORD', '12345'), false); // one short of 6
  assert.ok(looksLikeSecretAssignment('DB_PASSWORD', '123456'));
  assert.equal(looksLikeSecretAssignment('PASSWORD_FILE', '/run/secrets/db'), false);
  assert.equal(looksLikeSecretAssignment('TOKENIZERS_PARALLELISM', 'false'), false);
  assert.equal(looksLikeSecretAssignment('AUTHOR', 'someone-else'), false);
  assert.equal(looksLikeSecretAssignment('AUTH_ENABLED', 'true'), false);
});

test('decompression is bounded: size limit, deadline, damage; large output spills to a file', async () => {
  const payload = Buffer.alloc(300_000, 0x61);
  const gz = new BufferSource(gzipSync(payload));
  const far = Date.now() + 60_000;

  const whole = await decompressToSpool(gz, 'gzip', { memoryBytes: 1024, maxBytes: 1_000_000, deadline: far });
  try {
    assert.equal(whole.stopped, undefined);
    assert.equal(whole.source.size, payload.length);
    assert.ok(whole.onDisk, 'spilled to a temporary file');
    assert.ok((await whole.source.read(0, payload.length)).equals(payload));
  } finally {
    await whole.dispose();
  }

  const capped = await decompressToSpool(gz, 'gzip', { memoryBytes: 1 << 20, maxBytes: 1000, deadline: far });
  assert.equal(capped.stopped?.reason, 'limit');
  assert.equal(capped.source.size, 1000);
  await capped.dispose();

  const late = await decompressToSpool(gz, 'gzip', { memoryBytes: 1 << 20, maxBytes: 1 << 20, deadline: Date.now() - 1 });
  assert.equal(late.stopped?.reason, 'timeout');
  await late.dispose();

  const damaged = await decompressToSpool(new BufferSource(gzipSync(payload).subarray(0, 100)), 'gzip', { memoryBytes: 1 << 20, maxBytes: 1 << 20, deadline: far });
  assert.equal(damaged.stopped?.reason, 'damaged');
  await damaged.dispose();

  const zstd = await decompressToSpool(new BufferSource(Buffer.from([0x28, 0xb5, 0x2f, 0xfd, 0xff, 0xff])), 'zstd', { memoryBytes: 1 << 20, maxBytes: 1 << 20, deadline: far });
  assert.equal(zstd.stopped?.reason, 'damaged');
  await zstd.dispose();
});

test('fingerprints of layer findings are stable across scans (baselines hold)', async () => {
  const first = (await scan('docker-save.tar')).map((f) => f.fingerprint).sort();
  const second = (await scan('docker-save.tar')).map((f) => f.fingerprint).sort();
  assert.deepEqual(first, second);
  assert.equal(new Set(first).size, first.length);
});

test('end to end: custody scan --only secrets on an image export reports secrets in deleted layer files', async () => {
  const { runScan } = await import('../../src/scanners/engine.js');
  const result = await runScan({ paths: [join(FIXTURES, 'docker-save.tar')], only: ['secrets'], jobs: 0 });
  const [l0] = expected.dockerSave.layers as [string];
  const deleted = result.findings.filter((f) => f.location.member === `${l0}/app/.env` && f.ruleId.startsWith('secrets/'));
  assert.ok(deleted.length >= 1, JSON.stringify(result.findings.map((f) => [f.ruleId, f.location.member])));
  assert.equal(deleted[0]?.properties?.['deletedInLayer'], 1);
  assert.equal(result.findings.some((f) => f.ruleId.startsWith('models/')), false, '--only secrets runs no models rules');
});

test('docker save with a shared layer stored once and linked: followed, scanned once, no problem reported', async () => {
  const findings = await scan('docker-save-shared.tar');
  const ids = expected.dockerSaveShared;
  one(findings, `${ids.base}/shared.txt`, 'fake/');
  one(findings, `${ids.top}/top.txt`, 'fake/');
  assert.equal(findings.filter((f) => f.ruleId.startsWith('fake/')).length, 2, JSON.stringify(findings.map((f) => [f.ruleId, f.location.member])));
  assert.equal(findings.filter((f) => f.ruleId.startsWith('containers/')).length, 0);
});

test('an archive read after the deadline is reported as a timeout, never passed', async () => {
  const config = defaultConfig();
  const findings: Finding[] = [];
  const bytes = await (await import('node:fs/promises')).readFile(join(FIXTURES, 'plain.tar'));
  const source = new BufferSource(bytes);
  const target = { path: 'plain.tar', source, head: bytes.subarray(0, 65536), depth: 0 };
  const members: string[] = [];
  const context = {
    config,
    limits: config.limits,
    deadline: Date.now() - 1,
    isEnabled: () => true,
    reporter: (rule: Parameters<typeof buildFinding>[0], t: Parameters<typeof buildFinding>[1]) => (input: Parameters<typeof buildFinding>[2]) => {
      findings.push(buildFinding(rule, t, input, config));
    },
    scanMember: (_parent: unknown, member: string) => {
      members.push(member);
      return Promise.resolve();
    },
  };
  await containersScanner.scan(target, context as unknown as Parameters<typeof containersScanner.scan>[1]);
  assert.deepEqual(members, []);
  assert.deepEqual(findings.map((f) => [f.ruleId, f.properties?.['problem']]), [['containers/archive-unreadable', 'timeout']]);
});

/** Image metadata held in memory: an entry map and a JSON reader that counts its reads. */
function fakeImage(files: Record<string, unknown>): { entries: Map<string, TarEntry>; readJson: JsonReader; reads: () => number } {
  const entries = new Map<string, TarEntry>(Object.keys(files).map((name) => [name, { name, type: 'file', size: 1, dataOffset: 0 }]));
  let reads = 0;
  const readJson: JsonReader = (file) => {
    reads += 1;
    return Promise.resolve(file in files ? { ok: true, value: files[file] } : { ok: false, reason: 'not in the tarball' });
  };
  return { entries, readJson, reads: () => reads };
}

const digest = (c: string): string => `sha256:${c.repeat(64)}`;

test('OCI indexes that share or loop back to a manifest are read once each; a loop is reported (bug: the walk multiplied by every reference)', async () => {
  // Before the fix, an index listing itself three times was read 1 + 3 + 9 + 27 + 81 times; at 1024
  // references that is 10^12 reads from a tarball of a few kilobytes.
  const loop = fakeImage({
    'oci-layout': {},
    'index.json': { manifests: [{ digest: digest('a') }] },
    [`blobs/sha256/${'a'.repeat(64)}`]: { manifests: [{ digest: digest('a') }, { digest: digest('a') }, { digest: digest('a') }] },
  });
  const looped = await describeImages(loop.entries, loop.readJson);
  assert.equal(loop.reads(), 2);
  assert.deepEqual(looped.images, []);
  assert.ok(looped.problems.length >= 1 && looped.problems.every((p) => p.kind === 'manifest' && /refers back/.test(p.reason ?? '')));

  // Boundary: two platforms sharing one image manifest is ordinary, not a problem; it is read once.
  const shared = fakeImage({
    'oci-layout': {},
    'index.json': { manifests: [{ digest: digest('a') }, { digest: digest('b') }] },
    [`blobs/sha256/${'a'.repeat(64)}`]: { manifests: [{ digest: digest('c') }] },
    [`blobs/sha256/${'b'.repeat(64)}`]: { manifests: [{ digest: digest('c') }] },
    [`blobs/sha256/${'c'.repeat(64)}`]: { layers: [{ digest: digest('d') }] },
    [`blobs/sha256/${'d'.repeat(64)}`]: {},
  });
  const described = await describeImages(shared.entries, shared.readJson);
  assert.equal(shared.reads(), 4);
  assert.deepEqual(described.problems, []);
  assert.deepEqual(described.images.map((i) => i.layers.map((l) => l.digest)), [[digest('d')]]);
});

test('image lists cut at the manifest bound are reported, not silently shortened', async () => {
  const image = { Config: 'c.json', Layers: [] };
  const full = fakeImage({ 'manifest.json': Array.from({ length: 1024 }, () => image), 'c.json': {} });
  assert.deepEqual((await describeImages(full.entries, full.readJson)).problems, []);
  const over = fakeImage({ 'manifest.json': Array.from({ length: 1025 }, () => image), 'c.json': {} });
  assert.deepEqual((await describeImages(over.entries, over.readJson)).problems.map((p) => p.kind), ['manifest']);
});
