import { judgeValue } from '../score.js';
import type { Emit, KeywordDetector, ScanDoc } from '../types.js';

/**
 * Passwords given to tools on a command line, where no `name=value` says so: `curl -u user:password`,
 * `ConvertTo-SecureString "…" -AsPlainText`, `sshpass -p …`, `docker login -p …`, and HTTP basic credentials
 * built in code (`base64.b64encode(b"user:password")`, `btoa("user:password")`). Flags that do name the
 * secret (`--password …`, `gpg --passphrase …`) are read by the assignment parser. Each detector reads only
 * the rest of the keyword's line, at most 1 KiB.
 */

const REACH = 1024;

/** The rest of the line from `pos`, at most REACH characters. */
function restOfLine(doc: ScanDoc, pos: number): string {
  const nl = doc.index.nextIndex('\n', pos, REACH);
  return doc.text.slice(pos, nl < 0 ? Math.min(doc.text.length, pos + REACH) : nl);
}

function emitPassword(emit: Emit, start: number, value: string, tool: string): void {
  const confidence = judgeValue(value, 'password');
  if (confidence === undefined) return;
  emit({
    start,
    end: start + value.length,
    secret: value,
    message: 'command',
    data: { what: 'password', name: tool },
    evidence: `${tool} ${value}`,
    ...(confidence === 'low' ? { confidence: 'low' as const, severity: 'low' as const } : {}),
  });
}

/** `curl -u user:password`, `--user user:password`, `-U`/`--proxy-user` for the proxy. */
const CURL_USER = /(?:^|\s)(?:-u|--user|-U|--proxy-user)(?:[ \t]+|=)(["']?)([^\s"':]{1,128}):([^\s"']{1,256})\1(?=[\s;|&)]|$)/g;
/** `sshpass -p password`. */
const SSHPASS = /^sshpass[ \t]+(?:-[a-oq-zA-Z][ \t]+\S+[ \t]+)*-p[ \t]*(["']?)([^\s"']{1,256})\1(?=\s|$)/;
/** `docker login -p password` (the long `--password` is an assignment). */
const LOGIN_PASSWORD = /(?:^|\s)-p(?:[ \t]+|=)(["']?)([^\s"'-][^\s"']{0,255})\1(?=\s|$)/;
/** `b64encode(b"user:password")`, `btoa('user:password')`, with an optional `.encode()` of a str. */
const BASIC_IN_CODE = /(?:b64encode|btoa|encodebytes|encodestring)\([ \t]*[bu]?(["'`])([^"'`:\s\\{}$]{1,64}):([^"'`\s\\{}]{1,128})\1/y;
/** The first argument of ConvertTo-SecureString that is not a switch: the plain text. */
const SECURE_STRING_ARG = /^[ \t]+(?:-(?!String\b)[A-Za-z]+[ \t]+)*(?:-String[ \t]+)?(?:-[A-Za-z]+[ \t]+)*(\\?["'])?([^\s"'\\|;)]{1,256})(?:\\?["'])?/i;

/** The switch that makes ConvertTo-SecureString take plain text (`-AsPlainText`, or an unambiguous prefix of it). */
const AS_PLAIN_TEXT = /(?:^|\s)-AsP(?:l(?:a(?:i(?:n(?:T(?:e(?:x(?:t)?)?)?)?)?)?)?)?(?=[\s:`]|$)/i;

/** An encrypted standard string: DPAPI (`01000000d08c9ddf…`) or key-based (`76492d1116743f04…`) hex ciphertext. */
const ENCRYPTED_STANDARD_STRING = /^(?:01000000d08c9ddf|76492d1116743f04)[0-9a-f]|^[0-9a-f]{64,}$/i;

/**
 * The MySQL and MariaDB clients take the password glued to `-p` (`mysql -u root -pS3cret db`); `-p` alone prompts, and
 * the next word is then the database, so only the glued form is read. The command ends at a shell separator.
 */
const MYSQL_CLIENT = /^(?:mysql(?:dump|admin|import|show|check|binlog|pump|slap)?|mariadb(?:-dump|-admin|-import|-show|-check)?)[ \t]/;
const MYSQL_GLUED_PASSWORD = /(?:^|[ \t])-p(?:(["'])([^"'\s]{1,256})\1|([^\s"'$`;|&<>()-][^\s"'`;|&<>()]{0,255}))(?=[\s;|&)]|$)/;

/** Per document: how far `curl` command lines have been read, so that `curl curl curl …` is read once. */
const curlReadUpTo = new WeakMap<ScanDoc, number>();

/** Where the first command of a shell line ends: at `;`, `|`, `&` or a backtick, outside quotes. */
function commandEnd(line: string): number {
  let quote = 0;
  for (let i = 0; i < line.length; i++) {
    const c = line.charCodeAt(i);
    if (quote !== 0) {
      if (c === quote) quote = 0;
    } else if (c === 34 || c === 39) quote = c;
    else if (c === 59 || c === 124 || c === 38 || c === 96) return i;
  }
  return line.length;
}

export const COMMAND_DETECTORS: readonly KeywordDetector[] = [
  {
    keywords: ['curl '],
    ignoreCase: true,
    find(doc, pos, keyword, emit) {
      if (pos < (curlReadUpTo.get(doc) ?? 0)) return;
      const line = restOfLine(doc, pos + keyword.length - 1);
      curlReadUpTo.set(doc, pos + keyword.length - 1 + line.length);
      CURL_USER.lastIndex = 0;
      for (let m = CURL_USER.exec(line); m !== null; m = CURL_USER.exec(line)) {
        const value = m[3]!;
        emitPassword(emit, pos + keyword.length - 1 + m.index + m[0].lastIndexOf(value), value, `curl -u ${m[2]}:`);
      }
    },
  },
  {
    keywords: ['ConvertTo-SecureString'],
    ignoreCase: true,
    find(doc, pos, keyword, emit) {
      const line = restOfLine(doc, pos + keyword.length);
      const m = SECURE_STRING_ARG.exec(line);
      const value = m?.[2];
      if (!m || value === undefined || value.startsWith('$') || value.startsWith('-')) return;
      // The output of ConvertFrom-SecureString (hex ciphertext) is what the cmdlet reads without -AsPlainText.
      if (ENCRYPTED_STANDARD_STRING.test(value)) return;
      // A command names its argument: quoted, after a switch, or with -AsPlainText on this line or, after a backtick
      // continuation, the next. A bare word right after the cmdlet's name is prose (`ConvertTo-SecureString that …`).
      if (m[1] === undefined && !/^[ \t]+-/.test(m[0])) {
        const more = line.trimEnd().endsWith('`') ? restOfLine(doc, pos + keyword.length + line.length + 1) : '';
        if (!AS_PLAIN_TEXT.test(line) && !AS_PLAIN_TEXT.test(more)) return;
      }
      emitPassword(emit, pos + keyword.length + m[0].lastIndexOf(value), value, 'ConvertTo-SecureString');
    },
  },
  {
    keywords: ['mysql', 'mariadb'],
    find(doc, pos, _keyword, emit) {
      const before = pos > 0 ? doc.text.charCodeAt(pos - 1) : -1;
      // A command word: not part of a longer name (`pymysql`, `my_mysql`, `mysql.connector`).
      if (before !== -1 && !(before === 32 || before === 9 || before === 10 || before === 13 || before === 47 || before === 96 || before === 34 || before === 39 || before === 40 || before === 59 || before === 124 || before === 38 || before === 36 || before === 91)) return;
      const line = restOfLine(doc, pos);
      const tool = MYSQL_CLIENT.exec(line);
      if (!tool) return;
      const command = line.slice(0, commandEnd(line));
      const m = MYSQL_GLUED_PASSWORD.exec(command.slice(tool[0].length - 1));
      if (!m) return;
      const value = m[2] ?? m[3]!;
      emitPassword(emit, pos + tool[0].length - 1 + m.index + m[0].lastIndexOf(value), value, `${tool[0].trim()} -p`);
    },
  },
  {
    keywords: ['sshpass'],
    find(doc, pos, _keyword, emit) {
      const m = SSHPASS.exec(restOfLine(doc, pos));
      if (!m) return;
      const value = m[2]!;
      emitPassword(emit, pos + m[0].lastIndexOf(value), value, 'sshpass -p');
    },
  },
  {
    keywords: ['docker login', 'podman login', 'buildah login', 'skopeo login'],
    ignoreCase: true,
    find(doc, pos, keyword, emit) {
      const from = pos + keyword.length;
      const m = LOGIN_PASSWORD.exec(restOfLine(doc, from));
      if (!m) return;
      const value = m[2]!;
      emitPassword(emit, from + m.index + m[0].lastIndexOf(value), value, `${keyword} -p`);
    },
  },
  {
    keywords: ['b64encode(', 'btoa(', 'encodebytes(', 'encodestring('],
    find(doc, pos, _keyword, emit) {
      BASIC_IN_CODE.lastIndex = pos;
      const m = BASIC_IN_CODE.exec(doc.text);
      if (!m) return;
      const value = m[3]!;
      emitPassword(emit, pos + m[0].lastIndexOf(value), value, `basic credentials ${m[2]}:`);
    },
  },
];

export const COMMAND_PATTERNS = [CURL_USER, SSHPASS, LOGIN_PASSWORD, BASIC_IN_CODE, SECURE_STRING_ARG, AS_PLAIN_TEXT, ENCRYPTED_STANDARD_STRING, MYSQL_CLIENT, MYSQL_GLUED_PASSWORD];
