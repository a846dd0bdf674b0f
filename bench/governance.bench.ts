// Governance (issue 11), against baselines measured in the same run.
//
// 1. Policy evaluation with 20 attestations: `POST …/policy-test` (what `custody policy test` and
//    every promotion run) for a model version carrying 20 attachments — two OMS signatures, a SLSA
//    provenance naming a registered, signed dataset, the server's scan attestation and 16 evaluation
//    attestations — under a policy that checks all of them (signatures 2, provenance with builder
//    allow-list and registered datasets, scan, metrics, one approval, max age). Every bundle is
//    re-verified on each evaluation. Target p99 < 50 ms. Baselines on the same in-process server:
//    GET of the same version (token, queries, audit append), and the default policy for a version
//    with a single signature.
// 2. `custody impact` over 100,000 versions and 1,000,000 lineage edges: the built CLI as a user runs
//    it (process start, HTTP, the walk, JSON out) against `custody registry serve` on a data directory
//    filled directly in SQLite (deterministic graph: 1,000 dataset versions and 99,000 model versions,
//    10 edges each — builder, code, key, token, account, five datasets or a base model). Target < 1 s.
//    Baseline: the same command for a builder nothing was built by (the same process start, request
//    and audit entry, an empty walk). The walk alone (in-process, no HTTP) is reported too.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import Database from 'better-sqlite3';
import { impactOf } from '../src/registry/lineage.js';
import { openDataDir } from '../src/server/start.js';
import type { KyselyMetadataStore } from '../src/store/kysely-store.js';
import { attach, evaluation, provenance, pushDataset, pushModel, setUpGovernance, signStatement, signer } from '../test/server/governance-helpers.js';
import { startTestRegistry } from '../test/server/helpers.js';
import { mulberry32 } from '../test/support/random.js';
import { parseBundle } from '../src/integrity/bundle.js';
import { parseStatement } from '../src/integrity/statement.js';

const WORK = resolve('bench', '.work');
const fmt = (n: number, digits = 1): string => n.toFixed(digits);

function quantiles(samples: number[]): { p50: number; p99: number; max: number } {
  const sorted = [...samples].sort((a, b) => a - b);
  const at = (q: number): number => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? NaN;
  return { p50: at(0.5), p99: at(0.99), max: sorted[sorted.length - 1] ?? NaN };
}

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
`;

async function benchPolicy(lines: string[]): Promise<void> {
  const reg = await startTestRegistry({ settings: { scan: true } });
  try {
    const f = await setUpGovernance(reg, 'bench');
    const ok = async (method: string, url: string, token: string, body?: unknown): Promise<Record<string, unknown>> => {
      const r = await reg.call(method, url, { token, ...(body === undefined ? {} : { body }) });
      if (r.statusCode >= 300) throw new Error(`${method} ${url}: ${r.statusCode} ${r.body}`);
      return r.json() as Record<string, unknown>;
    };
    const proposed = await ok('POST', '/v1/projects/bench/policies', f.tokens['dave'] ?? '', { document: STRICT });
    await ok('POST', `/v1/projects/bench/policies/${String(proposed['version'])}/decisions`, f.tokens['bob'] ?? '', { decision: 'approve' });
    const dataset = await pushDataset(f, 'bench', 'train', f.keys.k1);
    const v = await pushModel(f, 'bench', 'm');
    const base = `/v1/projects/bench/models/m/versions/${v}`;
    const shown = (await reg.call('GET', base, { token: reg.adminToken })).json() as { bundles: { signature: unknown } };
    const sig = parseBundle(JSON.stringify(shown.bundles.signature));
    await attach(f, 'bench', 'm', v, await signStatement(parseStatement(sig.dsseEnvelope.payloadType, Buffer.from(sig.dsseEnvelope.payload, 'base64')), signer(f.keys.k2)));
    await attach(f, 'bench', 'm', v, await signStatement(provenance('m', v, { datasets: [{ name: 'train', digest: dataset }] }), signer(f.keys.k1)));
    for (let i = 0; i < 16; i += 1) await attach(f, 'bench', 'm', v, await signStatement(evaluation('m', v, { accuracy: 0.95 - i / 1000, toxicity: 0.001 }), signer(i % 2 === 0 ? f.keys.k1 : f.keys.k2)));
    await ok('POST', `${base}/approvals`, f.tokens['bob'] ?? '', { to: 'production' });
    await reg.opened.registry.idle();
    const db = (reg.opened.store as KyselyMetadataStore).db;
    const row = await db.selectFrom('versions').select('id').where('digest', '=', v).executeTakeFirstOrThrow();
    const attachments = (await db.selectFrom('attachments').select('id').where('version_id', '=', row.id).execute()).length;
    const single = await pushModel(f, 'bench', 'single');
    await reg.opened.registry.idle();

    const runs = 300;
    const measure = async (url: string, method: string, body: unknown, expectPassed?: boolean): Promise<ReturnType<typeof quantiles>> => {
      const samples: number[] = [];
      for (let i = 0; i < runs + 30; i += 1) {
        const t = performance.now();
        const r = await reg.call(method, url, { token: f.tokens['carol'], ...(body === undefined ? {} : { body }) });
        const ms = performance.now() - t;
        if (r.statusCode !== 200) throw new Error(`${method} ${url}: ${r.statusCode} ${r.body}`);
        if (expectPassed !== undefined && (r.json() as { passed: boolean }).passed !== expectPassed) throw new Error(`${url}: unexpected verdict ${r.body.slice(0, 400)}`);
        if (i >= 30) samples.push(ms);
      }
      return quantiles(samples);
    };
    const strict = await measure(`${base}/policy-test`, 'POST', { to: 'production' }, true);
    const one = await measure(`/v1/projects/bench/models/single/versions/${single}/policy-test`, 'POST', { to: 'production' });
    const read = await measure(base, 'GET', undefined);
    lines.push(
      `Policy evaluation (target p99 < 50 ms): ${runs} sequential \`POST …/policy-test\` in process (Fastify inject), after 30 warm-up requests each:`,
      '',
      '| | p50 ms | p99 ms | max ms |',
      '|---|---|---|---|',
      `| production policy over ${attachments} attestations (every bundle re-verified; verdict: passed) | ${fmt(strict.p50)} | ${fmt(strict.p99)} | ${fmt(strict.max)} |`,
      `| baseline: default production policy, 1 signature | ${fmt(one.p50)} | ${fmt(one.p99)} | ${fmt(one.max)} |`,
      `| baseline: GET the same version (token, queries, audit append) | ${fmt(read.p50)} | ${fmt(read.p99)} | ${fmt(read.max)} |`,
      `| ratio p99, ${attachments} attestations / GET | ${fmt(strict.p99 / read.p99, 2)} × | | |`,
      '',
    );
  } finally {
    await reg.close();
  }
}

const hex = (label: string): string => createHash('sha256').update(label).digest('hex');

const DATASETS = 1000;
const MODELS = 99_000;
const BUILDERS = 20;

/** Fills the database: 100,000 versions, 1,000,000 edges. Returns the refs the bench asks about. */
function populate(dbPath: string): { dataset: { name: string; digest: string }; builder: string; edges: number; versions: number } {
  const db = new Database(dbPath);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = OFF');
  const now = Date.now();
  const rnd = mulberry32(11);
  const insertProject = db.prepare('INSERT INTO projects (name, created_at, created_by) VALUES (?, ?, ?)');
  const insertArtifact = db.prepare('INSERT INTO artifacts (project_id, kind, name, created_at) VALUES (?, ?, ?, ?)');
  const insertVersion = db.prepare("INSERT INTO versions (artifact_id, digest, manifest, files, bytes, status, scan_status, created_at, created_by, stage) VALUES (?, ?, ?, 1, 1, 'active', 'none', ?, 'bench', ?)");
  const insertEdge = db.prepare('INSERT INTO lineage_edges (version_id, kind, ref, label, verified, created_at) VALUES (?, ?, ?, ?, 1, ?)');
  const stages = ['candidate', 'candidate', 'candidate', 'staging', 'production', 'archived'];
  let edges = 0;
  const edge = (version: number, kind: string, ref: string, label: string): void => {
    insertEdge.run(version, kind, ref, label, now);
    edges += 1;
  };
  const datasetDigests: string[] = [];
  const modelDigests: string[] = [];
  const fill = db.transaction(() => {
    const project = Number(insertProject.run('bench', now, 'bench').lastInsertRowid);
    const manifest = '{"bench":true}';
    const common = (id: number, i: number): void => {
      edge(id, 'builder', `https://ci.example/builder-${i % BUILDERS}`, 'built by');
      edge(id, 'source', `https://git.example/ml/train@${hex(`commit ${i % 5000}`).slice(0, 40)}`, 'code');
      edge(id, 'key', hex(`key ${i % 50}`), 'signed by');
      edge(id, 'token', `tok-${hex(`token ${i % 500}`).slice(0, 24)}`, 'pushed with');
      edge(id, 'account', `account-${i % 100}`, 'pushed by');
    };
    for (let a = 0; a < DATASETS / 100; a += 1) {
      const artifact = Number(insertArtifact.run(project, 'dataset', `data-${a}`, now).lastInsertRowid);
      for (let k = 0; k < 100; k += 1) {
        const i = a * 100 + k;
        const digest = hex(`dataset ${i}`);
        datasetDigests.push(digest);
        const id = Number(insertVersion.run(artifact, digest, manifest, now, 'candidate').lastInsertRowid);
        common(id, i);
        for (let s = 0; s < 5; s += 1) edge(id, 'dataset', hex(`raw ${i} ${s}`), 'source data (not registered)');
      }
    }
    for (let a = 0; a < MODELS / 100; a += 1) {
      const artifact = Number(insertArtifact.run(project, 'model', `model-${a}`, now).lastInsertRowid);
      for (let k = 0; k < 100; k += 1) {
        const i = a * 100 + k;
        const digest = hex(`model ${i}`);
        const id = Number(insertVersion.run(artifact, digest, manifest, now, stages[Math.floor(rnd() * stages.length)] ?? 'candidate').lastInsertRowid);
        common(id, i);
        for (let s = 0; s < 4; s += 1) edge(id, 'dataset', datasetDigests[Math.floor(rnd() * DATASETS)] ?? '', 'train');
        if (i > 0 && rnd() < 0.1) edge(id, 'model', modelDigests[Math.floor(rnd() * i)] ?? '', 'base model');
        else edge(id, 'dataset', datasetDigests[Math.floor(rnd() * DATASETS)] ?? '', 'eval');
        modelDigests.push(digest);
      }
    }
  });
  fill();
  db.pragma('wal_checkpoint(TRUNCATE)');
  const versions = (db.prepare('SELECT count(*) AS n FROM versions').get() as { n: number }).n;
  db.close();
  return { dataset: { name: `data-${Math.floor(7 / 100)}`, digest: datasetDigests[7] ?? '' }, builder: 'https://ci.example/builder-3', edges, versions };
}

async function startServer(dataDir: string): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(process.execPath, ['bin/custody', 'registry', 'serve', '--data-dir', dataDir, '--port', '0', '--log-level', 'silent', '--no-scan', '--token-rate', '0'], { stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  const url = await new Promise<string>((resolveUrl, reject) => {
    child.stderr?.on('data', (c: Buffer) => {
      err += c.toString();
      const m = /listening on (\S+)/.exec(err);
      if (m) resolveUrl(m[1] as string);
    });
    child.on('exit', (code) => reject(new Error(`server exited ${String(code)}: ${err}`)));
  });
  return { child, url };
}

async function benchImpact(lines: string[]): Promise<void> {
  mkdirSync(WORK, { recursive: true });
  const base = mkdtempSync(join(WORK, 'governance-'));
  const dataDir = join(base, 'data');
  try {
    const opened = await openDataDir({ dataDir, version: '0.0.0-bench', settings: { scan: false } });
    await opened.close();
    const token = readFileSync(join(dataDir, 'initial-admin-token'), 'utf8').trim();
    let t = performance.now();
    const graph = populate(join(dataDir, 'registry.db'));
    const fillSeconds = (performance.now() - t) / 1000;

    // The walk alone, in process.
    const inproc = await openDataDir({ dataDir, version: '0.0.0-bench', settings: { scan: false } });
    const seed = (await inproc.store.versionsByDigest([graph.dataset.digest], null))[0];
    if (!seed) throw new Error('seed dataset missing');
    const walks: { label: string; ms: number[]; found: number }[] = [];
    for (const [label, start] of [
      ['dataset', { kind: 'dataset' as const, ref: seed.digest, seed }],
      ['builder', { kind: 'builder' as const, ref: graph.builder }],
    ] as const) {
      const ms: number[] = [];
      let found = 0;
      for (let i = 0; i < 6; i += 1) {
        t = performance.now();
        const r = await impactOf(inproc.store, start, () => true);
        if (i > 0) ms.push(performance.now() - t);
        found = r.versions.length;
      }
      walks.push({ label, ms, found });
    }
    await inproc.close();

    const server = await startServer(dataDir);
    const configDir = join(base, 'config');
    mkdirSync(configDir, { recursive: true });
    const env = { ...process.env, CUSTODY_URL: server.url, CUSTODY_TOKEN: token, CUSTODY_CONFIG_DIR: configDir, NO_COLOR: '1' };
    const runCli = (args: string[]): { ms: number; found: number } => {
      const started = performance.now();
      const r = spawnSync(process.execPath, ['bin/custody', ...args, '--format', 'json'], { env, encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 });
      const ms = performance.now() - started;
      if (r.status !== 0) throw new Error(`custody ${args.join(' ')}: exit ${String(r.status)} ${r.stderr.slice(0, 400)}`);
      return { ms, found: (JSON.parse(r.stdout) as { versions: unknown[] }).versions.length };
    };
    const cases: [string, string[]][] = [
      [`\`custody impact --dataset bench/${graph.dataset.name}@…\` (one training dataset)`, ['impact', '--dataset', `bench/${graph.dataset.name}@${graph.dataset.digest}`]],
      [`\`custody impact --builder …builder-3\` (one builder in ${BUILDERS})`, ['impact', '--builder', graph.builder]],
      ['baseline: `custody impact --builder` nobody used (empty walk)', ['impact', '--builder', 'https://nobody.example/builder']],
    ];
    const results: { label: string; ms: number[]; found: number }[] = [];
    try {
      runCli(cases[2]?.[1] ?? []);
      for (const [label, args] of cases) {
        const ms: number[] = [];
        let found = 0;
        for (let i = 0; i < 7; i += 1) {
          const r = runCli(args);
          ms.push(r.ms);
          found = r.found;
        }
        results.push({ label, ms, found });
      }
    } finally {
      server.child.kill('SIGTERM');
      await new Promise((r) => server.child.once('exit', r));
    }
    const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;
    const baseline = median(results[2]?.ms ?? []);
    lines.push(
      `\`custody impact\` (target < 1 s) over ${graph.versions.toLocaleString('en-US')} versions and ${graph.edges.toLocaleString('en-US')} lineage edges (filled in ${fmt(fillSeconds)} s); the built CLI against \`custody registry serve\` on loopback, 7 runs each:`,
      '',
      '| | versions found | median s | max s | × baseline |',
      '|---|---|---|---|---|',
      ...results.map((r) => `| ${r.label} | ${r.found.toLocaleString('en-US')} | ${fmt(median(r.ms) / 1000, 3)} | ${fmt(Math.max(...r.ms) / 1000, 3)} | ${fmt(median(r.ms) / baseline, 2)} |`),
      ...walks.map((w) => `| the walk alone, in process (${w.label}, no HTTP, no process start) | ${w.found.toLocaleString('en-US')} | ${fmt(median(w.ms) / 1000, 3)} | ${fmt(Math.max(...w.ms) / 1000, 3)} | |`),
      '',
    );
  } finally {
    rmSync(base, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const lines: string[] = ['## bench/governance.bench.ts', ''];
  await benchPolicy(lines);
  await benchImpact(lines);
  process.stdout.write(`${lines.join('\n')}\n`);
}

await main();
