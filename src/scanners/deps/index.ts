import { lstatSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { readAll } from '../../core/byte-source.js';
import type { AnyRule } from '../../core/rule.js';
import type { ScanContext, Scanner, ScanTarget } from '../../core/scanner.js';
import { readRegularFile } from '../../core/safe-fs.js';
import { AdvisoryDatabase } from './advisories.js';
import { MANIFEST_PARSERS, type ParsedManifest } from './manifests.js';
import { parseRequirementsFile } from './requirements.js';
import { DEPS_RULES, type DepsContext } from './rules.js';
import type { DepsAnalysis, Dependency, ManifestKind } from './types.js';

export { DEPS_RULES } from './rules.js';
export { AdvisoryDatabase } from './advisories.js';
export { findTyposquat } from './names.js';
export type { DepsAnalysis, Dependency } from './types.js';

/** Manifests are small; this bounds what one is read into memory for (lockfiles of big monorepos fit). */
const MAX_MANIFEST_BYTES = 32 * 1024 * 1024;
const MAX_CONSTRAINT_BYTES = 4 * 1024 * 1024;

const LOCKFILES_FOR: Readonly<Partial<Record<ManifestKind, readonly string[]>>> = {
  pyproject: ['uv.lock', 'poetry.lock', 'pdm.lock', 'pylock.toml', 'requirements.lock', 'requirements.txt'],
  pipfile: ['Pipfile.lock'],
  'package-json': ['package-lock.json', 'npm-shrinkwrap.json', 'yarn.lock', 'pnpm-lock.yaml', 'bun.lock', 'bun.lockb'],
};

/** Which manifest a file is, by its name (the last path component of the file or member). */
export function manifestKindOf(memberOrPath: string): ManifestKind | undefined {
  // A member of nested containers is `outer.tar!inner/requirements.txt`: the innermost path decides.
  const path = memberOrPath.slice(memberOrPath.lastIndexOf('!') + 1);
  const base = path.slice(path.lastIndexOf('/') + 1);
  const lower = base.toLowerCase();
  if (/(^|\/)node_modules\//.test(path)) return undefined;
  if (lower === 'pyproject.toml') return 'pyproject';
  if (base === 'Pipfile') return 'pipfile';
  if (base === 'Pipfile.lock') return 'pipfile-lock';
  if (lower === 'poetry.lock') return 'poetry-lock';
  if (lower === 'uv.lock') return 'uv-lock';
  if (lower === 'pdm.lock') return 'pdm-lock';
  if (lower === 'package.json') return 'package-json';
  if (lower === 'package-lock.json' || lower === 'npm-shrinkwrap.json') return 'package-lock';
  if (lower === 'pip.conf' || lower === 'pip.ini') return 'pip-conf';
  if (/^(?:environment|conda|env)[\w.-]*\.ya?ml$/.test(lower) && !/\.github\/|\.gitlab/.test(path)) return 'conda';
  if (/^(?:requirements|constraints)[\w.-]*\.(?:txt|in|pip)$/.test(lower) || /[\w.-]*-requirements\.txt$/.test(lower) || (/(^|\/)requirements\/[^/]+\.(?:txt|in)$/.test(path))) return 'requirements';
  if (/^dockerfile|\.dockerfile$|^containerfile/.test(lower) || /\.(?:sh|bash|zsh|ps1|ya?ml|cfg|ini|toml)$/.test(lower) || lower === 'makefile' || lower.startsWith('.env') || lower === 'tox.ini') return 'env-text';
  return undefined;
}

let advisoryCache: { path: string; db: Promise<AdvisoryDatabase> } | undefined;

function advisoriesFor(path: string): Promise<AdvisoryDatabase> {
  if (advisoryCache?.path !== path) advisoryCache = { path, db: AdvisoryDatabase.load(path) };
  return advisoryCache.db;
}

function lockfileStatus(kind: ManifestKind, target: ScanTarget, parsed: ParsedManifest): DepsAnalysis['lockfile'] {
  const candidates = LOCKFILES_FOR[kind];
  if (!candidates || parsed.dependencies.length === 0) return 'not-applicable';
  if (target.absPath === undefined || target.member !== undefined) return 'unknown';
  const dir = dirname(target.absPath);
  return candidates.some((name) => lstatSync(join(dir, name), { throwIfNoEntry: false })?.isFile()) ? 'present' : 'absent';
}

/** Pins from `-c constraints.txt` files beside a requirements file count as pins (pip applies them). */
async function applyConstraints(target: ScanTarget, includes: ReturnType<typeof parseRequirementsFile>['includes'], parsed: ParsedManifest): Promise<void> {
  const constraints = includes.filter((i) => i.kind === 'constraint');
  if (constraints.length === 0 || target.absPath === undefined || target.member !== undefined) return;
  const pins = new Map<string, Dependency>();
  for (const include of constraints) {
    if (/^[a-z]+:\/\//i.test(include.path)) continue; // a remote constraints file: not fetched
    try {
      const text = (await readRegularFile(resolve(dirname(target.absPath), include.path), { maxBytes: MAX_CONSTRAINT_BYTES })).toString('utf8');
      for (const d of parseRequirementsFile(text).dependencies) if (d.pinned !== undefined) pins.set(d.normalized, d);
    } catch (error) {
      parsed.problems.push({ message: `constraints file ${include.path} could not be read (${(error as { code?: string }).code ?? 'error'}); pins it may hold were not applied`, position: { line: include.line, column: 1 } });
    }
  }
  for (const d of parsed.dependencies) {
    const pin = pins.get(d.normalized);
    if (d.pinned === undefined && pin?.pinned !== undefined) {
      d.pinned = pin.pinned;
      if (pin.hashed) d.hashed = true;
    }
  }
}

export async function scanDependencies(target: ScanTarget, context: ScanContext): Promise<void> {
  const kind = manifestKindOf(target.member ?? target.path);
  if (!kind) return;
  const unreadable = context.reporter(DEPS_RULES.find((r) => r.id === 'deps/manifest-unreadable')!, target);
  const limit = Math.min(MAX_MANIFEST_BYTES, context.limits.maxTextBytes);
  const bytes = await readAll(target.source, limit);
  if (!bytes) {
    if (kind !== 'env-text') unreadable({ message: 'unparsed', data: { problem: `the manifest is ${target.source.size} bytes, over the ${limit}-byte limit; its dependencies were not checked` }, line: 1, key: 'too-large' });
    return;
  }
  if (kind === 'env-text' && bytes.subarray(0, 8192).includes(0)) return; // binary, not a script or config
  const text = bytes.toString('utf8').replace(/^\uFEFF/, '');
  let parsed: ParsedManifest;
  if (kind === 'requirements') {
    const requirements = parseRequirementsFile(text);
    parsed = { dependencies: requirements.dependencies, sources: requirements.sources, requireHashes: requirements.requireHashes, problems: requirements.problems };
    await applyConstraints(target, requirements.includes, parsed);
  } else parsed = MANIFEST_PARSERS[kind](text);

  const analysis: DepsAnalysis = { kind, lockfile: lockfileStatus(kind, target, parsed), ...parsed };
  const depsContext: DepsContext = { analysis };
  const advisoryPath = context.config.deps?.advisories;
  if (advisoryPath !== undefined && analysis.dependencies.some((d) => d.pinned !== undefined)) {
    const db = await advisoriesFor(advisoryPath);
    depsContext.advisories = (d) => db.match(d.ecosystem, d.name, d.pinned!);
  }
  for (const rule of DEPS_RULES) await rule.check(depsContext, context.reporter(rule, target));
}

export const depsScanner: Scanner = {
  name: 'deps',
  description: 'Dependency manifests and lockfiles: pins, hashes, lockfiles, VCS refs, extra indexes, typosquats, known-malicious names, advisories.',
  rules: DEPS_RULES as readonly AnyRule[],
  scan: (target, context) => scanDependencies(target, context),
};
