/**
 * PEP 508 dependency specifiers, as pip reads them: `name[extras] (specifiers) ; marker` or
 * `name[extras] @ url ; marker`. Only what the rules need is kept; anything that does not parse is
 * returned as undefined so the caller can report it.
 */

export interface Specifier {
  op: string;
  version: string;
}

export interface Requirement {
  name: string;
  extras: string[];
  specifiers: Specifier[];
  url?: string;
  marker?: string;
}

const NAME = /^[A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?/;
const OPS = ['===', '~=', '==', '!=', '<=', '>=', '<', '>'] as const;

/** PEP 503 normalisation: lower case, runs of `-`, `_` and `.` become one `-`. */
export function normalizePyPIName(name: string): string {
  return name.toLowerCase().replace(/[-_.]+/g, '-');
}

export function parseRequirement(input: string): Requirement | undefined {
  let rest = input.trim();
  const name = NAME.exec(rest)?.[0];
  if (!name) return undefined;
  rest = rest.slice(name.length).trimStart();
  const extras: string[] = [];
  if (rest.startsWith('[')) {
    const close = rest.indexOf(']');
    if (close < 0) return undefined;
    for (const extra of rest.slice(1, close).split(',')) if (extra.trim() !== '') extras.push(extra.trim());
    rest = rest.slice(close + 1).trimStart();
  }
  let marker: string | undefined;
  if (rest.startsWith('@')) {
    // `name @ url ; marker` — the marker needs whitespace before `;` (a URL may hold `;`).
    let url = rest.slice(1).trim();
    const semi = /\s;/.exec(url);
    if (semi) {
      marker = url.slice(semi.index + 2).trim();
      url = url.slice(0, semi.index).trim();
    }
    if (url === '') return undefined;
    return { name, extras, specifiers: [], url, ...(marker === undefined ? {} : { marker }) };
  }
  const semi = rest.indexOf(';');
  if (semi >= 0) {
    marker = rest.slice(semi + 1).trim();
    rest = rest.slice(0, semi).trim();
  }
  if (rest.startsWith('(') && rest.endsWith(')')) rest = rest.slice(1, -1).trim();
  const specifiers: Specifier[] = [];
  if (rest !== '') {
    for (const part of rest.split(',')) {
      const clause = part.trim();
      const op = OPS.find((o) => clause.startsWith(o));
      if (!op) return undefined;
      const version = clause.slice(op.length).trim();
      if (version === '' || /\s/.test(version)) return undefined;
      specifiers.push({ op, version });
    }
  }
  return { name, extras, specifiers, ...(marker === undefined ? {} : { marker }) };
}

/** The exact version a specifier set pins (`==1.2.3`, `===1.2.3`), or undefined for ranges and wildcards. */
export function pinnedVersion(specifiers: readonly Specifier[]): string | undefined {
  const exact = specifiers.filter((s) => (s.op === '==' || s.op === '===') && !s.version.includes('*'));
  if (exact.length !== 1) return undefined;
  return exact[0]!.version;
}

/** `git+https://host/repo@ref#egg=x` → url and ref (for `git+`, `hg+`, `svn+`, `bzr+` URLs). */
export function parseVcsUrl(url: string): { url: string; ref?: string } | undefined {
  const scheme = /^(git|hg|svn|bzr)\+[A-Za-z][A-Za-z0-9+.-]*:\/\//.exec(url);
  if (!scheme) return undefined;
  const noFragment = url.split('#', 1)[0]!;
  const afterAuthority = noFragment.indexOf('/', scheme[0].length);
  const at = afterAuthority < 0 ? -1 : noFragment.lastIndexOf('@');
  if (at > afterAuthority && afterAuthority >= 0) return { url: noFragment.slice(0, at), ref: noFragment.slice(at + 1) };
  return { url: noFragment };
}

/** A full commit id (40 hex for git SHA-1, 64 for SHA-256) — the only ref that cannot move. */
export function isCommitRef(ref: string | undefined): boolean {
  return ref !== undefined && /^(?:[0-9a-f]{40}|[0-9a-f]{64})$/i.test(ref);
}

/** `#sha256=…` (or another hash) in a URL fragment, as pip accepts it. */
export function urlHasHash(url: string): boolean {
  const hash = url.indexOf('#');
  return hash >= 0 && /(?:^|&)(?:sha256|sha384|sha512)=[0-9a-f]{32,}/i.test(url.slice(hash + 1));
}

/** The `egg=` name in a URL fragment (`…#egg=name`), which names a bare URL requirement. */
export function eggName(url: string): string | undefined {
  const hash = url.indexOf('#');
  if (hash < 0) return undefined;
  return /(?:^|&)egg=([A-Za-z0-9][A-Za-z0-9._-]*)/.exec(url.slice(hash + 1))?.[1];
}
