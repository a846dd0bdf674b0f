#!/usr/bin/env node
// `npm start`: runs the registry on 127.0.0.1 with a fresh demo data directory (examples/.demo-registry/),
// pushes the example project's model (signed with a demo key) and its dataset, waits for the server's
// own scan (the example's malicious pickles show up in it), then shows promotion gates at work: the
// example model is refused staging by the default policy (its scan), a small clean model reaches
// staging and is refused production until a second person approves it — each requirement printed
// with its verdict and why. Prints the URL and how to log in, and serves until Ctrl-C. Needs `npm run build` and `node scripts/make-example.mjs` first (npm start runs both).
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { pushArtifact } from '../dist/client/artifacts.js';
import { RegistryClient } from '../dist/client/http.js';
import { generateKeyPair, loadPrivateKey } from '../dist/integrity/keys.js';
import { startServer } from '../dist/server/start.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const DATA = join(ROOT, 'examples', '.demo-registry');
const PROJECT = join(ROOT, 'examples', 'ml-project');
const port = Number(process.env['PORT'] ?? 8470);
const { version } = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'));

rmSync(DATA, { recursive: true, force: true });
const server = await startServer({ dataDir: join(DATA, 'data'), host: '127.0.0.1', port, version, logger: false }).catch((error) => {
  process.stderr.write(`could not start the demo registry on port ${port}: ${error.message}\n(set PORT to use another port)\n`);
  process.exit(2);
});
const tokenPath = server.opened.initialTokenPath;
const client = new RegistryClient(server.url, readFileSync(tokenPath, 'utf8').trim());

await client.json('POST', '/v1/projects', { body: { name: 'demo' } });
const keyDir = join(DATA, 'signing');
mkdirSync(keyDir, { recursive: true, mode: 0o700 });
const pair = generateKeyPair('p256');
writeFileSync(join(keyDir, 'demo.pem'), pair.privateKeyPem, { mode: 0o600 });
writeFileSync(join(keyDir, 'demo.pub.pem'), pair.publicKeyPem);
await client.json('POST', '/v1/projects/demo/keys', { body: { pem: pair.publicKeyPem } });
await client.json('POST', '/v1/accounts', { body: { name: 'trainer', kind: 'service' } });
await client.json('PUT', '/v1/projects/demo/members/trainer', { body: { role: 'trainer', models: ['classifier'] } });
// Console sign-ins for the demo (people: a contributor who promotes, an approver who approves).
const DEMO_PASSWORD = 'custody-demo-password';
for (const [name, role] of [['alice', 'contributor'], ['bob', 'approver']]) {
  await client.json('POST', '/v1/accounts', { body: { name, kind: 'user', password: DEMO_PASSWORD } });
  await client.json('PUT', `/v1/projects/demo/members/${name}`, { body: { role } });
}

const model = await pushArtifact(client, { project: 'demo', kind: 'model', name: 'classifier', path: join(PROJECT, 'models'), key: loadPrivateKey(pair.privateKeyPem) });
const dataset = await pushArtifact(client, { project: 'demo', kind: 'dataset', name: 'training', path: join(PROJECT, 'data'), key: loadPrivateKey(pair.privateKeyPem) });
// A small clean model: signed by the trusted key, nothing for the scan to find.
const cleanDir = join(DATA, 'clean-model');
mkdirSync(cleanDir, { recursive: true });
writeFileSync(join(cleanDir, 'weights.bin'), Buffer.from(Array.from({ length: 256 }, (_, i) => i)));
writeFileSync(join(cleanDir, 'config.json'), '{"layers": 2, "hidden": 16}\n');
const clean = await pushArtifact(client, { project: 'demo', kind: 'model', name: 'ranker', path: cleanDir, key: loadPrivateKey(pair.privateKeyPem) });
await server.opened.registry.idle();
const shown = await client.json('GET', `/v1/projects/demo/models/classifier/versions/${model.version}`);

/** Asks for a promotion; a refusal (POLICY_UNMET, logged in the audit) is an answer here, not a failure. */
async function promote(name, versionId, to) {
  try {
    await client.json('POST', `/v1/projects/demo/models/${name}/versions/${versionId}/promotions`, { body: { to } });
    return 'promoted';
  } catch (error) {
    if (error?.code !== 'POLICY_UNMET') throw error;
    return 'refused (POLICY_UNMET)';
  }
}
async function verdicts(name, versionId, to) {
  const result = await client.json('POST', `/v1/projects/demo/models/${name}/versions/${versionId}/policy-test`, { body: { to } });
  return result.evaluations.flatMap((e) => e.requirements.map((r) => `      ${r.passed ? 'passed' : 'FAILED'}  ${r.id}: ${r.reason}`));
}
const classifierStaging = await verdicts('classifier', model.version, 'staging');
const classifierOutcome = await promote('classifier', model.version, 'staging');
const rankerStagingOutcome = await promote('ranker', clean.version, 'staging');
const rankerProduction = await verdicts('ranker', clean.version, 'production');
const rankerProductionOutcome = await promote('ranker', clean.version, 'production');

const lines = [
  '',
  `Custody registry (demo) listening on ${server.url}  — OpenAPI at ${server.url}/openapi.json`,
  `  data directory     ${join(DATA, 'data')}`,
  `  admin token file   ${tokenPath} (mode 0600; the token is not printed)`,
  '',
  'Pushed to project "demo" (signed with the demo key in examples/.demo-registry/signing/):',
  `  model   demo/classifier@${model.version}`,
  `  dataset demo/training@${dataset.version}`,
  `  the server's own scan of the model: ${shown.scan.result} — ${shown.scan.findings.filter((f) => f.severity === 'critical').length} critical finding(s):`,
  ...shown.scan.findings.filter((f) => f.severity === 'critical').map((f) => `    ${f.ruleId}  ${f.path}${f.member ? `!${f.member}` : ''}`),
  '',
  'Promotion gates (the default policy: staging needs a trusted signature and no critical or high',
  'finding in the server\'s scan; production adds one approval by someone who is neither the',
  'uploader, a signer nor the requester — see docs/governance.md):',
  `  demo/classifier → staging: ${classifierOutcome}`,
  ...classifierStaging,
  `  demo/ranker@${clean.version.slice(0, 12)}… → staging: ${rankerStagingOutcome}`,
  `  demo/ranker → production: ${rankerProductionOutcome}`,
  ...rankerProduction,
  '',
  `Web console: ${server.url}/console/  — sign in as alice (contributor: promotes) or bob (approver: approves),`,
  `  password "${DEMO_PASSWORD}" (demo only); server admins sign in with the admin token file's token.`,
  '',
  'Log in from another terminal:',
  `  export CUSTODY_URL=${server.url} CUSTODY_TOKEN="$(cat ${tokenPath})"`,
  `  npx custody models show demo/classifier@${model.version}`,
  `  npx custody pull demo/classifier@${model.version} --output /tmp/classifier`,
  '  npx custody audit query --account admin',
  `  npx custody policy test demo/ranker@${clean.version} --to production`,
  `  npx custody lineage demo/ranker@${clean.version}`,
  '',
  'Ctrl-C stops the server. `npm run example` scans the example project instead.',
  '',
];
process.stdout.write(lines.join('\n'));

const stop = async () => {
  process.stdout.write('\nstopping\n');
  await server.close();
  process.exit(0);
};
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
