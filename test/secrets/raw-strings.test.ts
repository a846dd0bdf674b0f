import assert from 'node:assert/strict';
import { test } from 'node:test';
import { detectSecrets } from '../../src/scanners/secrets/detect.js';
import { Fake } from '../../src/scanners/secrets/fake.js';
import { hasBacktickStrings, RawStringIndex } from '../../src/scanners/secrets/raw-strings.js';
import { scanText } from './helpers.js';

// Configuration files kept in multi-line raw strings of code (Go raw strings, JavaScript template literals), as test
// suites of servers keep them. Values are generated here; none is a real credential.
const f = new Fake(4242);
const pw = (): string => `${f.alnum(7)}${f.int(90) + 10}`;

function lineStartOf(text: string, at: number): number {
  return text.lastIndexOf('\n', at - 1) + 1;
}

test('the lexer tells multi-line backtick strings from comments, quotes and one-line backticks', () => {
  const text = [
    'a := `one line`', // 0
    'b := "a ` in quotes"', // 1
    "c := '`'", // 2
    '// a ` in a comment', // 3
    '/* and ` in a block', // 4
    '   comment */', // 5
    'conf := `', // 6
    '  password: x', // 7
    '`', // 8
    'after: y', // 9
  ].join('\n');
  const lines = text.split('\n');
  const at = (line: number): number => lines.slice(0, line).join('\n').length + (line > 0 ? 1 : 0) + 2;
  const expected = [false, false, false, false, false, false, false, true, false, false];
  const forward = new RawStringIndex(text);
  assert.deepEqual(expected.map((_, i) => forward.inMultilineBacktick(at(i), lineStartOf(text, at(i)))), expected);
  // Queries that go backwards restart from a checkpoint and agree with a fresh pass.
  const backward = new RawStringIndex(text);
  assert.deepEqual([...expected.keys()].reverse().map((i) => backward.inMultilineBacktick(at(i), lineStartOf(text, at(i)))), [...expected].reverse());
});

test('JavaScript template literals take escapes; Go raw strings do not', () => {
  const js = 'const h = `run \\`tool\\` with a\n  password: x`;';
  const go = 'p := `C:\\`\nopts := Options{\n  password: x}';
  const at = (t: string): number => t.indexOf('password');
  assert.equal(new RawStringIndex(js, true).inMultilineBacktick(at(js), lineStartOf(js, at(js))), true);
  assert.equal(new RawStringIndex(go, false).inMultilineBacktick(at(go), lineStartOf(go, at(go))), false);
});

test('answers after backward jumps across checkpoints equal a fresh pass, on long random code', () => {
  const alphabet = ['`', '"', "'", '/', '*', '\\', '\n', 'a', ' ', ':'];
  let text = '';
  while (text.length < 6000) text += alphabet[f.int(alphabet.length)]!;
  const positions = Array.from({ length: 400 }, () => f.int(text.length));
  const reused = new RawStringIndex(text, true);
  for (const p of positions) assert.equal(reused.inMultilineBacktick(p, lineStartOf(text, p)), new RawStringIndex(text, true).inMultilineBacktick(p, lineStartOf(text, p)), `at ${p}`);
});

test('only Go and JavaScript/TypeScript sources are read for backtick strings', () => {
  for (const name of ['a_test.go', 'app.js', 'x.mjs', 'y.tsx']) assert.ok(hasBacktickStrings(name), name);
  for (const name of ['run.sh', 'main.py', 'README.md', 'go']) assert.ok(!hasBacktickStrings(name), name);
});

test('config fields inside a multi-line raw string are credentials', async () => {
  const cases: [string, string][] = [
    [`conf := createConfFile(t, []byte(\`\n  authorization: { user: gw, password: ${pw()} }\n\`))`, 'gateway_test.go'],
    [`conf := \`\n  accounts: { A: { users: [ {user: svc, password: ${pw()}} ] } }\n\``, 'accounts_test.go'],
    [`conf := \`\n  leafnodes {\n    remotes [ { url: "nats://h:7422", token: ${f.alnum(24)} } ]\n  }\n\``, 'leaf_test.go'],
    [`const config = \`\nredis:\n  password: ${pw()}\n\`;`, 'setup.test.ts'],
  ];
  for (const [text, file] of cases) assert.ok((await scanText(text, file)).length >= 1, `${file}: ${text}`);
});

test('expressions and help text are not', async () => {
  const cases: [string, string][] = [
    ['opts := Options{password: secretFromEnv, token: tok}', 'options.go'],
    ['x := `a`\nobj := Config{password: userPassword}', 'config.go'],
    ['const t = `\n  password: ${pw}\n  token = ${opts.token},\n`;', 'render.ts'],
    ['const USAGE = `Usage: tool create NAME\n  creates a user (who logs in with a\n  password: from standard input) or a service account.`;', 'cli.ts'],
    ['const help = `\nEnter your password: here\n`;', 'prompt.js'],
    ['// a ` in a comment\nconst o = { password: userPassword };', 'form.js'],
    [`conf = """\n{user: svc, password: word}\n"""`, 'conf.py'],
  ];
  for (const [text, file] of cases) assert.deepEqual(await scanText(text, file), [], `${file}: ${text}`);
});

test('a megabyte raw string of config fields is read in one pass', { timeout: 120_000 }, () => {
  const body = '  {user: u, password: pass1}\n'.repeat(40_000);
  const text = `conf := \`\n${body}\`\n`;
  const outcome = detectSecrets({ text, kind: 'code', baseName: 'big_test.go' }, Number.POSITIVE_INFINITY);
  assert.equal(outcome.stoppedAt, undefined);
});
