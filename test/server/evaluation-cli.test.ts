import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startServer, type RunningServer } from '../../src/server/start.js';
import { cli, workDir, writeTree } from './helpers.js';

/**
 * Evaluation metrics as a user attaches them: `custody attest evaluation` signs the metrics a version
 * scored, `custody models attach` adds the bundle to a version already pushed, and a policy's metric
 * thresholds read it (`custody policy test --file`).
 */
describe('custody attest evaluation and custody models attach', () => {
  let server: RunningServer;
  let home: string;
  let env: Record<string, string>;

  before(async () => {
    home = workDir('evaluation');
    server = await startServer({ dataDir: join(home, 'registry'), host: '127.0.0.1', port: 0, version: '0.0.0-test', settings: { scan: false }, rateLimits: { login: { perSecond: 10, burst: 100 }, token: { perSecond: 0, burst: 0 }, badToken: { perSecond: 0, burst: 0 } } });
    env = { CUSTODY_URL: server.url, CUSTODY_TOKEN: readFileSync(join(home, 'registry', 'initial-admin-token'), 'utf8').trim(), CUSTODY_CONFIG_DIR: join(home, 'config') };
    writeTree(home, {
      'good/weights.bin': Buffer.from('good weights'),
      'poor/weights.bin': Buffer.from('poor weights'),
      'holdout/test.csv': 'x,y\n1,0\n',
      'poor-metrics.json': '{"accuracy": 0.5, "toxicity": 0.001}',
      'policy.yml': 'version: 1\nstages:\n  staging:\n    signatures: { min: 1 }\n    evaluation: { metrics: ["accuracy >= 0.92", "toxicity <= 0.01"] }\n',
    });
  });
  after(async () => {
    await server.close();
  });

  const run = async (args: string[], expect: number): Promise<{ stdout: string; stderr: string }> => {
    const r = await cli(args, home, env);
    assert.equal(r.code, expect, `custody ${args.join(' ')}\n${r.stdout}\n${r.stderr}`);
    return r;
  };
  const requirement = async (ref: string): Promise<{ passed: boolean; reason: string }> => {
    const r = await cli(['policy', 'test', ref, '--to', 'staging', '--file', 'policy.yml', '--format', 'json'], home, env);
    const body = JSON.parse(r.stdout) as { evaluations: { requirements: { id: string; passed: boolean; reason: string }[] }[] };
    const found = body.evaluations.flatMap((e) => e.requirements).find((q) => q.id.startsWith('evaluation'));
    assert.ok(found, `no evaluation requirement in ${r.stdout}`);
    return found;
  };

  it('signs the metrics for a version, attaches them, and the policy thresholds read them', async () => {
    await run(['project', 'create', 'vision'], 0);
    await run(['keygen', '--out', 'release'], 0);
    await run(['keygen', '--out', 'stranger'], 0);
    await run(['project', 'trust-key', 'vision', 'release.pub.pem'], 0);
    const good = (await run(['push', 'good', '--project', 'vision', '--model', 'classifier', '--key', 'release.pem'], 0)).stdout.trim();
    const poor = (await run(['push', 'poor', '--project', 'vision', '--model', 'classifier', '--key', 'release.pem'], 0)).stdout.trim();

    // By the model's files (digested as push does) and by the version id push printed.
    await run(['attest', 'evaluation', '--model', 'good', '--metric', 'accuracy=0.95', '--metric', 'toxicity=0.001', '--dataset', 'holdout', '--key', 'release.pem', '--output', 'good.eval'], 0);
    await run(['attest', 'evaluation', '--version', poor, '--metrics', 'poor-metrics.json', '--key', 'release.pem', '--output', 'poor.eval'], 0);
    await run(['attest', 'verify', 'good', '--attestation', 'good.eval', '--key', 'release.pub.pem', '--type', 'evaluation'], 0);
    await run(['attest', 'verify', 'good', '--attestation', 'good.eval', '--key', 'release.pub.pem', '--type', 'provenance'], 1);
    const statement = JSON.parse(Buffer.from((JSON.parse(readFileSync(join(home, 'good.eval'), 'utf8')) as { dsseEnvelope: { payload: string } }).dsseEnvelope.payload, 'base64').toString()) as { subject: { digest: { sha256: string } }[]; predicate: { metrics: Record<string, number>; dataset?: { name: string } } };
    assert.equal(statement.subject[0]?.digest.sha256, good, 'the subject is the version id push printed');
    assert.deepEqual(statement.predicate.metrics, { accuracy: 0.95, toxicity: 0.001 });
    assert.equal(statement.predicate.dataset?.name, 'holdout');

    assert.equal((await requirement(`vision/classifier@${good}`)).passed, false, 'no evaluation attached yet');
    const attached = await run(['models', 'attach', `vision/classifier@${good}`, 'good.eval'], 0);
    assert.match(attached.stdout, /good\.eval: attestation \S+ verified/);
    assert.equal((await requirement(`vision/classifier@${good}`)).passed, true);
    await run(['models', 'attach', `vision/classifier@${poor}`, 'poor.eval'], 0);
    const low = await requirement(`vision/classifier@${poor}`);
    assert.equal(low.passed, false);
    assert.match(low.reason, /accuracy/);

    // Signed by a key the project does not trust: recorded, not verified, exit 1; and it does not count.
    await run(['attest', 'evaluation', '--version', poor, '--metric', 'accuracy=0.99', '--metric', 'toxicity=0', '--key', 'stranger.pem', '--output', 'forged.eval'], 0);
    const forged = await run(['models', 'attach', `vision/classifier@${poor}`, 'forged.eval', '--format', 'json'], 1);
    assert.equal((JSON.parse(forged.stdout) as { attachments: { verified: boolean }[] }).attachments[0]?.verified, false);
    assert.equal((await requirement(`vision/classifier@${poor}`)).passed, false);
  });

  it('refuses what it cannot sign as metrics, with a usage error', async () => {
    await run(['keygen', '--out', 'k'], 0);
    const v = 'a'.repeat(64);
    for (const args of [
      ['--version', v, '--metric', 'accuracy=high'],
      ['--version', v, '--metric', 'accuracy='],
      ['--version', v, '--metric', 'bad name=1'],
      ['--version', v],
      ['--version', 'abc', '--metric', 'a=1'],
      ['--model', 'good', '--version', v, '--metric', 'a=1'],
      ['--version', v, '--metric', 'a=1', '--evaluated-on', 'yesterday'],
    ]) {
      const r = await run(['attest', 'evaluation', ...args, '--key', 'k.pem'], 2);
      assert.match(r.stderr, /error USAGE:/, args.join(' '));
    }
    const r = await run(['models', 'attach', `vision/classifier@${v}`], 2);
    assert.match(r.stderr, /error USAGE:/);
  });
});
