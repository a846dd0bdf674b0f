import type { ScanDoc, SecretDoc } from './types.js';

/**
 * Passwords as parameters of connection strings, which carry no `user:password@` userinfo:
 * - JDBC and other URLs with query parameters: `jdbc:postgresql://db/app?user=etl&password=…`,
 *   `jdbc:sqlserver://db:1433;databaseName=ml;user=sa;password=…;`, `mongodb://db/?authSource=admin&password=…`;
 * - ODBC / ADO.NET strings: `Driver={…};Server=tcp:db,1433;Uid=etl;Pwd=…;`, `Data Source=…;User ID=…;Password=…`,
 *   also percent-encoded inside SQLAlchemy `?odbc_connect=DRIVER%3D…%3BPWD%3D…`;
 * - Oracle thin JDBC URLs `jdbc:oracle:thin:scott/password@host:1521:orcl`.
 */
export interface ConnectionParam {
  /** `JDBC PostgreSQL`, `ODBC`… (without the word "connection"). */
  readonly kind: string;
  readonly name: string;
  /** The password as the server reads it (braces of ODBC quoting and percent-encoding removed). */
  readonly password: string;
  readonly start: number;
  readonly end: number;
}

const REACH = 1024;

/** Keys that make a `key=value;` list a connection string. */
const CONNECTION_KEYS = /(?:^|[;\s{])(?:server|data source|datasource|host|hostname|address|addr|network address|driver|dsn|database|initial catalog|uid|user id|userid|user|username|account|port|provider|servername|dbname)\s*=/i;

function isStop(c: number): boolean {
  // quotes, backtick, newline, carriage return
  return c === 34 || c === 39 || c === 96 || c === 10 || c === 13;
}

const JDBC = /jdbc:([a-z0-9]+)(?::([a-z0-9]+))?:/iy;
/** How much of the segment on each side the connection-key test reads. */
const KEY_REACH = 256;

/** Reads the connection-string password whose parameter name (`password=`, `pwd=`, `PWD%3D`) starts at `pos`. */
export function parseConnectionParam(doc: ScanDoc, pos: number, keyword: string): ConnectionParam | undefined {
  const { text, index } = doc;
  const encoded = keyword.endsWith('%3d');
  // The quoted or line-delimited stretch of text around `pos` (at most REACH each way).
  const around = index.around('connstring-stop', isStop, pos, Math.max(0, pos - REACH), pos + REACH);
  const seg = { start: around.before < 0 ? Math.max(0, pos - REACH) : around.before + 1, end: around.after < 0 ? Math.min(text.length, pos + REACH) : around.after };
  const nameEnd = pos + keyword.length;
  const name = text.slice(pos, nameEnd - (encoded ? 3 : 1));
  // What separates the parameter from the one before it.
  let b = pos;
  while (b > seg.start && (text.charCodeAt(b - 1) === 32 || text.charCodeAt(b - 1) === 9)) b--;
  const prev = b > seg.start ? text[b - 1]! : '';
  let sep: string;
  if (encoded) {
    const tail = text.slice(Math.max(seg.start, b - 3), b).toLowerCase();
    sep = tail.endsWith('%3b') ? '%3b' : prev === '?' || prev === '&' || prev === '=' ? prev : '';
  } else sep = prev === '?' || prev === '&' || prev === ';' ? prev : b === seg.start ? ';' : '';
  if (sep === '') return undefined;
  const jdbcAt = Math.max(index.prevIndex('jdbc:', pos, seg.start), index.prevIndex('JDBC:', pos, seg.start));
  let jdbc: RegExpExecArray | null = null;
  if (jdbcAt >= 0) {
    JDBC.lastIndex = jdbcAt;
    jdbc = JDBC.exec(text);
  }
  const schemeAt = index.prevIndex('://', pos, seg.start);
  const url = schemeAt >= 0 || jdbc !== null;
  let kind: string;
  if (encoded) {
    if (sep !== '%3b' && index.prevIndex('odbc_connect=', pos, seg.start) < 0 && index.prevIndex('%3B', pos, seg.start) < 0 && index.prevIndex('%3b', pos, seg.start) < 0) return undefined;
    kind = 'ODBC';
  } else if (url && /[?&;]/.test(sep)) {
    kind = jdbc ? `JDBC ${jdbc[1]!.toLowerCase()}` : (/([a-z][a-z0-9+.-]*)$/i.exec(text.slice(Math.max(seg.start, schemeAt - 32), schemeAt))?.[1] ?? 'URL').toLowerCase();
  } else {
    // An ODBC / ADO.NET list: `;`-separated, with at least one other connection key in it.
    const semicolon = index.prevIndex(';', pos, seg.start) >= 0 || index.nextIndex(';', nameEnd, seg.end - nameEnd) >= 0;
    if (!semicolon) return undefined;
    const head = text.slice(Math.max(seg.start, pos - KEY_REACH), pos);
    const rest = text.slice(nameEnd, Math.min(seg.end, nameEnd + KEY_REACH));
    if (!(CONNECTION_KEYS.test(head) || CONNECTION_KEYS.test(rest))) return undefined;
    kind = 'ODBC';
  }
  // The value: ODBC braces `{…}` (with `}}` escaping a brace), or up to the next separator.
  let start = nameEnd;
  let end: number;
  let value: string;
  if (!encoded && kind === 'ODBC' && text.charCodeAt(start) === 123 /* { */) {
    let i = start + 1;
    let out = '';
    for (; i < seg.end; i++) {
      if (text.charCodeAt(i) === 125) {
        if (text.charCodeAt(i + 1) === 125) {
          out += '}';
          i++;
          continue;
        }
        break;
      }
      out += text[i];
    }
    if (i >= seg.end) return undefined;
    // `{password}` in an f-string or format template is a variable, not a quoted value.
    if (/^[A-Za-z_][\w.]*$/.test(out)) return undefined;
    start += 1;
    end = i;
    value = out;
  } else {
    // `#` does not end a value: people write unencoded `#` in passwords (see uri.ts).
    const stop = encoded ? /%3b|&|\s/i : kind === 'ODBC' ? /;/ : /[&;\s]/;
    const tail = text.slice(start, Math.min(seg.end, start + 512));
    const m = stop.exec(tail);
    end = start + (m ? m.index : tail.length);
    while (end > start && /\s/.test(text[end - 1]!)) end--;
    value = text.slice(start, end);
    if (encoded || kind !== 'ODBC') {
      try {
        value = decodeURIComponent(value);
      } catch {
        // A raw `%` that is no escape: the value was written unencoded.
      }
    }
  }
  if (value === '') return undefined;
  return { kind, name, password: value, start, end };
}

/** `jdbc:oracle:thin:user/password@host…` at `pos` (the `jdbc:` keyword). */
export function parseOracleThin(doc: SecretDoc, pos: number): ConnectionParam | undefined {
  const m = /jdbc:oracle:(?:thin|oci):([A-Za-z0-9_$#.]{1,64})\/([^@\s"'`/;]{1,128})@/iy;
  m.lastIndex = pos;
  const r = m.exec(doc.text);
  if (!r) return undefined;
  const start = pos + r[0].length - 1 - r[2]!.length;
  return { kind: 'JDBC oracle', name: r[1]!, password: r[2]!, start, end: start + r[2]!.length };
}

export const CONNSTRING_PATTERNS = [CONNECTION_KEYS, JDBC];
