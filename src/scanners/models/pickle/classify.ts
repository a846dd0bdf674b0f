import { ALIAS_SEGMENTS, IMPORTER_NAMES, LOADER_NAMES, MODULE_GADGETS, NAME_GADGETS, SECURITY_TOOL_MODULES, SECURITY_TOOL_WHY, SINK_NAMES, WALK_MODULES } from './gadgets.js';
import { ALLOW_PROFILES } from './profiles.js';

/**
 * Classifies one global (`module`, `name`) a pickle imports:
 * - `safe`: on an allowlist profile;
 * - `allowed`: allowed by the user's `models.allow` configuration;
 * - `dangerous`: a known gadget, a walk through dunder attributes or into a dangerous module, or a
 *   name that denotes code execution;
 * - `unknown`: anything else (importing it runs its module's code, and calling it does whatever it does).
 *
 * Order matters: exact gadget names beat allowlists; exact allowlist names beat whole-module gadgets
 * (`builtins.set` is safe although `builtins.*` is not); the user's allowlist never overrides a gadget.
 */
export type Verdict = 'safe' | 'allowed' | 'dangerous' | 'unknown';

export interface Classification {
  verdict: Verdict;
  /** Why, in a few words (for dangerous: what the gadget does). */
  why: string;
  /** The allowlist profile (safe) or the config entry (allowed) that matched. */
  source?: string;
  confidence: 'high' | 'medium';
  /** Gadgets the analyser may prove harmless from their arguments (getattr of a known name…). */
  conditional: boolean;
  /** A severity other than the dangerous-global rule's default (security tooling is reported high). */
  severity?: 'high';
}

/** Python 2 module renames applied by the unpickler's `fix_imports` (protocols 0–2). */
const IMPORT_MAPPING: Readonly<Record<string, string>> = {
  __builtin__: 'builtins', copy_reg: 'copyreg', exceptions: 'builtins', Queue: 'queue', SocketServer: 'socketserver',
  ConfigParser: 'configparser', repr: 'reprlib', Tkinter: 'tkinter', markupbase: '_markupbase', _winreg: 'winreg',
  thread: '_thread', dummy_thread: '_dummy_thread', dbhash: 'dbm.bsd', dumbdbm: 'dbm.dumb', dbm: 'dbm.ndbm',
  gdbm: 'dbm.gnu', xmlrpclib: 'xmlrpc.client', SimpleXMLRPCServer: 'xmlrpc.server', httplib: 'http.client',
  htmlentitydefs: 'html.entities', HTMLParser: 'html.parser', Cookie: 'http.cookies', cookielib: 'http.cookiejar',
  BaseHTTPServer: 'http.server', SimpleHTTPServer: 'http.server', CGIHTTPServer: 'http.server',
  DocXMLRPCServer: 'xmlrpc.server', 'test.test_support': 'test.support', commands: 'subprocess', urlparse: 'urllib.parse',
  robotparser: 'urllib.robotparser', urllib2: 'urllib.request', anydbm: 'dbm', _abcoll: 'collections.abc',
  cPickle: 'pickle', _elementtree: 'xml.etree.ElementTree', UserDict: 'collections', UserList: 'collections',
  UserString: 'collections', whichdb: 'dbm', StringIO: 'io', cStringIO: 'io',
};

/** Python 2 (module, name) renames that change more than the module. */
const NAME_MAPPING: Readonly<Record<string, string>> = {
  '__builtin__.xrange': 'builtins.range', '__builtin__.reduce': 'functools.reduce', '__builtin__.intern': 'sys.intern',
  '__builtin__.unichr': 'builtins.chr', '__builtin__.unicode': 'builtins.str', '__builtin__.long': 'builtins.int',
  '__builtin__.basestring': 'builtins.str', 'itertools.izip': 'builtins.zip', 'itertools.imap': 'builtins.map',
  'itertools.ifilter': 'builtins.filter', 'itertools.ifilterfalse': 'itertools.filterfalse',
  'itertools.izip_longest': 'itertools.zip_longest', 'UserDict.IterableUserDict': 'collections.UserDict',
  'exceptions.StandardError': 'builtins.Exception', 'socket._socketobject': 'socket.SocketType',
  'urllib.urlopen': 'urllib.request.urlopen', 'urllib.urlretrieve': 'urllib.request.urlretrieve',
  'urllib.quote': 'urllib.parse.quote', 'urllib.unquote': 'urllib.parse.unquote', 'urllib.urlencode': 'urllib.parse.urlencode',
  '_socket.fromfd': 'socket.fromfd', 'multiprocessing.forking.Popen': 'multiprocessing.popen_fork.Popen',
};

/** Applies fix_imports renames; returns the name Python 3 would import. */
export function normalizeGlobal(module: string, name: string): { module: string; name: string } {
  const mapped = NAME_MAPPING[`${module}.${name}`];
  if (mapped !== undefined) {
    const dot = mapped.lastIndexOf('.');
    return { module: mapped.slice(0, dot), name: mapped.slice(dot + 1) };
  }
  const m = IMPORT_MAPPING[module];
  return m === undefined ? { module, name } : { module: m, name };
}

const DANGER_NAMES = new Map<string, string>(NAME_GADGETS.map((g) => [g.pattern, g.why]));
const DANGER_MODULES = new Map<string, string>(MODULE_GADGETS.map((g) => [g.pattern, g.why]));
const SECURITY_MODULES = new Set(SECURITY_TOOL_MODULES);
/** Gadgets whose calls the analyser resolves (see analyser.ts) before deciding. */
const CONDITIONAL = new Set(['builtins.getattr', 'functools.partial', 'numpy.core._ufunc_reconstruct', 'numpy._core._ufunc_reconstruct', 'torch.storage._load_from_bytes']);

const ALLOW_EXACT = new Map<string, string>();
const CLASS_PREFIXES: { prefix: string; profile: string; except: readonly string[] }[] = [];
for (const profile of ALLOW_PROFILES) {
  const label = `${profile.name}@${profile.version}`;
  for (const g of profile.globals) if (!ALLOW_EXACT.has(g)) ALLOW_EXACT.set(g, label);
  for (const prefix of profile.classesUnder ?? []) CLASS_PREFIXES.push({ prefix, profile: label, except: profile.classesExcept ?? [] });
}

const CLASS_NAME = /^(?:__pyx_unpickle_)?_?[A-Z][A-Za-z0-9_]*$/;

function isDunder(part: string): boolean {
  return part.length > 4 && part.startsWith('__') && part.endsWith('__');
}

function underPrefix(module: string, prefix: string): boolean {
  return module === prefix || module.startsWith(`${prefix}.`);
}

/** A compiled `models.allow` list: exact `module.name` entries and `module.*` prefixes. */
export interface AllowConfig {
  exact: ReadonlySet<string>;
  prefixes: readonly string[];
}

const EMPTY_ALLOW: AllowConfig = { exact: new Set(), prefixes: [] };

export function compileAllow(entries: readonly string[]): AllowConfig {
  const exact = new Set<string>();
  const prefixes: string[] = [];
  for (const e of entries) {
    if (e.endsWith('.*')) prefixes.push(e.slice(0, -2));
    else exact.add(e);
  }
  return { exact, prefixes };
}

/**
 * The names a dotted global also stands for: what follows a vendoring segment (`sklearn.externals.joblib.load`
 * is `joblib.load`, `six.moves.cPickle.loads` is `cPickle.loads`), and TensorFlow's `compat.v1`/`compat.v2`
 * mirrors (`tensorflow.compat.v1.io.write_file` is `tensorflow.io.write_file`).
 */
function aliasesOf(segments: readonly string[]): string[][] {
  const out: string[][] = [];
  for (let i = 1; i < segments.length - 1; i++) {
    if (ALIAS_SEGMENTS.has(segments[i] ?? '')) out.push(segments.slice(i + 1));
    if (segments[i] === 'compat' && /^v\d$/.test(segments[i + 1] ?? '') && i + 2 < segments.length) {
      out.push([...segments.slice(0, i), ...segments.slice(i + 2)]);
    }
  }
  return out;
}

function classifyOnce(module: string, name: string, allow: AllowConfig, aliasDepth = 0): Classification {
  const full = name === '' ? module : `${module}.${name}`;
  if (module === '') return { verdict: 'unknown', why: 'empty module name', confidence: 'medium', conditional: false };
  const parts = name === '' ? [] : name.split('.');

  // 1. Exact gadgets, and walks below them (`pathlib.Path.write_text` below `pathlib.Path`).
  for (let k = parts.length; k >= 0; k--) {
    const candidate = k === 0 ? module : `${module}.${parts.slice(0, k).join('.')}`;
    const why = DANGER_NAMES.get(candidate);
    if (why !== undefined) return { verdict: 'dangerous', why, confidence: 'high', conditional: k === parts.length && CONDITIONAL.has(candidate) };
  }
  // 2. Attribute walks through dunders (`__globals__`, `__builtins__`, `__subclasses__`…) reach anything.
  if (parts.some(isDunder) && !ALLOW_EXACT.has(full)) {
    return { verdict: 'dangerous', why: 'walks through a dunder attribute, which reaches arbitrary objects (globals, builtins, subclasses)', confidence: 'high', conditional: false };
  }
  // 3. Allowlist profiles.
  const profile = ALLOW_EXACT.get(full);
  if (profile !== undefined) return { verdict: 'safe', why: 'allowlisted', source: profile, confidence: 'high', conditional: false };
  if (parts.length === 1 && CLASS_NAME.test(name)) {
    for (const c of CLASS_PREFIXES) {
      if (underPrefix(module, c.prefix) && !c.except.some((e) => underPrefix(module, e))) {
        return { verdict: 'safe', why: 'allowlisted class', source: c.profile, confidence: 'high', conditional: false };
      }
    }
  }
  const segments = full.split('.');
  // 3b. Vendored copies and re-exports of a dangerous module are as dangerous as the module.
  if (aliasDepth < 2) {
    for (const alias of aliasesOf(segments)) {
      const head = normalizeGlobal(alias[0] ?? '', alias.slice(1).join('.'));
      const c = classifyOnce(head.module, head.name, EMPTY_ALLOW, aliasDepth + 1);
      if (c.verdict === 'dangerous') return { ...c, why: `${c.why} (${alias.join('.')}, reached through ${full})`, conditional: false };
    }
  }
  // 4. Whole dangerous modules (and submodules; also module-like prefixes of dotted names), and the
  // modules of security tooling.
  for (let k = 1; k <= segments.length; k++) {
    if (SECURITY_MODULES.has(segments.slice(0, k).join('.'))) {
      return { verdict: 'dangerous', why: SECURITY_TOOL_WHY, confidence: 'high', conditional: false, severity: 'high' };
    }
    const why = DANGER_MODULES.get(segments.slice(0, k).join('.'));
    if (why !== undefined) return { verdict: 'dangerous', why, confidence: 'high', conditional: false };
  }
  // 5. A dotted name that walks into a module object (`torch.serialization` + `os.system`).
  if (parts.length > 1) {
    for (let i = 0; i < parts.length - 1; i++) {
      if (WALK_MODULES.has(parts[i] ?? '')) {
        return { verdict: 'dangerous', why: `walks through attribute ${parts[i]} into another module's namespace`, confidence: 'high', conditional: false };
      }
    }
  }
  // 6. Names that denote execution, whatever module re-exports them.
  const last = parts.length > 0 ? (parts[parts.length - 1] ?? '') : (segments[segments.length - 1] ?? '');
  if (SINK_NAMES.has(last)) {
    return { verdict: 'dangerous', why: `is named like a code-execution entry point (${last})`, confidence: 'medium', conditional: false };
  }
  if (IMPORTER_NAMES.has(last)) {
    return { verdict: 'dangerous', why: `is named like a helper that imports an object named by a string (${last})`, confidence: 'medium', conditional: false };
  }
  if (LOADER_NAMES.has(last)) {
    return { verdict: 'dangerous', why: `is named like a loader of further pickles or models, or a file or URL reader/writer (${last})`, confidence: 'medium', conditional: false };
  }
  // 7. The user's allowlist.
  if (allow.exact.has(full)) return { verdict: 'allowed', why: 'allowed by models.allow', source: full, confidence: 'high', conditional: false };
  for (const prefix of allow.prefixes) {
    if (underPrefix(full, prefix) && full !== prefix) return { verdict: 'allowed', why: 'allowed by models.allow', source: `${prefix}.*`, confidence: 'high', conditional: false };
  }
  return { verdict: 'unknown', why: 'not on an allowlist', confidence: 'medium', conditional: false };
}

/**
 * Classifies a global as the unpickler imports it: Python 2 names are renamed the way fix_imports does
 * (a Python 2 interpreter imports the same objects under the old names, so the verdict holds for both).
 */
export function classifyGlobal(module: string, name: string, allow: AllowConfig): Classification & { normalized: { module: string; name: string } } {
  const normalized = normalizeGlobal(module, name);
  return { ...classifyOnce(normalized.module, normalized.name, allow), normalized };
}
