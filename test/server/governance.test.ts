import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { parseBundle } from '../../src/integrity/bundle.js';
import { loadPublicKey } from '../../src/integrity/keys.js';
import { parseStatement } from '../../src/integrity/statement.js';
import { verifyVsa } from '../../src/integrity/vsa.js';
import type { KyselyMetadataStore } from '../../src/store/kysely-store.js';
import { attach, evaluation, provenance, pushDataset, pushModel, setUpGovernance, signer, signStatement, type GovFixture } from './governance-helpers.js';
import { startTestRegistry, type TestRegistry } from './helpers.js';

/**
 * Promotion gates through the HTTP API, one registry for the file: the default policy (Contract of
 * issue 11), the two-person rule, signed VSAs, policies changed only through approval, the
 * gate-bypass matrix (every requirement × every route and order × every role, server admin without
 * break-glass), break-glass, lineage and blast radius, the credential hygiene report.
 */

let reg: TestRegistry;

const promote = (token: string | undefined, project: string, name: string, version: string, to: string, breakGlass?: string) =>
  reg.call('POST', `/v1/projects/${project}/models/${name}/versions/${version}/promotions`, { token, body: { to, ...(breakGlass === undefined ? {} : { breakGlass }) } });
const decide = (token: string | undefined, project: string, name: string, version: string, to: string, decision: 'approve' | 'reject' = 'approve') =>
  reg.call('POST', `/v1/projects/${project}/models/${name}/versions/${version}/approvals`, { token, body: { to, decision } });
async function stageOf(project: string, name: string, version: string): Promise<{ stage: string; forced: boolean; aliases: string[] }> {
  const r = await reg.call('GET', `/v1/projects/${project}/models/${name}/versions/${version}`, { token: reg.adminToken });
  assert.equal(r.statusCode, 200, r.body);
  return r.json() as { stage: string; forced: boolean; aliases: string[] };
}
const failedIds = (body: string): string[] => {
  const e = (JSON.parse(body) as { error: { details?: { evaluation?: { evaluations: { target: string; requirements: { id: string; passed: boolean }[] }[] } } } }).error;
  return (e.details?.evaluation?.evaluations ?? []).flatMap((ev) => ev.requirements.filter((r) => !r.passed).map((r) => `${ev.target}:${r.id}`));
};
async function proposeAndApprove(f: GovFixture, project: string, document: string): Promise<number> {
  const made = await reg.call('POST', `/v1/projects/${project}/policies`, { token: f.tokens['dave'], body: { document } });
  assert.equal(made.statusCode, 201, made.body);
  const version = (made.json() as { version: number }).version;
  const decided = await reg.call('POST', `/v1/projects/${project}/policies/${version}/decisions`, { token: f.tokens['bob'], body: { decision: 'approve' } });
  assert.equal(decided.statusCode, 200, decided.body);
  assert.equal((decided.json() as { status: string }).status, 'active');
  return version;
}

before(async () => {
  reg = await startTestRegistry({ settings: { scan: true } });
});
after(async () => {
  await reg.close();
});

describe('the default policy (issue 11 Contract)', () => {
  let f: GovFixture;
  before(async () => {
    f = await setUpGovernance(reg, 'dflt');
  });

  it('staging needs a trusted signature and a clean scan; production adds one approval by someone else; the VSA verifies', async () => {
    const unsigned = await pushModel(f, 'dflt', 'm', { key: null });
    const untrusted = await pushModel(f, 'dflt', 'm', { key: f.keys.stranger });
    const pickle = Buffer.concat([Buffer.from([0x80, 0x02]), Buffer.from('cos\nsystem\n(X\x04\x00\x00\x00echotR.', 'latin1')]);
    const dirty = await pushModel(f, 'dflt', 'm', { files: { 'model.pkl': pickle } });
    const good = await pushModel(f, 'dflt', 'm');
    await reg.opened.registry.idle();
    for (const [v, why] of [[unsigned, 'staging:signatures'], [untrusted, 'staging:signatures'], [dirty, 'staging:scan']] as const) {
      const r = await promote(f.tokens['alice'], 'dflt', 'm', v, 'staging');
      assert.equal(r.statusCode, 422, r.body);
      assert.ok(failedIds(r.body).includes(why), `${why}: ${r.body}`);
      assert.equal((await stageOf('dflt', 'm', v)).stage, 'candidate');
    }
    const staged = await promote(f.tokens['alice'], 'dflt', 'm', good, 'staging');
    assert.equal(staged.statusCode, 201, staged.body);
    assert.equal((await stageOf('dflt', 'm', good)).stage, 'staging');

    const blocked = await promote(f.tokens['carol'], 'dflt', 'm', good, 'production');
    assert.equal(blocked.statusCode, 422);
    assert.deepEqual(failedIds(blocked.body), ['production:approvals']);
    assert.equal((await decide(f.tokens['alice'], 'dflt', 'm', good, 'production')).statusCode, 403, 'the uploader cannot approve');
    assert.equal((await decide(f.tokens['bob'], 'dflt', 'm', good, 'production')).statusCode, 201);
    const selfServe = await promote(f.tokens['bob'], 'dflt', 'm', good, 'production');
    assert.equal(selfServe.statusCode, 422, 'the approver requesting the promotion does not count');
    assert.deepEqual(failedIds(selfServe.body), ['production:approvals']);
    const promoted = await promote(f.tokens['carol'], 'dflt', 'm', good, 'production');
    assert.equal(promoted.statusCode, 201, promoted.body);
    assert.equal((await stageOf('dflt', 'm', good)).stage, 'production');

    const keys = (await reg.call('GET', '/v1/registry/keys', { token: f.tokens['vic'] })).json() as { vsa: { pem: string } };
    const holders = (await reg.call('GET', '/v1/projects/dflt/models/m/stages/production', { token: f.tokens['vic'] })).json() as { versions: { version: string; vsa: unknown }[] };
    assert.deepEqual(holders.versions.map((v) => v.version), [good]);
    const proof = await verifyVsa(parseBundle(JSON.stringify(holders.versions[0]?.vsa)), [loadPublicKey(keys.vsa.pem)], { digest: good, levels: ['CUSTODY_STAGE_PRODUCTION'], resourceUri: `custody:model/dflt/m@sha256:${good}` });
    assert.equal(proof.statement.predicate.verificationResult, 'PASSED');
    await assert.rejects(verifyVsa(parseBundle(JSON.stringify(holders.versions[0]?.vsa)), [loadPublicKey(keys.vsa.pem)], { digest: unsigned }), (e: { code?: string }) => e.code === 'SUBJECT_MISMATCH');

    // Production holds one version: the next one sends this one back to staging.
    const next = await pushModel(f, 'dflt', 'm');
    await reg.opened.registry.idle();
    assert.equal((await decide(f.tokens['bob'], 'dflt', 'm', next, 'production')).statusCode, 201);
    const skip = await promote(f.tokens['carol'], 'dflt', 'm', next, 'production');
    assert.equal(skip.statusCode, 201, `skipping staging meets staging's policy too: ${skip.body}`);
    assert.deepEqual((skip.json() as { displaced: string[] }).displaced, [good]);
    assert.equal((await stageOf('dflt', 'm', good)).stage, 'staging');
  });

  it('two-person rule: signer (key owner), uploader and requester cannot approve; two tokens of one person count once; other versions and targets do not count', async () => {
    await proposeAndApprove(f, 'dflt', 'version: 1\nstages:\n  production:\n    signatures: 1\n    approvals: 2\n');
    const owned = await reg.call('POST', '/v1/projects/dflt/keys', { token: f.tokens['dave'], body: { pem: f.keys.stranger.publicKeyPem, owner: 'erin-dflt' } });
    assert.equal(owned.statusCode, 201, owned.body);
    const v = await pushModel(f, 'dflt', 'two', { key: f.keys.stranger });
    const other = await pushModel(f, 'dflt', 'two');
    await reg.opened.registry.idle();
    assert.equal((await decide(f.tokens['erin'], 'dflt', 'two', v, 'production')).statusCode, 403, 'the owner of the signing key is a signer');
    assert.equal((await decide(f.tokens['alice'], 'dflt', 'two', v, 'production')).statusCode, 403, 'the uploader');
    assert.equal((await decide(f.tokens['trainer'], 'dflt', 'two', v, 'production')).statusCode, 403, 'service accounts are not people');
    const second = (await reg.call('POST', '/v1/tokens', { token: reg.adminToken, body: { account: 'bob-dflt', ttlSeconds: 600 } })).json() as { token: string };
    assert.equal((await decide(f.tokens['bob'], 'dflt', 'two', v, 'production')).statusCode, 201);
    assert.equal((await decide(second.token, 'dflt', 'two', v, 'production')).statusCode, 201, 'a replayed approval by the same person is recorded');
    assert.equal((await decide(f.tokens['carol'], 'dflt', 'two', other, 'production')).statusCode, 201, 'an approval of another version');
    assert.equal((await decide(f.tokens['carol'], 'dflt', 'two', v, 'staging')).statusCode, 201, 'an approval for another target');
    let r = await promote(f.tokens['dave'], 'dflt', 'two', v, 'production');
    assert.equal(r.statusCode, 422, 'bob twice, carol elsewhere: one approval');
    assert.match(r.body, /1 of 2 approval/);
    // An approval-shaped attestation signed by a trusted key is evidence of nothing.
    const fake = await signStatement(
      { _type: 'https://in-toto.io/Statement/v1', subject: [{ name: 'two', digest: { sha256: v } }], predicateType: 'https://github.com/custody-dev/custody/blob/main/docs/governance.md#approval-v1', predicate: { decision: 'approve', approver: 'vic-dflt', target: 'production' } },
      signer(f.keys.k1),
    );
    await attach(f, 'dflt', 'two', v, fake);
    r = await promote(f.tokens['dave'], 'dflt', 'two', v, 'production');
    assert.equal(r.statusCode, 422);
    assert.equal((await decide(f.tokens['carol'], 'dflt', 'two', v, 'production')).statusCode, 201);
    assert.equal((await promote(f.tokens['carol'], 'dflt', 'two', v, 'production')).statusCode, 422, 'carol requesting: her approval does not count');
    assert.equal((await decide(f.tokens['vic'], 'dflt', 'two', v, 'production')).statusCode, 403, 'viewers cannot approve');
    r = await promote(f.tokens['dave'], 'dflt', 'two', v, 'production');
    assert.equal(r.statusCode, 201, r.body);
    // A rejection by an eligible person blocks, until that person approves.
    const w = await pushModel(f, 'dflt', 'two');
    for (const who of ['bob', 'carol']) assert.equal((await decide(f.tokens[who], 'dflt', 'two', w, 'production')).statusCode, 201);
    assert.equal((await decide(f.tokens['dave'], 'dflt', 'two', w, 'production', 'reject')).statusCode, 201);
    r = await promote(f.tokens['erin'], 'dflt', 'two', w, 'production');
    assert.equal(r.statusCode, 422);
    assert.match(r.body, /rejected by dave-dflt/);
  });
});

describe('policies change only through approval', () => {
  let f: GovFixture;
  before(async () => {
    f = await setUpGovernance(reg, 'pol');
  });

  it('validates, versions, needs another person, and voids approvals bound to the old version', async () => {
    const bad = await reg.call('POST', '/v1/projects/pol/policies', { token: f.tokens['dave'], body: { document: 'version: 2\nstages:\n  production:\n    approvals: many\n    evaluation: {metrics: ["accuracy >> 1"]}\n    bogus: 1\n' } });
    assert.equal(bad.statusCode, 422);
    const problems = (bad.json() as { error: { code: string; details: { problems: { path: string }[] } } }).error;
    assert.equal(problems.code, 'POLICY_INVALID');
    assert.deepEqual(problems.details.problems.map((p) => p.path).sort(), ['policy.stages.production.approvals', 'policy.stages.production.bogus', 'policy.stages.production.evaluation.metrics[0]', 'policy.version']);
    assert.equal((await reg.call('POST', '/v1/projects/pol/policies', { token: f.tokens['bob'], body: { document: 'version: 1\n' } })).statusCode, 403, 'approvers do not propose');
    const made = await reg.call('POST', '/v1/projects/pol/policies', { token: f.tokens['dave'], body: { document: 'version: 1\nstages:\n  production:\n    approvals: 1\n    signatures: 1\n' } });
    assert.equal(made.statusCode, 201, made.body);
    assert.equal((await reg.call('POST', '/v1/projects/pol/policies/1/decisions', { token: f.tokens['dave'], body: { decision: 'approve' } })).statusCode, 403, 'not by its proposer');
    assert.equal((await reg.call('POST', '/v1/projects/pol/policies/1/decisions', { token: reg.adminToken, body: { decision: 'approve' } })).statusCode, 200);
    assert.equal(((await reg.call('GET', '/v1/projects/pol/policy', { token: f.tokens['vic'] })).json() as { version: number }).version, 1);

    const v = await pushModel(f, 'pol', 'm');
    await reg.opened.registry.idle();
    assert.equal((await decide(f.tokens['bob'], 'pol', 'm', v, 'production')).statusCode, 201);
    // The policy is swapped between approval and promotion: the approval no longer counts.
    await proposeAndApprove(f, 'pol', 'version: 1\nstages:\n  production:\n    approvals: 1\n    signatures: 1\n    maxVersions: 2\n');
    const r = await promote(f.tokens['carol'], 'pol', 'm', v, 'production');
    assert.equal(r.statusCode, 422);
    assert.match(r.body, /decision\(s\) for another target or policy version/);
    assert.equal((await decide(f.tokens['bob'], 'pol', 'm', v, 'production')).statusCode, 201);
    assert.equal((await promote(f.tokens['carol'], 'pol', 'm', v, 'production')).statusCode, 201);
    const history = (await reg.call('GET', '/v1/projects/pol/policies', { token: f.tokens['vic'] })).json() as { policies: { version: number; status: string }[] };
    assert.deepEqual(history.policies.map((p) => `${p.version}:${p.status}`), ['1:superseded', '2:active']);
  });
});

describe('gate-bypass matrix', () => {
  let f: GovFixture;
  const STRICT = `version: 1
stages:
  staging: {}
  production:
    signatures: { min: 2 }
    provenance: { builders: ["https://ci.example/train@v1"], requireDatasets: true }
    scan: { failOn: high }
    evaluation: { metrics: ["accuracy >= 0.9", "toxicity <= 0.01"] }
    approvals: 1
    maxAge: 30d
aliases:
  champion: { stage: production }
breakGlass: forbidden
`;
  let dataset = '';
  let unsignedDataset = '';

  /** A version with everything the strict policy asks, minus what `omit` names. */
  async function build(omit: string): Promise<string> {
    const pickle = Buffer.concat([Buffer.from([0x80, 0x02]), Buffer.from('cos\nsystem\n(X\x04\x00\x00\x00echotR.', 'latin1')]);
    const v = await pushModel(f, 'gate', 'm', omit === 'scan' ? { files: { 'model.pkl': pickle } } : {});
    if (omit !== 'second-signature') {
      const shown = (await reg.call('GET', `/v1/projects/gate/models/m/versions/${v}`, { token: reg.adminToken })).json() as { bundles: { signature: unknown } };
      const sig = parseBundle(JSON.stringify(shown.bundles.signature));
      const statement = parseStatement(sig.dsseEnvelope.payloadType, Buffer.from(sig.dsseEnvelope.payload, 'base64'));
      await attach(f, 'gate', 'm', v, await signStatement(statement, signer(f.keys.k2)));
    }
    if (omit !== 'provenance') {
      const datasets = omit === 'unregistered-dataset' ? [{ name: 'mystery', digest: 'f'.repeat(64) }] : omit === 'unsigned-dataset' ? [{ name: 'raw', digest: unsignedDataset }] : [{ name: 'train', digest: dataset }];
      const statement = provenance('m', v, { builder: omit === 'builder' ? 'https://laptop.example/me' : 'https://ci.example/train@v1', datasets });
      await attach(f, 'gate', 'm', v, await signStatement(statement, signer(omit === 'untrusted-provenance' ? f.keys.stranger : f.keys.k1)));
    }
    if (omit !== 'evaluation') {
      const metrics = omit === 'metric' ? { accuracy: 0.85, toxicity: 0.001 } : omit === 'missing-metric' ? { accuracy: 0.95 } : { accuracy: 0.95, toxicity: 0.001 };
      const about = omit === 'evaluation-of-another' ? dataset : v;
      const bundle = await signStatement(evaluation('m', about, metrics), signer(f.keys.k1));
      if (omit === 'evaluation-of-another') {
        const r = await reg.call('POST', `/v1/projects/gate/models/m/versions/${v}/attestations`, { token: f.tokens['alice'], body: { bundle: JSON.parse(JSON.stringify(bundle)) as unknown } });
        assert.equal((r.json() as { verified: boolean }).verified, false);
      } else await attach(f, 'gate', 'm', v, bundle);
    }
    if (omit === 'max-age') {
      const db = (reg.opened.store as KyselyMetadataStore).db;
      const row = await db.selectFrom('versions').select('id').where('digest', '=', v).executeTakeFirstOrThrow();
      await db.updateTable('attachments').set({ created_at: Date.now() - 40 * 86_400_000 }).where('version_id', '=', row.id).where('kind', '=', 'attestation').execute();
    }
    if (omit !== 'approval') {
      const who = omit === 'approval-by-uploader' ? 'alice' : omit === 'approval-for-staging' ? 'carol' : 'bob';
      const r = await decide(f.tokens[who], 'gate', 'm', v, omit === 'approval-for-staging' ? 'staging' : 'production');
      assert.equal(r.statusCode, who === 'alice' ? 403 : 201, r.body);
    }
    await reg.opened.registry.idle();
    return v;
  }

  before(async () => {
    f = await setUpGovernance(reg, 'gate');
    dataset = await pushDataset(f, 'gate', 'train', f.keys.k1);
    unsignedDataset = await pushDataset(f, 'gate', 'raw', null);
    await proposeAndApprove(f, 'gate', STRICT);
  });

  it('lets a version with every requirement through (the control), and nothing else through any route, in any order, for any role', async () => {
    const control = await build('none');
    assert.equal((await promote(f.tokens['alice'], 'gate', 'm', control, 'staging')).statusCode, 201);
    const ok = await promote(f.tokens['carol'], 'gate', 'm', control, 'production');
    assert.equal(ok.statusCode, 201, ok.body);

    const cases: Record<string, string> = {
      'second-signature': 'production:signatures',
      provenance: 'production:provenance',
      'untrusted-provenance': 'production:provenance',
      builder: 'production:provenance',
      'unregistered-dataset': 'production:provenance',
      'unsigned-dataset': 'production:provenance',
      scan: 'production:scan',
      evaluation: 'production:evaluation',
      'evaluation-of-another': 'production:evaluation',
      metric: 'production:evaluation',
      'missing-metric': 'production:evaluation',
      approval: 'production:approvals',
      'approval-by-uploader': 'production:approvals',
      'approval-for-staging': 'production:approvals',
      'max-age': 'production:max-age',
    };
    const failures: string[] = [];
    let tries = 0;
    for (const [omit, requirement] of Object.entries(cases)) {
      const v = await build(omit);
      // Straight from candidate to production, through staging, and the alias, by every role and the server admin.
      for (const who of ['alice', 'bob', 'carol', 'dave', 'vic', 'trainer', 'sadmin']) {
        for (const to of ['production', 'champion']) {
          const r = await promote(f.tokens[who], 'gate', 'm', v, to);
          tries += 1;
          if (r.statusCode === 201) failures.push(`${omit}: ${who} moved it to ${to}`);
          if (r.statusCode === 422 && to === 'production' && !failedIds(r.body).includes(requirement)) failures.push(`${omit}: ${who} refused without ${requirement}: ${failedIds(r.body).join(',')}`);
        }
      }
      const staged = await promote(f.tokens['alice'], 'gate', 'm', v, 'staging');
      if (staged.statusCode !== 201) failures.push(`${omit}: staging (no requirements) refused: ${staged.body}`);
      for (const who of ['carol', 'dave', 'sadmin']) {
        for (const to of ['production', 'champion']) {
          const r = await promote(f.tokens[who], 'gate', 'm', v, to);
          tries += 1;
          if (r.statusCode === 201) failures.push(`${omit}: ${who} moved it from staging to ${to}`);
        }
      }
      const forced = await promote(reg.adminToken, 'gate', 'm', v, 'production', 'the pager says so, and it is 3 am');
      if (forced.statusCode !== 403) failures.push(`${omit}: break-glass where the policy forbids it answered ${forced.statusCode}`);
      const state = await stageOf('gate', 'm', v);
      if (state.stage === 'production' || state.aliases.length > 0) failures.push(`${omit}: ended in ${state.stage} ${state.aliases.join(',')}`);
    }
    assert.deepEqual(failures, []);
    assert.ok(tries >= 15 * 20, `${tries} attempts`);
    const holders = (await reg.call('GET', '/v1/projects/gate/models/m/stages/production', { token: reg.adminToken })).json() as { versions: { version: string }[] };
    assert.deepEqual(holders.versions.map((h) => h.version), [control], 'production holds only the control');
  });

  it('moves an alias only through the same gate, and only to a version in its stage', async () => {
    const v = await build('none');
    let r = await promote(f.tokens['carol'], 'gate', 'm', v, 'champion');
    assert.equal(r.statusCode, 422);
    assert.deepEqual(failedIds(r.body), ['champion:stage']);
    assert.equal((await promote(f.tokens['carol'], 'gate', 'm', v, 'production')).statusCode, 201);
    r = await promote(f.tokens['carol'], 'gate', 'm', v, 'champion');
    assert.equal(r.statusCode, 422, 'approvals are bound to their target: production approvals do not move champion');
    assert.deepEqual(failedIds(r.body), ['champion:approvals']);
    assert.equal((await decide(f.tokens['bob'], 'gate', 'm', v, 'champion')).statusCode, 201);
    r = await promote(f.tokens['carol'], 'gate', 'm', v, 'champion');
    assert.equal(r.statusCode, 201, r.body);
    assert.deepEqual((await stageOf('gate', 'm', v)).aliases, ['champion']);
    assert.equal((await promote(f.tokens['carol'], 'gate', 'm', v, 'nonesuch')).statusCode, 404, 'undeclared alias');
  });
});

describe('break-glass', () => {
  let f: GovFixture;
  before(async () => {
    f = await setUpGovernance(reg, 'glass');
  });

  it('lets only a server admin force a promotion, with a written reason, marked forced everywhere and in its VSA', async () => {
    const v = await pushModel(f, 'glass', 'm', { key: null });
    await reg.opened.registry.idle();
    assert.equal((await promote(f.tokens['dave'], 'glass', 'm', v, 'production', 'the project admin is not a server admin')).statusCode, 403);
    assert.equal((await promote(reg.adminToken, 'glass', 'm', v, 'production', 'short')).statusCode, 400, 'a reason is required');
    const r = await promote(reg.adminToken, 'glass', 'm', v, 'production', 'incident 42: roll forward the hotfix now');
    assert.equal(r.statusCode, 201, r.body);
    assert.equal((r.json() as { forced: boolean }).forced, true);
    const state = await stageOf('glass', 'm', v);
    assert.deepEqual([state.stage, state.forced], ['production', true]);
    const keys = (await reg.call('GET', '/v1/registry/keys', { token: f.tokens['vic'] })).json() as { vsa: { pem: string } };
    const holders = (await reg.call('GET', '/v1/projects/glass/models/m/stages/production', { token: f.tokens['vic'] })).json() as { versions: { forced: boolean; vsa: unknown }[] };
    assert.equal(holders.versions[0]?.forced, true);
    await assert.rejects(verifyVsa(parseBundle(JSON.stringify(holders.versions[0]?.vsa)), [loadPublicKey(keys.vsa.pem)], { digest: v, levels: ['CUSTODY_STAGE_PRODUCTION'] }), (e: { code?: string }) => e.code === 'SIGNATURE_INVALID');
  });
});

describe('lineage, impact and hygiene', () => {
  let f: GovFixture;
  before(async () => {
    f = await setUpGovernance(reg, 'lin');
  });

  it('links versions to their datasets, builder, keys and tokens, and finds everything downstream, transitively', async () => {
    const data = await pushDataset(f, 'lin', 'corpus', f.keys.k1);
    const base = await pushModel(f, 'lin', 'base');
    await attach(f, 'lin', 'base', base, await signStatement(provenance('base', base, { datasets: [{ name: 'corpus', digest: data }] }), signer(f.keys.k1)));
    const tuned = await pushModel(f, 'lin', 'tuned');
    const tunedProv = provenance('tuned', tuned);
    tunedProv.predicate.buildDefinition.resolvedDependencies.push({ name: 'base', digest: { sha256: base }, annotations: { role: 'model' } });
    await attach(f, 'lin', 'tuned', tuned, await signStatement(tunedProv, signer(f.keys.k1)));
    const unrelated = await pushModel(f, 'lin', 'other');
    void unrelated;
    const impact = (await reg.call('GET', `/v1/impact?kind=dataset&ref=${data}&project=lin&name=corpus`, { token: f.tokens['vic'] })).json() as { versions: { name: string; depth: number; stage: string }[] };
    assert.deepEqual(impact.versions.map((v) => `${v.name}@${v.depth}:${v.stage}`), ['base@1:candidate', 'tuned@2:candidate']);
    const lineage = (await reg.call('GET', `/v1/projects/lin/models/tuned/versions/${tuned}/lineage`, { token: f.tokens['vic'] })).json() as { nodes: { kind: string; name?: string }[] };
    assert.ok(lineage.nodes.some((n) => n.kind === 'version' && n.name === 'corpus'), 'the dataset two hops up');
    for (const kind of ['builder', 'key', 'token', 'account', 'source']) assert.ok(lineage.nodes.some((n) => n.kind === kind), kind);
    const byKey = (await reg.call('GET', `/v1/impact?kind=key&ref=${loadPublicKey(f.keys.k1.publicKeyPem).hint}`, { token: f.tokens['vic'] })).json() as { versions: { name: string }[] };
    assert.ok(byKey.versions.length >= 4);
    const byBuilder = (await reg.call('GET', `/v1/impact?kind=builder&ref=${encodeURIComponent('https://ci.example/train@v1')}&project=lin`, { token: f.tokens['vic'] })).json() as { versions: { name: string }[] };
    assert.deepEqual(byBuilder.versions.map((v) => v.name).sort(), ['base', 'tuned']);
    // A viewer of another project sees nothing of this one.
    const outsider = await setUpGovernance(reg, 'lin2');
    const hidden = (await reg.call('GET', `/v1/impact?kind=key&ref=${loadPublicKey(f.keys.k1.publicKeyPem).hint}`, { token: outsider.tokens['vic'] })).json() as { versions: unknown[] };
    assert.deepEqual(hidden.versions, []);
  });

  it('reports unused, long-lived and broad tokens, tokens of disabled accounts and unused rights', async () => {
    const made = (await reg.call('POST', '/v1/tokens', { token: reg.adminToken, body: { account: 'vic-lin', ttlSeconds: 20 * 3600 } })).json() as { id: string; token: string };
    assert.equal((await reg.call('POST', '/v1/accounts/vic-lin/disable', { token: f.tokens['dave'] })).statusCode, 403, 'server admins only');
    assert.equal((await reg.call('POST', '/v1/accounts/vic-lin/disable', { token: reg.adminToken })).statusCode, 200);
    assert.equal((await reg.call('GET', '/v1/whoami', { token: made.token })).statusCode, 401, 'a disabled account\'s tokens stop working');
    await reg.opened.registry.idle();
    const report = (await reg.call('GET', '/v1/tokens/report?unusedDays=0&maxLifetimeDays=0', { token: reg.adminToken })).json() as { longLived: { id: string }[]; broad: { id: string }[]; disabledAccounts: { id: string }[]; unused: { id: string }[]; unusedRights: { account: string; unusedActions: string[] }[] };
    assert.ok(report.longLived.some((t) => t.id === made.id), 'lives longer than 0 days');
    assert.ok(report.disabledAccounts.some((t) => t.id === made.id));
    assert.ok(report.broad.some((t) => t.id === made.id), 'every project, every action');
    assert.ok(report.unused.some((t) => t.id === made.id));
    const trainer = report.unusedRights.find((u) => u.account === 'ci-lin');
    assert.deepEqual(trainer?.unusedActions.sort(), ['version.attach', 'version.push']);
    assert.equal((await reg.call('GET', '/v1/tokens/report', { token: f.tokens['dave'] })).statusCode, 403);
  });
});
