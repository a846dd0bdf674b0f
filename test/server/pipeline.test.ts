import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startServer, type RunningServer } from '../../src/server/start.js';
import { cli, workDir, writeTree } from './helpers.js';

/**
 * The whole pipeline as a user runs it, through the CLI against a registry on loopback: a tiny
 * training script → sign → SLSA provenance naming a registered dataset → push → promotion blocked
 * (no approval) → approved by a second person → promoted → pulled by stage and verified (VSA and
 * signature); then the dataset is found poisoned and `custody impact` lists the production model.
 */

const TRAIN = `import csv, json, sys
rows = [r for r in csv.DictReader(open(sys.argv[1] + '/train.csv'))]
w, b = 0.0, 0.0
for _ in range(200):
    for r in rows:
        x, y = float(r['x']), float(r['y'])
        p = 1 / (1 + 2.718281828 ** -(w * x + b))
        w += 0.1 * (y - p) * x
        b += 0.1 * (y - p)
json.dump({'w': round(w, 6), 'b': round(b, 6), 'rows': len(rows)}, open(sys.argv[2] + '/weights.json', 'w'))
`;

describe('the whole pipeline, as a user would run it', () => {
  let server: RunningServer;
  let home: string;
  let env: Record<string, string>;
  const as: Record<string, Record<string, string>> = {};

  before(async () => {
    home = workDir('pipeline');
    server = await startServer({ dataDir: join(home, 'registry'), host: '127.0.0.1', port: 0, version: '0.0.0-test', settings: { scan: true }, rateLimits: { login: { perSecond: 10, burst: 100 }, token: { perSecond: 0, burst: 0 }, badToken: { perSecond: 0, burst: 0 } } });
    const token = readFileSync(join(home, 'registry', 'initial-admin-token'), 'utf8').trim();
    env = { CUSTODY_URL: server.url, CUSTODY_TOKEN: token, CUSTODY_CONFIG_DIR: join(home, 'config') };
    const rows = ['x,y', ...Array.from({ length: 40 }, (_, i) => `${(i - 20) / 10},${i >= 20 ? 1 : 0}`)];
    writeTree(home, { 'data/train.csv': `${rows.join('\n')}\n`, 'train.py': TRAIN });
  });
  after(async () => {
    await server.close();
  });

  const run = async (who: string, args: string[], expect = 0): Promise<{ stdout: string; stderr: string }> => {
    const r = await cli(args, home, who === 'admin' ? env : (as[who] ?? env));
    assert.equal(r.code, expect, `${who}: custody ${args.join(' ')}\n${r.stdout}\n${r.stderr}`);
    return r;
  };

  it('trains, signs, attests, pushes, is blocked, approved, promoted, pulled verified; and the poisoned dataset leads to it', async () => {
    // The registry: a project, a signing key, people and a CI service account.
    await run('admin', ['project', 'create', 'vision']);
    await run('admin', ['keygen', '--out', 'release']);
    await run('admin', ['project', 'trust-key', 'vision', 'release.pub.pem']);
    for (const [name, role] of [['bob', 'approver'], ['carol', 'approver']] as const) {
      await cli(['account', 'create', name], home, { ...env, CUSTODY_NEW_PASSWORD: `${name} has a long passphrase` });
      await run('admin', ['grant', 'vision', name, role]);
      as[name] = { ...env, CUSTODY_TOKEN: (await run('admin', ['token', 'create', '--account', name])).stdout.trim(), CUSTODY_CONFIG_DIR: join(home, `config-${name}`) };
    }
    await run('admin', ['account', 'create', 'ci', '--service']);
    await run('admin', ['grant', 'vision', 'ci', 'trainer', '--models', 'classifier']);
    as['ci'] = { ...env, CUSTODY_TOKEN: (await run('admin', ['token', 'create', '--account', 'ci', '--project', 'vision'])).stdout.trim(), CUSTODY_CONFIG_DIR: join(home, 'config-ci') };

    // The training data is registered (signed) first.
    const dataset = (await run('admin', ['push', 'data', '--project', 'vision', '--dataset', 'images', '--key', 'release.pem'])).stdout.trim();
    assert.match(dataset, /^[0-9a-f]{64}$/);

    // Train with a tiny script, sign, attest provenance naming the dataset, push as CI.
    mkdirSync(join(home, 'model'));
    const trained = spawnSync('python3', ['train.py', 'data', 'model'], { cwd: home, encoding: 'utf8' });
    assert.equal(trained.status, 0, trained.stderr);
    assert.ok(JSON.parse(readFileSync(join(home, 'model', 'weights.json'), 'utf8')).rows === 40);
    await run('admin', ['attest', 'provenance', '--model', 'model', '--model-name', 'classifier', '--dataset', 'images=data', '--builder-id', 'https://ci.example/vision/train', '--repo', 'https://git.example/vision', '--commit', 'b'.repeat(40), '--key', 'release.pem', '--output', 'provenance.bundle']);
    const version = (await run('ci', ['push', 'model', '--project', 'vision', '--model', 'classifier', '--key', 'release.pem', '--attestation', 'provenance.bundle'])).stdout.trim();
    await server.opened.registry.idle();

    // Staging passes (signed, scanned clean); production is blocked for want of an approval.
    await run('carol', ['promote', `vision/classifier@${version}`, '--to', 'staging']);
    const blocked = await run('carol', ['promote', `vision/classifier@${version}`, '--to', 'production'], 1);
    assert.match(blocked.stdout, /FAIL {2}approvals/);
    assert.match(blocked.stdout, /PASS {2}signatures/);
    assert.match(blocked.stdout, /PASS {2}scan/);
    const tested = await run('carol', ['policy', 'test', `vision/classifier@${version}`, '--to', 'production', '--format', 'json'], 1);
    assert.equal((JSON.parse(tested.stdout) as { passed: boolean }).passed, false);

    // A second person approves; the uploader could not have.
    await run('ci', ['approve', `vision/classifier@${version}`, '--to', 'production'], 1);
    await run('bob', ['approve', `vision/classifier@${version}`, '--to', 'production', '--comment', 'eval looks right']);
    const promoted = await run('carol', ['promote', `vision/classifier@${version}`, '--to', 'production', '--format', 'json']);
    assert.equal((JSON.parse(promoted.stdout) as { promoted: boolean }).promoted, true);

    // The serving job pulls what production holds, verified: VSA, signature, every digest.
    const pulled = await run('ci', ['pull', 'vision/classifier@production', '--output', 'served'], 2);
    assert.match(pulled.stderr, /error FORBIDDEN/, 'a trainer cannot download');
    const viewer = await run('bob', ['pull', 'vision/classifier@production', '--output', 'served', '--format', 'json']);
    const result = JSON.parse(viewer.stdout) as { version: string; verified: boolean; forced: boolean; vsa: { policy: string } };
    assert.deepEqual([result.version, result.verified, result.forced], [version, true, false]);
    assert.equal(readFileSync(join(home, 'served', 'weights.json'), 'utf8'), readFileSync(join(home, 'model', 'weights.json'), 'utf8'));
    // A client that pinned another VSA key refuses the pull, and leaves nothing behind.
    await run('admin', ['keygen', '--out', 'impostor']);
    const wrongKey = await run('bob', ['pull', 'vision/classifier@production', '--output', 'served2', '--vsa-key', 'impostor.pub.pem'], 1);
    assert.match(wrongKey.stderr, /KEY_UNTRUSTED|SIGNATURE_INVALID/);
    assert.ok(!readdirSync(home).includes('served2'));

    // The dataset is found poisoned: what did it reach?
    const impact = await run('bob', ['impact', '--dataset', `vision/images@${dataset}`, '--format', 'json']);
    const found = (JSON.parse(impact.stdout) as { versions: { name: string; version: string; stage: string }[] }).versions;
    assert.deepEqual(found.map((v) => [v.name, v.version, v.stage]), [['classifier', version, 'production']]);
    const text = await run('bob', ['impact', '--dataset', `vision/images@${dataset}`]);
    assert.match(text.stdout, /production +model vision\/classifier@/);
    const mermaid = await run('bob', ['lineage', `vision/classifier@${version}`, '--format', 'mermaid']);
    assert.match(mermaid.stdout, /^flowchart LR/);
    assert.match(mermaid.stdout, /dataset vision\/images@/);
    const dot = await run('bob', ['impact', '--dataset', `vision/images@${dataset}`, '--format', 'dot']);
    assert.match(dot.stdout, /^digraph lineage \{/);
    writeFileSync(join(home, 'impact.dot'), dot.stdout);
  });
});
