import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Fake } from '../../src/scanners/secrets/fake.js';
import { fakePypiToken, readMacaroonV2 } from '../../src/scanners/secrets/rules/pypi.js';
import { scanText } from './helpers.js';

// Gaps closed after the first red team: newer GitLab token kinds, Google OAuth client secrets, PyPI macaroons,
// JDBC/ODBC connection strings and passwords written in documents. Boundaries beyond each rule's own examples.

const f = new Fake(4747);
const only = async (text: string, file: string, rule: string) => (await scanText(text, file)).filter((x) => x.ruleId === rule);

describe('GitLab token prefixes', () => {
  const prefixes = ['glpat', 'gloas', 'gldt', 'glrt', 'glrtr', 'glcbt', 'glptt', 'glft', 'glimt', 'glagent', 'glsoat', 'glffct', 'glwt'];
  test('every documented prefix with a 20-character body is reported once', async () => {
    for (const p of prefixes) {
      const found = await only(`TOKEN=${p}-${f.alnum(20)}`, '.env', 'secrets/gitlab-token');
      assert.equal(found.length, 1, p);
    }
  });
  test('lengths: access tokens exactly 20, other kinds 20 to 64 in the legacy form', async () => {
    assert.equal((await only(`TOKEN=glpat-${f.alnum(21)}`, '.env', 'secrets/gitlab-token')).length, 0);
    assert.equal((await only(`TOKEN=glft-${f.alnum(64)}`, '.env', 'secrets/gitlab-token')).length, 1);
    assert.equal((await only(`TOKEN=glft-${f.alnum(65)}`, '.env', 'secrets/gitlab-token')).length, 0);
    assert.equal((await only(`TOKEN=glwt-${f.alnum(19)}`, '.env', 'secrets/gitlab-token')).length, 0);
  });
  test('lowercase-only bodies and words glued to the prefix are not tokens', async () => {
    assert.deepEqual(await scanText('feed: glft-abcdefghijklmnopqrstuvwxyz', 'notes.txt'), []);
    assert.deepEqual(await scanText(`x = "myglagent-${f.alnum(50)}"`, 'a.py'), []);
  });
});

describe('PyPI macaroons', () => {
  test('the structure check accepts a v2 macaroon and rejects truncation, trailing bytes and other versions', () => {
    const token = fakePypiToken(new Fake(9));
    const bytes = Buffer.from(token.slice(5), 'base64url');
    assert.deepEqual(readMacaroonV2(bytes), { location: 'pypi.org' });
    assert.equal(readMacaroonV2(bytes.subarray(0, bytes.length - 1)), undefined);
    assert.equal(readMacaroonV2(Buffer.concat([bytes, Buffer.from([0])])), undefined);
    assert.equal(readMacaroonV2(Buffer.concat([Buffer.from([1]), bytes.subarray(1)])), undefined);
    // A length that claims more bytes than there are, and an endless varint.
    assert.equal(readMacaroonV2(Buffer.from([2, 1, 0xff, 0xff, 0xff, 0xff, 0x7f])), undefined);
    // More caveats than any token has.
    const many = Buffer.concat([Buffer.from([2, 2, 1, 65, 0]), ...Array.from({ length: 70 }, () => Buffer.from([2, 1, 66, 0])), Buffer.from([0, 6, 32]), Buffer.alloc(32)]);
    assert.equal(readMacaroonV2(many), undefined);
  });
  test('a PyPI-looking value that is no macaroon is reported by no rule (the prefix is owned)', async () => {
    assert.deepEqual(await scanText(`TWINE_PASSWORD=pypi-AgEIcHlwaS5vcmc${f.alnum(160)}`, '.env'), []);
  });
  test('a real-structure token is critical, and its evidence never holds the value', async () => {
    const token = fakePypiToken(f, 'test.pypi.org');
    const [finding, ...rest] = await scanText(`[testpypi]\nusername = __token__\npassword = ${token}\n`, '.pypirc');
    assert.equal(rest.length, 0);
    assert.equal(finding?.ruleId, 'secrets/pypi-token');
    assert.equal(finding?.severity, 'critical');
    assert.equal(finding?.location.line, 3);
    assert.match(finding?.message ?? '', /test\.pypi\.org/);
    assert.ok(!(finding?.evidence ?? '').includes(token.slice(20, 60)));
  });
});

describe('Google OAuth client secrets', () => {
  test('a legacy secret needs the client id nearby; a GOCSPX- secret does not', async () => {
    const legacy = `${f.alnum(10)}_${f.alnum(11)}7Q`;
    const withId = JSON.stringify({ web: { client_id: `123456789012-${'a1'.repeat(16)}.apps.googleusercontent.com`, client_secret: legacy } });
    assert.equal((await only(withId, 'client_secret.json', 'secrets/google-oauth-client-secret')).length, 1);
    const withoutId = JSON.stringify({ web: { client_id: 'my-app', client_secret: legacy } });
    assert.equal((await only(withoutId, 'client_secret.json', 'secrets/google-oauth-client-secret')).length, 0);
    assert.equal((await only(`secret: GOCSPX-${f.alnum(28)}`, 'notes.txt', 'secrets/google-oauth-client-secret')).length, 1);
  });
});

describe('connection strings', () => {
  const rule = 'secrets/connection-uri-password';
  test('ODBC brace quoting: `}}` is a brace, `;` inside braces belongs to the value', async () => {
    const secret = `Ab}${f.alnum(6)};9!`;
    const text = `cs = "Driver={ODBC Driver 18};Server=db;Uid=etl;Pwd={${secret.replace('}', '}}')}};Encrypt=yes"`;
    const found = await only(text, 'load.py', rule);
    assert.equal(found.length, 1);
    assert.ok(!(found[0]!.evidence ?? '').includes(secret.slice(3, 9)));
  });
  test('percent-encoded odbc_connect is decoded before it is judged', async () => {
    const enc = (s: string) => encodeURIComponent(s);
    const good = await only(`e = create_engine("mssql+pyodbc:///?odbc_connect=${enc(`DRIVER={ODBC};SERVER=db;UID=u;PWD=${f.alnum(10)}!2;`)}")`, 'db.py', rule);
    assert.equal(good.length, 1);
    const placeholder = await only(`e = create_engine("mssql+pyodbc:///?odbc_connect=${enc('DRIVER={ODBC};SERVER=db;UID=u;PWD=${SQL_PWD};')}")`, 'db.py', rule);
    assert.equal(placeholder.length, 0);
  });
  test('a password parameter must follow ?, & or ; and sit in a connection string', async () => {
    assert.equal((await only(`url = "jdbc:mysql://db/app?user=u&password=${f.alnum(10)}#1"`, 'a.py', rule)).length, 1);
    assert.equal((await only(`url = "jdbc:mysql://db/app?user=u&old_password=${f.alnum(10)}#1"`, 'a.py', rule)).length, 0);
    // `key=value;` pairs without any connection key are not a connection string.
    assert.equal((await only(`opts = "theme=dark;pwd=${f.alnum(10)}#1;lang=en"`, 'a.py', rule)).length, 0);
    assert.equal((await only(`cs = "Host=db;Database=ml;Username=etl;Password=${f.alnum(10)}#1"`, 'a.py', rule)).length, 1);
  });
});

describe('passwords written in documents', () => {
  const rule = 'secrets/document-password';
  test('low severity and confidence, with the raw notebook line for a Markdown cell', async () => {
    const secret = `${f.alnum(9)}#4`;
    const nb = JSON.stringify({ cells: [{ cell_type: 'markdown', metadata: {}, source: ['## Box\n', '\n', `Password: ${secret}\n`] }], metadata: {}, nbformat: 4, nbformat_minor: 5 }, null, 1);
    const found = await only(nb, 'setup.ipynb', rule);
    assert.equal(found.length, 1);
    assert.equal(found[0]!.severity, 'low');
    assert.equal(found[0]!.confidence, 'low');
    const rawLine = nb.split('\n').findIndex((l) => l.includes(secret)) + 1;
    assert.equal(found[0]!.location.line, rawLine);
  });
  test('prose after "password:" stays quiet, and so do weak or single-class values', async () => {
    const prose = [
      'Password: use your SSO password.',
      'Password: see the wiki',
      'password: at least 12 characters, one digit',
      'Your password: must not be reused.',
      'Password: `********`',
      'PW: N/A',
      'Password: Required.',
      'Password: mlteamstaging',
      'Password: 1234567890',
      'Password: abc12',
      'Password: same-as-staging',
      'Password: ${STAGING_PASSWORD}',
      '| Password | `<set on first login>` |',
      'Password = os.environ["PW"]',
    ].join('\n');
    assert.deepEqual(await scanText(`${prose}\n`, 'README.md'), []);
  });
  test('in Markdown an unquoted password is low (document rule); a quoted one in a code block stays generic', async () => {
    const v = `${f.alnum(10)}!3`;
    const unquoted = await scanText(`DB_PASSWORD=${v}\n`, 'README.md');
    assert.deepEqual(unquoted.map((x) => x.ruleId), [rule]);
    const quoted = await scanText(`\`\`\`python\ndb_password = "${v}"\n\`\`\`\n`, 'README.md');
    assert.deepEqual(quoted.map((x) => x.ruleId), ['secrets/generic-secret']);
  });
  test('only plain text kinds: the same line in YAML is the generic rule', async () => {
    const found = await scanText(`password: ${f.alnum(10)}!3\n`, 'config.yaml');
    assert.deepEqual(found.map((x) => x.ruleId), ['secrets/generic-secret']);
  });
});
