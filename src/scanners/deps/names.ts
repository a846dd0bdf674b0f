import { readFileSync } from 'node:fs';
import { normalizePyPIName } from './pep508.js';
import type { Ecosystem } from './types.js';

/**
 * Package names: the most-downloaded PyPI projects (data/pypi-popular.tsv, rank and name), typosquat
 * detection against them, and names known to have carried malware.
 */

interface Popular {
  rank: ReadonlyMap<string, number>;
  /** Name with separators removed → popular name (`scikitlearn` → `scikit-learn`). */
  squashed: ReadonlyMap<string, string>;
  /** Every one-character deletion of a popular name (length ≥ 5) → the names it came from. */
  deletions: ReadonlyMap<string, readonly string[]>;
}

/** Popular names ranked above this are the ones one-edit typos are measured against. */
const EDIT_TARGET_MAX_RANK = 5000;
const MIN_EDIT_LENGTH = 5;

let popular: Popular | undefined;

function loadPopular(): Popular {
  if (popular) return popular;
  const text = readFileSync(new URL('../../../data/pypi-popular.tsv', import.meta.url), 'utf8');
  const rank = new Map<string, number>();
  for (const line of text.split('\n')) {
    const tab = line.indexOf('\t');
    if (tab < 0) continue;
    const n = Number(line.slice(0, tab));
    const name = normalizePyPIName(line.slice(tab + 1).trim());
    if (Number.isInteger(n) && name !== '' && !rank.has(name)) rank.set(name, n);
  }
  const squashed = new Map<string, string>();
  const deletions = new Map<string, string[]>();
  for (const [name, n] of rank) {
    const key = name.replace(/-/g, '');
    const prior = squashed.get(key);
    if (prior === undefined || rank.get(prior)! > n) squashed.set(key, name);
    if (n > EDIT_TARGET_MAX_RANK || name.length < MIN_EDIT_LENGTH) continue;
    for (const variant of new Set(deletionsOf(name))) {
      const list = deletions.get(variant);
      if (list) list.push(name);
      else deletions.set(variant, [name]);
    }
  }
  popular = { rank, squashed, deletions };
  return popular;
}

function deletionsOf(name: string): string[] {
  const out: string[] = [];
  for (let i = 0; i < name.length; i++) out.push(name.slice(0, i) + name.slice(i + 1));
  return out;
}

/** Optimal string alignment distance ≤ 1 (one insertion, deletion, substitution or adjacent swap). */
function withinOneEdit(a: string, b: string): boolean {
  if (a === b) return true;
  if (Math.abs(a.length - b.length) > 1) return false;
  let i = 0;
  while (i < a.length && i < b.length && a[i] === b[i]) i++;
  if (a.length === b.length) {
    if (a.slice(i + 1) === b.slice(i + 1)) return true; // substitution
    return a[i] === b[i + 1] && a[i + 1] === b[i] && a.slice(i + 2) === b.slice(i + 2); // adjacent swap
  }
  return a.length > b.length ? a.slice(i + 1) === b.slice(i) : a.slice(i) === b.slice(i + 1);
}

export function popularRank(normalized: string): number | undefined {
  return loadPopular().rank.get(normalized);
}

export interface Typosquat {
  target: string;
  rank: number;
  how: 'separators' | 'prefix or suffix' | 'one edit';
}

const AFFIXES = ['python-', 'python3-', 'py-', 'py3-', 'py', 'python'] as const;
const SUFFIXES = ['-python', '-python3', '-py', '-py3', 'py', '3'] as const;

/**
 * The popular PyPI project a name imitates, if any: the same name with separators added or removed, a
 * `py`/`python` prefix or suffix added or removed, or one edit away (insertion, deletion, substitution,
 * adjacent swap) from a top-5,000 project. A name that is itself on the popular list never is one.
 */
export function findTyposquat(name: string): Typosquat | undefined {
  const normalized = normalizePyPIName(name);
  const { rank, squashed, deletions } = loadPopular();
  if (rank.has(normalized) || normalized.length < 4) return undefined;
  const hit = (target: string | undefined, how: Typosquat['how']): Typosquat | undefined =>
    target !== undefined && target !== normalized && rank.has(target) ? { target, rank: rank.get(target)!, how } : undefined;

  let best: Typosquat | undefined;
  const consider = (found: Typosquat | undefined): void => {
    if (found && (!best || found.rank < best.rank)) best = found;
  };
  consider(hit(squashed.get(normalized.replace(/-/g, '')), 'separators'));
  for (const prefix of AFFIXES) {
    if (normalized.startsWith(prefix) && normalized.length - prefix.length >= 4) consider(hit(normalized.slice(prefix.length).replace(/^-/, ''), 'prefix or suffix'));
    consider(hit(`${prefix}${normalized}`, 'prefix or suffix'));
  }
  for (const suffix of SUFFIXES) {
    if (normalized.endsWith(suffix) && normalized.length - suffix.length >= 4) consider(hit(normalized.slice(0, -suffix.length).replace(/-$/, ''), 'prefix or suffix'));
    consider(hit(`${normalized}${suffix}`, 'prefix or suffix'));
  }
  if (normalized.length >= MIN_EDIT_LENGTH - 1) {
    const candidates = new Set<string>();
    for (const target of deletions.get(normalized) ?? []) candidates.add(target); // a letter left out
    for (const variant of deletionsOf(normalized)) {
      if ((rank.get(variant) ?? Infinity) <= EDIT_TARGET_MAX_RANK && variant.length >= MIN_EDIT_LENGTH) candidates.add(variant); // a letter added
      for (const target of deletions.get(variant) ?? []) candidates.add(target); // substituted or swapped
    }
    for (const target of candidates) if (withinOneEdit(normalized, target)) consider(hit(target, 'one edit'));
  }
  return best;
}

export interface KnownMalicious {
  /** Versions known to be malicious; undefined means every version (the name itself). */
  versions?: readonly string[];
  what: string;
}

/**
 * Names (and versions) that carried malware, from public incident reports. PyPI and npm remove such
 * releases and often hold the name as a placeholder; a manifest that still names one either installs
 * an attacker's code from a mirror or cache, or is one typo away from it.
 */
const KNOWN_MALICIOUS: Readonly<Record<Ecosystem, Readonly<Record<string, KnownMalicious>>>> = {
  pypi: {
    torchtriton: { what: 'dependency-confusion package that exfiltrated data from PyTorch nightly installs (December 2022)' },
    colourama: { what: 'typosquat of colorama that hijacked cryptocurrency addresses (2018)' },
    'python3-dateutil': { what: 'typosquat of python-dateutil that stole SSH and GPG keys (2019)' },
    jeilyfish: { what: 'typosquat of jellyfish (capital I for l) that stole SSH and GPG keys (2019)' },
    acqusition: { what: 'typosquat of acquisition removed from PyPI (SK-CSIRT, 2017)' },
    'apidev-coop': { what: 'malicious package removed from PyPI (SK-CSIRT, 2017)' },
    bzip: { what: 'malicious package removed from PyPI (SK-CSIRT, 2017)' },
    crypt: { what: 'malicious package removed from PyPI (SK-CSIRT, 2017)' },
    'django-server': { what: 'malicious package removed from PyPI (SK-CSIRT, 2017)' },
    pwd: { what: 'malicious package removed from PyPI (SK-CSIRT, 2017)' },
    'setup-tools': { what: 'typosquat of setuptools removed from PyPI (SK-CSIRT, 2017)' },
    telnet: { what: 'malicious package removed from PyPI (SK-CSIRT, 2017)' },
    urlib3: { what: 'typosquat of urllib3 removed from PyPI (SK-CSIRT, 2017)' },
    urllib: { what: 'malicious package removed from PyPI (SK-CSIRT, 2017)' },
    noblesse: { what: 'credential and card stealer removed from PyPI (2021)' },
    noblesse2: { what: 'credential and card stealer removed from PyPI (2021)' },
    noblessev2: { what: 'credential and card stealer removed from PyPI (2021)' },
    genesisbot: { what: 'credential and card stealer removed from PyPI (2021)' },
    aryi: { what: 'credential and card stealer removed from PyPI (2021)' },
    suffer: { what: 'credential and card stealer removed from PyPI (2021)' },
    pytagora: { what: 'remote-code-injection package removed from PyPI (2021)' },
    pytagora2: { what: 'remote-code-injection package removed from PyPI (2021)' },
    ultralytics: { versions: ['8.3.41', '8.3.42', '8.3.45', '8.3.46'], what: 'releases built by a compromised GitHub Actions workflow that shipped a cryptocurrency miner (December 2024)' },
  },
  npm: {
    'flatmap-stream': { what: 'package injected into event-stream to steal cryptocurrency wallets (2018)' },
    'event-stream': { versions: ['3.3.6'], what: 'release that pulled in the malicious flatmap-stream (2018)' },
    'ua-parser-js': { versions: ['0.7.29', '0.8.0', '1.0.0'], what: 'hijacked releases that installed a cryptominer and password stealer (October 2021)' },
    'node-ipc': { versions: ['10.1.1', '10.1.2'], what: 'releases that overwrote files on some hosts (March 2022)' },
    coa: { versions: ['2.0.3', '2.0.4', '2.1.1', '2.1.3', '3.0.1', '3.1.3'], what: 'hijacked releases that installed a password stealer (November 2021)' },
    rc: { versions: ['1.2.9', '1.3.9', '2.3.9'], what: 'hijacked releases that installed a password stealer (November 2021)' },
  },
  conda: {},
};

/** The known-malicious entry for a dependency, when its name (and, if listed, its version) matches. */
export function findKnownMalicious(ecosystem: Ecosystem, normalized: string, version: string | undefined): KnownMalicious | undefined {
  const key = ecosystem === 'pypi' ? normalized : normalized.toLowerCase();
  const entry = KNOWN_MALICIOUS[ecosystem][key];
  if (!entry) return undefined;
  if (entry.versions === undefined) return entry;
  return version !== undefined && entry.versions.includes(version) ? entry : undefined;
}
