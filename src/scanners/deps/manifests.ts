import { parse as parseToml } from 'smol-toml';
import { isMap, isScalar, isSeq, LineCounter, parseDocument, type Node as YamlNode } from 'yaml';
import { asRecord, isRecord } from '../../core/json.js';
import { isCommitRef, normalizePyPIName, parseRequirement, pinnedVersion, urlHasHash } from './pep508.js';
import { applyUrl, parseRequirementsFile } from './requirements.js';
import { TextIndex } from './text-index.js';
import type { Dependency, ManifestKind, ManifestProblem, Position, SourceSetting } from './types.js';

/** What every manifest parser returns (the scanner adds the lockfile status). */
export interface ParsedManifest {
  dependencies: Dependency[];
  sources: SourceSetting[];
  requireHashes: boolean;
  problems: ManifestProblem[];
}

const empty = (): ParsedManifest => ({ dependencies: [], sources: [], requireHashes: false, problems: [] });

/** A manifest that is not valid TOML/JSON/YAML is a problem to report, not an exception. */
function unparsable(kind: string, error: unknown): ParsedManifest {
  const result = empty();
  const message = error instanceof Error ? error.message.split('\n', 1)[0]!.slice(0, 200) : 'unknown error';
  const line = /line (\d+)/i.exec(error instanceof Error ? error.message : '')?.[1];
  result.problems.push({ message: `not valid ${kind}: ${message}`, position: { line: line === undefined ? 1 : Number(line), column: 1 } });
  return result;
}

function strings(value: unknown): string[] {
  return Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : [];
}

// ---------------------------------------------------------------------------------------------------
// PEP 508 strings (pyproject [project], dependency groups, conda's pip: section)

function pep508Dependency(spec: string, index: TextIndex, from: number, result: ParsedManifest): void {
  const requirement = parseRequirement(spec);
  const where = index.locateName(requirement?.name ?? spec.trim().split(/[\s[<>=!~;@]/, 1)[0]!, from);
  if (!requirement) {
    result.problems.push({ message: `not a PEP 508 requirement: ${spec.slice(0, 120)}`, position: where.position });
    return;
  }
  const dependency: Dependency = {
    ecosystem: 'pypi',
    name: requirement.name,
    normalized: normalizePyPIName(requirement.name),
    spec: requirement.specifiers.map((s) => `${s.op}${s.version}`).join(','),
    locked: false,
    hashed: requirement.url !== undefined && urlHasHash(requirement.url),
    position: where.position,
    text: where.text,
  };
  const pinned = requirement.url === undefined ? pinnedVersion(requirement.specifiers) : undefined;
  if (pinned !== undefined) dependency.pinned = pinned;
  if (requirement.url !== undefined) applyUrl(dependency, requirement.url);
  result.dependencies.push(dependency);
}

// ---------------------------------------------------------------------------------------------------
// pyproject.toml: PEP 621, PEP 735 groups, Poetry, uv, PDM

export function parsePyproject(text: string): ParsedManifest {
  let doc: Record<string, unknown>;
  try {
    doc = parseToml(text) as Record<string, unknown>;
  } catch (error) {
    return unparsable('TOML', error);
  }
  const result = empty();
  const index = new TextIndex(text);
  const project = asRecord(doc['project']);
  const tool = asRecord(doc['tool']) ?? {};
  const projectAt = Math.max(0, index.sectionOffset('project'));
  for (const spec of strings(project?.['dependencies'])) pep508Dependency(spec, index, projectAt, result);
  const optional = asRecord(project?.['optional-dependencies']) ?? {};
  const optionalAt = Math.max(0, index.sectionOffset('project.optional-dependencies'));
  for (const group of Object.values(optional)) for (const spec of strings(group)) pep508Dependency(spec, index, optionalAt, result);
  const groups = asRecord(doc['dependency-groups']) ?? {};
  const groupsAt = Math.max(0, index.sectionOffset('dependency-groups'));
  for (const group of Object.values(groups)) for (const spec of strings(group)) pep508Dependency(spec, index, groupsAt, result);

  // uv: [tool.uv] index-strategy, extra-index-url, sources
  const uv = asRecord(tool['uv']);
  if (uv) {
    const uvAt = Math.max(0, index.sectionOffset('tool.uv'));
    const strategy = uv['index-strategy'];
    if (typeof strategy === 'string' && strategy.startsWith('unsafe-')) {
      const where = index.locateName('index-strategy', uvAt);
      result.sources.push({ kind: 'unsafe-strategy', value: `index-strategy = "${strategy}"`, position: where.position, text: where.text });
    }
    for (const url of strings(uv['extra-index-url'])) {
      const where = index.locateName('extra-index-url', uvAt);
      result.sources.push({ kind: 'extra-index', value: url, position: where.position, text: where.text });
    }
    applyUvSources(asRecord(uv['sources']) ?? {}, result);
  }

  // Poetry: [tool.poetry.dependencies], groups, [[tool.poetry.source]]
  const poetry = asRecord(tool['poetry']);
  if (poetry) {
    const tables: [string, unknown][] = [
      ['tool.poetry.dependencies', poetry['dependencies']],
      ['tool.poetry.dev-dependencies', poetry['dev-dependencies']],
    ];
    for (const [name, group] of Object.entries(asRecord(poetry['group']) ?? {})) tables.push([`tool.poetry.group.${name}.dependencies`, asRecord(group)?.['dependencies']]);
    for (const [section, table] of tables) {
      const at = Math.max(0, index.sectionOffset(section));
      for (const [name, value] of Object.entries(asRecord(table) ?? {})) {
        if (name.toLowerCase() === 'python') continue;
        result.dependencies.push(tableDependency(name, value, index, at));
      }
    }
    for (const source of Array.isArray(poetry['source']) ? poetry['source'] : []) {
      const s = asRecord(source);
      if (!s || typeof s['url'] !== 'string') continue;
      const where = index.locateName('url', index.text.indexOf(s['url']) - 80);
      const priority = typeof s['priority'] === 'string' ? s['priority'] : s['secondary'] === true ? 'secondary' : 'primary';
      // "secondary" sources are searched together with PyPI, the dependency-confusion shape.
      if (priority === 'secondary') result.sources.push({ kind: 'extra-index', value: s['url'], position: where.position, text: where.text });
      else if (priority === 'primary' || priority === 'default') result.sources.push({ kind: 'index', value: s['url'], position: where.position, text: where.text });
      if (s['url'].startsWith('http://')) result.sources.push({ kind: 'trusted-host', value: s['url'], position: where.position, text: where.text });
    }
  }

  // PDM: [[tool.pdm.source]]; candidates from every source are merged unless respect-source-order.
  const pdm = asRecord(tool['pdm']);
  if (pdm) {
    const respectOrder = asRecord(pdm['resolution'])?.['respect-source-order'] === true;
    for (const source of Array.isArray(pdm['source']) ? pdm['source'] : []) {
      const s = asRecord(source);
      if (!s || typeof s['url'] !== 'string' || s['type'] === 'find_links') continue;
      const where = index.locateName('url', index.text.indexOf(s['url']) - 80);
      const isPypi = /^https:\/\/pypi\.org\/simple\/?$/.test(s['url']);
      if (!isPypi) result.sources.push({ kind: respectOrder || s['name'] === 'pypi' ? 'index' : 'extra-index', value: s['url'], position: where.position, text: where.text });
      if (s['verify_ssl'] === false || s['url'].startsWith('http://')) result.sources.push({ kind: 'trusted-host', value: s['url'], position: where.position, text: where.text });
    }
  }
  return result;
}

function applyUvSources(sources: Record<string, unknown>, result: ParsedManifest): void {
  for (const [name, value] of Object.entries(sources)) {
    const dependency = result.dependencies.find((d) => d.normalized === normalizePyPIName(name));
    const source = asRecord(Array.isArray(value) ? value[0] : value);
    if (!dependency || !source) continue;
    if (typeof source['git'] === 'string') {
      const ref = [source['rev'], source['tag'], source['branch']].find((r): r is string => typeof r === 'string');
      dependency.vcs = ref === undefined ? { url: source['git'] } : { url: source['git'], ref };
      if (isCommitRef(ref)) dependency.hashed = true;
    } else if (typeof source['url'] === 'string') dependency.url = source['url'];
    else if (typeof source['path'] === 'string' || source['workspace'] === true) dependency.local = true;
    if (typeof source['index'] === 'string') dependency.pinnedIndex = source['index'];
  }
}

/** A Poetry/Pipfile dependency: `"^1.2"`, `"*"`, or a table with version/git/url/path/source/index. */
function tableDependency(name: string, value: unknown, index: TextIndex, from: number): Dependency {
  const where = index.locateName(name, from);
  const table = asRecord(Array.isArray(value) ? value[0] : value);
  const spec = typeof value === 'string' ? value : typeof table?.['version'] === 'string' ? table['version'] : '';
  const dependency: Dependency = {
    ecosystem: 'pypi',
    name,
    normalized: normalizePyPIName(name),
    spec,
    locked: false,
    hashed: false,
    position: where.position,
    text: where.text,
  };
  const exact = /^(?:==|===)?\s*(\d[A-Za-z0-9.+!-]*)$/.exec(spec.trim());
  if (exact && !spec.includes('*')) dependency.pinned = exact[1]!;
  if (table) {
    if (typeof table['git'] === 'string') {
      const ref = [table['rev'], table['ref'], table['tag'], table['branch']].find((r): r is string => typeof r === 'string');
      dependency.vcs = ref === undefined ? { url: table['git'] } : { url: table['git'], ref };
      if (isCommitRef(ref)) dependency.hashed = true;
    } else if (typeof table['url'] === 'string') applyUrl(dependency, table['url']);
    else if (typeof table['path'] === 'string' || typeof table['file'] === 'string') dependency.local = true;
    const pinnedIndex = table['source'] ?? table['index'];
    if (typeof pinnedIndex === 'string') dependency.pinnedIndex = pinnedIndex;
  }
  return dependency;
}

// ---------------------------------------------------------------------------------------------------
// Pipfile and Pipfile.lock

export function parsePipfile(text: string): ParsedManifest {
  let doc: Record<string, unknown>;
  try {
    doc = parseToml(text) as Record<string, unknown>;
  } catch (error) {
    return unparsable('TOML', error);
  }
  const result = empty();
  const index = new TextIndex(text);
  for (const source of Array.isArray(doc['source']) ? doc['source'] : []) {
    const s = asRecord(source);
    if (!s || typeof s['url'] !== 'string') continue;
    const where = index.locateName('url', index.text.indexOf(s['url']) - 80);
    result.sources.push({ kind: 'index', value: s['url'], position: where.position, text: where.text });
    if (s['verify_ssl'] === false || s['url'].startsWith('http://')) result.sources.push({ kind: 'trusted-host', value: s['url'], position: where.position, text: where.text });
  }
  for (const section of ['packages', 'dev-packages']) {
    const at = Math.max(0, index.sectionOffset(section));
    for (const [name, value] of Object.entries(asRecord(doc[section]) ?? {})) result.dependencies.push(tableDependency(name, value, index, at));
  }
  return result;
}

export function parsePipfileLock(text: string): ParsedManifest {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (error) {
    return unparsable('JSON', error);
  }
  const result = empty();
  const index = new TextIndex(text);
  let allHashed = true;
  for (const section of ['default', 'develop']) {
    for (const [name, value] of Object.entries(asRecord(asRecord(doc)?.[section]) ?? {})) {
      const entry = asRecord(value) ?? {};
      const version = typeof entry['version'] === 'string' ? entry['version'].replace(/^===?/, '') : undefined;
      const hashed = Array.isArray(entry['hashes']) && entry['hashes'].length > 0;
      const where = index.locateName(name, 0);
      const dependency: Dependency = { ecosystem: 'pypi', name, normalized: normalizePyPIName(name), spec: version ?? '', locked: true, hashed, position: where.position, text: where.text };
      if (version !== undefined) dependency.pinned = version;
      if (typeof entry['git'] === 'string') {
        const ref = typeof entry['ref'] === 'string' ? entry['ref'] : undefined;
        dependency.vcs = ref === undefined ? { url: entry['git'] } : { url: entry['git'], ref };
        dependency.hashed = isCommitRef(ref);
      } else if (typeof entry['path'] === 'string' || typeof entry['file'] === 'string') dependency.local = true;
      if (!dependency.hashed && !dependency.local) allHashed = false;
      result.dependencies.push(dependency);
    }
  }
  result.requireHashes = allHashed && result.dependencies.length > 0;
  return result;
}

// ---------------------------------------------------------------------------------------------------
// poetry.lock, uv.lock, pdm.lock: [[package]] tables with name, version, source and file hashes

export function parseTomlLock(text: string, kind: 'poetry-lock' | 'uv-lock' | 'pdm-lock'): ParsedManifest {
  let doc: Record<string, unknown>;
  try {
    doc = parseToml(text) as Record<string, unknown>;
  } catch (error) {
    return unparsable('TOML', error);
  }
  const result = empty();
  const index = new TextIndex(text);
  let cursor = 0;
  let allHashed = true;
  for (const item of Array.isArray(doc['package']) ? doc['package'] : []) {
    const pkg = asRecord(item);
    if (!pkg || typeof pkg['name'] !== 'string') continue;
    const name = pkg['name'];
    const at = index.text.indexOf(`name = "${name}"`, cursor);
    if (at >= 0) cursor = at + 1;
    const position = index.positionOf(at >= 0 ? at : 0);
    const version = typeof pkg['version'] === 'string' ? pkg['version'] : undefined;
    const source = asRecord(pkg['source']) ?? {};
    const hasHash = (list: unknown): boolean => Array.isArray(list) && list.some((f) => typeof asRecord(f)?.['hash'] === 'string');
    const hashed = kind === 'uv-lock' ? typeof asRecord(pkg['sdist'])?.['hash'] === 'string' || hasHash(pkg['wheels']) : hasHash(pkg['files']);
    const dependency: Dependency = { ecosystem: 'pypi', name, normalized: normalizePyPIName(name), spec: version ?? '', locked: true, hashed, position, text: index.lineText(position.line) };
    if (version !== undefined) dependency.pinned = version;
    const local = ['path', 'directory', 'editable', 'virtual'].some((k) => typeof source[k] === 'string') || source['type'] === 'directory' || source['type'] === 'file';
    const git = typeof source['git'] === 'string' ? source['git'] : source['type'] === 'git' && typeof source['url'] === 'string' ? source['url'] : undefined;
    if (local) dependency.local = true;
    else if (git !== undefined) {
      // uv: git = "https://…?rev=main#<commit>"; poetry: resolved_reference is the commit.
      const resolved = typeof source['resolved_reference'] === 'string' ? source['resolved_reference'] : git.includes('#') ? git.slice(git.lastIndexOf('#') + 1) : undefined;
      dependency.vcs = resolved === undefined ? { url: git } : { url: git.split('#', 1)[0]!, ref: resolved };
      dependency.hashed = isCommitRef(resolved);
    }
    if (!dependency.hashed && !dependency.local) allHashed = false;
    result.dependencies.push(dependency);
  }
  result.requireHashes = allHashed && result.dependencies.length > 0;
  return result;
}

// ---------------------------------------------------------------------------------------------------
// conda environment.yml

export function parseCondaEnvironment(text: string): ParsedManifest {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, uniqueKeys: false });
  if (doc.errors.length > 0) return unparsable('YAML', doc.errors[0]);
  const result = empty();
  const index = new TextIndex(text);
  const positionOf = (node: unknown): Position => {
    const offset = (node as YamlNode | undefined)?.range?.[0] ?? 0;
    const pos = lineCounter.linePos(offset);
    return { line: pos.line, column: pos.col };
  };
  const root = doc.contents;
  if (!isMap(root)) return result;
  const deps = root.get('dependencies', true);
  if (!isSeq(deps)) return result;
  for (const item of deps.items) {
    if (isScalar(item) && typeof item.value === 'string') {
      const position = positionOf(item);
      result.dependencies.push(condaDependency(item.value, position, index.lineText(position.line)));
    } else if (isMap(item)) {
      const pip = item.get('pip', true);
      if (!isSeq(pip)) continue;
      const lines = pip.items.map((p) => (isScalar(p) && typeof p.value === 'string' ? p.value : '')).join('\n');
      const parsed = parseRequirementsFile(lines);
      pip.items.forEach((p, i) => {
        const position = positionOf(p);
        for (const dependency of parsed.dependencies.filter((d) => d.position.line === i + 1)) result.dependencies.push({ ...dependency, position, text: index.lineText(position.line) });
        for (const source of parsed.sources.filter((s) => s.position.line === i + 1)) result.sources.push({ ...source, position, text: index.lineText(position.line) });
      });
      for (const problem of parsed.problems) result.problems.push({ ...problem, position: positionOf(pip.items[problem.position.line - 1]) });
    }
  }
  return result;
}

/** A conda match spec: `numpy`, `numpy=1.26`, `numpy==1.26.4`, `numpy>=1.2`, `conda-forge::numpy=1.26.4=py311_0`. */
function condaDependency(spec: string, position: Position, text: string): Dependency {
  const body = spec.includes('::') ? spec.slice(spec.indexOf('::') + 2) : spec;
  const name = /^[A-Za-z0-9_.-]+/.exec(body.trim())?.[0] ?? body.trim();
  const constraint = body.trim().slice(name.length).trim();
  const dependency: Dependency = { ecosystem: 'conda', name, normalized: name.toLowerCase(), spec: constraint, locked: false, hashed: false, position, text };
  // `==1.2.3` is exact; `=1.2.3` is `1.2.3*`, pinned to a release when it names three components.
  const exact = /^==?\s*([0-9][A-Za-z0-9.+!_]*)(?:[=\s]+\S+)?$/.exec(constraint);
  if (exact && !exact[1]!.includes('*') && (constraint.startsWith('==') || exact[1]!.split('.').length >= 3)) dependency.pinned = exact[1]!;
  return dependency;
}

// ---------------------------------------------------------------------------------------------------
// npm: package.json and package-lock.json / npm-shrinkwrap.json

export function parsePackageJson(text: string): ParsedManifest {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (error) {
    return unparsable('JSON', error);
  }
  const result = empty();
  if (!isRecord(doc)) return result;
  const index = new TextIndex(text);
  for (const section of ['dependencies', 'devDependencies', 'optionalDependencies']) {
    const at = index.text.indexOf(`"${section}"`);
    for (const [name, value] of Object.entries(asRecord(doc[section]) ?? {})) {
      if (typeof value !== 'string') continue;
      const where = index.locateName(name, at);
      const dependency: Dependency = { ecosystem: 'npm', name, normalized: name.toLowerCase(), spec: value, locked: false, hashed: false, position: where.position, text: where.text };
      if (/^v?\d+\.\d+\.\d+(?:-[0-9A-Za-z.-]+)?(?:\+[0-9A-Za-z.-]+)?$/.test(value.trim())) dependency.pinned = value.trim().replace(/^v/, '');
      applyNpmSpec(dependency, value.trim());
      result.dependencies.push(dependency);
    }
  }
  return result;
}

/** git URLs, GitHub shorthands and tarball URLs in a package.json version field. */
function applyNpmSpec(dependency: Dependency, spec: string): void {
  if (/^(?:file|link|workspace|portal):/.test(spec)) {
    dependency.local = true;
    return;
  }
  const git = /^(?:git\+[a-z]+:\/\/|git:\/\/|github:|gitlab:|bitbucket:|[A-Za-z0-9_.-]+\/[A-Za-z0-9_.-]+(?:#|$))/.exec(spec);
  if (git) {
    const hash = spec.indexOf('#');
    const ref = hash >= 0 ? spec.slice(hash + 1).replace(/^semver:/, '') : undefined;
    dependency.vcs = ref === undefined ? { url: spec } : { url: spec.slice(0, hash), ref };
    dependency.hashed = isCommitRef(ref);
    return;
  }
  if (/^https?:\/\//.test(spec)) dependency.url = spec;
}

export function parsePackageLock(text: string): ParsedManifest {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (error) {
    return unparsable('JSON', error);
  }
  const result = empty();
  if (!isRecord(doc)) return result;
  const index = new TextIndex(text);
  const add = (name: string, entry: Record<string, unknown>, keyInText: string): void => {
    if (entry['link'] === true) return;
    const version = typeof entry['version'] === 'string' ? entry['version'] : undefined;
    const at = index.text.indexOf(`"${keyInText}"`);
    const position = index.positionOf(Math.max(0, at));
    const dependency: Dependency = { ecosystem: 'npm', name, normalized: name.toLowerCase(), spec: version ?? '', locked: true, hashed: typeof entry['integrity'] === 'string', position, text: index.lineText(position.line) };
    if (version !== undefined && /^\d/.test(version)) dependency.pinned = version;
    if (typeof entry['resolved'] === 'string' && entry['resolved'].startsWith('http://')) dependency.url = entry['resolved'];
    if (version !== undefined && /^(?:git\+|github:)/.test(version)) applyNpmSpec(dependency, version);
    result.dependencies.push(dependency);
  };
  const packages = asRecord(doc['packages']);
  if (packages) {
    for (const [path, value] of Object.entries(packages)) {
      const entry = asRecord(value);
      if (!entry || path === '') continue;
      const name = typeof entry['name'] === 'string' ? entry['name'] : path.slice(path.lastIndexOf('node_modules/') + 'node_modules/'.length);
      if (!path.includes('node_modules/')) continue; // workspace folders
      add(name, entry, path);
    }
  } else {
    const walk = (deps: unknown): void => {
      for (const [name, value] of Object.entries(asRecord(deps) ?? {})) {
        const entry = asRecord(value);
        if (!entry) continue;
        add(name, entry, name);
        walk(entry['dependencies']);
      }
    };
    walk(doc['dependencies']);
  }
  result.requireHashes = result.dependencies.length > 0 && result.dependencies.every((d) => d.hashed || d.local);
  return result;
}

// ---------------------------------------------------------------------------------------------------
// pip.conf / pip.ini and environment-variable settings in scripts, Dockerfiles, CI files and .env

export function parsePipConf(text: string): ParsedManifest {
  const result = empty();
  const index = new TextIndex(text);
  const lines = text.split(/\r?\n/);
  let key: string | undefined;
  lines.forEach((raw, i) => {
    const position = { line: i + 1, column: 1 };
    const setting = /^\s*([A-Za-z_-]+)\s*[=:]\s*(.*)$/.exec(raw);
    if (setting && !/^\s/.test(raw)) {
      key = setting[1]!.toLowerCase().replace(/_/g, '-');
      for (const value of setting[2]!.split(/\s+/).filter(Boolean)) addPipSetting(result, key, value, position, index.lineText(i + 1));
    } else if (/^\s+\S/.test(raw) && key !== undefined) {
      for (const value of raw.trim().split(/\s+/)) addPipSetting(result, key, value, position, index.lineText(i + 1)); // continuation
    } else key = undefined;
  });
  return result;
}

function addPipSetting(result: ParsedManifest, key: string, value: string, position: Position, text: string): void {
  if (value.startsWith('#') || value.startsWith(';')) return;
  if (key === 'extra-index-url') result.sources.push({ kind: 'extra-index', value, position, text });
  else if (key === 'index-url' || key === 'i') result.sources.push({ kind: 'index', value, position, text });
  else if (key === 'trusted-host') result.sources.push({ kind: 'trusted-host', value, position, text });
}

const ENV_SETTINGS: readonly { re: RegExp; kind: SourceSetting['kind'] }[] = [
  { re: /\b(?:PIP|UV)_EXTRA_INDEX_URL\s*[=:]\s*["']?([^\s"'`]+)/g, kind: 'extra-index' },
  { re: /--extra-index-url(?:\s*=\s*|\s+)["']?([^\s"'`]+)/g, kind: 'extra-index' },
  { re: /\bPIP_TRUSTED_HOST\s*[=:]\s*["']?([^\s"'`]+)/g, kind: 'trusted-host' },
  { re: /--trusted-host(?:\s*=\s*|\s+)["']?([^\s"'`]+)/g, kind: 'trusted-host' },
  { re: /\bUV_INDEX_STRATEGY\s*[=:]\s*["']?(unsafe-[a-z-]+)/g, kind: 'unsafe-strategy' },
  { re: /--index-strategy(?:\s*=\s*|\s+)["']?(unsafe-[a-z-]+)/g, kind: 'unsafe-strategy' },
];

/** Index settings in files that install packages: Dockerfiles, shell scripts, CI definitions, `.env`. */
export function parseEnvText(text: string): ParsedManifest {
  const result = empty();
  if (!/extra-index|EXTRA_INDEX|trusted-host|TRUSTED_HOST|index-strategy|INDEX_STRATEGY/.test(text)) return result;
  const index = new TextIndex(text);
  for (const { re, kind } of ENV_SETTINGS) {
    re.lastIndex = 0;
    for (let m = re.exec(text); m; m = re.exec(text)) {
      const value = m[1]!;
      if (/^\$\{?[A-Z_]+\}?$/.test(value)) continue; // a variable passed through, set elsewhere
      const position = index.positionOf(m.index);
      const lineText = index.lineText(position.line);
      if (/^\s*#/.test(lineText)) continue;
      result.sources.push({ kind, value, position, text: lineText });
    }
  }
  return result;
}

export const MANIFEST_PARSERS: Readonly<Record<Exclude<ManifestKind, 'requirements'>, (text: string) => ParsedManifest>> = {
  pyproject: parsePyproject,
  pipfile: parsePipfile,
  'pipfile-lock': parsePipfileLock,
  'poetry-lock': (t) => parseTomlLock(t, 'poetry-lock'),
  'uv-lock': (t) => parseTomlLock(t, 'uv-lock'),
  'pdm-lock': (t) => parseTomlLock(t, 'pdm-lock'),
  conda: parseCondaEnvironment,
  'package-json': parsePackageJson,
  'package-lock': parsePackageLock,
  'pip-conf': parsePipConf,
  'env-text': parseEnvText,
};
