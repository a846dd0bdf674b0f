#!/usr/bin/env node
// `npm start`: runs the registry on 127.0.0.1 with a fresh demo data directory (examples/.demo-registry/),
// pushes the example project's model (signed with a demo key) and its dataset, waits for the server's
// own scan (the example's malicious pickles show up in it), prints the URL and how to log in, and
// serves until Ctrl-C. Needs `npm run build` and `node scripts/make-example.mjs` first (npm start runs both).
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

const model = await pushArtifact(client, { project: 'demo', kind: 'model', name: 'classifier', path: join(PROJECT, 'models'), key: loadPrivateKey(pair.privateKeyPem) });
const dataset = await pushArtifact(client, { project: 'demo', kind: 'dataset', name: 'training', path: join(PROJECT, 'data'), key: loadPrivateKey(pair.privateKeyPem) });
await server.opened.registry.idle();
const shown = await client.json('GET', `/v1/projects/demo/models/classifier/versions/${model.version}`);

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
  'Log in from another terminal:',
  `  export CUSTODY_URL=${server.url} CUSTODY_TOKEN="$(cat ${tokenPath})"`,
  `  npx custody models show demo/classifier@${model.version}`,
  `  npx custody pull demo/classifier@${model.version} --output /tmp/classifier`,
  '  npx custody audit query --account admin',
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
