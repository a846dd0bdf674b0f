import { eggName, isCommitRef, normalizePyPIName, parseRequirement, parseVcsUrl, pinnedVersion, urlHasHash } from './pep508.js';
import type { Dependency, ManifestProblem, SourceSetting } from './types.js';

/**
 * A pip requirements file as pip reads it (pip/_internal/req/req_file.py): lines joined on a trailing
 * backslash, comments from `#` at the start or after whitespace, global options (`--index-url`,
 * `--extra-index-url`, `--trusted-host`, `--require-hashes`, `-r`, `-c`, …) and per-requirement options
 * (`--hash`). Pins, hashes, URLs and VCS refs are recorded; nothing is fetched or resolved.
 */
export interface RequirementsFile {
  dependencies: Dependency[];
  sources: SourceSetting[];
  requireHashes: boolean;
  /** `-r` and `-c` targets as written, with where they were named. */
  includes: { kind: 'requirement' | 'constraint'; path: string; line: number }[];
  problems: ManifestProblem[];
}

interface LogicalLine {
  text: string;
  line: number;
  column: number;
}

/** Joins continuation lines and strips comments; keeps the first physical line number. */
function logicalLines(text: string): LogicalLine[] {
  const out: LogicalLine[] = [];
  const physical = text.split(/\r?\n|\r/);
  let pending: LogicalLine | undefined;
  for (let i = 0; i < physical.length; i++) {
    const raw = physical[i]!;
    const uncommented = raw.replace(/(^|\s)#.*$/, '$1');
    const continued = /\\$/.test(uncommented);
    const body = continued ? uncommented.slice(0, -1) : uncommented;
    if (pending) pending.text += ` ${body}`;
    else pending = { text: body, line: i + 1, column: body.length - body.trimStart().length + 1 };
    if (!continued) {
      if (pending.text.trim() !== '') out.push({ ...pending, text: pending.text.trim() });
      pending = undefined;
    }
  }
  if (pending && pending.text.trim() !== '') out.push({ ...pending, text: pending.text.trim() });
  return out;
}

/** Splits on whitespace, keeping `--opt=value` together and honouring simple quotes. */
function tokens(text: string): string[] {
  const out: string[] = [];
  const re = /"([^"]*)"|'([^']*)'|(\S+)/g;
  for (let m = re.exec(text); m; m = re.exec(text)) out.push(m[1] ?? m[2] ?? m[3]!);
  return out;
}

const VALUE_OPTIONS: Readonly<Record<string, string>> = {
  '-i': '--index-url',
  '--index-url': '--index-url',
  '--extra-index-url': '--extra-index-url',
  '--trusted-host': '--trusted-host',
  '-f': '--find-links',
  '--find-links': '--find-links',
  '-r': '--requirement',
  '--requirement': '--requirement',
  '-c': '--constraint',
  '--constraint': '--constraint',
  '-e': '--editable',
  '--editable': '--editable',
  '--hash': '--hash',
  '--config-settings': '--config-settings',
  '--global-option': '--global-option',
  '--install-option': '--install-option',
  '--only-binary': '--only-binary',
  '--no-binary': '--no-binary',
  '--use-feature': '--use-feature',
};

function splitOption(token: string): { name: string; value?: string } | undefined {
  if (!token.startsWith('-')) return undefined;
  const eq = token.indexOf('=');
  if (token.startsWith('--') && eq > 0) return { name: token.slice(0, eq), value: token.slice(eq + 1) };
  // `-ihttps://…` and `-rfile` are accepted by optparse too.
  if (!token.startsWith('--') && token.length > 2 && VALUE_OPTIONS[token.slice(0, 2)]) return { name: token.slice(0, 2), value: token.slice(2) };
  return { name: token };
}

function isLocalPath(value: string): boolean {
  return /^(?:\.{1,2}(?:[/\\]|$)|[/\\~]|file:)/.test(value) || /^[A-Za-z]:[/\\]/.test(value);
}

export function parseRequirementsFile(text: string): RequirementsFile {
  const result: RequirementsFile = { dependencies: [], sources: [], requireHashes: false, includes: [], problems: [] };
  for (const logical of logicalLines(text)) {
    const position = { line: logical.line, column: logical.column };
    const parts = tokens(logical.text);
    const requirementTokens: string[] = [];
    let hashed = false;
    let editable: string | undefined;
    for (let i = 0; i < parts.length; i++) {
      const token = parts[i]!;
      const option = splitOption(token);
      if (!option) {
        requirementTokens.push(token);
        continue;
      }
      const canonical = VALUE_OPTIONS[option.name];
      let value = option.value;
      if (canonical && value === undefined) value = parts[++i];
      switch (canonical ?? option.name) {
        case '--index-url':
        case '--extra-index-url':
        case '--find-links':
          if (value !== undefined) {
            const kind = canonical === '--index-url' ? 'index' : canonical === '--extra-index-url' ? 'extra-index' : 'find-links';
            result.sources.push({ kind, value, position, text: logical.text });
          }
          break;
        case '--trusted-host':
          if (value !== undefined) result.sources.push({ kind: 'trusted-host', value, position, text: logical.text });
          break;
        case '--require-hashes':
          result.requireHashes = true;
          break;
        case '--requirement':
        case '--constraint':
          if (value !== undefined) result.includes.push({ kind: canonical === '--constraint' ? 'constraint' : 'requirement', path: value, line: logical.line });
          break;
        case '--hash':
          hashed = true;
          break;
        case '--editable':
          editable = value;
          break;
        default:
          break; // --pre, --no-index, --prefer-binary, … change nothing the rules look at
      }
    }
    if (editable !== undefined) {
      result.dependencies.push(urlDependency(editable, logical, hashed, true));
      continue;
    }
    if (requirementTokens.length === 0) continue;
    const spec = requirementTokens.join(' ');
    if (/^[A-Za-z][A-Za-z0-9+.-]*:\/\//.test(spec) || isLocalPath(spec)) {
      result.dependencies.push(urlDependency(spec.split(/\s*;/, 1)[0]!, logical, hashed, false));
      continue;
    }
    const requirement = parseRequirement(spec);
    if (!requirement) {
      result.problems.push({ message: `not a requirement pip can read: ${spec.slice(0, 120)}`, position });
      continue;
    }
    const dependency: Dependency = {
      ecosystem: 'pypi',
      name: requirement.name,
      normalized: normalizePyPIName(requirement.name),
      spec: requirement.specifiers.map((s) => `${s.op}${s.version}`).join(','),
      locked: false,
      hashed: hashed || (requirement.url !== undefined && urlHasHash(requirement.url)),
      position,
      text: logical.text,
    };
    const pinned = requirement.url === undefined ? pinnedVersion(requirement.specifiers) : undefined;
    if (pinned !== undefined) dependency.pinned = pinned;
    if (requirement.url !== undefined) applyUrl(dependency, requirement.url);
    result.dependencies.push(dependency);
  }
  return result;
}

function urlDependency(value: string, logical: LogicalLine, hashed: boolean, editable: boolean): Dependency {
  const name = eggName(value) ?? archiveName(value) ?? value;
  const dependency: Dependency = {
    ecosystem: 'pypi',
    name,
    normalized: normalizePyPIName(name),
    spec: '',
    locked: false,
    hashed: hashed || urlHasHash(value),
    position: { line: logical.line, column: logical.column },
    text: logical.text,
  };
  if (isLocalPath(value) || (editable && !/^[A-Za-z][A-Za-z0-9+.-]*:\/\//.test(value))) dependency.local = true;
  else applyUrl(dependency, value);
  return dependency;
}

/** The project name in a wheel or sdist file name at the end of a URL (`…/torch-2.6.0-cp311-….whl` → torch). */
function archiveName(url: string): string | undefined {
  const file = url.split(/[?#]/, 1)[0]!.split('/').pop() ?? '';
  return /^([A-Za-z0-9][A-Za-z0-9._]*?)-\d[^/]*\.(?:whl|tar\.gz|zip|tar\.bz2)$/.exec(file)?.[1];
}

/** Records a URL requirement: VCS URLs with their ref, archives by URL, local `file:` paths. */
export function applyUrl(dependency: Dependency, url: string): void {
  if (/^file:/i.test(url)) {
    dependency.local = true;
    return;
  }
  const vcs = parseVcsUrl(url);
  if (vcs) {
    dependency.vcs = vcs.ref === undefined ? { url: vcs.url } : { url: vcs.url, ref: vcs.ref };
    if (isCommitRef(vcs.ref)) dependency.hashed = true; // a commit id is a content address
    return;
  }
  dependency.url = url;
}
