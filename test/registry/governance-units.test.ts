import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { describe, it } from 'node:test';
import { isCustodyError } from '../../src/core/errors.js';
import { buildTokenReport } from '../../src/registry/hygiene.js';
import { graphToDot, graphToMermaid, graphToText, type Graph } from '../../src/registry/lineage.js';
import { checkOidcUrl, JwksCache } from '../../src/registry/oidc.js';
import { DEFAULT_POLICY, digestPolicy, meetsThreshold, parsePolicy, parseThreshold, requirementsOf, vsaLevel } from '../../src/registry/policy.js';
import type { AccountRecord, TokenRecord } from '../../src/store/metadata.js';

function problemsOf(text: string): string[] {
  try {
    parsePolicy(text);
  } catch (error) {
    assert.ok(isCustodyError(error), String(error));
    assert.equal(error.code, 'POLICY_INVALID', error.message);
    return ((error.details?.['problems'] ?? []) as { path: string }[]).map((p) => p.path);
  }
  return [];
}

describe('policy documents', () => {
  it('keep the default requirements for stages a policy leaves out, and none for a stage written empty', () => {
    const p = parsePolicy('version: 1\nstages:\n  staging: {}\n');
    assert.deepEqual(p.stages.staging, { maxVersions: null });
    assert.deepEqual(p.stages.production, DEFAULT_POLICY.stages.production, 'forgetting production does not open it');
    assert.equal(digestPolicy(parsePolicy('version: 1\n')), digestPolicy(DEFAULT_POLICY), 'the digest is of the meaning, not the text');
    assert.notEqual(digestPolicy(parsePolicy('version: 1\nbreakGlass: forbidden\n')), digestPolicy(DEFAULT_POLICY));
  });

  it('read every requirement the issue lists', () => {
    const p = parsePolicy(`version: 1
stages:
  production:
    signatures: { min: 2, keys: ["${'a'.repeat(64)}", "${'b'.repeat(64)}"] }
    provenance: { builders: [https://ci.example/x], materials: registered, datasetProjects: [data], requireDatasets: true }
    scan: { failOn: medium, rules: [models/pickle-unsafe-global] }
    evaluation: { metrics: ["accuracy >= 0.92", "toxicity <= 0.01"] }
    approvals: { min: 2 }
    maxAge: 30d
    maxVersions: 2
aliases:
  champion: { stage: production, approvals: 1 }
datasets: { signatures: 1, validation: required }
changes: { approvals: 2 }
`);
    const prod = p.stages.production;
    assert.deepEqual(prod.signatures, { min: 2, keys: ['a'.repeat(64), 'b'.repeat(64)] });
    assert.deepEqual(prod.evaluation?.metrics, [{ metric: 'accuracy', op: '>=', value: 0.92 }, { metric: 'toxicity', op: '<=', value: 0.01 }]);
    assert.equal(prod.maxAgeSeconds, 30 * 86400);
    assert.equal(prod.maxVersions, 2);
    assert.deepEqual(requirementsOf(p, 'champion').requirements, { approvals: { min: 1 } });
    assert.equal(requirementsOf(p, 'champion').stage, 'production');
    assert.equal(p.changeApprovals, 2);
    assert.deepEqual(p.datasets, { signatures: 1, validation: 'required' });
  });

  it('collect every problem at once, with its path', () => {
    assert.deepEqual(
      problemsOf(`version: 1
stages:
  production:
    signatures: { min: 3, keys: ["${'a'.repeat(64)}"] }
    scan: { failOn: severe }
    evaluation: { metrics: ["accuracy => 0.9", "f1 >= x"] }
    approvals: -1
    maxAge: forever
  canary: {}
aliases:
  production: { stage: production }
  Champion: {}
breakGlass: sometimes
`).sort(),
      [
        'policy.aliases.Champion',
        'policy.aliases.production',
        'policy.breakGlass',
        'policy.stages.canary',
        'policy.stages.production.approvals',
        'policy.stages.production.evaluation.metrics[0]',
        'policy.stages.production.evaluation.metrics[1]',
        'policy.stages.production.maxAge',
        'policy.stages.production.scan.failOn',
        'policy.stages.production.signatures.keys',
      ],
    );
    assert.deepEqual(problemsOf('version: 1\nchanges: { approvals: 0 }\n'), ['policy.changes.approvals'], 'a policy cannot waive its own approval');
  });

  it('refuse what is not a bounded mapping: alias bombs, duplicate keys, oversized text', () => {
    const bomb = ['version: 1', 'a: &a [x, x, x, x, x, x, x, x, x]', ...Array.from({ length: 12 }, (_, i) => `${String.fromCharCode(98 + i)}: &${String.fromCharCode(98 + i)} [*${String.fromCharCode(97 + i)}, *${String.fromCharCode(97 + i)}, *${String.fromCharCode(97 + i)}, *${String.fromCharCode(97 + i)}]`)].join('\n');
    assert.throws(() => parsePolicy(bomb), (e: unknown) => isCustodyError(e) && (e.code === 'POLICY_INVALID' || e.code === 'INPUT_LIMIT'));
    assert.throws(() => parsePolicy('version: 1\nversion: 1\n'), (e: unknown) => isCustodyError(e, 'POLICY_INVALID'));
    assert.throws(() => parsePolicy(`version: 1\n# ${'x'.repeat(70_000)}\n`), (e: unknown) => isCustodyError(e, 'INPUT_LIMIT'));
    assert.throws(() => parsePolicy('- just\n- a list\n'), (e: unknown) => isCustodyError(e, 'POLICY_INVALID'));
  });

  it('compare thresholds exactly at the boundary', () => {
    const ge = parseThreshold('accuracy >= 0.92');
    assert.ok(ge);
    assert.equal(meetsThreshold(0.92, ge), true);
    assert.equal(meetsThreshold(0.9199999, ge), false);
    const lt = parseThreshold('toxicity<0.01');
    assert.ok(lt);
    assert.equal(meetsThreshold(0.01, lt), false);
    for (const bad of ['accuracy', '>= 0.9', 'accuracy >= ', 'accuracy ≥ 0.9', 'acc uracy >= 1', 'accuracy >= 1e999']) assert.equal(parseThreshold(bad), undefined, bad);
    assert.equal(vsaLevel('champion-2', true), 'CUSTODY_ALIAS_CHAMPION_2');
    assert.equal(vsaLevel('production', false), 'CUSTODY_STAGE_PRODUCTION');
  });
});

describe('lineage renderings', () => {
  const graph: Graph = {
    root: 'v:1',
    nodes: [
      { id: 'v:1', kind: 'version', label: 'p/m@abc', artifactKind: 'model', stage: 'production' },
      { id: 'builder:x', kind: 'builder', label: 'evil"]; click n0 "javascript:alert(1)"\n}' },
    ],
    edges: [{ from: 'builder:x', to: 'v:1', label: 'built by"]-->', verified: false }],
    truncated: false,
  };

  it('escape labels from provenance so a builder id cannot inject Mermaid or DOT', () => {
    const mermaid = graphToMermaid(graph);
    assert.ok(!mermaid.includes('"]; click'), mermaid);
    assert.equal(mermaid.split('\n').filter((l) => l.trim() !== '').length, 4, 'one line per node and edge');
    const dot = graphToDot(graph);
    assert.ok(dot.includes('\\"'), dot);
    assert.equal((dot.match(/^ {2}n\d/gm) ?? []).length, 3);
    assert.match(graphToText(graph), /built by"\]--> \(unverified\): builder: evil/);
  });
});

describe('OIDC URLs and the JWKS cache', () => {
  it('takes HTTPS issuers only, HTTP only to loopback and only when allowed', () => {
    assert.equal(checkOidcUrl('https://token.actions.githubusercontent.com', false).host, 'token.actions.githubusercontent.com');
    for (const [url, allow] of [['http://issuer.example', true], ['http://127.0.0.1:9', false], ['https://user:pw@issuer.example', false], ['ftp://x', true], ['not a url', true]] as const) {
      assert.throws(() => checkOidcUrl(url, allow), (e: unknown) => isCustodyError(e, 'REQUEST_INVALID'), url);
    }
    assert.equal(checkOidcUrl('http://127.0.0.1:9', true).port, '9');
  });

  it('keeps at most maxEntries issuers, shares one fetch between concurrent callers, and refuses redirects', async () => {
    let hits = 0;
    const server = createServer((req, res) => {
      hits += 1;
      const host = `http://${req.headers.host ?? ''}`;
      const prefix = (req.url ?? '').split('/.well-known')[0]?.split('/keys')[0] ?? '';
      if (prefix === '/redirect') return void res.writeHead(302, { location: 'https://elsewhere.example/' }).end();
      if ((req.url ?? '').endsWith('/.well-known/openid-configuration')) return void res.writeHead(200).end(JSON.stringify({ issuer: `${host}${prefix}`, jwks_uri: `${host}${prefix}/keys` }));
      res.writeHead(200).end(JSON.stringify({ keys: [{ kty: 'EC', kid: 'k', crv: 'P-256', x: 'x', y: 'y' }] }));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as { port: number }).port;
    try {
      const cache = new JwksCache({ allowInsecureLoopback: true, maxEntries: 2, timeoutMs: 2000 });
      const base = `http://127.0.0.1:${port}`;
      await Promise.all([cache.keys(`${base}/a`), cache.keys(`${base}/a`), cache.keys(`${base}/a`)]);
      assert.equal(hits, 2, 'one discovery and one key fetch for three concurrent callers');
      await cache.keys(`${base}/b`);
      await cache.keys(`${base}/c`);
      assert.equal(cache.size, 2);
      await assert.rejects(cache.keys(`${base}/redirect`), (e: unknown) => isCustodyError(e, 'OIDC_REFUSED'));
      await assert.rejects(new JwksCache().keys(`${base}/a`), (e: unknown) => isCustodyError(e, 'REQUEST_INVALID'), 'plain HTTP without the option');
    } finally {
      server.close();
    }
  });
});

describe('credential hygiene', () => {
  const DAY = 86_400_000;
  const now = Date.parse('2030-01-31T00:00:00Z');
  const account = (name: string, kind: 'user' | 'service', disabledAt: number | null = null): AccountRecord => ({ id: name.length, name, kind, serverAdmin: false, passwordHash: null, createdAt: 0, createdBy: 'x', disabledAt });
  const token = (id: string, acct: string, extra: Partial<TokenRecord>): TokenRecord => ({ id, accountId: 1, account: acct, accountKind: 'user', accountServerAdmin: false, hash: id, project: 'p', actions: ['artifact.read'], description: '', createdAt: now - DAY, createdBy: 'x', expiresAt: now + DAY, revokedAt: null, lastUsedAt: now - 1000, ...extra });

  it('finds each kind of problem, and only those (boundaries included)', () => {
    const report = buildTokenReport(
      {
        accounts: [account('ann', 'user'), account('gone', 'user', now - DAY), account('ci', 'service')],
        tokens: [
          token('fresh', 'ann', {}),
          token('stale', 'ann', { lastUsedAt: now - 31 * DAY, createdAt: now - 40 * DAY, expiresAt: now + DAY }),
          token('edge', 'ann', { lastUsedAt: now - 30 * DAY + 1000 }),
          token('long', 'ann', { expiresAt: now + 10 * DAY }),
          token('week', 'ann', { createdAt: now - DAY, expiresAt: now + 6 * DAY }),
          token('wide', 'ann', { project: null }),
          token('orphan', 'gone', {}),
          token('revoked', 'gone', { revokedAt: now - DAY, project: null }),
          token('expired', 'ann', { expiresAt: now - 1, project: null }),
        ],
        grants: [{ project: 'p', account: 'ci', accountKind: 'service', role: 'trainer', models: null, grantedAt: 0, grantedBy: 'x' }],
        usage: [{ accountId: 3, account: 'ci', project: 'p', action: 'version.push', lastUsedAt: now - DAY }],
      },
      { now, unusedDays: 30, maxLifetimeDays: 7 },
    );
    assert.deepEqual(report.unused.map((t) => t.id), ['stale']);
    assert.deepEqual(report.longLived.map((t) => t.id), ['stale', 'long']);
    assert.deepEqual(report.broad.map((t) => t.id), ['wide']);
    assert.deepEqual(report.disabledAccounts.map((t) => t.id), ['orphan']);
    assert.deepEqual(report.unusedRights, [{ account: 'ci', project: 'p', role: 'trainer', unusedActions: ['version.attach'], lastUsedAt: new Date(now - DAY).toISOString() }]);
  });
});
