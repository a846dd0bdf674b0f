import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { checkPrivateKey } from '../../src/scanners/secrets/decode.js';
import { Fake } from '../../src/scanners/secrets/fake.js';
import { classifyName, splitName } from '../../src/scanners/secrets/names.js';
import { isPlaceholder } from '../../src/scanners/secrets/placeholder.js';
import { isNonSecretValue, judgeValue } from '../../src/scanners/secrets/score.js';
import { isWordLike } from '../../src/scanners/secrets/stats.js';
import { TextIndex } from '../../src/scanners/secrets/text-index.js';
import { scanText } from './helpers.js';

// Issue 9: credentials in the places real code keeps them, and the false-positive classes seen on other projects'
// corpora. Values are generated here; none is a real credential.
const f = new Fake(9090);
const pw = (): string => `${f.alnum(9)}#${f.alnum(3)}7`;
const tok = (): string => `${f.alnum(28)}9Zq`;

async function families(text: string, file: string): Promise<string[]> {
  return (await scanText(text, file)).map((x) => x.ruleId);
}

describe('contexts where a credential is reported', () => {
  const cases: [string, string, string][] = [
    // unquoted NAME=value lines in plain text, logs and extension-less files
    ['config line in a text file', `MYSQL_DATABASE_USER=app;MYSQL_DATABASE_PASSWORD=${pw()};`, 'settings'],
    ['make ::= assignment', `X3_PSWD ::= ${pw()}`, 'vars.mk'],
    ['document field after another field', `ID:mlops PW:${pw()}`, 'access.txt'],
    ['document field in brackets', `ssh ml@10.0.0.4 (pw:${pw()})`, 'notes'],
    ['multi-word field name', `Secret Key:${tok()}`, 'notes.txt'],
    ['quoted JSON key with spaces', `{"Repository Access Token": "${tok()}"}`, 'export.json'],
    ['XML element with attributes', `<password type="plain">${pw()}</password>`, 'settings.xml'],
    ['.NET appSettings', `<add key="SmtpPassword" value="${pw()}" />`, 'web.config'],
    ['HTML-escaped quotes', `<input placeholder="token=&quot;${tok()}&quot;">`, 'page.html'],
    // command lines
    ['docker -e', `docker run -e POSTGRES_PASSWORD=${pw()} postgres`, 'README.md'],
    ['--password flag', `tool --user admin --password ${pw()}`, 'notes.txt'],
    ['PowerShell -Password:', `Connect -Username:admin -Password:${pw()}`, 'notes.txt'],
    ['curl -u', `curl -u "admin:${pw()}" https://x.internal`, 'call.sh'],
    ['gpg --passphrase', `gpg --batch --passphrase ${pw()} -d model.gpg`, 'restore.sh'],
    ['openssl -passout pass:', `openssl genrsa -aes256 -passout pass:${pw()} -out k.pem`, 'Dockerfile'],
    ['ConvertTo-SecureString', `$s = ConvertTo-SecureString -String "${pw()}" -AsPlainText -Force`, 'deploy.ps1'],
    ['ConvertTo-SecureString, quoted, without -AsPlainText', `ConvertTo-SecureString "${pw()}"`, 'notes.txt'],
    ['ConvertTo-SecureString after switches', `ConvertTo-SecureString -String -Force ${pw()}`, 'notes.txt'],
    ['ConvertTo-SecureString continued on the next line', `$s = ConvertTo-SecureString ${pw()} \`\n  -AsPlainText -Force`, 'deploy.ps1'],
    ['mysql -p glued', `mysql -h db -u root -p${pw()} features < dump.sql`, 'restore.sh'],
    ['mysqldump -p quoted', `RUN mysqldump -uroot -p'${pw()}' --all-databases > /backup.sql`, 'Dockerfile'],
    ['mariadb client in a compose healthcheck', `test: ["CMD", "sh", "-c", "mariadb -u app -p${pw()} -e 'select 1'"]`, 'compose.yaml'],
    ['sshpass -p', `sshpass -p '${pw()}' ssh ml@gpu`, 'run.sh'],
    ['base64 basic credentials in code', `h = base64.b64encode(b"svc:${pw()}")`, 'client.py'],
    // SQL
    ['IDENTIFIED BY', `CREATE USER etl IDENTIFIED BY '${pw()}';`, 'init.sql'],
    ['IDENTIFIED WITH plugin BY', `ALTER USER 'a'@'%' IDENTIFIED WITH mysql_native_password BY '${pw()}';`, 'grants.sql'],
    ['WITH LOGIN PASSWORD', `CREATE ROLE app WITH LOGIN PASSWORD ${pw()};`, 'roles.sql'],
    // calls and declarations
    ['setter', `cfg.setPassword("${pw()}");`, 'Cfg.java'],
    ['SetKey with a random key', `aes.SetKey("${f.alnum(28)}Qz7");`, 'Crypto.cs'],
    ['builder', `Client.builder().apiKey("${tok()}").build();`, 'Client.java'],
    ['setProperty pair', `System.setProperty("javax.net.ssl.trustStorePassword", "${pw()}");`, 'Main.java'],
    ['PHP define', `define( 'DB_PASSWORD' , '${pw()}' );`, 'wp-config.php'],
    ['curl_easy_setopt', `curl_easy_setopt(c, CURLOPT_PROXYPASSWORD, "${pw()}");`, 'net.c'],
    ['CURLOPT_USERPWD pair', `curl_easy_setopt(c, CURLOPT_USERPWD, "root:${pw()}");`, 'net.c'],
    ['#define', `#define DB_PASSWORD "${pw()}"`, 'config.h'],
    ['%define in a spec', `%define token ${tok()}`, 'pkg.spec'],
    ['SET in a batch file', `SET password "${pw()}"`, 'env.cmd'],
    ['lookup fallback with or', `PASSWORD = os.environ.get("PASSWORD") or "${pw()}"`, 'settings.py'],
    ['getenv default', `SECRET := getenv("APP_SECRET", "${tok()}")`, 'cfg'],
    ['default argument', `def connect(passwd: str = "${pw()}"):`, 'db_tool'],
    ['comparison in extension-less code', `if password == "${pw()}":`, 'check'],
    ['Go typed var', `var apiSecret string = "${tok()}"`, 'main.go'],
    ['PHP .=', `$password .= '${pw()}';`, 'db.php'],
    ['R <-', `db_password <- "${pw()}"`, 'load.R'],
    ['embedded YAML in code', `CONFIG = """\npassword: ${pw()}\n"""`, 'conf.py'],
    ['NTLM header', `Authorization: NTLM ${tok()}=`, 'request.hs'],
    // names
    ['refresh_token', `"refresh_token": "${tok()}"`, 'fixture.json'],
    ['oauth_verifier in a URL string', `u = "https://x/cb?oauth_token=abc&oauth_verifier=${tok()}&s=1"`, 'flow.py'],
    ['percent-encoded query parameter (a URL inside a URL)', `next = "https://x/login?r=%2Fcb%3Fts%3D1395782596%26access_token%3D${tok()}%26v%3D3"`, 'flow.js'],
    ['numbered name', `{"password1": "${pw()}"}`, 'form.json'],
    ['bare pass', `{ user: "admin", pass: "${pw()}" }`, 'server.conf'],
    ['misspelt password', `if passworsd == "${pw()}":`, 'legacy'],
    ['bare key with a random value', `key = "${f.alnum(30)}Aa9"`, 'cfg.py'],
    // connection URIs with any scheme and e-mail users
    ['vendor scheme', `url = "dbconnection://admin:${pw()}@db-host"`, 'x.js'],
    ['e-mail user', `smtp = "smtps://ml@example.com:${pw()}@smtp.example.com:465"`, 'mail.py'],
  ];
  for (const [what, text, file] of cases) {
    test(what, async () => {
      const found = await families(text, file);
      assert.ok(found.length >= 1, `${what}: nothing reported for ${file}: ${text}`);
    });
  }
});

describe('look-alikes that are not credentials', () => {
  const cases: [string, string, string][] = [
    ['password hash (bcrypt)', `password: $2b$12$${f.chars('./ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789', 53)}`, 'users.yaml'],
    ['password hash (Django)', `"password": "pbkdf2_sha256$600000$${f.alnum(22)}$${f.alnum(43)}="`, 'dump.json'],
    ['LDAP {SSHA}', `userPassword: {SSHA}${f.alnum(32)}`, 'users.ldif'],
    ['translated label (Japanese)', '"LABEL_PASSWORD": "\u30d1\u30b9\u30ef\u30fc\u30c9"', 'ja.json'],
    ['translated word with accents', '"password": "Contrase\u00f1a"', 'es.json'],
    ['translation catalogue path', '"password": "Wachtwoord"', 'app/locales/nl.json'],
    ['.NET PublicKeyToken', `<add assembly="X, Version=1.0.0.0, Culture=neutral, PublicKeyToken=${f.hex(16)}" />`, 'web.config'],
    ['%VAR% template', 'set DB_PASSWORD=%DB_PASSWORD%', 'run.bat'],
    ['%VAR% inside a value', 'set API_TOKEN=%VAULT%_token_%USERNAME%', 'run.bat'],
    ['@VAR@ autoconf template', 'password = "@DB_PASSWORD@"', 'config.py'],
    ['user/password pair in prose', `Password:admin/${pw()}`, 'notes.txt'],
    ['abbreviated flag with a space', `--pass ${pw()}`, 'notes.txt'],
    ['openssl env source', 'openssl req -passin env:CA_PASS -key k.pem', 'Dockerfile'],
    ['SQL clause after PASSWORD', "ALTER USER 'a'@'%' PASSWORD EXPIRE INTERVAL 90 DAY;", 'grants.sql'],
    ['IDENTIFIED BY in prose', 'Nodes are identified by this label.', 'README.md'],
    ['password equal to the user', '{user: alice, password: alice}', 'accounts.conf'],
    ['stand-in words', '"password": "passwordtwo"', 'form.json'],
    ['metasyntactic value', 'token = quux', 'conf.ini'],
    ['escape sequence only', 'if password == "\\xff":', 'test_auth.py'],
    ['read from a file', 'jwt-secret = "@/dev/stdin"', 'app.config'],
    ['identifier-like value', 'secret: my-app-credentials', 'values.yaml'],
    ['Helm reference to a Secret', 'existingSecret: mlflow-auth', 'values.yaml'],
    ['URN in prose', "'urn:globus:auth:scope:transfer.api.globus.org:all'", 'docs.rst'],
    ['bare key with a path', "- key: '.customObject.manyRoles[1]'", 'fixture.yaml'],
    ['dictionary key name', '"key": "attached_file_0"', 'doc.txt'],
    ['public NATS NKey', `nkey = "U${f.chars('ABCDEFGHIJKLMNOPQRSTUVWXYZ234567', 55)}"`, 'nats.go'],
    ['glued to symbols', `M[@%]PW:2Z.Q?2M^S;${f.alnum(6)}`, 'blob.txt'],
    ['setter with an expression', 'user.setPassword(hasher.hash(raw));', 'User.java'],
    ['builder with the user first', 'self.tc.auth_password("commie", "cat")', 'test_client.py'],
    ['PowerShell cmdlet', '$pw = Read-Host -AsSecureString', 'deploy.ps1'],
    ['directive as a value', '#define password #define', 'x'],
    ['mysql -p alone prompts (the next word is the database)', 'mysql -u root -p features < dump.sql', 'restore.sh'],
    ['mysql -p from the environment', 'mysqldump -u root -p$MYSQL_ROOT_PASSWORD features | gzip', 'backup.sh'],
    ['-p of another command after a pipe', `mysql -u root features | archive-tool -p${f.alnum(6).toLowerCase()}`, 'backup.sh'],
    ['mysql inside a longer name', `pymysql -p${pw()}`, 'notes.txt'],
    ['SetKey with a word', 'cache.SetKey("user_profile_settings");', 'Cache.cs'],
    ['percent-encoded template reference', 'next=https%3A%2F%2Fx%2Fcb%3Ftoken%3D%24%7BTOKEN%7D%26v%3D1', 'log.txt'],
    ['percent-encoded parameter that names no secret', `q=%3Fmax_tokens%3D${f.hex(16)}%26`, 'log.txt'],
    ['cmdlet named in a comment', '/** The first argument of ConvertTo-SecureString that is not a switch. */', 'command-line.ts'],
    ['encrypted standard string (DPAPI)', `$s = ConvertTo-SecureString "01000000d08c9ddf0115d1118c7a00c04fc297eb${f.hex(120)}"`, 'deploy.ps1'],
    ['encrypted standard string (key-based)', `$s = ConvertTo-SecureString -String "76492d1116743f0423413b16050a5345${f.hex(96)}" -Key $key`, 'deploy.ps1'],
    ['cmdlet named in prose', 'Pipe the value to ConvertTo-SecureString instead of typing it.', 'README.md'],
    ['word escaped in a string literal', String.raw`const labels = { "password": "Contrase\u00f1a", "token": "Jet\u00f3n" };`, 'labels.js'],
    ['relative path to a key file', "logVerifierKey: 'keys/log.vkey',", 'start.ts'],
    ['relative path in a config', `api_token_file = "secrets/${f.alnum(6).toLowerCase()}/token.txt"`, 'settings.py'],
  ];
  for (const [what, text, file] of cases) {
    test(what, async () => {
      assert.deepEqual(await families(text, file), [], `${what}: ${text}`);
    });
  }
});

describe('names and values', () => {
  test('name classes: numbered, bare pass/pw, misspellings, userpwd, verifier; UI text and public material are not', () => {
    const secret: [string, string][] = [
      ['password1', 'password'], ['pass', 'password'], ['PW', 'password'], ['passworsd', 'password'], ['PSWRD', 'password'], ['ANY_pass', 'password'],
      ['CURLOPT_USERPWD', 'password'], ['oauth_verifier', 'token'], ['refresh_token', 'token'], ['refreshToken', 'token'], ['tenant_key', 'key'],
      ['Authentication key', 'key'], ['nkey', 'key'],
    ];
    for (const [name, cls] of secret) assert.equal(classifyName(splitName(name)), cls, name);
    for (const name of ['LABEL_PASSWORD', 'MSG_INVALID_TOKEN', 'PublicKeyToken', 'public_key', 'forward_pass', 'second_pass', 'existingSecret', 'passwords', 'passwordless', 'bypass']) {
      assert.equal(classifyName(splitName(name)), undefined, name);
    }
  });

  test('random letters are told from words', () => {
    for (const w of ['password', 'wrong', 'favorite', 'strength', 'passphrase', 'unbelievable', 'webhook', 'dashboard']) assert.ok(isWordLike(w), w);
    for (const r of ['nhwwmd', 'vkb', 'bfzjwti', 'gjvpuqzo', 'xjcb', 'pwsg']) assert.ok(!isWordLike(r), r);
  });

  test('strong surroundings accept short literals; words, hashes and identifiers are refused', () => {
    assert.equal(judgeValue('ufrdvy', 'password'), 'low');
    assert.equal(judgeValue('bfzjwti', 'secret'), 'low');
    assert.equal(judgeValue('apple', 'token'), undefined);
    assert.equal(judgeValue('pwd1', 'password'), undefined);
    assert.equal(judgeValue('abc', 'password'), undefined);
    assert.notEqual(judgeValue('vkb_nhwwmd', 'password'), undefined);
    assert.equal(judgeValue('my_db_password', 'password'), undefined);
    assert.equal(judgeValue(`${f.alnum(9)}#2Q`, 'password', 'document'), 'medium');
    assert.equal(judgeValue('base64-encoded', 'token', 'document'), undefined);
    assert.ok(isNonSecretValue('$6$rounds=5000$abc$def'));
    assert.ok(isPlaceholder('%APPDATA%\\token'));
  });
});

describe('private keys outside a plain PEM block', () => {
  test('log prefixes, doubled JSON escapes and code concatenation are read through', () => {
    const pem = f.pem('PRIVATE KEY', f.pkcs8Key());
    const body = pem.slice(pem.indexOf('\n') + 1, pem.lastIndexOf('\n-----END'));
    const logged = body.split('\n').map((l, i) => `2026-04-26 12:36:0${i % 10} ${l}`).join('\n');
    assert.equal(checkPrivateKey('PRIVATE KEY', `\n${logged}\n2026-04-26 12:36:09 `).valid, true);
    const docker = body.split('\n').map((l) => `#5 0.228 ${l}`).join('\\\\r\\\\n');
    assert.equal(checkPrivateKey('PRIVATE KEY', `\\\\r\\\\n${docker}\\\\r\\\\n#5 0.228 `).valid, true);
    // Truncated bodies stay invalid whatever the prefix.
    assert.equal(checkPrivateKey('PRIVATE KEY', body.split('\n').slice(0, 3).map((l) => `12:00:00 ${l}`).join('\n')).valid, false);
  });

  test('base64-encoded PEM and unarmored DER are found; certificates and public keys are not', async () => {
    const key = Buffer.from(f.pem('RSA PRIVATE KEY', f.derKey())).toString('base64');
    assert.deepEqual(await families(`data:\n  tls.key: ${key}\n`, 'secret.yaml'), ['secrets/private-key']);
    const der = f.derKey().toString('base64');
    const wrapped = der.match(/.{1,64}/g)!.map((l) => `    ${l}`).join('\n');
    assert.deepEqual(await families(`<signing>\n${wrapped}\n</signing>\n`, 'keys.xml'), ['secrets/private-key']);
    const cert = Buffer.from(f.pem('CERTIFICATE', Buffer.concat([Buffer.from([0x30, 0x82, 0x01, 0x00, 0x30]), f.bytes(200)]))).toString('base64');
    assert.deepEqual(await families(`data:\n  tls.crt: ${cert}\n`, 'secret.yaml'), []);
  });
});

describe('TextIndex', () => {
  test('memoised searches answer as plain searches do', () => {
    const text = 'ab\ncd-----END X-----ef\n(gh{ij\nkl)mn';
    const idx = new TextIndex(text);
    assert.equal(idx.lineStart(4, 100), 3);
    assert.equal(idx.lineStart(1, 100), 0);
    assert.equal(idx.nextIndex('-----END', 0, 100), 5);
    assert.equal(idx.nextIndex('-----END', 6, 100), -1);
    assert.equal(idx.prevIndex('\n', 10, 0), 2);
    assert.equal(idx.prevIndex('\n', 30, 0), 29);
    assert.equal(idx.enclosingOpen(30, 32, 100), 26);
    const facts = idx.lineFacts(0, 2);
    assert.equal(facts.atLineStart, false);
  });
});
