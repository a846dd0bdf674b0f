import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Fake } from '../../src/scanners/secrets/fake.js';
import { scanText } from './helpers.js';

const f = new Fake(4040);
const pw = (): string => `${f.alnum(9)}#${f.alnum(4)}`;
const tok = (): string => f.alnum(32);

test('generic secrets in code, configs, .env, YAML, JSON, INI, TOML, shell, Dockerfiles and CI files', async () => {
  const cases: [string, string][] = [
    [`DB_PASSWORD = "${pw()}"`, 'settings.py'],
    [`const clientSecret = '${tok()}';`, 'auth.js'],
    [`dbPassword := "${pw()}"`, 'main.go'],
    [`SMTP_PASS=${pw()}`, '.env.production'],
    [`services:\n  db:\n    environment:\n      POSTGRES_PASSWORD: ${pw()}\n`, 'docker-compose.yml'],
    [`{"auth": {"api_key": "${tok()}"}}`, 'settings.json'],
    [`[server]\nsecret_key = ${tok()}\n`, 'app.ini'],
    [`[auth]\ntoken = "${tok()}"\n`, 'settings.toml'],
    [`export SERVICE_TOKEN='${tok()}'`, 'deploy.sh'],
    [`ARG BUILD_TOKEN=${tok()}`, 'Dockerfile'],
    [`jobs:\n  x:\n    env:\n      DEPLOY_TOKEN: "${tok()}"\n`, '.gitlab-ci.yml'],
    [`spring.datasource.password=${pw()}`, 'application.properties'],
    [`<password>${pw()}</password>`, 'settings.xml'],
    [`curl -u admin --password ${pw()} https://x`, 'call.sh'],
  ];
  for (const [text, file] of cases) {
    const findings = await scanText(text, file);
    assert.deepEqual(findings.map((x) => x.ruleId), ['secrets/generic-secret'], `${file}: ${text}`);
    assert.ok(findings[0]!.severity === 'medium' || findings[0]!.severity === 'low');
  }
});

test('references, lookups, templates, placeholders and vocabulary are not generic secrets', async () => {
  const cases: [string, string][] = [
    ['password: ${{ secrets.DB_PASSWORD }}', 'ci.yml'],
    ['api_key: ${oc.env:WANDB_API_KEY}', 'config.yaml'],
    ['api_key: ${oc.env:WANDB_API_KEY,???}', 'config.yaml'],
    ['password: "{{ vault_db_password }}"', 'vars.yml'],
    ['api_token: !vault |\n  $ANSIBLE_VAULT;1.1;AES256\n', 'vars.yml'],
    ['password: !ENV ${DB_PASSWORD}', 'mkdocs.yml'],
    ['DB_PASSWORD=$(cat /run/secrets/db)', '.env'],
    ['api_key = os.environ.get("API_KEY")', 'x.py'],
    ['api_key = settings.API_KEY', 'x.py'],
    ['apiKey: process.env.API_KEY,', 'x.js'],
    ['token = tokenizer(text)["input_ids"]', 'x.py'],
    ['pad_token = "<|endoftext|>"', 'x.py'],
    ['max_tokens: 4096', 'x.yaml'],
    ['api_key_env: OPENAI_API_KEY', 'x.yaml'],
    ['token_path: /var/run/secrets/kubernetes.io/serviceaccount/token', 'x.yaml'],
    ['credentials_file: ~/.config/gcloud/adc.json', 'x.yaml'],
    [`password_sha256 = "${f.hex(64)}"`, 'x.py'],
    [`checksum: sha256:${f.hex(64)}`, 'x.yaml'],
    [`run_id = "${f.uuid()}"`, 'x.py'],
    ['secretKeyRef:\n  name: api\n  key: token', 'k8s.yaml'],
    ['password = "changeme"', 'x.py'],
    ['POSTGRES_PASSWORD: postgres', 'docker-compose.yml'],
    ['DB_PASSWORD=SuperSecret123', '.env'],
    ['fake_token = "test-token-123"', 'test_x.py'],
    ['secret = load_secret(cfg.secret_name)', 'x.py'],
    ['# the token: see the docs for how to create one', 'x.py'],
    ['The token: base64-encoded JSON.', 'README.md'],
    ['password = 12345678', 'x.ini'],
    ['AUTH_URL=https://auth.internal/oauth/token', '.env'],
    [`GITHUB_TOKEN=${f.badChecksum('ghp_')}`, '.env'],
  ];
  for (const [text, file] of cases) assert.deepEqual(await scanText(text, file), [], `${file}: ${text}`);
});

test('provider context claims prefix-less values before the generic rule', async () => {
  const hex40 = f.hex(40);
  const cases: [string, string, string][] = [
    [`import wandb\nwandb.login(key="${hex40}")`, 'train.py', 'secrets/wandb-api-key'],
    [`[comet]\napi_key = ${f.alnum(25)}\n`, '.comet.config', 'secrets/comet-api-key'],
    [`logger:\n  wandb:\n    api_key: ${f.hex(40)}\n`, 'train.yaml', 'secrets/wandb-api-key'],
    [`conn = snowflake.connector.connect(\n  user="etl",\n  password="${pw()}",\n)`, 'etl.py', 'secrets/snowflake-credentials'],
    [`[connections.prod]\naccount = "xy"\npassword = "${pw()}"\n`, 'connections.toml', 'secrets/snowflake-credentials'],
    [`MLFLOW_TRACKING_PASSWORD=${pw()}`, '.env', 'secrets/mlflow-tracking-credentials'],
    [`{"username": "me", "key": "${f.hex(32)}"}`, 'kaggle.json', 'secrets/kaggle-api-key'],
    [`AZURE_STORAGE_KEY=${f.bytes(64).toString('base64')}`, '.env', 'secrets/azure-storage-account-key'],
  ];
  for (const [text, file, rule] of cases) {
    const findings = await scanText(text, file);
    assert.deepEqual(findings.map((x) => x.ruleId), [rule], `${file}: ${text}`);
  }
  // A bare `key` needs a provider around it.
  assert.deepEqual(await scanText(`cache.set(key="${f.hex(40)}")`, 'x.py'), []);
});
