// A registry with the console, listening on loopback, holding a demo-like project: a model with a
// clean signed version (provenance naming a registered dataset, an evaluation) that needs an approval
// for production, and a version blocked by its policy (a malicious pickle in the server's scan), plus
// hostile text wherever free text can reach a page: file names (and so findings), the builder id, a
// dataset's name in provenance, approval comments, a token description, a break-glass reason.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { readFileSync } from 'node:fs';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../../src/server/app.js';
import { openDataDir, type OpenedRegistry } from '../../src/server/start.js';
import { attach, evaluation, provenance, pushDataset, pushModel, setUpGovernance, signStatement, signer, type GovFixture } from '../server/governance-helpers.js';
import { TEST_RATE_LIMITS, workDir, type TestRegistry } from '../server/helpers.js';

export const XSS = {
  fileName: '<img src=x onerror=alert(1)>.pkl',
  cleanFile: '"><svg onload=alert(2)>.txt',
  builder: 'https://ci.example/<script>alert(3)</script>',
  dataset: '"><img src=x onerror=alert(4)>',
  comment: '<script>alert(5)</script><img src=x onerror=alert(6)>',
  description: '<iframe src=javascript:alert(7)>',
} as const;

/** A pickle that calls os.system when loaded (the server's scan reports it; nothing here loads it). */
export const EVIL_PICKLE = Buffer.from("cos\nsystem\n(S'echo pwned'\ntR.", 'latin1');

export const PASSWORD = 'correct horse battery staple 42';

export interface ConsoleFixture {
  reg: TestRegistry;
  gov: GovFixture;
  url: string;
  project: string;
  clean: string;
  blocked: string;
  wide: string;
  dataset: string;
  /** Account names by person (alice: contributor and uploader, bob: approver, vic: viewer, root: server admin with a password). */
  accounts: Record<string, string>;
  close(): Promise<void>;
}

export async function startConsoleRegistry(): Promise<{ reg: TestRegistry; opened: OpenedRegistry; app: FastifyInstance; url: string }> {
  const dataDir = join(workDir('console'), 'data');
  const opened = await openDataDir({ dataDir, version: '0.0.0-test', settings: { scan: true } });
  const app = await buildApp({ registry: opened.registry, audit: opened.audit, hide: [dataDir], version: '0.0.0-test', rateLimits: { ...TEST_RATE_LIMITS, login: { perSecond: 0, burst: 0 } }, store: opened.store });
  const url = await app.listen({ host: '127.0.0.1', port: 0 });
  const adminToken = readFileSync(join(dataDir, 'initial-admin-token'), 'utf8').trim();
  const reg: TestRegistry = {
    app,
    opened,
    dataDir,
    adminToken,
    call(method, path, o = {}) {
      const headers: Record<string, string> = { ...(o.headers ?? {}) };
      if (o.token !== undefined) headers['authorization'] = `Bearer ${o.token}`;
      let payload = o.payload;
      if (o.body !== undefined) {
        payload = JSON.stringify(o.body);
        headers['content-type'] ??= 'application/json';
      }
      return app.inject({ method: method as 'GET', url: path, headers, ...(payload === undefined ? {} : { payload }) });
    },
    async close() {
      await app.close();
      await opened.close();
    },
  };
  return { reg, opened, app, url };
}

export async function setUpConsole(): Promise<ConsoleFixture> {
  const { reg, url } = await startConsoleRegistry();
  const project = 'demo';
  const gov = await setUpGovernance(reg, project);
  const ok = async (method: string, path: string, body?: unknown, token = reg.adminToken): Promise<Record<string, unknown>> => {
    const r = await reg.call(method, path, { token, ...(body === undefined ? {} : { body }) });
    assert.ok(r.statusCode < 300, `${method} ${path}: ${r.statusCode} ${r.body}`);
    return r.json() as Record<string, unknown>;
  };
  await ok('POST', '/v1/accounts', { name: 'root', kind: 'user', password: PASSWORD, serverAdmin: true });
  await ok('POST', '/v1/tokens', { account: `vic-${project}`, ttlSeconds: 3600, description: XSS.description });

  const dataset = await pushDataset(gov, project, 'training', gov.keys.k1);
  const clean = await pushModel(gov, project, 'classifier', { files: { 'weights.txt': `weights ${Math.random()}`, [XSS.cleanFile]: 'notes' } });
  await attach(gov, project, 'classifier', clean, await signStatement(provenance('classifier', clean, { builder: XSS.builder, datasets: [{ name: XSS.dataset, digest: dataset }] }), signer(gov.keys.k1)));
  await attach(gov, project, 'classifier', clean, await signStatement(evaluation('classifier', clean, { accuracy: 0.95, toxicity: 0.004 }), signer(gov.keys.k1)));
  const blocked = await pushModel(gov, project, 'classifier', { files: { [XSS.fileName]: EVIL_PICKLE, 'config.json': '{"layers": 2}' } });

  // A version with 50 upstream artifacts (datasets, not registered here) for the lineage picture.
  const wide = await pushModel(gov, project, 'ensemble', { files: { 'weights.txt': `ensemble ${Math.random()}` } });
  const many = Array.from({ length: 50 }, (_, i) => ({ name: `shard-${String(i).padStart(2, '0')}-${'x'.repeat(i % 7)}`, digest: (i.toString(16).padStart(2, '0') + 'ab').repeat(16) }));
  await attach(gov, project, 'ensemble', wide, await signStatement(provenance('ensemble', wide, { builder: 'https://ci.example/ensemble@v2', datasets: [...many, { name: 'training', digest: dataset }] }), signer(gov.keys.k1)));
  await reg.opened.registry.idle();

  const accounts = { alice: `alice-${project}`, bob: `bob-${project}`, carol: `carol-${project}`, vic: `vic-${project}`, dave: `dave-${project}`, root: 'root' };
  return { reg, gov, url, project, clean, blocked, wide, dataset, accounts, close: () => reg.close() };
}
