import { distinctChars, longestRun, longestSequence, shortPeriod } from './stats.js';

/**
 * The shared placeholder policy: values that documentation, templates and examples use in place of a
 * real secret. A placeholder is never reported, by any rule. The policy is deliberately about the
 * value alone (the name it is assigned to is judged elsewhere).
 */

/** Substrings (lowercase) that mark a value as an example or a template. */
const MARKERS = [
  'example',
  'sample',
  'dummy',
  'placeholder',
  'changeme',
  'change_me',
  'change-me',
  'replace_me',
  'replace-me',
  'replaceme',
  'your_',
  'your-',
  'yourkey',
  'yourtoken',
  'yoursecret',
  'yourpassword',
  'redacted',
  'xxxx',
  '****',
  '...',
  '…',
  '\u00e2\u0080\u00a6', // '…' in UTF-8, read one byte per character
  '<your',
  'insert_',
  'insert-',
  'put_your',
  'not_a_real',
  'not-a-real',
  'notreal',
  'fakefake',
  'todo_',
  'fixme',
  'secret_here',
  'key_here',
  'token_here',
];

/** Whole values (lowercase, separators removed) that are defaults or stand-ins rather than secrets. */
const WHOLE = new Set([
  'password',
  'passw0rd',
  'p4ssw0rd',
  'pass',
  'passwd',
  'pwd',
  'secret',
  'secrets',
  'token',
  'apikey',
  'key',
  'changeit',
  'admin',
  'administrator',
  'root',
  'toor',
  'test',
  'testing',
  'tester',
  'test123',
  'testtest',
  'default',
  'guest',
  'user',
  'username',
  'letmein',
  'qwerty',
  'welcome',
  'hunter2',
  'postgres',
  'mysql',
  'redis',
  'rabbitmq',
  'mongo',
  'mongodb',
  'foobar',
  'foo',
  'bar',
  'baz',
  'none',
  'null',
  'nil',
  'undefined',
  'true',
  'false',
  'empty',
  'string',
  'str',
  'value',
  'mysecret',
  'mypassword',
  'mytoken',
  'myapikey',
  'supersecret',
  'topsecret',
  'demo',
  'sk',
  'tbd',
  'todo',
  'na',
  'n/a',
  'qux',
  'quux',
  'corge',
  'grault',
  'garply',
  'waldo',
  'fred',
  'plugh',
  'xyzzy',
  'thud',
  'passwort',
  'kennwort',
  'swordfish',
  'opensesame',
  'secretpassword',
  'yoursecret',
  'foobared',
  'anonymous',
  'tiger',
]);

/** Words that stand in for a secret (`my-secret-value`, `SuperSecret123`, `Passw0rd!`, `dev_db_password`). */
const STAND_IN_WORDS = new Set([
  'secret', 'secrets', 'password', 'passwords', 'passwd', 'pass', 'word', 'pwd', 'pw', 'value', 'values', 'token', 'tokens', 'key',
  'keys', 'api', 'apikey', 'my', 'your', 'our', 'the', 'test', 'testing', 'demo', 'example', 'sample', 'dummy', 'fake', 'super',
  'top', 'admin', 'administrator', 'root', 'user', 'username', 'default', 'dev', 'devel', 'development', 'prod', 'production',
  'staging', 'local', 'localhost', 'changeme', 'change', 'it', 'letmein', 'let', 'qwerty', 'welcome', 'hello', 'world', 'foo', 'bar',
  'baz', 'db', 'database', 'app', 'application', 'service', 'access', 'auth', 'here', 'goes', 'insert', 'put', 'real', 'not',
  'private', 'public', 'client', 'temp', 'tmp', 'string', 'abc', 'xyz', 'mysql', 'postgres', 'redis', 'mongo', 'guest', 'login',
  'new', 'old', 'very', 'strong', 'safe', 'secure', 'hidden', 'replace', 'todo', 'tbd', 'sk', 'pk',
  'one', 'two', 'three', 'four', 'five', 'six', 'seven', 'eight', 'nine', 'ten', 'first', 'second', 'third', 'again', 'other',
  'another', 'wrong', 'bad', 'good', 'correct', 'incorrect', 'invalid', 'valid', 'right', 'same', 'different', 'some', 'any',
]);

/** Read `s3cr3t`, `p@ssw0rd`, `adm1n` as words. */
function unLeet(text: string): string {
  return text.replace(/[4@]/g, 'a').replace(/3/g, 'e').replace(/[1!|]/g, 'i').replace(/0/g, 'o').replace(/[5$]/g, 's').replace(/7/g, 't');
}

/** True when `chunk` is a concatenation of stand-in words (dynamic programming over prefixes). */
function segments(chunk: string): boolean {
  const n = chunk.length;
  const ok = new Array<boolean>(n + 1).fill(false);
  ok[0] = true;
  for (let i = 1; i <= n; i++) {
    for (let j = Math.max(0, i - 14); j < i && !ok[i]; j++) if (ok[j] && STAND_IN_WORDS.has(chunk.slice(j, i))) ok[i] = true;
  }
  return ok[n]!;
}

/** A value made only of stand-in words, optionally leetspeak, with up to six trailing digits or symbols. */
function isStandInPhrase(value: string): boolean {
  if (value.length > 64) return false;
  const body = unLeet(value.replace(/[^A-Za-z]{1,6}$/, '').toLowerCase());
  const chunks = body.split(/[^a-z]+/).filter((c) => c !== '');
  const letters = chunks.reduce((n, c) => n + c.length, 0);
  return letters >= 3 && chunks.every(segments);
}

const TEMPLATE =
  /\$\{[^}]*\}?|\{\{|\}\}|\$\(|\{[A-Za-z_][\w.()[\]'"]{0,60}\}|%\([A-Za-z_]+\)[sd]|^\$[A-Za-z_]|%[A-Za-z_][A-Za-z0-9_]{0,60}%|^@[A-Za-z_][A-Za-z0-9_]{0,60}@$|^__[A-Z][A-Z0-9_]{0,60}__$|[#%]\{[^}\n]{1,60}\}|<%=?|^\{\d{0,2}\}$|^<{1,2}[^<>]{1,80}>{1,2}$|^\[[A-Za-z _-]{1,60}\]$|^\{[A-Za-z_][A-Za-z0-9_.]{0,60}\}$/;

/**
 * True when `value` is a placeholder rather than a secret: example markers (`EXAMPLE`, `xxxx`,
 * `your-key`), template and variable references (`${VAR}`, `$VAR`, `{{ }}`, `<your-key>`,
 * `%(name)s`, `%VAR%`, `@VAR@`, `#{var}`, `<%= var %>`), well-known defaults (`changeme`, `password`), or strings whose characters are
 * repeated, sequential or periodic (`aaaaaaaa`, `123456`, `abcabcabc`).
 */
export function isPlaceholder(value: string): boolean {
  const v = value.trim();
  if (v.length === 0) return true;
  const lower = v.toLowerCase();
  for (const marker of MARKERS) if (lower.includes(marker)) return true;
  if (TEMPLATE.test(v)) return true;
  if (WHOLE.has(lower.replace(/[\s_-]+/g, ''))) return true;
  if (isStandInPhrase(v)) return true;
  if (longestRun(v) >= 6) return true;
  if (longestSequence(v) >= 6) return true;
  if (v.length >= 4 && shortPeriod(v, 4) > 0) return true;
  if (v.length >= 8 && distinctChars(v) <= 3) return true;
  return false;
}

/** The part of a token after a known prefix must not be a placeholder either (`ghp_` + `xxxx…`). */
export function isPlaceholderToken(token: string, prefixLength: number): boolean {
  return isPlaceholder(token) || isPlaceholder(token.slice(prefixLength));
}
