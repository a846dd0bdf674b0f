import assert from 'node:assert/strict';
import { test } from 'node:test';
import { findAssignment } from '../../src/scanners/secrets/assign.js';
import { baseNameOf, textKindOf } from '../../src/scanners/secrets/kind.js';
import { classifyName, splitName } from '../../src/scanners/secrets/names.js';
import type { SecretDoc, TextKind } from '../../src/scanners/secrets/types.js';

test('names split into words on separators and case changes', () => {
  assert.deepEqual(splitName('WANDB_API_KEY'), ['wandb', 'api', 'key']);
  assert.deepEqual(splitName('clientSecret'), ['client', 'secret']);
  assert.deepEqual(splitName('APIKey'), ['api', 'key']);
  assert.deepEqual(splitName('--hf-token'), ['hf', 'token']);
  assert.deepEqual(splitName('spring.datasource.password'), ['spring', 'datasource', 'password']);
});

test('secret-like names, and names that only describe a secret', () => {
  const secret: [string, string][] = [
    ['password', 'password'], ['DB_PASSWORD', 'password'], ['db_pass', 'password'], ['PGPASSWORD', 'password'], ['passphrase', 'password'],
    ['api_key', 'key'], ['x-api-key', 'key'], ['AWS_SECRET_ACCESS_KEY', 'key'], ['signingKey', 'key'], ['client_secret', 'secret'],
    ['SECRET_KEY', 'key'], ['auth_token', 'token'], ['HF_TOKEN', 'token'], ['accessToken', 'token'], ['Authorization', 'auth'],
    ['credentials', 'credential'], ['apikey', 'key'], ['new_password', 'password'],
  ];
  for (const [name, cls] of secret) assert.equal(classifyName(splitName(name)), cls, name);
  const not = [
    'tokenizer', 'max_tokens', 'max_new_tokens', 'pad_token', 'eos_token', 'image_token', 'token_type', 'token_type_ids', 'api_key_path',
    'api_key_env', 'password_hash', 'password_file', 'secret_name', 'secretKeyRef', 'private_key_id', 'sort_key', 'key', 'primary_key',
    'key_padding_mask', 'num_key_value_heads', 'get_token', 'is_secret', 'auth_url', 'author', 'bypass', 'passage', 'keyword', 'token_ttl_seconds',
  ];
  for (const name of not) assert.equal(classifyName(splitName(name)), undefined, name);
});

test('file kinds come from names', () => {
  const kinds: [string, TextKind][] = [
    ['train.py', 'code'], ['.env', 'env'], ['.env.production', 'env'], ['prod.env', 'env'], ['Dockerfile', 'dockerfile'], ['Dockerfile.gpu', 'dockerfile'],
    ['ci.yml', 'yaml'], ['config.json', 'json'], ['setup.cfg', 'ini'], ['pyproject.toml', 'toml'], ['.netrc', 'netrc'], ['run.sh', 'shell'],
    ['Makefile', 'shell'], ['credentials', 'ini'], ['README.md', 'text'], ['notes', 'text'],
  ];
  for (const [name, kind] of kinds) assert.equal(textKindOf(name), kind, name);
  assert.equal(baseNameOf('a/b.zip!inner/dir/Config.YAML'), 'config.yaml');
});

function find(text: string, kind: TextKind, at: string): { name: string; value: string; quoted: boolean } | undefined {
  const doc: SecretDoc = { text, kind, baseName: 'x' };
  const a = findAssignment(doc, text.indexOf(at));
  return a && { name: a.name, value: a.value, quoted: a.quoted };
}

test('assignment syntaxes across languages and formats', () => {
  const cases: [string, TextKind, string, string, string][] = [
    ['api_key = "abc123def456"', 'code', 'key', 'api_key', 'abc123def456'],
    ["self.api_key='abc123def456'", 'code', 'key', 'self.api_key', 'abc123def456'],
    ['apiKey := "abc123def456"', 'code', 'Key', 'apiKey', 'abc123def456'],
    ['password: str = "abc123def456"', 'code', 'pass', 'password', 'abc123def456'],
    ["'password' => 'abc123def456',", 'code', 'pass', 'password', 'abc123def456'],
    ['os.environ["HF_TOKEN"] = "abc123def456"', 'code', 'TOKEN', 'HF_TOKEN', 'abc123def456'],
    ['x = os.getenv("API_TOKEN", "abc123def456")', 'code', 'TOKEN', 'API_TOKEN', 'abc123def456'],
    ['login(token=r"abc123def456")', 'code', 'token', 'token', 'abc123def456'],
    ['cmd = "--token=abc123def456 --x"', 'code', 'token', 'token', 'abc123def456'],
    ['%env HF_TOKEN=abc123def456', 'code', 'TOKEN', 'HF_TOKEN', 'abc123def456'],
    ['!export HF_TOKEN=abc123def456', 'code', 'TOKEN', 'HF_TOKEN', 'abc123def456'],
    ['DB_PASSWORD=abc123def456', 'env', 'PASS', 'DB_PASSWORD', 'abc123def456'],
    ['export DB_PASSWORD="abc123def456"', 'shell', 'PASS', 'DB_PASSWORD', 'abc123def456'],
    ['tool --api-key abc123def456', 'shell', 'key', 'api-key', 'abc123def456'],
    ['ENV SERVICE_TOKEN abc123def456', 'dockerfile', 'TOKEN', 'SERVICE_TOKEN', 'abc123def456'],
    ['  password: abc123def456', 'yaml', 'pass', 'password', 'abc123def456'],
    ['{"client_secret": "abc123def456"}', 'json', 'secret', 'client_secret', 'abc123def456'],
    ['password = abc123def456', 'ini', 'pass', 'password', 'abc123def456'],
    ['machine h login u password abc123def456', 'netrc', 'pass', 'password', 'abc123def456'],
    ['<password>abc123def456</password>', 'text', 'pass', 'password', 'abc123def456'],
    ['-H "Authorization: Bearer abc123def456"', 'shell', 'Auth', 'Authorization', 'abc123def456'],
    ['"source": "db_password = \\"abc123def456\\"\\n"', 'json', 'pass', 'db_password', 'abc123def456'],
    // A comparison with a literal hard-codes the secret as much as an assignment does.
    ['if password == "abc123def456":', 'code', 'pass', 'password', 'abc123def456'],
    ["if token !== 'abc123def456') {", 'code', 'token', 'token', 'abc123def456'],
    ['r = get(url, auth=("exporter", "abc123def456"))', 'code', 'auth', 'auth', 'abc123def456'],
    ["auth = HTTPBasicAuth('exporter', 'abc123def456')", 'code', 'auth', 'auth', 'abc123def456'],
  ];
  for (const [text, kind, at, name, value] of cases) {
    const found = find(text, kind, at);
    assert.equal(found?.name, name, text);
    assert.equal(found?.value, value, text);
  }
});

test('expressions, comparisons and blocks are not assignments of literals', () => {
  const cases: [string, TextKind, string][] = [
    ['api_key = os.environ["OPENAI_API_KEY"]', 'code', 'key'],
    ['password = getpass.getpass()', 'code', 'pass'],
    ['if password == other_password:', 'code', 'pass'],
    ['auth = (user, pw)', 'code', 'auth'],
    ['api_key = config.api_key', 'code', 'key'],
    ['token = f"Bearer {secret}"', 'code', 'token'],
    ['password: |', 'yaml', 'pass'],
    ['print("Enter your password")', 'code', 'pass'],
    ['echo $DB_PASSWORD', 'shell', 'PASS'],
    ['secret = """', 'code', 'secret'],
  ];
  for (const [text, kind, at] of cases) assert.equal(find(text, kind, at), undefined, text);
});
